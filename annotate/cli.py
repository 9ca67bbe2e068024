"""The `annotate` command line: each command parses options and calls the library.

Pipeline: articles -> tasks -> Label Studio (push) -> export (pull) -> gold dataset (import) -> score.
"""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path

import click

from . import __version__
from .atomic import atomic_write_json, replace_quarantine
from .schema import SchemaError, describe, load_schema
from .studio.config import TEXT_MISMATCH_POLICIES

EXIT_ERROR = 1


def _schema(path):
    try:
        return load_schema(path)
    except SchemaError as exc:
        raise click.ClickException(str(exc)) from exc


def _quarantine(path: Path, rejected) -> str:
    """Write this run's rejected records (or remove a stale file of an earlier run); a note for the summary."""
    written = replace_quarantine(path, [r.to_json() for r in rejected])
    for r in rejected[:10]:
        click.echo(f"  quarantined {r.source}: {r.reason}", err=True)
    if len(rejected) > 10:
        click.echo(f"  ... and {len(rejected) - 10} more", err=True)
    return f" ({written.note})" if written.note else ""


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


schema_option = click.option("--schema", "schema_path", type=click.Path(exists=True, dir_okay=False),
                             help="Schema YAML (default: schemas/ace-arabic-news.yaml).")


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.version_option(__version__, prog_name="annotate")
def main() -> None:
    """Arabic news -> Label Studio -> gold entity-and-event dataset -> extractor scores.

    \b
    Example pipeline:
      annotate tasks gold/articles -o tasks.json     articles -> Label Studio tasks
      annotate studio up                             start a local Label Studio
      annotate push tasks.json                       create the project, import tasks
      annotate push --annotations pass.jsonl --annotator a@x.org   load work made elsewhere
      annotate status                                who has done what, current agreement
      annotate pull                                  export annotations to gold/annotations/
      annotate agree gold/annotations/*.json         inter-annotator agreement
      annotate adjudicate EXPORT --log gold/adjudication.yaml --push   disagreements to decide
      annotate import gold/annotations               exports -> gold dataset (gold/dataset)
      annotate score --gold gold/dataset --predictions preds.jsonl --html report.html
      annotate compare a.json b.json --markdown board.md             leaderboard of reports
      annotate export gold/dataset --format brat -o brat/            the gold set for other tools
    """
    # Retries and waits are reported as they happen (on stderr), so a slow or absent server is never silence.
    studio_log = logging.getLogger("annotate")
    if not any(isinstance(h, _EchoHandler) for h in studio_log.handlers):
        studio_log.addHandler(_EchoHandler())
        studio_log.setLevel(logging.INFO)


class _EchoHandler(logging.Handler):
    """Log records to the current stderr (looked up at each record, so test runners that swap it see them)."""

    def emit(self, record: logging.LogRecord) -> None:
        click.echo(self.format(record), err=True)


@main.command("schema")
@schema_option
def schema_cmd(schema_path):
    """Print a readable summary of the schema: entity types, event types, roles, attributes.

    \b
    Example:
      annotate schema
      annotate schema --schema my-schema.yaml
    """
    click.echo(describe(_schema(schema_path)))


@main.command("config")
@schema_option
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write the XML here instead of stdout.")
def config_cmd(schema_path, output):
    """Print the Label Studio labeling config generated from the schema (validated by the SDK).

    \b
    Example:
      annotate config > config.xml
    """
    from label_studio_sdk.label_interface import LabelInterface

    from .atomic import atomic_write_text
    from .studio.config import labeling_config

    schema = _schema(schema_path)
    xml = labeling_config(schema)
    LabelInterface(xml).validate()
    if output:
        atomic_write_text(output, xml)
    else:
        click.echo(xml, nl=False)
    click.echo(f"Labeling config for schema {schema.name} ({schema.fingerprint}): {len(schema.entity_types)} entity "
               f"labels, {len(schema.event_types)} trigger labels, {len(schema.role_names)} roles, "
               f"{len(schema.attributes)} attribute(s); validated by LabelInterface"
               + (f"; written to {output}" if output else ""), err=True)


@main.command("tasks")
@click.argument("articles", nargs=-1, required=True, type=click.Path())
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="Tasks file to write: a JSON array, or JSON Lines (one task a line) when it ends in .jsonl.")
@click.option("--predictions", "predictions_path", type=click.Path(exists=True, dir_okay=False),
              help="Predictions JSONL to attach as Label Studio pre-annotations (any order).")
@click.option("--extractor", default=None, help="Or run this extractor (a command, or package.module:function) "
              "for the pre-annotations, e.g. annotate.baseline:extract.")
@click.option("--model-version", default="predictions", show_default=True, help="model_version of predictions.")
@click.option("--keep-boilerplate", is_flag=True, help="Do not drop site boilerplate lines.")
@click.option("--quarantine", type=click.Path(dir_okay=False), help="Where rejected inputs go "
              "(default: OUTPUT with .quarantine.jsonl).")
@click.option("--num-proc", default=1, show_default=True, type=click.IntRange(1),
              help="Worker processes for reading and cleaning articles; the output is the same for any number.")
@schema_option
def tasks_cmd(articles, output, predictions_path, extractor, model_version, keep_boilerplate, quarantine, num_proc,
              schema_path):
    """Convert articles (.txt files, folders, JSONL) into a Label Studio import file, one task per article.

    Articles are read and tasks written as a stream, so memory stays flat however many there are; the
    output replaces the previous file only when the run succeeds. Only CRLF/CR line ends and a BOM are
    normalised; boilerplate lines are dropped and listed.

    \b
    Example:
      annotate tasks gold/articles -o tasks.json
      annotate tasks articles.jsonl -o tasks.jsonl --num-proc 4
      annotate tasks gold/articles --predictions preds.jsonl -o tasks.json
      annotate tasks gold/articles --extractor annotate.baseline:extract -o tasks.json
    """
    import time

    from .extractor import ExtractorError
    from .ingest import expand_inputs
    from .taskstream import stream_tasks

    if predictions_path and extractor:
        raise click.UsageError("give --predictions or --extractor, not both")
    source = ("predictions", predictions_path) if predictions_path else ("extractor", extractor) if extractor else None
    schema = _schema(schema_path)
    # the bar advances by bytes of input (known before reading), and says how many documents a second
    total = sum(p.stat().st_size for p in expand_inputs(articles) if p.is_file() and p.suffix == ".jsonl")
    files = sum(1 for p in expand_inputs(articles) if not (p.is_file() and p.suffix == ".jsonl"))
    started, docs = time.perf_counter(), [0]

    def rate(_item) -> str:
        elapsed = time.perf_counter() - started
        return f"{docs[0]:,} documents, {docs[0] / elapsed if elapsed > 0 else 0.0:,.0f} documents/s"

    def echo_dropped(doc) -> None:
        dropped = doc.metadata.get("boilerplate_dropped", [])
        if dropped:
            shown = "; ".join(f"line {d['line']} [{d['rule']}] {d['text'].strip()[:40]}" for d in dropped)
            click.echo(f"{doc.metadata['source']}: dropped {len(dropped)} boilerplate line(s): {shown}", err=True)

    try:
        with click.progressbar(length=max(1, total + files), label="Reading articles", file=sys.stderr,
                               item_show_func=rate) as bar:
            def progress(n_files: int, n_bytes: int, n_docs: int) -> None:
                docs[0] += n_docs
                bar.update(n_bytes + (n_files if files else 0), current_item=docs[0])

            made = stream_tasks(articles, output, schema, not keep_boilerplate, source, model_version, num_proc,
                                progress, echo_dropped)
    except ExtractorError as exc:
        raise click.ClickException(str(exc)) from None
    except OSError as exc:
        raise click.ClickException(f"{exc.filename or output}: {exc.strerror or exc}") from None
    qpath = Path(quarantine) if quarantine else Path(output).with_suffix(".quarantine.jsonl")
    note = _quarantine(qpath, made.rejected)
    written = f"{made.tasks} task(s) written to {output}" if made.tasks else f"no task, so {output} was left as it was"
    summary = (f"{made.inputs} article input(s): {written}, {len(made.article_rejects)} article(s) quarantined{note}; "
               f"{made.dropped_lines} boilerplate line(s) dropped")
    if source:
        summary += (f"; {made.with_predictions} task(s) with predictions, "
                    f"{len(made.prediction_rejects)} prediction(s) quarantined")
    click.echo(summary)
    if not made.tasks:
        sys.exit(EXIT_ERROR)


# --- Label Studio ----------------------------------------------------------------------------------------

home_option = click.option("--home", type=click.Path(file_okay=False), default=".studio", show_default=True,
                           help="Folder for the local server's data, log and credentials (git-ignored).")
port_option = click.option("--port", type=int, envvar="ANNOTATE_STUDIO_PORT", default=8080, show_default=True,
                           help="Port on 127.0.0.1 (env ANNOTATE_STUDIO_PORT).")
database_option = click.option(
    "--database", "database_url", envvar="ANNOTATE_STUDIO_DATABASE", default=None, metavar="URL",
    help="Run Label Studio on this PostgreSQL database, postgresql://user:password@host:port/dbname (env "
         "ANNOTATE_STUDIO_DATABASE; without a password in the URL, PGPASSWORD gives it). Default, or with "
         "--database '': SQLite in --home.")
project_option = click.option("--project", "title", default=None,
                              help="Project title (default: 'Arabic news entities and events').")


def _studio_call(fn, *args, **kwargs):
    from .studio.client import StudioError
    from .studio.connection import ConnectionConfigError

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


@main.group("studio")
def studio_group():
    """Run a local Label Studio on 127.0.0.1 (SQLite by default, or PostgreSQL; outbound calls off).

    \b
    Example:
      annotate studio up        # start (or find) the server, print URL and where the credentials are
      PGPASSWORD=... annotate studio up --database postgresql://annotate@db.example.org:5432/annotate
      annotate studio status
      annotate studio down      # stop the server this folder started
    """


@studio_group.command("up")
@home_option
@port_option
@database_option
@click.option("--timeout", default=240.0, show_default=True, help="Seconds to wait for /health.")
def studio_up(home, port, database_url, timeout):
    """Start the local Label Studio in the background and wait until it answers /health.

    Starting twice is harmless: a running server is reused. Its data goes to SQLite in --home unless
    --database (or ANNOTATE_STUDIO_DATABASE) names a PostgreSQL database, which is checked before the start.

    \b
    Example:
      annotate studio up --port 8080
      export PGPASSWORD=...     # the password stays out of the command line and the shell history
      annotate studio up --database postgresql://annotate@127.0.0.1:5432/annotate
    """
    from .studio.database import database_from, describe
    from .studio.server import LocalStudio

    database = _studio_call(database_from, database_url)
    studio = LocalStudio(home, port, database)
    click.echo(f"Starting Label Studio on {studio.url} with {describe(database)} (first start runs database "
               "migrations, ~1 min) ...", err=True)
    state = _studio_call(studio.up, timeout=timeout)
    creds = Path(home) / "credentials.json"
    on = state.database or "a database this folder did not record"
    click.echo(f"Label Studio is up at {state.url} (pid {state.pid or 'not ours'}) on {on}. Admin login and API "
               f"token are in {creds} (mode 0600); the toolkit reads {state.connection_file}.")


@studio_group.command("down")
@home_option
@port_option
def studio_down(home, port):
    """Stop the local Label Studio that `annotate studio up` started from this folder.

    \b
    Example:
      annotate studio down
    """
    from .studio.server import LocalStudio

    stopped = LocalStudio(home, port).down()
    click.echo("Stopped the local Label Studio." if stopped else "No Label Studio started from here is running.")


@studio_group.command("status")
@home_option
@port_option
def studio_status(home, port):
    """Say whether the local Label Studio is running and answering.

    \b
    Example:
      annotate studio status
    """
    from .studio.server import LocalStudio

    st = LocalStudio(home, port).status()
    owner = f"started from here, pid {st.pid}" if st.started_by_us else "not started from here"
    click.echo(f"{st.url}: {'answering' if st.running else 'not answering'} ({owner})")
    if st.database:
        click.echo(f"database: {st.database}" + ("" if st.started_by_us else " (as last started from here)"))
    if not st.running:
        sys.exit(EXIT_ERROR)


@main.command("push")
@click.argument("tasks_file", required=False, type=click.Path(exists=True, dir_okay=False))
@project_option
@click.option("--project-id", type=int, help="Push into this project (instead of finding it by title).")
@click.option("--update-config", is_flag=True, help="Replace an existing project's labeling config with the schema's.")
@click.option("--chunk-size", default=10_000, show_default=True, type=click.IntRange(min=1),  # = client.CHUNK_SIZE
              help="Most tasks per import request (a request also stays under 16 MiB).")
@click.option("--chunk-bytes", default=None, type=click.IntRange(min=1), hidden=True,
              help="Most bytes per import request (for measurements and tests).")
@click.option("--annotations", "annotations_path", type=click.Path(exists=True, dir_okay=False),
              help="Annotations made elsewhere (predictions JSONL, offsets or surface spans, or a Label Studio "
                   "export) to load as --annotator's completed annotations.")
@click.option("--annotator", default=None, help="With --annotations: the email of the user the annotations "
              "belong to (created when missing).")
@click.option("--ground-truth", is_flag=True, help="With --annotations: mark the loaded annotations as ground truth.")
@click.option("--quarantine", type=click.Path(dir_okay=False), default=None,
              help="Where rejected annotation records go (default: ANNOTATIONS with .quarantine.jsonl).")
@click.option("--show-instructions/--no-show-instructions", default=None,
              help="Open the guidelines on every task (a project setting; off when the project is created, and the "
                   "Instructions button always shows them). Given on an existing project, it changes the setting.")
@schema_option
def push_cmd(tasks_file, title, project_id, update_config, chunk_size, chunk_bytes, annotations_path, annotator,
             ground_truth, quarantine, show_instructions, schema_path):
    """Create the project (config and guidelines from the schema) and import tasks not already in it; and/or
    load annotations made elsewhere as a named annotator's work.

    Documents already in the project (same data.doc_id) are skipped, so a push can be repeated or resumed.
    Loading annotations is idempotent too: a task the annotator has annotated already gets nothing new.
    The server and key come from LABEL_STUDIO_URL / LABEL_STUDIO_API_KEY or .studio/connection.json.

    \b
    Example:
      annotate tasks gold/articles -o tasks.json && annotate push tasks.json
      annotate push --annotations pass-a.jsonl --annotator amal@example.org
      annotate push tasks.json --show-instructions     # open the guidelines on every task
    """
    from .studio.client import DEFAULT_PROJECT, ProjectLookup, push_tasks
    from .studio.connection import ConnectionConfigError, load_connection

    if not tasks_file and not annotations_path:
        raise click.UsageError("give TASKS_FILE, --annotations FILE --annotator EMAIL, or both")
    if bool(annotations_path) != bool(annotator):
        raise click.UsageError("--annotations and --annotator go together")
    if show_instructions is not None and not tasks_file:
        raise click.UsageError("--show-instructions/--no-show-instructions go with TASKS_FILE (a repeated push "
                               "imports nothing new and only changes the setting)")
    title = title or DEFAULT_PROJECT
    lookup = None
    if tasks_file:
        # The server looks the project up (read only) while the schema and the file are read; a bad file still
        # fails before anything is written, and a connection that cannot be set up is reported after that.
        try:
            lookup = ProjectLookup(load_connection(), title, project_id)
            lookup.wait_sent()
        except ConnectionConfigError:
            pass
    schema = _schema(schema_path)
    tasks, raw = _read_tasks_file(tasks_file) if tasks_file else (None, None)
    conn = _studio_call(load_connection)
    report = None
    if tasks is not None:
        progress = _ImportProgress()
        try:
            report = _studio_call(push_tasks, conn, schema, tasks, title, update_config, chunk_size,
                                  progress=progress.update, project_id=project_id,
                                  show_instructions=show_instructions, on_plan=progress.plan, source=raw, lookup=lookup,
                                  **({"chunk_bytes": chunk_bytes} if chunk_bytes else {}))
        finally:
            progress.close()
        state = "created" if report.project_created else ("config updated" if report.config_updated else "existing")
        click.echo(f"Project {report.project_id} ({state}) on {conn.url}: {report.submitted} task(s) in "
                   f"{tasks_file}: {report.imported} imported ({report.with_predictions} with predictions), "
                   f"{report.skipped_existing} already present. Annotate at {conn.url}/projects/{report.project_id}/")
        project_id = report.project_id
    if annotations_path:
        from .pipeline import load_annotation_file, resolve_project_id

        project_id = _studio_call(resolve_project_id, conn, title, project_id)
        with click.progressbar(length=0, label=f"Loading annotations of {annotator}", file=sys.stderr) as bar:
            read, loaded = _studio_call(load_annotation_file, conn, schema, annotations_path, annotator, project_id,
                                        ground_truth, progress=bar.update)
        qpath = Path(quarantine) if quarantine else Path(annotations_path).with_suffix(".quarantine.jsonl")
        note = _quarantine(qpath, read.rejected)
        click.echo(f"{annotations_path} ({read.format}): {read.records} record(s): {loaded.created} annotation(s) "
                   f"created for {annotator}{' (new user)' if loaded.user_created else ''}, "
                   f"{loaded.already_present} already there, {len(read.rejected)} quarantined{note}, "
                   f"{len(read.empty)} with nothing to load; project {project_id}")
    return report


class _ImportProgress:
    """A bar over the tasks a push sends (known once the server has said which it holds), with the rate."""

    def __init__(self):
        self.bar = None
        self.done = 0
        self.started = 0.0

    def plan(self, to_import: int, already_there: int) -> None:
        if already_there:
            click.echo(f"{already_there} task(s) already in the project: skipped", err=True)
        self.bar = click.progressbar(length=to_import, label="Importing tasks", file=sys.stderr, show_pos=True,
                                     item_show_func=lambda rate: rate)
        self.bar.__enter__()
        self.started = time.perf_counter()

    def update(self, n: int) -> None:
        self.done += n
        elapsed = time.perf_counter() - self.started
        self.bar.update(n, f"{self.done / elapsed:,.0f} tasks/s" if elapsed > 0 else None)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)


def _read_tasks_file(path) -> tuple[list[dict], bytes | None]:
    """A Label Studio import file of `annotate tasks`: a JSON list of task objects, each with data.doc_id, or
    (a name ending in .jsonl, as `annotate tasks -o tasks.jsonl` writes) one task object a line; and, for a JSON
    list, the file's bytes (the push sends them as they are when the whole file goes in one request)."""
    import json

    content: bytes | None = None
    if str(path).endswith(".jsonl"):
        from .jsonl import read_jsonl

        tasks, where = [], []
        for line in read_jsonl(path):
            if line.error:
                raise click.ClickException(f"{line.source}: {line.error}; nothing was pushed")
            tasks.append(line.value)
            where.append(line.source)
    else:
        try:
            content = Path(path).read_bytes()
            tasks = json.loads(content.decode("utf-8"))
        except UnicodeDecodeError as exc:
            raise click.ClickException(f"{path}: not UTF-8 text (byte {exc.start})") from None
        except json.JSONDecodeError as exc:
            raise click.ClickException(f"{path}: not a JSON tasks file (line {exc.lineno}, column {exc.colno}: "
                                       f"{exc.msg})") from None
        if not isinstance(tasks, list):
            raise click.ClickException(f"{path}: expected a JSON list of tasks, got {type(tasks).__name__}")
        where = [f"{path}: task {i}" for i in range(len(tasks))]
    for t, name in zip(tasks, where):
        data = t.get("data") if isinstance(t, dict) else None
        if not isinstance(data, dict) or "doc_id" not in data or not isinstance(data.get("text"), str):
            raise click.ClickException(f"{name} needs data.text and data.doc_id (build tasks with "
                                       "`annotate tasks`); nothing was pushed")
    return tasks, content


@main.command("pull")
@project_option
@click.option("--project-id", type=int, help="Project id (instead of the title).")
@click.option("-o", "--out-dir", default="gold/annotations", show_default=True, type=click.Path(file_okay=False))
def pull_cmd(title, project_id, out_dir):
    """Export the project's annotations (snapshot export) into OUT_DIR, never overwriting an earlier export.

    \b
    Example:
      annotate pull                       # -> gold/annotations/export-project1-<time>-<hash>.json
    """
    from .studio.client import DEFAULT_PROJECT, pull_export
    from .studio.connection import load_connection

    conn = _studio_call(load_connection)
    report = _studio_call(pull_export, conn, out_dir, title or DEFAULT_PROJECT, project_id)
    what = "wrote" if report.new_file else "unchanged since"
    click.echo(f"Project {report.project_id}: {report.tasks} task(s), {report.annotations} annotation(s); "
               f"{what} {report.path} (sha256 {report.sha256[:12]})")
    return report


# --- exports -> gold dataset, agreement, adjudication --------------------------------------------------------

config_option = click.option("--config", "config_path", type=click.Path(exists=True, dir_okay=False),
                             help="Read labels from this Label Studio labeling config (XML) instead of a schema, "
                                  "for exports of other text-span projects.")


skip_unreadable_option = click.option("--skip-unreadable", is_flag=True,
                                      help="Go on when an export file cannot be read (a truncated download, say); "
                                           "by default that stops the run.")


def _routing(schema_path, config_path):
    from .studio.config import Routing, routing_from_config

    if config_path:
        try:
            return routing_from_config(Path(config_path).read_text(encoding="utf-8"), Path(config_path).stem)
        except (ValueError, OSError) as exc:  # ConfigError, SchemaError, UnicodeDecodeError
            raise click.ClickException(f"--config {config_path}: {exc}") from None
    return Routing(_schema(schema_path))


class TaskRate:
    """Progress of a streamed import: tasks read and documents per second, redrawn at most twice a second
    (the total is not known before the exports are read through)."""

    def __init__(self, label: str):
        self.label = label
        self.done = 0
        self.read_for: float | None = None  # seconds the reading took, once the rows are being written

    def __enter__(self) -> TaskRate:
        import time

        self.started = self.shown = time.perf_counter()
        return self

    def update(self, n: int) -> None:
        import time

        self.done += n
        now = time.perf_counter()
        if now - self.shown >= 0.5:
            self.shown = now
            self._show(now, "\r")

    def _show(self, now: float, end: str) -> None:
        rate = self.done / max(now - self.started, 1e-9)
        click.echo(f"{end}{self.label}: {self.done} tasks, {rate:,.0f} docs/s", err=True, nl=False)

    def rows_written(self, written: int, total: int) -> None:
        """The second phase of a build: the rows written in id order, after every task was read. The reading
        line is closed first with its own rate (the writing is not counted in it)."""
        import time

        now = time.perf_counter()
        if self.read_for is None:
            self.read_for = now - self.started
            if self.done:
                self._show(now, "\r")
                click.echo("", err=True)
            self.shown = 0.0
        if written == total or now - self.shown >= 0.5:
            self.shown = now
            click.echo(f"\rWriting the gold set: {written:,}/{total:,} rows", err=True, nl=False)

    def __exit__(self, *exc) -> None:
        import time

        if self.read_for is not None:
            click.echo("", err=True)
        elif self.done:
            self._show(time.perf_counter(), "\r")
            click.echo("", err=True)


def _read_exports(exports, routing):
    from .gold import import_exports

    with TaskRate("Reading exports") as rate:  # tasks, not files: the total is not known beforehand
        result = import_exports(exports, routing, progress=rate.update)
    _show_unreadable(result)
    return result


def _show_unreadable(result) -> str:
    """Name the export files that could not be read; ', N files unreadable' for the counts line."""
    for u in result.unreadable:
        click.echo(f"  unreadable {u.reason}", err=True)
    return _unreadable_count(result)


def _unreadable_count(result) -> str:
    return f", {_plural(len(result.unreadable), 'file')} unreadable" if result.unreadable else ""


@main.command("import")
@click.argument("exports", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("-o", "--output", default="gold/dataset", show_default=True, type=click.Path(file_okay=False),
              help="Gold dataset folder (replaced atomically).")
@click.option("--split", "split_spec", default=None, help="Deterministic splits by document id, "
              "e.g. train=0.8,test=0.2 (default: one 'test' split).")
@click.option("--articles", multiple=True, type=click.Path(exists=True),
              help="The pushed articles: tasks whose text differs from them are quarantined.")
@click.option("--quarantine", type=click.Path(dir_okay=False), default=None,
              help="Rejected tasks with reasons (default: OUTPUT.quarantine.jsonl beside the dataset).")
@click.option("--allow-empty", is_flag=True, help="Write the dataset even when no task qualifies as gold.")
@skip_unreadable_option
@click.option("--on-text-mismatch", type=click.Choice(TEXT_MISMATCH_POLICIES), default="offsets",
              show_default=True, help="A region whose value.text differs from the text at its offsets: keep it "
              "(the offsets win; a warning, recorded in build.json) or quarantine its task.")
@click.option("--about", "about_path", type=click.Path(exists=True, dir_okay=False),
              help="Markdown for the dataset card: who annotated, sources, licence, known limits.")
@click.option("--num-proc", type=click.IntRange(min=1), default=None,
              help="Worker processes reading tasks; the output is the same for any number. Default: one per "
              "available CPU when the first 64 tasks average ~1 KB of JSON or more (a paragraph), else 1.")
@schema_option
@config_option
def import_cmd(exports, output, split_spec, articles, quarantine, allow_empty, skip_unreadable, on_text_mismatch,
               about_path, num_proc, schema_path, config_path):
    """Read Label Studio exports into the gold dataset (parquet + dataset card), accounting for every task.

    Every task is imported, quarantined (with its reason) or skipped (no usable annotation), and the three
    counts add up to the tasks read. Folders are read for *.json files; a folder written by Label Studio's
    local-storage export sync (one file per annotation, named by its id) is read as one export. An export file
    that cannot be read stops the run (the previous gold set stays) unless --skip-unreadable. Exports are read
    a task at a time and the dataset is written as it goes: memory stays flat however large the export.

    \b
    Example:
      annotate import gold/annotations --articles gold/articles --about gold/ABOUT.md -o gold/dataset
      annotate import other-export.json --config other-config.xml -o /tmp/other-gold
    """
    import gc

    # An import allocates millions of short-lived objects (decoded tasks, rows); with the default thresholds
    # the cyclic collector runs every 700 allocations and rescans the imported modules' objects on every full
    # pass (~10% of a large import). Those are moved out of its way and it runs less often during the build;
    # both are undone afterwards, so a process that runs the command in-process (tests) gets its collector back.
    thresholds = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)
    try:
        _import_build(exports, output, split_spec, articles, quarantine, allow_empty, skip_unreadable,
                      on_text_mismatch, about_path, num_proc, schema_path, config_path)
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()


def _import_build(exports, output, split_spec, articles, quarantine, allow_empty, skip_unreadable, on_text_mismatch,
                  about_path, num_proc, schema_path, config_path):
    from .dataset import DatasetBuildError
    from .gold import build_gold, export_files

    files = export_files(exports)
    if num_proc is None:
        from .gold import AUTO

        num_proc = AUTO
    routing = _routing(schema_path, config_path)
    from .ingest import ingest  # here, not at the top: commands that read no articles (push) do not load it

    reference = {d.id: d.text for d in ingest(articles).documents} if articles else None
    about = Path(about_path).read_text(encoding="utf-8") if about_path else None
    try:
        with TaskRate("Reading exports") as rate:
            built = build_gold(files, routing, output, split_spec, reference, allow_empty, quarantine, rate.update,
                               skip_unreadable, on_text_mismatch, about, num_proc=num_proc,
                               write_progress=rate.rows_written)
    except (DatasetBuildError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    result = built.result
    unreadable = _show_unreadable(result)
    for q in result.quarantined[:10]:
        click.echo(f"  quarantined {q.reason[:300]}", err=True)
    for w in result.warnings[:10]:
        click.echo(f"  warning: {w}", err=True)
    for s in result.skipped[:10]:
        click.echo(f"  skipped {s.reason}", err=True)
    c = result.counts
    note = f" ({built.quarantine.note})" if built.quarantine.note else ""
    kept = " (recorded in build.json)" if built.info and result.warnings else ""
    click.echo(f"{c['inputs']} task(s) read from {len(files) - len(result.unreadable)} export(s){unreadable}: "
               f"{c['imported']} imported, {c['quarantined']} quarantined, {c['skipped']} skipped{note}; "
               f"{len(result.warnings)} warning(s){kept}")
    if built.refused:
        click.echo(f"Not built: {built.refused}. {output} left as it was.")
        sys.exit(EXIT_ERROR)
    if built.info is None:
        click.echo(f"No gold document: {output} left as it was (use --allow-empty to write an empty set).")
        sys.exit(EXIT_ERROR)
    info = built.info
    splits = ", ".join(f"{k}: {v}" for k, v in info.build["splits"].items())
    click.echo(f"Gold dataset written to {output} ({splits}; fingerprint {info.fingerprint}, schema "
               f"{routing.schema.name} {info.schema_fingerprint})")


@main.command("agree")
@click.argument("exports", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--json", "json_path", type=click.Path(dir_okay=False), help="Also write the full report as JSON.")
@skip_unreadable_option
@schema_option
@config_option
def agree_cmd(exports, json_path, skip_unreadable, schema_path, config_path):
    """Inter-annotator agreement for tasks annotated by two or more people.

    Pairwise span F1 (exact via seqeval on aligned tokens, and overlap) per label for entities, triggers
    (identification, classification) and arguments; token-level Cohen's kappa; Krippendorff's alpha.

    \b
    Example:
      annotate agree gold/annotations/export-project1-*.json --json agreement.json
    """
    from .agreement import agreement, agreement_table

    result = _read_exports(exports, _routing(schema_path, config_path))
    unreadable = _unreadable_count(result)
    c = result.counts
    if result.unreadable and not skip_unreadable:
        raise click.ClickException(f"{c['inputs']} task(s) read{unreadable}: no agreement computed from part of "
                                   "the exports; fix or remove the file(s), or pass --skip-unreadable")
    report = agreement(result.annotations)
    click.echo(agreement_table(report))
    if json_path:
        atomic_write_json(json_path, report)
        click.echo(f"Wrote {json_path}", err=True)
    click.echo(f"{report['tasks']} task(s) compared across {len(report['pairs'])} annotator pair(s); "
               f"{c['inputs']} task(s) read{unreadable}, {c['quarantined']} quarantined "
               "(faulty annotations are left out of the comparison).")


@main.command("adjudicate")
@click.argument("exports", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write disagreements as JSON.")
@click.option("--push", is_flag=True, help="Push a review annotation per task to Label Studio (conflicts marked; "
              "tasks without conflicts go in as ground truth).")
@click.option("--reviewer", default=None, help="Email of the reviewer account that owns the review annotations "
              "(created when missing; default: the API key's account).")
@click.option("--log", "log_path", type=click.Path(dir_okay=False),
              help="Decision log (YAML): written with one entry per disagreement, keeping decisions and reasons "
                   "already recorded; with --resolve, read.")
@click.option("--resolve", is_flag=True, help="Apply the decisions in --log and push each resolved annotation as "
              "the --reviewer's ground truth.")
@schema_option
@config_option
def adjudicate_cmd(exports, output, push, reviewer, log_path, resolve, schema_path, config_path):
    """Merge what annotators agree on and list each disagreement (boundary, type, missing, role, attribute).

    With --push, each multiply-annotated task gets a review annotation in Label Studio holding the agreed
    items and every disputed one marked CONFLICT in its region note. Resolve them in the UI and mark the
    annotation as ground truth; `annotate import` then takes it as the gold. Or record a decision per
    disagreement in the --log file (keep or drop; the value for an attribute; plus `add` entries for what
    every annotator missed) and run again with --resolve.

    \b
    Example:
      annotate adjudicate gold/annotations/export-project1-*.json -o disagreements.json --push
      annotate adjudicate EXPORT --log gold/adjudication.yaml             # write the log to decide in
      annotate adjudicate EXPORT --log gold/adjudication.yaml --resolve --reviewer rana@example.org
    """
    from .adjudicate import DecisionError, adjudicate, log_entries, read_log, write_log

    if resolve and not (log_path and reviewer):
        raise click.UsageError("--resolve needs --log FILE and --reviewer EMAIL")
    result = _read_exports(exports, _routing(schema_path, config_path))
    for q in result.quarantined[:10]:
        click.echo(f"  quarantined {q.reason[:300]}", err=True)
    try:
        entries = read_log(log_path) if log_path and Path(log_path).exists() else []
    except DecisionError as exc:
        raise click.ClickException(str(exc)) from None
    if resolve:
        from .pipeline import resolve_reviews
        from .studio.connection import load_connection

        try:
            done = _studio_call(resolve_reviews, _studio_call(load_connection), result, entries, reviewer)
        except DecisionError as exc:
            problems = str(exc).splitlines()
            for line in problems:
                click.echo(f"  {line}", err=True)
            raise click.ClickException(f"{log_path}: {len(problems)} document(s) cannot be resolved yet; "
                                       "nothing was pushed") from None
        click.echo(f"{done.tasks} task(s) resolved from {log_path} ({done.decisions} decision(s), {done.changes} "
                   f"addition(s) or removal(s)): ground truth by {reviewer}, {done.updated} review annotation(s) "
                   f"updated, {done.created} created. Pull again and import to rebuild the gold set.")
        return
    adjudications = adjudicate(result.annotations)
    records = []
    for adj in adjudications:
        for d in adj.disagreements:
            click.echo(f"[{d.doc_id}] {d.kind:<9} {d.detail}\n    {d.context}")
            records.append(d.to_json())
    if output:
        atomic_write_json(output, records)
    if log_path:
        entries = log_entries(adjudications, entries)
        write_log(log_path, entries)
        open_items = sum(1 for e in entries if "item" in e and e.get("decision") in (None, ""))
        click.echo(f"Decision log {log_path}: {len(entries)} entr(y/ies), {open_items} still undecided", err=True)
    pushed = ""
    if push and adjudications:
        from .pipeline import push_reviews_for
        from .studio.connection import load_connection

        created, present = _studio_call(push_reviews_for, _studio_call(load_connection), result, adjudications,
                                        reviewer)
        pushed = f"; {created} review annotation(s) pushed" + (f", {present} already there" if present else "")
    clean = sum(1 for a in adjudications if a.clean)
    click.echo(f"{len(adjudications)} task(s) with two or more annotators: {clean} fully agreed, "
               f"{len(adjudications) - clean} with {len(records)} disagreement(s){pushed}")


@main.command("score")
@click.option("--gold", "gold_path", type=click.Path(exists=True, file_okay=False),
              help="Gold dataset folder (from `annotate import`).")
@click.option("--split", default=None, help="Score one split of the gold set only.")
@click.option("--predictions", "pred_path", type=click.Path(exists=True, dir_okay=False),
              help="Predictions JSONL (format in the README).")
@click.option("--labelstudio", "ls_path", type=click.Path(exists=True, dir_okay=False),
              help="Label Studio tasks file or export: its predictions (or --annotator's annotations).")
@click.option("--annotator", default=None, help="With --labelstudio: score this annotator (email) instead.")
@click.option("--model-version", default=None, help="With --labelstudio: only predictions of this model_version.")
@click.option("--extractor", default=None, help="A command reading documents JSONL on stdin and writing predictions "
              "JSONL on stdout (run without a shell), or package.module:function.")
@click.option("--timeout", default=600.0, show_default=True, help="Seconds the extractor command may run.")
@click.option("--conll", "conll_path", type=click.Path(exists=True, dir_okay=False),
              help="conlleval-style file: the last two columns are the gold and the predicted tag.")
@click.option("--gold-conll", type=click.Path(exists=True, dir_okay=False), help="Token + gold tag column(s).")
@click.option("--pred-conll", type=click.Path(exists=True, dir_okay=False), help="Token + predicted tag column(s).")
@click.option("--scheme", type=click.Choice(["auto", "IOB2", "IOE2", "IOBES", "BILOU"]), default="auto",
              show_default=True, help="CoNLL input: the tag scheme of the strict mode; auto detects it from the "
              "gold tags as seqeval does.")
@click.option("--suffix", is_flag=True, help="CoNLL input: tags put the prefix last (ORG-B, ORG-I).")
@click.option("--json", "json_out", type=click.Path(dir_okay=False, allow_dash=True),
              help="Write the JSON report here ('-' for stdout).")
@click.option("--markdown", "md_out", type=click.Path(dir_okay=False), help="Write a Markdown summary here "
              "(e.g. $GITHUB_STEP_SUMMARY).")
@click.option("--html", "html_out", type=click.Path(dir_okay=False), help="Write an HTML report here.")
@click.option("--fail-under", "fail_under", multiple=True, metavar="KEY=VALUE",
              help="Exit 3 when a metric is below VALUE, e.g. entities.strict.micro.f1=0.80 (repeatable).")
@click.option("--baseline", "baseline_path", type=click.Path(exists=True, dir_okay=False),
              help="An earlier JSON report: show deltas, exit 4 on a significant regression.")
@click.option("--resamples", default=1000, show_default=True, help="Bootstrap resamples (0 to skip).")
@click.option("--quarantine", "quarantine_path", default="score.quarantine.jsonl", show_default=True,
              type=click.Path(dir_okay=False), help="Where rejected predictions go, with their reasons.")
@click.option("--allow-rejected", is_flag=True, help="Score even when prediction records were rejected as "
              "malformed (otherwise the run exits 1 after writing its reports).")
def score_cmd(gold_path, split, pred_path, ls_path, annotator, model_version, extractor, timeout, conll_path,
              gold_conll, pred_conll, scheme, suffix, json_out, md_out, html_out, fail_under, baseline_path,
              resamples, quarantine_path, allow_rejected):
    """Score an extractor against the gold set with seqeval: entities (default and strict IOB2 modes, nested
    included), event triggers and arguments, with an error breakdown and 95% bootstrap intervals.

    Exit codes: 0 ok, 1 bad input (also: prediction records rejected as malformed, unless --allow-rejected),
    2 usage, 3 a --fail-under threshold failed, 4 significant regression against --baseline.

    \b
    Examples:
      annotate score --gold gold/dataset --predictions preds.jsonl --json report.json
      annotate score --gold gold/dataset --extractor "annotate baseline" --fail-under entities.strict.micro.f1=0.5
      annotate score --gold gold/dataset --extractor annotate.baseline:extract --baseline old.json
      annotate score --conll output.conll --scheme IOBES
    """
    from .extractor import ExtractorError
    from .score import conll
    from .score import report as rep
    from .score.run import conll_report, extractor_report, read_report, stream_report

    try:
        thresholds = [rep.parse_threshold(x) for x in fail_under]
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    given = [x for x in (pred_path, ls_path, extractor, conll_path, gold_conll) if x]
    if len(given) != 1:
        raise click.UsageError("give exactly one of --predictions, --labelstudio, --extractor, --conll, "
                               "--gold-conll/--pred-conll")
    if bool(gold_conll) != bool(pred_conll):
        raise click.UsageError("--gold-conll and --pred-conll go together")
    if (scheme != "auto" or suffix) and not (conll_path or gold_conll):
        raise click.UsageError("--scheme and --suffix apply to CoNLL input; documents are scored on their spans")
    tag_format = conll.TagFormat(None if scheme == "auto" else scheme, suffix)
    try:
        baseline = read_report(baseline_path) if baseline_path else None  # a bad baseline fails before any work
        if conll_path:
            report = conll_report(conll.conlleval_sequences(conll_path, tag_format), conll_path)
        elif gold_conll:
            report = conll_report(conll.layered_sequences(gold_conll, pred_conll, tag_format),
                                  f"{gold_conll} vs {pred_conll}")
        else:
            if not gold_path:
                raise click.UsageError("--gold is required (a dataset folder from `annotate import`)")
            from .goldstream import GoldSet

            gold_set = GoldSet(gold_path)
            if split:
                splits = gold_set.build.get("splits", {})
                if split not in splits:
                    raise click.UsageError(f"--split {split}: the gold set {gold_path} has no such split (it has: "
                                           f"{', '.join(splits) or 'none'})")
            # the gold set streamed, and the predictions file, the Label Studio file (joined through an
            # on-disk index) or the extractor's output batch by batch: memory stays flat whatever their size
            if pred_path:
                streamed = stream_report(gold_set, pred_path, split, resamples)
            elif ls_path:
                from .predindex import LabelStudioIndex

                index = LabelStudioIndex(ls_path, gold_set.texts(), gold_set.info().schema, annotator,
                                         model_version)
                streamed = stream_report(gold_set, index, split, resamples)
            else:
                total = gold_set.build.get("splits", {}).get(split) if split else gold_set.count()
                with click.progressbar(length=total, label=f"Extracting with {extractor}", file=sys.stderr,
                                       show_pos=True) as bar:
                    streamed = extractor_report(gold_set, extractor, split, resamples, timeout, bar.update)
            report = streamed.report
            _score_notes(report, streamed.rejected, streamed.violation_examples, split, quarantine_path)
    except (ExtractorError, conll.ConllError, FileNotFoundError, ValueError) as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(rep.EXIT_INPUT)
    _score_outputs(report, baseline, baseline_path, resamples, json_out, md_out, html_out, quarantine_path,
                   allow_rejected, thresholds)


def _score_notes(report: dict, rejected, violations, split, quarantine_path) -> None:
    """What a run tells on stderr about its predictions: not scored, rejected, schema violations, warnings."""
    not_scored = report["predictions"]["not_scored"]
    if not_scored:
        click.echo(f"{not_scored} prediction(s) not scored: their documents are not in the gold set"
                   + (f" or not in split {split}" if split else ""), err=True)
    if rejected:
        _quarantine(Path(quarantine_path), rejected)
        click.echo(f"{len(rejected)} prediction(s) rejected; reasons in {quarantine_path}", err=True)
    for v in violations[:10]:
        click.echo(f"  schema violation, scored as an error: document {v.doc}: {v.message}", err=True)
    for w in report["predictions"]["warnings"]:
        click.echo(f"Warning: {w}", err=True)


def _score_outputs(report, baseline, baseline_path, resamples, json_out, md_out, html_out, quarantine_path,
                   allow_rejected, thresholds) -> None:
    from .atomic import atomic_write_text
    from .score import report as rep
    from .score.run import compare_with_baseline

    if baseline_path:
        report["baseline"] = compare_with_baseline(report, baseline, baseline_path, resamples)
    if json_out == "-":
        batch: list[str] = []
        for piece in rep.chunks(report):  # echoed a few thousand pieces at a time, never joined whole
            batch.append(piece)
            if len(batch) >= 4096:
                click.echo("".join(batch), nl=False)
                batch = []
        click.echo("".join(batch), nl=False)
    elif json_out:
        rep.write_json(report, json_out)
    if md_out:
        atomic_write_text(md_out, rep.markdown(report))
    if html_out:
        atomic_write_text(html_out, rep.html_report(report))
    summary = _score_summary(report)
    click.echo(summary, err=json_out == "-")
    rejected = report["predictions"].get("rejected", 0)
    if rejected and not allow_rejected:
        click.echo(f"FAIL: {rejected} prediction record(s) rejected as malformed (reasons in {quarantine_path}); "
                   "fix them, or pass --allow-rejected to score without them", err=True)
        sys.exit(rep.EXIT_INPUT)
    failures = rep.check_thresholds(report, thresholds)
    if failures:
        click.echo("FAIL: " + "; ".join(failures), err=True)
        sys.exit(rep.EXIT_THRESHOLD)
    regressions = (report.get("baseline") or {}).get("regressions") or []
    if regressions:
        click.echo("FAIL: significant regression against the baseline in " + ", ".join(regressions), err=True)
        sys.exit(rep.EXIT_REGRESSION)


def _score_summary(report: dict) -> str:
    ent = report["entities"]
    parts = [f"entities F1 strict {ent['strict']['micro']['f1']:.3f} / default {ent['default']['micro']['f1']:.3f}"]
    if report.get("triggers", {}).get("applicable") is False:
        parts.append(f"triggers and arguments n/a ({report['triggers']['note'].removeprefix('not applicable: ')})")
    elif "triggers" in report:
        parts.append(f"triggers F1 {report['triggers']['classification']['f1']:.3f}")
        parts.append(f"arguments F1 {report['arguments']['classification']['f1']:.3f}")
    docs = report["documents"]
    preds = report["predictions"]
    rejected, violations = preds.get("rejected", 0), preds.get("schema_violations", 0)
    return (f"Scored {docs['with_predictions']}/{docs['gold']} document(s), {report.get('tokens', 0)} token(s): "
            + ", ".join(parts) + (f"; {rejected} prediction(s) rejected" if rejected else "")
            + (f"; {violations} schema violation(s) scored as errors" if violations else "")
            + ("; NOTHING PREDICTED for any document" if preds.get("empty") else ""))


@main.command("baseline")
@click.argument("articles", nargs=-1, type=click.Path(exists=True))
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write predictions JSONL here "
              "(default: stdout).")
def baseline_cmd(articles, output):
    """The bundled baseline extractor (gazetteer + trigger lexicon from schemas/baseline-lexicon.yaml).

    With ARTICLES it reads article files; without, documents JSONL ({"id", "text"}) on stdin, which makes
    it an extractor command for `annotate score --extractor "annotate baseline"`.

    \b
    Example:
      annotate baseline gold/articles -o baseline.jsonl
      annotate tasks gold/articles --predictions baseline.jsonl -o tasks.json
    """
    import json

    from .baseline import extract
    from .extractor import ExtractorError, read_documents

    if articles:
        from .ingest import ingest

        result = ingest(articles)
        docs = result.documents
    else:
        try:
            docs = list(read_documents(sys.stdin))
        except ExtractorError as exc:
            raise click.ClickException(str(exc)) from None
    lines = [json.dumps(r, ensure_ascii=False) + "\n" for r in extract(docs)]
    if output:
        from .atomic import atomic_write_text

        atomic_write_text(output, "".join(lines))
    else:
        sys.stdout.write("".join(lines))
    click.echo(f"Baseline predictions for {len(lines)} document(s)" + (f" written to {output}" if output else ""),
               err=True)


@main.command("main")
@click.option("--articles", default="gold/articles", show_default=True, type=click.Path(exists=True))
@click.option("--home", type=click.Path(file_okay=False), default=".studio", show_default=True)
@click.option("--port", type=int, envvar="ANNOTATE_STUDIO_PORT", default=8080, show_default=True)
@database_option
@click.option("--gold", "gold_dir", default="gold/dataset", show_default=True, type=click.Path(file_okay=False))
@click.option("--annotations", "ann_dir", default="gold/annotations", show_default=True,
              type=click.Path(file_okay=False))
@click.option("--reports", "reports_dir", default="reports/baseline", show_default=True,
              type=click.Path(file_okay=False), help="Where the baseline's score reports go.")
@click.option("--about", "about_path", default="gold/ABOUT.md", show_default=True, type=click.Path(dir_okay=False),
              help="Markdown for the dataset card (used when the file exists).")
@project_option
def main_cmd(articles, home, port, database_url, gold_dir, ann_dir, reports_dir, about_path, title):
    """The main job: local Label Studio up, project with the bundled articles and baseline pre-annotations,
    pull of the finished annotations, gold dataset rebuilt from every export, the baseline extractor scored
    against it, and where annotators go.

    Run it again after annotating: it pushes nothing twice and rebuilds the gold set from the new export.

    \b
    Example:
      annotate main                 # what `bash .ci/main` runs
      PGPASSWORD=... ANNOTATE_STUDIO_DATABASE=postgresql://annotate@127.0.0.1:5432/annotate annotate main
    """
    from .pipeline import main_job
    from .studio.client import DEFAULT_PROJECT
    from .studio.database import database_from

    database = _studio_call(database_from, database_url)
    _studio_call(main_job, _schema(None), articles, home, port, gold_dir, ann_dir, title or DEFAULT_PROJECT,
                 click.echo, reports_dir, about_path, database=database)


# --- the gold set in other formats (issue 12) -------------------------------------------------------------------


@main.command("export")
@click.argument("gold", type=click.Path(exists=True, file_okay=False))
@click.option("--format", "fmt", required=True, type=click.Choice(["conll", "brat", "jsonl"]),
              help="conll: token + one IOB2 column per nesting layer; brat: .txt + .ann per document; jsonl: "
                   "predictions-format records with their text.")
@click.option("-o", "--output", required=True, type=click.Path(),
              help="The file to write (conll, jsonl) or the folder (brat).")
@click.option("--split", default=None, help="Export one split of the gold set only.")
def export_cmd(gold, fmt, output, split):
    """Write the gold set for other tools, and say what the format cannot hold.

    Layered CoNLL is read by `annotate score --gold-conll/--pred-conll`; JSONL by `annotate score
    --predictions`; brat standoff by brat and by `annotate.formats.brat.read_brat`. Events, arguments and
    attributes do not fit CoNLL, and no format here keeps document metadata: every such loss is listed.

    \b
    Example:
      annotate export gold/dataset --format conll -o gold.conll
      annotate export gold/dataset --format brat -o gold-brat/
      annotate export gold/dataset --format jsonl -o gold.jsonl
    """
    from .dataset import GoldReadError, gold_documents

    try:
        docs, info = gold_documents(gold, split)
    except (FileNotFoundError, GoldReadError) as exc:
        raise click.ClickException(str(exc)) from None
    if split and split not in info.build.get("splits", {}):
        raise click.UsageError(f"--split {split}: the gold set {gold} has no such split (it has: "
                               f"{', '.join(info.build.get('splits', {})) or 'none'})")
    if fmt == "brat" and Path(output).exists() and not Path(output).is_dir():
        raise click.UsageError(f"-o {output}: brat writes a folder, and {output} is a file")
    if fmt != "brat" and Path(output).is_dir():
        raise click.UsageError(f"-o {output}: {fmt} writes one file, and {output} is a folder")
    try:
        if fmt == "conll":
            from .formats.conll import write_conll
            report = write_conll(docs, output)
        elif fmt == "brat":
            from .formats.brat import write_brat
            report = write_brat(docs, output, info.schema)
        else:
            from .formats.jsonl import write_jsonl
            report = write_jsonl(docs, output)
    except (OSError, ValueError) as exc:
        raise click.ClickException(f"{output}: {exc}") from None
    for line in report.not_held:
        click.echo(f"  not held by {fmt}: {line}", err=True)
    written = ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in report.written.items())
    click.echo(f"Exported {len(docs)} document(s) of {gold} (fingerprint {info.fingerprint}) as {fmt} to {output}: "
               f"{written}; {_plural(len(report.not_held), 'thing')} the format cannot hold"
               + (" (listed above)" if report.not_held else ""))


# --- a leaderboard of score reports (issue 12) ------------------------------------------------------------------


@main.command("compare")
@click.argument("reports", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--markdown", "md_out", type=click.Path(dir_okay=False), help="Write the leaderboard as Markdown "
              "(e.g. $GITHUB_STEP_SUMMARY).")
@click.option("--html", "html_out", type=click.Path(dir_okay=False), help="Write an HTML page with a chart.")
@click.option("--json", "json_out", type=click.Path(dir_okay=False), help="Write the leaderboard as JSON.")
@click.option("--resamples", default=1000, show_default=True, help="Paired-bootstrap resamples.")
def compare_cmd(reports, md_out, html_out, json_out, resamples):
    """Rank several `annotate score --json` reports made against the same gold set.

    Each headline metric (entities strict F1, triggers F1, arguments F1) names its best system; every other
    system gets its difference from the best with a paired-bootstrap 95% interval over documents. Reports of
    different gold sets (another fingerprint) or other documents are refused (exit 1).

    \b
    Example:
      annotate compare reports/baseline.json reports/crf.json reports/llm.json --markdown leaderboard.md \\
          --html leaderboard.html
    """
    from .atomic import atomic_write_text
    from .score.compare import CompareError, html_page, leaderboard, markdown, read_system, text_table

    if len(reports) < 2:
        raise click.UsageError("give two or more reports to compare")
    try:
        board = leaderboard([read_system(p) for p in reports], resamples)
    except CompareError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(EXIT_ERROR)
    click.echo(text_table(board))
    if md_out:
        atomic_write_text(md_out, markdown(board))
    if html_out:
        atomic_write_text(html_out, html_page(board))
    if json_out:
        atomic_write_json(json_out, board)
    worse = sum(1 for r in board["systems"] for c in r["metrics"].values() if c.get("significantly_worse"))
    best = ", ".join(f"{k.split('.')[0]} {board['best'][k]}" for k in board["metrics"])
    click.echo(f"Compared {len(board['systems'])} report(s) on gold {board['gold']['fingerprint']} "
               f"({board['documents']} document(s)): best {best}; {worse} result(s) significantly worse than the best")


# --- where an annotation round stands (issue 12) ----------------------------------------------------------------


@main.command("status")
@click.option("--project", "titles", multiple=True, help="Only the project with this title (repeatable).")
@click.option("--project-id", "project_ids", type=int, multiple=True, help="Only the project with this id "
              "(repeatable). Default: every project on the server.")
@click.option("--json", "json_out", type=click.Path(dir_okay=False), help="Also write the status as JSON.")
@click.option("--timeout", default=300.0, show_default=True, help="Seconds to wait for each project's export.")
@schema_option
def status_cmd(titles, project_ids, json_out, timeout, schema_path):
    """Who has done what on the Label Studio server: per project, tasks total, annotated, skipped and in review;
    per annotator, tasks done, median lead time and the share of their tasks that has an agreement figure
    (another annotator did it too); and the current pairwise agreement, computed as `annotate agree` does.

    One snapshot export per project, never a request per task.

    \b
    Example:
      annotate status
      annotate status --project-id 3 --json status.json
    """
    from .studio.connection import load_connection
    from .studio.status import server_status, status_table, to_json

    schema = _schema(schema_path)
    conn = _studio_call(load_connection)
    statuses = _studio_call(server_status, conn, schema, list(project_ids), list(titles), timeout)
    if statuses:
        click.echo(status_table(statuses))
    if json_out:
        atomic_write_json(json_out, to_json(statuses, conn.url))
    people = {a.annotator for s in statuses for a in s.annotators}
    click.echo(f"{_plural(len(statuses), 'project')} on {conn.url}: {sum(s.tasks for s in statuses)} task(s), "
               f"{sum(s.annotated for s in statuses)} annotated, {sum(s.skipped for s in statuses)} skipped, "
               f"{sum(s.in_review for s in statuses)} in review; {len(people)} annotator(s)"
               + (f"; written to {json_out}" if json_out else ""))


if __name__ == "__main__":  # pragma: no cover
    main()
