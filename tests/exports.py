"""Helpers that build Label Studio export JSON from Documents, the way the server writes it."""

from __future__ import annotations

import itertools

from annotate.core.model import Argument, Document, Entity, Event, Span
from annotate.studio.tasks import results_for, task_data

_ids = itertools.count(1)


def annotation(doc, annotator="amal@annotate.test", **flags):
    return {"id": next(_ids), "completed_by": {"id": 1, "email": annotator}, "result": results_for(doc),
            "was_cancelled": False, "ground_truth": False, "updated_at": "2026-11-01T10:00:00Z", **flags}


def export_task(doc, annotations, task_id=None):
    return {"id": task_id or next(_ids), "data": task_data(doc), "annotations": annotations, "predictions": []}


def results_for_text(text, picks):
    """LS results for (surface string, control, label) picks: one labels region each, ids r0, r1, ..."""
    out = []
    for k, (surface, control, label) in enumerate(picks):
        start = text.index(surface)
        out.append({"id": f"r{k}", "from_name": control, "to_name": "text", "type": "labels",
                    "value": {"start": start, "end": start + len(surface), "text": surface, "labels": [label]}})
    return out


def meeting_document(doc: Document) -> Document:
    """`doc` (a bundled article) with two PER entities and a Contact.Meet event that has a realis value and both
    as arguments: the small annotated document the robustness tests damage one field at a time."""
    t = doc.text
    k, h, meet = t.index("الكاظمي"), t.index("كارل هاريس"), t.index("استقبل")
    ents = [Entity("e1", k, k + 7, "PER"), Entity("e2", h, h + 10, "PER")]
    ev = Event("v1", "Contact.Meet", Span(meet, meet + 6), {"realis": "actual"},
               (Argument("Entity", "e1"), Argument("Entity", "e2")))
    return Document(doc.id, t, ents, [ev], doc.metadata)


def labels_region(task: dict, rid: str) -> dict:
    """The labels region `rid` of a task's first annotation."""
    return next(r for r in task["annotations"][0]["result"] if r.get("id") == rid and r["type"] == "labels")
