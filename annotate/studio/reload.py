"""`push --annotations FILE --replace`: an annotator's earlier loaded work replaced by a corrected file.

Without --replace a task the annotator has annotated already gets nothing new (loading is idempotent). With it,
the annotator's annotation on a task is updated in place (same annotation, new result) unless the task is under
review already (a ground-truth or CONFLICT-marked review annotation of someone else on it): a reviewer's work
is never made stale behind their back, and such tasks are counted and left as they are. Tasks the file has no
record for keep what they had. An update with the same result twice is harmless, so a retried call cannot
duplicate anything.
"""

from __future__ import annotations

from .export import is_review


def _author(annotation) -> int | None:
    who = annotation.completed_by
    return who if isinstance(who, int) else getattr(who, "id", None)


def replaceable(annotations: list, user_id: int):
    """The user's completed annotation on a task (SDK annotation objects), or None when there is none or the
    task is under review."""
    if any(is_review({"ground_truth": a.ground_truth, "result": a.result or []}) for a in annotations
           if _author(a) != user_id):
        return None
    mine = [a for a in annotations if _author(a) == user_id and not a.was_cancelled]
    return mine[-1] if mine else None
