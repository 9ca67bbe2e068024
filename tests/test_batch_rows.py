"""The batch paths of a build (`core.tokenbatch`, `gold.batchrows`) against their one-document definitions
(`tokenize.token_bounds`, `RowEncoder.row`): the same tokens, sentences, tags and record batches."""

import random

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from annotate.core.model import Argument, Document, Entity, Event, Span
from annotate.core.schema import load_schema
from annotate.core.tokenbatch import TokenBatch
from annotate.core.tokenize import sentence_ids_of_bounds, token_bounds
from annotate.gold.rows import (
    DocumentEncoder,
    _column,
    row_fingerprint_json,
    row_size,
    spill_batch,
    spill_schema,
    split_of,
)

# letters of both scripts, marks and tatweel, digits and decimal separators, Arabic and Latin punctuation, spaces
# and line breaks, an emoji with a skin tone, a ZWJ and a variation selector
PIECES = list("بغداد والبيشمركة abcé 0123٠١٢٣ ًٌٍَُِّْـ\u0301 .,٫٬،؛؟«»\"()'”’!?…۔-: \n\t") + \
    ["😀", "\U0001F3FD", "\u200d", "\ufe0f", "中", "\u00a0"]


def _one_by_one(texts, cuts):
    return [token_bounds(t, c) for t, c in zip(texts, cuts)]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.text(st.sampled_from(PIECES), max_size=50), st.lists(st.integers(0, 50), max_size=5)),
                min_size=1, max_size=6))
def test_a_batch_of_texts_is_tokenised_as_each_text_alone(pairs):
    texts = [t for t, _ in pairs]
    cuts = [sorted({c for c in cs if c <= len(t)}) for t, cs in pairs]
    batch = TokenBatch(texts, cuts)
    sentences = batch.sentence_ids()
    data, offsets = batch.token_utf8()
    for k, (text, (starts, ends)) in enumerate(zip(texts, _one_by_one(texts, cuts))):
        a, b = batch.first[k], batch.first[k + 1]
        assert batch.local_starts[a:b].tolist() == starts and batch.local_ends[a:b].tolist() == ends
        assert sentences[a:b].tolist() == sentence_ids_of_bounds(text, starts, ends)
        assert [data[offsets[i]:offsets[i + 1]].decode() for i in range(a, b)] == \
            [text[s:e] for s, e in zip(starts, ends)]


def test_the_bundled_articles_are_tokenised_as_one_by_one(bundled_documents):
    texts = [d.text for d in bundled_documents]
    cuts = [sorted({x for e in d.entities for x in (e.start, e.end)}) for d in bundled_documents]
    batch = TokenBatch(texts, cuts)
    assert batch.first[-1] > 1000  # the articles, not an empty batch
    for k, (starts, ends) in enumerate(_one_by_one(texts, cuts)):
        assert batch.local_starts[batch.first[k]:batch.first[k + 1]].tolist() == starts
        assert batch.local_ends[batch.first[k]:batch.first[k + 1]].tolist() == ends


def _random_document(rng: random.Random, k: int, schema) -> Document:
    text = "".join(rng.choice(PIECES) for _ in range(rng.randrange(0, 80)))
    words = [(i, i + 1) for i, ch in enumerate(text) if not ch.isspace()]
    entities, events = [], []
    for j in range(rng.randrange(0, 6) if words else 0):
        # spans of 1-3 characters anywhere (cutting words, nested, repeated with another type)
        s = rng.choice(words)[0]
        e = min(len(text), s + rng.randrange(1, 4))
        while e > s + 1 and text[e - 1].isspace():
            e -= 1
        if text[s:e].strip() != text[s:e] or text[s] == "ـ" or text[e - 1] == "ـ":
            continue
        entities.append(Entity(f"e{j}", s, e, rng.choice(list(schema.entity_types))))
    for j in range(rng.randrange(0, 3) if words else 0):
        s, e = rng.choice(words)
        if text[s] == "ـ":
            continue
        args = (Argument("Agent", rng.choice(entities).id),) if entities else ()
        events.append(Event(f"v{j}", rng.choice(list(schema.event_types)), Span(s, e), {}, args))
    return Document(f"doc-{k}", text, entities, events)


@pytest.fixture(scope="module")
def schema():
    return load_schema()


def _reference_batch(encoder: DocumentEncoder, docs, kind: pa.Schema) -> pa.RecordBatch:
    """The record batch as it was built before the batch path: one `RowEncoder.row` per document."""
    rows = [encoder.rows.row(d) for d in docs]
    special = {"__split": [split_of(d.id, encoder.splits) for d in docs],
               "__fingerprint": [row_fingerprint_json(r) for r in rows]}
    columns = [_column(special[f.name] if f.name in special else [r[f.name] for r in rows], f.type) for f in kind]
    return pa.RecordBatch.from_arrays(columns, schema=kind)


def test_record_batches_are_the_ones_rows_one_by_one_give(schema, bundled_documents):
    rng = random.Random(22)
    encoder = DocumentEncoder(schema, "train=0.5,test=0.5")
    kind = spill_schema(schema)
    docs = list(bundled_documents) + [_random_document(rng, k, schema) for k in range(400)]
    assert sum(len(d.entities) for d in docs) > 500
    for at in range(0, len(docs), 37):
        part = docs[at:at + 37]
        encoded = [encoder(d) for d in part]
        batch = spill_batch(encoded, kind, encoder.rows)
        assert batch.equals(_reference_batch(encoder, part, kind))
        assert [e.size for e in encoded] == [row_size(r, row_fingerprint_json(r)) for r in map(encoder.rows.row, part)]
        assert all(e.doc is None for e in encoded)  # let go once written


def test_tags_that_do_not_decode_back_to_the_spans_are_refused():
    import numpy as np

    from annotate.gold.batchrows import Misaligned, _check_decodes

    batch = TokenBatch(["بغداد والبيشمركة اليوم"], [[7, 16]])  # tokens: بغداد | و | البيشمركة | اليوم
    spans = (np.array([0]), np.array([7]), np.array([16]), np.array([1]))  # document 0, [7, 16), type 1
    good = np.array([0, 0, 3, 0])
    _check_decodes(good, np.array([4]), spans, batch, np.array([1]))
    for bad in ([0, 0, 4, 0], [0, 0, 3, 4], [0, 0, 1, 0], [0, 3, 0, 0]):  # a lone I-, a longer chunk, wrong type, moved
        with pytest.raises(Misaligned):
            _check_decodes(np.array(bad), np.array([4]), spans, batch, np.array([1]))
