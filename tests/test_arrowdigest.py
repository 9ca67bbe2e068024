"""The files digest hashes values: the same rows in any batching give one digest, any changed value another."""

import doctest

import pyarrow as pa
import pytest

from annotate.gold import arrowdigest
from annotate.gold.arrowdigest import ValuesDigest
from annotate.gold.rows import features

SCHEMA = pa.schema([("id", pa.string()), ("tags", pa.list_(pa.list_(pa.int64()))),
                    ("spans", pa.list_(pa.struct([("start", pa.int32()), ("text", pa.string())])))])
ROWS = {"id": ["a", "bb", "", "ccc"], "tags": [[[1, 2]], [], [[3], [4, 5]], [[6]]],
        "spans": [[{"start": 0, "text": "x"}], [], [{"start": 5, "text": "يو"}, {"start": 7, "text": ""}], []]}


def digest(*parts) -> str:
    d = ValuesDigest(SCHEMA)
    for part in parts:
        d.update(part)
    return d.hexdigest()


def test_the_same_rows_in_any_batching_give_one_digest():
    table = pa.table(ROWS, schema=SCHEMA)
    whole = digest(table)
    assert digest(*table.to_batches(max_chunksize=1)) == whole
    assert digest(table.slice(0, 3), table.slice(3)) == whole  # slices: offsets into shared buffers
    assert digest(pa.concat_tables([table.slice(0, 1), table.slice(1)])) == whole  # chunked columns


@pytest.mark.parametrize("column, value", [
    ("id", ["ab", "b", "", "ccc"]),  # the same characters, another boundary
    ("tags", [[[1], [2]], [], [[3], [4, 5]], [[6]]]),  # the same ints, other lists
    ("tags", [[[1, 2]], [], [[3], [4, 5]], [[7]]]),
    ("spans", [[{"start": 0, "text": "x"}], [], [{"start": 5, "text": "يو"}], [{"start": 7, "text": ""}]]),
    ("spans", [[{"start": 0, "text": "x"}], [], [{"start": 5, "text": "ي"}, {"start": 7, "text": "و"}], []]),
])
def test_any_changed_value_or_boundary_changes_the_digest(column, value):
    changed = dict(ROWS, **{column: value})
    assert digest(pa.table(changed, schema=SCHEMA)) != digest(pa.table(ROWS, schema=SCHEMA))


def test_row_order_and_count_are_part_of_the_digest():
    table = pa.table(ROWS, schema=SCHEMA)
    assert digest(table.slice(1), table.slice(0, 1)) != digest(table)
    assert digest(table, table.slice(0, 0)) == digest(table)
    assert digest(table.slice(0, 0)) != digest(pa.table({"id": [""], "tags": [[]], "spans": [[]]}, schema=SCHEMA))


def test_nulls_are_refused_not_skipped():
    with pytest.raises(ValueError, match="column id: null"):
        digest(pa.table({"id": [None], "tags": [[]], "spans": [[]]}, schema=SCHEMA))


def test_every_column_type_of_the_gold_set_is_digested(schema):
    arrow = features(schema).arrow_schema
    ValuesDigest(arrow).update(arrow.empty_table())


def test_docstring_example():
    assert doctest.testmod(arrowdigest).failed == 0
