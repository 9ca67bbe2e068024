"""A throwaway PostgreSQL server for the tests: initdb in a temporary folder, listening on 127.0.0.1 on a free port
(its Unix socket stays in that folder), one database with its own password-protected user, stopped and removed
at the end.

PostgreSQL refuses to run as root; under root (CI on a fresh machine) the server runs as `nobody` (or a system
user made for it where there is none), which owns the temporary folder.
"""

from __future__ import annotations

import glob
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

UNPRIVILEGED = "nobody"
FALLBACK_USER = "annotate-pg"


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL binaries on this machine."""


def find_bindir() -> Path:
    """Debian keeps the server binaries out of PATH, under /usr/lib/postgresql/<major>/bin; the newest wins."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    if initdb and shutil.which("pg_ctl"):
        return Path(initdb).resolve().parent
    raise PostgresUnavailable("PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb, no initdb on PATH); "
                              "on Debian: apt-get install postgresql")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class PgServer:
    folder: Path
    port: int
    database: str
    user: str
    password: str = field(repr=False)
    host: str = "127.0.0.1"

    @property
    def url(self) -> str:
        return f"postgresql://{self.user}:{self.password}@{self.host}:{self.port}/{self.database}"


def _unprivileged_user() -> pwd.struct_passwd:
    """`nobody`, or on a machine without it a system user made for the purpose."""
    for name in (UNPRIVILEGED, FALLBACK_USER):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", FALLBACK_USER],
                   check=True, capture_output=True)
    return pwd.getpwnam(FALLBACK_USER)


def _run_as() -> dict:
    """subprocess arguments that drop root to an unprivileged user (nothing to drop otherwise)."""
    if os.geteuid() != 0:
        return {}
    who = _unprivileged_user()
    return {"user": who.pw_uid, "group": who.pw_gid, "extra_groups": []}


def _run(args: list, as_user: dict, timeout: float = 120.0) -> None:
    done = subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=timeout, **as_user)
    if done.returncode != 0:
        raise RuntimeError(f"{Path(str(args[0])).name} failed ({done.returncode}): {done.stdout}{done.stderr}")


def _stop(bindir: Path, data: Path, as_user: dict) -> None:
    """pg_ctl's fast shutdown; if that fails, the postmaster (first line of postmaster.pid) is killed."""
    try:
        _run([bindir / "pg_ctl", "stop", "-D", data, "-m", "fast", "-w", "-t", "30"], as_user, timeout=60)
        return
    except (RuntimeError, subprocess.TimeoutExpired):
        pass
    try:
        pid = int((data / "postmaster.pid").read_text().split()[0])
        os.kill(pid, signal.SIGKILL)
    except (OSError, ValueError, IndexError):
        pass


def _create_database(server: PgServer, superuser_password: str) -> None:
    """The test database and a user owning it, made over TCP as the superuser (password auth, as a team would)."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(host=server.host, port=server.port, dbname="postgres", user="postgres",
                         password=superuser_password, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(sql.Identifier(server.user),
                                                                         sql.Literal(server.password)))
        conn.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(server.database),
                                                                   sql.Identifier(server.user)))


@contextmanager
def postgres_server(database: str = "annotate_test", user: str = "annotate") -> Iterator[PgServer]:
    """A running PostgreSQL with `database` owned by `user` (a random password); stopped and deleted on exit,
    also when the body fails."""
    bindir = find_bindir()
    as_user = _run_as()
    folder = Path(tempfile.mkdtemp(prefix="annotate-pg-"))
    if as_user:
        os.chown(folder, as_user["user"], as_user["group"])
    data = folder / "data"
    server = PgServer(folder, free_port(), database, user, secrets.token_urlsafe(16))
    superuser_password = secrets.token_urlsafe(16)
    pwfile = folder / "superuser.pw"
    pwfile.write_text(superuser_password + "\n")
    if as_user:
        os.chown(pwfile, as_user["user"], as_user["group"])
    started = False
    try:
        _run([bindir / "initdb", "-D", data, "-U", "postgres", "--pwfile", pwfile, "-E", "UTF8", "--locale", "C",
              "--auth-local", "trust", "--auth-host", "scram-sha-256"], as_user)
        pwfile.unlink()
        options = f"-h {server.host} -p {server.port} -k {folder} -c fsync=off"  # fsync off: a throwaway server
        started = True  # from here on a half-started server must be stopped too
        try:
            _run([bindir / "pg_ctl", "start", "-D", data, "-l", folder / "server.log", "-w", "-t", "60", "-o",
                  options], as_user)
        except RuntimeError as exc:  # the log goes with the folder: keep its end in the error
            log = (folder / "server.log").read_text(errors="replace")[-2000:] if (folder / "server.log").exists() \
                else ""
            raise RuntimeError(f"{exc}\nserver log:\n{log}") from None
        _create_database(server, superuser_password)
        yield server
    finally:
        if started:
            _stop(bindir, data, as_user)
        _wait_gone(data)
        shutil.rmtree(folder, ignore_errors=True)


def _wait_gone(data: Path, timeout: float = 10.0) -> None:
    """postmaster.pid disappears when the server has exited; removing the folder earlier races its shutdown."""
    deadline = time.monotonic() + timeout
    while (data / "postmaster.pid").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
