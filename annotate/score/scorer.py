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
from ..chunks import entities
from ..model import Document
from .matching import ARGUMENT_KINDS, ERROR_KINDS, argument_key, classify_mentions, entity_mentions
from .metrics import prf_arrays, prf_from_counts, prf_table, simple_prf
from .violations import Void

HEADLINES = ("entities.strict.micro.f1", "triggers.classification.f1", "arguments.classification.f1")
NO_EVENT_TYPES = "not applicable: the schema defines no event types"


def mode_description(mode: str, scheme: str = "IOB2") -> str:
    if mode == "default":
        return "seqeval default mode (conlleval-compatible chunking; lenient on ill-formed tags)"
    return (f"seqeval mode='strict', scheme={scheme} (an entity must start, continue and end as {scheme} "
            "says; ill-formed spans are dropped)")


def entity_sets(seqs: Sequence[Sequence[str]], unit_of: Sequence[int] | None, mode: str, scheme: str = "IOB2",
                suffix: bool = False) -> dict[str, set]:
    """Entities by type, each keyed (unit, first token, last token + 1)."""
    return _keyed(entities(seqs, mode, scheme, suffix), unit_of)


def entity_tables(gold_seqs: Sequence[Sequence[str]], pred_seqs: Sequence[Sequence[str]],
                  gold_unit: Sequence[int] | None = None, pred_unit: Sequence[int] | None = None,
                  modes: Sequence[str] = ("default", "strict"), scheme: str = "IOB2", suffix: bool = False,
                  ) -> tuple[dict, dict]:
    """(tables per mode, per-unit strict counts). `*_unit[i]` names the unit (document) of sequence i; by
    default every sequence is its own unit, which is exactly seqeval's view of a list of sentences."""
    tables: dict[str, dict] = {}
    per_unit: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0])
    for mode in modes:
        true_by_type = entity_sets(gold_seqs, gold_unit, mode, scheme, suffix)
        pred_by_type = entity_sets(pred_seqs, pred_unit, mode, scheme, suffix)
        table = prf_table(true_by_type, pred_by_type)
        table["mode"] = mode_description(mode, scheme)
        if mode == "strict":
            table["scheme"] = scheme
            for t in set(true_by_type) | set(pred_by_type):
                gold_t, pred_t = true_by_type.get(t, set()), pred_by_type.get(t, set())
                for key in gold_t:
                    per_unit[key[0]][2] += 1
                    if key in pred_t:
                        per_unit[key[0]][0] += 1
                for key in pred_t:
                    per_unit[key[0]][1] += 1
        tables[mode] = table
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


def _argument_sets(doc: Document, void: set[Void]) -> dict[str, set[tuple]]:
    """Argument tuples per kind; an argument that breaks the schema gets a tuple of its own that no gold
    tuple equals, so it counts as one wrong prediction in every kind."""
    ents = doc.entity_by_id()
    out: dict[str, set[tuple]] = {k: set() for k in ARGUMENT_KINDS}
    for v in doc.events:
        for k, a in enumerate(v.arguments):
            if ("event", v.id) in void or ("argument", v.id, str(k)) in void:
                for kind in ARGUMENT_KINDS:
                    out[kind].add(("schema violation", v.id, k))
                continue
            for kind in ARGUMENT_KINDS:
                out[kind].add(argument_key(v, ents[a.entity], a.role, kind))
    return out


def _trigger_set(doc: Document, k: int, void: set[Void]) -> set[tuple]:
    """(document, start, end, type) per trigger; a trigger of an event type the schema lacks gets a tuple
    of its own, so it cannot match even for identification."""
    return {(k, v.trigger.start, v.trigger.end, v.type) if ("event", v.id) not in void
            else (k, "schema violation", v.id, v.type) for v in doc.events}


def _error_breakdown(pairs: list[tuple[Document, Document]], max_examples: int = 5) -> dict:
    """Per entity type: correct = tp; wrong_type + wrong_boundary + missed = fn (gold mentions of the type);
    wrong_type_predicted + wrong_boundary + spurious = fp (predictions of the type), where
    wrong_type_predicted counts predictions of this type on a span gold gives another type."""
    out: dict[str, dict] = {}

    def bucket(label: str) -> dict:
        b = out.get(label)
        if b is None:
            b = out[label] = {**{k: 0 for k in ERROR_KINDS}, "examples": defaultdict(list)}
        return b

    def example(b: dict, kind: str, doc: Document, s: int, e: int, note: str = "") -> None:
        if len(b["examples"][kind]) < max_examples:
            b["examples"][kind].append({"doc": doc.id, "start": s, "end": e, "text": doc.text[s:e], "note": note})

    for gold, pred in pairs:
        for kind, gm, pm in classify_mentions(entity_mentions(gold), entity_mentions(pred)):
            if kind == "spurious":
                b = bucket(pm[2])
                b["spurious"] += 1
                example(b, "spurious", gold, pm[0], pm[1])
                continue
            b = bucket(gm[2])
            b[kind] += 1
            if kind == "wrong_type":
                bucket(pm[2])["wrong_type_predicted"] += 1
                example(b, kind, gold, gm[0], gm[1], f"predicted {pm[2]}")
            elif kind == "wrong_boundary":
                example(b, kind, gold, gm[0], gm[1], f"predicted {gold.text[pm[0]:pm[1]]!r}")
            elif kind == "missed":
                example(b, kind, gold, gm[0], gm[1])
    for b in out.values():
        b["examples"] = dict(b["examples"])
    return dict(sorted(out.items()))


def _without_rates(row: dict) -> dict:
    out = {**row, "precision": None, "recall": None, "f1": None}
    if "per_type" in row:
        out["per_type"] = {t: _without_rates(r) for t, r in row["per_type"].items()}
    return out


def _not_applicable(section: dict[str, dict]) -> dict:
    """The counts stay (they show any predicted events, all of them schema violations); the rates do not
    exist, and a 0.000 would read as a measured failure."""
    return {"applicable": False, "note": NO_EVENT_TYPES, **{k: _without_rates(r) for k, r in section.items()}}


def score_documents(gold: list[Document], predictions: dict[str, Document],
                    void: dict[str, set[Void]] | None = None, events_applicable: bool = True) -> Score:
    """Score predicted Documents (by id) against gold Documents; a gold document without a prediction
    counts as predicting nothing. `void` names predicted elements that break the schema (scored, never
    matched); without event types in the schema, trigger and argument rates are not applicable."""
    void = void or {}
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
        p_void = void.get(g.id, set())
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
        gt = _trigger_set(g, k, set())
        pt = _trigger_set(p, k, p_void)
        trig["classification"][0] |= gt
        trig["classification"][1] |= pt
        trig["identification"][0] |= {x[:3] for x in gt}
        trig["identification"][1] |= {x[:3] for x in pt}
        for x in gt:
            trig_types[x[3]][0].add(x)
        for x in pt:
            trig_types[x[3]][1].add(x)
        doc_counts["triggers"] = [len(gt & pt), len(pt), len(gt)]
        ga, pa = _argument_sets(g, set()), _argument_sets(p, p_void)
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
    if not events_applicable:
        triggers, arguments = _not_applicable(triggers), _not_applicable(arguments)
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
              headlines: Sequence[str] = HEADLINES) -> dict[str, list[float]]:
    """95% percentile intervals of the headline F1s, resampling documents with replacement."""
    ids = sorted(per_document)
    if not ids:
        return {}
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(ids), size=(resamples, len(ids)))
    out = {}
    for key in headlines:
        part = key.split(".")[0]
        counts = np.array([per_document[i][part] for i in ids], dtype=np.float64)  # tp, npred, ntrue
        f1 = _f1(counts[idx].sum(axis=1))
        out[key] = [float(np.percentile(f1, 2.5)), float(np.percentile(f1, 97.5))]
    return out


def _f1(sums: np.ndarray) -> np.ndarray:
    """F1 of (tp, npred, ntrue) count triples along the last axis."""
    return prf_arrays(sums[..., 0], sums[..., 1], sums[..., 2])[2]


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
