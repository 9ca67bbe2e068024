"""Speed of the entity report against seqeval's own, on one synthetic corpus, measured in one run.

Reference: seqeval `classification_report` in default mode plus in `mode="strict", scheme=IOB2` on the same
tag lists. Ours: `annotate.score.scorer.entity_tables` (both modes, per type, micro/macro/weighted). The
numbers must be identical; the script fails otherwise. Target: ours takes at most 0.25 of seqeval's time.

    python bench/score_speed.py            # 1,000,000 tokens
    python bench/score_speed.py --tokens 200000
"""

from __future__ import annotations

import argparse
import gc
import random
import sys
import time
import tracemalloc
import warnings

from seqeval.metrics import classification_report
from seqeval.scheme import IOB2

from annotate.score.scorer import entity_tables

TYPES = ["PER", "ORG", "GPE", "LOC", "TIME"]


def synthetic(n_tokens: int, seed: int = 2026) -> tuple[list[list[str]], list[list[str]]]:
    """Sentences of ~30 tokens, 5 types, ~15% of tokens inside entities, ~10% of entities corrupted."""
    rng = random.Random(seed)
    gold: list[list[str]] = []
    pred: list[list[str]] = []
    made = 0
    while made < n_tokens:
        length = max(5, min(n_tokens - made, int(rng.gauss(30, 6))))
        g = ["O"] * length
        p = ["O"] * length
        i = 0
        while i < length:
            # entity starts chosen so that about 15% of tokens end up inside entities (mean length 2)
            if rng.random() < 0.088:
                n = min(length - i, rng.choice((1, 2, 2, 3)))
                t = rng.choice(TYPES)
                g[i] = f"B-{t}"
                for k in range(i + 1, i + n):
                    g[k] = f"I-{t}"
                p[i:i + n] = g[i:i + n]
                if rng.random() < 0.10:  # corrupt this entity in the prediction
                    kind = rng.choice(("type", "drop", "shift", "broken"))
                    if kind == "type":
                        t2 = rng.choice([x for x in TYPES if x != t])
                        p[i:i + n] = [f"B-{t2}"] + [f"I-{t2}"] * (n - 1)
                    elif kind == "drop":
                        p[i:i + n] = ["O"] * n
                    elif kind == "shift" and i + n < length:
                        p[i:i + n + 1] = ["O"] + [f"B-{t}"] + [f"I-{t}"] * (n - 1)
                    else:  # an I- with no B-: the modes disagree on it
                        p[i] = f"I-{t}"
                i += n + 1
            else:
                i += 1
        gold.append(g)
        pred.append(p)
        made += length
    return gold, pred


def seqeval_reports(gold, pred):
    return (classification_report(gold, pred, output_dict=True, zero_division=0),
            classification_report(gold, pred, output_dict=True, zero_division=0, mode="strict", scheme=IOB2))


def ours(gold, pred):
    return entity_tables(gold, pred)[0]


def same_numbers(mine: dict, theirs: dict) -> bool:
    for label, row in theirs.items():
        m = {"micro avg": mine["micro"], "macro avg": mine["macro"], "weighted avg": mine["weighted"]}.get(label) \
            or mine["per_type"].get(label)
        if m is None or (m["precision"], m["recall"], m["f1"], m["support"]) != \
                (row["precision"], row["recall"], row["f1-score"], row["support"]):
            return False
    return True


def timed(fn, *args):
    gc.collect()
    t = time.perf_counter()
    out = fn(*args)
    return out, time.perf_counter() - t


def peak_mib(fn, *args) -> float:
    gc.collect()
    tracemalloc.start()
    fn(*args)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / 2 ** 20


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tokens", type=int, default=1_000_000)
    args = ap.parse_args()
    warnings.filterwarnings("ignore")
    gold, pred = synthetic(args.tokens)
    n_tok = sum(map(len, gold))
    in_entities = sum(t != "O" for s in gold for t in s) / n_tok
    print(f"corpus: {n_tok:,} tokens, {len(gold):,} sentences, {in_entities:.1%} of tokens in entities")
    (ref_default, ref_strict), t_ref = timed(seqeval_reports, gold, pred)
    tables, t_ours = timed(ours, gold, pred)
    identical = same_numbers(tables["default"], ref_default) and same_numbers(tables["strict"], ref_strict)
    print(f"seqeval classification_report default + strict(IOB2): {t_ref:8.2f} s")
    print(f"annotate entity_tables (both modes, per type):        {t_ours:8.2f} s")
    print(f"ratio ours / seqeval: {t_ours / t_ref:.3f} (target <= 0.25); identical numbers: {identical}")
    print(f"micro F1 default {tables['default']['micro']['f1']:.4f}, strict {tables['strict']['micro']['f1']:.4f}")
    print(f"peak traced memory: ours {peak_mib(ours, gold, pred):.1f} MiB, "
          f"seqeval {peak_mib(seqeval_reports, gold, pred):.1f} MiB (tag lists themselves not counted)")
    return 0 if identical and t_ours / t_ref <= 0.25 else 1


if __name__ == "__main__":
    sys.exit(main())
