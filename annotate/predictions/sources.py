"""Where predictions come from, as one table of loaders: a predictions JSONL, a Label Studio file (its
predictions, or one annotator's annotations), or an extractor (a command or a callable). `annotate score` and
`annotate tasks --predictions/--extractor` both load through `load_predictions`.

Every source ends as `dict[doc_id, Document]` plus a list of rejected records, so the scorer never sees a
malformed prediction and the report says how many were rejected and why. Schema violations are not
rejections: the document is kept and each violation is listed, to be scored as an error.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..core.jsonl import lone_surrogate
from ..core.model import Document, Rejected
from ..core.schema import Schema
from ..core.violations import Violation, schema_violations
from .extractor import call_function, is_callable_spec, run_command
from .index import LabelStudioIndex
from .records import PredictionError, document_to_record, prediction_from_record, read_predictions


@dataclass
class Predictions:
    documents: dict[str, Document]
    rejected: list[Rejected]
    source: str
    violations: list[Violation] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    not_scored: int = 0  # well-formed records of documents outside the scored set (another split, no gold yet)


def _checked(documents: dict[str, Document], rejected: list[Rejected], source: str, schema: Schema,
             ) -> Predictions:
    """Malformed records were rejected on reading (with no schema, so that a schema violation does not
    discard the whole document); the schema is checked here, element by element."""
    violations = [v for d in documents.values() for v in schema_violations(d, schema)]
    return Predictions(documents, rejected, source, violations)


def from_jsonl(path: str | Path, gold: list[Document], schema: Schema) -> Predictions:
    docs, rejected = read_predictions(path, gold, None)
    return _checked(docs, rejected, str(path), schema)


def from_label_studio(path: str | Path, gold: list[Document], schema: Schema, annotator: str | None = None,
                      model_version: str | None = None) -> Predictions:
    """Predictions (or, with `annotator`, that person's annotations) from a Label Studio tasks file/export,
    matched to `gold` as `index.LabelStudioIndex` matches them (`annotate score --labelstudio` streams
    through that index; this holds the result)."""

    with LabelStudioIndex(path, ((g.id, g.text) for g in gold), schema, annotator, model_version) as index:
        out = {}
        for g in gold:
            accepted, _ = index.judge(g)
            if accepted is not None:
                out[g.id] = accepted[1]
        rejected = [r for _, r in sorted(index.early, key=lambda x: x[0])]
        checked = _checked(out, rejected, str(path), schema)
        checked.not_scored = index.not_scored
    return checked


def from_records(records: list[tuple[str, object]], gold: list[Document], schema: Schema, source: str,
                 rejected: list[Rejected] | None = None) -> Predictions:
    """(where, record) pairs from an extractor (or the Python API), each record a predictions JSONL object or a
    Document."""
    rejected = [] if rejected is None else rejected
    by_id = {g.id: g for g in gold}
    out: dict[str, Document] = {}
    for where, rec in records:
        if isinstance(rec, Document):
            rec = document_to_record(rec)
        surrogate = lone_surrogate(rec)  # as a predictions file's line is checked: no UTF-8 report could carry it
        if surrogate:
            rejected.append(Rejected(where, surrogate, {"value": ascii(rec)[:200]}))
            continue
        try:
            pred = prediction_from_record(rec, by_id, out, None)
        except PredictionError as exc:
            rejected.append(Rejected(where, str(exc), rec if isinstance(rec, dict) else {"value": repr(rec)[:200]}))
            continue
        out[pred.id] = pred
    return _checked(out, rejected, source, schema)


def restricted(preds: Predictions, ids: set[str]) -> Predictions:
    """The predictions of the documents being scored (one split); the others count as not scored."""
    kept = {k: d for k, d in preds.documents.items() if k in ids}
    return Predictions(kept, preds.rejected, preds.source, [v for v in preds.violations if v.doc in ids],
                       preds.warnings, preds.not_scored + len(preds.documents) - len(kept))


def from_command(command: str, gold: list[Document], schema: Schema, timeout: float = 600.0,
                 progress: Callable[[int], None] | None = None) -> Predictions:
    out = run_command(command, gold, timeout, progress)
    checked = from_records(out.records, gold, schema, f"extractor `{command}`", out.rejected)
    checked.warnings += out.warnings
    return checked


def from_callable(spec: str, gold: list[Document], schema: Schema) -> Predictions:
    return from_records(call_function(spec, gold), gold, schema, spec, [])


def from_extractor(spec: str, gold: list[Document], schema: Schema, timeout: float = 600.0,
                   progress: Callable[[int], None] | None = None) -> Predictions:
    """A callable `package.module:function`, else a command."""
    if is_callable_spec(spec):
        return from_callable(spec, gold, schema)
    return from_command(spec, gold, schema, timeout, progress)


EXTRACTOR_BATCH = 1000  # documents per extractor call: bounded memory, few process starts for a command


def extract_in_batches(docs: Iterable[Document], spec: str, schema: Schema, batch: int = EXTRACTOR_BATCH,
                       timeout: float = 600.0, progress: Callable[[int], None] | None = None
                       ) -> Iterator[tuple[int, list[Document], Predictions]]:
    """An extractor run on `docs` a batch at a time: (call number, the call's documents, its predictions).

    Only one batch of documents and predictions is held at once, however many documents there are. Each call
    numbers its stdout lines and records from 1, so a rejected record of a later call is named with that
    call's documents (`... of the call for documents 1001-2000`), and names stay unique."""
    command = not is_callable_spec(spec)

    def run(chunk: list[Document], call: int) -> Predictions:
        loaded = load_predictions("extractor", spec, chunk, schema, timeout=timeout,
                                  progress=progress if command else None)
        if not command and progress:
            progress(len(chunk))
        if call:
            first = call * batch + 1
            loaded.rejected = [replace(r, source=f"{r.source} of the call for documents "
                                                 f"{first}-{first + len(chunk) - 1}") for r in loaded.rejected]
        return loaded

    chunk: list[Document] = []
    calls = 0
    for doc in docs:
        chunk.append(doc)
        if len(chunk) >= batch:
            yield calls, chunk, run(chunk, calls)
            calls += 1
            chunk = []
    if chunk:
        yield calls, chunk, run(chunk, calls)


# The prediction sources by the option that names them; options a source does not take are not passed.
SOURCES: dict[str, Callable[..., Predictions]] = {
    "predictions": from_jsonl,
    "labelstudio": from_label_studio,
    "extractor": from_extractor,
}


def load_predictions(kind: str, spec: str, documents: list[Document], schema: Schema, **options) -> Predictions:
    """Predictions from the source `kind` (a key of SOURCES) named by `spec` (a path or an extractor)."""
    return SOURCES[kind](spec, documents, schema, **options)

