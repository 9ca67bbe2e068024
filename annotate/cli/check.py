"""`annotate check`: an annotation or predictions file checked against the tasks it is meant for, without a
server."""

from __future__ import annotations

import sys

import click

from .common import EXIT_ERROR, schema_from, schema_option


@click.command("check")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--tasks", "tasks_file", required=True, type=click.Path(exists=True, dir_okay=False),
              help="The tasks file the annotations are for (`annotate tasks -o tasks.json`, JSON or JSONL).")
@click.option("--show", default=20, show_default=True, type=click.IntRange(min=0),
              help="Most quarantine reasons and warnings printed (all are counted).")
@schema_option
def check_cmd(path, tasks_file, show, schema_path):
    """Check an annotation file (predictions JSONL with offsets or surface spans, or a Label Studio export)
    before `push --annotations`: every record is read exactly as the push would read it. Records that would be
    quarantined are listed with their reason (exit status 1); spans that would load but sit inside a longer
    word, or break a guideline rule a machine can check, are listed as warnings. Nothing is written.

    \b
    Example:
      annotate check pass-a.jsonl --tasks tasks.json
      annotate check predictions.jsonl --tasks tasks.jsonl --show 100
    """
    from ..core.model import Document
    from ..gold.annotation_files import check_annotation_file
    from .studio import _read_tasks_file

    schema = schema_from(schema_path)
    tasks, _ = _read_tasks_file(tasks_file)
    documents = [Document(str(t["data"]["doc_id"]), t["data"]["text"]) for t in tasks]
    try:
        checked = check_annotation_file(path, documents, schema)
    except (OSError, UnicodeDecodeError) as exc:
        raise click.ClickException(f"{path}: cannot be read ({exc})") from None
    read = checked.read
    for r in read.rejected[:show]:
        click.echo(f"  would be quarantined: {r.source}: {r.reason}")
    for w in checked.warnings[:show]:
        click.echo(f"  warning: {w}")
    hidden = max(0, len(read.rejected) - show) + max(0, len(checked.warnings) - show)
    if hidden:
        click.echo(f"  ... and {hidden} more (--show N)")
    click.echo(f"{path} ({read.format}): {read.records} record(s): {len(read.documents)} would load, "
               f"{len(read.rejected)} would be quarantined, {len(read.empty)} with nothing to load; "
               f"{len(checked.warnings)} warning(s); checked against {len(documents)} task(s) in {tasks_file}")
    if read.rejected:
        sys.exit(EXIT_ERROR)
    return checked
