"""`push --annotations FILE --replace`: an annotator's earlier loaded work replaced by a corrected file.

Without --replace a task the annotator has annotated already gets nothing new (loading is idempotent). With it,
the annotator's annotation on a task is updated in place (same annotation, new result) unless the task is under
review already (a ground-truth or CONFLICT-marked review annotation on it): a reviewer's work is never made
stale behind their back, and such tasks are counted and left as they are. Tasks the file has no record for keep
what they had.
"""

from __future__ import annotations

from .client import _user_id, call
from .connection import Connection
from .export import is_review


def replace_annotation(client, conn: Connection, task_id: int, user_id: int, result: list[dict],
                       ground_truth: bool) -> bool:
    """Update the user's annotation on the task with `result`; False (nothing changed) when the task is under
    review or the user has no completed annotation on it."""
    annotations = call(conn, f"annotations of task {task_id}", lambda: list(client.annotations.list(id=task_id)))
    if any(is_review({"ground_truth": a.ground_truth, "result": a.result or []}) for a in annotations
           if _user_id(a.completed_by) != user_id):
        return False
    mine = [a for a in annotations if _user_id(a.completed_by) == user_id and not a.was_cancelled]
    if not mine:
        return False
    # an update with the same result twice is harmless, so the retried call cannot duplicate anything
    call(conn, f"replace annotation {mine[-1].id} on task {task_id}", client.annotations.update, mine[-1].id,
         result=result, ground_truth=ground_truth)
    return True
