"""Push and pull against a real Label Studio with real faults: a proxy that loses answers, a dead port, a server
killed with SIGKILL in the middle of a push."""

import json
import os
import signal
import threading
import time
import uuid

import pytest
from click.testing import CliRunner

from annotate.articles.ingest import make_document
from annotate.cli import main
from annotate.studio.client import StudioError, connect, push_tasks
from annotate.studio.connection import Connection
from annotate.studio.tasks import build_tasks
from tests.faultproxy import FaultProxy, Rule

pytestmark = pytest.mark.studio


def _title():
    return f"fault-{uuid.uuid4().hex[:8]}"


def _doc_ids_on_server(conn, project_id):
    return sorted(t.data["doc_id"] for t in connect(conn).tasks.list(project=project_id, fields="task_only"))


def _projects_titled(conn, title):
    return [p for p in connect(conn).projects.list() if p.title == title]


def test_lost_answers_to_imports_leave_every_task_exactly_once(conn, schema, tasks):
    rules = [Rule("POST", r"/api/projects/\d+/import", "lose-answer", times=1),
             Rule("POST", r"/api/projects/\d+/import", "504-after", times=1)]
    with FaultProxy(conn.url, rules) as proxy:
        report = push_tasks(Connection(proxy.url, conn.api_key, "test"), schema, tasks, _title(), chunk_size=2)
    assert [r.fired for r in rules] == [1, 1], proxy.log
    assert report.imported == 5 and report.skipped_existing == 0
    assert _doc_ids_on_server(conn, report.project_id) == sorted(t["data"]["doc_id"] for t in tasks)


def test_a_lost_answer_to_project_creation_makes_one_project(conn, schema, tasks):
    title = _title()
    rules = [Rule("POST", r"/api/projects/?", "504-after", times=1)]
    with FaultProxy(conn.url, rules) as proxy:
        report = push_tasks(Connection(proxy.url, conn.api_key, "test"), schema, tasks[:1], title)
    assert rules[0].fired == 1, proxy.log
    assert report.project_created and [p.id for p in _projects_titled(conn, title)] == [report.project_id]
    again = push_tasks(conn, schema, tasks, title)  # later pushes find the one project
    assert (again.imported, again.skipped_existing) == (4, 1)


def test_lost_answers_to_annotation_loading_add_each_annotation_once(studio_env, conn, schema, bundled_documents,
                                                                     tmp_path, monkeypatch):
    title = _title()
    docs = bundled_documents[:2]
    project = push_tasks(conn, schema, build_tasks(docs, schema)[0], title).project_id
    path = tmp_path / "pass.jsonl"
    records = []
    for d in docs:
        start = d.text.index("داعش")
        records.append({"id": d.id, "entities": [{"id": "e1", "start": start, "end": start + 4, "type": "ORG"}]})
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    rules = [Rule("POST", r"/api/tasks/\d+/annotations/?", "lose-answer", times=1),
             Rule("POST", r"/api/tasks/\d+/annotations/?", "504-after", times=1)]
    with FaultProxy(conn.url, rules) as proxy:
        monkeypatch.setenv("LABEL_STUDIO_URL", proxy.url)
        res = CliRunner().invoke(main, ["push", "--project-id", str(project), "--annotations", str(path),
                                        "--annotator", "faults@annotate.test"])
    assert res.exit_code == 0, res.output
    assert [r.fired for r in rules] == [1, 1], proxy.log
    assert "checking whether the server did it" in res.output
    client = connect(conn)
    for task in client.tasks.list(project=project):
        assert len(list(client.annotations.list(id=task.id))) == 1


def test_nothing_answering_is_reported_while_push_waits(studio_env, monkeypatch, tmp_path, tasks):
    import socket

    with socket.socket() as s:  # a port on which nothing listens
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("LABEL_STUDIO_URL", f"http://127.0.0.1:{port}")
    path = tmp_path / "tasks.json"
    path.write_text(json.dumps(tasks, ensure_ascii=False), encoding="utf-8")
    res = CliRunner().invoke(main, ["push", str(path)])
    assert res.exit_code == 1 and "Traceback" not in res.output
    assert res.output.count("is not reachable (connection refused); trying again in") == 3, res.output
    assert "Start a local server with `annotate studio up`" in res.output


def test_sigkill_of_the_server_during_a_push_then_a_repush_leaves_each_task_once(studio, conn, schema):
    """Run last in this module: it kills the session's server and starts it again."""
    docs = [make_document(f"خبر رقم {n} عن بغداد وأربيل", f"kill-{n}", None) for n in range(600)]
    tasks = build_tasks(docs, schema)[0]
    title = _title()
    pid = studio.status().pid
    assert pid
    killer = threading.Timer(1.5, lambda: os.killpg(pid, signal.SIGKILL))
    killer.start()
    with pytest.raises(StudioError):
        push_tasks(conn, schema, tasks, title, chunk_size=25)
    killer.join()
    deadline = time.monotonic() + 30
    while studio.status().pid and time.monotonic() < deadline:
        time.sleep(0.2)
    studio.up(timeout=300)
    report = push_tasks(conn, schema, tasks, title, chunk_size=100)
    ids = _doc_ids_on_server(conn, report.project_id)
    assert ids == sorted(d.id for d in docs), "every task exactly once"
    assert report.skipped_existing > 0 and report.imported + report.skipped_existing == len(docs)
