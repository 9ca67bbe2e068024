"""The gold flow on a real Label Studio: two passes loaded as named annotators' work, a reviewer adjudicating by a
decision log, ground truth pulled into the gold set."""

import json
import uuid

import pytest
import yaml
from click.testing import CliRunner

from annotate.cli import main
from annotate.gold.reader import gold_documents
from annotate.predictions.records import document_to_record
from annotate.studio.client import connect, pull_export, push_tasks
from annotate.studio.tasks import build_tasks, results_for

pytestmark = pytest.mark.studio


def _pass(doc, picks, realis="actual"):
    """A pass as surface spans: entities (text, type) and one Contact.Meet/Statement trigger with a role."""
    entities = [{"id": f"e{k}", "type": t, "text": s, "occurrence": 1} for k, (s, t) in enumerate(picks)]
    return {"id": doc.id, "entities": entities,
            "events": [{"id": "v1", "type": "Contact.Statement", "trigger": {"text": "أكد", "occurrence": 1},
                        "attributes": {"realis": realis}, "arguments": [{"role": "Speaker", "entity": "e0"}]}]}


def test_two_passes_a_reviewer_and_the_gold_set(studio_env, schema, bundled_documents, tmp_path):
    runner = CliRunner()
    title = f"gold-{uuid.uuid4().hex[:8]}"
    docs = [d for d in bundled_documents if "أكد" in d.text and "الكاظمي" in d.text][:2]
    report = push_tasks(studio_env, schema, build_tasks(docs, schema)[0], title)

    # pass A: predictions JSONL with surface spans, plus one record the schema rejects
    a = tmp_path / "pass-a.jsonl"
    records = [_pass(d, [("الكاظمي", "PER"), ("داعش", "ORG")]) for d in docs]
    bad = _pass(docs[0], [("الكاظمي", "WEA")])
    bad["id"] = "0" * 16
    a.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records + [bad]), encoding="utf-8")
    args = ["push", "--project", title, "--annotations", str(a), "--annotator", "pass-a@annotate.test"]
    res = runner.invoke(main, args)
    assert res.exit_code == 0, res.output
    assert "3 record(s): 2 annotation(s) created for pass-a@annotate.test (new user), 0 already there, " \
           "1 quarantined" in res.output
    assert "pass-a.jsonl:3" in res.output and (tmp_path / "pass-a.quarantine.jsonl").exists()
    res = runner.invoke(main, args)  # loading the same file again adds nothing
    assert "0 annotation(s) created for pass-a@annotate.test, 2 already there" in res.output, res.output

    # pass B: a Label Studio export made elsewhere (other annotations on the same documents)
    b_docs = []
    for d in docs:
        from annotate.predictions.records import annotations_from_record

        b_docs.append(annotations_from_record(_pass(d, [("الكاظمي", "PER"), ("داعش", "GPE")], "planned"), d))
    export_b = [{"id": 900 + k, "data": {"text": d.text, "doc_id": d.id},
                 "annotations": [{"id": 1, "completed_by": 7, "result": results_for(d), "was_cancelled": False}]}
                for k, d in enumerate(b_docs)]
    b = tmp_path / "pass-b.json"
    b.write_text(json.dumps(export_b, ensure_ascii=False), encoding="utf-8")
    res = runner.invoke(main, ["push", "--project-id", str(report.project_id), "--annotations", str(b),
                               "--annotator", "pass-b@annotate.test"])
    assert "(label-studio-export): 2 record(s): 2 annotation(s) created" in res.output, res.output

    export = pull_export(studio_env, tmp_path / "ann", title).path
    res = runner.invoke(main, ["agree", str(export), "--json", str(tmp_path / "agree.json")])
    assert json.loads((tmp_path / "agree.json").read_text())["tasks"] == 2

    log = tmp_path / "adjudication.yaml"
    reviewer = ["--reviewer", "rana@annotate.test"]
    res = runner.invoke(main, ["adjudicate", str(export), "--log", str(log), "--push", *reviewer])
    assert res.exit_code == 0, res.output
    # per document: داعش ORG or GPE (one entry, both options side by side) and realis
    assert "2 with 4 disagreement(s); 2 review annotation(s) pushed" in res.output, res.output
    res = runner.invoke(main, ["adjudicate", str(export), "--push", *reviewer])
    assert "0 review annotation(s) pushed, 2 already there" in res.output, res.output

    res = runner.invoke(main, ["adjudicate", str(export), "--log", str(log), "--resolve", *reviewer])
    assert res.exit_code == 1 and "no decision for" in res.output and "nothing was pushed" in res.output
    # the same, read from the server by project instead of an export file
    res = runner.invoke(main, ["adjudicate", "--project-id", str(report.project_id), "--log",
                               str(tmp_path / "by-project.yaml")])
    assert res.exit_code == 0 and f"Project {report.project_id} on " in res.output, res.output
    assert yaml.safe_load((tmp_path / "by-project.yaml").read_text(encoding="utf-8")) == \
        yaml.safe_load(log.read_text(encoding="utf-8"))
    res = runner.invoke(main, ["status", "--project", title, "--json", str(tmp_path / "s.json")])
    (before,) = json.loads((tmp_path / "s.json").read_text())["projects"]
    assert (before["round"], before["in_review"], before["resolved"]) == ("adjudicating", 2, 0), res.output

    entries = yaml.safe_load(log.read_text(encoding="utf-8"))
    assert sorted(e["kind"] for e in entries) == ["attribute", "attribute", "type", "type"]
    for e in entries:  # the reviewer keeps ORG for داعش and realis actual
        if e["kind"] == "attribute":
            e["decision"] = "actual"
        else:
            e["decision"] = next(k for k, v in e["options"].items() if v.startswith("ORG"))
        e["reason"] = "guidelines 4, ORG: militant groups"
    log.write_text(yaml.safe_dump(entries, allow_unicode=True), encoding="utf-8")
    res = runner.invoke(main, ["adjudicate", str(export), "--log", str(log), "--resolve", *reviewer])
    assert res.exit_code == 0, res.output
    assert "2 task(s) resolved" in res.output and "2 review annotation(s) updated, 0 created" in res.output
    # after --resolve the round is done: every task annotated, no CONFLICT note left
    res = runner.invoke(main, ["status", "--project", title, "--json", str(tmp_path / "s.json")])
    (after,) = json.loads((tmp_path / "s.json").read_text())["projects"]
    assert (after["round"], after["in_review"], after["resolved"], after["annotated"], after["tasks"]) == \
        ("done", 0, 2, 2, 2), res.output
    assert f"({title}): done. 2 task(s): 2 annotated (0 to adjudicate, 0 in review, 2 resolved)" in res.output

    export2 = pull_export(studio_env, tmp_path / "ann", title).path
    res = runner.invoke(main, ["import", str(export2), "-o", str(tmp_path / "gold")])
    assert "2 imported, 0 quarantined, 0 skipped" in res.output, res.output
    gold, info = gold_documents(tmp_path / "gold")
    for doc in gold:
        assert sorted(e.type for e in doc.entities) == ["ORG", "PER"]
        assert doc.events[0].attributes == {"realis": "actual"}
        assert doc.provenance.annotators == ("pass-a@annotate.test", "pass-b@annotate.test")
        assert doc.provenance.reviewers == ("rana@annotate.test",)
        assert doc.metadata["gold_rule"] == "ground truth"
    # agreement compares the two passes only: the reviewer's ground truth is not a third pass
    assert info.agreement["tasks"] == 2 and len(info.agreement["pairs"]) == 1
    assert document_to_record(gold[0])["entities"]
    users = {u.email for u in connect(studio_env).users.list()}
    assert {"pass-a@annotate.test", "pass-b@annotate.test", "rana@annotate.test"} <= users
