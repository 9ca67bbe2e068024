"""Speed of the entity report against seqeval's own, and the whole document path of `annotate score`.

1. Reference: seqeval `classification_report` in default mode plus in `mode="strict", scheme=IOB2` on the same
   tag lists. Ours: `annotate.score.scorer.entity_tables` (both modes, per type, micro/macro/weighted). Each
   side is a whole process that builds the same synthetic corpus (1,000,000 tokens; quick: 100,000), times its
   report alone and writes the numbers; the numbers must be identical (the benchmark stops otherwise). Target:
   ours takes at most 0.25 of seqeval's time.
2. The whole `annotate score --conll FILE --json OUT` process (interpreter start, imports, reading and checking
   the file, both modes, the report written) against a whole process that reads the same conlleval file with a
   plain line loop and calls seqeval's `classification_report` in both modes; the numbers must be identical.
   Target: ours takes at most 0.25 of seqeval's time.
3. Informational: the document path of `annotate score` (character spans -> tokens cut at every boundary ->
   IOB2 layers -> both modes, triggers, arguments, error breakdown) on ~1,000,000 words in documents of ~330
   words, in tokens per second (`DocumentScorer`, one document at a time).

    python bench/run.py --only score
    python -m bench.bench_score ours|seqeval|documents TOKENS OUT.json   # one side, as the benchmark runs it
    python -m bench.bench_score conll TOKENS FILE.conll                    # the conlleval file of row 2
    python -m bench.bench_score seqeval-conll FILE.conll OUT.json          # row 2's reference side
"""

from __future__ import annotations

import json
import random
import sys
import time
import warnings
from pathlib import Path

from .harness import Row, annotate_cli, run_measured

TYPES = ["PER", "ORG", "GPE", "LOC", "TIME"]
WORDS = ["بغداد", "والبيشمركة", "قال", "الكاظمي", "في", "،", "هجوم", "داعش", "كركوك", "اليوم", "«", "»", "13"]


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
    from seqeval.metrics import classification_report
    from seqeval.scheme import IOB2

    return (classification_report(gold, pred, output_dict=True, zero_division=0),
            classification_report(gold, pred, output_dict=True, zero_division=0, mode="strict", scheme=IOB2))


def ours(gold, pred):
    from annotate.score.scorer import entity_tables

    return entity_tables(gold, pred)[0]


def same_numbers(mine: dict, theirs: dict) -> bool:
    for label, row in theirs.items():
        m = {"micro avg": mine["micro"], "macro avg": mine["macro"], "weighted avg": mine["weighted"]}.get(label) \
            or mine["per_type"].get(label)
        if m is None or (m["precision"], m["recall"], m["f1"], m["support"]) != \
                (row["precision"], row["recall"], row["f1-score"], row["support"]):
            return False
    return True


def synthetic_documents(n_tokens: int, doc_tokens: int = 330, seed: int = 2026):
    """Documents of ~330 tokens, ~15% of tokens in entities, ~10% of entities missing from the prediction."""
    from annotate.core.model import Document, Entity

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


def write_conll(tokens: int, path: Path) -> None:
    """The corpus of row 1 as a conlleval file: token, gold tag, predicted tag; a blank line after each sentence."""
    gold, pred = synthetic(tokens)
    rng = random.Random(7)
    with open(path, "w", encoding="utf-8") as f:
        for gs, ps in zip(gold, pred):
            f.writelines(f"{rng.choice(WORDS)} {g} {p}\n" for g, p in zip(gs, ps))
            f.write("\n")


def seqeval_conll(path: Path, out: Path) -> None:
    """The reference side of row 2, whole: the conlleval file read with a plain loop (last two columns), then
    seqeval's report in both modes."""
    warnings.filterwarnings("ignore")
    gold: list[list[str]] = []
    pred: list[list[str]] = []
    g: list[str] = []
    p: list[str] = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            cols = line.split()
            if not cols or cols[0] == "-DOCSTART-":
                if g:
                    gold.append(g)
                    pred.append(p)
                    g, p = [], []
                continue
            g.append(cols[-2])
            p.append(cols[-1])
    if g:
        gold.append(g)
        pred.append(p)
    numbers = dict(zip(("default", "strict"), seqeval_reports(gold, pred)))
    out.write_text(json.dumps({"numbers": numbers}, default=lambda x: x.item()), encoding="utf-8")


def side(which: str, tokens: int, out: Path) -> None:
    """One side, run as its own process: build the corpus, time the work alone, write numbers and seconds."""
    warnings.filterwarnings("ignore")
    if which == "documents":
        from annotate.score.scorer import DocumentScorer

        gold, preds, words = synthetic_documents(tokens)
        start = time.perf_counter()
        scorer = DocumentScorer()
        for g in gold:
            scorer.add(g, preds.get(g.id))
        report = scorer.result().report
        seconds = time.perf_counter() - start
        result = {"seconds": seconds, "words": words, "documents": len(gold), "tokens": report["tokens"],
                  "strict_f1": report["entities"]["strict"]["micro"]["f1"]}
    else:
        gold, pred = synthetic(tokens)
        start = time.perf_counter()
        numbers = ours(gold, pred) if which == "ours" else dict(zip(("default", "strict"), seqeval_reports(gold, pred)))
        seconds = time.perf_counter() - start
        result = {"seconds": seconds, "tokens": sum(map(len, gold)), "numbers": numbers}
    out.write_text(json.dumps(result, default=lambda x: x.item()), encoding="utf-8")  # numpy scalars of seqeval


def run(quick: bool, workdir: Path) -> list[Row]:
    tokens = 100_000 if quick else 1_000_000
    python = annotate_cli()[0]
    got, measured = {}, {}
    for which in ("seqeval", "ours", "documents"):
        out = workdir / f"{which}.json"
        measured[which] = run_measured([python, "-m", "bench.bench_score", which, str(tokens), str(out)],
                                       cwd=Path(__file__).resolve().parent.parent).check()
        got[which] = json.loads(out.read_text(encoding="utf-8"))
    ref, mine = got["seqeval"], got["ours"]
    identical = same_numbers(mine["numbers"]["default"], ref["numbers"]["default"]) and \
        same_numbers(mine["numbers"]["strict"], ref["numbers"]["strict"])
    if not identical:
        raise SystemExit("score: entity_tables and seqeval's classification_report disagree on the same tag lists")
    share = mine["seconds"] / ref["seconds"]
    docs = got["documents"]
    entity_row, documents_row = _rows(mine, ref, share, identical, measured, docs)
    return [entity_row, _conll_row(tokens, python, workdir), documents_row]


def _conll_row(tokens: int, python: str, workdir: Path) -> Row:
    """Row 2: `annotate score --conll` and the seqeval script, each a whole process on the same file, best of 2
    each, alternating."""
    path = workdir / "scores.conll"
    write_conll(tokens, path)
    root = Path(__file__).resolve().parent.parent
    ours_argv = [*annotate_cli(), "score", "--conll", str(path), "--json", str(workdir / "conll-report.json"),
                 "--quarantine", str(workdir / "q.jsonl")]
    ref_argv = [python, "-m", "bench.bench_score", "seqeval-conll", str(path), str(workdir / "conll-seqeval.json")]
    ours_runs, ref_runs = [], []
    for _ in range(2):
        ref_runs.append(run_measured(ref_argv, cwd=root).check())
        ours_runs.append(run_measured(ours_argv, cwd=root).check())
    ours, ref = min(ours_runs, key=lambda m: m.seconds), min(ref_runs, key=lambda m: m.seconds)
    report = json.loads((workdir / "conll-report.json").read_text(encoding="utf-8"))
    theirs = json.loads((workdir / "conll-seqeval.json").read_text(encoding="utf-8"))["numbers"]
    identical = all(same_numbers(report["entities"][mode], theirs[mode]) for mode in ("default", "strict"))
    if not identical:
        raise SystemExit("score: annotate score --conll and seqeval disagree on the same conlleval file")
    share = ours.seconds / ref.seconds
    return Row("score", f"whole process, annotate score --conll, {report['tokens']:,} tokens",
               f"{ours.seconds:.2f} s", f"{ref.seconds:.2f} s (file read + seqeval classification_report x2)",
               ref.seconds / ours.seconds, "<= 0.25 of seqeval's time", share <= 0.25,
               [f"identical numbers: {identical}; ours takes {share:.3f} of seqeval's time (best of 2 each, "
                f"alternating; runs ours {', '.join(f'{m.seconds:.2f}' for m in ours_runs)} s, seqeval "
                f"{', '.join(f'{m.seconds:.2f}' for m in ref_runs)} s); peak RSS ours {ours.peak_rss_mb:.0f} MB, "
                f"seqeval {ref.peak_rss_mb:.0f} MB",
                f"ours: `python -m annotate.cli score --conll $DIR/scores.conll --json $DIR/conll-report.json`; "
                f"seqeval: `python -m bench.bench_score seqeval-conll $DIR/scores.conll OUT.json` "
                f"({path.stat().st_size / 1e6:.1f} MB file)"])


def _rows(mine: dict, ref: dict, share: float, identical: bool, measured: dict, docs: dict) -> list[Row]:
    return [
        Row("score", f"entity report, {mine['tokens']:,} tokens (both modes, per type)",
            f"{mine['seconds']:.2f} s", f"{ref['seconds']:.2f} s (seqeval classification_report x2)",
            ref["seconds"] / mine["seconds"], "<= 0.25 of seqeval's time", share <= 0.25,
            [f"identical numbers: {identical}; ours takes {share:.3f} of seqeval's time; peak RSS ours "
             f"{measured['ours'].peak_rss_mb:.0f} MB, seqeval {measured['seqeval'].peak_rss_mb:.0f} MB "
             "(whole processes, corpus included)"]),
        Row("score", f"document path of annotate score, {docs['words']:,} words in {docs['documents']:,} documents",
            f"{docs['tokens'] / docs['seconds']:,.0f} tokens/s", "", None, "informational", True,
            [f"{docs['seconds']:.2f} s for {docs['tokens']:,} tokens after cutting at span boundaries; strict micro "
             f"F1 {docs['strict_f1']:.4f}; peak RSS {measured['documents'].peak_rss_mb:.0f} MB"]),
    ]


if __name__ == "__main__":
    if sys.argv[1] == "conll":
        write_conll(int(sys.argv[2]), Path(sys.argv[3]))
    elif sys.argv[1] == "seqeval-conll":
        seqeval_conll(Path(sys.argv[2]), Path(sys.argv[3]))
    else:
        side(sys.argv[1], int(sys.argv[2]), Path(sys.argv[3]))
