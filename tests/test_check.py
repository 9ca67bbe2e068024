"""`annotate check FILE --tasks tasks.json`: an annotation file checked as the push would read it, no server."""

import json

from click.testing import CliRunner

from annotate.cli import main

TEXT = "زار الأردن وفدٌ أردني، وقال السفير الأردني إن الأردن يرحب"


def _tasks(tmp_path):
    path = tmp_path / "tasks.json"
    path.write_text(json.dumps([{"data": {"doc_id": "d1", "text": TEXT}}], ensure_ascii=False), encoding="utf-8")
    return path


def _file(tmp_path, entities):
    path = tmp_path / "pass.jsonl"
    path.write_text(json.dumps({"id": "d1", "entities": entities}, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def test_a_clean_file_passes_and_says_what_would_load(tmp_path):
    path = _file(tmp_path, [{"id": "e1", "type": "GPE", "text": "الأردن", "occurrence": 2},
                            {"id": "e2", "type": "NORP", "text": "الأردني", "occurrence": 1}])
    res = CliRunner().invoke(main, ["check", str(path), "--tasks", str(_tasks(tmp_path))])
    assert res.exit_code == 0, res.output
    assert "1 record(s): 1 would load, 0 would be quarantined" in res.output and "0 warning(s)" in res.output
    assert not list(tmp_path.glob("*.quarantine.jsonl"))  # a check writes nothing


def test_an_occurrence_that_only_exists_inside_a_word_is_reported_with_its_reason(tmp_path):
    path = _file(tmp_path, [{"id": "e1", "type": "GPE", "text": "الأردن", "occurrence": 3}])
    res = CliRunner().invoke(main, ["check", str(path), "--tasks", str(_tasks(tmp_path))])
    assert res.exit_code == 1
    assert "would be quarantined" in res.output and "inside a longer word" in res.output
    assert "0 would load, 1 would be quarantined" in res.output and "Traceback" not in res.output


def test_a_span_inside_a_word_on_purpose_loads_with_a_warning(tmp_path):
    path = _file(tmp_path, [{"id": "e1", "type": "GPE", "text": "الأردن", "occurrence": 2, "inside_word": True}])
    res = CliRunner().invoke(main, ["check", str(path), "--tasks", str(_tasks(tmp_path))])
    assert res.exit_code == 0, res.output
    assert "sits inside the word 'الأردني'" in res.output and "1 warning(s)" in res.output
