"""Commands that speak to Label Studio: `studio up/down/status`, `push` (tasks and annotations) and `pull`.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click

from .common import (
    EXIT_ERROR,
    database_option,
    home_option,
    port_option,
    progressbar,
    project_option,
    quarantine_note,
    require_studio,
    schema_from,
    schema_option,
    studio_call,
)


@click.group("studio")
def studio_group():
    """Run a local Label Studio on 127.0.0.1 (SQLite by default, or PostgreSQL; outbound calls off).

    \b
    Example:
      annotate studio up        # start (or find) the server, print URL and where the credentials are
      PGPASSWORD=... annotate studio up --database postgresql://annotate@db.example.org:5432/annotate
      annotate studio status
      annotate studio down      # stop the server this folder started (on the port it recorded)
      annotate studio up --home /data/studio --port 18437 && annotate push tasks.json
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
    The connection (URL and API key) is written only for a server started from --home that holds the port: a
    port answered or taken by anything else is refused. A --home other than .studio is recorded in
    .studio/home.json, so later commands in this folder find the server (elsewhere: ANNOTATE_STUDIO_HOME).

    \b
    Example:
      annotate studio up --port 8080
      export PGPASSWORD=...     # the password stays out of the command line and the shell history
      annotate studio up --database postgresql://annotate@127.0.0.1:5432/annotate
    """
    from ..studio.database import database_from, describe
    from ..studio.server import LocalStudio

    require_studio("annotate studio up", "label_studio")
    database = studio_call(database_from, database_url)
    studio = LocalStudio(home, port, database)
    click.echo(f"Starting Label Studio on {studio.url} with {describe(database)} (first start runs database "
               "migrations, ~1 min) ...", err=True)
    state = studio_call(studio.up, timeout=timeout)
    creds = Path(home) / "credentials.json"
    on = state.database or "a database this folder did not record"
    click.echo(f"Label Studio is up at {state.url} (pid {state.pid}) on {on}. Admin login and API token are in "
               f"{creds} (mode 0600); the toolkit reads {state.connection_file}{_where_found(home)}.")


def _where_found(home) -> str:
    """Record a --home other than .studio for the next commands in this folder, and say how they find it."""
    from ..studio.connection import point_at_home

    pointer = point_at_home(home)
    if pointer is None:
        return ""
    return (f": later commands run in this folder find it through {pointer}; from elsewhere set "
            f"ANNOTATE_STUDIO_HOME={Path(home).resolve()}")


@studio_group.command("down")
@home_option
@port_option
def studio_down(home, port):
    """Stop the local Label Studio that `annotate studio up` started from this folder (on the port it recorded,
    unless --port names one).

    \b
    Example:
      annotate studio down
      annotate studio down --home /data/studio
    """
    from ..studio.server import LocalStudio

    studio = LocalStudio(home, port)
    stopped = studio_call(studio.down)
    if stopped:
        click.echo(f"Stopped the local Label Studio on {studio.url}.")
        return
    rec = studio.recorded()
    if rec and rec.running and rec.port != studio.port:
        click.echo(f"No Label Studio started from {home} runs on port {studio.port}: the one started from there "
                   f"runs on port {rec.port} (pid {rec.pid}); stop it with `annotate studio down --home {home}`.")
        sys.exit(EXIT_ERROR)
    click.echo(f"No Label Studio started from {home} is running.")


@studio_group.command("status")
@home_option
@port_option
def studio_status(home, port):
    """Say whether the local Label Studio is running and answering.

    \b
    Example:
      annotate studio status
    """
    from ..studio.server import LocalStudio

    st = LocalStudio(home, port).status()
    owner = f"started from here, pid {st.pid}" if st.started_by_us else "not started from here"
    click.echo(f"{st.url}: {'answering' if st.running else 'not answering'} ({owner})")
    if st.database:
        click.echo(f"database: {st.database}" + ("" if st.started_by_us else " (as last started from here)"))
    if not st.running:
        sys.exit(EXIT_ERROR)


@click.command("push")
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
@click.option("--replace", is_flag=True, help="With --annotations: replace --annotator's earlier annotation on each "
              "task of the file that is not under review yet (by default such a task gets nothing new).")
@click.option("--quarantine", type=click.Path(dir_okay=False), default=None,
              help="Where rejected annotation records go (default: ANNOTATIONS with .quarantine.jsonl).")
@click.option("--show-instructions/--no-show-instructions", default=None,
              help="Open the guidelines on every task (a project setting; off when the project is created, and the "
                   "Instructions button always shows them). Given on an existing project, it changes the setting.")
@click.option("--overlap", type=click.IntRange(min=1), default=None,
              help="How many annotators each task needs (Label Studio's maximum_annotations: the label stream offers "
                   "a task to other members until that many have submitted it). Works on an existing project too.")
@click.option("--overlap-percent", type=click.IntRange(0, 100), default=100, show_default=True,
              help="With --overlap: the share of tasks that get that overlap (the others need one annotator).")
@schema_option
def push_cmd(tasks_file, title, project_id, update_config, chunk_size, chunk_bytes, annotations_path, annotator,
             ground_truth, replace, quarantine, show_instructions, overlap, overlap_percent, schema_path):
    """Create the project (config and guidelines from the schema) and import tasks not already in it; and/or
    load annotations made elsewhere as a named annotator's work.

    Documents already in the project (same data.doc_id) are skipped, so a push can be repeated or resumed.
    Loading annotations is idempotent too: a task the annotator has annotated already gets nothing new, unless
    --replace (a corrected file) updates their annotation there; a task under review keeps what it has.
    The server and key come from LABEL_STUDIO_URL and LABEL_STUDIO_API_KEY, else the file named by
    ANNOTATE_STUDIO_CONFIG, else connection.json in ANNOTATE_STUDIO_HOME, else the server `annotate studio up`
    started from this folder (.studio/connection.json, or the --home it recorded in .studio/home.json).

    \b
    Example:
      annotate tasks gold/articles -o tasks.json && annotate push tasks.json
      annotate push --annotations pass-a.jsonl --annotator amal@example.org
      annotate push tasks.json --show-instructions     # open the guidelines on every task
      annotate push tasks.json --overlap 2             # two annotators on every task (agreement on a real round)
    """
    from ..studio.client import DEFAULT_PROJECT, ProjectLookup, push_tasks
    from ..studio.connection import ConnectionConfigError, load_connection

    require_studio("annotate push")
    if not tasks_file and not annotations_path and not overlap:
        raise click.UsageError("give TASKS_FILE, --annotations FILE --annotator EMAIL, or --overlap N")
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
    schema = schema_from(schema_path)
    tasks, raw = _read_tasks_file(tasks_file) if tasks_file else (None, None)
    conn = studio_call(load_connection)
    report = None
    if tasks is not None:
        progress = _ImportProgress()
        try:
            report = studio_call(push_tasks, conn, schema, tasks, title, update_config, chunk_size,
                                  progress=progress.update, project_id=project_id,
                                  show_instructions=show_instructions, on_plan=progress.plan, source=raw, lookup=lookup,
                                  **({"chunk_bytes": chunk_bytes} if chunk_bytes else {}))
        finally:
            progress.close()
        state = "created" if report.project_created else ("config updated" if report.config_updated else "existing")
        conflicts = _quarantine_conflicts(tasks_file, report.conflicts)
        click.echo(f"Project {report.project_id} ({state}) on {conn.url}: {report.submitted} task(s) in "
                   f"{tasks_file}: {report.imported} imported ({report.with_predictions} with predictions), "
                   f"{report.skipped_existing} already present, {conflicts}. Checked on the server: each document "
                   f"once ({report.duplicates_removed} extra copy(ies) removed). "
                   f"Annotate at {conn.url}/projects/{report.project_id}/")
        project_id = report.project_id
    if overlap:
        from ..pipeline import resolve_project_id
        from ..studio.overlap import set_overlap

        project_id = studio_call(resolve_project_id, conn, title, project_id)
        kept = studio_call(set_overlap, conn, project_id, overlap, overlap_percent)
        click.echo(f"Project {project_id}: each task needs {kept.annotators} annotator(s) "
                   f"({kept.percent}% of the tasks; the others need one). `annotate status` shows progress.")
    if annotations_path:
        from ..pipeline import load_annotation_file, resolve_project_id

        project_id = studio_call(resolve_project_id, conn, title, project_id)
        with progressbar(0, f"Loading annotations of {annotator}") as bar:
            read, loaded = studio_call(load_annotation_file, conn, schema, annotations_path, annotator, project_id,
                                        ground_truth, progress=bar.update, replace=replace)
        qpath = Path(quarantine) if quarantine else Path(annotations_path).with_suffix(".quarantine.jsonl")
        note = quarantine_note(qpath, read.rejected)
        if loaded.user_created:
            click.echo(f"{annotator} has no password yet: `annotate users add {annotator} --reset` gives one.")
        click.echo(f"{annotations_path} ({read.format}): {read.records} record(s): {loaded.created} annotation(s) "
                   f"created for {annotator}{' (new user)' if loaded.user_created else ''}, "
                   + (f"{loaded.replaced} replaced, {loaded.already_present} kept (under review), " if replace else
                      f"{loaded.already_present} already there, ") + f"{len(read.rejected)} quarantined{note}, "
                   f"{len(read.empty)} with nothing to load; project {project_id}")
    return report


def _quarantine_conflicts(tasks_file, conflicts: list[dict]) -> str:
    """Tasks not imported because their doc_id stands for another text: one line each, with the reason, in
    TASKS_FILE.quarantine.jsonl (a stale file of an earlier push is removed)."""
    from ..core.atomic import replace_quarantine

    records = [{"source": f"{tasks_file}: task {c['task']}", **c} for c in conflicts]
    for r in records:
        click.echo(f"{r['source']}: {r['reason']}", err=True)
    written = replace_quarantine(Path(tasks_file).with_suffix(".quarantine.jsonl"), records)
    return f"{len(conflicts)} quarantined" + (f" ({written.note})" if written.note else "")


class _ImportProgress:
    """A bar over the tasks a push sends (known once the server has said which it holds), with the rate."""

    def __init__(self):
        self.bar = None
        self.done = 0
        self.started = 0.0

    def plan(self, to_import: int, already_there: int) -> None:
        if already_there:
            click.echo(f"{already_there} task(s) already in the project: skipped", err=True)
        self.bar = progressbar(to_import, "Importing tasks", show_pos=True, item_show_func=lambda rate: rate)
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
        from ..core.jsonl import read_jsonl

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
    from ..core.jsonl import non_finite

    for t, name in zip(tasks, where):
        data = t.get("data") if isinstance(t, dict) else None
        if not isinstance(data, dict) or "doc_id" not in data or not isinstance(data.get("text"), str):
            raise click.ClickException(f"{name} needs data.text and data.doc_id (build tasks with "
                                       "`annotate tasks`); nothing was pushed")
        bad = non_finite(t)
        if bad:  # Label Studio refuses it, after the project was made: refuse it here first
            raise click.ClickException(f"{name}: {bad}; nothing was pushed")
    return tasks, content


@click.command("pull")
@project_option
@click.option("--project-id", type=int, help="Project id (instead of the title).")
@click.option("-o", "--out-dir", default="annotations", show_default=True, type=click.Path(file_okay=False),
              help="Folder of exports (this repository's committed round: -o gold/annotations).")
def pull_cmd(title, project_id, out_dir):
    """Export the project's annotations (snapshot export) into OUT_DIR, never overwriting an earlier export.

    \b
    Example:
      annotate pull                       # -> annotations/export-project1-<time>-<hash>.json
      annotate pull -o gold/annotations   # the bundled gold set's exports, in this repository
    """
    from ..studio.client import DEFAULT_PROJECT, pull_export
    from ..studio.connection import load_connection

    require_studio("annotate pull")
    conn = studio_call(load_connection)
    report = studio_call(pull_export, conn, out_dir, title or DEFAULT_PROJECT, project_id)
    what = "wrote" if report.new_file else "unchanged since"
    click.echo(f"Project {report.project_id}: {report.tasks} task(s), {report.annotations} annotation(s); "
               f"{what} {report.path} (sha256 {report.sha256[:12]})")
    return report
