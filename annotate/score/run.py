"""Assemble a full score report: scores, confidence intervals, human ceiling, baseline comparison, provenance."""

from __future__ import annotations

import json
from pathlib import Path

from .. import __version__
from .conll import TagSequences
from .context import in_context
from .report import lookup
from .scorer import HEADLINES, bootstrap, entity_tables, paired_bootstrap, score_documents
from .violations import voided


def predicted_nothing(predictions) -> bool:
    """True when not one document got an entity or an event: an extractor that is wired wrong (wrong
    field names, an empty model) looks like this, and its 0.000 must not read as a measured score."""
    return not any(d.entities or d.events for d in predictions.documents.values())


def document_report(gold_docs, gold_info, predictions, resamples: int = 1000) -> dict:
    events_applicable = bool(gold_info.schema.event_types)
    score = score_documents(gold_docs, predictions.documents, voided(predictions.violations), events_applicable)
    warnings = list(predictions.warnings)
    empty = bool(gold_docs) and predicted_nothing(predictions)
    if empty:
        warnings.append(f"the predictions hold no entity and no event for any of the {len(gold_docs)} "
                        "document(s)")
    headlines = HEADLINES if events_applicable else HEADLINES[:1]
    report = {
        "toolkit_version": __version__,
        "gold": {"path": str(gold_info.path), "fingerprint": gold_info.fingerprint,
                 "schema": gold_info.build.get("schema", ""), "schema_fingerprint": gold_info.schema_fingerprint},
        "predictions": {"source": predictions.source, "documents": len(predictions.documents),
                        "rejected": len(predictions.rejected),
                        "rejected_reasons": [r.to_json() for r in predictions.rejected[:50]],
                        "schema_violations": len(predictions.violations),
                        "schema_violation_examples": [v.to_json() for v in predictions.violations[:50]],
                        "not_scored": predictions.not_scored, "empty": empty, "warnings": warnings},
        **score.report,
        "confidence": bootstrap(score.per_document, resamples, headlines=headlines) if resamples else {},
        "human_ceiling": (gold_info.agreement or {}).get("overall") or None,
        "per_document": score.per_document,
        # every span of every document with its error kind, for the errors-in-context view
        "in_context": in_context(gold_docs, predictions.documents, voided(predictions.violations), gold_info.schema,
                                 gold_info.build.get("schema", "")),
    }
    if report["human_ceiling"] is not None:
        report["human_ceiling"] = {**report["human_ceiling"], "tasks": gold_info.agreement.get("tasks", 0)}
    return report


def conll_report(seqs: TagSequences, source: str) -> dict:
    tables, per_unit = entity_tables(seqs.gold, seqs.pred, seqs.gold_unit, seqs.pred_unit, scheme=seqs.scheme,
                                     suffix=seqs.suffix)
    units = len(set(seqs.gold_unit or range(len(seqs.gold))))
    return {
        "toolkit_version": __version__,
        "gold": {"path": source, "fingerprint": "", "schema": "", "schema_fingerprint": ""},
        "predictions": {"source": source, "documents": units, "rejected": 0},
        "tagging": {"scheme": seqs.scheme, "scheme_source": seqs.scheme_source, "suffix": seqs.suffix},
        "entities": tables,
        "documents": {"gold": units, "with_predictions": len(set(seqs.pred_unit or range(len(seqs.pred))))},
        "tokens": seqs.tokens,
        # conlleval's "accuracy": tokens whose predicted tag(s) equal the gold tag(s), each token counted once
        "token_accuracy": seqs.tokens_correct / seqs.tokens if seqs.tokens else 0.0,
        "per_document": {str(k): {"entities": v} for k, v in per_unit.items()},
    }


def read_report(path: str | Path) -> dict:
    """An earlier JSON report of `annotate score`; ValueError naming the file (and line) when it is not one."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise ValueError(f"--baseline {path}: not UTF-8 text (byte {exc.start})") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"--baseline {path}: not JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None
    if not isinstance(data, dict) or not isinstance(data.get("entities"), dict):
        raise ValueError(f"--baseline {path}: not a report of `annotate score --json` (expected a JSON object "
                         f"with 'entities', got {type(data).__name__})")
    return data


def compare_with_baseline(report: dict, old: dict, baseline_path: str | Path, resamples: int = 1000) -> dict:
    """Deltas and a paired bootstrap of `report` against an earlier report `old` (read with `read_report`)."""
    metrics = {}
    significance = {}
    if "per_document" in old and "per_document" in report and "triggers" in report:
        significance = paired_bootstrap(report["per_document"], old["per_document"], resamples)
    keys = ["entities.default.micro.f1", "entities.strict.micro.f1", "entities.strict.macro.f1",
            "triggers.identification.f1", "triggers.classification.f1", "arguments.identification.f1",
            "arguments.classification.f1", "arguments.classification_with_trigger.f1"]
    for key in keys:
        try:
            now, before = lookup(report, key), lookup(old, key)
        except KeyError:
            continue
        if not isinstance(now, (int, float)) or not isinstance(before, (int, float)):
            continue  # not applicable on one side (no event types): there is no delta to show
        row = {"baseline": before, "now": now, "delta": now - before}
        if key in significance:
            row.update({k: significance[key][k] for k in ("ci95", "p_not_worse", "significant_regression",
                                                          "documents")})
        metrics[key] = row
    same_gold = old.get("gold", {}).get("fingerprint") == report.get("gold", {}).get("fingerprint")
    return {"path": str(baseline_path), "same_gold": same_gold, "metrics": metrics,
            "regressions": [k for k, v in metrics.items() if v.get("significant_regression")],
            "headlines": list(HEADLINES)}
