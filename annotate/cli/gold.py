"""Commands on annotations and the gold set: `import` (exports -> gold set), `agree`, `adjudicate`, `status`.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ..core.atomic import atomic_write_json
from ..studio.config import EDGE_WHITESPACE_POLICIES, TEXT_MISMATCH_POLICIES
from .common import (
    EXIT_ERROR,
    TaskRate,
    config_option,
    plural,
    require_studio,
    routing_from,
    schema_from,
    schema_option,
    skip_unreadable_option,
    studio_call,
)


def _read_exports(exports, routing):
    from ..gold.build import import_exports

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
    return f", {plural(len(result.unreadable), 'file')} unreadable" if result.unreadable else ""


@click.command("import")
@click.argument("exports", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("-o", "--output", default="dataset", show_default=True, type=click.Path(file_okay=False),
              help="Gold dataset folder (replaced atomically; this repository's gold set: -o gold/dataset).")
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
@click.option("--on-edge-whitespace", type=click.Choice(EDGE_WHITESPACE_POLICIES), default="quarantine",
              show_default=True, help="A span that starts or ends on whitespace (' Jane Smith'): quarantine its "
              "task, or trim the edge inward (each trimmed span listed in build.json).")
@click.option("--about", "about_path", type=click.Path(exists=True, dir_okay=False),
              help="Markdown for the dataset card: who annotated, sources, licence, known limits.")
@click.option("--num-proc", type=click.IntRange(min=1), default=None,
              help="Worker processes reading tasks; the output is the same for any number. Default: one per "
              "available CPU when the first 64 tasks average ~1 KB of JSON or more (a paragraph), else 1.")
@schema_option
@config_option
def import_cmd(exports, output, split_spec, articles, quarantine, allow_empty, skip_unreadable, on_text_mismatch,
               on_edge_whitespace, about_path, num_proc, schema_path, config_path):
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
      annotate import other-export.json --schema other.yaml --on-edge-whitespace trim -o /tmp/other-gold
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
                      on_text_mismatch, about_path, num_proc, schema_path, config_path, on_edge_whitespace)
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()


def _import_build(exports, output, split_spec, articles, quarantine, allow_empty, skip_unreadable, on_text_mismatch,
                  about_path, num_proc, schema_path, config_path, on_edge_whitespace="quarantine"):
    from ..gold.exportfiles import export_files, hash_ahead

    files = export_files(exports)
    hash_ahead(files)  # beside the imports below
    from ..gold.build import build_gold
    from ..gold.layout import DatasetBuildError

    if num_proc is None:
        from ..gold.build import AUTO

        num_proc = AUTO
    routing = routing_from(schema_path, config_path)
    from ..articles.ingest import ingest

    reference = {d.id: d.text for d in ingest(articles).documents} if articles else None
    about = Path(about_path).read_text(encoding="utf-8") if about_path else None
    try:
        with TaskRate("Reading exports") as rate:
            built = build_gold(files, routing, output, split_spec, reference, allow_empty, quarantine, rate.update,
                               skip_unreadable, on_text_mismatch, about, num_proc=num_proc,
                               write_progress=rate.rows_written, on_edge_whitespace=on_edge_whitespace)
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


def _read_project(title, project_id, routing):
    """A fresh snapshot export of a project on the server, read as `_read_exports` reads files."""
    import tempfile

    from ..studio.client import pull_export
    from ..studio.connection import load_connection

    conn = studio_call(load_connection)
    with tempfile.TemporaryDirectory(prefix="annotate-adjudicate-") as tmp:
        pulled = studio_call(pull_export, conn, tmp, title, project_id)
        click.echo(f"Project {pulled.project_id} on {conn.url}: {pulled.tasks} task(s), {pulled.annotations} "
                   "annotation(s) exported", err=True)
        return _read_exports([pulled.path], routing)


@click.command("agree")
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
    from ..gold.agreement import agreement, agreement_table

    result = _read_exports(exports, routing_from(schema_path, config_path))
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


@click.command("adjudicate")
@click.argument("exports", nargs=-1, type=click.Path(exists=True, dir_okay=False))
@click.option("--project", "title", help="Adjudicate the project with this title on the server, not EXPORT files.")
@click.option("--project-id", type=int, help="Adjudicate this project (by id) on the server instead of EXPORT files.")
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
def adjudicate_cmd(exports, title, project_id, output, push, reviewer, log_path, resolve, schema_path, config_path):
    """Merge what annotators agree on and list each disagreement (boundary, type, missing, role, attribute).

    With --push, each multiply-annotated task gets a review annotation in Label Studio holding the agreed
    items and every disputed one marked CONFLICT in its region note. Resolve them in the UI and mark the
    annotation as ground truth; `annotate import` then takes it as the gold. Or record a decision per
    disagreement in the --log file (one entry per disagreement with the options side by side: A, B, ... or
    neither, the arguments on the disputed spans following it; the value for an attribute; plus `add` entries
    for what every annotator missed) and run again with --resolve.

    Instead of EXPORT files, --project TITLE or --project-id N reads a fresh snapshot export of that project
    from the server (the export `annotate pull` would write, kept in a temporary folder).

    \b
    Example:
      annotate adjudicate gold/annotations/export-project1-*.json -o disagreements.json --push
      annotate adjudicate --project-id 3 --log round2.yaml --push --reviewer rana@example.org
      annotate adjudicate EXPORT --log gold/adjudication.yaml             # write the log to decide in
      annotate adjudicate EXPORT --log gold/adjudication.yaml --resolve --reviewer rana@example.org
    """
    from ..gold.adjudicate import DecisionError, adjudicate, read_log, write_log
    from ..gold.decisions import log_entries, points_of, undecided

    if resolve and not (log_path and reviewer):
        raise click.UsageError("--resolve needs --log FILE and --reviewer EMAIL")
    if exports and (title or project_id is not None):
        raise click.UsageError("give EXPORT files or --project/--project-id, not both")
    if not exports and not (title or project_id is not None):
        raise click.UsageError("give EXPORT files, or --project TITLE / --project-id N to read the project from "
                               "the server")
    if push or resolve or not exports:
        require_studio("annotate adjudicate --push/--resolve/--project")
    routing = routing_from(schema_path, config_path)
    if exports:
        result = _read_exports(exports, routing)
    else:
        result = _read_project(title, project_id, routing)
    for q in result.quarantined[:10]:
        click.echo(f"  quarantined {q.reason[:300]}", err=True)
    try:
        entries = read_log(log_path) if log_path and Path(log_path).exists() else []
    except DecisionError as exc:
        raise click.ClickException(str(exc)) from None
    if resolve:
        from ..pipeline import resolve_reviews
        from ..studio.connection import load_connection

        try:
            done = studio_call(resolve_reviews, studio_call(load_connection), result, entries, reviewer)
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
    points = points_of(adjudications)
    records = []
    for p in points:
        if p.attribute is not None:
            click.echo(f"[{p.doc_id}] {p.kind:<9} {p.attribute.detail}\n    {p.context}")
            records.append({"doc": p.doc_id, "item": p.key, "kind": p.kind, "values": p.attribute.values,
                            "context": p.context})
            continue
        options = "; ".join(f"{o.label}: {o.text}" for o in p.options)
        follows = f" ({plural(len(p.followers), 'argument')} follow)" if p.followers else ""
        click.echo(f"[{p.doc_id}] {p.kind:<9} {p.key}: {options}; or neither{follows}\n    {p.context}")
        records.append(p.to_json())
    if output:
        atomic_write_json(output, records)
    if log_path:
        entries = log_entries(adjudications, entries)
        write_log(log_path, entries)
        click.echo(f"Decision log {log_path}: {len(entries)} entr(y/ies), {undecided(entries)} still undecided",
                   err=True)
    pushed = ""
    if push and adjudications:
        from ..pipeline import push_reviews_for
        from ..studio.connection import load_connection

        created, present = studio_call(push_reviews_for, studio_call(load_connection), result, adjudications,
                                        reviewer)
        pushed = f"; {created} review annotation(s) pushed" + (f", {present} already there" if present else "")
    clean = sum(1 for a in adjudications if a.clean)
    click.echo(f"{len(adjudications)} task(s) with two or more annotators: {clean} fully agreed, "
               f"{len(adjudications) - clean} with {len(records)} disagreement(s){pushed}")


@click.command("status")
@click.option("--project", "titles", multiple=True, help="Only the project with this title (repeatable).")
@click.option("--project-id", "project_ids", type=int, multiple=True, help="Only the project with this id "
              "(repeatable). Default: every project on the server.")
@click.option("--json", "json_out", type=click.Path(dir_okay=False), help="Also write the status as JSON.")
@click.option("--timeout", default=300.0, show_default=True, help="Seconds to wait for each project's export.")
@schema_option
def status_cmd(titles, project_ids, json_out, timeout, schema_path):
    """Who has done what on the Label Studio server: per project, where the round stands (not started,
    annotating, adjudicating, done) and tasks total, annotated (to adjudicate, in review, resolved), skipped and
    not started; per annotator, tasks done, median lead time and the share of their tasks that has an agreement
    figure (another annotator did it too); and the current pairwise agreement, computed as `annotate agree` does.

    One snapshot export per project, never a request per task.

    \b
    Example:
      annotate status
      annotate status --project-id 3 --json status.json
    """
    from ..gold.status import server_status, status_table, to_json
    from ..studio.connection import load_connection

    require_studio("annotate status")
    schema = schema_from(schema_path)
    conn = studio_call(load_connection)
    statuses = studio_call(server_status, conn, schema, list(project_ids), list(titles), timeout)
    if statuses:
        click.echo(status_table(statuses))
    if json_out:
        atomic_write_json(json_out, to_json(statuses, conn.url))
    people = {a.annotator for s in statuses for a in s.annotators}
    click.echo(f"{plural(len(statuses), 'project')} on {conn.url}: {sum(s.tasks for s in statuses)} task(s), "
               f"{sum(s.annotated for s in statuses)} annotated, {sum(s.skipped for s in statuses)} skipped, "
               f"{sum(s.in_review for s in statuses)} in review, {sum(s.resolved for s in statuses)} resolved; "
               f"{len(people)} annotator(s); "
               + (", ".join(f"{s.id}: {s.round}" for s in statuses) or "no project")
               + (f"; written to {json_out}" if json_out else ""))
