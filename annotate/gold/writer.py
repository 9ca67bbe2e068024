"""Gold Documents <-> a Hugging Face `DatasetDict` on disk (parquet + dataset card + save_to_disk files).

Character spans are the truth; tokens and IOB2 layers are derived here, with tokens cut at every annotation
boundary, and every document is checked to survive spans -> tags -> spans unchanged before anything is
written. The folder is replaced atomically, so a crash leaves the previous gold set in place.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from array import array
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from functools import cached_property
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ..core.atomic import atomic_directory
from ..core.model import Document
from ..core.readahead import read_ahead
from ..core.schema import Schema
from ..core.version import __version__
from .arrowdigest import ValuesDigest, binary_values
from .card import CardStats, dataset_card
from .layout import AGREEMENT_FILE, BUILD_FILE, SPILL, GoldInfo, parquet_name
from .rows import DocumentEncoder, EncodedDocument, features, parse_splits, spill_batch, spill_schema
from .windows import Source, sorted_windows


def load_datasets() -> None:
    """Import what `finish` needs of `datasets` (~0.35 s: it loads pandas). Not at this module's import: a build
    with worker processes has this done in a thread while the tasks are read, once the pool has forked its
    workers (they never need it)."""
    import datasets.arrow_writer  # noqa: F401
    import datasets.utils.py_utils  # noqa: F401


def files_digest(splits: dict[str, ValuesDigest]) -> str:
    """The digest in the parquet file names: every split's rows as written (in id order), by value."""
    h = hashlib.sha256()
    for name, values in splits.items():
        h.update(f"{name} {values.hexdigest()}\n".encode())
    return h.hexdigest()[:16]


# `row_size` of the rows of one sort window, at most (see `GoldWriter._windows`): while one window is written
# the next is sorted (`read_ahead`), so three window-sized tables can be alive at once.
SORT_WINDOW_BYTES = 50 * 2**20


class GoldWriter:
    """Rows -> the gold set on disk, streamed: memory stays flat however many documents there are.

    Rows arrive in input order and go to an Arrow file in record batches of `batch_size` (each batch sorted by
    id; a worker process writes its own batches to a file of its own, `add_rows`), with the JSON the content
    fingerprint hashes as a column of its own, hashed as the sorted rows go by. The files digest (in the parquet
    file names) is a `ValuesDigest` of each split's sorted rows, taken as they are written. `finish` puts the rows in
    document-id order one window of at most `sort_window` rows at a time (`windows.sorted_windows`: windows
    by id range, so no window is ever larger, whatever the ids look like), and writes each split's
    `save_to_disk` Arrow file and parquet file as the sorted rows go by (`_SplitFiles`). The whole folder is
    written inside `atomic_directory`'s temporary folder, so a failed run leaves the previous gold set as it was.

    The parquet and Arrow files are written with `datasets`' own ArrowWriter and its parquet settings (row
    groups, content-defined chunking, column options), not `Dataset.save_to_disk` / `to_parquet`, which need
    the whole dataset as one table."""

    def __init__(self, schema: Schema, tmp: Path, splits_spec: str | None = None, batch_size: int = 1000,
                 sort_window: int = 5000):
        self.schema = schema
        self.splits = parse_splits(splits_spec)
        self.split_spec = splits_spec
        self.spill_schema = spill_schema(schema)
        self.tmp = Path(tmp)
        self.batch_size = max(1, batch_size)
        self.sort_window = max(1, sort_window)
        self.encoder = DocumentEncoder(schema, splits_spec)
        self.reset()

    @cached_property
    def feats(self):
        """The dataset's `datasets.Features` (first asked for in `finish`: see `load_datasets`)."""
        return features(self.schema)

    @cached_property
    def arrow_schema(self) -> pa.Schema:
        return self.feats.arrow_schema

    def reset(self) -> None:
        """Start over (the import restarted): drop every row written so far."""

        if getattr(self, "_writer", None) is not None:
            self._writer.close()
        shutil.rmtree(self.tmp / SPILL, ignore_errors=True)
        (self.tmp / SPILL).mkdir(parents=True)
        self._writer = pa.ipc.new_stream(str(self.tmp / SPILL / "rows.arrow"), self.spill_schema)
        self._worker_batches: list[Source] = []  # the workers' batches (`add_rows`)
        self.encoder.spill_dir = self.tmp / SPILL
        self._buffer: list[dict] = []
        self.ids: list[str] = []
        self._row_bytes = 0  # `row_size` of the rows so far
        self.split_counts: Counter = Counter()
        self.entities: Counter = Counter()
        self.events: Counter = Counter()
        self.roles: Counter = Counter()
        self.annotators: Counter = Counter()
        self.reviewers: Counter = Counter()

    def add(self, doc: Document) -> None:
        self.add_encoded(self.encoder(doc))

    def add_encoded(self, enc: EncodedDocument) -> None:
        """Count a document, and keep its row unless it travels in a worker's batch (`add_rows`)."""
        self.ids.append(enc.id)
        if enc.size is not None:  # else known once the row is written (`_flush`)
            self._row_bytes += enc.size
        self.split_counts[enc.split] += 1
        self.entities.update(enc.entity_types)
        self.events.update(enc.event_types)
        self.roles.update(enc.roles)
        self.annotators.update(enc.annotators)
        self.reviewers.update(enc.reviewers)
        if enc.batch_row is None:
            self._buffer.append(enc)
            if len(self._buffer) >= self.batch_size:
                self._flush()

    def add_rows(self, where: tuple[str, int, int], keep: list[int]) -> None:
        """A worker's batch (`DocumentEncoder.batch`: file name, offset and size): only the rows at `keep` (the
        documents taken as gold) are part of the set. It stays where the worker wrote it; the sorted pass
        reads it."""
        name, offset, size = where
        self._worker_batches.append(Source(name, offset, size, array("l", sorted(keep))))

    def _flush(self) -> None:
        if self._buffer:
            self._buffer.sort(key=lambda enc: enc.id)  # a batch in id order (see `windows.py`)
            self._writer.write_batch(spill_batch(self._buffer, self.spill_schema, self.encoder.rows))
            self._row_bytes += sum(enc.size for enc in self._buffer)
            self._buffer = []

    def __len__(self) -> int:
        return len(self.ids)

    # --- the sorted pass ---------------------------------------------------------------------------------------

    def _windows(self):
        """Tables of rows in id order, each at most `self.window` rows (`sort_window`, or fewer for long rows)."""
        # A window is held twice while it is sorted (the table and its sorted copy), and once more while the
        # window before it is written, so its size is bounded in bytes as well as rows: 5,000 article-sized rows
        # measured ~520 MB of Arrow memory, 1,000 ~120 MB.
        # Rows are sized by `row_size` (from the row alone), not by the spill file, whose size depends on how the
        # rows were batched (one process or workers): the window, and so the parquet row groups, must be the
        # same for every --num-proc.
        row_bytes = self._row_bytes / max(1, len(self.ids))
        self.window = max(1, min(self.sort_window, int(SORT_WINDOW_BYTES // max(1.0, row_bytes))))
        # the parent's own rows, then the workers' (the order does not matter: every window is sorted by id)
        sources = [Source("rows.arrow"), *self._worker_batches]
        wide = spill_schema(self.schema, narrow=False)
        return sorted_windows(self.tmp / SPILL, sources, self.spill_schema, self.window,
                              pa.schema(wide, metadata=self.arrow_schema.metadata))

    def finish(self, build_notes: dict | None = None, agreement: dict | None = None,
               about: str | None = None, progress: Callable[[int, int], None] | None = None) -> GoldInfo:
        """Write the gold set into the temporary folder (the caller's `atomic_directory` puts it in place).
        `progress(rows written, rows)` is called as the sorted windows are written."""
        self._flush()
        self._writer.close()
        self._writer = None
        tmp = self.tmp
        filled = [name for name, _ in self.splits if self.split_counts[name]]
        if not filled:
            shutil.rmtree(tmp / SPILL, ignore_errors=True)
            return self._finish_empty(build_notes, agreement, about)
        (tmp / "data").mkdir(exist_ok=True)
        files = {name: _SplitFiles(self, name) for name in filled}
        total, written = sum(self.split_counts.values()), 0
        if progress:
            progress(0, total)
        # Threads (pyarrow and hashlib release the GIL while they write and hash): the next window is read and
        # sorted (`read_ahead`) while each split's digest, Arrow file and parquet file take the windows before,
        # each file in a thread of its own (so it gets its rows in order), and this thread hashes the rows'
        # fingerprint JSON. A file may start on a window while another still writes the one before (no file
        # waits for the slowest at every window); a window is let go once all its jobs are done, and a third is
        # not handed out before then, so at most three windows are alive at once (see SORT_WINDOW_BYTES).
        runners = [ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"gold-{name}-{kind}")
                   for name in filled for kind in _SplitFiles.KINDS]
        try:
            content = hashlib.sha256()  # what `content_fingerprint` hashes: the rows' JSON in id order
            before: tuple[list, int] = ([], 0)
            for table in read_ahead(self._windows()):
                jobs = [runner.submit(job) for runner, job in zip(runners, (
                    job for name in filled for job in files[name].jobs(self._part(table, name, filled))))]
                for chunk in table.column("__fingerprint").chunks:
                    content.update(binary_values(chunk))
                written = self._wait(before, written, total, progress)
                before = (jobs, table.num_rows)
                del table, jobs
            self._wait(before, written, total, progress)
            fingerprint = content.hexdigest()[:16]
        finally:
            for runner in runners:
                runner.shutdown(cancel_futures=True)
        for split in files.values():
            split.close()
        digest = files_digest({name: files[name].values for name in filled})
        from datasets import DatasetInfo  # (`load_datasets`)
        from datasets.utils.py_utils import asdict
        for name in filled:
            os.replace(tmp / "data" / f".{name}.parquet", tmp / parquet_name(name, digest))
            state = {"_data_files": [{"filename": "data-00000-of-00001.arrow"}],
                     "_fingerprint": digest, "_format_columns": None, "_format_kwargs": {}, "_format_type": None,
                     "_output_all_columns": False, "_split": None}
            (tmp / name / "state.json").write_text(json.dumps(state, indent=2, sort_keys=True), encoding="utf-8")
            info = asdict(DatasetInfo(features=self.feats))
            (tmp / name / "dataset_info.json").write_text(json.dumps({k: info[k] for k in sorted(info)}, indent=2),
                                                          encoding="utf-8")
        (tmp / "dataset_dict.json").write_text(json.dumps({"splits": filled}), encoding="utf-8")
        shutil.rmtree(tmp / SPILL, ignore_errors=True)
        counts = {name: self.split_counts[name] for name in filled}
        return self._write_meta(fingerprint, digest, counts, build_notes, agreement, about)

    @staticmethod
    def _wait(window: tuple[list, int], written: int, total: int, progress) -> int:
        """Wait for one window's jobs (raising what one raised); returns the rows written so far."""
        jobs, rows = window
        for job in jobs:
            job.result()
        if jobs and progress:
            progress(written + rows, total)
        return written + rows

    def _part(self, table: pa.Table, name: str, filled: list[str]) -> pa.Table:
        """The rows of split `name` in a window, with the dataset's columns only."""
        part = table.filter(pc.equal(table.column("__split"), name)) if len(filled) > 1 else table
        return part.select(self.arrow_schema.names)

    def _finish_empty(self, build_notes, agreement, about) -> GoldInfo:
        # An empty set keeps one empty split, written by `datasets` itself (from_list([]) loses the columns).
        from datasets import Dataset, DatasetDict  # (`load_datasets`)

        name = self.splits[0][0]
        ds = Dataset.from_dict({k: [] for k in self.feats}, features=self.feats)
        digest = files_digest({name: ValuesDigest(self.arrow_schema)})
        DatasetDict({name: ds}).save_to_disk(str(self.tmp))
        ds.to_parquet(str(self.tmp / parquet_name(name, digest)))
        return self._write_meta(hashlib.sha256().hexdigest()[:16], digest, {name: 0}, build_notes, agreement, about)

    def _write_meta(self, fingerprint, files_digest, counts, build_notes, agreement, about) -> GoldInfo:
        schema = self.schema
        build = {
            "toolkit_version": __version__,
            "schema": schema.name,
            "schema_version": schema.version,
            "schema_fingerprint": schema.fingerprint,
            "schema_definition": schema.to_dict(),
            "guidelines": schema.guidelines_record(),
            "fingerprint": fingerprint,
            "splits": counts,
            "split_spec": dict(self.splits),
            "files_digest": files_digest,
            **(build_notes or {}),
        }
        tmp = self.tmp
        (tmp / BUILD_FILE).write_text(json.dumps(build, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        if agreement is not None:
            (tmp / AGREEMENT_FILE).write_text(json.dumps(agreement, ensure_ascii=False, indent=2) + "\n",
                                              encoding="utf-8")
        stats = CardStats(sum(counts.values()), counts, self.entities, self.events, self.roles, self.annotators,
                          self.reviewers)
        (tmp / "README.md").write_text(dataset_card(stats, schema, build, agreement, about), encoding="utf-8")
        return GoldInfo(Path(tmp), fingerprint, schema.fingerprint, build, agreement)


class _SplitFiles:
    """One split's files, fed the split's rows of each sorted window in order: its files digest
    (`ValuesDigest`), its `save_to_disk` Arrow file and its parquet file, one job each (`jobs`)."""

    def __init__(self, gold: GoldWriter, name: str):
        from datasets.arrow_writer import ArrowWriter, get_parquet_column_options  # (`load_datasets`)
        from datasets.config import DEFAULT_CDC_OPTIONS

        tmp = gold.tmp
        (tmp / name).mkdir()
        self.name, self.gold = name, gold
        self.values = ValuesDigest(gold.arrow_schema)
        # An Arrow file of our own as the stream (`finalize` closes it), not a path: `datasets` would open the
        # path through fsspec, a Python file object that every buffer written goes through, holding the GIL.
        self.arrow = ArrowWriter(features=gold.feats, stream=pa.OSFile(str(tmp / name / "data-00000-of-00001.arrow"),
                                                                       "wb"))
        self.parquet = pq.ParquetWriter(str(tmp / "data" / f".{name}.parquet"), schema=gold.arrow_schema,
                                        use_content_defined_chunking=DEFAULT_CDC_OPTIONS, write_page_index=True,
                                        **get_parquet_column_options(gold.feats, gold.arrow_schema))
        self.pending: list[pa.Table] = []
        self.per_group: int | None = None

    KINDS = ("parquet", "arrow", "digest")  # what `jobs` returns, in this order

    def jobs(self, rows: pa.Table) -> list[Callable[[], None]]:
        """What to do with one window's rows of this split: a call per file (`KINDS`; each file's calls must
        run one after another, in window order), which may run at once with each other's, as they share only the
        (read-only) rows. An empty window's calls do nothing."""
        if not rows.num_rows:
            return [_nothing] * len(self.KINDS)
        if self.per_group is None:
            # Rows per parquet row group: what `to_parquet` picks (~100 MB of rows, estimated from the split's
            # first window), but at most one sort window, so that a row group is never held whole in memory. A
            # set of up to `sort_window` rows per split is one row group either way, as before.
            from datasets.arrow_writer import get_writer_batch_size_from_data_size

            count = self.gold.split_counts[self.name]
            self.per_group = min(self.gold.window, get_writer_batch_size_from_data_size(
                count, int(rows.nbytes / max(1, rows.num_rows) * count)))
        return [lambda: self._parquet_groups(rows), lambda: self.arrow.write_table(rows),
                lambda: self.values.update(rows)]

    def _parquet_groups(self, rows: pa.Table | None = None, final: bool = False) -> None:
        """Write full row groups of `per_group` rows (and, at the end, the rest) from the pending tables, after
        `rows`."""
        if rows is not None:
            self.pending.append(rows)
        pending, rows = self.pending, sum(t.num_rows for t in self.pending)
        while rows >= self.per_group or (final and rows):
            table = pa.concat_tables(pending)
            take = min(self.per_group, rows)
            self.parquet.write_table(table.slice(0, take))
            rest = table.slice(take)
            pending[:] = [rest] if rest.num_rows else []
            rows -= take

    def close(self) -> None:
        from datasets.config import DEFAULT_CDC_OPTIONS

        self._parquet_groups(final=True)
        self.parquet.add_key_value_metadata({"content_defined_chunking": json.dumps(DEFAULT_CDC_OPTIONS)})
        self.parquet.close()
        self.arrow.finalize()
        self.arrow.close()


def _nothing() -> None:
    pass


def write_gold(documents: Iterable[Document], schema: Schema, out_dir: str | Path, splits_spec: str | None = None,
               agreement: dict | None = None, build_notes: dict | None = None, about: str | None = None,
               batch_size: int = 1000, sort_window: int = 5000) -> GoldInfo:
    """Write `documents` as the gold set at `out_dir`, replacing it atomically."""
    with atomic_directory(out_dir) as tmp:
        writer = GoldWriter(schema, tmp, splits_spec, batch_size, sort_window)
        for doc in documents:
            writer.add(doc)
        info = writer.finish(build_notes, agreement, about)
    info.path = Path(out_dir)
    return info
