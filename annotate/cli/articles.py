"""Commands on articles and the schema: `schema`, `config`, `tasks` (articles -> Label Studio tasks) and
`baseline` (the baseline extractor).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click

from ..core.schema import describe
from .common import EXIT_ERROR, progressbar, quarantine_note, require_studio, schema_from, schema_option


@click.command("schema")
@schema_option
@click.option("--from-config", "config_path", type=click.Path(exists=True, dir_okay=False),
              help="Make a schema from another project's Label Studio labeling config (XML): its Labels controls "
              "(a control named like 'trigger' or 'event' holds triggers), Relations, per-region and document "
              "Choices.")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="With --from-config: write the schema "
              "YAML here (default: stdout).")
def schema_cmd(schema_path, config_path, output):
    """Print a readable summary of the schema: entity types, event types, roles, attributes; or make a schema
    YAML from a Label Studio labeling config.

    \b
    Example:
      annotate schema
      annotate schema --schema my-schema.yaml
      annotate schema --from-config their-config.xml -o their-schema.yaml
      annotate import their-export.json --schema their-schema.yaml -o their-gold
    """
    if not config_path:
        if output:
            raise click.UsageError("-o goes with --from-config")
        click.echo(describe(schema_from(schema_path)))
        return
    if schema_path:
        raise click.UsageError("give --schema or --from-config, not both")
    from ..core.atomic import atomic_write_text
    from ..core.schema import SchemaError, parse_schema, schema_to_yaml
    from ..studio.labelconfig import schema_from_config

    try:
        schema = schema_from_config(Path(config_path).read_text(encoding="utf-8"), Path(config_path).stem)
        text = schema_to_yaml(schema, f"Made by `annotate schema --from-config {Path(config_path).name}`.")
        parse_schema(text, source=output or "<stdout>")  # what is written must load as it is
    except (ValueError, OSError) as exc:  # ConfigError, SchemaError, UnicodeDecodeError
        kind = "cannot make a loadable schema" if isinstance(exc, SchemaError) else "cannot read it"
        raise click.ClickException(f"--from-config {config_path}: {kind}: {exc}") from None
    if output:
        atomic_write_text(output, text)
    else:
        click.echo(text, nl=False)
    events = f"{len(schema.event_types)} event type(s)" if schema.event_types else "no event type (NER only)"
    click.echo(f"Schema {schema.name} ({schema.fingerprint}) from {config_path}: {len(schema.entity_types)} entity "
               f"type(s) under {', '.join(schema.controls.entity)}, {events}, {len(schema.attributes)} per-region "
               f"choice(s), {len(schema.relations) + len(schema.role_names)} relation label(s), "
               f"{len(schema.document_choices)} document choice(s)" + (f"; written to {output}" if output else ""),
               err=True)


@click.command("config")
@schema_option
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write the XML here instead of stdout.")
def config_cmd(schema_path, output):
    """Print the Label Studio labeling config generated from the schema (validated by the SDK).

    \b
    Example:
      annotate config > config.xml
    """
    require_studio("annotate config (the config is validated by the SDK)")
    from label_studio_sdk.label_interface import LabelInterface

    from ..core.atomic import atomic_write_text
    from ..studio.config import labeling_config

    schema = schema_from(schema_path)
    xml = labeling_config(schema)
    LabelInterface(xml).validate()
    if output:
        atomic_write_text(output, xml)
    else:
        click.echo(xml, nl=False)
    click.echo(f"Labeling config for schema {schema.name} ({schema.fingerprint}): {len(schema.entity_types)} entity "
               f"labels, {len(schema.event_types)} trigger labels, {len(schema.role_names)} roles, "
               f"{len(schema.attributes)} attribute(s)"
               + (f", {len(schema.relations)} relation label(s)" if schema.relations else "")
               + "; validated by LabelInterface"
               + (f"; written to {output}" if output else ""), err=True)


@click.command("tasks")
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

    from ..articles.ingest import expand_inputs
    from ..articles.taskstream import stream_tasks
    from ..core.atomic import OutputWriteError
    from ..predictions.extractor import ExtractorError

    if predictions_path and extractor:
        raise click.UsageError("give --predictions or --extractor, not both")
    source = ("predictions", predictions_path) if predictions_path else ("extractor", extractor) if extractor else None
    if source:
        require_studio("annotate tasks --predictions/--extractor (pre-annotations are validated by the SDK)")
    schema = schema_from(schema_path)
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
        with progressbar(max(1, total + files), "Reading articles", item_show_func=rate) as bar:
            def progress(n_files: int, n_bytes: int, n_docs: int) -> None:
                docs[0] += n_docs
                bar.update(n_bytes + (n_files if files else 0), current_item=docs[0])

            made = stream_tasks(articles, output, schema, not keep_boilerplate, source, model_version, num_proc,
                                progress, echo_dropped)
    except (ExtractorError, OutputWriteError) as exc:
        raise click.ClickException(str(exc)) from None
    except OSError as exc:
        raise click.ClickException(f"{exc.filename or output}: {exc.strerror or exc}") from None
    qpath = Path(quarantine) if quarantine else Path(output).with_suffix(".quarantine.jsonl")
    note = quarantine_note(qpath, made.rejected)
    written = f"{made.tasks} task(s) written to {output}" if made.tasks else f"no task, so {output} was left as it was"
    summary = (f"{made.inputs} article input(s): {written}, {len(made.article_rejects)} article(s) quarantined{note}; "
               f"{made.dropped_lines} boilerplate line(s) dropped")
    for warning in made.warnings:
        click.echo(f"warning: {warning}", err=True)
    if made.warnings:
        summary += f"; {len(made.warnings)} warning(s): the same text under another id"
    if source:
        summary += (f"; {made.with_predictions} task(s) with predictions, "
                    f"{len(made.prediction_rejects)} prediction(s) quarantined")
    click.echo(summary)
    if not made.tasks:
        sys.exit(EXIT_ERROR)


@click.command("baseline")
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

    from ..predictions.baseline import extract
    from ..predictions.extractor import ExtractorError, read_documents

    if articles:
        from ..articles.ingest import ingest

        result = ingest(articles)
        docs = result.documents
    else:
        try:
            docs = list(read_documents(sys.stdin))
        except ExtractorError as exc:
            raise click.ClickException(str(exc)) from None
    lines = [json.dumps(r, ensure_ascii=False) + "\n" for r in extract(docs)]
    if output:
        from ..core.atomic import atomic_write_text

        atomic_write_text(output, "".join(lines))
    else:
        sys.stdout.write("".join(lines))
    click.echo(f"Baseline predictions for {len(lines)} document(s)" + (f" written to {output}" if output else ""),
               err=True)
