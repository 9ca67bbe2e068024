"""Shared pieces of the command line: the schema and routing loaders, the quarantine note, the options
several commands take, and the one wrapper that turns Label Studio errors into messages.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click

from ..core.atomic import replace_quarantine
from ..core.schema import SchemaError, load_schema

EXIT_ERROR = 1


def schema_from(path):
    try:
        return load_schema(path)
    except SchemaError as exc:
        raise click.ClickException(str(exc)) from exc


def quarantine_note(path: Path, rejected) -> str:
    """Write this run's rejected records (or remove a stale file of an earlier run); a note for the summary."""
    written = replace_quarantine(path, [r.to_json() for r in rejected])
    for r in rejected[:10]:
        click.echo(f"  quarantined {r.source}: {r.reason}", err=True)
    if len(rejected) > 10:
        click.echo(f"  ... and {len(rejected) - 10} more", err=True)
    return f" ({written.note})" if written.note else ""


def plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


schema_option = click.option("--schema", "schema_path", type=click.Path(exists=True, dir_okay=False),
                             help="Schema YAML (default: schemas/ace-arabic-news.yaml).")


home_option = click.option("--home", type=click.Path(file_okay=False), envvar="ANNOTATE_STUDIO_HOME",
                           default=".studio", show_default=True,
                           help="Folder for the local server's data, log and credentials (git-ignored; env "
                                "ANNOTATE_STUDIO_HOME).")


port_option = click.option("--port", type=int, envvar="ANNOTATE_STUDIO_PORT", default=None,
                           help="Port on 127.0.0.1 (env ANNOTATE_STUDIO_PORT; default: the port the server started "
                                "from --home runs on, else 8080).")


database_option = click.option(
    "--database", "database_url", envvar="ANNOTATE_STUDIO_DATABASE", default=None, metavar="URL",
    help="Run Label Studio on this PostgreSQL database, postgresql://user:password@host:port/dbname (env "
         "ANNOTATE_STUDIO_DATABASE; without a password in the URL, PGPASSWORD gives it). Default, or with "
         "--database '': SQLite in --home.")


project_option = click.option("--project", "title", default=None,
                              help="Project title (default: 'Arabic news entities and events').")


config_option = click.option("--config", "config_path", type=click.Path(exists=True, dir_okay=False),
                             help="Read labels from this Label Studio labeling config (XML) instead of a schema, "
                                  "for exports of other text-span projects.")


skip_unreadable_option = click.option("--skip-unreadable", is_flag=True,
                                      help="Go on when an export file cannot be read (a truncated download, say); "
                                           "by default that stops the run.")


def routing_from(schema_path, config_path):
    from ..studio.config import Routing, routing_from_config

    if config_path:
        try:
            return routing_from_config(Path(config_path).read_text(encoding="utf-8"), Path(config_path).stem)
        except (ValueError, OSError) as exc:  # ConfigError, SchemaError, UnicodeDecodeError
            raise click.ClickException(f"--config {config_path}: {exc}") from None
    return Routing(schema_from(schema_path))


def require_studio(what: str, module: str = "label_studio_sdk") -> None:
    """A command that needs the `studio` extra says which one to install, not an ImportError."""
    from ..studio import StudioExtraMissing
    from ..studio import require_studio as require

    try:
        require(what, module)
    except StudioExtraMissing as exc:
        raise click.ClickException(str(exc)) from None


def studio_call(fn, *args, **kwargs):
    from ..studio.client import StudioError
    from ..studio.connection import ConnectionConfigError

    # ServerError and DatabaseError come only from the server and database modules, so they are looked up rather
    # than imported: the commands that do not start a server (push) then do not pay for loading them.
    server = sys.modules.get("annotate.studio.server")
    database = sys.modules.get("annotate.studio.database")
    expected = (StudioError, ConnectionConfigError) + ((server.ServerError,) if server else ()) \
        + ((database.DatabaseError,) if database else ())
    try:
        return fn(*args, **kwargs)
    except expected as exc:
        raise click.ClickException(str(exc)) from None


def plain_interval() -> float:
    """Seconds between two progress lines when stderr is not a terminal (env ANNOTATE_PROGRESS_SECONDS)."""
    import os

    try:
        return max(0.0, float(os.environ.get("ANNOTATE_PROGRESS_SECONDS", "5")))
    except ValueError:
        return 5.0


class PlainProgress:
    """click.progressbar's interface for a log (CI): no bar and no carriage return, one plain line every few
    seconds and one at the end."""

    def __init__(self, length: int, label: str, show_pos: bool = False, item_show_func=None, **_):
        self.length, self.label, self.show_pos, self.item_show_func = length, label, show_pos, item_show_func
        self.pos, self.item, self.interval = 0, None, plain_interval()
        self.started = self.shown = 0.0

    def __enter__(self) -> PlainProgress:
        import time

        self.started = self.shown = time.perf_counter()
        return self

    def _line(self) -> str:
        if self.length and (self.show_pos or not self.item_show_func):
            where = f"{self.pos:,}/{self.length:,}" if self.show_pos else f"{100 * self.pos / self.length:.0f}%"
        else:
            where = f"{self.pos:,}" if not self.item_show_func else ""
        item = self.item_show_func(self.item) if self.item_show_func else None
        return f"{self.label}: {where}" + (f" {item}" if item else "")

    def update(self, n: int, current_item=None) -> None:
        import time

        self.pos += n
        if current_item is not None:
            self.item = current_item
        now = time.perf_counter()
        if now - self.shown >= self.interval:
            self.shown = now
            click.echo(self._line(), err=True)

    def __exit__(self, *exc) -> None:
        click.echo(self._line() + " (done)" if exc[0] is None else self._line() + " (stopped)", err=True)


def progressbar(length: int, label: str, **kwargs):
    """A click progress bar on a terminal, plain progress lines otherwise (a CI log gets no carriage returns)."""
    if sys.stderr.isatty():
        return click.progressbar(length=length, label=label, file=sys.stderr, **kwargs)
    return PlainProgress(length, label, **kwargs)


class TaskRate:
    """Progress of a streamed import: tasks read and documents per second (the total is not known before the
    exports are read through). On a terminal one line is redrawn at most twice a second; in a log (CI) a plain
    line is written every few seconds, without carriage returns."""

    def __init__(self, label: str):
        self.label = label
        self.done = 0
        self.read_for: float | None = None  # seconds the reading took, once the rows are being written
        self.tty = sys.stderr.isatty()
        self.interval = 0.5 if self.tty else plain_interval()

    def __enter__(self) -> TaskRate:

        self.started = self.shown = time.perf_counter()
        return self

    def _echo(self, line: str) -> None:
        click.echo(f"\r{line}" if self.tty else line, err=True, nl=not self.tty)

    def _end_line(self) -> None:
        if self.tty:
            click.echo("", err=True)

    def update(self, n: int) -> None:

        self.done += n
        now = time.perf_counter()
        if now - self.shown >= self.interval:
            self.shown = now
            self._show(now)

    def _show(self, now: float) -> None:
        rate = self.done / max(now - self.started, 1e-9)
        self._echo(f"{self.label}: {self.done} tasks, {rate:,.0f} docs/s")

    def rows_written(self, written: int, total: int) -> None:
        """The second phase of a build: the rows written in id order, after every task was read. The reading
        line is closed first with its own rate (the writing is not counted in it)."""

        now = time.perf_counter()
        if self.read_for is None:
            self.read_for = now - self.started
            if self.done:
                self._show(now)
                self._end_line()
            self.shown = -self.interval
        if written == total or now - self.shown >= self.interval:
            self.shown = now
            self._echo(f"Writing the gold set: {written:,}/{total:,} rows")

    def __exit__(self, *exc) -> None:

        if self.read_for is not None:
            self._end_line()
        elif self.done:
            self._show(time.perf_counter())
            self._end_line()
