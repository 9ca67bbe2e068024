"""Commands that score: `score` (an extractor against the gold set) and `compare` (a leaderboard of reports).
"""

from __future__ import annotations

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
    from ..predictions.extractor import ExtractorError
    from ..score import conll
    from ..score import report as rep
    from ..score.run import conll_report, extractor_report, read_report, stream_report

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
            from ..gold.reader import GoldSet

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
                from ..predictions.index import LabelStudioIndex

                index = LabelStudioIndex(ls_path, gold_set.texts(), gold_set.info().schema, annotator,
                                         model_version)
                streamed = stream_report(gold_set, index, split, resamples)
            else:
                total = gold_set.build.get("splits", {}).get(split) if split else gold_set.count()
                with progressbar(total, f"Extracting with {extractor}", show_pos=True) as bar:
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
        quarantine_note(Path(quarantine_path), rejected)
        click.echo(f"{len(rejected)} prediction(s) rejected; reasons in {quarantine_path}", err=True)
    for v in violations[:10]:
        click.echo(f"  schema violation, scored as an error: document {v.doc}: {v.message}", err=True)
    for w in report["predictions"]["warnings"]:
        click.echo(f"Warning: {w}", err=True)


def _score_outputs(report, baseline, baseline_path, resamples, json_out, md_out, html_out, quarantine_path,
                   allow_rejected, thresholds) -> None:
    from ..core.atomic import atomic_write_text
    from ..score import report as rep
    from ..score.run import compare_with_baseline

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
    scored = report.get("scored_tokens")
    cut = f" ({scored} as cut at both sides' span edges)" if scored not in (None, report.get("tokens")) else ""
    return (f"Scored {docs['with_predictions']}/{docs['gold']} document(s), {report.get('tokens', 0)} gold "
            f"token(s){cut}: "
            + ", ".join(parts) + (f"; {rejected} prediction(s) rejected" if rejected else "")
            + (f"; {violations} schema violation(s) scored as errors" if violations else "")
            + ("; NOTHING PREDICTED for any document" if preds.get("empty") else ""))


@click.command("compare")
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
    from ..core.atomic import atomic_write_text
    from ..score.compare import CompareError, html_page, leaderboard, markdown, read_system, text_table

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
