"""Peak memory of `annotate tasks` and `annotate score` at two corpus sizes: it must stay flat.

Targets (issue 11): peak RSS below 1 GB at the larger size, and the larger size's peak at most 1.5 times the
smaller's (10,000 and 100,000 documents; quick: 1,000 and 5,000). Each side is one whole process measured by
`harness.run_measured` (the larger of the kernel's maximum and the sampled process tree).

- tasks: `annotate tasks ARTICLES.jsonl --predictions PREDICTIONS.jsonl -o tasks.json`, the predictions file
  shuffled so that it is joined in another order than the articles.
- score: `annotate score --gold GOLD --predictions PREDICTIONS.jsonl --json report.json --html report.html`,
  and `annotate score --gold GOLD --extractor annotate.baseline:extract --json report.json` (the extractor
  called a batch of documents at a time, in the scoring process).
  The gold set is built here, not by `annotate import` (whose reader is being rewritten separately): the rows
  of `corpus.documents(n)` are made with `annotate.gold.rows.document_to_row` and encoded with
  `annotate.gold.rows.features`, written in record batches of 1,000 to a temporary Arrow file, then copied in id
  order (as the writer sorts them) into the layout `DatasetDict.save_to_disk` writes: `dataset_dict.json`,
  `test/state.json`, `test/dataset_info.json`, `test/data-00000-of-00001.arrow`, and a `build.json` holding the
  bundled schema. The predictions are `corpus.write_predictions_jsonl(n)` (every 7th entity dropped), in
  generation order, which is not the gold set's id order.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pyarrow as pa

from annotate.gold.layout import BUILD_FILE
from annotate.gold.rows import document_to_row, features

from .corpus import GOLD, documents, write_articles_jsonl, write_predictions_jsonl
from .harness import Row, annotate_cli, run_measured

LIMIT_MB = 1024.0
MAX_GROWTH = 1.5


def write_gold_set(folder: Path, n: int, batch: int = 1000) -> Path:
    """A gold dataset folder of `documents(n)` in the layout `gold.reader.GoldSet` (and `load_from_disk`) reads."""
    build = json.loads((GOLD / BUILD_FILE).read_text(encoding="utf-8"))
    from annotate.core.schema import Schema

    schema = Schema.from_dict(build["schema_definition"])
    feats = features(schema)
    arrow_schema = feats.arrow_schema
    split = folder / "test"
    split.mkdir(parents=True)
    unsorted = folder / "unsorted.arrow"
    ids: list[str] = []
    with pa.OSFile(str(unsorted), "wb") as sink, pa.ipc.new_stream(sink, arrow_schema) as writer:
        rows: list[dict] = []
        for doc in documents(n):
            ids.append(doc.id)
            rows.append(feats.encode_example(document_to_row(doc, schema)))
            if len(rows) >= batch:
                writer.write_batch(pa.RecordBatch.from_pylist(rows, schema=arrow_schema))
                rows = []
        if rows:
            writer.write_batch(pa.RecordBatch.from_pylist(rows, schema=arrow_schema))
    order = sorted(range(len(ids)), key=ids.__getitem__)
    with pa.memory_map(str(unsorted)) as source:
        table = pa.ipc.open_stream(source).read_all()
        with pa.OSFile(str(split / "data-00000-of-00001.arrow"), "wb") as sink, \
                pa.ipc.new_stream(sink, arrow_schema) as writer:
            for start in range(0, len(order), batch):
                writer.write_table(table.take(order[start:start + batch]))
        del table
    unsorted.unlink()
    (folder / "dataset_dict.json").write_text(json.dumps({"splits": ["test"]}), encoding="utf-8")
    (split / "state.json").write_text(json.dumps({"_data_files": [{"filename": "data-00000-of-00001.arrow"}],
                                                  "_split": None}), encoding="utf-8")
    (split / "dataset_info.json").write_text(json.dumps({"features": feats.to_dict()}), encoding="utf-8")
    build.update({"splits": {"test": n}, "split_spec": {"test": 1.0}, "fingerprint": "",
                  "imported": n, "quarantined": 0, "skipped": 0})
    (folder / BUILD_FILE).write_text(json.dumps(build, ensure_ascii=False, indent=2), encoding="utf-8")
    return folder


def _shuffled(path: Path, seed: int = 11) -> Path:
    lines = path.read_bytes().splitlines(keepends=True)  # the bench process, not the measured one
    random.Random(seed).shuffle(lines)
    out = path.with_name(path.stem + ".shuffled.jsonl")
    out.write_bytes(b"".join(lines))
    return out


def _flat(benchmark: str, what: str, small: int, big: int, peaks: dict[int, float], notes: list[str]) -> list[Row]:
    growth = peaks[big] / peaks[small]
    return [
        Row(benchmark, f"peak RSS, {what}, {big:,} documents", f"{peaks[big]:.0f} MB", f"limit {LIMIT_MB:.0f} MB",
            LIMIT_MB / peaks[big], "< 1 GB", peaks[big] < LIMIT_MB, notes),
        Row(benchmark, f"peak RSS growth, {what}, {small:,} -> {big:,} documents",
            f"{peaks[big]:.0f} MB", f"{peaks[small]:.0f} MB", MAX_GROWTH / growth, "<= 1.5x",
            growth <= MAX_GROWTH, [f"growth {growth:.2f}x"]),
    ]


def _shown(command: str, folder: Path) -> str:
    """The command as a reader would type it: no checkout-specific interpreter path, no temporary folder."""
    return command.replace(str(folder), "$DIR").replace(annotate_cli()[0], "python")


def run(quick: bool, workdir: Path) -> list[Row]:
    small, big = (1_000, 5_000) if quick else (10_000, 100_000)
    cli = annotate_cli()
    tasks_peak: dict[int, float] = {}
    score_peak: dict[int, float] = {}
    notes_tasks: list[str] = []
    notes_score: list[str] = []
    extractor_peak: dict[int, float] = {}
    notes_extractor: list[str] = []
    for n in (small, big):
        d = workdir / str(n)
        d.mkdir()
        articles = write_articles_jsonl(d / "articles.jsonl", n)
        preds = write_predictions_jsonl(d / "predictions.jsonl", n)
        shuffled = _shuffled(preds)
        m = run_measured([*cli, "tasks", str(articles), "--predictions", str(shuffled), "-o",
                          str(d / "tasks.json")]).check()
        if f"{n} task(s) written" not in m.stdout or f"{n} task(s) with predictions" not in m.stdout:
            raise SystemExit(f"tasks at {n}: unexpected summary: {m.stdout}")
        tasks_peak[n] = m.peak_rss_mb
        notes_tasks.append(f"{n:,} documents: {m.seconds:.1f} s, {n / m.seconds:,.0f} documents/s "
                           f"({_shown(m.command, d)})")
        (d / "tasks.json").unlink()
        articles.unlink()
        shuffled.unlink()
        gold = write_gold_set(d / "gold", n)
        m = run_measured([*cli, "score", "--gold", str(gold), "--predictions", str(preds), "--json",
                          str(d / "report.json"), "--html", str(d / "report.html"),
                          "--quarantine", str(d / "q.jsonl")]).check()
        report = json.loads((d / "report.json").read_text(encoding="utf-8"))
        if report["documents"]["gold"] != n or report["documents"]["with_predictions"] != n:
            raise SystemExit(f"score at {n}: scored {report['documents']} instead of {n} documents")
        score_peak[n] = m.peak_rss_mb
        notes_score.append(f"{n:,} documents: {m.seconds:.1f} s, strict micro F1 "
                           f"{report['entities']['strict']['micro']['f1']:.4f} "
                           f"({_shown(m.command, d)})")
        m = run_measured([*cli, "score", "--gold", str(gold), "--extractor", "annotate.baseline:extract", "--json",
                          str(d / "report.json"), "--quarantine", str(d / "q.jsonl")]).check()
        report = json.loads((d / "report.json").read_text(encoding="utf-8"))
        if report["documents"]["gold"] != n or report["predictions"]["documents"] != n:
            raise SystemExit(f"score --extractor at {n}: scored {report['documents']} instead of {n} documents")
        extractor_peak[n] = m.peak_rss_mb
        notes_extractor.append(f"{n:,} documents: {m.seconds:.1f} s, strict micro F1 "
                               f"{report['entities']['strict']['micro']['f1']:.4f} ({_shown(m.command, d)})")
    return _flat("memory", "annotate tasks --predictions", small, big, tasks_peak, notes_tasks) + \
        _flat("memory", "annotate score --predictions", small, big, score_peak, notes_score) + \
        _flat("memory", "annotate score --extractor", small, big, extractor_peak, notes_extractor)
