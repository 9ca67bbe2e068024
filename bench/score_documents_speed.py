"""The whole document path of `annotate score`, timed: character spans -> tokens cut at every boundary ->
IOB2 layers -> both seqeval modes, triggers, arguments, error breakdown. Informational (no target): it shows
what a CI run pays on a corpus of about a million tokens.

    python bench/score_documents_speed.py
    python bench/score_documents_speed.py --tokens 200000
"""

from __future__ import annotations

import argparse
import random
import time
import tracemalloc

from annotate.model import Document, Entity
from annotate.score.scorer import score_documents

WORDS = ["بغداد", "والبيشمركة", "قال", "الكاظمي", "في", "،", "هجوم", "داعش", "كركوك", "اليوم", "«", "»", "13"]
TYPES = ["PER", "ORG", "GPE", "LOC", "TIME"]


def synthetic_documents(n_tokens: int, doc_tokens: int = 330, seed: int = 2026):
    """Documents of ~330 tokens, ~15% of tokens in entities, ~10% of entities missing from the prediction."""
    rng = random.Random(seed)
    gold, preds, made = [], {}, 0
    while made < n_tokens:
        words = [rng.choice(WORDS) for _ in range(min(doc_tokens, n_tokens - made))]
        made += len(words)
        text = " ".join(words)
        offsets, pos = [], 0
        for w in words:
            offsets.append((pos, pos + len(w)))
            pos += len(w) + 1
        g, p, i = [], [], 0
        while i < len(words):
            if rng.random() < 0.088:
                n = min(len(words) - i, rng.choice((1, 2, 2, 3)))
                ent = Entity(f"e{len(g)}", offsets[i][0], offsets[i + n - 1][1], rng.choice(TYPES))
                g.append(ent)
                if rng.random() >= 0.1:
                    p.append(ent)
                i += n + 1
            else:
                i += 1
        doc = Document(f"doc{len(gold)}", text, g)
        gold.append(doc)
        preds[doc.id] = Document(doc.id, text, p)
    return gold, preds, made


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tokens", type=int, default=1_000_000)
    args = ap.parse_args()
    gold, preds, n = synthetic_documents(args.tokens)
    start = time.perf_counter()
    report = score_documents(gold, preds).report
    elapsed = time.perf_counter() - start
    tracemalloc.start()
    score_documents(gold, preds)
    peak = tracemalloc.get_traced_memory()[1] / 2 ** 20
    tracemalloc.stop()
    print(f"{n:,} words in {len(gold):,} documents ({report['tokens']:,} tokens after cutting at span boundaries)")
    print(f"score_documents: {elapsed:.2f} s ({report['tokens'] / elapsed:,.0f} tokens/s), peak traced memory "
          f"{peak:.1f} MiB; strict micro F1 {report['entities']['strict']['micro']['f1']:.4f}")


if __name__ == "__main__":
    main()
