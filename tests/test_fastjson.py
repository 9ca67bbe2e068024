"""The msgspec decoding of export tasks (`annotate/core/fastjson.py`) gives the standard library's objects and
errors, and falls back to it wherever msgspec refuses a text the standard library reads."""

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from annotate.core.fastjson import array_elements, elements_to, from_worker, loads, to_worker

EDGES = ['{"a": 1, "a": 2}', '"\\ud800"', '"\\udc00\\ud800"', '{"\\ud800": 1}', '"\\ud83d\\ude00"', "NaN",
         "[Infinity, -Infinity]", "1e400", "-0.0", "123456789012345678901234567890", ' {"a" : [1, 2 ]} ',
         '"a\u2028b\u00a0c"', '{"text": "بغداد"}']


@pytest.mark.parametrize("text", EDGES)
def test_loads_is_json_loads(text):
    assert repr(loads(text)) == repr(json.loads(text))
    assert repr(loads(text.encode("utf-8"))) == repr(json.loads(text))


@pytest.mark.parametrize("text", ['{"a": 1', '{"a": 1,}', '"\x00"', "[1] 2"])
def test_errors_are_the_stdlib_ones(text):
    with pytest.raises(json.JSONDecodeError) as ours:
        loads(text)
    with pytest.raises(json.JSONDecodeError) as theirs:
        json.loads(text)
    assert str(ours.value) == str(theirs.value)


@pytest.mark.parametrize("text", EDGES)
def test_worker_hand_over(text):
    task, check = from_worker(to_worker(text, None), exact=True)
    assert repr(task) == repr(json.loads(text))
    # the text for the lone-surrogate check: the file's own when msgspec refused it, else an empty one (a text
    # msgspec reads holds no lone surrogate escape)
    assert check in ("", text)
    if "\\ud800" in text:
        assert check == text
    rebuilt, none = from_worker(to_worker(None, {"t": "\ud800", "n": 1}), exact=False)
    assert rebuilt == {"t": "\ud800", "n": 1} and none is None


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=20)


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_any_value_reads_as_the_stdlib_reads_it(value):
    for text in (json.dumps(value), json.dumps(value, ensure_ascii=False)):
        assert repr(loads(text)) == repr(json.loads(text))
        assert repr(from_worker(to_worker(text, None), True)[0]) == repr(json.loads(text))


ITEMS = [{"a": "}, {"}, [1, {"b": 2}], "x", {"c": {"d": [], "e": "]"}}, 5, {"f": "]"}]


def _decoded(found) -> list:
    return [json.loads(bytes(e)) for e in found]


@pytest.mark.parametrize("separators", [(",", ":"), (", ", ": ")])
def test_array_elements_are_the_whole_elements_up_to_the_last_object_before_the_end(separators):
    data = json.dumps(ITEMS, separators=separators).encode()
    assert _decoded(array_elements(data, 1, len(data))) == ITEMS
    assert _decoded(array_elements(data, 1, len(data) - 3)) == ITEMS[:4]  # cut inside the last object
    second = data.index(b"[1")
    assert _decoded(array_elements(data, second, len(data))) == ITEMS[1:]
    assert _decoded(elements_to(data, 1, data.index(b"}}") + 2)) == ITEMS[:4]
    assert elements_to(data, 1, data.index(b"}") + 1) is None  # inside a string: never a cut


def test_array_elements_may_stop_short_when_strings_leave_braces_open():
    items = [{"a": 1}, {"b": "{{"}, {"c": 3}, {"d": 4}]
    data = json.dumps(items).encode()
    assert _decoded(array_elements(data, 1, len(data))) == items[:1]  # a whole element, the rest left
    assert _decoded(array_elements(data, data.index(b'{"c"'), len(data))) == items[2:]
    assert array_elements(data, data.index(b"{\"b\""), len(data)) is None  # no cut balances from there


def test_array_elements_stop_before_an_element_msgspec_refuses():
    data = b'[{"a": 1}, {"b": "}, {"}, {"c": "\\ud800"}, {"d": NaN}, {"e": 2}]'
    assert _decoded(array_elements(data, 1, len(data))) == [{"a": 1}, {"b": "}, {"}]
    at = data.index(b'{"c"')
    assert array_elements(data, at, len(data)) == []
    assert _decoded(array_elements(data, data.index(b'{"e"'), len(data))) == [{"e": 2}]
