"""Annotations written to Label Studio: review annotations, ground truth, and annotation made elsewhere loaded
as a user's work (with the users it needs). The push of tasks and the projects are in `client`."""


from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .connection import Connection
from .reload import replaceable
from .tasks import results_for

if TYPE_CHECKING:
    from label_studio_sdk import LabelStudio
from .client import NO_RETRY, StudioError, call, connect, create_once


def push_reviews(conn: Connection, reviews: list[tuple[int, list[dict], bool]], reviewer: str | None = None,
                 ) -> tuple[int, int]:
    """Create one review annotation per (task id, result, is_clean), completed by `reviewer` (default: the
    account of the API key); clean merges go in as ground truth. A task the reviewer has annotated already
    is left alone, so a repeated run adds nothing. Returns (created, already there)."""
    client = connect(conn)
    user_id = ensure_user(client, conn, reviewer)[0].id if reviewer else None
    created = present = 0
    for task_id, result, clean in reviews:
        if user_id is not None and _annotation_by(client, conn, task_id, user_id) is not None:
            present += 1
            continue
        extra = {"completed_by": user_id} if user_id is not None else {}
        _create_annotation(client, conn, f"create review annotation on task {task_id}", task_id, user_id,
                           result=result, ground_truth=clean, **extra)
        created += 1
    return created, present


def _create_annotation(client: LabelStudio, conn: Connection, what: str, task_id: int, user_id: int | None,
                       **fields) -> None:
    """Create an annotation at most once: after a lost answer, the user's annotation on the task is looked up
    (with no user to look for, a lost answer is an error rather than a possible duplicate)."""
    def send():
        return client.annotations.create(task_id, request_options=NO_RETRY, **fields)

    def exists():
        return _annotation_by(client, conn, task_id, user_id) if user_id is not None else None

    create_once(conn, what, send, exists, attempts=4 if user_id is not None else 1)


def _annotation_by(client: LabelStudio, conn: Connection, task_id: int, user_id: int):
    annotations = call(conn, f"annotations of task {task_id}", lambda: list(client.annotations.list(id=task_id)))
    mine = [a for a in annotations if _user_id(a.completed_by) == user_id and not a.was_cancelled]
    return mine[-1] if mine else None


def _user_id(completed_by) -> int | None:
    return completed_by if isinstance(completed_by, int) else getattr(completed_by, "id", None)


def set_ground_truth(conn: Connection, reviewer: str, resolved: list[tuple[int, list[dict]]]) -> tuple[int, int]:
    """Write each (task id, result) as the reviewer's annotation, marked ground truth: the reviewer's existing
    annotation on the task is updated, or one is created. Returns (updated, created)."""
    client = connect(conn)
    user_id = ensure_user(client, conn, reviewer)[0].id
    updated = created = 0
    for task_id, result in resolved:
        mine = _annotation_by(client, conn, task_id, user_id)
        if mine is not None:
            call(conn, f"update review annotation {mine.id} on task {task_id}", client.annotations.update, mine.id,
                 result=result, ground_truth=True)
            updated += 1
        else:
            _create_annotation(client, conn, f"create review annotation on task {task_id}", task_id, user_id,
                               result=result, ground_truth=True, completed_by=user_id)
            created += 1
    return updated, created


# --- annotations made elsewhere, loaded as a named annotator's work -------------------------------------------------


@dataclass(frozen=True)
class ProjectTask:
    id: int
    doc_id: str
    text: str
    annotators: frozenset[int]  # users with an annotation on the task


def project_tasks(client: LabelStudio, conn: Connection, project_id: int) -> list[ProjectTask]:
    """Every task of the project with its document and who has annotated it (one paged listing)."""
    def fetch() -> list[ProjectTask]:
        out = []
        for t in client.tasks.list(project=project_id, fields="all", page_size=500):
            data = t.data or {}
            if "doc_id" in data and isinstance(data.get("text"), str):
                out.append(ProjectTask(t.id, str(data["doc_id"]), data["text"], frozenset(t.annotators or ())))
        return out
    return call(conn, f"list tasks of project {project_id}", fetch)


def ensure_user(client: LabelStudio, conn: Connection, email: str) -> tuple[object, bool]:
    """(user, created): the Label Studio user with this email, created (with an unusable random password that is
    never shown; an admin sets one to let the person log in) when there is none."""

    users = call(conn, "list users", lambda: list(client.users.list()))
    for user in users:
        if (user.email or "").lower() == email.lower():
            return user, False
    username = email.split("@", 1)[0] or email
    def find():
        return next((u for u in client.users.list() if (u.email or "").lower() == email.lower()), None)

    user = create_once(conn, f"create user {email}",
                       lambda: client.users.create(username=username, email=email, password=secrets.token_urlsafe(24),
                                                   request_options=NO_RETRY), find)
    return user, True


@dataclass
class AnnotationLoadReport:
    project_id: int
    annotator: str
    user_created: bool
    created: int
    already_present: int  # tasks this annotator had annotated before: nothing added (loading is idempotent)
    replaced: int = 0  # with replace: earlier annotations of theirs updated with the file's


def load_annotations(conn: Connection, project_id: int, annotator: str, documents: dict[str, object],
                     ground_truth: bool = False, progress: Callable[[int], None] | None = None,
                     replace: bool = False) -> AnnotationLoadReport:
    """Create one annotation completed by `annotator` on each task whose document has one in `documents`
    (doc id -> annotated Document), unless that user has annotated the task already (with `replace`, their
    annotation is updated instead on a task not under review: `studio.reload`)."""

    client = connect(conn)
    user, created_user = ensure_user(client, conn, annotator)
    tasks = {t.doc_id: t for t in project_tasks(client, conn, project_id)}
    created = present = replaced = 0
    for doc_id, doc in documents.items():
        task = tasks.get(doc_id)
        if task is None:
            raise StudioError(f"document {doc_id} is not a task of project {project_id}")
        if user.id in task.annotators:
            mine = replace and replaceable(call(conn, f"annotations of task {task.id}",
                                                lambda t=task.id: list(client.annotations.list(id=t))), user.id)
            if mine:
                call(conn, f"replace annotation {mine.id} on task {task.id}", client.annotations.update, mine.id,
                     result=results_for(doc), ground_truth=ground_truth)
            replaced, present = replaced + bool(mine), present + (not mine)
        else:
            _create_annotation(client, conn, f"create annotation by {annotator} on task {task.id}", task.id,
                               user.id, result=results_for(doc), completed_by=user.id, ground_truth=ground_truth)
            created += 1
        if progress:
            progress(1)
    return AnnotationLoadReport(project_id, annotator, created_user, created, present, replaced)
