"""Multi-step jobs built from the library's steps: the main job end to end, loading annotation files, scoring
the baseline."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from . import __version__
from .atomic import atomic_write_json, write_jsonl
from .gold import GoldBuild, build_gold, export_files
from .ingest import ingest
from .schema import Schema
from .studio.config import Routing


@dataclass
class BaselineScore:
    report: dict
    folder: Path


def score_baseline(gold_dir: str | Path, out_dir: str | Path, resamples: int = 1000) -> BaselineScore:
    """Score the bundled baseline extractor against the gold set; JSON, Markdown and HTML reports in out_dir."""
    from .atomic import atomic_write_text
    from .dataset import gold_documents
    from .score import inputs
    from .score import report as rep
    from .score.run import document_report

    gold, info = gold_documents(gold_dir)
    preds = inputs.from_callable("annotate.baseline:extract", gold, info.schema)
    report = document_report(gold, info, preds, resamples)
    out = Path(out_dir)
    atomic_write_text(out / "report.json", rep.dumps(report))
    atomic_write_text(out / "summary.md", rep.markdown(report))
    atomic_write_text(out / "report.html", rep.html_report(report))
    return BaselineScore(report, out)


def text_table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    fmt = "  ".join(f"{{:<{w}}}" if i == 0 else f"{{:>{w}}}" for i, w in enumerate(widths))
    return "\n".join(fmt.format(*r) for r in [header, *rows])


def main_job(schema: Schema, articles: str | Path, home: str | Path, port: int, gold_dir: str | Path,
             annotations_dir: str | Path, title: str, say: Callable[[str], None],
             reports_dir: str | Path = "reports/baseline", about_path: str | Path | None = None) -> GoldBuild | None:
    """Local Label Studio up; the articles pushed with baseline pre-annotations; the project pulled (kept only
    when it holds annotations); the gold set rebuilt from every export in annotations_dir; the baseline scored
    against it. Safe to repeat: nothing is pushed twice."""
    from .baseline import extract
    from .predictions import annotations_from_record
    from .score.report import headline_table
    from .studio.client import pull_export, push_tasks
    from .studio.connection import load_connection
    from .studio.server import LocalStudio
    from .studio.tasks import build_tasks

    studio = LocalStudio(home, port)
    say(f"[1/6] Label Studio on {studio.url} (first start migrates its SQLite database, ~1 min) ...")
    studio.up()
    conn = load_connection(studio.connection_file)
    read = ingest([articles])
    docs = read.documents
    if read.rejected:
        write_jsonl(Path(home) / "articles.quarantine.jsonl", [r.to_json() for r in read.rejected])
    say(f"[2/6] {read.inputs} article(s): {len(docs)} read, {len(read.rejected)} rejected"
        + (f" (reasons in {Path(home) / 'articles.quarantine.jsonl'})" if read.rejected else "")
        + f", {read.dropped_lines} boilerplate line(s) dropped; baseline pre-annotations ...")
    by_id = {d.id: d for d in docs}
    predictions = {r["id"]: annotations_from_record(r, by_id[r["id"]]) for r in extract(docs)}
    tasks, bad = build_tasks(docs, schema, predictions, f"annotate-baseline-{__version__}")
    if bad:
        write_jsonl(Path(home) / "predictions.quarantine.jsonl", [r.to_json() for r in bad])
    atomic_write_json(Path(home) / "tasks.json", tasks)
    pushed = push_tasks(conn, schema, tasks, title)
    say(f"[3/6] Project {pushed.project_id}: {pushed.imported} task(s) imported, {pushed.skipped_existing} already "
        f"there, {len(bad)} prediction(s) rejected")
    pulled = pull_export(conn, annotations_dir, title, keep_empty=False)
    where = pulled.path if pulled.path else "nothing written (no annotation in the project yet)"
    say(f"[4/6] Export: {pulled.tasks} task(s), {pulled.annotations} annotation(s) -> {where}")
    exports = export_files([annotations_dir]) if Path(annotations_dir).is_dir() else []
    about = Path(about_path).read_text(encoding="utf-8") if about_path and Path(about_path).exists() else None
    built = build_gold(exports, Routing(schema), gold_dir, reference_texts={d.id: d.text for d in docs},
                       about=about) if exports else None
    if built is None:
        say(f"[5/6] No export in {annotations_dir} yet, so {gold_dir} is left as it was")
    else:
        c = built.result.counts
        if built.info:
            note = f"gold dataset {gold_dir} rebuilt (fingerprint {built.info.fingerprint})"
        elif built.refused:
            note = f"{built.refused}; {gold_dir} is left as it was"
        else:
            note = f"no finished annotation yet, so {gold_dir} is left as it was"
        if built.quarantine_path:
            note += f"; quarantined tasks in {built.quarantine_path}"
        say(f"[5/6] {len(exports)} export(s), {c['inputs']} task(s): {c['imported']} imported, {c['quarantined']} "
            f"quarantined, {c['skipped']} skipped; {note}")
    if (Path(gold_dir) / "build.json").exists():
        scored = score_baseline(gold_dir, reports_dir)
        header, rows = headline_table(scored.report)
        say(f"[6/6] Baseline extractor against the gold set ({scored.report['gold']['fingerprint']}, "
            f"{scored.report['documents']['gold']} document(s)); reports in {scored.folder}/ "
            "(report.json, summary.md, report.html):\n" + text_table(header, rows))
    else:
        say("[6/6] No gold set yet: nothing to score the baseline against")
    say(f"\nAnnotators go to {conn.url}/projects/{pushed.project_id}/ (admin login in "
        f"{Path(home) / 'credentials.json'}). When they are done, run this again to rebuild the gold set. "
        "Stop the server with `annotate studio down`.")
    return built


def resolve_project_id(conn, title: str, project_id: int | None) -> int:
    from .studio.client import connect, get_project

    return project_id if project_id is not None else get_project(connect(conn), conn, None, title).id


def load_annotation_file(conn, schema: Schema, path: str | Path, annotator: str, project_id: int,
                         ground_truth: bool = False, progress: Callable[[int], None] | None = None):
    """Annotations made elsewhere (predictions JSONL or a Label Studio export) -> annotations completed by
    `annotator` on the project's tasks. Returns (what was read, what was loaded)."""
    from .annotation_files import read_annotation_file
    from .model import Document
    from .studio.client import connect, load_annotations, project_tasks

    tasks = project_tasks(connect(conn), conn, project_id)
    read = read_annotation_file(path, [Document(t.doc_id, t.text) for t in tasks], schema)
    loaded = load_annotations(conn, project_id, annotator, read.documents, ground_truth, progress)
    return read, loaded
