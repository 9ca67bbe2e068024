"""`annotate status` from "not started" to "done" (issue 20, item 5): the counts and the round's state computed
from real export files, read by the same code the command runs on the server's snapshot export."""

from __future__ import annotations

import json

from annotate.core.model import Document, Entity
from annotate.gold.adjudicate import adjudicate_task
from annotate.gold.build import import_exports
from annotate.gold.status import disagreeing_tasks, project_status, status_table, to_json
from annotate.studio.config import Routing

from .exports import annotation, export_task


def _status(tmp_path, schema, tasks):
    path = tmp_path / "export.json"
    path.write_text(json.dumps(tasks), encoding="utf-8")
    result = import_exports([str(path)], Routing(schema))
    return project_status(1, "round", tasks, {}, result.counts["quarantined"], disagreeing_tasks(result.annotations))


def test_a_round_from_not_started_to_done(tmp_path, schema, bundled_documents):
    d1, d2 = bundled_documents[:2]
    k = d1.text.index("الكاظمي")

    def person(doc, label):
        return Document(doc.id, doc.text, [Entity("e1", k, k + 7, label)])

    tasks = [export_task(d1, [], task_id=1), export_task(d2, [], task_id=2)]
    steps = []

    def step(name):
        s = _status(tmp_path, schema, tasks)
        steps.append((name, s.round, s.annotated, s.to_adjudicate, s.in_review, s.resolved, s.not_started))
        return s

    step("pushed")
    tasks[0]["annotations"] = [annotation(person(d1, "PER"), "amal@x.org")]
    step("amal did task 1")
    tasks[0]["annotations"].append(annotation(person(d1, "ORG"), "bilal@x.org"))
    tasks[1]["annotations"] = [annotation(d2, "amal@x.org"), annotation(d2, "bilal@x.org")]
    step("both did both, task 1 differs")
    merge = adjudicate_task([person(d1, "PER"), person(d1, "ORG")])
    tasks[0]["annotations"].append({**annotation(d1, "rana@x.org"), "result": merge.result})
    step("task 1 has a CONFLICT merge")
    gold = {**annotation(person(d1, "PER"), "rana@x.org"), "ground_truth": True}
    tasks[0]["annotations"].append(gold)
    last = step("the reviewer's ground truth")
    assert steps == [
        ("pushed", "not started", 0, 0, 0, 0, 2),
        ("amal did task 1", "annotating", 1, 0, 0, 0, 1),
        ("both did both, task 1 differs", "adjudicating", 2, 1, 0, 0, 0),
        ("task 1 has a CONFLICT merge", "adjudicating", 2, 0, 1, 0, 0),
        ("the reviewer's ground truth", "done", 2, 0, 0, 1, 0),
    ]
    assert "Project 1 (round): done. 2 task(s): 2 annotated (0 to adjudicate, 0 in review, 1 resolved), 0 skipped, " \
           "0 not started" in status_table([last])
    assert to_json([last], "http://x")["projects"][0]["round"] == "done"
    # a ground truth that still carries a CONFLICT note is in review, not resolved
    gold["result"] = merge.result
    s = _status(tmp_path, schema, tasks)
    assert (s.round, s.in_review, s.resolved) == ("adjudicating", 1, 0)
