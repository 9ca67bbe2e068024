"""Input fields that were read as something they are not (issue 20, item 7): a string as a boolean, a nesting
no parser survives, a null label taken for an unknown one, a same-id conflict called "same text".

Each case gets a clear message or a quarantine entry naming the field, on real files through the real CLI.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from annotate.cli import main
from annotate.core.model import Document, Entity
from annotate.gold.reader import gold_documents
from annotate.predictions.records import document_to_record

from .exports import annotation, export_task

ROOT = Path(__file__).resolve().parent.parent
GOLD = ROOT / "gold" / "dataset"


def cli(*args):
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert "Traceback" not in result.output, result.output
    return result


def lines(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x]


@pytest.fixture(scope="module")
def gold_docs():
    return gold_documents(GOLD)[0]


# --- ground_truth is a boolean ----------------------------------------------------------------------------------


@pytest.mark.parametrize("flag, value", [("ground_truth", "false"), ("ground_truth", 1),
                                         ("was_cancelled", "true")])
def test_a_flag_that_is_not_a_boolean_quarantines_the_task(tmp_path, bundled_documents, flag, value):
    """Two annotators disagree; one annotation says ground_truth "false". Read as truthy, the string decided
    the task; now the task is quarantined and the field is named."""
    doc = bundled_documents[0]
    k = doc.text.index("الكاظمي")
    a = annotation(Document(doc.id, doc.text, [Entity("e1", k, k + 7, "PER")]), "a@x.org")
    b = annotation(Document(doc.id, doc.text, [Entity("e1", k, k + 7, "ORG")]), "b@x.org", **{flag: value})
    good = export_task(bundled_documents[1], [annotation(bundled_documents[1])], task_id=78)
    export = tmp_path / "export.json"
    export.write_text(json.dumps([export_task(doc, [a, b], task_id=77), good]), encoding="utf-8")
    res = cli("import", export, "-o", tmp_path / "gold")
    assert res.exit_code == 0, res.output
    assert "2 task(s) read from 1 export(s): 1 imported, 1 quarantined, 0 skipped" in res.output
    (q,) = lines(tmp_path / "gold.quarantine.jsonl")
    assert q["task_id"] == 77
    assert f"field '{flag}' must be true or false, got a {'string' if isinstance(value, str) else 'number'}" \
        in q["reason"], q
    assert [d.id for d in gold_documents(tmp_path / "gold")[0]] == [bundled_documents[1].id]


def test_boolean_flags_still_decide(tmp_path, bundled_documents):
    """The same disputed task with a real `true` is decided by it (rule 2)."""
    doc = bundled_documents[0]
    k = doc.text.index("الكاظمي")
    a = annotation(Document(doc.id, doc.text, [Entity("e1", k, k + 7, "PER")]), "a@x.org")
    b = annotation(Document(doc.id, doc.text, [Entity("e1", k, k + 7, "ORG")]), "b@x.org", ground_truth=True)
    export = tmp_path / "export.json"
    export.write_text(json.dumps([export_task(doc, [a, b], task_id=77)]), encoding="utf-8")
    res = cli("import", export, "-o", tmp_path / "gold")
    assert "1 imported, 0 quarantined" in res.output, res.output
    (gold,) = gold_documents(tmp_path / "gold")[0]
    assert [e.type for e in gold.entities] == ["ORG"]


# --- nesting is bounded -------------------------------------------------------------------------------------------


DEEP = b"[" * 100_000 + b"]" * 100_000


def test_a_deeply_nested_prediction_line_is_quarantined_with_its_line(tmp_path, gold_docs):
    preds = tmp_path / "p.jsonl"
    good = [json.dumps(document_to_record(d), ensure_ascii=False).encode() for d in gold_docs[:2]]
    preds.write_bytes(good[0] + b"\n" + DEEP + b"\n" + good[1] + b"\n")
    q = tmp_path / "q.jsonl"
    res = cli("score", "--gold", GOLD, "--predictions", preds, "--quarantine", q, "--json", tmp_path / "r.json",
              "--allow-rejected", "--resamples", "10")
    assert res.exit_code == 0, res.output
    (row,) = lines(q)
    assert row["source"] == f"{preds}:2" and "nested 100000 levels deep (at most 100 are read)" in row["reason"]
    report = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert report["predictions"]["rejected"] == 1 and report["documents"]["with_predictions"] == 2


def test_a_deeply_nested_article_line_is_quarantined(tmp_path):
    articles = tmp_path / "a.jsonl"
    ok = json.dumps({"id": "ok", "text": "قال الكاظمي في بغداد"}, ensure_ascii=False).encode()
    articles.write_bytes(ok + b"\n" + b'{"id": "deep", "text": "x", "meta": ' + DEEP + b"}\n")
    res = cli("tasks", articles, "-o", tmp_path / "tasks.json")
    assert res.exit_code == 0, res.output
    (row,) = lines(tmp_path / "tasks.quarantine.jsonl")
    assert row["source"] == f"{articles}:2" and "nested 100001 levels deep" in row["reason"]


def test_nesting_depth_ignores_brackets_inside_strings():
    from annotate.core.jsonl import MAX_NESTING, nesting_depth, parse_line

    text = json.dumps({"id": "x", "text": "[" * 5000 + "\\\"{" * 300})
    assert nesting_depth(text) == 1 and parse_line("f:1", text.encode()).value["id"] == "x"
    at_bound = "[" * MAX_NESTING + "]" * MAX_NESTING
    assert parse_line("f:1", at_bound.encode()).error is None
    assert "nested 101 levels" in parse_line("f:1", ("[" + at_bound + "]").encode()).error


# --- a null label is a missing field, not a schema violation ------------------------------------------------------


@pytest.mark.parametrize("where, mutate, reason", [
    ("entity type", lambda r: r["entities"][0].update(type=None), "entities[0]: field 'type' is null"),
    ("event type", lambda r: r["events"][0].update(type=None), "events[0]: field 'type' is null"),
    ("argument role", lambda r: r["events"][0]["arguments"][0].update(role=None),
     "events[0].arguments[0]: field 'role' is null"),
    ("argument entity", lambda r: r["events"][0]["arguments"][0].update(entity=None),
     "events[0].arguments[0]: field 'entity' is null"),
    ("entity type a list", lambda r: r["entities"][0].update(type=["PER"]),
     "entities[0]: field 'type' must be a string, got list"),
])
def test_a_null_label_makes_the_record_malformed(tmp_path, gold_docs, where, mutate, reason):
    doc = next(d for d in gold_docs if any(v.arguments for v in d.events) and d.entities)
    record = document_to_record(doc)
    record["events"].sort(key=lambda v: not v["arguments"])
    mutate(record)
    preds = tmp_path / "p.jsonl"
    preds.write_text(json.dumps(record, ensure_ascii=False) + "\n", encoding="utf-8")
    q = tmp_path / "q.jsonl"
    res = cli("score", "--gold", GOLD, "--predictions", preds, "--quarantine", q, "--json", tmp_path / "r.json",
              "--resamples", "10")
    assert res.exit_code == 1, res.output  # a malformed record fails the run; a schema violation would not
    (row,) = lines(q)
    assert row["source"] == f"{preds}:1" and f"document {doc.id}: {reason}" in row["reason"], row
    report = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert report["predictions"]["rejected"] == 1
    assert not report["predictions"].get("schema_violations"), report["predictions"]


# --- the same id with another text ----------------------------------------------------------------------------------


def test_the_same_id_with_another_text_says_so(tmp_path):
    articles = tmp_path / "a.jsonl"
    records = [{"id": "n1", "text": "قال الكاظمي في بغداد"}, {"id": "n1", "text": "وصل الوفد إلى أربيل"},
               {"id": "n1", "text": "قال الكاظمي في بغداد"}]
    articles.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    res = cli("tasks", articles, "-o", tmp_path / "tasks.json")
    assert res.exit_code == 0, res.output
    q = lines(tmp_path / "tasks.quarantine.jsonl")
    assert [r["source"] for r in q] == [f"{articles}:2", f"{articles}:3"]
    assert f"duplicate of {articles}:1 (same id, different text, id n1)" in q[0]["reason"]
    assert f"duplicate of {articles}:1 (same text, id n1)" in q[1]["reason"]


# --- where pull and import write by default (issue 20, item 5) ---------------------------------------------------


def test_import_and_pull_default_to_the_current_folder_not_the_committed_gold_set(tmp_path, monkeypatch,
                                                                                   bundled_documents):
    from annotate.cli.studio import pull_cmd

    assert next(p for p in pull_cmd.params if p.name == "out_dir").default == "annotations"
    export = tmp_path / "round1.json"
    doc = bundled_documents[0]
    export.write_text(json.dumps([export_task(doc, [annotation(doc)])]), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    res = cli("import", export)
    assert res.exit_code == 0 and "Gold dataset written to dataset " in res.output, res.output
    assert (tmp_path / "dataset" / "build.json").exists()


@pytest.mark.parametrize("args, reason", [
    ([], "give EXPORT files, or --project TITLE / --project-id N"),
    (["EXPORT", "--project-id", "3"], "give EXPORT files or --project/--project-id, not both"),
])
def test_adjudicate_takes_exports_or_a_project(tmp_path, args, reason):
    export = tmp_path / "e.json"
    export.write_text("[]", encoding="utf-8")
    res = cli("adjudicate", *[export if a == "EXPORT" else a for a in args])
    assert res.exit_code == 2 and reason in res.output
