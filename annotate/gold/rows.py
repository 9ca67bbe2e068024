"""One gold Document <-> one dataset row: the features, the row encoder (tokens cut at every annotation
boundary, IOB2 layers), the row decoder, splits by document id, and the content fingerprint of rows.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
from array import array
from bisect import bisect_left
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import accumulate, chain
from pathlib import Path
from typing import TYPE_CHECKING

import msgspec
import pyarrow as pa

from ..core.bio import assign_layers, bio_labels
from ..core.model import Argument, Document, Entity, Event, Provenance, Span
from ..core.schema import Schema
from ..core.tokenize import sentence_ids_of_bounds, token_bounds
from .batchrows import TOKEN_COLUMNS, Misaligned, TokenColumns, token_columns
from .layout import DatasetBuildError

if TYPE_CHECKING:
    from datasets import Features


@dataclass(frozen=True)
class Label:
    """A column of class labels (`datasets.ClassLabel`: int64 in Arrow)."""
    names: tuple[str, ...]


def columns(schema: Schema) -> dict:
    """The dataset's columns, once: `features` and `arrow_schema` are this in `datasets`' and Arrow's terms. A
    type is "string", "int32", a `Label`, a one-item list (a list of that type) or a dict (a struct)."""
    ner, trig = Label(tuple(bio_labels(schema.entity_types))), Label(tuple(bio_labels(schema.event_types)))
    # document choices (a topic, a sentiment: kept, never scored), a column only when the schema has them, so
    # gold sets of schemas without them keep their files as they were
    doc_labels = {"doc_labels": [{"name": "string", "value": "string"}]} if schema.document_choices else {}
    return {
        "id": "string",
        "text": "string",
        "tokens": ["string"],
        "token_start": ["int32"],
        "token_end": ["int32"],
        "sentence": ["int32"],
        "ner_tags": [ner],
        "ner_layers": [[ner]],
        "trigger_tags": [trig],
        "trigger_layers": [[trig]],
        "entities": [{"id": "string", "start": "int32", "end": "int32", "type": Label(tuple(schema.entity_types)),
                      "text": "string"}],
        "events": [{"id": "string", "type": Label(tuple(schema.event_types)), "trigger_start": "int32",
                    "trigger_end": "int32", "trigger_text": "string",
                    "attributes": [{"name": "string", "value": "string"}],
                    "arguments": [{"role": "string", "entity": "string"}]}],
        "annotators": ["string"],
        "reviewers": ["string"],
        "annotation_ids": ["string"],
        "export_source": "string",
        "export_sha256": "string",
        "metadata": "string",  # JSON: headline, date, source, dropped boilerplate, gold rule
        **doc_labels,
    }


def features(schema: Schema) -> Features:
    """The dataset's `datasets.Features` (`columns`)."""
    from datasets import ClassLabel, Features, List, Value  # see `arrow_schema`

    def feature(kind):
        if isinstance(kind, list):
            return List(feature(kind[0]))
        if isinstance(kind, dict):
            return {name: feature(k) for name, k in kind.items()}
        return ClassLabel(names=list(kind.names)) if isinstance(kind, Label) else Value(kind)

    return Features({name: feature(kind) for name, kind in columns(schema).items()})


def arrow_schema(schema: Schema) -> pa.Schema:
    """The Arrow types of `features(schema)` (equal to its `arrow_schema`, without `datasets`' metadata),
    made without importing `datasets`: an import's worker processes write rows before the parent has loaded
    it, which takes ~0.35 s (it loads pandas) and is only needed to write the files at the end."""
    scalar = {"string": pa.string(), "int32": pa.int32()}

    def arrow(kind) -> pa.DataType:
        if isinstance(kind, list):
            return pa.list_(arrow(kind[0]))
        if isinstance(kind, dict):
            return pa.struct([(name, arrow(k)) for name, k in kind.items()])
        return pa.int64() if isinstance(kind, Label) else scalar[kind]

    return pa.schema([(name, arrow(kind)) for name, kind in columns(schema).items()])


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
        self.doc_labels = bool(schema.document_choices)
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
        return {**self.token_columns(doc), **self.document_columns(doc)}

    def spans(self, doc: Document) -> tuple[list, list]:
        """(entity spans, trigger spans) as (start, end, type)."""
        return [(e.start, e.end, e.type) for e in doc.entities], \
            [(v.trigger.start, v.trigger.end, v.type) for v in doc.events]

    def token_columns(self, doc: Document) -> dict:
        """The columns derived from the tokens, one document at a time (`batchrows` computes the same for a
        batch of documents at once)."""
        text = doc.text
        ent_spans, trig_spans = self.spans(doc)
        cuts = {x for s, e, _ in ent_spans for x in (s, e)} | {x for s, e, _ in trig_spans for x in (s, e)}
        starts, ends = token_bounds(text, cuts)
        ner = self._layers(starts, ends, ent_spans, self.entity_index, self.entity_types, self.ner_chunks, doc.id)
        trig = self._layers(starts, ends, trig_spans, self.event_index, self.event_types, self.trig_chunks, doc.id)
        return {
            "tokens": list(map(text.__getitem__, map(slice, starts, ends))),
            "token_start": starts,
            "token_end": ends,
            "sentence": sentence_ids_of_bounds(text, starts, ends),
            "ner_tags": ner[0],
            "ner_layers": ner,
            "trigger_tags": trig[0],
            "trigger_layers": trig,
        }

    def document_columns(self, doc: Document) -> dict:
        """Every column but the token columns."""
        text = doc.text
        row = {
            "id": doc.id,
            "text": text,
            "entities": [{"id": e.id, "start": e.start, "end": e.end, "type": self.entity_index[e.type],
                          "text": text[e.start:e.end]} for e in doc.entities],
            "events": [{"id": v.id, "type": self.event_index[v.type], "trigger_start": v.trigger.start,
                        "trigger_end": v.trigger.end, "trigger_text": text[v.trigger.start:v.trigger.end],
                        "attributes": [{"name": k, "value": x} for k, x in sorted(v.attributes.items())],
                        "arguments": [{"role": a.role, "entity": a.entity} for a in v.arguments]}
                       for v in doc.events],
            "annotators": list(doc.provenance.annotators),
            "reviewers": list(doc.provenance.reviewers),
            "annotation_ids": list(doc.provenance.annotation_ids),
            "export_source": doc.provenance.source,
            "export_sha256": doc.provenance.source_sha256,
            "metadata": json.dumps(doc.metadata, ensure_ascii=False, sort_keys=True, default=str),
        }
        if self.doc_labels:  # the column mirrors metadata["doc_labels"], which the row decoder reads back
            row["doc_labels"] = [{"name": k, "value": x} for k, v in sorted(doc.metadata.get("doc_labels", {}).items())
                                 for x in v]
        return row

    def encode_batch(self, docs: list[Document], types: dict[str, pa.DataType]) -> TokenColumns | None:
        """The token columns of `docs` as Arrow arrays (`batchrows`), or None where the batch path does not
        apply (a span off token boundaries, tags that do not decode back, a lone surrogate, 2 GiB of token text
        in one batch): then `token_columns` goes one document at a time, as a build always did, and raises the
        error naming the document at fault."""
        ents, trigs = [], []
        for doc in docs:
            e, t = self.spans(doc)
            ents.append([(s, x, self.entity_index[k]) for s, x, k in e])
            trigs.append([(s, x, self.event_index[k]) for s, x, k in t])
        try:
            return token_columns([d.text for d in docs], ents, trigs, types, (self.entity_types, self.event_types))
        except (Misaligned, UnicodeError, OverflowError):
            return None


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
    """What `content_fingerprint` hashes of one (int-coded) row: `json.dumps({id, text, entities, events},
    sort_keys=True, ensure_ascii=False)` in UTF-8. The text, last of the sorted keys and most of the bytes, is
    encoded by msgspec: its JSON string is the stdlib's byte for byte (a test compares them over every code
    point), in a seventh of the time."""
    head = json.dumps({k: row[k] for k in FINGERPRINT_COLUMNS if k != "text"}, sort_keys=True, ensure_ascii=False)
    return b"".join((head[:-1].encode(), b', "text": ', _JSON_STRING(row["text"]), b"}"))


_JSON_STRING = msgspec.json.Encoder().encode


def row_size(row: dict, fingerprint_json: bytes) -> int:
    """About how many bytes one (int-coded) row takes in Arrow memory: its text and entities and events (their
    fingerprint JSON), the tokens' text again with 32 bytes of offsets, sentence ids and outer tags per token,
    and 8 per token per tag layer. Deterministic, from the row alone, so the sort windows it bounds (and with
    them the parquet row groups) are the same however the rows were batched."""
    return _size(len(fingerprint_json), len(row["tokens"]), len(row["ner_layers"]) + len(row["trigger_layers"]))


def _size(fingerprint_bytes: int, tokens: int, layers: int) -> int:
    return 2 * fingerprint_bytes + tokens * (32 + 8 * layers)


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
                               row["export_sha256"], tuple(row.get("reviewers") or ())))  # none in older sets


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


def content_fingerprint(rows: Iterable[dict]) -> str:
    """Hash of the gold content (documents, spans, events), independent of file layout and row order."""
    h = hashlib.sha256()
    for row in sorted(rows, key=lambda r: r["id"]):
        h.update(row_fingerprint_json(row))
    return h.hexdigest()[:16]


@dataclass
class EncodedDocument:
    """A gold document in the form the writer takes (built in a worker process when there are several)."""
    id: str
    split: str
    row: dict  # int-coded; the token columns are added as the batch of rows is written (`spill_batch`)
    fingerprint_json: bytes | None  # `row_fingerprint_json`, until the row is written
    size: int | None  # `row_size`, once the token columns are known
    entity_types: list[str]
    event_types: list[str]
    roles: list[str]
    annotators: list[str]
    reviewers: list[str]
    batch_row: int | None = None  # when the row travels in a worker's record batch: its position there
    doc: Document | None = None  # until its row is written: what the token columns are made from


class DocumentEncoder:
    """Gold Document -> EncodedDocument: the per-document work of a build, picklable for worker processes."""

    def __init__(self, schema: Schema, splits_spec: str | None):
        self.schema = schema
        self.splits = parse_splits(splits_spec)
        self.rows = RowEncoder(schema)
        self.spill_dir: Path | None = None  # set by the writer: where worker processes put their rows
        self._spill_schema: pa.Schema | None = None  # built in each worker on first use (~3 ms)
        self._out: pa.BufferedOutputStream | None = None  # this worker process's spill file, once it has rows

    def __call__(self, doc: Document) -> EncodedDocument:
        row = self.rows.document_columns(doc)
        return EncodedDocument(doc.id, split_of(doc.id, self.splits), row, row_fingerprint_json(row), None,
                               [e.type for e in doc.entities], [v.type for v in doc.events],
                               [a.role for v in doc.events for a in v.arguments], list(doc.provenance.annotators),
                               list(doc.provenance.reviewers), doc=doc)

    def batch(self, encoded: list[EncodedDocument]) -> tuple[str, int, int]:
        """Rows as one record batch of the writer's spill schema, sorted by id (`encoded` is sorted in place, so
        a row's position in it is its position in the batch), appended as an Arrow IPC stream of its own to
        this worker process's file in the writer's spill folder; returns the file's name and the stream's
        offset and size there. (Sent back through the pool's pipe instead, an article-sized row's ~35 KB would
        be copied twice more, and written by the parent process, which has the tasks to read. Sorted, a
        batch's rows of one sort window are one slice of it: see `windows.py`.)"""

        if self._spill_schema is None:
            self._spill_schema = spill_schema(self.schema)
        if self._out is None:
            # one file per worker process, for as long as it lives (a token, not only the pid: never reopen a
            # file another process wrote)
            self._out_name = f"worker-{os.getpid()}-{secrets.token_hex(4)}.arrow"
            # buffered: the IPC writer writes each buffer of the batch on its own
            self._out = pa.BufferedOutputStream(pa.OSFile(str(self.spill_dir / self._out_name), "wb"), 1 << 20)
        encoded.sort(key=_by_id)
        offset = self._out.tell()
        with pa.ipc.new_stream(self._out, self._spill_schema) as out:
            out.write_batch(spill_batch(encoded, self._spill_schema, self.rows))
        self._out.flush()  # the parent reads it as soon as the chunk's outcomes are back
        return self._out_name, offset, self._out.tell() - offset

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_out": None}


def _by_id(enc: EncodedDocument) -> str:
    return enc.id


TAG_COLUMNS = ("ner_tags", "ner_layers", "trigger_tags", "trigger_layers")


def spill_schema(schema: Schema, narrow: bool = True) -> pa.Schema:
    """The rows as the writer keeps them before sorting: the dataset's columns, the split, and what the
    content fingerprint hashes.

    `__fingerprint` holds each row's `row_fingerprint_json`: the sorted pass hashes it in id order (the content
    fingerprint), and never writes it to the dataset.

    Spilled, the tag columns hold bytes (`narrow`): a tag is below 256 (at most 127 types of a kind, see
    `RowEncoder`), and the dataset's int64 would make them more than half of an article's row, written to the
    spill and read back for nothing. The sorted pass casts them back (`narrow=False` is the dataset's own
    types)."""
    arrow = arrow_schema(schema)
    if narrow:
        arrow = pa.schema([f.with_type(_tags_as(f.type, pa.uint8())) if f.name in TAG_COLUMNS else f for f in arrow],
                          metadata=arrow.metadata)
    return arrow.append(pa.field("__split", pa.string())).append(pa.field("__fingerprint", pa.binary()))


def _tags_as(kind: pa.DataType, tag: pa.DataType) -> pa.DataType:
    """list<int64> -> list<tag>, list<list<int64>> -> list<list<tag>>."""
    return pa.list_(_tags_as(kind.value_type, tag)) if pa.types.is_list(kind) else tag


def spill_batch(encoded: list[EncodedDocument], schema: pa.Schema, rows: RowEncoder) -> pa.RecordBatch:
    """The rows as one record batch of `schema`, built column by column, and each document's `size` set. The
    token columns of the whole batch come from `RowEncoder.encode_batch` (numpy arrays, no Python object
    per token). Other list columns are made from their values flattened over the whole batch and their offsets
    (`pa.array` of a flat list of ints or strings is much faster than the converter walking a list per row),
    structs and plain values with `pa.array`. Each document's Document is let go once its row is built."""
    types = {name: schema.field(name).type for name in TOKEN_COLUMNS}
    batch = rows.encode_batch([enc.doc for enc in encoded], types)
    if batch is None:
        for enc in encoded:
            enc.row.update(rows.token_columns(enc.doc))
            enc.size = row_size(enc.row, enc.fingerprint_json)
    else:
        for enc, n, depth in zip(encoded, batch.tokens.tolist(), batch.depth.tolist()):
            enc.size = _size(len(enc.fingerprint_json), n, depth)
    columns = []
    for field in schema:
        name, kind = field.name, field.type
        if name == "__split":
            columns.append(_column([enc.split for enc in encoded], kind))
        elif name == "__fingerprint":
            columns.append(pa.array([enc.fingerprint_json for enc in encoded], kind))
        elif batch is not None and name in batch.arrays:
            columns.append(batch.arrays[name])
        else:
            columns.append(_column([enc.row[name] for enc in encoded], kind))
    for enc in encoded:
        enc.doc = None
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


_INT_CODES = {pa.uint8(): "B", pa.int32(): "i", pa.int64(): "q"}


def _ints(values: list[int], kind: pa.DataType) -> pa.Array:
    """Python ints as an Arrow array through `array.array`, whose C loop packs them several times faster
    than `pa.array` converts them; it raises OverflowError rather than wrapping a value that does not fit."""

    packed = array(_INT_CODES[kind], values)
    return pa.Array.from_buffers(kind, len(packed), [None, pa.py_buffer(packed)])
