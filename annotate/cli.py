"""The `annotate` command line: each command parses options and calls the library.

Pipeline: articles -> tasks -> Label Studio (push) -> export (pull) -> gold dataset (import) -> score.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from . import __version__
from .atomic import atomic_write_json, write_jsonl
from .ingest import ingest
from .schema import SchemaError, describe, load_schema

EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2


def _schema(path):
    try:
        return load_schema(path)
    except SchemaError as exc:
        raise click.ClickException(str(exc)) from exc


def _quarantine(path: Path, rejected) -> str:
    if not rejected:
        return ""
    write_jsonl(path, [r.to_json() for r in rejected])
    for r in rejected[:10]:
        click.echo(f"  quarantined {r.source}: {r.reason}", err=True)
    if len(rejected) > 10:
        click.echo(f"  ... and {len(rejected) - 10} more", err=True)
    return f" (reasons in {path})"


schema_option = click.option("--schema", "schema_path", type=click.Path(exists=True, dir_okay=False),
                             help="Schema YAML (default: schemas/ace-arabic-news.yaml).")


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.version_option(__version__, prog_name="annotate")
def main() -> None:
    """Arabic news -> Label Studio -> gold entity-and-event dataset -> extractor scores.

    \b
    Pipeline:
      annotate tasks gold/articles -o tasks.json     articles -> Label Studio tasks
      annotate studio up                             start a local Label Studio
      annotate push tasks.json                       create the project, import tasks
      annotate pull                                  export annotations to gold/annotations/
      annotate import gold/annotations/*.json        exports -> gold dataset (gold/dataset)
      annotate score --gold gold/dataset --predictions preds.jsonl
    """


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
    from .lsconfig import labeling_config

    schema = _schema(schema_path)
    xml = labeling_config(schema)
    LabelInterface(xml).validate()
    if output:
        atomic_write_text(output, xml)
        click.echo(f"Wrote labeling config for schema {schema.name} ({schema.fingerprint}) to {output}", err=True)
    else:
        click.echo(xml, nl=False)


@main.command("tasks")
@click.argument("articles", nargs=-1, required=True, type=click.Path())
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="Tasks JSON to write.")
@click.option("--predictions", "predictions_path", type=click.Path(exists=True, dir_okay=False),
              help="Predictions JSONL to attach as Label Studio pre-annotations.")
@click.option("--model-version", default="predictions", show_default=True, help="model_version of predictions.")
@click.option("--keep-boilerplate", is_flag=True, help="Do not drop site boilerplate lines.")
@click.option("--quarantine", type=click.Path(dir_okay=False), help="Where rejected inputs go "
              "(default: OUTPUT with .quarantine.jsonl).")
@schema_option
def tasks_cmd(articles, output, predictions_path, model_version, keep_boilerplate, quarantine, schema_path):
    """Convert articles (.txt files, folders, JSONL) into Label Studio import JSON, one task per article.

    Only CRLF/CR line ends and a BOM are normalised; boilerplate lines are dropped and listed.

    \b
    Example:
      annotate tasks gold/articles -o tasks.json
      annotate tasks gold/articles --predictions preds.jsonl -o tasks.json
    """
    from .predictions import read_predictions
    from .tasks import build_tasks

    schema = _schema(schema_path)
    result = ingest(articles, strip=not keep_boilerplate)
    rejected = list(result.rejected)
    for doc in result.documents:
        dropped = doc.metadata.get("boilerplate_dropped", [])
        if dropped:
            shown = "; ".join(f"line {d['line']} [{d['rule']}] {d['text'].strip()[:40]}" for d in dropped)
            click.echo(f"{doc.metadata['source']}: dropped {len(dropped)} boilerplate line(s): {shown}", err=True)
    predictions = None
    n_pred_lines_bad = 0
    if predictions_path:
        predictions, bad = read_predictions(predictions_path, result.documents, schema)
        n_pred_lines_bad = len(bad)
        rejected += bad
    tasks, bad_preds = build_tasks(result.documents, schema, predictions, model_version)
    rejected += bad_preds
    atomic_write_json(output, tasks)
    qpath = Path(quarantine) if quarantine else Path(output).with_suffix(".quarantine.jsonl")
    note = _quarantine(qpath, rejected)
    with_preds = sum(1 for t in tasks if "predictions" in t)
    summary = (f"{result.inputs} article input(s): {len(tasks)} task(s) written to {output}, "
               f"{len(result.rejected)} article(s) quarantined{note}; {result.dropped_lines}"
               " boilerplate line(s) dropped")
    if predictions_path:
        summary += (f"; {with_preds} task(s) with predictions, "
                    f"{n_pred_lines_bad + len(bad_preds)} prediction(s) quarantined")
    click.echo(summary)
    if not tasks:
        sys.exit(EXIT_ERROR)


if __name__ == "__main__":  # pragma: no cover
    main()
