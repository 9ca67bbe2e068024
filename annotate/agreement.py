"""Inter-annotator agreement for tasks annotated by two or more people.

Span F1 (exact) is computed by seqeval on tokens cut at the union of both annotators' boundaries. Nested
spans are spread over layers assigned on the union of both annotations, so the same span always sits in the
same layer for both people and exact matching never depends on how the other spans nest. Overlap F1,
argument F1, token-level Cohen's kappa and Krippendorff's alpha (nominal) are computed here directly.
"""

from __future__ import annotations

import itertools
from collections import Counter, defaultdict
from collections.abc import Iterable

from seqeval.metrics import classification_report

from .bio import aligned_tokens, assign_layers, to_bio_layers
from .model import Document

TRIGGER = "TRIGGER"


def _shared_layers(tokens, a_spans, b_spans) -> tuple[list[list[str]], list[list[str]]]:
    union = sorted(set(a_spans) | set(b_spans))
    layer_of = dict(zip(union, assign_layers(union)))
    n = max(layer_of.values(), default=0) + 1
    out = []
    for spans in (a_spans, b_spans):
        rows = []
        for layer in range(n):
            rows.append(to_bio_layers(tokens, [s for s in set(spans) if layer_of[s] == layer])[0])
        out.append(rows)
    return out[0], out[1]


def _prf(tp: int, n_pred: int, n_true: int) -> dict:
    p = tp / n_pred if n_pred else 0.0
    r = tp / n_true if n_true else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": p, "recall": r, "f1": f, "tp": tp, "fp": n_pred - tp, "fn": n_true - tp,
            "support": n_true}


def _seqeval_table(y_a: list[list[str]], y_b: list[list[str]]) -> dict:
    """Per-label and micro F1 from seqeval (default mode), A taken as reference; F1 is symmetric."""
    if not any(t != "O" for seq in y_a + y_b for t in seq):
        return {"per_label": {}, "micro": _prf(0, 0, 0)}
    report = classification_report(y_a, y_b, output_dict=True, zero_division=0)
    per_label = {}
    for label, row in report.items():
        if label.endswith(" avg"):
            continue
        per_label[label] = {"precision": float(row["precision"]), "recall": float(row["recall"]),
                            "f1": float(row["f1-score"]), "support": int(row["support"])}
    micro = report["micro avg"]
    return {"per_label": per_label, "micro": {"precision": float(micro["precision"]),
                                              "recall": float(micro["recall"]), "f1": float(micro["f1-score"]),
                                              "support": int(micro["support"])}}


def _overlap_table(pairs: list[tuple[list, list]]) -> dict:
    """Overlap F1 per label: a span counts as found when the other side has a same-label span overlapping it."""
    found_a, found_b, n_a, n_b = Counter(), Counter(), Counter(), Counter()
    for a_spans, b_spans in pairs:
        for mine, theirs, found, n in ((a_spans, b_spans, found_a, n_a), (b_spans, a_spans, found_b, n_b)):
            for s, e, label in mine:
                n[label] += 1
                if any(lab == label and s < e2 and s2 < e for s2, e2, lab in theirs):
                    found[label] += 1
    out = {}
    for label in sorted(set(n_a) | set(n_b)):
        p = found_b[label] / n_b[label] if n_b[label] else 0.0
        r = found_a[label] / n_a[label] if n_a[label] else 0.0
        out[label] = {"precision": p, "recall": r, "f1": 2 * p * r / (p + r) if p + r else 0.0,
                      "support": n_a[label]}
    tot_p = sum(found_b.values()) / sum(n_b.values()) if sum(n_b.values()) else 0.0
    tot_r = sum(found_a.values()) / sum(n_a.values()) if sum(n_a.values()) else 0.0
    micro = {"precision": tot_p, "recall": tot_r, "f1": 2 * tot_p * tot_r / (tot_p + tot_r) if tot_p + tot_r else 0.0,
             "support": sum(n_a.values())}
    return {"per_label": out, "micro": micro}


def _per_role(rows: list[tuple[str, int, int, int]]) -> dict:
    """Argument classification F1 per role from (role, tp, n_b, n_a) rows, A taken as reference."""
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for role, tp, n_pred, n_true in rows:
        t = totals[role]
        t[0], t[1], t[2] = t[0] + tp, t[1] + n_pred, t[2] + n_true
    return {role: _prf(*t) for role, t in sorted(totals.items())}


def argument_tuples(doc: Document, with_role: bool) -> set[tuple]:
    ents = doc.entity_by_id()
    out = set()
    for v in doc.events:
        for a in v.arguments:
            e = ents[a.entity]
            key = (v.trigger.start, v.trigger.end, e.start, e.end)
            out.add(key + ((v.type, a.role) if with_role else ()))
    return out


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


def agreement(annotations: dict[str, list[Document]]) -> dict:
    """Agreement over every task with two or more annotators; pooled figures in `overall`."""
    per_pair: dict[tuple[str, str], dict[str, list]] = defaultdict(lambda: defaultdict(list))
    alpha_units: list[list[str]] = []
    tasks = 0
    for doc_id, docs in sorted(annotations.items()):
        by_person = latest_per_annotator(docs)
        if len(by_person) < 2:
            continue
        tasks += 1
        people = sorted(by_person)
        all_spans = [(e.start, e.end) for d in by_person.values() for e in d.entities] + \
                    [(v.trigger.start, v.trigger.end) for d in by_person.values() for v in d.events]
        text = next(iter(by_person.values())).text
        tokens = aligned_tokens(text, all_spans)
        labels = {p: _outer_labels(tokens, by_person[p]) for p in people}
        for k in range(len(tokens)):
            alpha_units.append([labels[p][k] for p in people])
        for a, b in itertools.combinations(people, 2):
            da, db = by_person[a], by_person[b]
            acc = per_pair[(a, b)]
            acc["tasks"].append(doc_id)
            ea = [(e.start, e.end, e.type) for e in da.entities]
            eb = [(e.start, e.end, e.type) for e in db.entities]
            la, lb = _shared_layers(tokens, ea, eb)
            acc["ent_a"] += la
            acc["ent_b"] += lb
            acc["ent_spans"].append((ea, eb))
            ta = [(v.trigger.start, v.trigger.end, v.type) for v in da.events]
            tb = [(v.trigger.start, v.trigger.end, v.type) for v in db.events]
            la, lb = _shared_layers(tokens, ta, tb)
            acc["trig_a"] += la
            acc["trig_b"] += lb
            ia = [(s, e, TRIGGER) for s, e, _ in ta]
            ib = [(s, e, TRIGGER) for s, e, _ in tb]
            la, lb = _shared_layers(tokens, ia, ib)
            acc["trig_id_a"] += la
            acc["trig_id_b"] += lb
            for with_role, key in ((False, "arg_id"), (True, "arg_cls")):
                sa, sb = argument_tuples(da, with_role), argument_tuples(db, with_role)
                acc[key].append((len(sa & sb), len(sb), len(sa)))
            sa, sb = argument_tuples(da, True), argument_tuples(db, True)
            for role in {t[-1] for t in sa | sb}:
                ra, rb = {t for t in sa if t[-1] == role}, {t for t in sb if t[-1] == role}
                acc["arg_roles"].append((role, len(ra & rb), len(rb), len(ra)))
            acc["kappa_a"] += labels[a]
            acc["kappa_b"] += labels[b]

    def summarise(acc) -> dict:
        args = {}
        for key, name in (("arg_id", "identification"), ("arg_cls", "classification")):
            tp, npred, ntrue = (sum(x[i] for x in acc[key]) for i in range(3))
            args[name] = _prf(tp, npred, ntrue)
        return {
            "tasks": len(acc["tasks"]),
            "entities": {"exact": _seqeval_table(acc["ent_a"], acc["ent_b"]),
                         "overlap": _overlap_table(acc["ent_spans"])},
            "triggers": {"identification": _seqeval_table(acc["trig_id_a"], acc["trig_id_b"]),
                         "classification": _seqeval_table(acc["trig_a"], acc["trig_b"])},
            "arguments": args,
            "token_kappa": cohen_kappa(acc["kappa_a"], acc["kappa_b"]),
        }

    pairs = []
    pooled: dict[str, list] = defaultdict(list)
    for (a, b), acc in sorted(per_pair.items()):
        pairs.append({"a": a, "b": b, **summarise(acc)})
        for key, values in acc.items():
            pooled[key] += values
    out = {"tasks": tasks, "pairs": pairs, "overall": {}}
    if pairs:
        pooled_summary = summarise(pooled)
        out["overall"] = {
            "entities_exact_f1": pooled_summary["entities"]["exact"]["micro"]["f1"],
            "entities_overlap_f1": pooled_summary["entities"]["overlap"]["micro"]["f1"],
            "triggers_identification_f1": pooled_summary["triggers"]["identification"]["micro"]["f1"],
            "triggers_classification_f1": pooled_summary["triggers"]["classification"]["micro"]["f1"],
            "arguments_identification_f1": pooled_summary["arguments"]["identification"]["f1"],
            "arguments_classification_f1": pooled_summary["arguments"]["classification"]["f1"],
            "token_kappa": pooled_summary["token_kappa"],
            "krippendorff_alpha": krippendorff_alpha_nominal(alpha_units),
        }
        out["per_label"] = {"entities_exact": pooled_summary["entities"]["exact"]["per_label"],
                            "entities_overlap": pooled_summary["entities"]["overlap"]["per_label"],
                            "triggers_classification": pooled_summary["triggers"]["classification"]["per_label"],
                            "arguments_classification": _per_role(pooled["arg_roles"])}
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
    return "\n".join(lines)
