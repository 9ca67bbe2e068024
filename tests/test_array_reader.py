"""A JSON array export read from its bytes (`annotate/studio/readers.py`): msgspec cuts the tasks out and reads
their id and data, and every task is what the stdlib reads (the same values, the same text, the same faults),
whatever stands in its strings, however large the read block, with a BOM, and for the tasks msgspec does not read
(a lone surrogate escape, NaN, a number beyond a double, nesting near the recursion limit), which are read the
stdlib's way as before."""

from __future__ import annotations

import json
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import annotate.studio.readers as readers
from annotate.gold.build import import_exports
from annotate.studio.config import Routing
from annotate.studio.export import ExportError, read_export_file, task_fault
from annotate.studio.stream import ExportStream, StreamRestart

from .exports import annotation, export_task

TRICKY = ['}, {"id": 9, "data": {}}, {', '},{', "{{{ [[[ not closed", "}}} ]]] not opened", '"}, {\\"', "\\", "\u2028"]


@pytest.fixture
def tasks(bundled_documents):
    """The five bundled articles as exported tasks, each with a string that looks like JSON structure."""
    out = []
    for k, doc in enumerate(bundled_documents * 3):
        task = export_task(doc, [annotation(doc)], task_id=k + 1)
        task["data"] = {**task["data"], "doc_id": f"d{k}", "note": TRICKY[k % len(TRICKY)]}
        out.append(task)
    return out


def _same_as_json(path, text: str) -> list:
    """The stream's tasks are json.loads' elements, each with its exact text from the file."""
    read = list(ExportStream(path))
    assert [repr(t.task) for t in read] == [repr(x) for x in json.loads(text.lstrip("\ufeff"))]
    at = 0
    for t in read:
        at = text.index(t.raw, at)  # in the file, in order
        assert repr(json.loads(t.raw)) == repr(t.task)
    assert [t.index for t in read] == list(range(len(read)))
    return read


@pytest.mark.parametrize("dump", [dict(separators=(",", ":")), {}, dict(indent=2)],
                         ids=["compact", "default", "indent"])
def test_structure_inside_strings_never_cuts_a_task(tmp_path, tasks, dump, monkeypatch):
    monkeypatch.setattr(readers, "CHUNK", 40_000)  # several blocks, each cut somewhere inside a task
    text = json.dumps(tasks, ensure_ascii=False, **dump)
    path = tmp_path / "export.json"
    path.write_text(text, encoding="utf-8")
    read = _same_as_json(path, text)
    # msgspec reads them, but for a task whose strings leave braces open or closed (the stdlib reads those)
    assert sum(t.data is not None for t in read) >= len(read) - 4
    for t in read:
        if t.data is not None:
            assert t.head == {"id": t.task["id"], "data": t.task["data"]} and t.fault_text == ""


def test_a_bom_is_dropped_once_as_the_utf_8_sig_codec_does(tmp_path, tasks):
    text = "\ufeff" + json.dumps(tasks[:4], ensure_ascii=False)
    path = tmp_path / "bom.json"
    path.write_text(text, encoding="utf-8")
    assert all(t.data is not None for t in _same_as_json(path, text))
    lines = tmp_path / "bom.jsonl"
    lines.write_text("\ufeff" + "".join(json.dumps(t, ensure_ascii=False) + "\n" for t in tasks[:3]), encoding="utf-8")
    assert [t.task for t in ExportStream(lines)] == tasks[:3]
    twice = tmp_path / "twice.json"
    twice.write_text("\ufeff" + text, encoding="utf-8")
    with pytest.raises(ExportError) as streamed:
        list(ExportStream(twice))
    with pytest.raises(ExportError) as whole:
        read_export_file(twice)
    assert str(streamed.value) == str(whole.value)


def test_a_task_larger_than_the_read_block_is_read_whole(tmp_path, tasks, monkeypatch):
    monkeypatch.setattr(readers, "CHUNK", 4096)
    big = dict(tasks[1], data={**tasks[1]["data"], "note": "ب" * 50_000})
    text = json.dumps([tasks[0], big, *tasks[2:6]], ensure_ascii=False)
    path = tmp_path / "export.json"
    path.write_text(text, encoding="utf-8")
    read = _same_as_json(path, text)
    assert read[1].data is None and read[1].raw == json.dumps(big, ensure_ascii=False)  # the stdlib's way


def test_a_truncated_export_is_found_after_its_whole_tasks(tmp_path, tasks):
    text = json.dumps(tasks, ensure_ascii=False)
    path = tmp_path / "export.json"
    path.write_text(text[: len(text) * 2 // 3], encoding="utf-8")
    stream = iter(ExportStream(path))
    assert next(stream).task == tasks[0]
    with pytest.raises(StreamRestart):
        list(stream)
    with pytest.raises(ExportError, match="half-finished download"):
        list(ExportStream(path, whole=True))


@pytest.mark.parametrize("odd", ['"\\ud800"', '"\\udc00 then \\ud83d"', "NaN", "[Infinity, -1e999]",
                                 "123456789012345678901234567890"])
def test_a_value_msgspec_does_not_read_makes_only_its_task_go_the_stdlib_way(tmp_path, tasks, odd):
    texts = [json.dumps(t, ensure_ascii=False) for t in tasks]
    texts[7] = texts[7].replace('"predictions": []', f'"predictions": [{odd}]')
    text = "[" + ", ".join(texts) + "]"
    path = tmp_path / "export.json"
    path.write_text(text, encoding="utf-8")
    read = _same_as_json(path, text)
    bigint = odd.isdigit()  # msgspec reads integers of any size
    assert [t.data is None for t in read] == [k == 7 and not bigint for k in range(len(read))]
    assert read[7].raw == texts[7]


def test_a_lone_surrogate_in_one_task_quarantines_that_task_by_name(tmp_path, tasks, schema):
    tasks[4]["data"] = {**tasks[4]["data"], "text": tasks[4]["data"]["text"] + "\ud800"}
    path = tmp_path / "export.json"
    path.write_text(json.dumps(tasks), encoding="utf-8")  # ensure_ascii: the surrogate is a \\ud800 escape
    read = list(ExportStream(path))
    assert read[4].data is None and task_fault(read[4].task, Routing(schema), None, read[4].fault_text)
    result = import_exports([path], Routing(schema))
    assert result.counts == {"inputs": 15, "imported": 14, "quarantined": 1, "skipped": 0}
    (q,) = result.quarantined
    assert q.source == f"{path}#4" and "lone surrogate U+D800" in q.reason and q.record == read[4].task


def test_bytes_that_are_not_utf_8_make_the_file_unreadable_as_before(tmp_path, tasks, schema):
    data = json.dumps(tasks, ensure_ascii=False).encode("utf-8")
    at = data.index(b'"predictions": []', len(data) // 2)  # a field only the worker process decodes
    path = tmp_path / "export.json"
    path.write_bytes(data[:at] + b'"predictions": ["\xff"]' + data[at + len(b'"predictions": []'):])
    with pytest.raises(ExportError) as whole:
        read_export_file(path)
    result = import_exports([path], Routing(schema), num_proc=2)
    assert result.counts["inputs"] == 0 and [u.reason for u in result.unreadable] == [str(whole.value)]


def test_nesting_near_the_recursion_limit_is_left_to_the_stdlib(tmp_path, tasks):
    """msgspec counts nesting from where it is called, as the stdlib does: it reads a block far enough down the
    stack that a task nested near the limit goes the stdlib's way (read, or refused as too deep, as before)."""
    limit = sys.getrecursionlimit()
    base = json.dumps(tasks[0])
    for depth in range(limit - 60, limit + 3, 3):
        deep = base.replace('"predictions": []', '"predictions": ' + "[" * depth + "]" * depth)
        path = tmp_path / f"deep{depth}.json"
        path.write_text(f"[{base}, {deep}, {base}]", encoding="utf-8")
        first, task, last = ExportStream(path)
        assert first.data is not None and last.data is not None
        if task.error:
            assert "nested too deeply to read" in task.error and task.task == deep and task.data is None
        else:
            assert task.raw == deep and task.task["predictions"] == json.loads(deep)["predictions"]
            assert task.data is None or depth < limit - readers._DEEPER + 10


strings = st.text(st.sampled_from('ab {}[]",:\\\n\t/بغداد😀\u2028'), max_size=12)
values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
                      | strings, lambda inner: st.lists(inner, max_size=3)
                      | st.dictionaries(strings, inner, max_size=3), max_leaves=12)
elements = st.fixed_dictionaries({"id": st.integers(), "data": st.dictionaries(strings, values, max_size=3)},
                                 optional={"annotations": st.lists(values, max_size=3)}) | values


@settings(max_examples=150, deadline=None)
@given(st.lists(elements, max_size=12), st.sampled_from([(",", ":"), (", ", ": "), None]),
       st.sampled_from([None, 1, "\t"]), st.booleans(), st.integers(64, 2048))
def test_any_array_reads_as_json_loads(tmp_path_factory, items, separators, indent, ascii, chunk):
    items = [{"id": 1, "data": {}}, *items]  # a full export (an object without data first is a JSON_MIN record)
    text = json.dumps(items, separators=separators, indent=indent, ensure_ascii=ascii)
    path = tmp_path_factory.mktemp("any") / "export.json"
    path.write_text(text, encoding="utf-8")
    saved, readers.CHUNK = readers.CHUNK, chunk
    try:
        _same_as_json(path, text)
    finally:
        readers.CHUNK = saved


def test_a_digest_given_is_not_computed_again_and_one_computed_is_the_whole_files(tmp_path, tasks):
    import hashlib

    path = tmp_path / "export.json"
    path.write_text(json.dumps(tasks, ensure_ascii=False) + "\n\n", encoding="utf-8")
    stream = ExportStream(path)
    assert len(list(stream)) == len(tasks)
    assert stream.digest == hashlib.sha256(path.read_bytes()).hexdigest()
    given = ExportStream(path, digest="0" * 64)
    assert len(list(given)) == len(tasks) and given.digest == "0" * 64


def test_a_task_msgspec_read_keys_the_same_without_looking_for_lone_surrogates(tmp_path, tasks, schema):
    from annotate.studio.export import DocumentKeys

    for task in tasks[::2]:
        del task["data"]["doc_id"]  # keyed by the content id of their text
    tasks[3]["data"]["text"] += "\ud800"
    path = tmp_path / "export.json"
    path.write_text(json.dumps(tasks), encoding="utf-8")
    read = list(ExportStream(path))
    checked, skipped = DocumentKeys(Routing(schema)), DocumentKeys(Routing(schema))
    assert [checked(t.task) for t in read] == [skipped(t.head, t.data is not None) for t in read]
    assert read[3].data is None and checked(read[3].task) is None  # the lone surrogate: looked for, and found


@pytest.mark.parametrize("dump", [dict(separators=(",", ":")), {}], ids=["compact", "default"])
def test_braces_left_open_in_every_task_are_read_as_json(tmp_path, tasks, dump, monkeypatch):
    """No cut balances its braces: the blocks are cut where the tasks were seen to be separated, when that
    separator stands only between tasks (compact JSON); else every task goes the stdlib's way."""
    monkeypatch.setattr(readers, "CHUNK", 40_000)
    for task in tasks:
        task["data"]["note"] = "{ left open"
    text = json.dumps(tasks * 4, ensure_ascii=False, **dump)
    path = tmp_path / "export.json"
    path.write_text(text, encoding="utf-8")
    read = _same_as_json(path, text)
    if dump:
        assert sum(t.data is not None for t in read) >= len(read) - 8
