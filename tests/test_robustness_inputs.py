"""Malformed inputs to `tasks`, `import`, `agree` and the gold set, one per case (issue 10, items 4-15 and 23).

For every input: a clear message naming the file, line, task or region; no traceback; every record is in the
output or in the quarantine file, and read = imported (or written) + quarantined + skipped; a failed run leaves
the previous output as it was. Everything runs on real files: real JSONL, real exports, real datasets folders.
"""

from __future__ import annotations

import copy
import json
import os
import signal
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from annotate.core.atomic import atomic_write_json
from annotate.gold.layout import BUILD_FILE, GoldReadError
from annotate.gold.reader import gold_documents
from annotate.studio.connection import ConnectionConfigError, load_connection

from .exports import annotation, export_task, labels_region, meeting_document
from .runcli import cli, quarantine_lines

ROOT = Path(__file__).resolve().parent.parent




# --- `annotate tasks`: articles as JSONL -----------------------------------------------------------------------

GOOD_1 = {"id": "good-1", "text": "قال الكاظمي في بغداد إن الأمن مستتب"}
GOOD_2 = {"id": "good-2", "text": "وصل الوفد إلى أربيل صباح اليوم"}


def _line(record) -> bytes:
    return json.dumps(record, ensure_ascii=False).encode("utf-8")


# (name, the bytes of the middle line, a piece of the reason, or None when the line is valid and must be kept)
JSONL_CASES = [
    ("raw U+2028 in text", _line({"id": "ls", "text": "سطر أول\u2028سطر ثان"}), None),
    ("raw U+0085 in text", _line({"id": "nel", "text": "سطر أول\u0085سطر ثان"}), None),
    ("raw U+2029 and U+001E in text", _line({"id": "ps", "text": "فقرة\u2029فقرة\u001eأخرى"}), None),
    ("one Latin-1 byte", b'{"id": "latin", "text": "caf\xe9 au lait"}', "not UTF-8"),
    ("a lone surrogate in text", b'{"id": "sur", "text": "abc \\udc80 def"}', "'text' holds a lone surrogate U+DC80"),
    ("a lone surrogate in the id", b'{"id": "x\\ud800", "text": "\xd9\x86\xd8\xb5 \xd8\xb3\xd9\x84\xd9\x8a\xd9\x85"}',
     "'id' holds a lone surrogate U+D800"),
    ("a lone surrogate in a metadata key", b'{"\\udfff": 1, "text": "abc"}', "(a key)' holds a lone surrogate"),
    ("a NUL escape in text", _line({"id": "nul", "text": "نص\u0000ثنائي"}), "NUL character at character 2"),
    ("only zero-width characters", _line({"id": "zw", "text": "\u200b\u200c\u200d\ufeff"}),
     "only invisible characters (U+200B ZERO WIDTH SPACE"),
    ("only bidi controls", _line({"id": "bidi", "text": "\u202b\u2067\u200f \u202c\u2069"}),
     "U+200F RIGHT-TO-LEFT MARK"),
    ("truncated JSON", b'{"id": "cut", "text": "\xd9\x86\xd8', "not UTF-8"),
    ("not JSON at all", b"{id: 1, text: 'x'}", "not valid JSON"),
    ("a JSON list", b'["text", "abc"]', "field 'text' is missing"),
    ("text is a number", b'{"id": "num", "text": 42}', "field 'text' is missing or not a string"),
    ("id is empty", b'{"id": "  ", "text": "abc"}', "field 'id' must be a non-empty string"),
    ("id is an object", b'{"id": {"a": 1}, "text": "abc"}', "field 'id' must be a non-empty string"),
    ("a raw NUL byte", b'{"id": "raw", "text": "a\x00b"}', "not valid JSON: Invalid control character"),
]


@pytest.mark.parametrize("name, middle, reason", JSONL_CASES, ids=[c[0] for c in JSONL_CASES])
def test_tasks_jsonl_line_by_line(tmp_path, name, middle, reason):
    articles = tmp_path / "articles.jsonl"
    articles.write_bytes(b"\n".join([_line(GOOD_1), middle, _line(GOOD_2)]) + b"\n")
    out = tmp_path / "tasks.json"
    res = cli("tasks", articles, "-o", out)
    assert res.exit_code == 0
    tasks = json.loads(out.read_text(encoding="utf-8"))
    ids = [t["data"]["doc_id"] for t in tasks]
    qfile = tmp_path / "tasks.quarantine.jsonl"
    if reason is None:  # a valid record: kept whole, nothing quarantined
        assert len(ids) == 3 and "0 article(s) quarantined" in res.output
        assert json.loads(middle)["text"] in [t["data"]["text"] for t in tasks]
        assert not qfile.exists()
        return
    assert ids == ["good-1", "good-2"]  # the records around the bad line survive
    q = quarantine_lines(qfile)
    assert len(q) == 1 and q[0]["source"] == f"{articles}:2" and reason in q[0]["reason"], q
    assert f"{articles}:2" in res.output and reason in res.output  # said on the terminal too
    assert "3 article input(s): 2 task(s) written" in res.output and "1 article(s) quarantined" in res.output


def test_crlf_jsonl_is_read_whole(tmp_path):
    articles = tmp_path / "articles.jsonl"
    articles.write_bytes(b"\r\n".join([_line(GOOD_1), _line(GOOD_2)]) + b"\r\n")
    res = cli("tasks", articles, "-o", tmp_path / "tasks.json")
    assert res.exit_code == 0 and "2 article input(s): 2 task(s) written" in res.output


@pytest.mark.parametrize("content, reason", [
    (("نص عربي " * 1200).encode() + b"\x00tail", "binary file (a NUL byte at byte"),
    ("\u200b\u200f\u2066\u2069\n\u200e".encode(), "only invisible characters"),
], ids=["NUL after the first 8 KiB", "only invisible characters"])
def test_tasks_text_files_rejected_by_name(tmp_path, content, reason):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "bad.txt").write_bytes(content)
    (tmp_path / "in" / "good.txt").write_text(GOOD_1["text"], encoding="utf-8")
    res = cli("tasks", tmp_path / "in", "-o", tmp_path / "tasks.json")
    assert res.exit_code == 0 and "2 article input(s): 1 task(s) written" in res.output
    q = quarantine_lines(tmp_path / "tasks.quarantine.jsonl")
    assert q[0]["source"].endswith("bad.txt") and reason in q[0]["reason"]


def test_tasks_that_fail_leave_the_previous_output(tmp_path):
    out = tmp_path / "tasks.json"
    good = tmp_path / "good.jsonl"
    good.write_bytes(_line(GOOD_1) + b"\n")
    assert cli("tasks", good, "-o", out).exit_code == 0
    before = out.read_bytes()
    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(b'{"id": "s", "text": "\\udc80"}\n{"text": ""}\n')
    res = cli("tasks", bad, "-o", out)
    assert res.exit_code == 1 and f"no task, so {out} was left as it was" in res.output
    assert out.read_bytes() == before
    assert "2 article input(s)" in res.output and "2 article(s) quarantined" in res.output
    assert len(quarantine_lines(tmp_path / "tasks.quarantine.jsonl")) == 2


def test_a_stale_quarantine_file_is_removed_and_the_summary_says_so(tmp_path):
    articles = tmp_path / "a.jsonl"
    articles.write_bytes(_line(GOOD_1) + b"\n{broken\n")
    out = tmp_path / "tasks.json"
    qfile = tmp_path / "tasks.quarantine.jsonl"
    assert cli("tasks", articles, "-o", out).exit_code == 0 and qfile.exists()
    articles.write_bytes(_line(GOOD_1) + b"\n")
    res = cli("tasks", articles, "-o", out)
    assert res.exit_code == 0 and not qfile.exists()
    assert f"removed the stale {qfile} of an earlier run" in res.output


def test_quarantine_of_a_lone_surrogate_keeps_the_record_as_escapes(tmp_path):
    articles = tmp_path / "a.jsonl"
    articles.write_bytes(_line(GOOD_1) + b'\n{"id": "s", "text": "\\udc80", "meta": "\xd8\xa3"}\n')
    assert cli("tasks", articles, "-o", tmp_path / "tasks.json").exit_code == 0
    q = quarantine_lines(tmp_path / "tasks.quarantine.jsonl")
    assert q[0]["record"]["line"] == '{"id": "s", "text": "\\udc80", "meta": "أ"}'


# --- predictions for `annotate tasks` -----------------------------------------------------------------------------


def _documents_jsonl(tmp_path) -> Path:
    articles = tmp_path / "a.jsonl"
    articles.write_bytes(_line(GOOD_1) + b"\n" + _line(GOOD_2) + b"\n")
    return articles


@pytest.mark.parametrize("bad_line, reason", [
    (b'{"id": "good-2", "entities": [{"id": "e1", "start": 0, "end": 4, "type": "PER", "note": "caf\xe9"}]}',
     "not UTF-8 (byte"),
    (b'{"id": "good-2", "entities": [{"id": "e\\udc00", "start": 0, "end": 4, "type": "PER"}]}',
     "'entities[0].id' holds a lone surrogate"),
    (b'{"id": "good-2", "entities": [{"id": "e1", "start": 0, "end": 4, "type": "PER"}], '
     b'"text": "\xe2\x80\xa8"}', "field 'text' differs from the document text"),
], ids=["not UTF-8", "lone surrogate in an entity id", "U+2028 does not split the line"])
def test_predictions_file_lines_named(tmp_path, bad_line, reason):
    preds = tmp_path / "p.jsonl"
    first = json.dumps({"id": "good-1", "entities": [{"id": "e1", "start": 4, "end": 11, "type": "PER"}]})
    preds.write_bytes(first.encode() + b"\n" + bad_line + b"\n")
    out = tmp_path / "tasks.json"
    res = cli("tasks", _documents_jsonl(tmp_path), "--predictions", preds, "-o", out)
    assert res.exit_code == 0
    assert "1 task(s) with predictions, 1 prediction(s) quarantined" in res.output
    q = quarantine_lines(tmp_path / "tasks.quarantine.jsonl")
    assert q[0]["source"] == f"{preds}:2" and reason in q[0]["reason"], q
    assert len(json.loads(out.read_text(encoding="utf-8"))) == 2


# --- `annotate import`: malformed exports ----------------------------------------------------------------------


@pytest.fixture
def doc(bundled_documents):
    return meeting_document(bundled_documents[0])




def _relation(task):
    return next(r for r in task["annotations"][0]["result"] if r.get("type") == "relation")


def _results(task):
    return task["annotations"][0]["result"]


def _mutate_surrogate_text(task):
    task["data"]["text"] = task["data"]["text"][:5] + "\udc80" + task["data"]["text"][6:]


EXPORT_CASES = [
    ("result holds null", lambda t: _results(t).append(None), "result[6]: must be an object", None),
    ("result holds a string", lambda t: _results(t).insert(0, "e1"), "result[0]: must be an object", None),
    ("region value is a list", lambda t: labels_region(t, "e1").update(value=[1, 2]),
     "region e1: field value must be an object, got a list", None),
    ("annotation result is an object", lambda t: t["annotations"][0].update(result={"id": "e1"}),
     "field result must be a list of regions, got an object", None),
    ("entity label under the trigger control", lambda t: labels_region(t, "e2").update(from_name="trigger"),
     "region e2: label 'PER' is under control 'trigger' but belongs to control 'entity'", None),
    ("trigger label under the entity control", lambda t: labels_region(t, "v1").update(from_name="entity"),
     "region v1: label 'Contact.Meet' is under control 'entity' but belongs to control 'trigger'", None),
    ("two identical entity regions", lambda t: _results(t).append(dict(copy.deepcopy(labels_region(t, "e1")), id="e9")),
     "region e9: a duplicate of region e1", None),
    ("two identical trigger regions",
     lambda t: _results(t).append(dict(copy.deepcopy(labels_region(t, "v1")), id="v9")),
     "region v9: a duplicate of region v1", None),
    ("a duplicate event argument", lambda t: _results(t).append(copy.deepcopy(_relation(t))),
     "a duplicate argument (role Entity already links v1 and e1)", None),
    ("relation labels is a string", lambda t: _relation(t).update(labels="Entity"),
     "field labels must be a list, got a string", None),
    ("annotations is an object", lambda t: t.update(annotations={"id": 1}),
     "field annotations must be a list, got an object", None),
    ("annotations holds a string", lambda t: t["annotations"].append("done"),
     "annotations[1] is a string, not an annotation object", None),
    ("lone surrogate in data.text", _mutate_surrogate_text, "field 'data.text' holds a lone surrogate U+DC80", None),
    ("lone surrogate in value.text", lambda t: labels_region(t, "e1")["value"].update(text="\ud800"),
     "'annotations[0].result[0].value.text' holds a lone surrogate U+D800", None),
    ("lone surrogate in the annotator", lambda t: t["annotations"][0]["completed_by"].update(email="a\udc00@x"),
     "'annotations[0].completed_by.email' holds a lone surrogate", None),
    ("data is a list", lambda t: t.update(data=[t["data"]]), "field 'data' must be an object, got a list", None),
    ("data.text is a number", lambda t: t["data"].update(text=5), "field data.text is missing or empty", None),
    ("value.text disagrees, --on-text-mismatch quarantine",
     lambda t: labels_region(t, "e1")["value"].update(text="شخص آخر"),
     "region e1: field value.text 'شخص آخر' differs from data", ["--on-text-mismatch", "quarantine"]),
]


@pytest.mark.parametrize("name, mutate, reason, extra", EXPORT_CASES, ids=[c[0] for c in EXPORT_CASES])
def test_import_quarantines_the_task_by_name(tmp_path, doc, bundled_documents, name, mutate, reason, extra):
    bad = export_task(doc, [annotation(doc)], task_id=77)
    mutate(bad)
    good = export_task(bundled_documents[1], [annotation(bundled_documents[1])], task_id=78)
    export = tmp_path / "export.json"
    # written as Label Studio does (\u escapes), which is how a lone surrogate reaches a file
    export.write_text(json.dumps([bad, good]), encoding="utf-8")
    res = cli("import", export, "-o", tmp_path / "gold", *(extra or []))
    assert res.exit_code == 0
    assert "2 task(s) read from 1 export(s): 1 imported, 1 quarantined, 0 skipped" in res.output
    q = quarantine_lines(tmp_path / "gold.quarantine.jsonl")
    assert len(q) == 1 and q[0]["task_id"] == 77 and "task 77" in q[0]["reason"] and reason in q[0]["reason"], q
    assert f"task 77 ({export}#0)" in res.output
    docs, _ = gold_documents(tmp_path / "gold")
    assert [d.id for d in docs] == [bundled_documents[1].id]


def test_a_note_that_is_not_an_object_is_harmless(tmp_path, doc):
    task = export_task(doc, [annotation(doc)])
    labels_region(task, "e1")["meta"] = ["CONFLICT (a list, not an object)"]
    export = tmp_path / "export.json"
    export.write_text(json.dumps([task]), encoding="utf-8")
    res = cli("import", export, "-o", tmp_path / "gold")
    assert res.exit_code == 0 and "1 imported, 0 quarantined, 0 skipped" in res.output


def test_text_mismatch_warnings_are_recorded_in_build_json_and_the_summary(tmp_path, doc):
    task = export_task(doc, [annotation(doc)], task_id=77)
    labels_region(task, "e1")["value"]["text"] = "شخص آخر"
    export = tmp_path / "export.json"
    export.write_text(json.dumps([task]), encoding="utf-8")
    res = cli("import", export, "-o", tmp_path / "gold")
    assert res.exit_code == 0 and "1 imported" in res.output
    assert "1 warning(s) (recorded in build.json)" in res.output
    build = json.loads((tmp_path / "gold" / BUILD_FILE).read_text(encoding="utf-8"))
    assert build["on_text_mismatch"] == "offsets"
    assert len(build["warnings"]) == 1 and "task 77" in build["warnings"][0] and "region e1" in build["warnings"][0]


def test_import_removes_a_stale_quarantine_file_and_says_so(tmp_path, doc, bundled_documents):
    export = tmp_path / "export.json"
    bad = export_task(doc, [annotation(doc)], task_id=77)
    labels_region(bad, "e1")["value"]["end"] = 10 ** 6
    good = export_task(bundled_documents[1], [annotation(bundled_documents[1])])
    export.write_text(json.dumps([bad, good]), encoding="utf-8")
    qfile = tmp_path / "gold.quarantine.jsonl"
    assert cli("import", export, "-o", tmp_path / "gold").exit_code == 0 and qfile.exists()
    export.write_text(json.dumps([good]), encoding="utf-8")
    res = cli("import", export, "-o", tmp_path / "gold")
    assert res.exit_code == 0 and not qfile.exists()
    assert f"1 imported, 0 quarantined, 0 skipped (removed the stale {qfile} of an earlier run)" in res.output


# --- unreadable exports and configs ------------------------------------------------------------------------------


def _two_exports(tmp_path, doc, bundled_documents) -> tuple[Path, Path]:
    old = tmp_path / "exports" / "export-1-old.json"
    new = tmp_path / "exports" / "export-2-new.json"
    old.parent.mkdir()
    old.write_text(json.dumps([export_task(doc, [annotation(doc)])]), encoding="utf-8")
    full = json.dumps([export_task(d, [annotation(d)]) for d in bundled_documents[1:3]], indent=1)
    new.write_text(full, encoding="utf-8")
    return old, new


@pytest.mark.parametrize("damage, reason", [
    (lambda b: b[: len(b) // 2], "(the file ends early: a half-finished download?)"),
    (lambda b: b.replace(b'"data"', b'"d\xe9ta"', 1), "line 4: not UTF-8"),
    (lambda b: b"", "line 1 column 1"),
    (lambda b: b'{"project": 1}', "a JSON object without a 'tasks' list is not a Label Studio export"),
    (lambda b: b'"tasks"', "expected a list of tasks"),
], ids=["truncated", "not UTF-8", "empty", "an object without tasks", "a string"])
def test_an_unreadable_export_stops_the_build(tmp_path, doc, bundled_documents, damage, reason):
    old, new = _two_exports(tmp_path, doc, bundled_documents)
    gold = tmp_path / "gold"
    assert cli("import", tmp_path / "exports", "-o", gold).exit_code == 0
    before = (gold / BUILD_FILE).read_bytes()
    new.write_bytes(damage(new.read_bytes()))
    res = cli("import", tmp_path / "exports", "-o", gold)
    assert res.exit_code == 1
    assert "1 task(s) read from 1 export(s), 1 file unreadable: 1 imported, 0 quarantined, 0 skipped" in res.output
    assert f"unreadable {new}: " in res.output and reason in res.output
    assert "Not built: 1 export file(s) could not be read" in res.output and "--skip-unreadable" in res.output
    assert (gold / BUILD_FILE).read_bytes() == before
    q = quarantine_lines(tmp_path / "gold.quarantine.jsonl")
    assert q[0]["source"] == str(new) and reason in q[0]["reason"]
    # asked for explicitly, the build goes on without the file and records it
    res = cli("import", tmp_path / "exports", "-o", gold, "--skip-unreadable")
    assert res.exit_code == 0 and "1 file unreadable" in res.output
    build = json.loads((gold / BUILD_FILE).read_text(encoding="utf-8"))
    assert str(new) in build["unreadable_exports"][0]


def test_agree_refuses_part_of_the_exports_unless_asked(tmp_path, doc, bundled_documents):
    _, new = _two_exports(tmp_path, doc, bundled_documents)
    new.write_text("[{", encoding="utf-8")
    res = cli("agree", *sorted((tmp_path / "exports").iterdir()))
    assert res.exit_code == 1 and "1 file unreadable" in res.output and str(new) in res.output
    res = cli("agree", *sorted((tmp_path / "exports").iterdir()), "--skip-unreadable")
    assert res.exit_code == 0 and "1 task(s) read, 1 file unreadable" in res.output


def test_adjudicate_names_an_unreadable_export(tmp_path, doc, bundled_documents):
    _, new = _two_exports(tmp_path, doc, bundled_documents)
    new.write_bytes(b"\xff\xfe")
    res = cli("adjudicate", *sorted((tmp_path / "exports").iterdir()))
    assert res.exit_code == 0 and f"unreadable {new}: not a JSON export: line 1: not UTF-8" in res.output


@pytest.mark.parametrize("content, reason", [
    (b"<View><Labels name='x' toName='t'><Label value='A'/></Labels>", "not a valid labeling config (XML)"),
    (b"not xml", "not a valid labeling config (XML)"),
    (b"<View><Text name='t' value='$text'/></View>", "no Labels control"),
    (b"<View>\xff</View>", "can't decode byte 0xff"),
], ids=["unclosed tag", "not XML", "no Labels", "not UTF-8"])
def test_a_bad_config_is_named(tmp_path, doc, content, reason):
    config = tmp_path / "config.xml"
    config.write_bytes(content)
    export = tmp_path / "export.json"
    export.write_text(json.dumps([export_task(doc, [annotation(doc)])]), encoding="utf-8")
    for command in (["import", export, "-o", tmp_path / "gold"], ["agree", export]):
        res = cli(*command, "--config", config)
        assert res.exit_code == 1 and f"--config {config}" in res.output and reason in res.output
    assert not (tmp_path / "gold").exists()


@pytest.mark.parametrize("content, reason", [
    ('["http://127.0.0.1:1", "key"]', "expected a JSON object with 'url' and 'api_key'"),
    ('"just a string"', "expected a JSON object"),
    ('{"url": "http://127.0.0.1:1", "api_key": 5}', "needs fields 'url' and 'api_key' (strings)"),
    ('{"url": "http://x", "api_key": "sec', "not valid JSON (line 1, column"),
], ids=["a list", "a string", "a number as key", "truncated"])
def test_studio_config_file_that_is_not_an_object(tmp_path, monkeypatch, content, reason):
    config = tmp_path / "conn.json"
    config.write_text(content, encoding="utf-8")
    monkeypatch.delenv("LABEL_STUDIO_URL", raising=False)
    monkeypatch.delenv("LABEL_STUDIO_API_KEY", raising=False)
    monkeypatch.setenv("ANNOTATE_STUDIO_CONFIG", str(config))
    with pytest.raises(ConnectionConfigError, match="conn.json") as err:
        load_connection()
    assert reason in str(err.value) and "sec" not in str(err.value).replace("seconds", "")
    res = cli("pull", "-o", tmp_path / "out")
    assert res.exit_code == 1 and str(config) in res.output and reason in res.output


# --- the gold set on disk ------------------------------------------------------------------------------------------


@pytest.fixture
def gold(tmp_path, doc):
    export = tmp_path / "export.json"
    export.write_text(json.dumps([export_task(doc, [annotation(doc)])]), encoding="utf-8")
    assert cli("import", export, "-o", tmp_path / "gold").exit_code == 0
    return tmp_path / "gold"


def _truncate(file: Path) -> None:
    data = file.read_bytes()
    file.write_bytes(data[: len(data) // 2])


@pytest.mark.parametrize("damage, culprit, reason", [
    (lambda g: _truncate(next(g.rglob("*.arrow"))), "data-00000-of-00001.arrow", "cannot be read"),
    (lambda g: _truncate(g / BUILD_FILE), BUILD_FILE, "not valid JSON (line"),
    (lambda g: (g / BUILD_FILE).write_text("[]"), BUILD_FILE, "expected a JSON object"),
    (lambda g: (g / BUILD_FILE).write_text("{}"), BUILD_FILE, "'schema_definition' is missing"),
    (lambda g: _truncate(next(g.rglob("state.json"))), "state.json", "cannot be read"),
], ids=["truncated arrow", "truncated build.json", "build.json a list", "build.json empty", "truncated state.json"])
def test_a_damaged_gold_set_names_the_file(gold, damage, culprit, reason):
    damage(gold)
    with pytest.raises(GoldReadError) as err:
        gold_documents(gold)
    assert culprit in str(err.value) and reason in str(err.value) and "annotate import" in str(err.value)
    preds = gold.parent / "p.jsonl"
    preds.write_text("", encoding="utf-8")
    res = cli("score", "--gold", gold, "--predictions", preds)
    assert res.exit_code == 1 and culprit in res.output


# --- crashes and file modes -----------------------------------------------------------------------------------------

_CHILD = textwrap.dedent("""
    import os, signal, sys, time
    sys.path.insert(0, {root!r})
    from annotate.core import atomic
    from annotate.gold.writer import write_gold
    from annotate.articles.ingest import ingest
    from annotate.core.schema import load_schema

    if sys.argv[1] == "between-renames":
        real_replace = os.replace
        def replace(src, dst):
            real_replace(src, dst)
            if str(dst).endswith(".previous"):  # the old set is aside, the new one not yet in place
                os.kill(os.getpid(), signal.SIGKILL)
        atomic.os.replace = replace
        write_gold(ingest([{articles!r}]).documents[:2], load_schema(), sys.argv[2])
    else:
        with atomic.atomic_directory(sys.argv[2]) as tmp:
            (tmp / "part").write_bytes(b"x" * 100000)
            print("writing", flush=True)
            time.sleep(60)
""")


def _child(tmp_path, mode: str, target: Path) -> subprocess.Popen:
    script = tmp_path / "child.py"
    script.write_text(_CHILD.format(root=str(ROOT), articles=str(ROOT / "gold" / "articles")), encoding="utf-8")
    return subprocess.Popen([sys.executable, str(script), mode, str(target)], stdout=subprocess.PIPE, text=True)


def test_a_killed_import_leaves_no_temporary_folder_behind(tmp_path, gold, doc):
    proc = _child(tmp_path, "sleep", gold)
    assert proc.stdout.readline() == "writing\n"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    stale = list(tmp_path.glob(".gold.new-*"))
    assert len(stale) == 1  # what a killed run leaves
    export = tmp_path / "export.json"
    assert cli("import", export, "-o", gold).exit_code == 0
    assert not list(tmp_path.glob(".gold.new-*"))
    assert len(gold_documents(gold)[0]) == 1


def test_a_crash_between_the_two_renames_is_recovered(tmp_path, gold):
    before = (gold / BUILD_FILE).read_bytes()
    proc = _child(tmp_path, "between-renames", gold)
    assert proc.wait() == -signal.SIGKILL
    assert not gold.exists() and (tmp_path / ".gold.previous").exists()  # the window, for real
    docs, info = gold_documents(gold)  # a reader puts the previous set back
    assert len(docs) == 1 and (gold / BUILD_FILE).read_bytes() == before
    assert not (tmp_path / ".gold.previous").exists()


def test_outputs_respect_the_umask_and_secrets_stay_private(tmp_path, doc):
    old = os.umask(0o022)
    try:
        articles = tmp_path / "a.jsonl"
        articles.write_bytes(_line(GOOD_1) + b"\n{broken\n")
        preds = tmp_path / "baseline.jsonl"
        assert cli("baseline", ROOT / "gold" / "articles", "-o", preds).exit_code == 0
        assert cli("tasks", articles, "-o", tmp_path / "tasks.json").exit_code == 0
        export = tmp_path / "export.json"
        export.write_text(json.dumps([export_task(doc, [annotation(doc)]), {"id": 5}]), encoding="utf-8")
        assert cli("import", export, "-o", tmp_path / "gold").exit_code == 0
        atomic_write_json(tmp_path / "credentials.json", {"token": "t"}, mode=0o600)
    finally:
        os.umask(old)

    def mode(p):
        return stat.S_IMODE(p.stat().st_mode)
    for p in (preds, tmp_path / "tasks.json", tmp_path / "tasks.quarantine.jsonl", tmp_path / "gold.quarantine.jsonl",
              tmp_path / "gold" / BUILD_FILE):
        assert mode(p) == 0o644, p
    assert mode(tmp_path / "gold") == 0o755
    assert mode(tmp_path / "credentials.json") == 0o600


# --- `annotate push`: files that are not what push needs fail before the server is asked -----------------------

DEAD_SERVER = {"LABEL_STUDIO_URL": "http://127.0.0.1:9", "LABEL_STUDIO_API_KEY": "never-used"}


@pytest.mark.parametrize("content, reason", [
    (b"[{\"data\": ", "not a JSON tasks file (line 1, column 11"),
    (b"\xff[]", "not UTF-8 text (byte 0)"),
    (b"{\"data\": {}}", "expected a JSON list of tasks, got dict"),
    (b"[1]", "task 0 needs data.text and data.doc_id"),
    (b"[{\"data\": {\"text\": \"x\"}}]", "task 0 needs data.text and data.doc_id"),
    (b"[{\"data\": {\"doc_id\": \"a\", \"text\": 5}}]", "task 0 needs data.text and data.doc_id"),
])
def test_push_names_a_bad_tasks_file_and_sends_nothing(tmp_path, content, reason):
    path = tmp_path / "tasks.json"
    path.write_bytes(content)
    result = cli("push", path, env=DEAD_SERVER)
    assert result.exit_code == 1 and f"{path}: {reason}" in result.output, result.output
    assert "not reachable" not in result.output  # the server was never asked


@pytest.mark.parametrize("args, reason", [
    (["--annotator", "a@x.org"], "give TASKS_FILE, --annotations FILE --annotator EMAIL, or --overlap N"),
    (["--annotations", "{file}"], "--annotations and --annotator go together"),
])
def test_push_usage_errors(tmp_path, args, reason):
    f = tmp_path / "a.jsonl"
    f.write_text("", encoding="utf-8")
    result = cli("push", *[a.format(file=f) for a in args], env=DEAD_SERVER)
    assert result.exit_code == 2 and reason in result.output, result.output
