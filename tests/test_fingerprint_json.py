"""`row_fingerprint_json` (what the content fingerprint hashes) is the stdlib's `json.dumps` of the row's gold
content, byte for byte, though msgspec writes the text."""

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from annotate.gold.rows import FINGERPRINT_COLUMNS, row_fingerprint_json


def stdlib(row: dict) -> bytes:
    return json.dumps({k: row[k] for k in FINGERPRINT_COLUMNS}, sort_keys=True, ensure_ascii=False).encode()


def test_every_code_point_is_written_as_the_stdlib_writes_it():
    points = [chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF]
    for k in range(0, len(points), 4096):
        row = {"id": "d", "text": "«" + "".join(points[k:k + 4096]) + '\\"', "entities": [], "events": []}
        assert row_fingerprint_json(row) == stdlib(row), k


entity = st.fixed_dictionaries({"id": st.text(max_size=4), "start": st.integers(0, 99), "end": st.integers(0, 99),
                                 "type": st.integers(0, 9), "text": st.text(max_size=8)})
pairs = st.lists(st.fixed_dictionaries({"name": st.text(max_size=4), "value": st.text(max_size=4)}), max_size=2)
event = st.fixed_dictionaries({"id": st.text(max_size=4), "type": st.integers(0, 9), "trigger_start": st.integers(0, 9),
                               "trigger_end": st.integers(0, 9), "trigger_text": st.text(max_size=6),
                               "attributes": pairs, "arguments": pairs})
text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=60)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=8), text, st.lists(entity, max_size=4), st.lists(event, max_size=2))
def test_rows_are_written_as_the_stdlib_writes_them(doc_id, body, entities, events):
    row = {"id": doc_id, "text": body, "entities": entities, "events": events, "tokens": ["ignored"]}
    assert row_fingerprint_json(row) == stdlib(row)
