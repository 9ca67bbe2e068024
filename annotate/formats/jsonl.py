"""Gold Documents as predictions-format JSONL (one record per document, with its text), readable by
`annotate.predictions.records.read_predictions` and by `annotate score --predictions`."""

from __future__ import annotations

import json
from pathlib import Path

from ..core.atomic import atomic_write_text
from ..core.model import Document
from ..predictions.records import document_to_record
from . import ExportReport, counts, metadata_note


def write_jsonl(docs: list[Document], out: str | Path) -> ExportReport:
    lines = [json.dumps(document_to_record(d, with_text=True), ensure_ascii=False) + "\n" for d in docs]
    atomic_write_text(out, "".join(lines))
    return ExportReport("jsonl", Path(out), len(docs), counts(docs),
                        metadata_note(docs, "the predictions format has no field for them"))
