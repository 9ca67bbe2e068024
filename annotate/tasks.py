"""Documents (with optional predictions) -> Label Studio tasks, and a document's annotations -> LS results.

Relation JSON is built here rather than with the SDK's region helpers, whose serializer nests relations
inside regions in a shape the Label Studio backend does not read back.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from label_studio_sdk.label_interface import LabelInterface

from .lsconfig import ENTITY, TEXT, TRIGGER, labeling_config
from .model import Document, Rejected
from .schema import Schema


class TaskValidationError(ValueError):
    pass


def task_data(doc: Document) -> dict:
    meta = {k: v for k, v in doc.metadata.items() if k not in ("headline", "date", "source")}
    return {
        "text": doc.text,
        "doc_id": doc.id,
        "source": doc.metadata.get("source", doc.provenance.source),
        "headline": doc.metadata.get("headline", ""),
        "date": doc.metadata.get("date", ""),
        "meta": meta,
    }


def results_for(doc: Document) -> list[dict]:
    """LS result list: entity and trigger regions, per-trigger attribute choices, trigger->entity relations."""
    out: list[dict] = []
    for e in doc.entities:
        out.append({"id": e.id, "from_name": ENTITY, "to_name": TEXT, "type": "labels",
                    "value": {"start": e.start, "end": e.end, "text": doc.text[e.start:e.end], "labels": [e.type]}})
    for v in doc.events:
        s, t = v.trigger.start, v.trigger.end
        out.append({"id": v.id, "from_name": TRIGGER, "to_name": TEXT, "type": "labels",
                    "value": {"start": s, "end": t, "text": doc.text[s:t], "labels": [v.type]}})
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
        task: dict = {"data": task_data(doc)}
        pred = (predictions or {}).get(doc.id)
        if pred is not None:
            prediction = {"model_version": model_version, "score": float(pred.metadata.get("score", 1.0)),
                          "result": results_for(pred)}
            errors = validator.errors(prediction)
            if errors:
                rejected.append(Rejected(f"predictions for {doc.id}",
                                         f"document {doc.id}: rejected by the labeling config: " + "; ".join(errors),
                                         prediction))
            else:
                task["predictions"] = [prediction]
        tasks.append(task)
    return tasks, rejected
