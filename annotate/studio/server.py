"""A local Label Studio server: started in the background on 127.0.0.1, stopped only if we started it.

Everything lives in one project-local folder (default `.studio/`, ignored by git): the data directory (with the
SQLite database unless a PostgreSQL one is given), the server log, the pid file, `database.json` (which database,
password masked), and `connection.json` (URL + API token, mode 0600).
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
    raise ServerError("the label-studio package is not installed; install it with: pip install -e '.[studio]'")


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
    """`database`: None for SQLite in the folder, or a PostgreSQL database (see `database.database_from`)."""

    def __init__(self, home: str | Path = DEFAULT_HOME, port: int = DEFAULT_PORT,
                 database: PostgresDatabase | None = None):
        self.home = Path(home)
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
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

    def _pid(self) -> int | None:
        try:
            data = json.loads(self.pid_file.read_text())
        except (OSError, ValueError):
            return None
        if data.get("port") != self.port:
            return None
        pid = int(data["pid"])
        return pid if _pid_alive(pid) and _is_our_process(pid, self.port) else None

    def status(self) -> ServerState:
        pid = self._pid()
        return ServerState(self.url, pid, healthy(self.url), pid is not None, self.connection_file,
                           dbs.read_record(self.home))

    def up(self, timeout: float = 240.0, on_wait=None) -> ServerState:
        """Start the server unless it already answers; idempotent. A PostgreSQL database is checked (login)
        before Label Studio starts; DatabaseError names the host, port and database when it cannot be reached."""
        self.home.mkdir(parents=True, exist_ok=True)
        (self.home / ".gitignore").write_text("*\n")
        creds = _credentials(self.home)
        self._write_connection(creds)
        if healthy(self.url):
            self._refuse_other_database()
            return self.status()
        if self.database:
            dbs.check_reachable(self.database)
        dbs.write_record(self.home, self.database)
        cmd = _label_studio_executable() + ["start", "--no-browser", "--internal-host", "127.0.0.1",
                                            "-p", str(self.port)]
        log = self.log_file.open("ab")
        env = studio_environment(self.home, creds, self.database)
        proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True, cwd=self.home)
        atomic_write_json(self.pid_file, {"pid": proc.pid, "port": self.port})
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise ServerError(f"label-studio exited with code {proc.returncode} while starting; "
                                  f"see {self.log_file}")
            if healthy(self.url):
                return self.status()
            if on_wait:
                on_wait()
            time.sleep(1.0)
        self.down()
        raise ServerError(f"label-studio did not answer {self.url}/health within {timeout:.0f}s; see {self.log_file}")

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
        """Stop the server this folder started; never touches a server someone else started."""
        pid = self._pid()
        if pid is None:
            self.pid_file.unlink(missing_ok=True)
            return False
        try:
            os.killpg(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and _pid_alive(pid):
            try:
                os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                pass
            time.sleep(0.2)
        if _pid_alive(pid):
            os.killpg(pid, signal.SIGKILL)
        self.pid_file.unlink(missing_ok=True)
        return True

    def _write_connection(self, creds: dict) -> None:
        atomic_write_json(self.connection_file, {"url": self.url, "api_key": creds["token"]}, mode=0o600)
