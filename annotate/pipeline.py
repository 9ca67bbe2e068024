"""Multi-step jobs built from the library's steps: exports -> gold set, and the main job end to end."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from . import __version__
from .agreement import agreement
from .atomic import QuarantineFile, atomic_write_json, replace_quarantine, write_jsonl
from .dataset import GoldInfo, write_gold
from .ingest import ingest
from .lsexport import ImportResult, Routing, import_exports
from .schema import Schema


@dataclass
class GoldBuild:
    result: ImportResult
    info: GoldInfo | None  # None: not written, the previous gold set was left as it was
    quarantine: QuarantineFile
    refused: str | None = None  # why the gold set was not written although tasks qualified

    @property
    def quarantine_path(self) -> Path | None:
        """The quarantine file, when this run put anything in it."""
        return self.quarantine.path if self.quarantine.records else None


def default_quarantine_path(output: str | Path) -> Path:
    return Path(str(Path(output).with_suffix("")) + ".quarantine.jsonl")


def build_gold(exports: Iterable[str | Path], routing: Routing, output: str | Path, split_spec: str | None = None,
               reference_texts: dict[str, str] | None = None, allow_empty: bool = False,
               quarantine_path: str | Path | None = None,
               progress: Callable[[int], None] | None = None, skip_unreadable: bool = False,
               on_text_mismatch: str = "offsets") -> GoldBuild:
    """Read exports, quarantine what is faulty, and (re)write the gold set with its agreement figures.

    An export file that cannot be read stops the build (the gold set would silently fall back to older
    exports) unless `skip_unreadable`. The quarantine file always describes this run: written when anything
    was rejected, else a stale one is removed.
    """
    exports = list(exports)
    result = import_exports(exports, routing, reference_texts, progress, on_text_mismatch)
    qpath = Path(quarantine_path) if quarantine_path else default_quarantine_path(output)
    quarantine = replace_quarantine(qpath, result.unreadable + result.quarantined)
    if result.unreadable and not skip_unreadable:
        names = ", ".join(u["file"] for u in result.unreadable)
        return GoldBuild(result, None, quarantine, f"{len(result.unreadable)} export file(s) could not be read "
                         f"({names}); fix or remove them, or pass --skip-unreadable to build without them")
    if not result.documents and not allow_empty:
        return GoldBuild(result, None, quarantine)
    c = result.counts
    notes = {"imported": c["imported"], "quarantined": c["quarantined"], "skipped": c["skipped"],
             "exports": {Path(k).name: v for k, v in result.sources.items()},
             "unreadable_exports": [u["reason"] for u in result.unreadable],
             "on_text_mismatch": on_text_mismatch, "warnings": result.warnings}
    info = write_gold(result.documents, routing.schema, output, split_spec, agreement(result.annotations), notes)
    return GoldBuild(result, info, quarantine)


def main_job(schema: Schema, articles: str | Path, home: str | Path, port: int, gold_dir: str | Path,
             annotations_dir: str | Path, title: str, say: Callable[[str], None]) -> GoldBuild:
    """Local Label Studio up; the articles pushed with baseline pre-annotations; the project pulled; the gold
    set rebuilt from that export. Safe to repeat: nothing is pushed twice."""
    from .baseline import extract
    from .predictions import annotations_from_record
    from .studio.client import pull_export, push_tasks
    from .studio.connection import load_connection
    from .studio.server import LocalStudio
    from .tasks import build_tasks

    studio = LocalStudio(home, port)
    say(f"[1/5] Label Studio on {studio.url} (first start migrates its SQLite database, ~1 min) ...")
    studio.up()
    conn = load_connection(studio.connection_file)
    read = ingest([articles])
    docs = read.documents
    if read.rejected:
        write_jsonl(Path(home) / "articles.quarantine.jsonl", [r.to_json() for r in read.rejected])
    say(f"[2/5] {read.inputs} article(s): {len(docs)} read, {len(read.rejected)} rejected"
        + (f" (reasons in {Path(home) / 'articles.quarantine.jsonl'})" if read.rejected else "")
        + f", {read.dropped_lines} boilerplate line(s) dropped; baseline pre-annotations ...")
    by_id = {d.id: d for d in docs}
    predictions = {r["id"]: annotations_from_record(r, by_id[r["id"]]) for r in extract(docs)}
    tasks, bad = build_tasks(docs, schema, predictions, f"annotate-baseline-{__version__}")
    if bad:
        write_jsonl(Path(home) / "predictions.quarantine.jsonl", [r.to_json() for r in bad])
    atomic_write_json(Path(home) / "tasks.json", tasks)
    pushed = push_tasks(conn, schema, tasks, title)
    say(f"[3/5] Project {pushed.project_id}: {pushed.imported} task(s) imported, {pushed.skipped_existing} already "
        f"there, {len(bad)} prediction(s) rejected")
    pulled = pull_export(conn, annotations_dir, title)
    say(f"[4/5] Export: {pulled.tasks} task(s), {pulled.annotations} annotation(s) -> {pulled.path}")
    built = build_gold([pulled.path], Routing(schema), gold_dir, reference_texts={d.id: d.text for d in docs})
    c = built.result.counts
    if built.info:
        note = f"gold dataset {gold_dir} rebuilt (fingerprint {built.info.fingerprint})"
    else:
        note = f"no finished annotation yet, so {gold_dir} is left as it was"
    if built.quarantine_path:
        note += f"; quarantined tasks in {built.quarantine_path}"
    say(f"[5/5] {c['inputs']} task(s): {c['imported']} imported, {c['quarantined']} quarantined, "
        f"{c['skipped']} skipped; {note}")
    say(f"\nAnnotators go to {conn.url}/projects/{pushed.project_id}/ (admin login in "
        f"{Path(home) / 'credentials.json'}). When they are done, run this again to rebuild the gold set. "
        "Stop the server with `annotate studio down`.")
    return built
