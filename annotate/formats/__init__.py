"""The gold set in other tools' formats: layered CoNLL, brat standoff, predictions-format JSONL.

Each writer returns an `ExportReport` that lists, in words, everything the format could not hold (events in
CoNLL, words cut at an annotation boundary, metadata), so the command can say so instead of dropping it
silently. Each format has a reader here or elsewhere in the toolkit, and the tests round-trip the gold set.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

FORMATS = ("conll", "brat", "jsonl")


@dataclass
class ExportReport:
    format: str
    output: Path
    documents: int
    written: dict[str, int] = field(default_factory=dict)  # what went in: entities, events, arguments, ...
    not_held: list[str] = field(default_factory=list)  # what the format cannot hold, one sentence each


def counts(docs) -> dict[str, int]:
    return {"entities": sum(len(d.entities) for d in docs), "events": sum(len(d.events) for d in docs),
            "arguments": sum(len(v.arguments) for d in docs for v in d.events),
            "attributes": sum(len(v.attributes) for d in docs for v in d.events)}


def metadata_note(docs, what: str) -> list[str]:
    """Document metadata (headline, date, source, dropped boilerplate) and provenance (annotators, export)."""
    n = sum(1 for d in docs if d.metadata or d.provenance.annotators or d.provenance.source)
    return [f"document metadata and provenance (annotators, export file) of {n} document(s): {what}"] if n else []
