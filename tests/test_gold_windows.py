"""The gold writer's sort windows: the same documents give the same bytes whatever order they arrive in
(rows already in id order are cut into windows as they lie, others are spread over window files first), and
however the rows were batched."""

from __future__ import annotations

import random
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from annotate.gold.writer import write_gold


@pytest.fixture(scope="module")
def docs():
    from bench.corpus import documents

    return list(documents(300))


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_rows_in_id_order_or_not_write_the_same_bytes(schema, tmp_path, docs):
    in_order = sorted(docs, key=lambda d: d.id)
    shuffled = in_order[:]
    random.Random(7).shuffle(shuffled)
    assert shuffled != in_order
    outs = {}
    # batches of 5 rows and windows of 23: windows start and end inside batches
    for name, ordered, splits in (("sorted", in_order, None), ("shuffled", shuffled, None),
                                  ("reversed", in_order[::-1], None),
                                  ("sorted-2", in_order, "train=0.6,test=0.4"),
                                  ("shuffled-2", shuffled, "train=0.6,test=0.4")):
        write_gold(ordered, schema, tmp_path / name, splits, batch_size=5, sort_window=23)
        outs[name] = _files(tmp_path / name)
    assert outs["sorted"] == outs["shuffled"] == outs["reversed"]
    assert outs["sorted-2"] == outs["shuffled-2"]
    parquet = next((tmp_path / "sorted" / "data").glob("*.parquet"))
    table = pq.read_table(parquet)
    ids = table.column("id").to_pylist()
    assert ids == sorted(d.id for d in docs)
    # one row group per window: 300 rows in windows of 23
    assert [g.num_rows for g in (pq.ParquetFile(parquet).metadata.row_group(k)
                                 for k in range(pq.ParquetFile(parquet).num_row_groups))] == [23] * 13 + [1]
    assert not list((tmp_path / "shuffled").rglob(".rows*"))  # no spill or window file left in the output


def test_one_window_of_one_batch_is_the_same_as_many(schema, tmp_path, docs):
    """A window that is one slice of one spilled batch (no sort, no copy needed) writes what a sorted copy does."""
    in_order = sorted(docs, key=lambda d: d.id)[:40]
    write_gold(in_order, schema, tmp_path / "one", batch_size=1000, sort_window=1000)
    write_gold(in_order[::-1], schema, tmp_path / "many", batch_size=3, sort_window=1000)
    assert _files(tmp_path / "one") == _files(tmp_path / "many")
