"""The spilled rows of a gold set in document-id order, one bounded window at a time (for `GoldWriter.finish`).

The rows were spilled in input order: the parent's own `rows.arrow` and the workers' batch files (Arrow IPC
streams, of which only the rows at `keep` count). Window k holds the rows whose ids fall in the k-th id range
of `window` ids (`bounds`, from all the ids sorted), so no window is larger than `window` rows whatever the ids
look like, and the same rows make the same windows (and so the same parquet row groups) for every --num-proc.

Two ways to the windows, giving the same tables:
- the windows already lie one after another in the spill (the rows came in id order, or there is one window):
  the spill is read once and cut at the window boundaries, each window sorted only if it is not in order;
- otherwise one pass spreads the rows over one file per window (LZ4-compressed: the rows are mostly small
  integer tags, about a tenth of their size compressed, and writing the uncompressed bytes to the file system
  was the slowest part of the pass), then each window's file is read and sorted in turn.
The spill files are memory-mapped, not read into memory first, and the pages a window touched are dropped from
the mapping (`_Spill.release`) once it is made, so the RSS stays about one window.
"""

from __future__ import annotations

import bisect
import mmap
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

# The window files' compression: LZ4 frames (fast both ways) when this pyarrow has the codec. (The spill files
# themselves are not compressed: measured, the workers' time to compress them cost what writing them saved.)
_PARTS = pa.ipc.IpcWriteOptions(compression="lz4" if pa.Codec.is_available("lz4") else None)


class _Spill:
    """The spill files as record batches read from memory maps (zero-copy), in spill order."""

    def __init__(self, folder: Path, sources: list[tuple[str, object]]):
        self.folder = folder
        self.sources = sources  # (file name, the positions of the rows kept in its one batch, or None: all)
        self._maps: list[mmap.mmap] = []

    def batches(self, options: pa.ipc.IpcReadOptions | None = None) -> Iterator[pa.RecordBatch]:
        """Every spilled row kept, as record batches in spill order."""
        for name, keep in self.sources:
            with open(self.folder / name, "rb") as f:
                mapped = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
            self._maps.append(mapped)
            # The batches point into the map, which pa.py_buffer keeps alive: it is unmapped when the last goes.
            for batch in pa.ipc.open_stream(pa.py_buffer(mapped), options=options):
                if keep is not None and len(keep) != batch.num_rows:
                    batch = batch.take(pa.array(keep, pa.int64()))
                yield batch

    def release(self) -> None:
        """Drop the pages touched so far from the process's mappings. They are file pages, still in the page
        cache: a batch read again faults them back in, so this only bounds the RSS (which counts mapped file
        pages) to the rows in hand, not to every spill file read so far. (pyarrow's own memory maps have no
        madvise, hence Python's mmap under `pa.py_buffer`.) Only the file being read stays listed: a map
        (and its file descriptor) goes with the last batch of it."""
        if hasattr(mmap, "MADV_DONTNEED"):
            for mapped in self._maps:
                mapped.madvise(mmap.MADV_DONTNEED)
        del self._maps[:-1]

    def ids(self) -> list[str]:
        """The id of every spilled row, in spill order (only the id column is read)."""
        ids = []
        for batch in self.batches(pa.ipc.IpcReadOptions(included_fields=[0])):
            ids.extend(batch.column(0).to_pylist())
            self.release()
        return ids


def sorted_windows(folder: Path, sources: list[tuple[str, object]], schema: pa.Schema,
                   window: int) -> Iterator[pa.Table]:
    """Tables of the spilled rows in id order (a stable sort: equal ids keep their spill order), each one
    window; the spill files are deleted once read."""
    spill = _Spill(folder, sources)
    ids = spill.ids()
    ordered = sorted(ids)
    bounds = ordered[window::window]  # the first id of each window after the first
    del ordered
    of_row = [bisect.bisect_right(bounds, i) for i in ids]  # the window of each row, in spill order
    sizes = np.bincount(np.asarray(of_row, dtype=np.int64), minlength=len(bounds) + 1).tolist()
    in_runs = all(a <= b for a, b in zip(of_row, of_row[1:]))
    del ids
    if in_runs:
        yield from _cut(spill, sizes, schema)
    else:
        yield from _partitioned(spill, of_row, sizes, window, schema)


def _unlink(spill: _Spill) -> None:
    """The spill files, once read (the rows are in the windows or the window files now)."""
    for name, _ in spill.sources:
        (spill.folder / name).unlink(missing_ok=True)


def _in_order(table: pa.Table) -> pa.Table:
    """`table` sorted by id (stable), as one chunk: taken in sorted order, or only joined when already sorted."""
    indices = pc.sort_indices(table, sort_keys=[("id", "ascending")])
    if np.array_equal(indices.to_numpy(), np.arange(len(indices))):
        return table.combine_chunks()
    return table.take(indices)


def _cut(spill: _Spill, sizes: list[int], schema: pa.Schema) -> Iterator[pa.Table]:
    """The windows when each is one run of the spill: the batches cut at the window boundaries."""
    held: list[pa.RecordBatch] = []
    rows = 0
    windows = iter(sizes)
    size = next(windows)
    for batch in spill.batches():
        while batch.num_rows:
            take = min(size - rows, batch.num_rows)
            held.append(batch.slice(0, take))
            rows += take
            batch = batch.slice(take)
            if rows == size:
                table = _in_order(pa.Table.from_batches(held, schema=schema))
                held, rows = [], 0
                spill.release()
                yield table
                size = next(windows, 0)
    _unlink(spill)


def _partitioned(spill: _Spill, of_row: list[int], sizes: list[int], window: int,
                 schema: pa.Schema) -> Iterator[pa.Table]:
    """The windows when their rows are spread over the spill: one pass writes each window's rows to a file of
    its own, a group of about one window's rows at a time, then each file is read back and sorted."""
    paths = [spill.folder / f"w{w}.arrow" for w in range(len(sizes))]
    writers = [pa.ipc.new_stream(str(p), schema, options=_PARTS) for p in paths]
    at = 0
    for group in _groups(spill, window, schema):
        # one take per group (not a filter per batch and window): the rows in window order, then each
        # window's run written to its file
        of_group = np.asarray(of_row[at:at + group.num_rows], dtype=np.int32)
        at += group.num_rows
        group = group.take(pa.array(np.argsort(of_group, kind="stable")))
        spill.release()
        start = 0
        for w, n in enumerate(np.bincount(of_group, minlength=len(writers)).tolist()):
            if n:
                writers[w].write_table(group.slice(start, n))
                start += n
        del group
    for writer in writers:
        writer.close()
    _unlink(spill)
    for path in paths:
        with pa.OSFile(str(path)) as f:
            table = pa.Table.from_batches(list(pa.ipc.open_stream(f)), schema=schema)
        path.unlink()
        yield _in_order(table)
        del table


def _groups(spill: _Spill, rows: int, schema: pa.Schema) -> Iterator[pa.Table]:
    """The spilled rows as tables of about `rows` rows (whole record batches)."""
    batches, held = [], 0
    for batch in spill.batches():
        batches.append(batch)
        held += batch.num_rows
        if held >= rows:
            yield pa.Table.from_batches(batches, schema=schema)
            batches, held = [], 0
    if batches:
        yield pa.Table.from_batches(batches, schema=schema)
