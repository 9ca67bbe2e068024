"""Annotations made elsewhere -> Documents for known documents: predictions JSONL or a Label Studio export.

Teams bring annotation from a legacy corpus, another tool or an offline pass. Either format is checked exactly
as predictions are (offsets or surface spans, the text, the schema) and every record ends up loaded, rejected
with its reason, or counted as having nothing to load.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from ..core.model import Document, Rejected
from ..core.schema import Schema
from ..predictions.records import read_predictions
from ..studio.config import Routing
from .build import import_exports


@dataclass
class AnnotationFile:
    path: Path
    format: str  # "predictions-jsonl" | "label-studio-export"
    documents: dict[str, Document] = field(default_factory=dict)  # by document id
    rejected: list[Rejected] = field(default_factory=list)
    empty: list[str] = field(default_factory=list)  # export tasks with nothing to load (why, one per task)

    @property
    def records(self) -> int:
        return len(self.documents) + len(self.rejected) + len(self.empty)


def sniff_format(path: Path) -> str:
    """A Label Studio export is one JSON document (a list of tasks, an envelope or a single task); predictions
    are one JSON object per line."""
    raw = path.read_text(encoding="utf-8-sig")
    try:
        data = json.loads(raw)
    except ValueError:
        return "predictions-jsonl"
    if isinstance(data, list) or (isinstance(data, dict) and ("tasks" in data or "data" in data)):
        return "label-studio-export"
    return "predictions-jsonl"


def read_annotation_file(path: str | Path, documents: list[Document], schema: Schema) -> AnnotationFile:

    path = Path(path)
    fmt = sniff_format(path)
    out = AnnotationFile(path, fmt)
    if fmt == "predictions-jsonl":
        out.documents, out.rejected = read_predictions(path, documents, schema)
        return out
    result = import_exports([path], Routing(schema), {d.id: d.text for d in documents})
    known = {d.id for d in documents}
    for doc in result.documents:
        if doc.id in known:
            out.documents[doc.id] = doc
        else:
            out.rejected.append(Rejected(f"{path} task {doc.metadata.get('task_id')}",
                                         f"document {doc.id}: no such document in the project"))
    out.rejected += result.quarantined
    out.empty = [s.reason for s in result.skipped]
    return out


@dataclass
class FileCheck:
    read: AnnotationFile
    warnings: list[str] = field(default_factory=list)  # "<document id>: <what>", loaded but worth a look


def check_annotation_file(path: str | Path, documents: list[Document], schema: Schema) -> FileCheck:
    """Read the file as `push --annotations` would, without a server: what would be loaded, what would be
    quarantined and why, plus warnings on what would load: spans that sit inside a longer word (a surface span
    with "inside_word", or offsets) and the guideline checks (`core.conformance.guideline_problems`)."""
    from ..core.conformance import guideline_problems
    from ..core.surface import enclosing_word, is_word

    read = read_annotation_file(path, documents, schema)
    warnings = []
    for doc_id, doc in sorted(read.documents.items()):
        spans = [(f"entity {e.id} ({e.type})", e.start, e.end) for e in doc.entities]
        spans += [(f"trigger of event {v.id} ({v.type})", v.trigger.start, v.trigger.end) for v in doc.events]
        for what, start, end in spans:
            if not is_word(doc.text, start, end):
                word_start, word_end = enclosing_word(doc.text, start, end)
                warnings.append(f"{doc_id}: {what} {doc.text[start:end]!r} [{start}, {end}) sits inside the word "
                                f"{doc.text[word_start:word_end]!r}")
        warnings += [f"{doc_id}: {p}" for p in guideline_problems(doc, schema)]
    return FileCheck(read, warnings)
