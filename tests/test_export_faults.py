"""One malformed export per fault: each gets a message naming task, region and field; nothing is lost."""

import copy
import json

import pytest
from click.testing import CliRunner

from annotate.cli import main
from annotate.core.model import Document
from annotate.gold.build import import_exports
from annotate.studio.config import Routing, routing_from_config

from .exports import annotation, export_task, meeting_document


@pytest.fixture
def doc(bundled_documents):
    return meeting_document(bundled_documents[0])


def run(tmp_path, tasks, schema, **kw):
    p = tmp_path / "export.json"
    p.write_text(json.dumps(tasks, ensure_ascii=False), encoding="utf-8")
    r = import_exports([p], Routing(schema), **kw)
    c = r.counts
    assert c["imported"] + c["quarantined"] + c["skipped"] == c["inputs"]  # nothing lost
    return r


def broken(doc, mutate):
    ann = annotation(doc)
    mutate(ann["result"])
    return [export_task(doc, [ann], task_id=77)]


def only_reason(result):
    assert len(result.quarantined) == 1 and not result.documents, result.quarantined
    q = result.quarantined[0]
    assert q.task_id == 77 and "task 77" in q.reason and q.record["id"] == 77
    return q.reason


def region(result, rid):
    return next(r for r in result if r.get("id") == rid and r["type"] == "labels")


def test_clean_export_imports(tmp_path, schema, doc):
    r = run(tmp_path, [export_task(doc, [annotation(doc)])], schema)
    assert r.counts["imported"] == 1 and not r.warnings
    assert r.documents[0].events[0].arguments == doc.events[0].arguments


def test_offsets_out_of_range(tmp_path, schema, doc):
    def mutate(res):
        region(res, "e1")["value"]["end"] = len(doc.text) + 5
    reason = only_reason(run(tmp_path, broken(doc, mutate), schema))
    assert "region e1" in reason and "out of range" in reason


def test_value_text_disagreeing_with_offsets_is_reported_and_offsets_win(tmp_path, schema, doc):
    def mutate(res):
        region(res, "e1")["value"]["text"] = "شخص آخر"
    r = run(tmp_path, broken(doc, mutate), schema)
    assert r.counts["imported"] == 1
    assert any("region e1" in w and "value.text" in w and "offsets win" in w for w in r.warnings)
    e1 = next(e for e in r.documents[0].entities if e.id == "e1")
    assert doc.text[e1.start:e1.end] == "الكاظمي"


def test_missing_value_text_is_fine(tmp_path, schema, doc):
    task = export_task(doc, [annotation(doc)])
    for res in task["annotations"][0]["result"]:
        res.get("value", {}).pop("text", None)
    r = run(tmp_path, [task], schema)
    assert r.counts["imported"] == 1 and not r.warnings


@pytest.mark.parametrize("shift, what", [(-1, "whitespace"), (0, "tatweel")])
def test_span_on_whitespace_or_tatweel(tmp_path, schema, bundled_documents, shift, what):
    base = bundled_documents[2]
    if what == "tatweel":
        text = base.text.replace("الكاظمي", "الكاظمـي", 1).replace("الكاظمـي", "الكاظمـ", 1)
        start = text.index("الكاظمـ")
        end = start + len("الكاظمـ")
    else:
        text = base.text
        start = text.index(" ", 10) + 1
        end = text.index(" ", start)
        start += shift  # starts on the space before the word
    d = Document("x" * 16, text, [], [], {})
    ann = annotation(d)
    ann["result"] = [{"id": "bad", "from_name": "entity", "to_name": "text", "type": "labels",
                      "value": {"start": start, "end": end, "labels": ["PER"]}}]
    reason = only_reason(run(tmp_path, [export_task(d, [ann], task_id=77)], schema))
    assert "region bad" in reason and "whitespace or tatweel" in reason


def test_label_not_in_schema(tmp_path, schema, doc):
    def mutate(res):
        region(res, "e2")["value"]["labels"] = ["MONSTER"]
    reason = only_reason(run(tmp_path, broken(doc, mutate), schema))
    assert "region e2" in reason and "'MONSTER'" in reason and "not in schema" in reason


def test_relation_to_missing_region(tmp_path, schema, doc):
    def mutate(res):
        next(r for r in res if r["type"] == "relation")["to_id"] = "ghost"
    reason = only_reason(run(tmp_path, broken(doc, mutate), schema))
    assert "relation 0 (v1 -> ghost)" in reason and "region ghost that does not exist" in reason


def test_self_relation(tmp_path, schema, doc):
    def mutate(res):
        next(r for r in res if r["type"] == "relation")["to_id"] = "v1"
    reason = only_reason(run(tmp_path, broken(doc, mutate), schema))
    assert "related to itself" in reason


def test_role_not_allowed_for_event_type(tmp_path, schema, doc):
    def mutate(res):
        next(r for r in res if r["type"] == "relation")["labels"] = ["Attacker"]
    reason = only_reason(run(tmp_path, broken(doc, mutate), schema))
    assert "event v1 (Contact.Meet)" in reason and "role 'Attacker' is not allowed for Contact.Meet" in reason


def test_argument_entity_type_not_accepted(tmp_path, schema, doc):
    def mutate(res):
        next(r for r in res if r["type"] == "relation")["labels"] = ["Time"]
    reason = only_reason(run(tmp_path, broken(doc, mutate), schema))
    assert "role Time does not accept entity e1 of type PER" in reason


def test_relation_between_two_entities(tmp_path, schema, doc):
    def mutate(res):
        next(r for r in res if r["type"] == "relation").update(from_id="e2", to_id="e1")
    reason = only_reason(run(tmp_path, broken(doc, mutate), schema))
    assert "must link a trigger and an entity" in reason


def test_relation_drawn_from_argument_to_trigger_is_the_same_role(tmp_path, schema, doc):
    task = export_task(doc, [annotation(doc)])
    rel = next(r for r in task["annotations"][0]["result"] if r["type"] == "relation")
    rel["from_id"], rel["to_id"] = rel["to_id"], rel["from_id"]
    r = run(tmp_path, [task], schema)
    assert r.documents[0].events[0].arguments == doc.events[0].arguments


def test_attribute_value_not_in_schema(tmp_path, schema, doc):
    def mutate(res):
        next(r for r in res if r["type"] == "choices")["value"]["choices"] = ["maybe"]
    reason = only_reason(run(tmp_path, broken(doc, mutate), schema))
    assert "attribute realis='maybe'" in reason


def test_task_text_differs_from_pushed_document(tmp_path, schema, doc):
    task = export_task(doc, [annotation(doc)], task_id=77)
    task["data"]["text"] = task["data"]["text"] + " (edited)"
    reason = only_reason(run(tmp_path, [task], schema))
    assert f"differs from the pushed document {doc.id}" in reason
    # with the pushed articles as reference the same is caught for any id scheme
    task2 = export_task(doc, [annotation(doc)], task_id=77)
    task2["data"]["doc_id"] = "article-1"
    r = run(tmp_path, [task2], schema, reference_texts={"article-1": "another text"})
    assert "differs from the pushed document article-1" in only_reason(r)


def test_duplicate_tasks(tmp_path, schema, doc):
    a = export_task(doc, [annotation(doc)])
    b = copy.deepcopy(a)
    b["id"] = 78
    r = run(tmp_path, [a, b], schema)
    assert r.counts == {"inputs": 2, "imported": 1, "quarantined": 1, "skipped": 0}
    assert "task 78" in r.quarantined[0].reason and "duplicate task" in r.quarantined[0].reason


def test_cancelled_and_unannotated_tasks_never_become_gold(tmp_path, schema, doc, bundled_documents):
    cancelled = export_task(doc, [annotation(doc, was_cancelled=True)])
    empty = export_task(bundled_documents[1], [])
    r = run(tmp_path, [cancelled, empty], schema)
    assert r.counts == {"inputs": 2, "imported": 0, "quarantined": 0, "skipped": 2}
    reasons = sorted(s.reason for s in r.skipped)
    assert "no annotations" in reasons[0] or "no annotations" in reasons[1]
    assert any("only cancelled annotations" in x for x in reasons)


def test_cancelled_annotation_beside_a_real_one_is_ignored(tmp_path, schema, doc):
    other = Document(doc.id, doc.text, doc.entities[:1], [], {})
    task = export_task(doc, [annotation(doc), annotation(other, "bilal@annotate.test", was_cancelled=True)])
    r = run(tmp_path, [task], schema)
    assert r.counts["imported"] == 1 and len(r.documents[0].entities) == 2


def test_disagreement_waits_for_adjudication_and_ground_truth_wins(tmp_path, schema, doc):
    other = Document(doc.id, doc.text, doc.entities[:1], [], {})
    task = export_task(doc, [annotation(doc), annotation(other, "bilal@annotate.test")])
    r = run(tmp_path, [task], schema)
    assert r.counts["skipped"] == 1 and "annotate adjudicate" in r.skipped[0].reason
    task["annotations"][1]["ground_truth"] = True
    r = run(tmp_path, [task], schema)
    assert r.counts["imported"] == 1 and len(r.documents[0].entities) == 1
    assert r.documents[0].metadata["gold_rule"] == "ground truth"
    # the ground truth's author is its reviewer; the annotators are those whose passes it settled
    assert r.documents[0].provenance.annotators == ("amal@annotate.test",)
    assert r.documents[0].provenance.reviewers == ("bilal@annotate.test",)


def test_identical_annotations_merge_with_both_annotators(tmp_path, schema, doc):
    task = export_task(doc, [annotation(doc), annotation(doc, "bilal@annotate.test")])
    r = run(tmp_path, [task], schema)
    assert r.documents[0].provenance.annotators == ("amal@annotate.test", "bilal@annotate.test")


def test_envelope_and_single_task_and_min_exports(tmp_path, schema, doc):
    task = export_task(doc, [annotation(doc)])
    for payload in ({"tasks": [task]}, task):
        r = run(tmp_path, payload, schema)
        assert r.counts["imported"] == 1
    minified = [{"id": 5, "text": doc.text, "doc_id": doc.id, "annotator": "amal@annotate.test", "annotation_id": 9,
                 "entity": [{"start": e.start, "end": e.end, "text": doc.text[e.start:e.end], "labels": [e.type]}
                            for e in doc.entities]}]
    r = run(tmp_path, minified, schema)
    assert r.counts["imported"] == 1
    assert sorted((e.start, e.end, e.type) for e in r.documents[0].entities) == \
        sorted((e.start, e.end, e.type) for e in doc.entities)


def test_plain_ner_export_from_another_project_via_its_config(tmp_path, bundled_documents):
    xml = """<View><Labels name="label" toName="txt"><Label value="Person"/><Label value="Place &amp; Area"/></Labels>
    <Text name="txt" value="$article"/><Relations><Relation value="near"/></Relations></View>"""
    (tmp_path / "config.xml").write_text(xml, encoding="utf-8")
    text = bundled_documents[3].text
    k = text.index("الكاظمي")
    b = text.index("بغداد")
    task = {"id": 3, "data": {"article": text}, "annotations": [{
        "id": 1, "completed_by": 4, "was_cancelled": False, "ground_truth": False, "result": [
            {"id": "a", "from_name": "label", "to_name": "txt", "type": "labels",
             "value": {"start": k, "end": k + 7, "text": "الكاظمي", "labels": ["Person"]}},
            {"id": "b", "from_name": "label", "to_name": "txt", "type": "labels",
             "value": {"start": b, "end": b + 5, "text": "بغداد", "labels": ["Place & Area"]}},
            {"type": "relation", "from_id": "a", "to_id": "b", "labels": ["near"], "direction": "right"}]}]}
    (tmp_path / "export.json").write_text(json.dumps([task], ensure_ascii=False), encoding="utf-8")
    r = import_exports([tmp_path / "export.json"], routing_from_config(xml))
    assert r.counts["imported"] == 1
    d = r.documents[0]
    assert [(e.type, d.text[e.start:e.end]) for e in d.entities] == [("Person", "الكاظمي"), ("Place & Area", "بغداد")]
    assert d.metadata["relations"] == [{"from": "a", "to": "b", "labels": ["near"]}]
    out = CliRunner().invoke(main, ["import", str(tmp_path / "export.json"), "--config", str(tmp_path / "config.xml"),
                                    "-o", str(tmp_path / "gold")])
    assert out.exit_code == 0, out.output
    assert "1 imported, 0 quarantined, 0 skipped" in out.output


def test_import_command_writes_quarantine_and_counts_add_up(tmp_path, schema, doc, bundled_documents):
    good = export_task(doc, [annotation(doc)])
    bad = broken(doc, lambda res: region(res, "e1")["value"].update(end=10 ** 6))[0]
    bad["data"] = dict(bad["data"], doc_id=bundled_documents[1].id, text=bundled_documents[1].text)
    empty = export_task(bundled_documents[2], [])
    p = tmp_path / "export.json"
    p.write_text(json.dumps([good, bad, empty], ensure_ascii=False), encoding="utf-8")
    res = CliRunner().invoke(main, ["import", str(p), "-o", str(tmp_path / "gold")])
    assert res.exit_code == 0, res.output
    assert "3 task(s) read from 1 export(s): 1 imported, 1 quarantined" in res.output and "1 skipped" in res.output
    q = [json.loads(x) for x in (tmp_path / "gold.quarantine.jsonl").read_text().splitlines()]
    assert len(q) == 1 and q[0]["task"]["id"] == 77 and "region e1" in q[0]["reason"]
    # a second run where nothing qualifies leaves the gold set as it was
    only_empty = tmp_path / "empty.json"
    only_empty.write_text(json.dumps([empty], ensure_ascii=False), encoding="utf-8")
    before = (tmp_path / "gold" / "build.json").read_text()
    res = CliRunner().invoke(main, ["import", str(only_empty), "-o", str(tmp_path / "gold")])
    assert res.exit_code == 1 and "left as it was" in res.output
    assert (tmp_path / "gold" / "build.json").read_text() == before


def test_unreadable_export_file_is_listed_as_a_file_not_counted_as_a_task(tmp_path, schema):
    p = tmp_path / "export.json"
    p.write_text("{broken", encoding="utf-8")
    r = import_exports([p], Routing(schema))
    assert r.counts == {"inputs": 0, "imported": 0, "quarantined": 0, "skipped": 0}
    assert len(r.unreadable) == 1
    reason = r.unreadable[0].reason
    assert "not a JSON export" in reason and str(p) in reason and "line 1" in reason


def test_a_newer_export_supersedes_an_older_one(tmp_path, schema, doc, bundled_documents):
    old = Document(doc.id, doc.text, doc.entities[:1], [], {})
    other = bundled_documents[1]
    (tmp_path / "export-1-old.json").write_text(json.dumps(
        [export_task(old, [annotation(old)]), export_task(other, [])], ensure_ascii=False), encoding="utf-8")
    (tmp_path / "export-2-new.json").write_text(json.dumps([export_task(doc, [annotation(doc)])],
                                                           ensure_ascii=False), encoding="utf-8")
    r = import_exports(sorted(tmp_path.glob("export-*.json")), Routing(schema))
    assert r.counts == {"inputs": 3, "imported": 1, "quarantined": 0, "skipped": 2}
    assert len(r.documents[0].entities) == 2  # the newer annotation
    assert any("superseded by the newer export" in s.reason and "export-2-new.json" in s.reason
               for s in r.skipped)


def test_utf16_offsets_from_an_old_frontend_are_reported_with_a_hint(tmp_path, schema):
    text = "👍 قال الكاظمي في بغداد"
    d = Document("u" * 16, text, [], [], {})
    ann = annotation(d)
    s = text.index("الكاظمي")
    ann["result"] = [{"id": "r", "from_name": "entity", "to_name": "text", "type": "labels",
                      "value": {"start": s + 1, "end": s + 8, "text": "الكاظمي", "labels": ["PER"]}}]
    r = run(tmp_path, [export_task(d, [ann])], schema)
    assert any("UTF-16 code units" in w for w in r.warnings)
