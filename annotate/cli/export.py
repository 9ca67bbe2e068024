"""The `export` command: the gold set in CoNLL, brat or JSONL.
"""

from __future__ import annotations

from pathlib import Path

import click

from .common import plural


@click.command("export")
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
    from ..core.atomic import OutputWriteError
    from ..gold.layout import GoldReadError
    from ..gold.reader import gold_documents

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
            from ..formats.conll import write_conll
            report = write_conll(docs, output)
        elif fmt == "brat":
            from ..formats.brat import write_brat
            report = write_brat(docs, output, info.schema)
        else:
            from ..formats.jsonl import write_jsonl
            report = write_jsonl(docs, output)
    except (OSError, ValueError) as exc:
        raise click.ClickException(str(exc) if isinstance(exc, OutputWriteError) else f"{output}: {exc}") from None
    for line in report.not_held:
        click.echo(f"  not held by {fmt}: {line}", err=True)
    written = ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in report.written.items())
    click.echo(f"Exported {len(docs)} document(s) of {gold} (fingerprint {info.fingerprint}) as {fmt} to {output}: "
               f"{written}; {plural(len(report.not_held), 'thing')} the format cannot hold"
               + (" (listed above)" if report.not_held else ""))
