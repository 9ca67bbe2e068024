"""Predictions JSONL <-> annotated Documents.

One line per document: {"id": DOC_ID, "entities": [{"id", "start", "end", "type"}],
"events": [{"id", "type", "trigger": {"start", "end"}, "attributes": {...}, "arguments": [{"role", "entity"}]}]}
A line may carry "text"; it is then checked against the document the id names. A span may be written as
{"text", "occurrence"} instead of offsets (see `surface`).
"""

from __future__ import annotations

from collections.abc import Container, Iterable
from dataclasses import replace
from pathlib import Path

from ..core.conformance import schema_problems
from ..core.jsonl import lone_surrogate, read_jsonl
from ..core.model import Argument, Document, Entity, Event, Rejected, Span, SpanError
from ..core.schema import Schema
from ..core.surface import SurfaceSpanError, resolve_span


class PredictionError(ValueError):
    pass


def annotations_from_record(record: dict, doc: Document) -> Document:
    """A copy of `doc` carrying the record's entities and events; raises PredictionError naming the field."""
    try:
        # absent or null means none; any other non-list ({} included) is malformed, not "predicts nothing"
        raw_entities = [] if record.get("entities") is None else record["entities"]
        raw_events = [] if record.get("events") is None else record["events"]
        if not isinstance(raw_entities, list) or not isinstance(raw_events, list):
            raise PredictionError("fields 'entities' and 'events' must be lists")
        entities = []
        for i, e in enumerate(raw_entities):
            etype = _label(e, "type", f"entities[{i}]")
            start, end = resolve_span(doc.text, e, f"entities[{i}]")
            entities.append(Entity(str(e.get("id", f"e{i + 1}")), start, end, etype))
        events = []
        for i, v in enumerate(raw_events):
            trig = v.get("trigger")
            if not isinstance(trig, dict) or ("text" not in trig and not {"start", "end"} <= trig.keys()):
                raise PredictionError(f"events[{i}]: field 'trigger' must be {{'start', 'end'}} or "
                                      "{'text', 'occurrence'}")
            start, end = resolve_span(doc.text, trig, f"events[{i}].trigger")
            vtype = _label(v, "type", f"events[{i}]")
            args = []
            for j, a in enumerate(v.get("arguments") or []):
                if "role" not in a or "entity" not in a:
                    raise PredictionError(f"events[{i}].arguments[{j}]: needs 'role' and 'entity'")
                where = f"events[{i}].arguments[{j}]"
                args.append(Argument(_label(a, "role", where), _label(a, "entity", where)))
            attrs = v.get("attributes") or {}
            if not isinstance(attrs, dict):
                raise PredictionError(f"events[{i}]: field 'attributes' must be an object")
            events.append(Event(str(v.get("id", f"v{i + 1}")), vtype, Span(start, end),
                                {str(k): str(x) for k, x in attrs.items()}, tuple(args)))
        return replace(doc, entities=entities, events=events)
    except (SpanError, SurfaceSpanError) as exc:
        raise PredictionError(str(exc)) from exc
    except (TypeError, AttributeError) as exc:
        raise PredictionError(f"malformed record: {exc}") from exc


def _label(record: dict, name: str, where: str) -> str:
    """A type, role or entity reference: a missing or null one makes the record malformed (it is not a label
    the schema lacks, which would be the extractor's schema violation)."""
    value = record[name] if name in record else None
    if value is None:
        raise PredictionError(f"{where}: field '{name}' is " + ("null" if name in record else "missing"))
    if isinstance(value, (dict, list, bool)):
        raise PredictionError(f"{where}: field '{name}' must be a string, got {type(value).__name__}")
    return str(value)


def document_to_record(doc: Document, with_text: bool = False) -> dict:
    out: dict = {"id": doc.id}
    if with_text:
        out["text"] = doc.text
    out["entities"] = [{"id": e.id, "start": e.start, "end": e.end, "type": e.type} for e in doc.entities]
    out["events"] = [{
        "id": v.id, "type": v.type, "trigger": {"start": v.trigger.start, "end": v.trigger.end},
        "attributes": dict(v.attributes),
        "arguments": [{"role": a.role, "entity": a.entity} for a in v.arguments],
    } for v in doc.events]
    return out


def prediction_from_record(record, by_id: dict[str, Document], seen: Container[str], schema: Schema | None,
                           ) -> Document:
    """Check one predictions record against the documents and the schema; PredictionError says why not."""
    if not isinstance(record, dict) or "id" not in record:
        raise PredictionError("field 'id' is missing")
    surrogate = lone_surrogate(record)
    if surrogate:  # checked first: such an id or label could not even be written to the tasks file
        raise PredictionError(surrogate)
    doc_id = str(record["id"])
    doc = by_id.get(doc_id)
    if doc is None:
        raise PredictionError(f"document {doc_id}: no such document among the inputs")
    if "text" in record and record["text"] != doc.text:
        raise PredictionError(f"document {doc_id}: field 'text' differs from the document text")
    if doc_id in seen:
        raise PredictionError(f"document {doc_id}: a second prediction for this document")
    try:
        pred = annotations_from_record(record, doc)
    except PredictionError as exc:
        raise PredictionError(f"document {doc_id}: {exc}") from None
    problems = schema_problems(pred, schema) if schema else []
    if problems:
        raise PredictionError(f"document {doc_id}: " + "; ".join(problems))
    return pred


def read_predictions(path: str | Path, documents: Iterable[Document], schema: Schema | None = None,
                     ) -> tuple[dict[str, Document], list[Rejected]]:
    """Predictions by document id; every bad line becomes a Rejected record naming the line and field."""
    by_id = {d.id: d for d in documents}
    out: dict[str, Document] = {}
    rejected: list[Rejected] = []
    for line in read_jsonl(path):
        if line.error:
            rejected.append(Rejected(line.source, line.error, {"line": line.raw}))
            continue
        try:
            pred = prediction_from_record(line.value, by_id, out, schema)
        except PredictionError as exc:
            record = line.value if isinstance(line.value, dict) else {"value": line.value}
            rejected.append(Rejected(line.source, str(exc), record))
            continue
        out[pred.id] = pred
    return out, rejected
