"""Which database the local Label Studio runs on: SQLite in its data folder (the default) or PostgreSQL.

A PostgreSQL database is given as a URL, `postgresql://user:password@host:port/dbname`. The password is a secret:
everything shown to people (errors, status, the record in the server folder) uses `masked()`, and the password
reaches Label Studio only through its environment. A URL without a password takes it from PGPASSWORD, so it
need not be typed on a command line at all.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

from ..core.atomic import atomic_write_json

ENV_VAR = "ANNOTATE_STUDIO_DATABASE"
SCHEMES = ("postgresql", "postgres")
DEFAULT_PORT = 5432
RECORD_FILE = "database.json"
EXPECTED = "postgresql://user:password@host:port/dbname"
# Label Studio reads every setting as LABEL_STUDIO_<name>, HEARTEX_<name> or <name>, first found wins: a stray
# prefixed variable in the user's environment would silently override what we pass, so all of them are cleared.
_LS_PREFIXES = ("LABEL_STUDIO_", "HEARTEX_", "")
_LS_DB_SETTINGS = ("DJANGO_DB", "DATABASE_NAME", "POSTGRE_NAME", "POSTGRE_USER", "POSTGRE_PASSWORD", "POSTGRE_HOST",
                   "POSTGRE_PORT")


class DatabaseError(RuntimeError):
    """A database URL we cannot use, or a database we cannot reach; the message never holds the password."""


def mask_url(url: str) -> str:
    """The URL with any password replaced by ***, also when the URL is malformed (so errors can quote it).

    Everything between the first ':' after the scheme and the last '@' counts as the password: when a password
    holds an unescaped '@' or '/', this masks too much rather than too little."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return "***"  # no scheme: we cannot tell which part would be a password, so none is shown
    at = rest.rfind("@")
    colon = rest.find(":")
    if at < 0 or colon < 0 or colon > at:
        return url
    return f"{scheme}://{rest[:colon]}:***{rest[at:]}"


@dataclass(frozen=True)
class PostgresDatabase:
    host: str
    port: int
    name: str
    user: str
    password: str = field(default="", repr=False)

    def masked(self) -> str:
        secret = ":***" if self.password else ""
        return f"postgresql://{self.user}{secret}@{self.host}:{self.port}/{self.name}"

    def __str__(self) -> str:
        return self.masked()

    def where(self) -> str:
        return f"database '{self.name}' on {self.host}:{self.port} as user '{self.user}'"

    def label_studio_env(self) -> dict[str, str]:
        # Label Studio's settings map DJANGO_DB=default to its PostgreSQL entry, filled from the POSTGRE_* variables
        return {"DJANGO_DB": "default", "POSTGRE_NAME": self.name, "POSTGRE_USER": self.user,
                "POSTGRE_PASSWORD": self.password, "POSTGRE_HOST": self.host, "POSTGRE_PORT": str(self.port)}


def parse_database_url(url: str, env: Mapping[str, str] | None = None) -> PostgresDatabase:
    """`postgresql://user[:password]@host[:port]/dbname` -> PostgresDatabase; DatabaseError naming what is wrong.

    Without a password in the URL, PGPASSWORD (the variable libpq itself reads) gives it."""
    env = os.environ if env is None else env
    shown = mask_url(url.strip())
    parts = urlsplit(url.strip())
    if parts.scheme.lower() not in SCHEMES:
        got = f"scheme '{parts.scheme}'" if parts.scheme else "no scheme"
        raise DatabaseError(f"database URL {shown} has {got}; only PostgreSQL is supported besides the default "
                            f"SQLite: {EXPECTED}")
    if "@" in parts.path:  # before the port: the "port" would be the start of the password
        raise DatabaseError(f"database URL {shown}: an '@' after the host (a password holding '/' or '@' must write "
                            f"them as %2F and %40; expected {EXPECTED})")
    try:
        port = parts.port or DEFAULT_PORT
    except ValueError:
        raise DatabaseError(f"database URL {shown}: the port must be a number from 1 to 65535 ({EXPECTED})") from None
    problems = []
    if not parts.hostname:
        problems.append("no host")
    if not parts.username:
        problems.append("no user")
    name = unquote(parts.path.lstrip("/"))
    if not name or "/" in name:  # not quoted back: a name is no secret, but a mistyped URL may hold one
        problems.append("no database name" if not name else "a '/' in the database name")
    if parts.query or parts.fragment:
        problems.append("options after '?' or '#' are not supported (Label Studio takes only host, port, user, "
                        "password and database name)")
    if problems:
        raise DatabaseError(f"database URL {shown}: {'; '.join(problems)} (expected {EXPECTED})")
    password = unquote(parts.password) if parts.password else env.get("PGPASSWORD", "")
    return PostgresDatabase(parts.hostname, port, name, unquote(parts.username), password)


def database_from(url: str | None, env: Mapping[str, str] | None = None) -> PostgresDatabase | None:
    """The database a `--database` option or ANNOTATE_STUDIO_DATABASE names; None (SQLite) when neither is set."""
    env = os.environ if env is None else env
    url = url if url is not None else env.get(ENV_VAR)
    if url is None or not url.strip():
        return None
    return parse_database_url(url, env)


def check_reachable(db: PostgresDatabase, timeout: float = 5.0) -> None:
    """Log in once, so a wrong host, port, password or database name is reported here and not as a Label Studio
    start that fails minutes later with a traceback in its log."""
    try:
        import psycopg
    except ImportError:
        raise DatabaseError("PostgreSQL needs the psycopg driver; install it with: pip install -e '.[studio]'") \
            from None
    try:
        with psycopg.connect(host=db.host, port=db.port, dbname=db.name, user=db.user, password=db.password or None,
                             connect_timeout=max(1, int(timeout))):
            pass
    except psycopg.Error as exc:
        raise DatabaseError(f"cannot connect to PostgreSQL {db.where()}: {_reason(exc, db.password)}") from None


def _reason(exc: Exception, password: str) -> str:
    """libpq's message on one line; the password is scrubbed in case a driver ever echoes it."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text.replace(password, "***") if password else text


def label_studio_env(base: Mapping[str, str], db: PostgresDatabase | None) -> dict[str, str]:
    """`base` with every Label Studio database setting replaced by ours: SQLite in the data folder, or `db`."""
    env = {k: v for k, v in base.items()
           if not any(k == prefix + name for prefix in _LS_PREFIXES for name in _LS_DB_SETTINGS)}
    env.update(db.label_studio_env() if db else {"DJANGO_DB": "sqlite"})
    return env


def describe(db: PostgresDatabase | None) -> str:
    return f"PostgreSQL {db.masked()}" if db else "SQLite in the server folder's data/"


def target(db: PostgresDatabase | None) -> str:
    """Which database, without the password (the same database reached with or without one is the same)."""
    return f"postgresql://{db.user}@{db.host}:{db.port}/{db.name}" if db else "sqlite"


def write_record(home: Path, db: PostgresDatabase | None) -> None:
    """What the server in `home` runs on, password masked, for `annotate studio status`."""
    record = {"engine": "postgresql", "url": db.masked()} if db else \
        {"engine": "sqlite", "path": str((home / "data" / "label_studio.sqlite3").resolve())}
    atomic_write_json(home / RECORD_FILE, {**record, "target": target(db)})


def recorded_target(home: Path) -> str | None:
    try:
        return json.loads((home / RECORD_FILE).read_text()).get("target")
    except (OSError, ValueError, AttributeError):
        return None


def read_record(home: Path) -> str | None:
    """`describe()` of the recorded database, or None for a folder whose server predates the record."""
    try:
        record = json.loads((home / RECORD_FILE).read_text())
    except (OSError, ValueError):
        return None
    if record.get("engine") == "postgresql":
        return f"PostgreSQL {mask_url(str(record.get('url', '')))}"
    return f"SQLite {record.get('path', '')}".strip()
