"""Push tasks to and pull exports from a Label Studio server.

Faults are translated into `StudioError`s that say what to do; connection errors and 5xx answers are retried
with backoff, each retry logged. A POST is never re-sent blindly (see `create_once`). A push is resumable:
it first asks the server which documents it already has (matched by `data.doc_id`) and sends only the others,
so a push killed halfway and run again leaves every task present exactly once; `pushguard` keeps pushes at the
same time, slow commits and creation races from leaving copies, and checks the server at the end.

The push goes through `rest.Rest` (plain HTTP, see why there); everything else through label-studio-sdk, which
is imported only when used (importing it takes over a second).
"""

from __future__ import annotations

import hashlib
import json
import logging
import sys
import threading
import time
from collections.abc import Callable, Iterable
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from ..core.atomic import atomic_write_text
from ..core.schema import Schema
from . import pushguard
from .config import instructions_html, labeling_config
from .connection import Connection
from .rest import HttpStatusError, Project, Rest, TransportError

if TYPE_CHECKING:
    from label_studio_sdk import LabelStudio

DEFAULT_PROJECT = "Arabic news entities and events"
# Tasks per import request, chosen by measurement (bench/bench_push.py: 10,000 tasks into a local server, each
# chunk size against one raw bulk POST of the whole file in the same rounds; see bench/README.md). Besides its
# per-task work the server spends ~80 ms per import request (counters, project summary): throughput was 0.61x
# the single POST's with 500-task chunks, 0.79x with 2,000, 0.88x with 5,000 and 0.95x with 10,000 (one
# request). The client's own work (start, reading and checking the file, asking the server) already costs a
# few percent, so chunks are as large as a request can sensibly be: the server holds a request's tasks in
# memory, and a lost answer costs one re-read of the project's doc ids.
CHUNK_SIZE = 10_000
# ... and at most this many bytes per request, so that a chunk of long articles stays a bounded request (a task
# larger than this still goes, alone). 16 MiB is ~16,000 short tasks or ~2,000 long articles, seconds of server
# work against which a request's overhead is a few percent; Label Studio itself refuses bodies over 250 MB.
CHUNK_BYTES = 16 * 1024 * 1024


class StudioError(RuntimeError):
    pass


def connect(conn: Connection, timeout: float = 60.0) -> LabelStudio:
    from label_studio_sdk import LabelStudio

    return LabelStudio(base_url=conn.url, api_key=conn.api_key, timeout=timeout)


def rest(conn: Connection, timeout: float = 300.0) -> Rest:
    """A plain HTTP client for the push path (a bulk import of thousands of tasks can take the server a while)."""
    return Rest(conn, timeout)


def _status_of(exc: BaseException) -> int | None:
    """The HTTP status of an error answer from our REST client or the SDK; None for any other exception. The SDK
    module is looked up, not imported: if it is not loaded, the error cannot be one of its."""
    if isinstance(exc, HttpStatusError):
        return exc.status_code
    api_error = sys.modules.get("label_studio_sdk.core.api_error")
    if api_error is not None and isinstance(exc, api_error.ApiError):
        return exc.status_code or 0
    return None


# The SDK re-sends a request by itself after a dropped connection or a 5xx answer. For a POST whose answer was
# lost after the server committed it, that makes a duplicate (a second project, a chunk of tasks imported
# twice), so non-idempotent calls go out with the SDK's retries off and `create_once` retries them itself,
# asking the server first whether the effect is already there.
NO_RETRY = {"max_retries": 0}
log = logging.getLogger("annotate.studio")


class _Retryable(Exception):
    """A fault whose outcome is unknown (no answer, or a 5xx): worth another try, after a check for a POST."""

    def __init__(self, what_happened: str, advice: str = ""):
        super().__init__(what_happened)
        self.what_happened, self.advice = what_happened, advice

    def final(self) -> StudioError:
        return StudioError(f"{self.what_happened}. {self.advice}" if self.advice else self.what_happened)


def _no_answer(exc: BaseException) -> bool:
    """A fault with no answer from the server: our REST client's, or the SDK's (httpx's). httpx is looked up, not
    imported: if it is not loaded, no SDK call was made and the error cannot be one of its."""
    if isinstance(exc, TransportError):
        return True
    httpx = sys.modules.get("httpx")
    return httpx is not None and isinstance(exc, httpx.TransportError)


def _once(conn: Connection, what: str, fn: Callable, *args, **kwargs):
    try:
        return fn(*args, **kwargs)
    except Exception as exc:
        if _no_answer(exc):
            raise _Retryable(f"{what}: Label Studio at {conn.url} is not reachable "
                             f"({exc.reason if isinstance(exc, TransportError) else type(exc).__name__})",
                             "Start a local server with `annotate studio up`, or set LABEL_STUDIO_URL.") from None
        status = _status_of(exc)
        if status is None:
            raise
        if status == 401 or status == 403:
            raise StudioError(f"{what}: Label Studio at {conn.url} rejected the API key (HTTP {status}). "
                              f"Check LABEL_STUDIO_API_KEY or the config file ({conn.source}).") from None
        if status == 404:
            raise StudioError(f"{what}: not found on {conn.url} (HTTP 404)") from None
        body = conn.redact(str(exc.body))[:300]
        if status >= 500:
            raise _Retryable(f"{what}: Label Studio answered HTTP {status}: {body}") from None
        raise StudioError(f"{what}: Label Studio answered HTTP {status}: {body}") from None


def _backoff(attempts: int, backoff: float):
    """Delays between attempts: backoff, 2*backoff, ... (attempts - 1 of them)."""
    return [backoff * 2 ** k for k in range(attempts - 1)]


def call(conn: Connection, what: str, fn: Callable, *args, attempts: int = 4, backoff: float = 0.5, **kwargs):
    """Run one idempotent SDK call with retries on connection errors and 5xx, and plain-language errors
    otherwise. Every retry is logged, so a user sees what the command is waiting for."""
    for delay in _backoff(attempts, backoff):
        try:
            return _once(conn, what, fn, *args, **kwargs)
        except _Retryable as exc:
            log.warning(f"{exc}; trying again in {delay:.1f} s")
        time.sleep(delay)
    try:
        return _once(conn, what, fn, *args, **kwargs)
    except _Retryable as exc:
        raise exc.final() from None


def create_once(conn: Connection, what: str, create: Callable, find: Callable, attempts: int = 4,
                backoff: float = 0.5):
    """Run a non-idempotent call (`create`, which must pass request_options=NO_RETRY to the SDK) so that it
    takes effect at most once: after a fault with an unknown outcome, `find` asks the server whether the effect
    is there (its result is returned when it is not None) before the call is tried again."""
    for delay in _backoff(attempts, backoff):
        try:
            return _once(conn, what, create)
        except _Retryable as exc:
            log.warning(f"{exc}; checking whether the server did it, then trying again in {delay:.1f} s")
        time.sleep(delay)
        found = call(conn, f"check after: {what}", find)
        if found is not None:
            return found
    try:
        return _once(conn, what, create)
    except _Retryable as exc:
        raise exc.final() from None


@dataclass
class PushReport:
    project_id: int
    project_created: bool
    config_updated: bool
    submitted: int
    imported: int
    skipped_existing: int
    with_predictions: int
    conflicts: list[dict] = field(default_factory=list)  # see pushguard.plan_push
    duplicates_removed: int = 0  # extra copies found at the end of the push and deleted (see pushguard)


class ProjectLookup:
    """The read-only first step of a push, finding the project (by id, or the projects with its title), started
    in a thread so that the server answers while the tasks file is being parsed: it costs the server ~60 ms, a
    few percent of a 10,000-task push. One attempt, no retries, nothing logged; if it fails in any way the push
    looks the project up again itself, with the usual retries and messages."""

    def __init__(self, conn: Connection, title: str, project_id: int | None):
        self.key = (conn, title, project_id)
        self.started = time.time_ns()  # what it finds is as of then (see pushguard.push_lock)
        self._found: Project | list[Project] | None = None
        self._sent = threading.Event()
        self._thread = threading.Thread(target=self._run, name="project lookup", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        conn, title, project_id = self.key
        try:
            with rest(conn, timeout=60.0) as client:
                client.on_sent = self._sent.set
                self._found = client.project(project_id) if project_id is not None else client.projects(title)
        except Exception:  # noqa: BLE001 (any failure: the push's own lookup reports it properly)
            self._found = None
        finally:
            self._sent.set()

    def wait_sent(self, timeout: float = 0.1) -> None:
        """Wait until the request is on the wire. Parsing JSON holds the interpreter lock throughout, so a
        request not sent before the parse starts would only be sent after it, and nothing would overlap."""
        self._sent.wait(timeout)

    def result(self, conn: Connection, title: str, project_id: int | None) -> Project | list[Project] | None:
        """What was found for exactly this lookup, or None (failed, or asked about something else)."""
        self._thread.join()
        return self._found if self.key == (conn, title, project_id) else None


def find_project(client: Rest, conn: Connection, title: str, listed: list[Project] | None = None) -> Project | None:
    projects = listed if listed is not None else call(conn, "list projects", client.projects, title)
    matches = [p for p in projects if p.title == title]
    if len(matches) > 1:
        raise StudioError(f"{len(matches)} projects are titled {title!r} on {conn.url}; use --project-id")
    return matches[0] if matches else None


def get_project(client: Rest, conn: Connection, project_id: int | None, title: str) -> Project:
    if project_id is not None:
        try:
            return call(conn, f"project {project_id}", client.project, project_id)
        except StudioError as exc:
            if "404" in str(exc):
                raise StudioError(f"no project with id {project_id} on {conn.url}") from None
            raise
    project = find_project(client, conn, title)
    if project is None:
        raise StudioError(f"no project titled {title!r} on {conn.url}; create it with `annotate push`")
    return project


def _normalise_xml(xml: str) -> str:
    return " ".join(xml.split())


def ensure_project(client: Rest, conn: Connection, schema: Schema, title: str,
                   update_config: bool = False, project_id: int | None = None,
                   show_instructions: bool | None = None,
                   lookup: ProjectLookup | None = None) -> tuple[Project, bool, bool]:
    """(project, created, config_updated). An existing project's config must match the schema's; a project
    named by id must exist. `show_instructions` opens the guidelines modal on every task: off when a project is
    created (the guidelines stay one click away behind the Instructions button); True/False sets it on an
    existing project, None leaves it as it is. `lookup`: the project looked up already (see ProjectLookup)."""
    config = labeling_config(schema)
    ready = lookup.result(conn, title, project_id) if lookup else None
    if project_id is not None:
        project = ready if isinstance(ready, Project) else get_project(client, conn, project_id, title)
        title = project.title
    else:
        project = find_project(client, conn, title, ready if isinstance(ready, list) else None)
    if project is None:
        project = create_once(
            conn, f"create project {title!r}",
            lambda: client.create_project(title=title, label_config=config,
                                          expert_instruction=instructions_html(schema),
                                          show_instruction=bool(show_instructions),
                                          description=f"schema {schema.name} v{schema.version} "
                                                      f"({schema.fingerprint})"),
            lambda: find_project(client, conn, title))
        winner = pushguard.one_project(client, conn, title, project, call)
        if winner.id == project.id:
            return project, True, False
        project = winner  # made at the same time by another push: checked as an existing project
    if show_instructions is not None and project.show_instruction != show_instructions:
        project = call(conn, f"set show_instruction of project {project.id}", client.update_project, project.id,
                       show_instruction=show_instructions)
    if _normalise_xml(project.label_config) == _normalise_xml(config):
        return project, False, False
    if not update_config:
        raise StudioError(f"project {project.id} ({title!r}) on {conn.url} has a labeling config that differs from "
                          f"schema {schema.name} ({schema.fingerprint}); rerun with --update-config to replace it")
    project = call(conn, f"update config of project {project.id}", client.update_project, project.id,
                   label_config=config, expert_instruction=instructions_html(schema))
    return project, False, True


def existing_doc_ids(client: Rest, conn: Connection, project_id: int) -> set[str]:
    return set(call(conn, f"list tasks of project {project_id}", client.doc_ids, project_id))


def encode_task(task: dict) -> bytes:
    """A task as it goes into an import body: compact UTF-8 JSON, made once per task and reused on a retry."""
    return json.dumps(task, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def chunk_bounds(sizes: list[int], max_tasks: int, max_bytes: int) -> list[tuple[int, int]]:
    """(start, end) of consecutive chunks of encoded tasks of these byte sizes: at most `max_tasks` tasks and
    `max_bytes` bytes of JSON body each, except that a task bigger than `max_bytes` goes alone."""
    if max_tasks < 1 or max_bytes < 1:
        raise StudioError(f"chunk size must be at least 1 task and 1 byte (got {max_tasks} tasks, {max_bytes} bytes)")
    bounds, start, body = [], 0, 2  # a body is "[" + tasks joined by "," + "]"
    for i, size in enumerate(sizes):
        if i > start and (i - start >= max_tasks or body + 1 + size > max_bytes):
            bounds.append((start, i))
            start, body = i, 2
        body += size + (1 if i > start else 0)
    if start < len(sizes):
        bounds.append((start, len(sizes)))
    return bounds


def push_tasks(conn: Connection, schema: Schema, tasks: list[dict], title: str = DEFAULT_PROJECT,
               update_config: bool = False, chunk_size: int = CHUNK_SIZE,
               progress: Callable[[int], None] | None = None,
               after_chunk: Callable[[int], None] | None = None, project_id: int | None = None,
               show_instructions: bool | None = None, chunk_bytes: int = CHUNK_BYTES,
               on_plan: Callable[[int, int], None] | None = None, source: bytes | None = None,
               lookup: ProjectLookup | None = None) -> PushReport:
    """Create/check the project, then import the tasks it does not have yet, in chunks of at most `chunk_size`
    tasks and `chunk_bytes` bytes. `source` (optional) is the JSON text `tasks` was parsed from: when every
    task goes and all fit in one request, those bytes are sent as they are. `on_plan(to_import, already_there)`
    is called once the server has been asked, `progress(n)` after each chunk, `after_chunk(k)` after chunk k
    (a test's crash point)."""
    for i, t in enumerate(tasks):
        if not isinstance(t, dict) or not isinstance(t.get("data"), dict) or "doc_id" not in t["data"]:
            raise StudioError(f"task {i}: data.doc_id is missing; build tasks with `annotate tasks`")
    if chunk_size < 1 or chunk_bytes < 1:
        raise StudioError(f"chunk size must be at least 1 task and 1 byte (got {chunk_size}, {chunk_bytes} bytes)")
    with rest(conn) as client, ExitStack() as held:
        since = lookup.started if lookup else time.time_ns()
        if pushguard.lock_project(held, conn, title, project_id, since):
            lookup, since = None, time.time_ns()  # another push ran meanwhile: what was looked up is stale
        project, created, updated = ensure_project(client, conn, schema, title, update_config, project_id,
                                                   show_instructions, lookup)
        if project_id is None and pushguard.lock_project(held, conn, title, project.id, since):
            project = call(conn, f"project {project.id}", client.project, project.id)  # another push changed it
        # One listing of the documents before any import, none per chunk: a lost answer is handled by re-reading
        # the server then (see _import_chunk). A project just created, or said to be empty, needs none.
        empty = created or project.task_number == 0
        before = [] if empty else pushguard.task_rows(client, conn, project.id, call)
        plan = pushguard.plan_push(tasks, before, project.id)
        todo, skipped = plan.todo, plan.skipped
        if on_plan:
            on_plan(len(todo), skipped)
        if source is not None and len(todo) == len(tasks) and len(todo) <= chunk_size and len(source) <= chunk_bytes:
            # The whole file goes in one request: its own bytes, parsed once to check them and never encoded
            # again (encoding 10,000 tasks takes ~0.07 s, a few percent of the push).
            chunks = [(todo, None, source)]
        else:
            encoded = [encode_task(t) for t in todo]  # once per task, reused if a chunk has to be sent again
            chunks = [(todo[a:b], encoded[a:b], None)
                      for a, b in chunk_bounds([len(e) for e in encoded], chunk_size, chunk_bytes)]
        imported = 0
        settle = pushguard.Settle(client, conn, project.id, call)
        for n, (chunk, pieces, whole) in enumerate(chunks):
            _import_chunk(client, conn, project.id, chunk, pieces, whole, settle)
            imported += len(chunk)
            if progress:
                progress(len(chunk))
            if after_chunk:
                after_chunk(n)
        check = pushguard.check_server(client, conn, project.id, tasks, before, imported, settle, call)
        if check.missing:
            raise StudioError(f"{len(check.missing)} document(s) of the file are not in project {project.id} after "
                              f"the push (e.g. {check.missing[0]}); run the push again to send them")
    return PushReport(project.id, created, updated, len(tasks), imported, skipped,
                      sum(1 for t in todo if t.get("predictions")), plan.conflicts, check.duplicates_removed)


def _import_chunk(client: Rest, conn: Connection, project_id: int, chunk: list[dict], pieces: list[bytes] | None,
                  whole: bytes | None, settle: Callable[[], None] = lambda: None) -> None:
    """Import `chunk`, sent as `whole` (a JSON list of exactly these tasks) or as its tasks' `pieces` joined."""
    # Never re-sent blindly: after a fault the server may have taken the chunk (or part of it), so re-read what
    # it holds, once its task count has settled (`settle`), and send only what is still missing.
    if pieces is None:
        pieces = [encode_task(t) for t in chunk] if whole is None else []

    def send():
        body = whole if whole is not None else b"[" + b",".join(pieces) + b"]"
        answer = client.import_tasks(project_id, body)
        count = answer.get("task_count") if isinstance(answer, dict) else None
        if isinstance(count, int) and count != len(chunk):
            raise StudioError(f"project {project_id}: Label Studio imported {count} of the {len(chunk)} task(s) "
                              "sent; run the push again to send the missing ones")
        return True

    def missing():
        nonlocal chunk, pieces, whole
        settle()
        present = existing_doc_ids(client, conn, project_id)
        keep = [i for i, t in enumerate(chunk) if str(t["data"]["doc_id"]) not in present]
        if len(keep) < len(chunk):  # part of it arrived: send the rest, encoded task by task
            if whole is not None:
                pieces, whole = [encode_task(t) for t in chunk], None
            chunk, pieces = [chunk[i] for i in keep], [pieces[i] for i in keep]
        return True if not chunk else None

    create_once(conn, f"import {len(chunk)} task(s) into project {project_id}", send, missing)


@dataclass
class PullReport:
    project_id: int
    path: Path | None  # None: an empty export that was not stored
    tasks: int
    annotations: int
    sha256: str
    new_file: bool


def pull_export(conn: Connection, out_dir: str | Path, title: str = DEFAULT_PROJECT, project_id: int | None = None,
                timeout: float = 300.0, keep_empty: bool = True) -> PullReport:
    """Snapshot-export every task with all its annotations (cancelled and ground truth included, so the import
    can account for each) and store the raw JSON under a name with the UTC time and a content hash. With
    keep_empty=False an export holding no annotation at all is not stored (path None)."""
    with rest(conn) as plain:
        project = get_project(plain, conn, project_id, title)
    client = connect(conn)
    export = call(conn, f"create export of project {project.id}", client.projects.exports.create, project.id,
                  title=f"annotate pull {datetime.now(UTC):%Y-%m-%dT%H:%M:%SZ}",
                  task_filter_options={"only_with_annotations": False},
                  annotation_filter_options={"usual": True, "ground_truth": True, "skipped": True},
                  serialization_options={"annotations__completed_by": {"only_id": False}})
    deadline = time.monotonic() + timeout
    while export.status not in ("completed", "failed"):
        if time.monotonic() > deadline:
            raise StudioError(f"export {export.id} of project {project.id} did not finish within {timeout:.0f}s")
        time.sleep(0.5)
        export = call(conn, f"export {export.id}", client.projects.exports.get, project.id, export.id)
    if export.status == "failed":
        raise StudioError(f"export {export.id} of project {project.id} failed on the server")
    data = call(conn, f"download export {export.id}",
                lambda: b"".join(client.projects.exports.download(project.id, export.id, export_type="JSON")))
    try:
        tasks = json.loads(data)
    except ValueError as exc:
        raise StudioError(f"export {export.id} of project {project.id} is not JSON: {exc}") from None
    digest = hashlib.sha256(data).hexdigest()
    if not keep_empty and not _count_annotations(tasks):
        return PullReport(project.id, None, len(tasks), 0, digest, False)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    existing = sorted(out_dir.glob(f"export-project{project.id}-*-{digest[:12]}.json"))
    if existing:  # same content pulled before: keep the earlier file, write nothing
        return PullReport(project.id, existing[0], len(tasks), _count_annotations(tasks), digest, False)
    path = out_dir / f"export-project{project.id}-{datetime.now(UTC):%Y%m%dT%H%M%S%fZ}-{digest[:12]}.json"
    if path.exists():
        raise StudioError(f"{path} exists already; refusing to overwrite an earlier export")
    atomic_write_text(path, data.decode("utf-8"))
    return PullReport(project.id, path, len(tasks), _count_annotations(tasks), digest, True)


def _count_annotations(tasks: Iterable[dict]) -> int:
    return sum(len(t.get("annotations") or []) for t in tasks)
