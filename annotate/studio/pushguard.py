"""What keeps a push from leaving a document in a project twice, whatever runs at the same time or fails.

- A lock per project on this machine (`lock_project`): two pushes into the same project, or under the same new
  title, run one after the other; the one that waits says so.
- After a lost answer, the server is asked again only once the project's task count has stopped changing
  (`Settle`): an import the server is still working on (or has not received yet) would otherwise look missing
  and be sent twice.
- Two projects made under one title by two pushes at once (from two machines): both pushes keep the older one
  (`one_project`).
- Every push ends by checking the server against the file (`check_server`): extra copies of a document that no
  one has annotated are deleted, and the run says how many.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import time
from collections.abc import Callable
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from .connection import Connection
from .rest import Project, Rest

log = logging.getLogger("annotate.studio")

# A lost answer's import may still be running on the server (or be on its way to it): the task count has to stay
# the same this long before the server is asked which documents it holds. Longer than a large chunk's import
# (~2.5 s for 10,000 tasks, bench/README.md); a fault costs this wait, a push without one never does.
STEADY_SECONDS = 5.0
STEADY_LIMIT = 120.0  # ... and no longer than this while another push keeps adding tasks


def lock_dir() -> Path:
    base = os.environ.get("ANNOTATE_LOCK_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "annotate", "locks")
    path = Path(base)
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


@contextmanager
def push_lock(url: str, key: str, label: str, since_ns: int | None = None):
    """Hold the lock of (server, project) for the duration of the block. Yields True if what was read from the
    server at `since_ns` (time.time_ns()) may be stale: this push waited, or another push held the lock after
    that moment (each holder touches the file when it takes and when it leaves the lock)."""
    name = hashlib.sha256(f"{url.rstrip('/')}\0{key}".encode()).hexdigest()[:24]
    path = lock_dir() / f"push-{name}.lock"
    try:
        fd, new = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600), True
    except FileExistsError:
        fd, new = os.open(path, os.O_RDWR), False
    try:
        stale = False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            log.warning(f"waiting for another push into {label} (pid {holder}) ...")
            fcntl.flock(fd, fcntl.LOCK_EX)
            stale = True
        # the file system's clock is coarse (a few ms): a change that close is taken as a change after
        stale = stale or (not new and since_ns is not None and os.fstat(fd).st_mtime_ns >= since_ns - 20_000_000)
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        try:
            yield stale
        finally:
            os.utime(fd)
    finally:
        os.close(fd)  # releases the lock (the file stays: removing a lock file races with its next user)


def lock_project(held: ExitStack, conn: Connection, title: str, project_id: int | None,
                 since_ns: int | None = None) -> bool:
    """Take the lock of the project by id, or of its title (which also covers creating it). A push by title
    takes the title's and then the id's: a push by id and one by title into the same project wait for each
    other too. Returns True if what was read from the server at `since_ns` may be stale (see push_lock)."""
    if project_id is not None:
        return held.enter_context(push_lock(conn.url, f"id:{project_id}", f"project {project_id} on {conn.url}",
                                            since_ns))
    return held.enter_context(push_lock(conn.url, f"title:{title}", f"project {title!r} on {conn.url}", since_ns))


def one_project(client: Rest, conn: Connection, title: str, ours: Project, call: Callable) -> Project:
    """After creating `ours`: if another push created a project under the same title at the same time, the older
    one is kept by both pushes, and ours (just made, still empty) is deleted."""
    same = sorted((p for p in call(conn, f"list projects titled {title!r}", client.projects, title)
                   if p.title == title), key=lambda p: p.id)
    if len(same) < 2 or same[0].id == ours.id:
        return ours
    older = same[0]
    call(conn, f"delete project {ours.id}", client.delete, f"/api/projects/{ours.id}/")
    log.warning(f"another push created project {older.id} titled {title!r} at the same time: pushing into it, and "
                f"removed project {ours.id} that this push had just created")
    return older


@dataclass(frozen=True)
class TaskRow:
    id: int
    doc_id: str
    text_digest: bytes
    annotations: int  # annotations of any kind, cancelled ones included


def digest(text) -> bytes:
    return hashlib.blake2b(str(text).encode("utf-8"), digest_size=16).digest()


def task_rows(client: Rest, conn: Connection, project_id: int, call: Callable,
              annotations: bool = False) -> list[TaskRow]:
    """The project's tasks; their annotation counts only with `annotations` (else 0: the push's first listing
    needs none, and counting costs the server time)."""
    def fetch():
        return [TaskRow(int(t["id"]), str(t["data"]["doc_id"]), digest(t["data"].get("text")),
                        int(t.get("total_annotations") or 0) + int(t.get("cancelled_annotations") or 0))
                for t in client.tasks(project_id, annotations=annotations) if isinstance(t.get("data"), dict)
                and t["data"].get("doc_id") is not None]
    return call(conn, f"list tasks of project {project_id}", fetch)


@dataclass
class Plan:
    todo: list[dict]
    skipped: int  # documents the project holds already with the same text, or repeated in the file
    conflicts: list[dict] = field(default_factory=list)  # {"task": index in the file, "doc_id", "reason"}


def plan_push(tasks: list[dict], rows: list[TaskRow], project_id: int) -> Plan:
    """Which tasks of the file to import: not those whose document the project holds with the same text (or that
    came earlier in the file). A document under a doc_id the project (or the file) holds with another text is
    not imported and not dropped: it is a conflict, named by doc_id and task."""
    held = {r.doc_id: r for r in sorted(rows, key=lambda r: r.id, reverse=True)}  # the oldest copy wins
    first: dict[str, int] = {}  # doc id -> its first task in the file
    plan = Plan([], 0)
    for i, t in enumerate(tasks):
        doc_id, text = str(t["data"]["doc_id"]), t["data"].get("text")
        if doc_id in held:
            if held[doc_id].text_digest == digest(text):
                plan.skipped += 1
            else:
                plan.conflicts.append({"task": i, "doc_id": doc_id, "reason": (
                    f"doc_id {doc_id} is already task {held[doc_id].id} of project {project_id} with a different "
                    "text; not imported (give the new text another doc_id, or change the task in Label Studio)")})
        elif doc_id in first:
            if tasks[first[doc_id]]["data"].get("text") == text:
                plan.skipped += 1
            else:
                plan.conflicts.append({"task": i, "doc_id": doc_id, "reason": (
                    f"doc_id {doc_id} is also task {first[doc_id]} of the file, with a different text; only "
                    "the first was imported")})
        else:
            first[doc_id] = i
            plan.todo.append(t)
    return plan


class Settle:
    """Called after a lost answer, before the server is asked what arrived: waits until the project's task count
    has not changed for STEADY_SECONDS. Counts the faults, so the final check knows to settle again."""

    def __init__(self, client: Rest, conn: Connection, project_id: int, call: Callable):
        self.client, self.conn, self.project_id, self.call = client, conn, project_id, call
        self.faults = 0

    def count(self) -> int | None:
        return self.call(self.conn, f"count tasks of project {self.project_id}", self.client.project,
                         self.project_id).task_number

    def __call__(self) -> None:
        self.faults += 1
        self.wait()

    def wait(self, quiet: float | None = None) -> None:
        quiet = STEADY_SECONDS if quiet is None else quiet
        log.warning(f"waiting until the task count of project {self.project_id} stays the same for {quiet:.0f} s "
                    "(an import may still be on its way) ...")
        start = since = time.monotonic()
        last = self.count()
        while time.monotonic() - since < quiet:
            if time.monotonic() - start > STEADY_LIMIT:
                log.warning(f"the task count of project {self.project_id} kept changing for {STEADY_LIMIT:.0f} s "
                            "(another push?); going on")
                return
            time.sleep(0.5)
            now = self.count()
            if now != last:
                last, since = now, time.monotonic()


@dataclass
class Check:
    duplicates_removed: int = 0
    duplicates_kept: int = 0  # extra copies that hold annotations: left for a person to decide
    missing: list[str] = field(default_factory=list)  # documents of the file the project does not hold


def check_server(client: Rest, conn: Connection, project_id: int, tasks: list[dict], before: list[TaskRow],
                 imported: int, settle: Settle, call: Callable) -> Check:
    """The server against the file, at the end of a push: every document of the file is in the project, once.
    When the task count is what this push expects (those before it plus those it imported, no copies among those
    before, no lost answer) that one number proves it; otherwise the tasks are listed, extra copies without
    annotations are deleted (the oldest copy stays, or the annotated ones) and missing documents are named.
    `call` is client.call (the retries and plain-language errors)."""
    if settle.faults:
        settle.wait()
    before_ids = [r.doc_id for r in before]
    if not settle.faults and len(set(before_ids)) == len(before_ids) \
            and settle.count() == len(before) + imported:
        return Check()
    rows = task_rows(client, conn, project_id, call, annotations=True)
    by_doc: dict[str, list[TaskRow]] = {}
    for r in sorted(rows, key=lambda r: r.id):
        by_doc.setdefault(r.doc_id, []).append(r)
    check, extras = Check(), []
    for doc_id, copies in by_doc.items():
        if len(copies) < 2:
            continue
        annotated = [r for r in copies if r.annotations]
        keep = annotated or copies[:1]
        extras += [r.id for r in copies if r not in keep]
        if len(keep) > 1:
            check.duplicates_kept += len(keep) - 1
            log.warning(f"document {doc_id} is in project {project_id} {len(keep)} times with annotations on each "
                        f"(tasks {', '.join(str(r.id) for r in keep)}); left for you to decide")
    for k in range(0, len(extras), 1000):
        call(conn, f"delete {len(extras[k:k + 1000])} extra copy(ies) from project {project_id}", client.delete_tasks,
             project_id, extras[k:k + 1000])
    check.duplicates_removed = len(extras)
    if check.duplicates_removed:
        log.warning(f"removed {check.duplicates_removed} extra copy(ies) of documents from project {project_id} "
                    "(none had annotations)")
    check.missing = sorted({str(t["data"]["doc_id"]) for t in tasks} - set(by_doc))
    return check
