"""`annotate score` as a CI gate: the options checked before anything runs, the baseline checked against the
run, one verdict (PASS or FAIL, with its reasons and its exit code), and the Markdown escaping every report uses.

A gate must not pass by accident: a misspelt `--fail-under` key, a threshold that cannot fail (NaN, 1.5), a
baseline made against another gold set, or an extractor that predicted nothing are all refused, each with a
message that says what to do instead.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path

from .matching import ARGUMENT_KINDS
from .mdtext import md_escape
from .report import EXIT_INPUT, EXIT_OK, EXIT_REGRESSION, EXIT_THRESHOLD, lookup, not_applicable

RATES = ("precision", "recall", "f1")
ENTITY_MODES = ("default", "strict")
AVERAGES = ("micro", "macro", "weighted")
TRIGGER_KINDS = ("identification", "classification")
COUNT_PARTS = ("entities", "triggers", "arguments")  # the parts of a report's per_document counts


class GateUsageError(ValueError):
    """An option that cannot work (exit 2, before the extractor runs)."""


class BaselineError(ValueError):
    """A --baseline that cannot be compared with this run (exit 1); the message names both sides."""


def metric_keys(entity_types=(), event_types=(), events: bool = True, conll: bool = False) -> list[str]:
    """Every key `--fail-under` takes for a run of this kind. Per-type keys name the schema's types; a CoNLL
    run learns its types from the file, so its per-type keys are written with TYPE and checked by pattern."""
    keys = [f"entities.{m}.{a}.{r}" for m in ENTITY_MODES for a in AVERAGES for r in RATES]
    types = ["TYPE"] if conll else sorted(entity_types)
    keys += [f"entities.{m}.per_type.{t}.{r}" for m in ENTITY_MODES for t in types for r in RATES]
    if conll:
        return keys + ["token_accuracy"]
    if events:
        keys += [f"triggers.{k}.{r}" for k in TRIGGER_KINDS for r in RATES]
        keys += [f"triggers.classification.per_type.{t}.{r}" for t in sorted(event_types) for r in RATES]
        keys += [f"arguments.{k}.{r}" for k in ARGUMENT_KINDS for r in RATES]
    return keys


_CONLL_TYPE_KEY = re.compile(rf"^entities\.({'|'.join(ENTITY_MODES)})\.per_type\..+\.({'|'.join(RATES)})$")


def parse_thresholds(specs, keys: list[str], conll: bool = False) -> list[tuple[str, float]]:
    """`--fail-under KEY=VALUE` options, each checked against `keys` (from `metric_keys`) and for a value in
    [0, 1]; GateUsageError lists the valid keys."""
    out = []
    for spec in specs:
        key, sep, value = spec.partition("=")
        key = key.strip()
        if not sep:
            raise GateUsageError(f"--fail-under {spec!r}: expected KEY=VALUE, e.g. entities.strict.micro.f1=0.80")
        try:
            minimum = float(value)
        except ValueError:
            raise GateUsageError(f"--fail-under {spec!r}: {value!r} is not a number") from None
        if math.isnan(minimum) or not 0.0 <= minimum <= 1.0:
            raise GateUsageError(f"--fail-under {spec!r}: the value must be a number from 0 to 1 (a rate); "
                                 f"{value!r} could never fail or never pass")
        if key not in keys and not (conll and _CONLL_TYPE_KEY.match(key)):
            raise GateUsageError(f"--fail-under {spec!r}: no metric {key!r}; valid keys:\n  " + "\n  ".join(keys))
        out.append((key, minimum))
    return out


def check_baseline_kind(baseline: dict, path, conll: bool, fingerprint: str | None = None) -> None:
    """Before the run: a baseline of the other kind (CoNLL vs documents) or of another gold set is refused."""
    theirs = str((baseline.get("gold") or {}).get("fingerprint") or "")
    was_conll = "tagging" in baseline or not theirs
    if conll and not was_conll:
        raise BaselineError(f"--baseline {path} is a report of documents scored against gold {theirs}; this run "
                            "scores CoNLL input: give a report of `annotate score --conll` as its baseline")
    if not conll and was_conll:
        raise BaselineError(f"--baseline {path} is a report of CoNLL input (it names no gold set); this run scores "
                            "documents against a gold set: give a report of `annotate score --gold` as its baseline")
    if fingerprint is not None and theirs != fingerprint:
        raise BaselineError(f"--baseline {path} was made against gold {theirs}, this run scores gold {fingerprint}; "
                            "a baseline must score the same gold set (score the old system again on this one)")


def check_baseline_run(report: dict, baseline: dict, path) -> None:
    """After the run: the same gold content (CoNLL: the same gold tags) and the same scored documents."""
    for field_ in ("fingerprint", "tags_fingerprint"):
        ours, theirs = (report.get("gold") or {}).get(field_), (baseline.get("gold") or {}).get(field_)
        if ours and theirs and ours != theirs:
            raise BaselineError(f"--baseline {path} was made against gold {field_.replace('_', ' ')} {theirs}, "
                                f"this run has {ours}; a baseline must score the same gold")
    ours_docs, theirs_docs = set(report.get("per_document") or {}), set(baseline.get("per_document") or {})
    if ours_docs != theirs_docs:
        raise BaselineError(f"--baseline {path} scored {len(theirs_docs)} document(s), this run {len(ours_docs)}, "
                            f"not the same ones ({len(ours_docs - theirs_docs)} only here, "
                            f"{len(theirs_docs - ours_docs)} only in the baseline; another --split?)")


def per_document_problem(per_document, parts=COUNT_PARTS) -> str:
    """Why a report's `per_document` counts cannot feed a bootstrap ('' when they can): each document maps each
    part it has to [tp, predicted, gold], three whole numbers."""
    if not isinstance(per_document, dict):
        return f"per_document is {type(per_document).__name__}, not an object"
    for doc, counts in per_document.items():
        if not isinstance(counts, dict):
            return f"per_document.{doc} is {type(counts).__name__}, not an object"
        for part in parts:
            if part not in counts:
                continue
            c = counts[part]
            if not (isinstance(c, list) and len(c) == 3
                    and all(isinstance(x, int) and not isinstance(x, bool) and x >= 0 for x in c)):
                return f"per_document.{doc}.{part} is {c!r}, not three counts [tp, predicted, gold]"
    return ""


@dataclass
class Verdict:
    """PASS or FAIL, why, and the exit code: input problems (1) first, then thresholds (3), then regressions (4)."""
    exit_code: int
    failures: list[str] = field(default_factory=list)  # one line each, for stderr
    # every check with its outcome, for the summary's first line: (what was checked, data; the outcome, ours)
    checks: list[tuple[str, str]] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.exit_code == EXIT_OK


def verdict(report: dict, thresholds: list[tuple[str, float]], allow_rejected: bool = False,
            allow_empty: bool = False) -> Verdict:
    checks: list[tuple[str, str]] = []
    input_failures, threshold_failures = [], []
    preds = report.get("predictions", {})
    rejected = preds.get("rejected", 0)
    if rejected:
        checks.append(("", f"{rejected} record(s) rejected" + (" (allowed)" if allow_rejected else "")))
        if not allow_rejected:
            input_failures.append(f"{rejected} prediction record(s) rejected as malformed; fix them, or pass "
                                  "--allow-rejected to score without them")
    if preds.get("empty"):
        checks.append(("", "nothing predicted" + (" (allowed)" if allow_empty else "")))
        if not allow_empty:
            input_failures.append("the predictions hold no entity and no event for any document (an extractor "
                                  "wired wrong?); pass --allow-empty-predictions if that is expected")
    for key, minimum in thresholds:
        try:
            value = lookup(report, key)
        except KeyError:
            value = None
        if value is None and not_applicable(report, key):
            threshold_failures.append(f"{key}: {not_applicable(report, key)}")
            checks.append((key, f"n/a (needs ≥ {minimum:.2f}) ✗"))
        elif value is None:
            threshold_failures.append(f"{key}: no value (null: an average over no type at all, seqeval's NaN)")
            checks.append((key, f"— (needs ≥ {minimum:.2f}) ✗"))
        elif not isinstance(value, (int, float)) or isinstance(value, bool) or math.isnan(value):
            threshold_failures.append(f"{key}: no such metric in the report")
            checks.append((key, f"missing (needs ≥ {minimum:.2f}) ✗"))
        else:
            ok = value >= minimum
            checks.append((key, f"{value:.3f} {'≥' if ok else '<'} {minimum:.2f} {'✓' if ok else '✗'}"))
            if not ok:
                threshold_failures.append(f"{key} = {value:.4f} < {minimum:.4f}")
    base = report.get("baseline")
    regressions = (base or {}).get("regressions") or []
    if base:
        if regressions:
            checks.append((", ".join(regressions), "significantly worse than the baseline ✗"))
        elif base.get("drops_without_interval"):
            checks.append(("", "no significant regression against the baseline; drop without an interval in "
                           + ", ".join(base["drops_without_interval"])))
        else:
            checks.append(("", "no significant regression against the baseline ✓"))
    if input_failures:
        return Verdict(EXIT_INPUT, input_failures, checks)
    if threshold_failures:
        return Verdict(EXIT_THRESHOLD, threshold_failures, checks)
    if regressions:
        return Verdict(EXIT_REGRESSION, ["significant regression against the baseline in " + ", ".join(regressions)],
                       checks)
    return Verdict(EXIT_OK, [], checks)


def verdict_line(v: Verdict) -> str:
    """The first line of the Markdown summary: what a reviewer reads first."""
    word = "✅ PASS" if v.passed else "❌ FAIL"
    checks = [f"{md_escape(what)} {outcome}" if what else outcome for what, outcome in v.checks]
    return f"**{word}**: " + ("; ".join(checks) if checks else "no threshold or baseline given")


def failure_markdown(message: str) -> str:
    """The Markdown of a run that ended before any report (a bad option, a baseline refused, an extractor that
    crashed): the verdict line and the reason."""
    return f"**❌ FAIL**: {md_escape(message)}\n"


def quarantine_path(explicit: str | None, outputs) -> Path:
    """Where rejected predictions go: `--quarantine`, else beside the first report file (report.json ->
    report.quarantine.jsonl), else ./score.quarantine.jsonl."""
    if explicit:
        return Path(explicit)
    for out in outputs:
        if out and out != "-":
            p = Path(out)
            return p.with_name(f"{p.stem}.quarantine.jsonl")
    return Path("score.quarantine.jsonl")
