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

from ..core.bio import span_boundaries, to_bio_layers
from ..core.chunks import entities
from ..core.model import Document
from ..core.tokenize import token_bounds, tokenize
from ..core.violations import Void
from .matching import ARGUMENT_KINDS, ERROR_KINDS, argument_key, classify_mentions, entity_mentions
from .metrics import prf_arrays, prf_from_counts, prf_table, simple_prf

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


def _count_per_unit(per_unit: dict[int, list[int]], gold: set[tuple], pred: set[tuple]) -> None:
    """Add [tp, predicted, gold] per unit (sentence or document: a key's first item) for the bootstrap."""
    for key in gold:
        per_unit[key[0]][2] += 1
        if key in pred:
            per_unit[key[0]][0] += 1
    for key in pred:
        per_unit[key[0]][1] += 1


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
                _count_per_unit(per_unit, gold_t, pred_t)
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


class _ErrorBreakdown:
    """Per entity type: correct = tp; wrong_type + wrong_boundary + missed = fn (gold mentions of the type);
    wrong_type_predicted + wrong_boundary + spurious = fp (predictions of the type), where
    wrong_type_predicted counts predictions of this type on a span gold gives another type. Fed one document
    at a time; only the first `max_examples` examples of each kind are kept."""

    def __init__(self, max_examples: int = 5) -> None:
        self.out: dict[str, dict] = {}
        self.max_examples = max_examples

    def bucket(self, label: str) -> dict:
        b = self.out.get(label)
        if b is None:
            b = self.out[label] = {**{k: 0 for k in ERROR_KINDS}, "examples": defaultdict(list)}
        return b

    def example(self, b: dict, kind: str, doc: Document, s: int, e: int, note: str = "") -> None:
        if len(b["examples"][kind]) < self.max_examples:
            b["examples"][kind].append({"doc": doc.id, "start": s, "end": e, "text": doc.text[s:e], "note": note})

    def add(self, gold: Document, pred: Document) -> None:
        for kind, gm, pm in classify_mentions(entity_mentions(gold), entity_mentions(pred)):
            if kind == "spurious":
                b = self.bucket(pm[2])
                b["spurious"] += 1
                self.example(b, "spurious", gold, pm[0], pm[1])
                continue
            b = self.bucket(gm[2])
            b[kind] += 1
            if kind == "wrong_type":
                self.bucket(pm[2])["wrong_type_predicted"] += 1
                self.example(b, kind, gold, gm[0], gm[1], f"predicted {pm[2]}")
            elif kind == "wrong_boundary":
                self.example(b, kind, gold, gm[0], gm[1], f"predicted {gold.text[pm[0]:pm[1]]!r}")
            elif kind == "missed":
                self.example(b, kind, gold, gm[0], gm[1])

    def result(self) -> dict:
        return dict(sorted((k, {**b, "examples": dict(b["examples"])}) for k, b in self.out.items()))


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
    scorer = DocumentScorer(events_applicable)
    for g in gold:
        scorer.add(g, predictions.get(g.id), void.get(g.id, set()))
    return scorer.result()


def _add_counts(into: list[int], tp: int, npred: int, ntrue: int) -> None:
    into[0] += tp
    into[1] += npred
    into[2] += ntrue


class DocumentScorer:
    """`score_documents` one document at a time, for a stream of any length: the sets of one batch of
    documents are matched and reduced to counts (documents never share a set element: every key holds the
    document's number), so memory holds one batch plus the counts: per type, and three triples per document
    for the bootstrap. The numbers are those of matching everything at once; documents are batched only to
    share the tagging caches of `chunks`."""

    def __init__(self, events_applicable: bool = True, batch: int = 256, max_examples: int = 5) -> None:
        self.events_applicable = events_applicable
        self.batch_size = batch
        self.batch: list[tuple[Document, Document, set[Void]]] = []
        self.entity_counts: dict[str, dict[str, list[int]]] = {"default": {}, "strict": {}}
        self.trig = {"identification": [0, 0, 0], "classification": [0, 0, 0]}
        self.trig_types: dict[str, list[int]] = {}
        self.args = {k: [0, 0, 0] for k in ARGUMENT_KINDS}
        self.per_document: dict[str, dict[str, list[int]]] = {}
        self.errors = _ErrorBreakdown(max_examples)
        self.documents = 0
        self.with_predictions = 0
        self.tokens = 0  # the gold set's own tokens (cut at the gold spans' edges only), whatever is predicted
        self.scored_tokens = 0  # the tokens the entity tags were compared on (cut at both sides' span edges)

    def add(self, gold: Document, pred: Document | None, void: set[Void] | None = None) -> None:
        """One gold document and its prediction (None: predicts nothing)."""
        self.documents += 1
        if pred is not None:
            self.with_predictions += 1
        p = pred or Document(gold.id, gold.text)
        self.errors.add(gold, p)
        self.batch.append((gold, p, void or set()))
        if len(self.batch) >= self.batch_size:
            self._flush()

    def _flush(self) -> None:
        gold_seqs: list[list[str]] = []
        pred_seqs: list[list[str]] = []
        gold_unit: list[int] = []
        pred_unit: list[int] = []
        for k, (g, p, p_void) in enumerate(self.batch):
            g_ents = [(e.start, e.end, e.type) for e in g.entities]
            p_ents = [(e.start, e.end, e.type) for e in p.entities]
            gold_cuts = span_boundaries([(s, e) for s, e, _ in g_ents] + [(v.trigger.start, v.trigger.end)
                                                                           for v in g.events])
            cuts = gold_cuts | span_boundaries([(s, e) for s, e, _ in p_ents] + [(v.trigger.start, v.trigger.end)
                                                                                for v in p.events])
            tokens = tokenize(g.text, cuts)
            self.scored_tokens += len(tokens)
            # the gold count needs a second cut only when the prediction adds span edges of its own
            self.tokens += len(tokens) if cuts == gold_cuts else len(token_bounds(g.text, gold_cuts)[0])
            for layer in to_bio_layers(tokens, g_ents):
                gold_seqs.append(layer)
                gold_unit.append(k)
            for layer in to_bio_layers(tokens, p_ents):
                pred_seqs.append(layer)
                pred_unit.append(k)
            doc_counts: dict[str, list[int]] = {}
            gt = _trigger_set(g, k, set())
            pt = _trigger_set(p, k, p_void)
            gi, pi = {x[:3] for x in gt}, {x[:3] for x in pt}
            _add_counts(self.trig["classification"], len(gt & pt), len(pt), len(gt))
            _add_counts(self.trig["identification"], len(gi & pi), len(pi), len(gi))
            for x in gt:
                c = self.trig_types.setdefault(x[3], [0, 0, 0])
                c[2] += 1
                c[0] += x in pt
            for x in pt:
                self.trig_types.setdefault(x[3], [0, 0, 0])[1] += 1
            doc_counts["triggers"] = [len(gt & pt), len(pt), len(gt)]
            ga, pa = _argument_sets(g, set()), _argument_sets(p, p_void)
            for name in ga:
                _add_counts(self.args[name], len(ga[name] & pa[name]), len(pa[name]), len(ga[name]))
            doc_counts["arguments"] = [len(ga["classification"] & pa["classification"]), len(pa["classification"]),
                                       len(ga["classification"])]
            self.per_document[g.id] = doc_counts
        for mode, counts in self.entity_counts.items():
            true_by_type = entity_sets(gold_seqs, gold_unit, mode)
            pred_by_type = entity_sets(pred_seqs, pred_unit, mode)
            per_unit: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0])
            for t in set(true_by_type) | set(pred_by_type):
                gold_t, pred_t = true_by_type.get(t, set()), pred_by_type.get(t, set())
                _add_counts(counts.setdefault(t, [0, 0, 0]), len(gold_t & pred_t), len(pred_t), len(gold_t))
                if mode == "strict":
                    _count_per_unit(per_unit, gold_t, pred_t)
            if mode == "strict":
                for k, (g, _, _) in enumerate(self.batch):
                    self.per_document[g.id]["entities"] = list(per_unit.get(k, [0, 0, 0]))
        self.batch = []

    def result(self) -> Score:
        if self.batch:
            self._flush()
        tables: dict[str, dict] = {}
        for mode, counts in self.entity_counts.items():
            names = sorted(counts)
            table = prf_from_counts(names, *(np.array([counts[n][i] for n in names], dtype=np.int64)
                                             for i in range(3)))
            table["mode"] = mode_description(mode)
            if mode == "strict":
                table["scheme"] = "IOB2"
            tables[mode] = table
        triggers = {name: simple_prf(*t) for name, t in self.trig.items()}
        names = sorted(self.trig_types)
        triggers["classification"]["per_type"] = prf_from_counts(
            names, *(np.array([self.trig_types[n][i] for n in names], dtype=np.int64) for i in range(3)))["per_type"]
        arguments = {name: simple_prf(*a) for name, a in self.args.items()}
        if not self.events_applicable:
            triggers, arguments = _not_applicable(triggers), _not_applicable(arguments)
        report = {
            "entities": tables,
            "triggers": triggers,
            "arguments": arguments,
            "errors": self.errors.result(),
            "documents": {"gold": self.documents, "with_predictions": self.with_predictions},
            "tokens": self.tokens,
            "scored_tokens": self.scored_tokens,
        }
        return Score(report, self.per_document)


def bootstrap(per_document: dict[str, dict[str, list[int]]], resamples: int = 1000, seed: int = 20261123,
              headlines: Sequence[str] = HEADLINES) -> dict[str, list[float]]:
    """95% percentile intervals of the headline F1s, resampling documents with replacement."""
    ids = sorted(per_document)
    if not ids:
        return {}
    parts = [key.split(".")[0] for key in headlines]
    counts = [np.array([per_document[i][part] for i in ids], dtype=np.float64) for part in parts]  # tp, npred, ntrue
    f1s: list[list[np.ndarray]] = [[] for _ in headlines]
    for idx in _resamples(np.random.default_rng(seed), len(ids), resamples):
        for k, c in enumerate(counts):
            f1s[k].append(_f1(c[idx].sum(axis=1)))
    out = {}
    for key, parts_f1 in zip(headlines, f1s):
        f1 = np.concatenate(parts_f1)
        out[key] = [float(np.percentile(f1, 2.5)), float(np.percentile(f1, 97.5))]
    return out


RESAMPLE_CELLS = 2_000_000  # resampled document indices drawn at a time (16 MB), whatever the number of documents


def _resamples(rng: np.random.Generator, n: int, resamples: int):
    """The rows of `rng.integers(0, n, size=(resamples, n))`, drawn a block of rows at a time so that memory does
    not grow with resamples x documents. Blocks hold an even number of rows: numpy draws these integers 32 bits
    at a time from 64-bit outputs, and a block of an odd number of them would drop a half and shift every later
    draw; with an even count the blocks are exactly the rows one call would give. Sums of resampled counts are
    sums of integers (exact in float64), so block by block they are the same numbers too."""
    rows = max(2, (RESAMPLE_CELLS // max(n, 1)) // 2 * 2)
    done = 0
    while done < resamples:
        take = min(rows, resamples - done)
        yield rng.integers(0, n, size=(take, n))
        done += take


def _f1(sums: np.ndarray) -> np.ndarray:
    """F1 of (tp, npred, ntrue) count triples along the last axis."""
    return prf_arrays(sums[..., 0], sums[..., 1], sums[..., 2])[2]


def paired_bootstrap(new: dict[str, dict[str, list[int]]], old: dict[str, dict[str, list[int]]],
                     resamples: int = 1000, seed: int = 20261123) -> dict[str, dict]:
    """Per headline metric: delta (new - old) on the documents (CoNLL: sentences) both runs scored, its 95%
    interval, and whether it is a significant regression (the whole interval below zero). Only the parts both
    sides count for every unit are tested (CoNLL reports count entities only); no resamples, no test."""
    ids = sorted(set(new) & set(old))
    out: dict[str, dict] = {}
    if not ids or resamples < 1:
        return out
    tested = [(key, part) for key, part in zip(HEADLINES, ("entities", "triggers", "arguments"))
              if all(part in new[i] and part in old[i] for i in ids)]
    arrays = [(np.array([new[i][part] for i in ids], dtype=np.float64),
               np.array([old[i][part] for i in ids], dtype=np.float64))
              for _, part in tested]
    blocks: list[list[np.ndarray]] = [[] for _ in arrays]
    for idx in _resamples(np.random.default_rng(seed), len(ids), resamples):
        for k, (a, b) in enumerate(arrays):
            blocks[k].append(_f1(a[idx].sum(axis=1)) - _f1(b[idx].sum(axis=1)))
    for (key, _), (a, b), block in zip(tested, arrays, blocks):
        delta = float(_f1(a.sum(axis=0)) - _f1(b.sum(axis=0)))
        deltas = np.concatenate(block)
        lo, hi = float(np.percentile(deltas, 2.5)), float(np.percentile(deltas, 97.5))
        out[key] = {"delta": delta, "ci95": [lo, hi], "p_not_worse": float(np.mean(deltas >= 0)),
                    "documents": len(ids), "significant_regression": bool(delta < 0 and hi < 0)}
    return out
