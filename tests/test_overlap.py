"""`push --overlap N` sets how many annotators each task needs on the real server, and `status` counts progress
against it."""

import json
import uuid

import pytest
from click.testing import CliRunner

from annotate.cli import main
from annotate.studio.client import connect, rest

pytestmark = pytest.mark.studio


def _entity(text, surface, label):
    start = text.index(surface)
    return [{"id": "r1", "from_name": "entity", "to_name": "text", "type": "labels",
             "value": {"start": start, "end": start + len(surface), "text": surface, "labels": [label]}}]


def test_overlap_is_set_honoured_by_the_server_and_counted_by_status(studio_env, tasks, annotators, tmp_path):
    title = f"overlap-{uuid.uuid4().hex[:8]}"
    path = tmp_path / "tasks.json"
    path.write_text(json.dumps(tasks), encoding="utf-8")
    res = CliRunner().invoke(main, ["push", str(path), "--project", title, "--overlap", "2"])
    assert res.exit_code == 0, res.output
    assert "each task needs 2 annotator(s)" in res.output
    client = connect(studio_env)
    project = next(p for p in client.projects.list() if p.title == title)
    assert project.maximum_annotations == 2
    t1, t2, *_ = sorted(client.tasks.list(project=project.id, fields="all"), key=lambda t: t.id)
    amal, bilal = annotators
    text = t1.data["text"]
    word = text.split()[0]
    client.annotations.create(id=t1.id, result=_entity(text, word, "ORG"), completed_by=amal.id)
    client.annotations.create(id=t2.id, result=_entity(t2.data["text"], t2.data["text"].split()[0], "ORG"),
                              completed_by=amal.id)
    with rest(studio_env) as http:
        # one annotation is not enough for the server any more: the task stays in the label stream
        assert http.get(f"/api/tasks/{t2.id}")["is_labeled"] is False
        client.annotations.create(id=t1.id, result=_entity(text, word, "ORG"), completed_by=bilal.id)
        assert http.get(f"/api/tasks/{t1.id}")["is_labeled"] is True
        assert http.get(f"/api/tasks/{t1.id}")["overlap"] == 2

    status = CliRunner().invoke(main, ["status", "--project", title, "--json", str(tmp_path / "s.json")])
    assert status.exit_code == 0, status.output
    (row,) = json.loads((tmp_path / "s.json").read_text())["projects"]
    assert (row["overlap"], row["at_overlap"], row["tasks"]) == (2, 1, len(tasks))
    assert f"overlap 2: 1/{len(tasks)} task(s) done by 2 annotator(s)" in status.output

    # a share of the tasks only (Label Studio's overlap cohort): status says so
    part = CliRunner().invoke(main, ["push", "--project", title, "--overlap", "2", "--overlap-percent", "40"])
    assert part.exit_code == 0 and "(40% of the tasks" in part.output, part.output
    with rest(studio_env) as http:
        overlaps = [http.get(f"/api/tasks/{t.id}")["overlap"] for t in client.tasks.list(project=project.id)]
    assert sorted(overlaps) == [1] * (len(tasks) - 2) + [2, 2]  # 40% of 5 tasks
    status = CliRunner().invoke(main, ["status", "--project", title])
    assert "(40% of the tasks need 2, the others one)" in status.output

    # on the existing project, without a tasks file: back to one annotator per task
    again = CliRunner().invoke(main, ["push", "--project", title, "--overlap", "1"])
    assert again.exit_code == 0, again.output
    assert connect(studio_env).projects.get(id=project.id).maximum_annotations == 1
    with rest(studio_env) as http:
        assert http.get(f"/api/tasks/{t2.id}")["is_labeled"] is True
