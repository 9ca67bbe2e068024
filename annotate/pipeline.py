"""Multi-step jobs built from the library's steps: the main job end to end, loading
annotation files, scoring the baseline. The CLI and the main job call these; neither repeats them."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .articles.taskstream import stream_tasks
from .core.atomic import atomic_write_text, write_jsonl
from .core.model import Document
from .core.schema import Schema
from .core.version import __version__
from .gold.annotation_files import read_annotation_file
from .gold.build import GoldBuild, build_gold
from .gold.decisions import resolve_all
from .gold.exportfiles import export_files
from .gold.reader import gold_documents
from .predictions.sources import load_predictions
from .score import report as rep
from .score.report import headline_table
from .score.run import document_report
from .studio.annotations import load_annotations, project_tasks, push_reviews, set_ground_truth
from .studio.client import connect, get_project, pull_export, push_tasks, rest
from .studio.config import Routing
from .studio.connection import load_connection
from .studio.database import PostgresDatabase, database_from, describe
from .studio.server import LocalStudio
from .studio.tasks import results_for

BASELINE = "annotate.baseline:extract"


@dataclass
class BaselineScore:
    report: dict
    folder: Path


def score_baseline(gold_dir: str | Path, out_dir: str | Path, resamples: int = 1000) -> BaselineScore:
    """Score the bundled baseline extractor against the gold set; JSON, Markdown and HTML reports in out_dir."""

    gold, info = gold_documents(gold_dir)
    preds = load_predictions("extractor", BASELINE, gold, info.schema)
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


def main_job(schema: Schema, articles: str | Path, home: str | Path, port: int | None, gold_dir: str | Path,
             annotations_dir: str | Path, title: str, say: Callable[[str], None],
             reports_dir: str | Path = "reports/baseline", about_path: str | Path | None = None,
             database: PostgresDatabase | None = None) -> GoldBuild | None:
    """Local Label Studio up; the articles pushed with baseline pre-annotations; the project pulled (kept only
    when it holds annotations); the gold set rebuilt from every export in annotations_dir; the baseline scored
    against it. Safe to repeat: nothing is pushed twice.

    Label Studio runs on `database`, or when None on the one ANNOTATE_STUDIO_DATABASE names, else on SQLite in
    `home` (so a library caller gets what `annotate main` gets)."""

    database = database if database is not None else database_from(None)
    studio = LocalStudio(home, port, database)
    say(f"[1/6] Label Studio on {studio.url} with {describe(database)} (first start migrates it, ~1 min) ...")
    studio.up()
    conn = load_connection(studio.connection_file)
    texts: dict[str, str] = {}  # the articles' texts, which the gold build checks the exports against
    tasks_file = Path(home) / "tasks.json"
    made = stream_tasks([articles], tasks_file, schema, source=("extractor", BASELINE),
                        model_version=f"annotate-baseline-{__version__}",
                        on_document=lambda d: texts.__setitem__(d.id, d.text))
    if made.article_rejects:
        write_jsonl(Path(home) / "articles.quarantine.jsonl", [r.to_json() for r in made.article_rejects])
    say(f"[2/6] {made.inputs} article(s): {len(texts)} read, {len(made.article_rejects)} rejected"
        + (f" (reasons in {Path(home) / 'articles.quarantine.jsonl'})" if made.article_rejects else "")
        + f", {made.dropped_lines} boilerplate line(s) dropped; baseline pre-annotations on {made.with_predictions}")
    bad = made.prediction_rejects
    if bad:
        write_jsonl(Path(home) / "predictions.quarantine.jsonl", [r.to_json() for r in bad])
    tasks = json.loads(tasks_file.read_text(encoding="utf-8")) if made.tasks else []
    pushed = push_tasks(conn, schema, tasks, title)
    say(f"[3/6] Project {pushed.project_id}: {pushed.imported} task(s) imported, {pushed.skipped_existing} already "
        f"there, {len(bad)} prediction(s) rejected")
    pulled = pull_export(conn, annotations_dir, title, keep_empty=False)
    where = pulled.path if pulled.path else "nothing written (no annotation in the project yet)"
    say(f"[4/6] Export: {pulled.tasks} task(s), {pulled.annotations} annotation(s) -> {where}")
    exports = export_files([annotations_dir]) if Path(annotations_dir).is_dir() else []
    about = Path(about_path).read_text(encoding="utf-8") if about_path and Path(about_path).exists() else None
    built = build_gold(exports, Routing(schema), gold_dir, reference_texts=texts,
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
    say(f"\nAdd each annotator with `annotate users add EMAIL` (a reviewer with --role reviewer): everyone logs in "
        f"as themselves at {conn.url}/user/login/ and annotates {conn.url}/projects/{pushed.project_id}/. "
        "When they are done, run this again to rebuild the gold set. Stop the server with `annotate studio down`.")
    return built


def resolve_project_id(conn, title: str, project_id: int | None) -> int:

    if project_id is not None:
        return project_id
    with rest(conn) as client:
        return get_project(client, conn, None, title).id


def load_annotation_file(conn, schema: Schema, path: str | Path, annotator: str, project_id: int,
                         ground_truth: bool = False, progress: Callable[[int], None] | None = None,
                         replace: bool = False):
    """Annotations made elsewhere (predictions JSONL or a Label Studio export) -> annotations completed by
    `annotator` on the project's tasks. Returns (what was read, what was loaded)."""

    tasks = project_tasks(connect(conn), conn, project_id)
    read = read_annotation_file(path, [Document(t.doc_id, t.text) for t in tasks], schema)
    loaded = load_annotations(conn, project_id, annotator, read.documents, ground_truth, progress, replace)
    return read, loaded


def _task_ids(result) -> dict[str, object]:
    """Document id -> the Label Studio task it was read from."""
    return {doc_id: docs[0].metadata.get("task_id") for doc_id, docs in result.annotations.items() if docs}


def push_reviews_for(conn, result, adjudications, reviewer: str | None) -> tuple[int, int]:
    """A review annotation on each compared task (clean merges as ground truth), owned by `reviewer`."""

    ids = _task_ids(result)
    return push_reviews(conn, [(ids[a.doc_id], a.result, a.clean) for a in adjudications if ids.get(a.doc_id)],
                        reviewer)


@dataclass
class Resolution:
    tasks: int
    decisions: int
    changes: int  # add and remove entries
    updated: int
    created: int


def resolve_reviews(conn, result, entries: list[dict], reviewer: str) -> Resolution:
    """Apply a decision log to every compared task and write the resolved annotations as the reviewer's
    ground truth. DecisionError (listing every open item of every document) before anything is pushed."""

    resolved = resolve_all(result.annotations, entries)
    ids = _task_ids(result)
    updated, created = set_ground_truth(conn, reviewer, [(ids[d], results_for(doc)) for d, doc in resolved.items()
                                                         if ids.get(d)])
    return Resolution(len(resolved), sum(1 for e in entries if e.get("decision") not in (None, "")),
                      sum(1 for e in entries if "add" in e or "remove" in e), updated, created)
