"""Gold Documents as predictions-format JSONL (one record per document, with its text), readable by
`annotate.predictions.records.read_predictions` and by `annotate score --predictions`."""

from __future__ import annotations

import json
from pathlib import Path

from ..core.atomic import atomic_write_text
from ..core.model import Document
from ..predictions.records import document_to_record
from . import ExportReport, counts, metadata_note


def _record(doc: Document) -> dict:
    """The predictions record with the text, and the document choices (`doc_labels`) when there are any: the
    scorer and `read_predictions` pass over them."""
    record = document_to_record(doc, with_text=True)
    if doc.metadata.get("doc_labels"):
        record["doc_labels"] = dict(doc.metadata["doc_labels"])
    return record


def write_jsonl(docs: list[Document], out: str | Path) -> ExportReport:
    lines = [json.dumps(_record(d), ensure_ascii=False) + "\n" for d in docs]
    atomic_write_text(out, "".join(lines))
    return ExportReport("jsonl", Path(out), len(docs), counts(docs),
                        metadata_note(docs, "the predictions format has no field for them"))
