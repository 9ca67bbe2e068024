"""A local Label Studio server: started in the background on 127.0.0.1, stopped only if we started it.

Everything lives in one project-local folder (default `.studio/`, ignored by git): the SQLite data
directory, the server log, the pid file, and `connection.json` (URL + API token, mode 0600).
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

from ..atomic import atomic_write_json

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


def _credentials(home: Path) -> dict:
    path = home / "credentials.json"
    if path.exists():
        return json.loads(path.read_text())
    creds = {"username": ADMIN_EMAIL, "password": secrets.token_urlsafe(18), "token": secrets.token_hex(20)}
    atomic_write_json(path, creds, mode=0o600)
    return creds


def studio_environment(home: Path, creds: dict) -> dict:
    """Environment for the label-studio process: preset admin, legacy token, and no outbound calls."""
    env = dict(os.environ)
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
        "DJANGO_DB": "sqlite",
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
    def __init__(self, home: str | Path = DEFAULT_HOME, port: int = DEFAULT_PORT):
        self.home = Path(home)
        self.port = port
        self.url = f"http://127.0.0.1:{port}"

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
        return ServerState(self.url, pid, healthy(self.url), pid is not None, self.connection_file)

    def up(self, timeout: float = 240.0, on_wait=None) -> ServerState:
        """Start the server unless it already answers; idempotent."""
        self.home.mkdir(parents=True, exist_ok=True)
        (self.home / ".gitignore").write_text("*\n")
        creds = _credentials(self.home)
        self._write_connection(creds)
        if healthy(self.url):
            return self.status()
        cmd = _label_studio_executable() + ["start", "--no-browser", "--internal-host", "127.0.0.1",
                                            "-p", str(self.port)]
        log = self.log_file.open("ab")
        proc = subprocess.Popen(cmd, env=studio_environment(self.home, creds), stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True, cwd=self.home)
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
