"""Scoring predictions against gold Documents (or CoNLL tag columns).

Entities: both sides' character spans are put on tokens cut at the union of gold and predicted boundaries,
spread over IOB2 layers (so nested and same-type nested spans all survive), and scored in seqeval's default
(conlleval-compatible) mode and in `mode="strict", scheme=IOB2`. An entity is keyed by (document, token
span, type) whatever layer it sits in, so gold and prediction need not nest the same way. Triggers and
arguments are matched as sets of spans on the same tokens.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from ..bio import aligned_tokens, to_bio_layers
from ..model import Document
from .metrics import prf_from_counts, prf_table, simple_prf
from .seqspans import entities

MODES = {
    "default": "seqeval default mode (conlleval-compatible chunking; lenient on ill-formed tags)",
    "strict": "seqeval mode='strict', scheme=IOB2 (an entity must start with B-; ill-formed spans are dropped)",
}
HEADLINES = ("entities.strict.micro.f1", "triggers.classification.f1", "arguments.classification.f1")
ARGUMENT_KINDS = ("identification", "classification", "identification_with_trigger", "classification_with_trigger")


def entity_tables(gold_seqs: Sequence[Sequence[str]], pred_seqs: Sequence[Sequence[str]],
                  gold_unit: Sequence[int] | None = None, pred_unit: Sequence[int] | None = None,
                  modes: Sequence[str] = ("default", "strict")) -> tuple[dict, dict]:
    """(tables per mode, per-unit strict counts). `*_unit[i]` names the unit (document) of sequence i; by
    default every sequence is its own unit, which is exactly seqeval's view of a list of sentences."""
    tables: dict[str, dict] = {}
    per_unit: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0])
    for mode in modes:
        true_by_type = _keyed(entities(gold_seqs, mode), gold_unit)
        pred_by_type = _keyed(entities(pred_seqs, mode), pred_unit)
        table = prf_table(true_by_type, pred_by_type)
        table["mode"] = MODES[mode]
        tables[mode] = table
        if mode == "strict":
            for t in set(true_by_type) | set(pred_by_type):
                gold_t, pred_t = true_by_type.get(t, set()), pred_by_type.get(t, set())
                for key in gold_t:
                    per_unit[key[0]][2] += 1
                    if key in pred_t:
                        per_unit[key[0]][0] += 1
                for key in pred_t:
                    per_unit[key[0]][1] += 1
    return tables, per_unit


def _keyed(found, unit_of) -> dict[str, set]:
    out: dict[str, set] = {}
    if unit_of is None:
        for sid, s, e, t in found:
            out.setdefault(t, set()).add((sid, s, e))
    else:
        for sid, s, e, t in found:
            out.setdefault(t, set()).add((unit_of[sid], s, e))
    return out


@dataclass
class Score:
    report: dict
    per_document: dict[str, dict[str, list[int]]] = field(default_factory=dict)


def _argument_sets(doc: Document) -> dict[str, set[tuple]]:
    ents = doc.entity_by_id()
    out: dict[str, set[tuple]] = {k: set() for k in ARGUMENT_KINDS}
    for v in doc.events:
        for a in v.arguments:
            e = ents[a.entity]
            out["identification"].add((v.type, e.start, e.end))
            out["classification"].add((v.type, a.role, e.start, e.end))
            out["identification_with_trigger"].add((v.trigger.start, v.trigger.end, v.type, e.start, e.end))
            out["classification_with_trigger"].add((v.trigger.start, v.trigger.end, v.type, a.role, e.start, e.end))
    return out


def _error_breakdown(pairs: list[tuple[Document, Document]], max_examples: int = 5) -> dict:
    out: dict[str, dict] = {}

    def bucket(label: str) -> dict:
        return out.setdefault(label, {"correct": 0, "wrong_type": 0, "wrong_boundary": 0, "missed": 0,
                                      "spurious": 0, "examples": defaultdict(list)})

    def example(b: dict, kind: str, doc: Document, s: int, e: int, note: str = "") -> None:
        if len(b["examples"][kind]) < max_examples:
            b["examples"][kind].append({"doc": doc.id, "start": s, "end": e, "text": doc.text[s:e], "note": note})

    for gold, pred in pairs:
        g = {(e.start, e.end, e.type) for e in gold.entities}
        p = {(e.start, e.end, e.type) for e in pred.entities}
        for s, e, t in sorted(g):
            b = bucket(t)
            if (s, e, t) in p:
                b["correct"] += 1
                continue
            same_span = [pt for ps, pe, pt in p if (ps, pe) == (s, e)]
            overlap = [(ps, pe) for ps, pe, pt in p if pt == t and ps < e and s < pe]
            if same_span:
                b["wrong_type"] += 1
                example(b, "wrong_type", gold, s, e, f"predicted {', '.join(sorted(same_span))}")
            elif overlap:
                b["wrong_boundary"] += 1
                ps, pe = overlap[0]
                example(b, "wrong_boundary", gold, s, e, f"predicted {gold.text[ps:pe]!r}")
            else:
                b["missed"] += 1
                example(b, "missed", gold, s, e)
        for s, e, t in sorted(p - g):
            explained = any((gs, ge) == (s, e) for gs, ge, _ in g) or \
                any(gt == t and gs < e and s < ge for gs, ge, gt in g)
            if not explained:
                b = bucket(t)
                b["spurious"] += 1
                example(b, "spurious", gold, s, e)
    for b in out.values():
        b["examples"] = dict(b["examples"])
    return dict(sorted(out.items()))


def score_documents(gold: list[Document], predictions: dict[str, Document]) -> Score:
    """Score predicted Documents (by id) against gold Documents; a gold document without a prediction
    counts as predicting nothing."""
    gold_seqs: list[list[str]] = []
    pred_seqs: list[list[str]] = []
    gold_unit: list[int] = []
    pred_unit: list[int] = []
    trig: dict[str, list[set]] = {"identification": [set(), set()], "classification": [set(), set()]}
    trig_types: dict[str, list[set]] = defaultdict(lambda: [set(), set()])
    args: dict[str, list[set]] = {k: [set(), set()] for k in ARGUMENT_KINDS}
    per_document: dict[str, dict[str, list[int]]] = {}
    pairs = []
    n_tokens = 0
    for k, g in enumerate(gold):
        p = predictions.get(g.id) or Document(g.id, g.text)
        pairs.append((g, p))
        g_ents = [(e.start, e.end, e.type) for e in g.entities]
        p_ents = [(e.start, e.end, e.type) for e in p.entities]
        bounds = [(s, e) for s, e, _ in g_ents + p_ents] + \
                 [(v.trigger.start, v.trigger.end) for v in g.events + p.events]
        tokens = aligned_tokens(g.text, bounds)
        n_tokens += len(tokens)
        for layer in to_bio_layers(tokens, g_ents):
            gold_seqs.append(layer)
            gold_unit.append(k)
        for layer in to_bio_layers(tokens, p_ents):
            pred_seqs.append(layer)
            pred_unit.append(k)
        doc_counts: dict[str, list[int]] = {}
        gt = {(k, v.trigger.start, v.trigger.end, v.type) for v in g.events}
        pt = {(k, v.trigger.start, v.trigger.end, v.type) for v in p.events}
        trig["classification"][0] |= gt
        trig["classification"][1] |= pt
        trig["identification"][0] |= {x[:3] for x in gt}
        trig["identification"][1] |= {x[:3] for x in pt}
        for x in gt:
            trig_types[x[3]][0].add(x)
        for x in pt:
            trig_types[x[3]][1].add(x)
        doc_counts["triggers"] = [len(gt & pt), len(pt), len(gt)]
        ga, pa = _argument_sets(g), _argument_sets(p)
        for name in ga:
            args[name][0] |= {(k, *x) for x in ga[name]}
            args[name][1] |= {(k, *x) for x in pa[name]}
        doc_counts["arguments"] = [len(ga["classification"] & pa["classification"]), len(pa["classification"]),
                                   len(ga["classification"])]
        per_document[g.id] = doc_counts
    tables, per_unit = entity_tables(gold_seqs, pred_seqs, gold_unit, pred_unit)
    for k, g in enumerate(gold):
        per_document[g.id]["entities"] = list(per_unit.get(k, [0, 0, 0]))
    triggers = {name: simple_prf(len(t[0] & t[1]), len(t[1]), len(t[0])) for name, t in trig.items()}
    names = sorted(trig_types)
    counts = [np.array([len(trig_types[n][0] & trig_types[n][1]) for n in names], dtype=np.int64),
              np.array([len(trig_types[n][1]) for n in names], dtype=np.int64),
              np.array([len(trig_types[n][0]) for n in names], dtype=np.int64)]
    triggers["classification"]["per_type"] = prf_from_counts(names, *counts)["per_type"]
    arguments = {name: simple_prf(len(a[0] & a[1]), len(a[1]), len(a[0])) for name, a in args.items()}
    report = {
        "entities": tables,
        "triggers": triggers,
        "arguments": arguments,
        "errors": _error_breakdown(pairs),
        "documents": {"gold": len(gold), "with_predictions": sum(1 for g in gold if g.id in predictions)},
        "tokens": n_tokens,
    }
    return Score(report, per_document)


def bootstrap(per_document: dict[str, dict[str, list[int]]], resamples: int = 1000, seed: int = 20261123,
              ) -> dict[str, list[float]]:
    """95% percentile intervals of the headline F1s, resampling documents with replacement."""
    ids = sorted(per_document)
    if not ids:
        return {}
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(ids), size=(resamples, len(ids)))
    out = {}
    for key, part in zip(HEADLINES, ("entities", "triggers", "arguments")):
        counts = np.array([per_document[i][part] for i in ids], dtype=np.float64)  # tp, npred, ntrue
        f1 = _f1(counts[idx].sum(axis=1))
        out[key] = [float(np.percentile(f1, 2.5)), float(np.percentile(f1, 97.5))]
    return out


def _f1(sums: np.ndarray) -> np.ndarray:
    tp, npred, ntrue = sums[..., 0], sums[..., 1], sums[..., 2]
    with np.errstate(divide="ignore", invalid="ignore"):
        p = np.where(npred > 0, tp / np.where(npred > 0, npred, 1), 0.0)
        r = np.where(ntrue > 0, tp / np.where(ntrue > 0, ntrue, 1), 0.0)
        return np.where(p + r > 0, 2 * p * r / np.where(p + r > 0, p + r, 1), 0.0)


def paired_bootstrap(new: dict[str, dict[str, list[int]]], old: dict[str, dict[str, list[int]]],
                     resamples: int = 1000, seed: int = 20261123) -> dict[str, dict]:
    """Per headline metric: delta (new - old) on the documents both runs scored, its 95% interval, and
    whether it is a significant regression (the whole interval below zero)."""
    ids = sorted(set(new) & set(old))
    out: dict[str, dict] = {}
    if not ids:
        return out
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(ids), size=(resamples, len(ids)))
    for key, part in zip(HEADLINES, ("entities", "triggers", "arguments")):
        a = np.array([new[i][part] for i in ids], dtype=np.float64)
        b = np.array([old[i][part] for i in ids], dtype=np.float64)
        delta = float(_f1(a.sum(axis=0)) - _f1(b.sum(axis=0)))
        deltas = _f1(a[idx].sum(axis=1)) - _f1(b[idx].sum(axis=1))
        lo, hi = float(np.percentile(deltas, 2.5)), float(np.percentile(deltas, 97.5))
        out[key] = {"delta": delta, "ci95": [lo, hi], "p_not_worse": float(np.mean(deltas >= 0)),
                    "documents": len(ids), "significant_regression": bool(delta < 0 and hi < 0)}
    return out
