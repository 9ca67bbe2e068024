"""`annotate status` and `push --show-instructions` against the real Label Studio (issue 12 items 2 and 5)."""

from __future__ import annotations

import json
import uuid

import pytest
from click.testing import CliRunner

from annotate.cli import main
from annotate.studio.client import connect, pull_export, push_tasks
from annotate.studio.connection import Connection
from annotate.studio.tasks import build_tasks
from tests.faultproxy import FaultProxy

pytestmark = pytest.mark.studio


def _title(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _entity(text, surface, label, k=0):
    start = text.index(surface)
    return {"id": f"r{k}", "from_name": "entity", "to_name": "text", "type": "labels",
            "value": {"start": start, "end": start + len(surface), "text": surface, "labels": [label]}}


def test_status_counts_projects_annotators_and_agreement(conn, schema, tasks, annotators, studio_env, tmp_path):
    title = _title("status")
    project_id = push_tasks(conn, schema, tasks, title).project_id
    client = connect(conn)
    server_tasks = sorted(client.tasks.list(project=project_id, fields="task_only"), key=lambda t: t.id)
    t1, t2, t3, t4, _ = server_tasks
    amal, bilal = annotators
    text1, text2, text3 = (t.data["text"] for t in (t1, t2, t3))

    def annotate(task, user, result, lead, **extra):
        client.annotations.create(id=task.id, result=result, completed_by=user.id, lead_time=lead, **extra)

    # task 1: both agree; task 2: they differ on the type; task 3: amal only; task 4: bilal skips it;
    # task 5: nobody. A ground-truth review (no CONFLICT note) on task 2 resolves it.
    word1 = text1.split()[0]
    word2 = next(w for w in text2.split() if len(w) > 3)
    annotate(t1, amal, [_entity(text1, word1, "ORG")], 10.0)
    annotate(t1, bilal, [_entity(text1, word1, "ORG")], 30.0)
    annotate(t2, amal, [_entity(text2, word2, "PER")], 20.0)
    annotate(t2, bilal, [_entity(text2, word2, "JOB_TITLE")], 50.0)
    annotate(t3, amal, [_entity(text3, text3.split()[0], "GPE")], 60.0)
    annotate(t4, bilal, [], 5.0, was_cancelled=True)
    client.annotations.create(id=t2.id, result=[_entity(text2, word2, "PER")], ground_truth=True)

    # through a counting proxy: the status costs a few requests, none of them per task
    with FaultProxy(conn.url) as proxy:
        result = CliRunner().invoke(main, ["status", "--project", title, "--json", str(tmp_path / "s.json")],
                                    env={"LABEL_STUDIO_URL": proxy.url, "LABEL_STUDIO_API_KEY": conn.api_key})
        requests = list(proxy.log)
    assert result.exit_code == 0, result.output
    assert not [r for r in requests if "/api/tasks" in r[1] or "/annotations" in r[1]], requests
    assert len(requests) <= 12, requests

    status = json.loads((tmp_path / "s.json").read_text())
    (project,) = status["projects"]
    assert (project["id"], project["tasks"], project["annotated"], project["skipped"], project["in_review"],
            project["resolved"], project["not_started"], project["round"]) == (project_id, 5, 3, 1, 0, 1, 1,
                                                                               "annotating")
    people = {a["annotator"]: a for a in project["annotators"]}
    assert people[amal.email]["tasks_done"] == 3 and people[amal.email]["median_lead_time"] == 20.0
    assert people[amal.email]["with_agreement"] == 2
    assert people[amal.email]["agreement_share"] == pytest.approx(2 / 3)
    assert people[bilal.email]["tasks_done"] == 2 and people[bilal.email]["median_lead_time"] == 40.0
    assert people[bilal.email]["skipped"] == 1 and people[bilal.email]["agreement_share"] == 1.0
    assert sum(a["reviews"] for a in project["annotators"]) == 1
    # the agreement is exactly what `annotate agree` says about an export of the same project
    pulled = pull_export(conn, tmp_path / "pull", title)
    agree = CliRunner().invoke(main, ["agree", str(pulled.path), "--json", str(tmp_path / "agree.json")])
    assert agree.exit_code == 0, agree.output
    assert project["agreement"] == json.loads((tmp_path / "agree.json").read_text())
    assert project["agreement"]["tasks"] == 2
    assert project["agreement"]["overall"]["entities_exact_f1"] == pytest.approx(0.5)
    out = result.output
    assert f"{title}): annotating. 5 task(s): 3 annotated (0 to adjudicate, 0 in review, 1 resolved), 1 skipped, " \
        "1 not started" in out
    assert "2/3 (67%)" in out and "20.0 s" in out
    assert out.strip().splitlines()[-1].startswith("1 project on ")


def test_status_names_a_missing_project(studio_env):
    result = CliRunner().invoke(main, ["status", "--project-id", "987654"])
    assert result.exit_code == 1 and "no project 987654" in result.output and "Traceback" not in result.output


def test_show_instructions_is_off_at_creation_and_the_flag_changes_it(conn, schema, bundled_documents, studio_env,
                                                                      tmp_path):
    title = _title("instr")
    tasks_file = tmp_path / "tasks.json"
    tasks_file.write_text(json.dumps(build_tasks(bundled_documents[:1], schema)[0]), encoding="utf-8")
    result = CliRunner().invoke(main, ["push", str(tasks_file), "--project", title])
    assert result.exit_code == 0, result.output
    client = connect(conn)
    project = next(p for p in client.projects.list() if p.title == title)
    assert project.show_instruction is False
    assert project.expert_instruction  # the guidelines are there, behind the Instructions button
    for flag, expected in (("--show-instructions", True), ("--no-show-instructions", False)):
        result = CliRunner().invoke(main, ["push", str(tasks_file), "--project", title, flag])
        assert result.exit_code == 0 and "0 imported" in result.output, result.output
        assert client.projects.get(project.id).show_instruction is expected
    # without the flag, a repeated push leaves the setting alone
    client.projects.update(project.id, show_instruction=True)
    push_tasks(Connection(conn.url, conn.api_key, "test"), schema, json.loads(tasks_file.read_text()), title)
    assert client.projects.get(project.id).show_instruction is True
    result = CliRunner().invoke(main, ["push", "--show-instructions", "--annotations", str(tasks_file),
                                       "--annotator", "x@y.z"])
    assert result.exit_code == 2 and "go with TASKS_FILE" in result.output
