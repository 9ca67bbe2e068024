"""The token columns of many documents at once, straight into Arrow arrays.

`RowEncoder.row` is the definition of a row, one document at a time, with Python lists per token. A build
writes tens of thousands of documents, so here the same columns (tokens cut at every span boundary, their
offsets and sentence ids, the IOB2 tag layers) are computed for a batch of documents as numpy arrays
(`core.tokenbatch.TokenBatch`) and wrapped as Arrow arrays without a Python object per token. The spans ->
tags -> spans identity is checked on the arrays of the whole batch; when it fails, or a span does not fall on
token boundaries, the batch is encoded again one document at a time by `RowEncoder.row`, which raises the
error naming the first document at fault, exactly as a build without this module did.
`tests/test_batch_rows.py` checks that both give the same record batches.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from ..core.bio import assign_layers
from ..core.tokenbatch import TokenBatch

TOKEN_COLUMNS = ("tokens", "token_start", "token_end", "sentence", "ner_tags", "ner_layers", "trigger_tags",
                 "trigger_layers")


class Misaligned(Exception):
    """A span of the batch does not decode back from its tags (the per-document encoder words the error)."""


@dataclass
class TokenColumns:
    arrays: dict[str, pa.Array]  # the TOKEN_COLUMNS, one row per document
    tokens: np.ndarray  # per document: how many tokens
    depth: np.ndarray  # per document: entity layers + trigger layers


def token_columns(texts: list[str], entity_spans: list[list[tuple[int, int, int]]],
                  trigger_spans: list[list[tuple[int, int, int]]], types: dict[str, pa.DataType],
                  names: tuple[list[str], list[str]]) -> TokenColumns:
    """The token columns of a batch of documents. Spans are (start, end, type index) into each text; `types`
    are the Arrow types of the columns, `names` the entity and event type names (layers order spans of the
    same extent by name, as `RowEncoder.row` does). Raises Misaligned when a span is not whole tokens after the
    cuts, or the tags do not decode back to the spans; UnicodeError for a text holding a lone surrogate;
    OverflowError when the batch's token text passes what int32 offsets can address."""
    cuts = [sorted({x for s, e, _ in ents for x in (s, e)} | {x for s, e, _ in trigs for x in (s, e)})
            for ents, trigs in zip(entity_spans, trigger_spans)]
    tb = TokenBatch(texts, cuts)
    data, offsets = tb.token_utf8()
    if len(data) > np.iinfo(np.int32).max:
        raise OverflowError("the tokens of this batch pass 2 GiB: too many for one string array's int32 offsets")
    counts = np.diff(tb.first)
    per_doc = _offsets(counts)
    n = len(tb.starts)
    tokens = pa.ListArray.from_arrays(per_doc, pa.StringArray.from_buffers(
        n, pa.py_buffer(offsets.astype(np.int32)), pa.py_buffer(data)), type=types["tokens"])
    arrays = {
        "tokens": tokens,
        "token_start": _int_lists(per_doc, tb.local_starts, types["token_start"]),
        "token_end": _int_lists(per_doc, tb.local_ends, types["token_end"]),
        "sentence": _int_lists(per_doc, tb.sentence_ids(), types["sentence"]),
    }
    depth = np.zeros(len(texts), np.int64)
    for tags, layers, spans, labels in (("ner_tags", "ner_layers", entity_spans, names[0]),
                                        ("trigger_tags", "trigger_layers", trigger_spans, names[1])):
        values, layer_depth, layer_base = _layers(tb, counts, spans, labels)
        depth += layer_depth
        rows = _offsets(np.repeat(counts, layer_depth))
        arrays[layers] = pa.ListArray.from_arrays(_offsets(layer_depth), pa.ListArray.from_arrays(
            rows, _ints(values, types[layers].value_type.value_type), type=types[layers].value_type),
            type=types[layers])
        # layer 0 of each document: its first `counts[k]` values
        first_layer = values[np.repeat(layer_base, counts) + np.arange(n) - np.repeat(tb.first[:-1], counts)]
        arrays[tags] = _int_lists(per_doc, first_layer, types[tags])
    return TokenColumns(arrays, counts, depth)


def _layers(tb: TokenBatch, counts: np.ndarray, spans: list[list[tuple[int, int, int]]], names: list[str]
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The tag layers of every document, flat (document after document, layer after layer, token after
    token; O=0, B-k=2k+1, I-k=2k+2), each document's number of layers (at least 1), and where its first layer
    starts in the flat values. Layers are those of
    `bio.assign_layers`, document by document (a handful of spans each)."""
    docs = len(counts)
    layer_of = [assign_layers([(s, e, names[t]) for s, e, t in doc]) if doc else [] for doc in spans]
    depth = np.fromiter((1 + max(layers, default=0) for layers in layer_of), np.int64, docs)
    base = np.zeros(docs, np.int64)  # where each document's first layer starts in the flat values
    np.cumsum((depth * counts)[:-1], out=base[1:])
    values = np.zeros(int((depth * counts).sum()), np.int64)
    flat = [(k, s, e, t, layer) for k, doc in enumerate(spans) for (s, e, t), layer in zip(doc, layer_of[k])]
    if not flat:
        return values, depth, base
    doc, start, end, kind, layer = (np.array(col, np.int64) for col in zip(*flat))
    first, last = _token_range(tb, doc, start, end)
    at = base[doc] + layer * counts[doc] + (first - tb.first[doc])
    values[at] = 2 * kind + 1
    inside = last - first  # I- tags after each B-
    within = np.arange(int(inside.sum())) - np.repeat(np.cumsum(inside) - inside, inside)
    values[np.repeat(at + 1, inside) + within] = np.repeat(2 * kind + 2, inside)
    _check_decodes(values, np.repeat(counts, depth), (doc, start, end, kind), tb, depth)
    return values, depth, base


def _token_range(tb: TokenBatch, doc, start, end) -> tuple[np.ndarray, np.ndarray]:
    """The first and last token of each span; Misaligned when a span edge is not a token edge."""
    at, until = tb.base[doc] + start, tb.base[doc] + end
    first = np.searchsorted(tb.starts, at)
    last = np.searchsorted(tb.ends, until)
    n = len(tb.starts)
    if (first >= n).any() or (last >= n).any() or (tb.starts[np.minimum(first, n - 1)] != at).any() or \
            (tb.ends[np.minimum(last, n - 1)] != until).any():
        raise Misaligned
    return first, last


def _check_decodes(values: np.ndarray, row_lengths: np.ndarray, spans: tuple, tb: TokenBatch,
                   depth: np.ndarray) -> None:
    """IOB2 strict chunks of every layer (a B-k, then the I-k right after it in the same layer) must be the
    spans, as (document, start, end, type) multisets: the check `RowEncoder._layers` makes per document.

    A run starts wherever a tag does not go on from the one before it (an I-k after a B-k or I-k of its type,
    in the same layer); the runs that start with a B- are the chunks, each ending where the next run starts."""
    n = len(values)
    v = values.astype(np.int16)  # tags fit: at most 127 types (RowEncoder)
    row_starts = _offsets(row_lengths).to_numpy()[:-1]
    goes_on = np.zeros(n, bool)
    goes_on[1:] = (v[1:] > 0) & ((v[1:] & 1) == 0) & ((v[1:] == v[:-1]) | (v[1:] == v[:-1] + 1))
    goes_on[row_starts[row_starts < n]] = False  # (a text without tokens has an empty row at n)
    runs = np.append(np.flatnonzero(~goes_on), n)
    b = np.flatnonzero(v & 1)
    last = runs[np.searchsorted(runs, b, side="right")] - 1
    row = np.searchsorted(row_starts, b, side="right") - 1  # empty rows share their start with the next row
    doc = np.repeat(np.arange(len(depth)), depth)[row]
    offset = tb.first[doc] - row_starts[row]  # position in the values -> token index
    back = (doc, tb.local_starts[b + offset], tb.local_ends[last + offset], (v[b] - 1) // 2)
    if len(b) != len(spans[0]) or not all(np.array_equal(x, y) for x, y in zip(_sorted(back), _sorted(spans))):
        raise Misaligned


def _sorted(columns: tuple) -> list[np.ndarray]:
    order = np.lexsort(columns[::-1])
    return [np.asarray(c)[order] for c in columns]


def _offsets(lengths: np.ndarray) -> pa.Array:
    out = np.zeros(len(lengths) + 1, np.int32)
    np.cumsum(lengths, out=out[1:])
    return pa.array(out, pa.int32())


def _ints(values: np.ndarray, kind: pa.DataType) -> pa.Array:
    return pa.array(values.astype(kind.to_pandas_dtype()), kind)


def _int_lists(offsets: pa.Array, values: np.ndarray, kind: pa.DataType) -> pa.Array:
    return pa.ListArray.from_arrays(offsets, _ints(values, kind.value_type), type=kind)
