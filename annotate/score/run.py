"""Assemble a full score report: scores, confidence intervals, human ceiling, baseline comparison, provenance."""

from __future__ import annotations

import json
from pathlib import Path

from .. import __version__
from .report import lookup
from .scorer import HEADLINES, bootstrap, entity_tables, paired_bootstrap, score_documents


def document_report(gold_docs, gold_info, predictions, resamples: int = 1000) -> dict:
    score = score_documents(gold_docs, predictions.documents)
    report = {
        "toolkit_version": __version__,
        "gold": {"path": str(gold_info.path), "fingerprint": gold_info.fingerprint,
                 "schema": gold_info.build.get("schema", ""), "schema_fingerprint": gold_info.schema_fingerprint},
        "predictions": {"source": predictions.source, "documents": len(predictions.documents),
                        "rejected": len(predictions.rejected),
                        "rejected_reasons": [r.to_json() for r in predictions.rejected[:50]]},
        **score.report,
        "confidence": bootstrap(score.per_document, resamples) if resamples else {},
        "human_ceiling": (gold_info.agreement or {}).get("overall") or None,
        "per_document": score.per_document,
    }
    if report["human_ceiling"] is not None:
        report["human_ceiling"] = {**report["human_ceiling"], "tasks": gold_info.agreement.get("tasks", 0)}
    return report


def conll_report(gold_seqs, pred_seqs, source: str, gold_unit=None, pred_unit=None) -> dict:
    tables, per_unit = entity_tables(gold_seqs, pred_seqs, gold_unit, pred_unit)
    n_tokens = sum(len(s) for s in gold_seqs)
    # conlleval's "accuracy": tokens whose predicted tag equals the gold tag (all layers counted)
    correct = sum(g == p for gs, ps in zip(gold_seqs, pred_seqs) for g, p in zip(gs, ps))
    return {
        "toolkit_version": __version__,
        "gold": {"path": source, "fingerprint": "", "schema": "", "schema_fingerprint": ""},
        "predictions": {"source": source, "documents": len(set(gold_unit or range(len(gold_seqs)))), "rejected": 0},
        "entities": tables,
        "documents": {"gold": len(set(gold_unit or range(len(gold_seqs)))), "with_predictions": len(set(
            pred_unit or range(len(pred_seqs))))},
        "tokens": n_tokens,
        "token_accuracy": correct / n_tokens if n_tokens else 0.0,
        "per_document": {str(k): {"entities": v} for k, v in per_unit.items()},
    }


def compare_with_baseline(report: dict, baseline_path: str | Path, resamples: int = 1000) -> dict:
    old = json.loads(Path(baseline_path).read_text(encoding="utf-8"))
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
        row = {"baseline": before, "now": now, "delta": now - before}
        if key in significance:
            row.update({k: significance[key][k] for k in ("ci95", "p_not_worse", "significant_regression",
                                                          "documents")})
        metrics[key] = row
    same_gold = old.get("gold", {}).get("fingerprint") == report.get("gold", {}).get("fingerprint")
    return {"path": str(baseline_path), "same_gold": same_gold, "metrics": metrics,
            "regressions": [k for k, v in metrics.items() if v.get("significant_regression")],
            "headlines": list(HEADLINES)}
