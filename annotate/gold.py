"""Label Studio exports -> the gold set: which annotation of a task becomes gold, and the build that accounts for
every task.

Each input task ends up in exactly one bucket: imported (a gold Document), quarantined (a fault, with its
reason) or skipped (nothing to import: no annotations, only cancelled ones, superseded by a newer export, or an
unresolved disagreement). A file that cannot be read as an export holds no task that could be counted: it is
listed as unreadable. Every record of the three lists is a `Rejected`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

from .agreement import agreement
from .atomic import QuarantineFile, replace_quarantine
from .dataset import GoldInfo, write_gold
from .model import Document, Provenance, Rejected
from .studio.config import TEXT_MISMATCH_POLICIES, Routing
from .studio.export import (
    ExportError,
    document_key,
    is_review,
    read_export_file,
    task_annotations,
    task_fault,
)

# --- which annotation becomes gold ------------------------------------------------------------------------------


def annotation_signature(doc: Document) -> tuple:
    """What two annotations must share to be the same annotation (ids and provenance do not count)."""
    ents = doc.entity_by_id()
    return (
        tuple(sorted((e.start, e.end, e.type) for e in doc.entities)),
        tuple(sorted((v.trigger.start, v.trigger.end, v.type, tuple(sorted(v.attributes.items())),
                      tuple(sorted((a.role, ents[a.entity].start, ents[a.entity].end, ents[a.entity].type)
                                   for a in v.arguments))) for v in doc.events)),
    )


def choose_gold(candidates: list[tuple[dict, Document]]) -> tuple[Document | None, str]:
    """The gold-annotation rule (README, "Which annotation becomes gold"):
    1. a ground-truth annotation wins (the most recently updated one if several);
    2. else a single annotation is the gold;
    3. else annotations that are all the same become one gold with every annotator in its provenance;
    4. else nothing: the task needs adjudication.
    The chosen Document carries the rule that chose it in its metadata (`gold_rule`).
    """
    def chosen(doc: Document, why: str) -> tuple[Document, str]:
        return replace(doc, metadata={**doc.metadata, "gold_rule": why}), why

    ground = [(a, d) for a, d in candidates if a.get("ground_truth")]
    if ground:
        ground.sort(key=lambda ad: str(ad[0].get("updated_at") or ad[0].get("created_at") or ""))
        return chosen(ground[-1][1], "ground truth")
    if len(candidates) == 1:
        return chosen(candidates[0][1], "single annotation")
    signatures = {annotation_signature(d) for _, d in candidates}
    if len(signatures) == 1:
        first = candidates[0][1]
        prov = Provenance(tuple(x for _, d in candidates for x in d.provenance.annotators),
                          tuple(x for _, d in candidates for x in d.provenance.annotation_ids),
                          first.provenance.source, first.provenance.source_sha256)
        return chosen(replace(first, provenance=prov), f"{len(candidates)} identical annotations")
    return None, f"{len(candidates)} annotations disagree and none is ground truth; run `annotate adjudicate`"


# --- the whole import ---------------------------------------------------------------------------------------------


@dataclass
class ImportResult:
    documents: list[Document] = field(default_factory=list)
    quarantined: list[Rejected] = field(default_factory=list)
    skipped: list[Rejected] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    inputs: int = 0  # tasks read: imported + quarantined + skipped
    unreadable: list[Rejected] = field(default_factory=list)  # export files that could not be read at all
    # every usable annotation per task, annotator by annotator (agreement and adjudication read these)
    annotations: dict[str, list[Document]] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)  # export path -> sha256

    @property
    def counts(self) -> dict[str, int]:
        return {"inputs": self.inputs, "imported": len(self.documents), "quarantined": len(self.quarantined),
                "skipped": len(self.skipped)}


def import_exports(paths: Iterable[str | Path], routing: Routing,
                   reference_texts: dict[str, str] | None = None,
                   progress: Callable[[int], None] | None = None,
                   on_text_mismatch: str = "offsets") -> ImportResult:
    """Read exports into gold Documents. `reference_texts` (doc id -> pushed text) catches edited tasks;
    `on_text_mismatch` is what a value.text that disagrees with its offsets does (TEXT_MISMATCH_POLICIES).

    Several exports of one project taken over time overlap: a document found in more than one file is taken
    from the last file it appears in with annotations (pass files oldest first; `export_files` orders
    `annotate pull` files that way) and its other copies are skipped as superseded. The same document twice in
    one file is a duplicate task.
    """
    if on_text_mismatch not in TEXT_MISMATCH_POLICIES:
        raise ValueError(f"on_text_mismatch must be one of {TEXT_MISMATCH_POLICIES}, not {on_text_mismatch!r}")
    result = ImportResult()
    files: list[tuple[str, str, list]] = []
    for path in paths:
        try:
            tasks, digest = read_export_file(path)
        except ExportError as exc:
            result.unreadable.append(Rejected(str(path), str(exc)))
            if progress:
                progress(1)
            continue
        files.append((str(path), digest, tasks))
    # A copy without any annotation never supersedes an annotated one: a fresh project pulled beside the
    # committed exports must not erase the gold it has not seen.
    last_file: dict[str, int] = {}
    annotated: set[str] = set()
    for k, (_, _, tasks) in enumerate(files):
        for task in tasks:
            key = document_key(task, routing)
            if key is None:
                continue
            has_annotations = bool(task.get("annotations"))
            if has_annotations or key not in annotated:
                last_file[key] = k
            if has_annotations:
                annotated.add(key)
    seen: dict[str, str] = {}  # document -> where it was read
    for k, (path, digest, tasks) in enumerate(files):
        result.sources[path] = digest
        for index, task in enumerate(tasks):
            result.inputs += 1
            key = document_key(task, routing)
            if key is not None and last_file[key] != k:
                result.skipped.append(Rejected(f"{path}#{index}", f"task {task.get('id')} ({path}#{index}): "
                                               f"superseded by the newer export {files[last_file[key]][0]}",
                                               task_id=task.get("id")))
                continue
            _import_task(task, f"{path}#{index}", path, digest, routing, reference_texts, seen, result,
                         on_text_mismatch)
        if progress:
            progress(1)
    return result


def _import_task(task, where, path, digest, routing, reference_texts, seen, result, on_text_mismatch) -> None:
    task_id = task.get("id", "?") if isinstance(task, dict) else "?"
    label = f"task {task_id} ({where})"

    def quarantine(reason: str) -> None:
        result.quarantined.append(Rejected(where, f"{label}: {reason}", task, task_id=task_id))

    fault = task_fault(task, routing, reference_texts)
    if fault:
        quarantine(fault)
        return
    doc_id = document_key(task, routing)
    if doc_id in seen:
        quarantine(f"duplicate task: document {doc_id} was already read from {seen[doc_id]}")
        return
    seen[doc_id] = where
    read = task_annotations(task, doc_id, path, digest, routing, on_text_mismatch)
    result.warnings += [f"{label} {w}" for w in read.warnings]
    if read.empty:
        result.skipped.append(Rejected(where, f"{label}: {read.empty}", task_id=task_id))
        return
    # Agreement and adjudication compare the independent passes: a review (ground truth, or a merge still
    # carrying CONFLICT notes) is the adjudicated result, not one more pass.
    result.annotations[doc_id] = [d for a, d in read.candidates if not is_review(a)]
    if read.fault:
        quarantine(read.fault)
        return
    gold, why = choose_gold(read.candidates)
    if gold is None:
        result.skipped.append(Rejected(where, f"{label}: {why}", task_id=task_id))
        return
    result.documents.append(gold)


_PULLED = re.compile(r"^export-project\d+-(\d{8}T\d{6}\d*Z)-")


def export_files(paths: Iterable[str | Path]) -> list[Path]:
    """Export files from files and folders. A folder is read for *.json in time order: `annotate pull` files
    by the UTC time in their name (whatever the project id), other files by name after them."""
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out += sorted(p.glob("*.json"), key=lambda f: (0, m.group(1)) if (m := _PULLED.match(f.name))
                          else (1, f.name))
        else:
            out.append(p)
    return out


# --- the gold build ------------------------------------------------------------------------------------------------


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
               on_text_mismatch: str = "offsets", about: str | None = None) -> GoldBuild:
    """Read exports, quarantine what is faulty, and (re)write the gold set with its agreement figures;
    `about` (curators' Markdown) goes into the dataset card.

    An export file that cannot be read stops the build (the gold set would silently fall back to older
    exports) unless `skip_unreadable`. The quarantine file always describes this run: written when anything
    was rejected, else a stale one is removed.
    """
    exports = list(exports)
    result = import_exports(exports, routing, reference_texts, progress, on_text_mismatch)
    qpath = Path(quarantine_path) if quarantine_path else default_quarantine_path(output)
    quarantine = replace_quarantine(qpath, [r.to_json() for r in result.unreadable + result.quarantined])
    if result.unreadable and not skip_unreadable:
        names = ", ".join(u.source for u in result.unreadable)
        return GoldBuild(result, None, quarantine, f"{len(result.unreadable)} export file(s) could not be read "
                         f"({names}); fix or remove them, or pass --skip-unreadable to build without them")
    if not result.documents and not allow_empty:
        return GoldBuild(result, None, quarantine)
    c = result.counts
    notes = {"imported": c["imported"], "quarantined": c["quarantined"], "skipped": c["skipped"],
             "exports": {Path(k).name: v for k, v in result.sources.items()},
             "unreadable_exports": [u.reason for u in result.unreadable],
             "on_text_mismatch": on_text_mismatch, "warnings": result.warnings}
    info = write_gold(result.documents, routing.schema, output, split_spec, agreement(result.annotations), notes,
                      about)
    return GoldBuild(result, info, quarantine)
