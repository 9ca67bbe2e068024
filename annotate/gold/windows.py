"""The spilled rows of a gold set in document-id order, one bounded window at a time (for `GoldWriter.finish`).

The rows were spilled in record batches, each already sorted by id by whoever wrote it (`spill_batch`'s
callers): the parent's own `rows.arrow` (one Arrow IPC stream of batches) and the workers' files (one IPC
stream per batch, appended one after another: `Source` says where each lies), of which only the rows at
`keep` count. Window k holds the rows whose ids fall in the k-th id range of `window` ids (`bounds`, from all
the ids sorted), so no window is larger than `window` rows whatever the ids look like, and the same rows make
the same windows (and so the same parquet row groups) for every --num-proc.

The spill files are memory-mapped and cut into runs: zero-copy slices of kept rows in id order (a whole batch,
unless rows of it were not kept). As a window is an id range, its rows in a run are one slice of the run, so a
window is its slices of every run gathered into one table in id order: the rows are copied once, in memory,
and never written out again. The pages a window touched are dropped from the mapping once it is made
(`_Spill.release`), so the RSS stays about one window.
"""

from __future__ import annotations

import bisect
import mmap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

# Slices gathered between two drops of the mapped pages (`_gathered`): a worker's batch is ~2 MB of
# article-sized rows, so a group maps some tens of MB at most.
_GROUP = 16


@dataclass(frozen=True)
class Source:
    """Spilled rows: the IPC stream of file `name` at byte `offset` (of `size` bytes; None: to the end of the
    file), of which only the rows at positions `keep` (ascending, over the stream's rows) count (None: all)."""
    name: str
    offset: int = 0
    size: int | None = None
    keep: object = None


class _Spill:
    """The spill files, memory-mapped, as runs of rows in id order."""

    def __init__(self, folder: Path, sources: list[Source]):
        self.folder = folder
        self.sources = sources
        self._maps: dict[str, tuple[mmap.mmap, pa.Buffer]] = {}

    def _buffer(self, name: str) -> pa.Buffer:
        if name not in self._maps:
            with open(self.folder / name, "rb") as f:
                mapped = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
            # The batches point into the map, which pa.py_buffer keeps alive: it is unmapped when the last goes.
            self._maps[name] = (mapped, pa.py_buffer(mapped))
        return self._maps[name][1]

    def runs(self) -> list[tuple[pa.RecordBatch, list[str]]]:
        """Every kept row, in spill order, as (zero-copy slice, its ids) runs whose ids never go down."""
        runs = []
        for source in self.sources:
            stream = self._buffer(source.name)
            stream = stream.slice(source.offset, source.size) if source.size is not None else stream.slice(
                source.offset)
            at = 0  # the stream's rows before this batch (`keep` counts over the whole stream)
            keep = source.keep
            for batch in pa.ipc.open_stream(stream):
                ids = batch.column(0).to_pylist()
                if keep is None:
                    positions = range(len(ids))
                else:
                    lo, hi = bisect.bisect_left(keep, at), bisect.bisect_left(keep, at + len(ids))
                    positions = [k - at for k in keep[lo:hi]]
                runs += [(batch.slice(start, end - start), ids[start:end]) for start, end in _stretches(ids, positions)]
                at += len(ids)
        self.release()
        return runs

    def release(self) -> None:
        """Drop the pages touched so far from the process's mappings. They are file pages, still in the page
        cache: a row read again faults them back in, so this only bounds the RSS (which counts mapped file
        pages) to the rows in hand. (pyarrow's own memory maps have no madvise, hence Python's mmap under
        `pa.py_buffer`.)"""
        if hasattr(mmap, "MADV_DONTNEED"):
            for mapped, _ in self._maps.values():
                mapped.madvise(mmap.MADV_DONTNEED)

    def unlink(self) -> None:
        """The spill files, once every window is made."""
        for name in {source.name for source in self.sources}:
            (self.folder / name).unlink(missing_ok=True)


def _stretches(ids: list[str], positions) -> Iterator[tuple[int, int]]:
    """[start, end) stretches of consecutive `positions` (ascending) whose ids do not go down.

    >>> list(_stretches(["a", "b", "a", "c", "d"], [0, 1, 2, 3, 4]))
    [(0, 2), (2, 5)]
    >>> list(_stretches(["a", "b", "c", "d"], [0, 2, 3]))
    [(0, 1), (2, 4)]
    """
    start = last = None
    for k in positions:
        if start is not None and k == last + 1 and ids[last] <= ids[k]:
            last = k
            continue
        if start is not None:
            yield start, last + 1
        start = last = k
    if start is not None:
        yield start, last + 1


def sorted_windows(folder: Path, sources: list[Source], schema: pa.Schema, window: int,
                   out: pa.Schema | None = None) -> Iterator[pa.Table]:
    """Tables of the spilled rows (of `schema`) in id order (a stable sort: equal ids keep their spill order),
    each one window, cast to `out` if given; the spill files are deleted once every window is made."""
    spill = _Spill(folder, sources)
    runs = spill.runs()
    ordered = sorted(i for _, ids in runs for i in ids)
    bounds = ordered[window::window]  # the first id of each window after the first
    del ordered
    # Each window's part of each run, as (run, first row, rows): a slice is made only when its window is (a
    # RecordBatch slice of every run for every window would be tens of KB of Arrow objects each, held at once).
    parts: list[list[tuple[int, int, int]]] = [[] for _ in range(len(bounds) + 1)]
    for k, (_, ids) in enumerate(runs):  # a run's rows of window w: the ids from bounds[w - 1] up to bounds[w]
        start = 0
        while start < len(ids):
            w = bisect.bisect_right(bounds, ids[start])
            end = bisect.bisect_left(ids, bounds[w], start) if w < len(bounds) else len(ids)
            parts[w].append((k, start, end - start))
            start = end
    batches = [batch for batch, _ in runs]
    del runs
    for w, where in enumerate(parts):
        parts[w] = []
        if where:
            table = _gathered(batches, where, schema, spill)
            yield table if out is None else table.cast(out)
    spill.unlink()


def _gathered(batches: list[pa.RecordBatch], where: list[tuple[int, int, int]], schema: pa.Schema,
              spill: _Spill) -> pa.Table:
    """The rows at `where` ((batch, first row, rows) of the memory-mapped `batches`) as one table in id order (a
    stable sort). The slices are first copied a few batches at a time, the pages mapped for them dropped after
    each group: a fault on a mapped file maps the pages around it too (the whole folio, on recent kernels), so
    reading a window's rows straight out of the spill would map nearly all of it, whatever the window's size."""
    groups = []
    for k in range(0, len(where), _GROUP):
        slices = [batches[b].slice(start, n) for b, start, n in where[k:k + _GROUP]]
        groups.append(pa.Table.from_batches(slices, schema=schema).combine_chunks())
        del slices
        spill.release()
    table = pa.concat_tables(groups)
    indices = pc.sort_indices(table, sort_keys=[("id", "ascending")])  # stable
    if np.array_equal(indices.to_numpy(), np.arange(len(indices))):
        return table.combine_chunks()
    return table.take(indices)
