"""Commands that score: `score` (an extractor against the gold set) and `compare` (a leaderboard of reports).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from ..core.atomic import atomic_write_json
from .common import EXIT_ERROR, progressbar, quarantine_note


@click.command("score")
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
@click.option("--markdown", "md_out", type=click.Path(dir_okay=False, allow_dash=True), help="Write a Markdown "
              "summary here, its first line the verdict ('-' for stdout; e.g. \"$GITHUB_STEP_SUMMARY\").")
@click.option("--markdown-append", is_flag=True, help="Add the Markdown to the file instead of replacing it (for "
              "$GITHUB_STEP_SUMMARY).")
@click.option("--html", "html_out", type=click.Path(dir_okay=False, allow_dash=True),
              help="Write an HTML report here ('-' for stdout).")
@click.option("--fail-under", "fail_under", multiple=True, metavar="KEY=VALUE",
              help="Exit 3 when a metric is below VALUE (0-1), e.g. entities.strict.micro.f1=0.80 (repeatable; "
              "keys checked before the run, see --list-metrics).")
@click.option("--list-metrics", is_flag=True, help="Print the keys --fail-under takes (with --gold: the gold "
              "set's types too) and exit.")
@click.option("--baseline", "baseline_path", type=click.Path(exists=True, dir_okay=False),
              help="An earlier JSON report of the same gold set: show deltas, exit 4 on a significant regression.")
@click.option("--resamples", default=1000, show_default=True, help="Bootstrap resamples (0 to skip).")
@click.option("--quarantine", "quarantine_path", default=None, type=click.Path(dir_okay=False),
              help="Where rejected predictions go, with their reasons [default: beside the first report file, "
              "report.json -> report.quarantine.jsonl, else ./score.quarantine.jsonl].")
@click.option("--allow-rejected", is_flag=True, help="Score even when prediction records were rejected as "
              "malformed (otherwise the run exits 1 after writing its reports).")
@click.option("--allow-empty-predictions", "allow_empty", is_flag=True, help="Pass even when no document got "
              "an entity or an event (otherwise the run exits 1 after writing its reports).")
def score_cmd(gold_path, split, pred_path, ls_path, annotator, model_version, extractor, timeout, conll_path,
              gold_conll, pred_conll, scheme, suffix, json_out, md_out, markdown_append, html_out, fail_under,
              list_metrics, baseline_path, resamples, quarantine_path, allow_rejected, allow_empty):
    """Score an extractor against the gold set with seqeval: entities (default and strict IOB2 modes, nested
    included), event triggers and arguments, with an error breakdown and 95% bootstrap intervals.

    Exit codes: 0 ok, 1 bad input (also: prediction records rejected as malformed, unless --allow-rejected;
    nothing predicted for any document, unless --allow-empty-predictions; a --baseline of another gold set),
    2 usage (also a --fail-under key or value that cannot work, checked before the run), 3 a --fail-under
    threshold failed, 4 significant regression against --baseline.

    \b
    Examples:
      annotate score --gold gold/dataset --predictions preds.jsonl --json report.json
      annotate score --gold gold/dataset --extractor "annotate baseline" --fail-under entities.strict.micro.f1=0.5
      annotate score --gold gold/dataset --extractor annotate.baseline:extract --baseline old.json \\
          --markdown "$GITHUB_STEP_SUMMARY" --markdown-append
      annotate score --gold gold/dataset --list-metrics
      annotate score --conll output.conll --scheme IOBES
    """
    from ..predictions.extractor import ExtractorError
    from ..score import conll
    from ..score.gate import BaselineError, GateUsageError, failure_markdown, metric_keys
    from ..score.gate import quarantine_path as default_quarantine
    from ..score.run import conll_report, extractor_report, prepare_gate, stream_report

    given = [x for x in (pred_path, ls_path, extractor, conll_path, gold_conll) if x]
    is_conll = bool(conll_path or gold_conll)
    if list_metrics:
        schema = _gold_set(gold_path, split).info().schema if gold_path else None
        keys = metric_keys(schema.entity_types if schema else ["TYPE"],
                           schema.event_types if schema else ["TYPE"], conll=is_conll)
        click.echo("\n".join(keys))
        return
    if len(given) != 1:
        raise click.UsageError("give exactly one of --predictions, --labelstudio, --extractor, --conll, "
                               "--gold-conll/--pred-conll")
    if bool(gold_conll) != bool(pred_conll):
        raise click.UsageError("--gold-conll and --pred-conll go together")
    if (scheme != "auto" or suffix) and not is_conll:
        raise click.UsageError("--scheme and --suffix apply to CoNLL input; documents are scored on their spans")
    if not is_conll and not gold_path:
        raise click.UsageError("--gold is required (a dataset folder from `annotate import`)")
    if markdown_append and not md_out:
        raise click.UsageError("--markdown-append goes with --markdown FILE")
    tag_format = conll.TagFormat(None if scheme == "auto" else scheme, suffix)
    quarantine = default_quarantine(quarantine_path, (json_out, html_out, md_out))
    try:
        gold_set = None if is_conll else _gold_set(gold_path, split)
        info = gold_set.info() if gold_set else None
        # every option checked before any work: a typo must not cost an extractor run
        gate = prepare_gate(fail_under, baseline_path, is_conll, info.schema if info else None,
                            info.fingerprint if info else None)
        if conll_path:
            report = conll_report(conll.conlleval_sequences(conll_path, tag_format), conll_path)
        elif gold_conll:
            report = conll_report(conll.layered_sequences(gold_conll, pred_conll, tag_format),
                                  f"{gold_conll} vs {pred_conll}")
        else:
            # the gold set streamed, and the predictions file, the Label Studio file (joined through an
            # on-disk index) or the extractor's output batch by batch: memory stays flat whatever their size
            if pred_path:
                streamed = stream_report(gold_set, pred_path, split, resamples)
            elif ls_path:
                from ..predictions.index import LabelStudioIndex

                index = LabelStudioIndex(ls_path, gold_set.texts(), info.schema, annotator, model_version)
                streamed = stream_report(gold_set, index, split, resamples)
            else:
                total = gold_set.build.get("splits", {}).get(split) if split else gold_set.count()
                with progressbar(total, f"Extracting with {extractor}", show_pos=True) as bar:
                    streamed = extractor_report(gold_set, extractor, split, resamples, timeout, bar.update)
            report = streamed.report
            _score_notes(report, streamed.rejected, streamed.violation_examples, split, quarantine)
    except GateUsageError as exc:
        _write_text(md_out, failure_markdown(str(exc).splitlines()[0]), markdown_append)
        raise click.UsageError(str(exc)) from None
    except (ExtractorError, conll.ConllError, FileNotFoundError, ValueError) as exc:  # BaselineError too
        _fail_input(exc, md_out, markdown_append)
    try:
        _score_outputs(report, gate, baseline_path, resamples, json_out, md_out, markdown_append, html_out,
                       quarantine, allow_rejected, allow_empty)
    except BaselineError as exc:
        _fail_input(exc, md_out, markdown_append)


def _fail_input(exc: Exception, md_out, markdown_append) -> None:
    """An error before any report: said on stderr, and as the verdict in the Markdown (a step summary must
    not stay empty when the gate failed), then exit 1."""
    from ..score.gate import failure_markdown
    from ..score.report import EXIT_INPUT

    click.echo(f"Error: {exc}", err=True)
    _write_text(md_out, failure_markdown(str(exc)), markdown_append)
    sys.exit(EXIT_INPUT)


def _gold_set(gold_path, split):
    from ..gold.reader import GoldSet

    gold_set = GoldSet(gold_path)
    if split:
        splits = gold_set.build.get("splits", {})
        if split not in splits:
            raise click.UsageError(f"--split {split}: the gold set {gold_path} has no such split (it has: "
                                   f"{', '.join(splits) or 'none'})")
    return gold_set


def _score_notes(report: dict, rejected, violations, split, quarantine_path) -> None:
    """What a run tells on stderr about its predictions: not scored, rejected, schema violations, warnings.
    The quarantine file is this run's: written when something was rejected, a stale one removed otherwise."""
    not_scored = report["predictions"]["not_scored"]
    if not_scored:
        click.echo(f"{not_scored} prediction(s) not scored: their documents are not in the gold set"
                   + (f" or not in split {split}" if split else ""), err=True)
    note = quarantine_note(Path(quarantine_path), rejected)
    if rejected:
        click.echo(f"{len(rejected)} prediction(s) rejected; reasons in {quarantine_path}", err=True)
    elif note:
        click.echo(note.strip(" ()"), err=True)
    for v in violations[:10]:
        click.echo(f"  schema violation, scored as an error: document {v.doc}: {v.message}", err=True)
    for w in report["predictions"]["warnings"]:
        click.echo(f"Warning: {w}", err=True)


def _score_outputs(report, gate, baseline_path, resamples, json_out, md_out, markdown_append, html_out,
                   quarantine_path, allow_rejected, allow_empty) -> None:
    from ..score import report as rep
    from ..score.gate import check_baseline_run, verdict, verdict_line
    from ..score.run import compare_with_baseline

    if gate.baseline is not None:
        check_baseline_run(report, gate.baseline, baseline_path)
        report["baseline"] = compare_with_baseline(report, gate.baseline, baseline_path, resamples)
    result = verdict(report, gate.thresholds, allow_rejected, allow_empty)
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
        _write_text(md_out, rep.markdown(report, verdict_line(result)), markdown_append)
    if html_out:
        _write_text(html_out, rep.html_report(report))
    click.echo(_score_summary(report), err="-" in (json_out, md_out, html_out))
    if not result.passed:
        where = f" (reasons in {quarantine_path})" if report["predictions"].get("rejected") else ""
        click.echo("FAIL: " + "; ".join(result.failures) + (where if result.exit_code == rep.EXIT_INPUT else ""),
                   err=True)
        sys.exit(result.exit_code)


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
    unanswered = preds.get("unanswered", 0)
    scored = report.get("scored_tokens")
    cut = f" ({scored} as cut at both sides' span edges)" if scored not in (None, report.get("tokens")) else ""
    return (f"Scored {docs['with_predictions']}/{docs['gold']} document(s), {report.get('tokens', 0)} gold "
            f"token(s){cut}: "
            + ", ".join(parts) + (f"; {rejected} prediction(s) rejected" if rejected else "")
            + (f"; {violations} schema violation(s) scored as errors" if violations else "")
            + (f"; {unanswered} document(s) unanswered, scored as empty" if unanswered and not preds.get("empty")
               else "")
            + ("; NOTHING PREDICTED for any document" if preds.get("empty") else ""))


@click.command("compare")
@click.argument("reports", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--markdown", "md_out", type=click.Path(dir_okay=False, allow_dash=True), help="Write the "
              "leaderboard as Markdown ('-' for stdout; e.g. $GITHUB_STEP_SUMMARY).")
@click.option("--markdown-append", is_flag=True, help="Add the Markdown to the file instead of replacing it.")
@click.option("--html", "html_out", type=click.Path(dir_okay=False, allow_dash=True),
              help="Write an HTML page with a chart ('-' for stdout).")
@click.option("--json", "json_out", type=click.Path(dir_okay=False, allow_dash=True),
              help="Write the leaderboard as JSON ('-' for stdout).")
@click.option("--resamples", default=1000, show_default=True, help="Paired-bootstrap resamples.")
def compare_cmd(reports, md_out, markdown_append, html_out, json_out, resamples):
    """Rank several `annotate score --json` reports made against the same gold set.

    Each headline metric (entities strict F1, triggers F1, arguments F1) names its best system; every other
    system gets its difference from the best with a paired-bootstrap 95% interval over documents. Reports of
    different gold sets (another fingerprint) or other documents are refused (exit 1).

    \b
    Example:
      annotate compare reports/baseline.json reports/crf.json reports/llm.json --markdown leaderboard.md \\
          --html leaderboard.html
    """
    from ..score.compare import CompareError, html_page, leaderboard, markdown, read_system, text_table

    if len(reports) < 2:
        raise click.UsageError("give two or more reports to compare")
    try:
        board = leaderboard([read_system(p) for p in reports], resamples)
    except CompareError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(EXIT_ERROR)
    to_stdout = "-" in (md_out, html_out, json_out)
    click.echo(text_table(board), err=to_stdout)
    _write_text(md_out, markdown(board), markdown_append)
    _write_text(html_out, html_page(board))
    if json_out == "-":
        click.echo(json.dumps(board, ensure_ascii=False, indent=2))
    elif json_out:
        atomic_write_json(json_out, board)
    worse = sum(1 for r in board["systems"] for c in r["metrics"].values() if c.get("significantly_worse"))
    best = ", ".join(f"{k.split('.')[0]} {board['best'][k]}" for k in board["metrics"])
    click.echo(f"Compared {len(board['systems'])} report(s) on gold {board['gold']['fingerprint']} "
               f"({board['documents']} document(s)): best {best}; {worse} result(s) significantly worse than the best",
               err=to_stdout)


def _write_text(out: str | None, text: str, append: bool = False) -> None:
    """An output option's text: '-' is stdout, --markdown-append adds to the file (the step summary is shared
    with the job's other steps), else the file is replaced whole."""
    from ..core.atomic import atomic_write_text

    if not out:
        return
    if out == "-":
        click.echo(text, nl=False)
    elif append:
        with open(out, "a", encoding="utf-8") as f:
            f.write(("\n" if f.tell() else "") + text)
    else:
        atomic_write_text(out, text)
