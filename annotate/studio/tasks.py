"""Documents (with optional predictions) -> Label Studio tasks, and a document's annotations -> LS results.

This is the one writer of Label Studio's result JSON (tasks, predictions, loaded annotations, adjudication
reviews). Relation JSON is built here rather than with the SDK's region helpers, whose serializer nests
relations inside regions in a shape the Label Studio backend does not read back.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ..core.model import Document, Rejected
from ..core.schema import Schema
from .config import ENTITY, TEXT, TRIGGER, labeling_config

TASK_FIELDS = ("text", "doc_id", "source", "headline", "date", "meta")
SHOWN_METADATA = ("source", "headline", "date")  # top-level task fields annotators see in the data manager


def task_data(doc: Document) -> dict:
    """The task's data: the exact text, the document id, and the document's metadata (the fields annotators
    filter by at the top level, the rest under `meta`). `metadata_of_task` is the inverse."""
    meta = {k: v for k, v in doc.metadata.items() if k not in SHOWN_METADATA}
    return {
        "text": doc.text,
        "doc_id": doc.id,
        "source": doc.metadata.get("source", doc.provenance.source),
        "headline": doc.metadata.get("headline", ""),
        "date": doc.metadata.get("date", ""),
        "meta": meta,
    }


def metadata_of_task(data: dict, text_field: str = "text") -> dict:
    """A document's metadata back from its task data, in the shape it had before `task_data`: a round trip
    through Label Studio leaves every key where it was. Fields another tool added to the task are kept too."""
    out = {k: v for k, v in data.items() if k not in (text_field, "doc_id", "meta")}
    meta = data.get("meta")
    if isinstance(meta, dict):
        out.update(meta)
    elif meta is not None:
        out["meta"] = meta
    return out


def results_for(doc: Document, notes: dict[str, str] | None = None) -> list[dict]:
    """LS result list: entity and trigger regions, per-trigger attribute choices, trigger->entity relations.
    `notes` (region id -> text) become region notes, as the adjudication review's CONFLICT marks."""
    out: list[dict] = []
    notes = notes or {}

    def region(rid: str, control: str, start: int, end: int, label: str) -> dict:
        r = {"id": rid, "from_name": control, "to_name": TEXT, "type": "labels",
             "value": {"start": start, "end": end, "text": doc.text[start:end], "labels": [label]}}
        if rid in notes:
            r["meta"] = {"text": [notes[rid]]}
        return r

    for e in doc.entities:
        out.append(region(e.id, ENTITY, e.start, e.end, e.type))
    for v in doc.events:
        s, t = v.trigger.start, v.trigger.end
        out.append(region(v.id, TRIGGER, s, t, v.type))
        for name, value in v.attributes.items():
            out.append({"id": v.id, "from_name": name, "to_name": TEXT, "type": "choices",
                        "value": {"start": s, "end": t, "text": doc.text[s:t], "choices": [value]}})
    for v in doc.events:
        for a in v.arguments:
            out.append({"type": "relation", "from_id": v.id, "to_id": a.entity, "direction": "right",
                        "labels": [a.role]})
    return out


@dataclass
class PredictionValidator:
    """Checks LS results with the SDK's LabelInterface, plus the relation labels it does not check."""
    schema: Schema

    def __post_init__(self) -> None:
        # imported here: the SDK's interface module takes seconds to import, and `annotate import` (which
        # needs `metadata_of_task` from this module) never validates results with it
        from . import require_studio

        require_studio("validating pre-annotations (tasks --predictions/--extractor)")
        from label_studio_sdk.label_interface import LabelInterface

        self.interface = LabelInterface(labeling_config(self.schema))
        self.roles = set(self.schema.role_names)

    def errors(self, prediction: dict) -> list[str]:
        errors = [str(e) for e in self.interface.validate_prediction(prediction, return_errors=True)]
        for i, r in enumerate(prediction.get("result", [])):
            if r.get("type") == "relation":
                bad = [label for label in r.get("labels", []) if label not in self.roles]
                if bad:
                    errors.append(f"relation {i} ({r.get('from_id')} -> {r.get('to_id')}): role {bad} not in schema")
        return errors


def build_tasks(documents: Iterable[Document], schema: Schema, predictions: dict[str, Document] | None = None,
                model_version: str = "predictions") -> tuple[list[dict], list[Rejected]]:
    """One task per document; predictions (by document id) become validated LS `predictions`.

    A prediction the labeling config rejects is left out of its task and returned as Rejected, so the
    document is still imported and the prediction is not lost.
    """
    validator = PredictionValidator(schema) if predictions else None
    tasks: list[dict] = []
    rejected: list[Rejected] = []
    for doc in documents:
        task, refused = make_task(doc, (predictions or {}).get(doc.id), validator, model_version)
        if refused:
            rejected.append(refused)
        tasks.append(task)
    return tasks, rejected


def make_task(doc: Document, pred: Document | None, validator: PredictionValidator | None,
              model_version: str = "predictions") -> tuple[dict, Rejected | None]:
    """One document's task, with `pred` as its prediction unless the labeling config refuses it."""
    task: dict = {"data": task_data(doc)}
    if pred is None or validator is None:
        return task, None
    prediction = {"model_version": model_version, "score": float(pred.metadata.get("score", 1.0)),
                  "result": results_for(pred)}
    errors = validator.errors(prediction)
    if errors:
        return task, Rejected(f"predictions for {doc.id}",
                              f"document {doc.id}: rejected by the labeling config: " + "; ".join(errors), prediction)
    task["predictions"] = [prediction]
    return task, None
