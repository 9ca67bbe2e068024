"""`push --annotations FILE --annotator EMAIL --replace` against the real server: a corrected file replaces the
annotator's earlier loaded work, except on a task already under review."""

import json
import uuid

import pytest
from click.testing import CliRunner

from annotate.cli import main
from annotate.studio.client import connect

pytestmark = pytest.mark.studio


def _pass(tmp_path, name, tasks, label):
    """One record per task: its first word as an entity of `label`."""
    path = tmp_path / f"{name}.jsonl"
    lines = []
    for t in tasks[:2]:
        text = t["data"]["text"]
        word = text.split()[0]
        lines.append(json.dumps({"id": t["data"]["doc_id"], "entities": [
            {"id": "e1", "type": label, "start": text.index(word), "end": text.index(word) + len(word)}]}))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _labels(client, project_id, email):
    out = {}
    for task in client.tasks.list(project=project_id, fields="all"):
        for a in client.annotations.list(id=task.id):
            who = a.completed_by if isinstance(a.completed_by, int) else a.completed_by.get("id")
            user = next(u for u in client.users.list() if u.id == who)
            if user.email == email:
                out[task.data["doc_id"]] = [r["value"]["labels"][0] for r in a.result]
    return out


def test_replace_updates_earlier_work_but_not_a_task_under_review(studio_env, tasks, tmp_path):
    title = f"replace-{uuid.uuid4().hex[:8]}"
    path = tmp_path / "tasks.json"
    path.write_text(json.dumps(tasks), encoding="utf-8")
    assert CliRunner().invoke(main, ["push", str(path), "--project", title]).exit_code == 0
    email = f"pass-{uuid.uuid4().hex[:6]}@annotate.test"
    load = ["push", "--project", title, "--annotator", email, "--annotations"]
    first = CliRunner().invoke(main, load + [str(_pass(tmp_path, "v1", tasks, "ORG"))])
    assert first.exit_code == 0, first.output
    client = connect(studio_env)
    project = next(p for p in client.projects.list() if p.title == title)
    d1, d2 = (t["data"]["doc_id"] for t in tasks[:2])
    assert _labels(client, project.id, email) == {d1: ["ORG"], d2: ["ORG"]}

    # without --replace a corrected file changes nothing (loading is idempotent)
    same = CliRunner().invoke(main, load + [str(_pass(tmp_path, "v2", tasks, "GPE"))])
    assert same.exit_code == 0 and "0 annotation(s) created" in same.output and "2 already there" in same.output
    assert _labels(client, project.id, email) == {d1: ["ORG"], d2: ["ORG"]}

    # a reviewer's ground truth on the second task puts it under review
    task2 = next(t for t in client.tasks.list(project=project.id, fields="all") if t.data["doc_id"] == d2)
    client.annotations.create(id=task2.id, result=[], ground_truth=True)
    res = CliRunner().invoke(main, load + [str(_pass(tmp_path, "v2", tasks, "GPE")), "--replace"])
    assert res.exit_code == 0, res.output
    assert "1 replaced, 1 kept (under review)" in res.output
    assert _labels(client, project.id, email) == {d1: ["GPE"], d2: ["ORG"]}
    # and each task still holds one annotation of theirs
    total = sum(len(list(client.annotations.list(id=t.id))) for t in client.tasks.list(project=project.id))
    assert total == 3
