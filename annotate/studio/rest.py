"""Plain JSON-over-HTTP calls to Label Studio for the push path, without label-studio-sdk.

Why the push bypasses the SDK (measured on a 10,000-task push, see bench/README.md):
- importing `label_studio_sdk` takes about 1.4 s (it pulls in pandas, boto3, smart_open ...), more than half of
  the ~2.4 s the server itself needs to import 10,000 tasks;
- its `import_tasks` re-encodes every chunk through pydantic's `jsonable_encoder`, and its task listing returns
  every field of every task, where the push needs only `data.doc_id`.
So each chunk goes out as one JSON body, encoded once per task, to the same endpoints with the same
authorization header the SDK sends (`Token <key>` for a legacy token; a JWT personal access token is exchanged
for a short-lived access token sent as `Bearer`, as the SDK does). Everything else keeps using the SDK.

The transport is the standard library's `http.client`, not httpx: importing httpx takes ~0.15 s (measured), 5%
of a whole 10,000-task push, and one keep-alive connection needs nothing it adds.
"""

from __future__ import annotations

import base64
import http.client
import json
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

from .connection import Connection


class TransportError(Exception):
    """No (complete) answer: the connection was refused, dropped or timed out. The request may or may not have
    been carried out, which is why the callers re-read the server before they send a POST again. `reason` says
    what happened in plain words."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def _fault(exc: BaseException) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, TimeoutError):
        return "no answer in time"
    if isinstance(exc, (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)):
        return "connection closed without an answer"
    return type(exc).__name__


class HttpStatusError(Exception):
    """A non-2xx answer; `status_code` and `body` as the SDK's ApiError has them, so one handler serves both."""

    def __init__(self, status_code: int, body: str):
        super().__init__(f"HTTP {status_code}")
        self.status_code, self.body = status_code, body


@dataclass(frozen=True)
class Project:
    id: int
    title: str
    label_config: str
    show_instruction: bool
    task_number: int | None = None  # tasks in the project when it was read (None: not said)

    @classmethod
    def from_json(cls, d: dict) -> Project:
        count = d.get("task_number")
        return cls(int(d["id"]), d.get("title") or "", d.get("label_config") or "", bool(d.get("show_instruction")),
                   count if isinstance(count, int) else None)


def _jwt_type(key: str) -> str | None:
    """'refresh' or 'access' for a JWT personal access token, None for a legacy token."""
    parts = key.split(".")
    if len(parts) != 3:
        return None
    try:
        payload = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except ValueError:
        return None
    return payload.get("token_type") if isinstance(payload, dict) else None


class Rest:
    """One keep-alive connection to the server. Calls raise TransportError (no answer) or HttpStatusError;
    `client.call`/`create_once` turn those into retries and plain-language errors. Nothing that could have been
    carried out is retried here."""

    def __init__(self, conn: Connection, timeout: float = 300.0):
        self.conn = conn
        url = urlsplit(conn.url)
        self._valid = url.scheme in ("http", "https") and bool(url.hostname)
        self._https = url.scheme == "https"
        self._host, self._port = url.hostname, url.port
        self._prefix = url.path.rstrip("/")  # a server behind a path prefix
        self._timeout = timeout
        self._http: http.client.HTTPConnection | None = None
        self._auth: str | None = None
        self.on_sent: Callable[[], None] | None = None  # called once a request is on the wire, before its answer

    def close(self) -> None:
        if self._http is not None:
            self._http.close()
            self._http = None

    def __enter__(self) -> Rest:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _connection(self) -> http.client.HTTPConnection:
        if not self._valid:
            raise TransportError(f"not an http(s) URL: {self.conn.redact(self.conn.url)}")
        if self._http is None:
            if self._https:
                import ssl  # only an https URL needs a certificate store (building one takes 20-40 ms)

                self._http = http.client.HTTPSConnection(self._host, self._port, timeout=self._timeout,
                                                         context=ssl.create_default_context())
            else:
                self._http = http.client.HTTPConnection(self._host, self._port, timeout=self._timeout)
        return self._http

    def _authorization(self, renew: bool = False) -> str:
        if self._auth is None or renew:
            kind = _jwt_type(self.conn.api_key)
            if kind == "refresh":
                token = self._send("POST", "/api/token/refresh/", {"Content-Type": "application/json"},
                                   json.dumps({"refresh": self.conn.api_key}).encode()).get("access", "")
                self._auth = f"Bearer {token}"
            else:
                self._auth = f"{'Bearer' if kind == 'access' else 'Token'} {self.conn.api_key}"
        return self._auth

    def _exchange(self, method: str, target: str, headers: dict, content: bytes | None) -> tuple[int, bytes]:
        connection = self._connection()
        try:
            connection.request(method, target, body=content, headers=headers)
            if self.on_sent:
                self.on_sent()
            resp = connection.getresponse()
            data = resp.read()
        except (OSError, http.client.HTTPException) as exc:
            self.close()  # a connection in an unknown state is never reused
            raise TransportError(_fault(exc)) from None
        if resp.will_close:
            self.close()
        return resp.status, data

    def _send(self, method: str, path: str, headers: dict, content: bytes | None = None, params=None):
        target = self._prefix + path + (f"?{urlencode(params)}" if params else "")
        headers = {"Accept": "application/json", **headers}
        reused = self._http is not None
        try:
            status, data = self._exchange(method, target, headers, content)
        except TransportError:
            # A kept-alive connection the server closed while idle fails on first use; a GET changes nothing, so
            # it may go again once on a fresh connection. Anything else is the caller's to decide.
            if not (reused and method == "GET"):
                raise
            status, data = self._exchange(method, target, headers, content)
        text = data.decode("utf-8", errors="replace")
        if status >= 400:
            raise HttpStatusError(status, text)
        try:
            return json.loads(text) if data else None
        except ValueError:  # e.g. a proxy's HTML page: an answer we cannot read is an error, not a result
            raise HttpStatusError(status, f"not JSON: {text[:200]}") from None

    def request(self, method: str, path: str, body: bytes | None = None, params=None):
        headers = {"Authorization": self._authorization()}
        if body is not None:
            headers["Content-Type"] = "application/json"
        try:
            return self._send(method, path, headers, body, params)
        except HttpStatusError as exc:
            # an expired access token (long push with a JWT key): a 401 means nothing was done, so renew and resend
            if exc.status_code != 401 or _jwt_type(self.conn.api_key) != "refresh":
                raise
            headers["Authorization"] = self._authorization(renew=True)
            return self._send(method, path, headers, body, params)

    def get(self, path: str, **params):
        return self.request("GET", path, params=params)

    def post(self, path: str, payload) -> object:
        return self.request("POST", path, _encode(payload))

    def patch(self, path: str, payload) -> object:
        return self.request("PATCH", path, _encode(payload))

    # --- the calls the push makes ---------------------------------------------------------------------------------

    # Only the fields the push reads: the server computes the rest (counts of annotations, predictions ...) on
    # demand, which doubles the time of a project's answer (measured: ~110 ms against ~60 ms).
    PROJECT_FIELDS = "id,title,label_config,show_instruction,task_number"

    def projects(self, title: str | None = None) -> list[Project]:
        out, page = [], 1
        while True:
            params = {"page": page, "page_size": 100, "include": self.PROJECT_FIELDS,
                      **({"title": title} if title else {})}
            answer = self.get("/api/projects/", **params)
            rows = answer.get("results", []) if isinstance(answer, dict) else answer
            out += [Project.from_json(p) for p in rows]
            if not isinstance(answer, dict) or not answer.get("next"):
                return out
            page += 1

    def project(self, project_id: int) -> Project:
        return Project.from_json(self.get(f"/api/projects/{project_id}/", include=self.PROJECT_FIELDS))

    def create_project(self, **fields) -> Project:
        return Project.from_json(self.post("/api/projects/", fields))

    def update_project(self, project_id: int, **fields) -> Project:
        return Project.from_json(self.patch(f"/api/projects/{project_id}/", fields))

    def doc_ids(self, project_id: int, page_size: int = 5000) -> list[str]:
        """`data.doc_id` of every task: one paged listing of only `id` and `data` (measured on 10,000 tasks:
        ~3 s against ~10 s for the SDK's listing of whole tasks)."""
        ids: list[str] = []
        page, seen = 1, 0
        while True:
            answer = self.get("/api/tasks", project=project_id, include="id,data", resolve_uri="false",
                              page_size=page_size, page=page)
            rows = answer.get("tasks", [])
            seen += len(rows)
            ids += [str(t["data"]["doc_id"]) for t in rows if isinstance(t.get("data"), dict)
                    and t["data"].get("doc_id") is not None]
            if not rows or seen >= int(answer.get("total", 0)):
                return ids
            page += 1

    def tasks(self, project_id: int, page_size: int = 5000, annotations: bool = False):
        """Every task's id and data, and with `annotations` its annotation counts (cancelled ones apart; the
        server counts them for each task, which makes the listing slower), in pages."""
        page, seen = 1, 0
        include = "id,data,total_annotations,cancelled_annotations" if annotations else "id,data"
        while True:
            answer = self.get("/api/tasks", project=project_id, resolve_uri="false", page_size=page_size, page=page,
                              include=include)
            rows = answer.get("tasks", [])
            seen += len(rows)
            yield from rows
            if not rows or seen >= int(answer.get("total", 0)):
                return
            page += 1

    def delete_tasks(self, project_id: int, task_ids: list[int]) -> None:
        """Delete these tasks of the project in one request (the data manager's action; one DELETE per task takes
        ~0.1 s each). Ids already gone are ignored, so it can be repeated."""
        self.request("POST", "/api/dm/actions", _encode({"selectedItems": {"all": False, "included": task_ids}}),
                     params={"id": "delete_tasks", "project": project_id})

    def delete(self, path: str) -> bool:
        """Delete; False if it was gone already (another push's check may have deleted the same copy)."""
        try:
            self.request("DELETE", path)
        except HttpStatusError as exc:
            if exc.status_code != 404:
                raise
            return False
        return True

    def import_tasks(self, project_id: int, body: bytes) -> dict:
        """One bulk import of a pre-encoded JSON list of tasks (Label Studio imports it synchronously)."""
        return self.request("POST", f"/api/projects/{project_id}/import", body) or {}


def _encode(payload) -> bytes:
    return json.dumps(payload, ensure_ascii=False).encode("utf-8")
