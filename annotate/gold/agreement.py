"""Inter-annotator agreement for tasks annotated by two or more people, measured by the extractor scorer.

Each pair of annotators is scored with `score.scorer.score_documents`, one annotator taken as gold and the
other as the prediction (F1 is symmetric), so every figure here is the very metric an extractor report shows
under the same name: entities in seqeval's strict and default modes on tokens cut at both annotators'
boundaries, triggers and arguments as the scorer keys them (`score.matching`). The pooled figures are what a
score report prints as the human ceiling beside each headline (`overall.metrics`, keyed like the report).
Overlap F1 (same type, overlapping span), token-level Cohen's kappa and Krippendorff's alpha are added here.
"""

from __future__ import annotations

import itertools
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import replace

from ..core.bio import aligned_tokens, to_bio_layers
from ..core.model import Document
from ..score.matching import argument_keys, entity_mentions, overlaps_same_type
from ..score.metrics import f1_from, prf_table, ratio
from ..score.scorer import score_documents

# The headline-style keys the ceiling is given under: each one is the same lookup in a score report.
CEILING_METRICS = ("entities.strict.micro.f1", "entities.default.micro.f1", "triggers.identification.f1",
                   "triggers.classification.f1", "arguments.identification.f1", "arguments.classification.f1",
                   "arguments.identification_with_trigger.f1", "arguments.classification_with_trigger.f1")


def cohen_kappa(a: list[str], b: list[str]) -> float | None:
    n = len(a)
    if n == 0:
        return None
    po = sum(x == y for x, y in zip(a, b)) / n
    ca, cb = Counter(a), Counter(b)
    pe = sum(ca[k] * cb[k] for k in set(ca) | set(cb)) / (n * n)
    if pe == 1.0:
        return None  # both annotators used one and the same label everywhere: kappa is undefined
    return (po - pe) / (1 - pe)


def krippendorff_alpha_nominal(units: Iterable[list[str]]) -> float | None:
    """Krippendorff's alpha for nominal data; each unit lists the values its annotators gave (>= 2 used)."""
    coincidence: dict[tuple[str, str], float] = defaultdict(float)
    for values in units:
        m = len(values)
        if m < 2:
            continue
        for i, j in itertools.permutations(range(m), 2):
            coincidence[(values[i], values[j])] += 1.0 / (m - 1)
    n_c: Counter = Counter()
    for (c, _), w in coincidence.items():
        n_c[c] += w
    n = sum(n_c.values())
    if n <= 1:
        return None
    d_o = sum(w for (c, k), w in coincidence.items() if c != k)
    d_e = sum(n_c[c] * n_c[k] for c in n_c for k in n_c if c != k) / (n - 1)
    if d_e == 0:
        return None
    return 1.0 - d_o / d_e


def _outer_labels(tokens, doc: Document) -> list[str]:
    layer0 = to_bio_layers(tokens, [(e.start, e.end, e.type) for e in doc.entities])[0]
    return [t[2:] if t != "O" else "O" for t in layer0]


def latest_per_annotator(docs: list[Document]) -> dict[str, Document]:
    """One annotation per person (their last one): a second submission replaces the first."""
    out: dict[str, Document] = {}
    for d in docs:
        out[d.provenance.annotators[0] if d.provenance.annotators else "unknown"] = d
    return out


def _lookup(report: dict, key: str):
    node = report
    for part in key.split("."):
        node = node[part]
    return node


def _summary(a_docs: list[Document], b_docs: list[Document]) -> dict:
    """One comparison, A as gold and B as prediction, with the scorer (plus overlap and per-role tables)."""
    score = score_documents(a_docs, {d.id: d for d in b_docs}).report
    strict = score["entities"]["strict"]
    a_sets: dict[str, set] = defaultdict(set)
    b_sets: dict[str, set] = defaultdict(set)
    found_a, found_b = Counter(), Counter()  # mentions of one side that the other side overlaps
    for da, db in zip(a_docs, b_docs):
        ea, eb = entity_mentions(da), entity_mentions(db)
        for m in ea:
            a_sets[m[2]].add((da.id, m))
            found_a[m[2]] += overlaps_same_type(m, eb)
        for m in eb:
            b_sets[m[2]].add((db.id, m))
            found_b[m[2]] += overlaps_same_type(m, ea)

    def overlap_row(found_in_b: int, n_b: int, found_in_a: int, n_a: int) -> dict:
        # precision: B's mentions that A overlaps; recall: A's mentions that B overlaps
        p, r = ratio(found_in_b, n_b), ratio(found_in_a, n_a)
        return {"precision": p, "recall": r, "f1": float(f1_from(p, r)), "support": n_a}

    labels = sorted(set(a_sets) | set(b_sets))
    overlap = {t: overlap_row(found_b[t], len(b_sets[t]), found_a[t], len(a_sets[t])) for t in labels}
    overlap_micro = overlap_row(sum(found_b.values()), sum(len(v) for v in b_sets.values()),
                                sum(found_a.values()), sum(len(v) for v in a_sets.values()))
    roles_a: dict[str, set] = defaultdict(set)
    roles_b: dict[str, set] = defaultdict(set)
    for da, db in zip(a_docs, b_docs):
        for key in argument_keys(da, "classification"):
            roles_a[key[1]].add((da.id, key))
        for key in argument_keys(db, "classification"):
            roles_b[key[1]].add((db.id, key))
    trig = score["triggers"]
    return {
        "score": score,
        "entities": {"exact": {"per_label": strict["per_type"], "micro": strict["micro"]},
                     "overlap": {"per_label": overlap, "micro": overlap_micro}},
        "triggers": {"identification": {"per_label": {}, "micro": trig["identification"]},
                     "classification": {"per_label": trig["classification"].get("per_type", {}),
                                        "micro": {k: v for k, v in trig["classification"].items()
                                                  if k != "per_type"}}},
        "arguments": dict(score["arguments"]),
        "arguments_per_role": prf_table(roles_a, roles_b)["per_type"],
    }


UNSET = "(unset)"  # an attribute one annotator left without a value, compared like any other value


def _attribute_values(a_docs: list[Document], b_docs: list[Document]) -> dict[str, tuple[list[str], list[str]]]:
    """Per attribute name, the two annotators' values on each trigger span both marked (whatever type each gave
    it: a type disagreement is counted by the trigger figures, not here)."""
    out: dict[str, tuple[list[str], list[str]]] = defaultdict(lambda: ([], []))
    for da, db in zip(a_docs, b_docs):
        b_events = {(v.trigger.start, v.trigger.end): v for v in db.events}
        for va in da.events:
            vb = b_events.get((va.trigger.start, va.trigger.end))
            if vb is None:
                continue
            for name in sorted(set(va.attributes) | set(vb.attributes)):
                out[name][0].append(va.attributes.get(name, UNSET))
                out[name][1].append(vb.attributes.get(name, UNSET))
    return out


def attribute_agreement(values: dict[str, tuple[list[str], list[str]]]) -> dict:
    """Per attribute (realis ...): triggers compared, values agreed, their share and Cohen's kappa."""
    out = {}
    for name, (a, b) in sorted(values.items()):
        agreed = sum(x == y for x, y in zip(a, b))
        out[name] = {"compared": len(a), "agreed": agreed, "accuracy": ratio(agreed, len(a)) if a else None,
                     "kappa": cohen_kappa(a, b)}
    return out


def agreement(annotations: dict[str, list[Document]]) -> dict:
    """Agreement over every task with two or more annotators: per pair, and pooled over all pairs in
    `overall` (its `metrics` are the human ceiling, keyed as in a score report)."""
    pairs_docs: dict[tuple[str, str], tuple[list[Document], list[Document]]] = defaultdict(lambda: ([], []))
    kappa_labels: dict[tuple[str, str], tuple[list[str], list[str]]] = defaultdict(lambda: ([], []))
    alpha_units: list[list[str]] = []
    tasks = 0
    for _doc_id, docs in sorted(annotations.items()):
        by_person = latest_per_annotator(docs)
        if len(by_person) < 2:
            continue
        tasks += 1
        people = sorted(by_person)
        spans = [(e.start, e.end) for d in by_person.values() for e in d.entities] + \
                [(v.trigger.start, v.trigger.end) for d in by_person.values() for v in d.events]
        tokens = aligned_tokens(next(iter(by_person.values())).text, spans)
        labels = {p: _outer_labels(tokens, by_person[p]) for p in people}
        alpha_units += [[labels[p][k] for p in people] for k in range(len(tokens))]
        for a, b in itertools.combinations(people, 2):
            pairs_docs[(a, b)][0].append(by_person[a])
            pairs_docs[(a, b)][1].append(by_person[b])
            kappa_labels[(a, b)][0].extend(labels[a])
            kappa_labels[(a, b)][1].extend(labels[b])
    pairs = []
    pooled_a: list[Document] = []
    pooled_b: list[Document] = []
    pooled_values: dict[str, tuple[list[str], list[str]]] = defaultdict(lambda: ([], []))
    for (a, b), (a_docs, b_docs) in sorted(pairs_docs.items()):
        summary = _summary(a_docs, b_docs)
        summary.pop("score")
        values = _attribute_values(a_docs, b_docs)
        for name, (va, vb) in values.items():
            pooled_values[name][0].extend(va)
            pooled_values[name][1].extend(vb)
        pairs.append({"a": a, "b": b, "tasks": len(a_docs), **summary,
                      "token_kappa": cohen_kappa(*kappa_labels[(a, b)]), "attributes": attribute_agreement(values)})
        # pooled over pairs: a document id per pair, so the same article compared twice counts twice
        pooled_a += [replace(d, id=f"{a}~{b}/{d.id}") for d in a_docs]
        pooled_b += [replace(d, id=f"{a}~{b}/{d.id}") for d in b_docs]
    out: dict = {"tasks": tasks, "pairs": pairs, "overall": {}}
    if pairs:
        pooled = _summary(pooled_a, pooled_b)
        all_a = [x for a_list, _ in kappa_labels.values() for x in a_list]
        all_b = [x for _, b_list in kappa_labels.values() for x in b_list]
        out["overall"] = {
            "entities_exact_f1": pooled["entities"]["exact"]["micro"]["f1"],
            "entities_overlap_f1": pooled["entities"]["overlap"]["micro"]["f1"],
            "triggers_identification_f1": pooled["triggers"]["identification"]["micro"]["f1"],
            "triggers_classification_f1": pooled["triggers"]["classification"]["micro"]["f1"],
            "arguments_identification_f1": pooled["arguments"]["identification"]["f1"],
            "arguments_classification_f1": pooled["arguments"]["classification"]["f1"],
            "token_kappa": cohen_kappa(all_a, all_b),
            "krippendorff_alpha": krippendorff_alpha_nominal(alpha_units),
            "metrics": {key: _lookup(pooled["score"], key) for key in CEILING_METRICS},
            "attributes": attribute_agreement(pooled_values),
        }
        out["per_label"] = {"entities_exact": pooled["entities"]["exact"]["per_label"],
                            "entities_overlap": pooled["entities"]["overlap"]["per_label"],
                            "triggers_classification": pooled["triggers"]["classification"]["per_label"],
                            "arguments_classification": pooled["arguments_per_role"]}
    return out


def agreement_table(report: dict) -> str:
    """Plain-text tables: per annotator pair, then per label."""
    if not report.get("pairs"):
        return "No task was annotated by two or more people; nothing to compare."

    def fmt(x):
        return "  n/a" if x is None else f"{x:5.3f}"

    lines = [f"Agreement over {report['tasks']} task(s) with two or more annotators", "",
             f"{'pair':<40} {'tasks':>5} {'ent F1':>7} {'ent ovl':>7} {'trig id':>7} {'trig cl':>7} "
             f"{'arg id':>7} {'arg cl':>7} {'kappa':>6}"]
    for p in report["pairs"]:
        cells = [p["entities"]["exact"]["micro"]["f1"], p["entities"]["overlap"]["micro"]["f1"],
                 p["triggers"]["identification"]["micro"]["f1"], p["triggers"]["classification"]["micro"]["f1"],
                 p["arguments"]["identification"]["f1"], p["arguments"]["classification"]["f1"]]
        lines.append(f"{(p['a'] + ' ~ ' + p['b'])[:40]:<40} {p['tasks']:>5} "
                     + " ".join(f"{fmt(x):>7}" for x in cells) + f" {fmt(p['token_kappa']):>6}")
    o = report["overall"]
    lines += ["", f"Krippendorff's alpha (nominal, tokens): {fmt(o['krippendorff_alpha'])}; "
                  f"pooled token kappa: {fmt(o['token_kappa'])}", "",
              f"{'label':<34} {'exact F1':>8} {'overlap F1':>10} {'support':>8}"]
    exact, overlap = report["per_label"]["entities_exact"], report["per_label"]["entities_overlap"]
    for label in sorted(set(exact) | set(overlap)):
        e, ov = exact.get(label, {}), overlap.get(label, {})
        support = e.get("support", ov.get("support", 0))
        lines.append(f"{label:<34} {fmt(e.get('f1')):>8} {fmt(ov.get('f1')):>10} {support:>8}")
    for label, row in sorted(report["per_label"]["triggers_classification"].items()):
        lines.append(f"{'trigger ' + label:<34} {fmt(row['f1']):>8} {'':>10} {row['support']:>8}")
    for role, row in report["per_label"].get("arguments_classification", {}).items():
        lines.append(f"{'argument ' + role:<34} {fmt(row['f1']):>8} {'':>10} {row['support']:>8}")
    lines += attribute_lines(o.get("attributes", {}))
    return "\n".join(lines)


def attribute_lines(attributes: dict, indent: str = "") -> list[str]:
    """One line per attribute: values agreed on the triggers both annotators marked, and kappa."""
    def fmt(x):
        return "n/a" if x is None else f"{x:.3f}"

    return [f"{indent}attribute {name}: {row['agreed']}/{row['compared']} trigger(s) with the same value "
            f"(accuracy {fmt(row['accuracy'])}, kappa {fmt(row['kappa'])})" for name, row in attributes.items()]
