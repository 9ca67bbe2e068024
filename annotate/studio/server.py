"""A local Label Studio server: started in the background on 127.0.0.1, stopped only if we started it.

Everything lives in one project-local folder (default `.studio/`, ignored by git): the data directory (with the
SQLite database unless a PostgreSQL one is given), the server log, the pid file (pid and port), `database.json`
(which database, password masked), and `connection.json` (URL + API token, mode 0600), written only while a server
this folder started holds the port (see `ownership`).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from ..core.atomic import atomic_write_json
from . import database as dbs
from . import ownership
from .connection import forget_home
from .database import PostgresDatabase

DEFAULT_HOME = Path(".studio")
DEFAULT_PORT = 8080
ADMIN_EMAIL = "admin@annotate.local"


class ServerError(RuntimeError):
    pass


@dataclass
class ServerState:
    url: str
    pid: int | None
    running: bool
    started_by_us: bool
    connection_file: Path
    database: str | None = None  # what the folder's record says the server runs on (password masked)


@dataclass(frozen=True)
class Recorded:
    """What `server.pid` says: the process `up` started and its port; `running`: that process still runs."""
    pid: int
    port: int
    running: bool


def _credentials(home: Path) -> dict:
    path = home / "credentials.json"
    if path.exists():
        return json.loads(path.read_text())
    creds = {"username": ADMIN_EMAIL, "password": secrets.token_urlsafe(18), "token": secrets.token_hex(20)}
    atomic_write_json(path, creds, mode=0o600)
    return creds


def studio_environment(home: Path, creds: dict, database: PostgresDatabase | None = None) -> dict:
    """Environment for the label-studio process: preset admin, legacy token, no outbound calls, and its database
    (SQLite in the data folder unless `database` is given)."""
    env = dbs.label_studio_env(os.environ, database)
    env.update({
        "LABEL_STUDIO_BASE_DATA_DIR": str((home / "data").resolve()),
        "LABEL_STUDIO_USERNAME": creds["username"],
        "LABEL_STUDIO_PASSWORD": creds["password"],
        "LABEL_STUDIO_USER_TOKEN": creds["token"],
        "LABEL_STUDIO_ENABLE_LEGACY_API_TOKEN": "true",
        "LABEL_STUDIO_DISABLE_SIGNUP_WITHOUT_LINK": "true",
        "LATEST_VERSION_CHECK": "false",
        "COLLECT_ANALYTICS": "false",
        "SENTRY_DSN": "",
        "FRONTEND_SENTRY_DSN": "",
    })
    # The API key must not leak into the server's own log through our environment.
    env.pop("LABEL_STUDIO_API_KEY", None)
    return env


def healthy(url: str, timeout: float = 2.0) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=timeout) as resp:  # noqa: S310 (loopback only)
            return resp.status == 200
    except (urllib.error.URLError, OSError, ValueError):
        return False


def _label_studio_executable() -> list[str]:
    exe = Path(sys.executable).parent / "label-studio"
    if exe.exists():
        return [str(exe)]
    found = shutil.which("label-studio")
    if found:
        return [found]
    from . import STUDIO_EXTRA

    raise ServerError(f"the label-studio package is not installed; install it with: {STUDIO_EXTRA}")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _is_our_process(pid: int, port: int) -> bool:
    """The pid file may be stale and the pid reused: check the command line before signalling."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return _pid_alive(pid)
    return "label-studio" in cmdline and str(port) in cmdline


class LocalStudio:
    """`database`: None for SQLite in the folder, or a PostgreSQL database (see `database.database_from`).
    `port`: None for the port recorded in the folder by the last `up` (DEFAULT_PORT when there is none)."""

    def __init__(self, home: str | Path = DEFAULT_HOME, port: int | None = None,
                 database: PostgresDatabase | None = None):
        self.home = Path(home)
        recorded = self.recorded()
        self.port = port if port is not None else (recorded.port if recorded else DEFAULT_PORT)
        self.url = f"http://127.0.0.1:{self.port}"
        self.database = database

    @property
    def pid_file(self) -> Path:
        return self.home / "server.pid"

    @property
    def connection_file(self) -> Path:
        return self.home / "connection.json"

    @property
    def log_file(self) -> Path:
        return self.home / "server.log"

    def recorded(self) -> Recorded | None:
        """The server the folder's pid file records (started by `up`), whether or not it still runs."""
        try:
            data = json.loads(self.pid_file.read_text())
            pid, port = int(data["pid"]), int(data["port"])
        except (OSError, ValueError, KeyError, TypeError):
            return None
        return Recorded(pid, port, _pid_alive(pid) and _is_our_process(pid, port))

    def _pid(self) -> int | None:
        rec = self.recorded()
        return rec.pid if rec and rec.running and rec.port == self.port else None

    def status(self) -> ServerState:
        pid = self._pid()
        return ServerState(self.url, pid, healthy(self.url), pid is not None, self.connection_file,
                           dbs.read_record(self.home))

    def _serves_port(self, pid: int) -> bool:
        """Whether our process group holds the listening socket of our port (where the system cannot tell,
        the pid file and the process's command line are all there is to go by)."""
        ports = ownership.listening_ports(pid)
        return ports is None or self.port in ports

    def up(self, timeout: float = 240.0, on_wait=None) -> ServerState:
        """Start the server unless it already answers; idempotent. A PostgreSQL database is checked (login)
        before Label Studio starts; DatabaseError names the host, port and database when it cannot be reached.
        The connection (URL and API key) is written only once the process listening on the port is known to be
        the one this folder started: never to a server someone else runs (see `ownership`)."""
        self.home.mkdir(parents=True, exist_ok=True)
        (self.home / ".gitignore").write_text("*\n")
        creds = _credentials(self.home)
        rec = self.recorded()
        if rec and rec.running and rec.port != self.port:  # a second server would lose track of the first
            raise ServerError(f"the Label Studio started from {self.home} already runs on port {rec.port} (pid "
                              f"{rec.pid}); use it (leave out --port), or stop it first (annotate studio down "
                              f"--home {self.home})")
        pid = self._pid()
        if healthy(self.url):
            if pid is None or not self._serves_port(pid):
                self._forget_connection()
                raise ServerError(f"{self.url} answers, but not the Label Studio started from {self.home} "
                                  f"(it is another program or another folder's server); no connection was written "
                                  f"and the API key was not sent to it. Stop that program or choose another --port")
            self._refuse_other_database()
            self._write_connection(creds)
            return self.status()
        if pid is None:
            if ownership.port_in_use(self.port):
                self._forget_connection()
                raise ServerError(f"port {self.port} on 127.0.0.1 is taken by another program (it does not answer "
                                  f"/health as Label Studio does); no connection was written. Choose another --port")
            pid = self._start(creds)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if _reaped(pid) or not _pid_alive(pid):
                code = _children[pid].returncode if pid in _children else "unknown"
                raise ServerError(f"label-studio exited with code {code} while starting; see {self.log_file}")
            ports = ownership.listening_ports(pid)
            if ports and self.port not in ports:
                self.down()
                self._forget_connection()
                raise ServerError(f"port {self.port} was taken by another program while Label Studio started, and "
                                  f"it moved to port {min(ports)}; stopped it and wrote no connection. Choose a "
                                  "free --port")
            if healthy(self.url) and (ports is None or self.port in ports):
                self._write_connection(creds)
                return self.status()
            if on_wait:
                on_wait()
            time.sleep(1.0)
        self.down()
        raise ServerError(f"label-studio did not answer {self.url}/health within {timeout:.0f}s; see {self.log_file}")

    def _start(self, creds: dict) -> int:
        if self.database:
            dbs.check_reachable(self.database)
        dbs.write_record(self.home, self.database)
        cmd = _label_studio_executable() + ["start", "--no-browser", "--internal-host", "127.0.0.1",
                                            "-p", str(self.port)]
        env = studio_environment(self.home, creds, self.database)
        with self.log_file.open("ab") as log:
            proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    start_new_session=True, cwd=self.home)
        atomic_write_json(self.pid_file, {"pid": proc.pid, "port": self.port})
        _children[proc.pid] = proc
        return proc.pid

    def _refuse_other_database(self) -> None:
        """Reusing our running server is fine only if it runs on the database asked for now: otherwise the user
        would believe the data goes to PostgreSQL while it goes to SQLite, or the other way round."""
        running_on = dbs.recorded_target(self.home)
        if self._pid() is None or running_on is None or running_on == dbs.target(self.database):
            return
        raise ServerError(f"the Label Studio on {self.url} started from {self.home} runs on "
                          f"{dbs.read_record(self.home)}, not on {dbs.describe(self.database)}; stop it first "
                          "(annotate studio down) to switch databases")

    def down(self, timeout: float = 30.0) -> bool:
        """Stop the server this folder started; never touches a server someone else started. The pid file is
        removed only once its process is gone, and kept when it records another port than ours (then the server
        runs elsewhere: `recorded()` says where)."""
        rec = self.recorded()
        if rec is None or rec.port != self.port:
            return False
        if not rec.running:
            self.pid_file.unlink(missing_ok=True)
            return False
        try:
            os.killpg(rec.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        if not _wait_gone(rec.pid, timeout):
            try:
                os.killpg(rec.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            if not _wait_gone(rec.pid, 10.0):
                raise ServerError(f"label-studio (pid {rec.pid}) did not stop; {self.pid_file} is kept")
        self.pid_file.unlink(missing_ok=True)
        self._forget_connection()
        forget_home(self.home)  # the working folder's record of this folder (see connection.point_at_home)
        return True

    def _write_connection(self, creds: dict) -> None:
        atomic_write_json(self.connection_file, {"url": self.url, "api_key": creds["token"]}, mode=0o600)

    def _forget_connection(self) -> None:
        """A connection to our URL that no server of ours backs would send the key to whatever answers there."""
        try:
            if json.loads(self.connection_file.read_text()).get("url") == self.url:
                self.connection_file.unlink()
        except (OSError, ValueError, AttributeError):
            pass


_children: dict[int, subprocess.Popen] = {}  # servers this process started, reaped when they exit


def _reaped(pid: int) -> bool:
    """Reap our own child when it has exited (a zombie would still look alive); True if it has."""
    proc = _children.get(pid)
    if proc is not None:
        return proc.poll() is not None
    try:
        return os.waitpid(pid, os.WNOHANG)[0] == pid
    except ChildProcessError:  # not our child: someone else reaps it
        return False


def _wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _reaped(pid) or not _pid_alive(pid):
            return True
        time.sleep(0.2)
    return _reaped(pid) or not _pid_alive(pid)
