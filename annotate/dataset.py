"""Gold Documents <-> a Hugging Face `DatasetDict` on disk (parquet + dataset card + save_to_disk files).

Character spans are the truth; tokens and IOB2 layers are derived here, with tokens cut at every annotation
boundary, and every document is checked to survive spans -> tags -> spans unchanged before anything is
written. The folder is replaced atomically, so a crash leaves the previous gold set in place.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from array import array
from bisect import bisect_left
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from itertools import accumulate, chain
from pathlib import Path

import numpy as np
import pyarrow as pa
from datasets import ClassLabel, Dataset, DatasetDict, Features, List, Value

from . import __version__
from .arrowdigest import ValuesDigest
from .atomic import atomic_directory
from .bio import assign_layers, bio_labels
from .model import Argument, Document, Entity, Event, Provenance, Span
from .schema import Schema
from .tokenize import sentence_ids_of_bounds, token_bounds

BUILD_FILE = "build.json"
AGREEMENT_FILE = "agreement.json"


class DatasetBuildError(ValueError):
    pass


class GoldReadError(ValueError):
    """A gold set that cannot be read; the message names the damaged file."""


def features(schema: Schema) -> Features:
    ner = ClassLabel(names=bio_labels(schema.entity_types))
    trig = ClassLabel(names=bio_labels(schema.event_types))
    string, i32 = Value("string"), Value("int32")
    return Features({
        "id": string,
        "text": string,
        "tokens": List(string),
        "token_start": List(i32),
        "token_end": List(i32),
        "sentence": List(i32),
        "ner_tags": List(ner),
        "ner_layers": List(List(ner)),
        "trigger_tags": List(trig),
        "trigger_layers": List(List(trig)),
        "entities": List({"id": string, "start": i32, "end": i32,
                          "type": ClassLabel(names=list(schema.entity_types)), "text": string}),
        "events": List({"id": string, "type": ClassLabel(names=list(schema.event_types)),
                        "trigger_start": i32, "trigger_end": i32, "trigger_text": string,
                        "attributes": List({"name": string, "value": string}),
                        "arguments": List({"role": string, "entity": string})}),
        "annotators": List(string),
        "annotation_ids": List(string),
        "export_source": string,
        "export_sha256": string,
        "metadata": string,  # JSON: headline, date, source, dropped boilerplate, gold rule
    })


class RowEncoder:
    """One document -> its dataset row, with ClassLabel values already as ints (what `to_list` reads back).

    Built once per schema, so nothing per document looks a label up by name twice. Tags are derived per span
    (tokens are cut at every span boundary, so a span's first and last token are found by offset), and the
    spans -> tags -> spans identity is checked on every document by decoding the tags with one compiled
    regex per layer (IOB2 strict: a chunk is a B- followed by I- of its type, as `chunks.entities_strict`
    reads it), independent of how they were written."""

    def __init__(self, schema: Schema):
        self.schema = schema
        self.entity_types = list(schema.entity_types)
        self.event_types = list(schema.event_types)
        self.entity_index = {t: i for i, t in enumerate(self.entity_types)}
        self.event_index = {t: i for i, t in enumerate(self.event_types)}
        if max(len(self.entity_types), len(self.event_types)) > 127:
            raise DatasetBuildError("more than 127 types of one kind: tags no longer fit in a byte")
        self.ner_chunks = _chunk_pattern(len(self.entity_types))
        self.trig_chunks = _chunk_pattern(len(self.event_types))

    def _layers(self, starts: list[int], ends: list[int], spans: list, index: dict, names: list,
                pattern: re.Pattern, doc_id: str):
        """Tag layers (ints) for `spans`, and the check that they decode back to exactly `spans`. A span's
        first and last token are found by bisection in the token starts and ends (no index of every token)."""
        n = len(starts)
        layer_of = assign_layers(spans)
        depth = max([1, *(x + 1 for x in layer_of)])
        layers = [[0] * n for _ in range(depth)]
        for (s, e, label), layer in zip(spans, layer_of):
            ts, last = bisect_left(starts, s), bisect_left(ends, e)
            if ts == n or starts[ts] != s or last == n or ends[last] != e:
                raise DatasetBuildError(f"document {doc_id}: span [{s}, {e}) does not fall on token boundaries")
            b = 1 + 2 * index[label]
            row = layers[layer]
            row[ts] = b
            if last > ts:
                row[ts + 1:last + 1] = [b + 1] * (last - ts)
        back = sorted((starts[m.start()], ends[m.end() - 1], names[(m.group()[0] - 1) // 2])
                      for layer in layers for m in pattern.finditer(bytes(layer)))
        if back != sorted(spans):
            raise DatasetBuildError(f"document {doc_id}: spans -> tags -> spans is not the identity")
        return layers

    def row(self, doc: Document) -> dict:
        text = doc.text
        ent_spans = [(e.start, e.end, e.type) for e in doc.entities]
        trig_spans = [(v.trigger.start, v.trigger.end, v.type) for v in doc.events]
        cuts = {x for s, e, _ in ent_spans for x in (s, e)} | {x for s, e, _ in trig_spans for x in (s, e)}
        starts, ends = token_bounds(text, cuts)
        ner = self._layers(starts, ends, ent_spans, self.entity_index, self.entity_types, self.ner_chunks, doc.id)
        trig = self._layers(starts, ends, trig_spans, self.event_index, self.event_types, self.trig_chunks, doc.id)
        return {
            "id": doc.id,
            "text": text,
            "tokens": list(map(text.__getitem__, map(slice, starts, ends))),
            "token_start": starts,
            "token_end": ends,
            "sentence": sentence_ids_of_bounds(text, starts, ends),
            "ner_tags": ner[0],
            "ner_layers": ner,
            "trigger_tags": trig[0],
            "trigger_layers": trig,
            "entities": [{"id": e.id, "start": e.start, "end": e.end, "type": self.entity_index[e.type],
                          "text": text[e.start:e.end]} for e in doc.entities],
            "events": [{"id": v.id, "type": self.event_index[v.type], "trigger_start": v.trigger.start,
                        "trigger_end": v.trigger.end, "trigger_text": text[v.trigger.start:v.trigger.end],
                        "attributes": [{"name": k, "value": x} for k, x in sorted(v.attributes.items())],
                        "arguments": [{"role": a.role, "entity": a.entity} for a in v.arguments]}
                       for v in doc.events],
            "annotators": list(doc.provenance.annotators),
            "annotation_ids": list(doc.provenance.annotation_ids),
            "export_source": doc.provenance.source,
            "export_sha256": doc.provenance.source_sha256,
            "metadata": json.dumps(doc.metadata, ensure_ascii=False, sort_keys=True, default=str),
        }


def _chunk_pattern(n_types: int) -> re.Pattern:
    """IOB2 strict chunks over a layer written as bytes (O=0, B-k=2k+1, I-k=2k+2): B-k then any I-k."""
    alternatives = [re.escape(bytes([2 * k + 1])) + re.escape(bytes([2 * k + 2])) + b"*" for k in range(n_types)]
    return re.compile(b"|".join(alternatives) or b"(?!)")


def document_to_row(doc: Document, schema: Schema, encoder: RowEncoder | None = None) -> dict:
    """The row of one document as `datasets` takes it (entity and event types by name)."""
    encoder = encoder or RowEncoder(schema)
    row = encoder.row(doc)
    for e in row["entities"]:
        e["type"] = encoder.entity_types[e["type"]]
    for v in row["events"]:
        v["type"] = encoder.event_types[v["type"]]
    return row


FINGERPRINT_COLUMNS = ["id", "text", "entities", "events"]  # the gold content: what the fingerprint hashes


def row_fingerprint_json(row: dict) -> bytes:
    """What `content_fingerprint` hashes of one (int-coded) row."""
    return json.dumps({k: row[k] for k in FINGERPRINT_COLUMNS}, sort_keys=True, ensure_ascii=False).encode()


def row_size(row: dict, fingerprint_json: bytes) -> int:
    """About how many bytes one (int-coded) row takes in Arrow memory: its text and entities and events (their
    fingerprint JSON), the tokens' text again with 32 bytes of offsets, sentence ids and outer tags per token,
    and 8 per token per tag layer. Deterministic, from the row alone, so the sort windows it bounds (and with
    them the parquet row groups) are the same however the rows were batched."""
    tokens = len(row["tokens"])
    return 2 * len(fingerprint_json) + tokens * (32 + 8 * (len(row["ner_layers"]) + len(row["trigger_layers"])))


def row_to_document(row: dict, entity_names: list[str], event_names: list[str]) -> Document:
    """Rows come back with ClassLabel ints; names map them back to the schema's labels."""
    def name(value, names):
        return names[value] if isinstance(value, int) else value

    entities = [Entity(e["id"], e["start"], e["end"], name(e["type"], entity_names)) for e in row["entities"]]
    events = [Event(v["id"], name(v["type"], event_names), Span(v["trigger_start"], v["trigger_end"]),
                    {a["name"]: a["value"] for a in v["attributes"]},
                    tuple(Argument(a["role"], a["entity"]) for a in v["arguments"])) for v in row["events"]]
    return Document(row["id"], row["text"], entities, events, json.loads(row["metadata"] or "{}"),
                    Provenance(tuple(row["annotators"]), tuple(row["annotation_ids"]), row["export_source"],
                               row["export_sha256"]))


def parse_splits(spec: str | None) -> list[tuple[str, float]]:
    """'train=0.8,test=0.2' -> [('train', 0.8), ('test', 0.2)]; fractions must add up to 1."""
    if not spec:
        return [("test", 1.0)]
    out = []
    for part in spec.split(","):
        name, _, frac = part.partition("=")
        try:
            value = float(frac)
        except ValueError:
            raise ValueError(f"--split: {part!r} is not NAME=FRACTION") from None
        if not name.strip() or value < 0:
            raise ValueError(f"--split: {part!r} is not NAME=FRACTION")
        out.append((name.strip(), value))
    if abs(sum(f for _, f in out) - 1.0) > 1e-9:
        raise ValueError(f"--split: fractions add up to {sum(f for _, f in out)}, not 1")
    return out


def split_of(doc_id: str, splits: list[tuple[str, float]]) -> str:
    """Deterministic: the same document always lands in the same split, whatever else is in the set."""
    bucket = int(hashlib.sha256(doc_id.encode()).hexdigest()[:12], 16) / float(16 ** 12)
    total = 0.0
    for name, frac in splits:
        total += frac
        if bucket < total:
            return name
    return splits[-1][0]


def parquet_name(split: str, digest: str) -> str:
    """A digest of the rows is part of the file name on purpose: `datasets` caches a local folder by its
    data-file paths, so a gold set rebuilt under the same names would load stale rows from that cache."""
    return f"data/{split}-{digest}.parquet"


def read_ahead(items: Iterable, ahead: int = 1):
    """`items`, each produced in a background thread while the caller works on the one before: at most
    `ahead` + 1 items are alive at once (the caller's, and those made ahead). An exception in the thread is
    raised in the caller; leaving the loop early stops the thread."""
    import queue
    import threading

    slots = threading.Semaphore(ahead + 1)
    made: queue.Queue = queue.Queue()
    stop = threading.Event()
    end = object()

    def produce() -> None:
        try:
            it = iter(items)
            while True:
                slots.acquire()
                if stop.is_set():
                    return
                item = next(it, end)
                made.put(item)
                if item is end:
                    return
        except BaseException as exc:  # noqa: BLE001 (handed to the caller, who raises it)
            made.put(_Failed(exc))

    thread = threading.Thread(target=produce, name="read-ahead", daemon=True)
    thread.start()
    try:
        while True:
            item = made.get()
            if item is end:
                return
            if isinstance(item, _Failed):
                raise item.exc
            yield item
            del item  # the caller is done with it: its slot is free
            slots.release()
    finally:
        stop.set()
        slots.release()
        thread.join()


@dataclass
class _Failed:
    exc: BaseException


def files_digest(splits: dict[str, ValuesDigest]) -> str:
    """The digest in the parquet file names: every split's rows as written (in id order), by value."""
    h = hashlib.sha256()
    for name, values in splits.items():
        h.update(f"{name} {values.hexdigest()}\n".encode())
    return h.hexdigest()[:16]


def content_fingerprint(rows: Iterable[dict]) -> str:
    """Hash of the gold content (documents, spans, events), independent of file layout and row order."""
    h = hashlib.sha256()
    for row in sorted(rows, key=lambda r: r["id"]):
        h.update(row_fingerprint_json(row))
    return h.hexdigest()[:16]


@dataclass
class GoldInfo:
    path: Path
    fingerprint: str
    schema_fingerprint: str
    build: dict
    agreement: dict | None

    @property
    def schema(self) -> Schema:
        """The schema the gold set was built with (types, roles, attributes)."""
        return Schema.from_dict(self.build["schema_definition"])


SPILL = ".rows"  # the unsorted rows of a build in progress, inside the temporary output folder


@dataclass
class EncodedDocument:
    """A gold document in the form the writer takes (built in a worker process when there are several)."""
    id: str
    split: str
    row: dict  # int-coded
    fingerprint_json: bytes
    size: int  # `row_size`
    entity_types: list[str]
    event_types: list[str]
    roles: list[str]
    annotators: list[str]
    batch_row: int | None = None  # when the row travels in a worker's record batch: its position there


class DocumentEncoder:
    """Gold Document -> EncodedDocument: the per-document work of a build, picklable for worker processes."""

    def __init__(self, schema: Schema, splits_spec: str | None):
        self.schema = schema
        self.splits = parse_splits(splits_spec)
        self.rows = RowEncoder(schema)
        self.spill_dir: Path | None = None  # set by the writer: where worker processes put their rows
        self._spill_schema: pa.Schema | None = None  # built in each worker on first use (~3 ms)
        self._spilled = 0  # batch files this process wrote

    def __call__(self, doc: Document) -> EncodedDocument:
        row = self.rows.row(doc)
        fp = row_fingerprint_json(row)
        return EncodedDocument(doc.id, split_of(doc.id, self.splits), row, fp, row_size(row, fp),
                               [e.type for e in doc.entities], [v.type for v in doc.events],
                               [a.role for v in doc.events for a in v.arguments], list(doc.provenance.annotators))

    def batch(self, encoded: list[EncodedDocument]) -> str:
        """Rows as one record batch of the writer's spill schema, written by the worker process that built them
        to a file of its own in the writer's spill folder; returns the file's name. (Sent back through the
        pool's pipe instead, an article-sized row's ~35 KB would be copied twice more, and written by the
        parent process, which has the tasks to read.)"""
        import os

        if self._spill_schema is None:
            self._spill_schema = spill_schema(self.schema)
        self._spilled += 1
        name = f"worker-{os.getpid()}-{self._spilled}.arrow"
        with pa.ipc.new_stream(str(self.spill_dir / name), self._spill_schema) as out:
            out.write_batch(spill_batch(encoded, self._spill_schema))
        return name


def spill_schema(schema: Schema) -> pa.Schema:
    """The rows as the writer keeps them before sorting: the dataset's columns and the split. (The two JSON
    forms the fingerprint and the files digest hash go to a file of their own, see `GoldWriter`.)"""
    return features(schema).arrow_schema.append(pa.field("__split", pa.string()))


def spill_batch(encoded: list[EncodedDocument], schema: pa.Schema) -> pa.RecordBatch:
    """The rows as one record batch of `schema`, built column by column: a list column is made from its
    values flattened over the whole batch and their offsets (`pa.array` of a flat list of ints or strings is
    much faster than the converter walking a list per row), structs and plain values with `pa.array`."""
    rows = [enc.row for enc in encoded]
    columns = []
    for field in schema:
        name, kind = field.name, field.type
        if name == "__split":
            values = [enc.split for enc in encoded]
        else:
            values = [row[name] for row in rows]
        columns.append(_column(values, kind))
    return pa.RecordBatch.from_arrays(columns, schema=schema)


def _column(values: list, kind: pa.DataType) -> pa.Array:
    """`pa.array(values, kind)` for lists of primitives (and lists of them), by flattening."""
    if pa.types.is_list(kind) and not pa.types.is_struct(kind.value_type):
        flat = list(chain.from_iterable(values))
        offsets = _ints([0, *accumulate(map(len, values))], pa.int32())
        return pa.ListArray.from_arrays(offsets, _column(flat, kind.value_type), type=kind)
    if kind in _INT_CODES:
        return _ints(values, kind)
    return pa.array(values, kind)


_INT_CODES = {pa.int32(): "i", pa.int64(): "q"}


def _ints(values: list[int], kind: pa.DataType) -> pa.Array:
    """Python ints as an Arrow array through `array.array`, whose C loop packs them several times faster
    than `pa.array` converts them; it raises OverflowError rather than wrapping a value that does not fit."""
    from array import array

    packed = array(_INT_CODES[kind], values)
    return pa.Array.from_buffers(kind, len(packed), [None, pa.py_buffer(packed)])


# `row_size` of the rows of one sort window, at most (see `GoldWriter._windows`): while one window is written
# the next is sorted (`read_ahead`), so three window-sized tables can be alive at once.
SORT_WINDOW_BYTES = 50 * 2**20


class GoldWriter:
    """Rows -> the gold set on disk, streamed: memory stays flat however many documents there are.

    Rows arrive in input order and go to an Arrow file in record batches of `batch_size`; the JSON the
    content fingerprint hashes goes, in the same order, to a plain file of its own, of which only each row's
    offset and length stay in memory: it is only ever hashed, so it is written once and read once (in id
    order, at the end), not carried through the sort windows. The files digest (in the parquet file names) is
    a `ValuesDigest` of each split's sorted rows, taken as they are written. `finish` puts the rows in
    document-id order one window of
    at most `sort_window` rows at a time (rows are first spread over windows by id range, so no window is
    ever larger, whatever the ids look like), and writes each split's `save_to_disk` Arrow file and parquet
    file as the sorted rows go by. The whole folder is written inside `atomic_directory`'s temporary folder,
    so a failed run leaves the previous gold set as it was.

    The parquet and Arrow files are written with `datasets`' own ArrowWriter and its parquet settings (row
    groups, content-defined chunking, column options), not `Dataset.save_to_disk` / `to_parquet`, which need
    the whole dataset as one table."""

    def __init__(self, schema: Schema, tmp: Path, splits_spec: str | None = None, batch_size: int = 1000,
                 sort_window: int = 5000):
        self.schema = schema
        self.splits = parse_splits(splits_spec)
        self.split_spec = splits_spec
        self.feats = features(schema)
        self.arrow_schema = self.feats.arrow_schema
        self.spill_schema = spill_schema(schema)
        self.tmp = Path(tmp)
        self.batch_size = max(1, batch_size)
        self.sort_window = max(1, sort_window)
        self.encoder = DocumentEncoder(schema, splits_spec)
        self.reset()

    def reset(self) -> None:
        """Start over (the import restarted): drop every row written so far."""
        import shutil

        if getattr(self, "_writer", None) is not None:
            self._writer.close()
        shutil.rmtree(self.tmp / SPILL, ignore_errors=True)
        (self.tmp / SPILL).mkdir(parents=True)
        self._writer = pa.ipc.new_stream(str(self.tmp / SPILL / "rows.arrow"), self.spill_schema)
        self._worker_files: list[tuple[str, array]] = []  # (batch file, rows kept) from worker processes
        self.encoder.spill_dir = self.tmp / SPILL
        self._buffer: list[dict] = []
        self.ids: list[str] = []
        if getattr(self, "_json", None) is not None:
            self._json.close()
        self._json = open(self.tmp / SPILL / "json.bin", "wb")  # noqa: SIM115 (closed in finish)
        self._json_at = array("q")  # per row, in `ids` order: offset and length in json.bin
        self._json_end = 0
        self._row_bytes = 0  # `row_size` of the rows so far
        self.split_counts: Counter = Counter()
        self.entities: Counter = Counter()
        self.events: Counter = Counter()
        self.roles: Counter = Counter()
        self.annotators: Counter = Counter()

    def add(self, doc: Document) -> None:
        self.add_encoded(self.encoder(doc))

    def add_encoded(self, enc: EncodedDocument) -> None:
        """Count a document, and keep its row unless it travels in a worker's batch (`add_rows`)."""
        self.ids.append(enc.id)
        self._json.write(enc.fingerprint_json)
        self._json_at.extend((self._json_end, len(enc.fingerprint_json)))
        self._json_end += len(enc.fingerprint_json)
        self._row_bytes += enc.size
        self.split_counts[enc.split] += 1
        self.entities.update(enc.entity_types)
        self.events.update(enc.event_types)
        self.roles.update(enc.roles)
        self.annotators.update(enc.annotators)
        if enc.batch_row is None:
            self._buffer.append(enc)
            if len(self._buffer) >= self.batch_size:
                self._flush()

    def add_rows(self, name: str, keep: list[int]) -> None:
        """A worker's batch file (`DocumentEncoder.batch`): only the rows at `keep` (the documents taken as gold)
        are part of the set. The file stays where the worker wrote it; the sorted pass reads it."""
        self._worker_files.append((name, array("l", keep)))

    def _flush(self) -> None:
        if self._buffer:
            self._writer.write_batch(spill_batch(self._buffer, self.spill_schema))
            self._buffer = []

    def __len__(self) -> int:
        return len(self.ids)

    # --- the sorted pass ---------------------------------------------------------------------------------------

    def _spill_batches(self, name: str | None = None):
        """The rows of one spill file, or (no name) every spilled row: the parent's own file, then the workers'
        (the order does not matter: every window is sorted by id)."""
        if name is not None:
            with pa.OSFile(str(self.tmp / SPILL / name)) as f:  # read, not memory-mapped: RSS stays per batch
                yield from pa.ipc.open_stream(f)
            return
        yield from self._spill_batches("rows.arrow")
        for name, keep in self._worker_files:
            for batch in self._spill_batches(name):  # one batch per file: `keep` are positions in it
                yield batch if len(keep) == batch.num_rows else batch.take(pa.array(keep, pa.int64()))

    def _spill_groups(self, rows: int):
        """The spilled rows as tables of about `rows` rows (whole record batches)."""
        batches, held = [], 0
        for batch in self._spill_batches():
            batches.append(batch)
            held += batch.num_rows
            if held >= rows:
                yield pa.Table.from_batches(batches, schema=self.spill_schema)
                batches, held = [], 0
        if batches:
            yield pa.Table.from_batches(batches, schema=self.spill_schema)

    def _windows(self):
        """Tables of rows in id order, each at most `self.window` rows (`sort_window`, or fewer for long rows)."""
        import bisect

        import pyarrow.compute as pc

        # A window is held twice while it is sorted (the table and its sorted copy), and once more while the
        # window before it is written, so its size is bounded in bytes as well as rows: 5,000 article-sized rows
        # measured ~520 MB of Arrow memory, 1,000 ~120 MB.
        # Rows are sized by `row_size` (from the row alone), not by the spill file, whose size depends on how the
        # rows were batched (one process or workers): the window, and so the parquet row groups, must be the
        # same for every --num-proc.
        row_bytes = self._row_bytes / max(1, len(self.ids))
        self.window = max(1, min(self.sort_window, int(SORT_WINDOW_BYTES // max(1.0, row_bytes))))
        ordered = sorted(self.ids)
        bounds = ordered[self.window::self.window]  # first id of each window after the first
        self.ids = []  # not needed any more
        if not bounds:
            parts = [list(self._spill_batches())]
        else:
            writers = [pa.ipc.new_stream(str(self.tmp / SPILL / f"w{w}.arrow"), self.spill_schema)
                       for w in range(len(bounds) + 1)]
            for group in self._spill_groups(self.window):
                # one take per group of spilled rows (not a filter per batch and window): the rows in window
                # order, then each window's run written to its file
                window = pa.array([bisect.bisect_right(bounds, i) for i in group.column(0).to_pylist()], pa.int32())
                group = group.take(pc.sort_indices(window))  # stable
                at = 0
                for w, n in enumerate(np.bincount(window.to_numpy(), minlength=len(writers)).tolist()):
                    if n:
                        writers[w].write_table(group.slice(at, n))
                        at += n
                del group
            for w in writers:
                w.close()
            (self.tmp / SPILL / "rows.arrow").unlink()
            for name, _ in self._worker_files:
                (self.tmp / SPILL / name).unlink()
            parts = (list(self._spill_batches(f"w{w}.arrow")) for w in range(len(bounds) + 1))
        for batches in parts:
            table = pa.Table.from_batches(batches, schema=self.spill_schema)
            yield table.take(pc.sort_indices(table, sort_keys=[("id", "ascending")]))

    def finish(self, build_notes: dict | None = None, agreement: dict | None = None,
               about: str | None = None, progress: Callable[[int, int], None] | None = None) -> GoldInfo:
        """Write the gold set into the temporary folder (the caller's `atomic_directory` puts it in place).
        `progress(rows written, rows)` is called as the sorted windows are written."""
        import shutil

        import pyarrow.parquet as pq
        from datasets import DatasetInfo
        from datasets.arrow_writer import ArrowWriter, get_parquet_column_options
        from datasets.config import DEFAULT_CDC_OPTIONS
        from datasets.utils.py_utils import asdict

        self._flush()
        self._writer.close()
        self._writer = None
        self._json.close()
        self._json = None
        tmp = self.tmp
        filled = [name for name, _ in self.splits if self.split_counts[name]]
        if not filled:
            shutil.rmtree(tmp / SPILL, ignore_errors=True)
            return self._finish_empty(build_notes, agreement, about)
        fingerprint = self._fingerprint()
        values = {name: ValuesDigest(self.arrow_schema) for name in filled}
        (tmp / "data").mkdir(exist_ok=True)
        arrow: dict[str, ArrowWriter] = {}
        parquet: dict[str, pq.ParquetWriter] = {}
        pending: dict[str, list] = {name: [] for name in filled}
        per_group: dict[str, int] = {}
        schema = self.arrow_schema
        column_options = get_parquet_column_options(self.feats, schema)
        for name in filled:
            (tmp / name).mkdir()
            arrow[name] = ArrowWriter(features=self.feats, path=str(tmp / name / "data-00000-of-00001.arrow"))
            parquet[name] = pq.ParquetWriter(str(tmp / "data" / f".{name}.parquet"), schema=schema,
                                             use_content_defined_chunking=DEFAULT_CDC_OPTIONS,
                                             write_page_index=True, **column_options)
        # The next window is read and sorted in a thread while this one is hashed and written (pyarrow and
        # hashlib release the GIL in both), so at most two windows are alive at once (see SORT_WINDOW_BYTES).
        total, written = sum(self.split_counts.values()), 0
        if progress:
            progress(0, total)
        for table in read_ahead(self._windows()):
            self._write_window(table, filled, values, arrow, parquet, pending, per_group)
            written += table.num_rows
            if progress:
                progress(written, total)
        for name in filled:
            self._parquet_groups(parquet[name], pending[name], per_group[name], final=True)
            parquet[name].add_key_value_metadata({"content_defined_chunking": json.dumps(DEFAULT_CDC_OPTIONS)})
            parquet[name].close()
            arrow[name].finalize()
            arrow[name].close()
        digest = files_digest(values)
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

    def _write_window(self, table: pa.Table, filled, values, arrow, parquet, pending, per_group) -> None:
        """One window of sorted rows into each split's digest, Arrow file and parquet file."""
        import pyarrow.compute as pc
        from datasets.arrow_writer import get_writer_batch_size_from_data_size

        split_col = table.column("__split")
        for name in filled:
            part = table.filter(pc.equal(split_col, name)) if len(filled) > 1 else table
            if not part.num_rows:
                continue
            rows = part.select(self.arrow_schema.names)
            values[name].update(rows)
            arrow[name].write_table(rows)
            if name not in per_group:
                # Rows per parquet row group: what `to_parquet` picks (~100 MB of rows, estimated from the
                # split's first window), but at most one sort window, so that a row group is never held whole
                # in memory. A set of up to `sort_window` rows per split is one row group either way, as before.
                per_group[name] = min(self.window, get_writer_batch_size_from_data_size(
                    self.split_counts[name], int(rows.nbytes / max(1, rows.num_rows) * self.split_counts[name])))
            pending[name].append(rows)
            self._parquet_groups(parquet[name], pending[name], per_group[name], final=False)

    def _fingerprint(self) -> str:
        """The content fingerprint from the JSON file, read in id order (what `content_fingerprint` hashes)."""
        at = self._json_at
        order = sorted(range(len(self.ids)), key=self.ids.__getitem__)  # stable, as sorted() by id
        fingerprint = hashlib.sha256()
        with open(self.tmp / SPILL / "json.bin", "rb") as f:
            for k in order:
                f.seek(at[2 * k])
                fingerprint.update(f.read(at[2 * k + 1]))
        return fingerprint.hexdigest()[:16]

    @staticmethod
    def _parquet_groups(writer, pending: list, per_group: int, final: bool) -> None:
        """Write full row groups of `per_group` rows (and, at the end, the rest) from the pending tables."""
        rows = sum(t.num_rows for t in pending)
        while rows >= per_group or (final and rows):
            table = pa.concat_tables(pending)
            take = min(per_group, rows)
            writer.write_table(table.slice(0, take))
            rest = table.slice(take)
            pending[:] = [rest] if rest.num_rows else []
            rows -= take

    def _finish_empty(self, build_notes, agreement, about) -> GoldInfo:
        # An empty set keeps one empty split, written by `datasets` itself (from_list([]) loses the columns).
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
        stats = CardStats(sum(counts.values()), counts, self.entities, self.events, self.roles, self.annotators)
        (tmp / "README.md").write_text(dataset_card(stats, schema, build, agreement, about), encoding="utf-8")
        return GoldInfo(Path(tmp), fingerprint, schema.fingerprint, build, agreement)


@dataclass
class CardStats:
    """What the dataset card counts, gathered as documents stream by."""
    documents: int
    splits: dict[str, int]
    entities: Counter
    events: Counter
    roles: Counter
    annotators: Counter


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


def dataset_card(stats: CardStats, schema: Schema, build: dict, agreement: dict | None,
                 about: str | None = None) -> str:
    """The dataset card: what is in the set (counts), how far the annotation passes agreed, how it was built;
    `about` (Markdown written by the curators: who annotated, sources, licence, limits) goes first."""
    ents, evs, roles, annotators = stats.entities, stats.events, stats.roles, stats.annotators
    lines = ["---", "language:", "- ar", f"pretty_name: {schema.name} gold set", "task_categories:",
             "- token-classification", "configs:", "- config_name: default", "  data_files:"]
    for name in stats.splits:
        lines += [f"  - split: {name}", f"    path: {parquet_name(name, build['files_digest'])}"]
    lines += ["---", "", f"# {schema.name} gold set", "",
              "Arabic news articles annotated with entities (nested allowed) and events (typed triggers, "
              "attributes, role-labelled arguments).", "",
              f"- Schema: `{schema.name}` v{schema.version}, fingerprint `{schema.fingerprint}`",
              f"- Gold content fingerprint: `{build['fingerprint']}`",
              f"- Built by annotate {build['toolkit_version']}",
              f"- Documents: {stats.documents} ({', '.join(f'{k}: {v}' for k, v in stats.splits.items())})",
              f"- Gold annotation by: {', '.join(f'{a} ({n})' for a, n in sorted(annotators.items())) or 'none'}"]
    if agreement and agreement.get("pairs"):
        passes = sorted({p[k] for p in agreement["pairs"] for k in ("a", "b")})
        lines.append(f"- Independent passes compared for agreement: {', '.join(passes)}")
    lines.append("")
    if about:
        lines += [about.strip(), ""]
    for title, counter in (("Entities", ents), ("Event triggers", evs), ("Arguments (roles)", roles)):
        lines += [f"## {title}", "", "| label | count |", "|---|---|"]
        lines += [f"| {k} | {v} |" for k, v in sorted(counter.items())] or ["| (none) | 0 |"]
        lines.append("")
    lines += ["## Inter-annotator agreement", ""]
    if agreement and agreement.get("pairs"):
        overall = agreement.get("overall", {})
        for key in ("entities_exact_f1", "entities_overlap_f1", "triggers_classification_f1",
                    "arguments_classification_f1", "token_kappa", "krippendorff_alpha"):
            if key in overall:
                value = overall[key]
                lines.append(f"- {key}: {'n/a' if value is None else f'{value:.3f}'}")
        lines.append(f"- over {agreement.get('tasks', 0)} task(s) annotated by two or more people")
        lines += ["", "Per label (F1 of one pass against the other; exact = same span and type, overlap = same type "
                  "and overlapping span; arguments = same trigger, entity span and role):", "",
                  "| label | exact F1 | overlap F1 | support |", "|---|---|---|---|"]
        per = agreement.get("per_label", {})
        exact, overlap = per.get("entities_exact", {}), per.get("entities_overlap", {})
        for label in sorted(set(exact) | set(overlap)):
            e, o = exact.get(label, {}), overlap.get(label, {})
            lines.append(f"| {label} | {_f3(e.get('f1'))} | {_f3(o.get('f1'))} | "
                         f"{e.get('support', o.get('support', 0))} |")
        for label, row in sorted(per.get("triggers_classification", {}).items()):
            lines.append(f"| trigger {label} | {_f3(row.get('f1'))} | | {row.get('support', 0)} |")
        for role, row in sorted(per.get("arguments_classification", {}).items()):
            lines.append(f"| argument {role} | {_f3(row.get('f1'))} | | {row.get('support', 0)} |")
    else:
        lines.append("No task was annotated by two or more people; no agreement figure is available.")
    lines += ["", "## How it was built", "",
              "Label Studio exports were read with `annotate import`; each task's gold annotation was chosen by "
              "the rule in the toolkit README (ground truth first, then a single annotation, then identical "
              "annotations; disagreements wait for adjudication). Tokens are cut at every annotation boundary; "
              "`ner_tags` is the outermost IOB2 layer and `ner_layers` holds every layer, so nested entities "
              "survive. Offsets are Python code points into `text`.", ""]
    for key in ("imported", "quarantined", "skipped", "exports"):
        if key in build:
            lines.append(f"- {key}: {build[key]}")
    return "\n".join(lines) + "\n"


def _f3(x) -> str:
    return "n/a" if x is None else f"{x:.3f}"


def gold_documents(path: str | Path, split: str | None = None) -> tuple[list[Document], GoldInfo]:
    """The gold Documents (one split, or all) and the set's info; the fingerprint is recomputed from the
    rows read, so a report never names a fingerprint the data does not have. GoldReadError names a damaged
    file. A list of every document: a caller that can take them one at a time uses `goldstream.GoldSet`."""
    from .goldstream import GoldSet

    gold = GoldSet(path)
    docs = list(gold.documents(split))
    return docs, gold.info()


def _json_object(file: Path) -> dict:
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise GoldReadError(f"{file}: not UTF-8 (byte {exc.start}); rebuild the gold set with `annotate import`"
                            ) from None
    except json.JSONDecodeError as exc:
        raise GoldReadError(f"{file}: not valid JSON: line {exc.lineno} column {exc.colno}: {exc.msg}; rebuild the "
                            "gold set with `annotate import`") from None
    if not isinstance(data, dict):
        raise GoldReadError(f"{file}: expected a JSON object; rebuild the gold set with `annotate import`")
    return data
