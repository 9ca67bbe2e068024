"""Assemble a full score report: scores, confidence intervals, human ceiling, baseline comparison, provenance."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from ..core.jsonl import JsonFileError, read_json_file
from ..core.model import Document, Rejected
from ..core.version import __version__
from ..core.violations import Violation, schema_violations, voided
from ..predictions.index import PredictionIndex
from ..predictions.sources import EXTRACTOR_BATCH, extract_in_batches
from .conll import TagSequences
from .conllblocks import gc_paused
from .context import ContextKeeper
from .gate import check_baseline_kind, metric_keys, parse_thresholds, per_document_problem
from .report import lookup, not_applicable
from .scorer import HEADLINES, DocumentScorer, bootstrap, entity_tables, paired_bootstrap


def predicted_nothing(predictions) -> bool:
    """True when not one document got an entity or an event: an extractor that is wired wrong (wrong
    field names, an empty model) looks like this, and its 0.000 must not read as a measured score."""
    return not any(d.entities or d.events for d in predictions.documents.values())


def document_report(gold_docs, gold_info, predictions, resamples: int = 1000) -> dict:
    """The report of predictions held in memory (`sources.Predictions`) against a list of gold documents."""
    void = voided(predictions.violations)
    tally = _Tally(gold_info)
    for g in gold_docs:
        tally.add(g, predictions.documents.get(g.id), void.get(g.id, set()))
    summary = PredictionSummary(predictions.source, len(predictions.documents), predictions.rejected,
                                len(predictions.violations), predictions.violations[:50], predictions.not_scored,
                                list(predictions.warnings), predicted_nothing(predictions))
    return tally.report(summary, resamples)


class _Tally:
    """The scorer and the errors-in-context keeper, given one gold document and its prediction at a time."""

    def __init__(self, gold_info) -> None:
        self.gold_info = gold_info
        self.scorer = DocumentScorer(bool(gold_info.schema.event_types))
        self.context = ContextKeeper(gold_info.schema, gold_info.build.get("schema", ""))

    def add(self, doc: Document, pred: Document | None, void: set) -> None:
        self.scorer.add(doc, pred, void)
        self.context.add(doc, pred or Document(doc.id, doc.text), void)

    def report(self, summary: PredictionSummary, resamples: int) -> dict:
        return assemble(self.scorer, self.context, self.gold_info, summary, resamples)


@dataclass
class PredictionSummary:
    """What the report says of the predictions, whether they were held in memory or streamed."""
    source: str
    documents: int
    rejected: list[Rejected]
    violation_count: int
    violation_examples: list[Violation]  # the first ones, in record order
    not_scored: int
    warnings: list[str]
    nothing_predicted: bool


def assemble(scorer: DocumentScorer, context: ContextKeeper, gold_info, predictions: PredictionSummary,
             resamples: int = 1000) -> dict:
    events_applicable = scorer.events_applicable
    score = scorer.result()
    warnings = list(predictions.warnings)
    empty = scorer.documents > 0 and predictions.nothing_predicted
    if empty:
        warnings.append(f"the predictions hold no entity and no event for any of the {scorer.documents} "
                        "document(s)")
    headlines = HEADLINES if events_applicable else HEADLINES[:1]
    report = {
        "toolkit_version": __version__,
        "gold": {"path": str(gold_info.path), "fingerprint": gold_info.fingerprint,
                 "schema": gold_info.build.get("schema", ""), "schema_fingerprint": gold_info.schema_fingerprint,
                 "guidelines": gold_info.build.get("guidelines") or {}},
        "predictions": {"source": predictions.source, "documents": predictions.documents,
                        "rejected": len(predictions.rejected),
                        "rejected_reasons": [r.to_json() for r in predictions.rejected[:50]],
                        "schema_violations": predictions.violation_count,
                        "schema_violation_examples": [v.to_json() for v in predictions.violation_examples[:50]],
                        "not_scored": predictions.not_scored, "empty": empty,
                        # gold documents no record answered: scored as predicting nothing
                        "unanswered": scorer.documents - scorer.with_predictions, "warnings": warnings},
        **score.report,
        "confidence": bootstrap(score.per_document, resamples, headlines=headlines) if resamples else {},
        "human_ceiling": (gold_info.agreement or {}).get("overall") or None,
        "per_document": score.per_document,
        # the spans of the documents with the most errors, each with its error kind, for the errors-in-context view
        "in_context": context.result(),
    }
    if report["human_ceiling"] is not None:
        report["human_ceiling"] = {**report["human_ceiling"], "tasks": gold_info.agreement.get("tasks", 0)}
    return report


@dataclass
class StreamedScore:
    report: dict
    rejected: list[Rejected]
    violation_examples: list[Violation]


def stream_report(gold, predictions, split: str | None = None, resamples: int = 1000) -> StreamedScore:
    """The report of a predictions JSONL (a path), or of an index already open over another source
    (`index.LabelStudioIndex`), against a gold set (`gold.reader.GoldSet`), both read as streams.

    Every gold document of every split is read once, in the set's order, and its predictions looked up in an
    on-disk index of the file (`predictions.index`), so the two files may be in any order and memory stays flat:
    a record is judged against every gold document (a file made for the whole set is valid for one split),
    and only the split's documents are scored. Rejections come out in the file's line order, as when the
    file is read whole."""

    info = gold.info()
    schema = info.schema
    tally = _Tally(info)
    rejected: list[tuple[int, Rejected]] = []
    violations: list[tuple[int, list[Violation]]] = []  # the first ones by line, pruned as they come
    violation_count = documents = not_scored = 0
    anything = False
    with (predictions if hasattr(predictions, "judge") else PredictionIndex(predictions)) as index:
        rejected += index.early
        for name, doc in gold.documents_by_split():
            accepted, refused = index.judge(doc)
            rejected += refused
            in_split = split is None or name == split
            if not in_split:
                not_scored += accepted is not None
                continue
            pred, void = None, set()
            if accepted is not None:
                lineno, pred = accepted
                documents += 1
                anything = anything or bool(pred.entities or pred.events)
                found = schema_violations(pred, schema)
                if found:
                    violation_count += len(found)
                    violations.append((lineno, found))
                    void = voided(found).get(doc.id, set())
                    if len(violations) > 200:
                        violations = _first_violations(violations, 60)
            tally.add(doc, pred, void)
        rejected += index.unclaimed()
        not_scored += index.not_scored
        source = index.source
    ordered = [r for _, r in sorted(rejected, key=lambda x: x[0])]
    examples = [v for _, found in _first_violations(violations, 50) for v in found][:50]
    summary = PredictionSummary(source, documents, ordered, violation_count, examples, not_scored, [], not anything)
    return StreamedScore(tally.report(summary, resamples), ordered, examples)


def extractor_report(gold, spec: str, split: str | None = None, resamples: int = 1000, timeout: float = 600.0,
                     progress=None, batch: int | None = None) -> StreamedScore:
    """The report of an extractor (a command or a callable) run on the gold set's documents (`gold.reader.GoldSet`;
    one split's, or all), streamed: the extractor is called on `batch` documents at a time
    (`sources.extract_in_batches`) and each batch is scored as it comes back, so memory stays flat however
    large the set. The scores are those of one call over every document."""

    info = gold.info()
    schema = info.schema
    tally = _Tally(info)
    rejected: list[Rejected] = []
    examples: list[Violation] = []
    warnings: list[str] = []
    violation_count = documents = not_scored = 0
    anything = False
    source = spec
    docs = (doc for name, doc in gold.documents_by_split() if split is None or name == split)
    for _, chunk, loaded in extract_in_batches(docs, spec, schema, batch or EXTRACTOR_BATCH, timeout, progress):
        source = loaded.source
        rejected += loaded.rejected
        violation_count += len(loaded.violations)
        examples += loaded.violations[:50 - len(examples)]
        warnings += [w for w in loaded.warnings if w not in warnings]  # a command's stderr note, once
        not_scored += loaded.not_scored
        documents += len(loaded.documents)
        anything = anything or not predicted_nothing(loaded)
        void = voided(loaded.violations)
        for doc in chunk:
            tally.add(doc, loaded.documents.get(doc.id), void.get(doc.id, set()))
    asked = tally.scorer.documents
    if anything and documents < asked:
        warnings.append(f"the extractor answered {documents} of the {asked} document(s) it was given; the other "
                        f"{asked - documents} are scored as predicting nothing")
    summary = PredictionSummary(source, documents, rejected, violation_count, examples, not_scored, warnings,
                                not anything)
    return StreamedScore(tally.report(summary, resamples), rejected, examples)


def _first_violations(found: list[tuple[int, list[Violation]]], keep: int) -> list[tuple[int, list[Violation]]]:
    """The documents' violations with the smallest line numbers, enough of them to hold `keep` violations."""
    out, total = [], 0
    for item in sorted(found, key=lambda x: x[0]):
        if total >= keep:
            break
        out.append(item)
        total += len(item[1])
    return out


def conll_report(seqs: TagSequences, source: str) -> dict:
    with gc_paused():  # the entity sets of a million tokens are tuples, none in a cycle
        tables, per_unit = entity_tables(seqs.gold, seqs.pred, seqs.gold_unit, seqs.pred_unit, scheme=seqs.scheme,
                                         suffix=seqs.suffix)
    unit_ids = sorted(set(seqs.gold_unit or range(len(seqs.gold))))
    units = len(unit_ids)
    return {
        "toolkit_version": __version__,
        "gold": {"path": source, "fingerprint": "", "schema": "", "schema_fingerprint": "",
                 "tags_fingerprint": _tags_fingerprint(seqs)},
        "predictions": {"source": source, "documents": units, "rejected": 0},
        "tagging": {"scheme": seqs.scheme, "scheme_source": seqs.scheme_source, "suffix": seqs.suffix},
        "entities": tables,
        "documents": {"gold": units, "with_predictions": len(set(seqs.pred_unit or range(len(seqs.pred))))},
        "tokens": seqs.tokens,
        # conlleval's "accuracy": tokens whose predicted tag(s) equal the gold tag(s), each token counted once
        "token_accuracy": seqs.tokens_correct / seqs.tokens if seqs.tokens else 0.0,
        # every unit, those without an entity on either side too: the paired bootstrap of a CoNLL --baseline
        # resamples all of them
        "per_document": {str(k): {"entities": list(per_unit.get(k, [0, 0, 0]))} for k in unit_ids},
    }


def _tags_fingerprint(seqs: TagSequences) -> str:
    """A hash of the gold tag columns and their units: two CoNLL runs with the same one scored the same gold
    (what a --baseline of CoNLL input must share with the run)."""
    h = hashlib.sha256()
    units = seqs.gold_unit or range(len(seqs.gold))
    for unit, seq in zip(units, seqs.gold):
        h.update(f"{unit}\t{' '.join(seq)}\n".encode())
    return h.hexdigest()[:16]


def read_report(path: str | Path) -> dict:
    """An earlier JSON report of `annotate score`; ValueError naming the file (and line) when it is not one."""
    try:
        data = read_json_file(path)
    except JsonFileError as exc:
        raise ValueError(f"--baseline {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("entities"), dict):
        raise ValueError(f"--baseline {path}: not a report of `annotate score --json` (expected a JSON object "
                         f"with 'entities', got {type(data).__name__})")
    if not isinstance(data.get("gold", {}), dict):
        raise ValueError(f"--baseline {path}: 'gold' is {type(data['gold']).__name__}, not an object")
    problem = per_document_problem(data.get("per_document", {}))
    if problem:
        raise ValueError(f"--baseline {path}: {problem}")
    return data


def compare_with_baseline(report: dict, old: dict, baseline_path: str | Path, resamples: int = 1000) -> dict:
    """Deltas and a paired bootstrap of `report` against an earlier report `old` (read with `read_report`,
    checked with `gate.check_baseline_run`). A metric the bootstrap does not cover (or any, with no resamples)
    has no interval: its drop is listed under `drops_without_interval`, never called "ok"."""
    metrics = {}
    significance = {}
    if "per_document" in old and "per_document" in report:
        significance = paired_bootstrap(report["per_document"], old["per_document"], resamples)
    keys = ["entities.default.micro.f1", "entities.strict.micro.f1", "entities.strict.macro.f1",
            "triggers.identification.f1", "triggers.classification.f1", "arguments.identification.f1",
            "arguments.classification.f1", "arguments.classification_with_trigger.f1"]
    for key in keys:
        try:
            now, before = lookup(report, key), lookup(old, key)
        except KeyError:
            continue
        if not_applicable(report, key) or not_applicable(old, key):
            continue  # no event types on one side: there is no delta to show
        if not _number(now) or not _number(before):
            # a macro average over no type at all (seqeval's NaN) on one side: shown as "—", never as a delta
            if (now is None or _number(now)) and (before is None or _number(before)):
                metrics[key] = {"baseline": before, "now": now, "delta": None}
            continue
        row = {"baseline": before, "now": now, "delta": now - before}
        if key in significance:
            row.update({k: significance[key][k] for k in ("ci95", "p_not_worse", "significant_regression",
                                                          "documents")})
        metrics[key] = row
    same_gold = old.get("gold", {}).get("fingerprint") == report.get("gold", {}).get("fingerprint")
    return {"path": str(baseline_path), "same_gold": same_gold, "metrics": metrics,
            "regressions": [k for k, v in metrics.items() if v.get("significant_regression")],
            "drops_without_interval": [k for k, v in metrics.items()
                                       if "ci95" not in v and v["delta"] is not None and v["delta"] < 0],
            "resamples": resamples, "headlines": list(HEADLINES)}


def _number(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and x == x


@dataclass
class GateOptions:
    """The options of a gated run, checked before anything is scored."""
    thresholds: list[tuple[str, float]]
    baseline: dict | None


def prepare_gate(fail_under, baseline_path, conll: bool, schema=None, fingerprint: str | None = None,
                 events: bool = True) -> GateOptions:
    """`--fail-under` and `--baseline` checked before the extractor runs: a bad key or value raises
    `gate.GateUsageError` (exit 2, listing the valid keys); a baseline that is no report, or of the other
    kind of input, or of another gold set, raises ValueError / `gate.BaselineError` (exit 1)."""
    keys = metric_keys(schema.entity_types if schema else (), schema.event_types if schema else (),
                       events, conll)
    thresholds = parse_thresholds(fail_under, keys, conll)
    baseline = None
    if baseline_path:
        baseline = read_report(baseline_path)
        check_baseline_kind(baseline, baseline_path, conll, fingerprint)
    return GateOptions(thresholds, baseline)
