"""Helpers that build Label Studio export JSON from Documents, the way the server writes it."""

from __future__ import annotations

import itertools

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
