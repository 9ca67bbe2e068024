"""Pushes that cannot duplicate, on the real server: two `annotate push` processes at once (sharing this machine's
lock, or each with a lock of its own as on two machines), an import the server commits seconds after the
connection dropped, copies found at the end of a push, and a doc_id that comes with another text."""

import json
import os
import subprocess
import sys
import time
import uuid
from collections import Counter

import pytest
from click.testing import CliRunner

from annotate.articles.ingest import make_document
from annotate.cli import main
from annotate.studio import pushguard
from annotate.studio.client import call, push_tasks, rest
from annotate.studio.connection import Connection
from annotate.studio.tasks import build_tasks
from tests.faultproxy import FaultProxy, Rule

pytestmark = pytest.mark.studio


def _title():
    return f"conc-{uuid.uuid4().hex[:8]}"


def _docs(prefix: str, n: int):
    return [make_document(f"خبر رقم {k} عن كركوك والبصرة", f"{prefix}-{k}", None) for k in range(n)]


def _doc_id_counts(conn, project_id) -> Counter:
    with rest(conn) as client:
        return Counter(str(t["data"]["doc_id"]) for t in client.tasks(project_id, page_size=500))


def _projects_titled(conn, title):
    with rest(conn) as client:
        return [p for p in client.projects(title) if p.title == title]


def _start_push(path, title, env, tmp_path, name):
    err = open(tmp_path / f"{name}.err", "w")  # noqa: SIM115 (closed by the caller through the handle)
    proc = subprocess.Popen([sys.executable, "-m", "annotate.cli", "push", str(path), "--project", title,
                             "--chunk-size", "200"], env=env, stdout=subprocess.PIPE, stderr=err, text=True)
    return proc, err


def _finish(proc, err, tmp_path, name) -> tuple[str, str]:
    out, _ = proc.communicate(timeout=600)
    err.close()
    text = (tmp_path / f"{name}.err").read_text()
    assert proc.returncode == 0, (out, text)
    return out, text


def _imported(out: str) -> int:
    return int(out.split(" imported")[0].rsplit(" ", 1)[1])


def _env(conn, lock_dir):
    env = dict(os.environ, LABEL_STUDIO_URL=conn.url, LABEL_STUDIO_API_KEY=conn.api_key,
               ANNOTATE_LOCK_DIR=str(lock_dir))
    env.pop("ANNOTATE_STUDIO_CONFIG", None)
    return env


@pytest.mark.parametrize("existing", [True, False], ids=["existing-project", "new-title"])
def test_two_pushes_at_once_from_one_machine_wait_for_each_other(conn, schema, tmp_path, monkeypatch, existing):
    docs = _docs(f"same-{existing}", 1000)
    path = tmp_path / "tasks.json"
    path.write_text(json.dumps(build_tasks(docs, schema)[0], ensure_ascii=False), encoding="utf-8")
    title = _title()
    if existing:
        push_tasks(conn, schema, build_tasks(docs[:1], schema)[0], title)
    monkeypatch.setenv("ANNOTATE_LOCK_DIR", str(tmp_path / "locks"))
    env = _env(conn, tmp_path / "locks")
    # The test holds the project's lock while both start, so that both are certainly waiting, then lets go: the
    # two race for it at the same instant.
    with pushguard.push_lock(conn.url, f"title:{title}", "test"):
        runs = [_start_push(path, title, env, tmp_path, name) for name in ("a", "b")]
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not all(
                "waiting for another push into" in (tmp_path / f"{name}.err").read_text() for name in ("a", "b")):
            time.sleep(0.2)
    (out_a, err_a), (out_b, err_b) = [_finish(p, e, tmp_path, n) for (p, e), n in zip(runs, ("a", "b"))]
    assert f"waiting for another push into project {title!r} on {conn.url} (pid {os.getpid()})" in err_a, err_a
    assert "waiting for another push into" in err_b
    projects = _projects_titled(conn, title)
    assert len(projects) == 1
    counts = _doc_id_counts(conn, projects[0].id)
    assert set(counts) == {d.id for d in docs} and set(counts.values()) == {1}, "each document exactly once"
    assert _imported(out_a) + _imported(out_b) == len(docs) - (1 if existing else 0)
    assert "(0 extra copy(ies) removed)" in out_a and "(0 extra copy(ies) removed)" in out_b


def test_two_pushes_at_once_from_two_machines_leave_each_document_once(conn, schema, tmp_path):
    """No shared lock (two lock folders, as on two machines): a project made twice under one title is merged
    into the older one, and the final check removes the copies both imported."""
    docs = _docs("machines", 1000)
    path = tmp_path / "tasks.json"
    path.write_text(json.dumps(build_tasks(docs, schema)[0], ensure_ascii=False), encoding="utf-8")
    title = _title()
    runs = [_start_push(path, title, _env(conn, tmp_path / f"locks-{n}"), tmp_path, n) for n in ("a", "b")]
    outs = [_finish(p, e, tmp_path, n) for (p, e), n in zip(runs, ("a", "b"))]
    projects = _projects_titled(conn, title)
    assert len(projects) == 1, outs
    counts = _doc_id_counts(conn, projects[0].id)
    assert set(counts) == {d.id for d in docs} and set(counts.values()) == {1}, "each document exactly once"


def test_an_import_committed_seconds_after_the_connection_dropped_is_not_sent_again(conn, schema):
    docs = _docs("late", 40)
    rules = [Rule("POST", r"/api/projects/\d+/import", "lose-answer-late", times=1, delay=3.0)]
    with FaultProxy(conn.url, rules) as proxy:
        report = push_tasks(Connection(proxy.url, conn.api_key, "test"), schema, build_tasks(docs, schema)[0],
                            _title(), chunk_size=10)
        proxy.wait_late()
    assert rules[0].fired == 1, proxy.log
    assert any("lose-answer-late (server said 201" in entry[2] for entry in proxy.log), proxy.log
    counts = _doc_id_counts(conn, report.project_id)
    assert set(counts) == {d.id for d in docs} and set(counts.values()) == {1}, "each document exactly once"
    assert report.imported == 40 and report.duplicates_removed == 0


def test_copies_without_annotations_are_removed_at_the_end_of_a_push(conn, schema, annotators):
    """Copies that got in some other way (an older version, a push from elsewhere): the next push removes those
    nobody annotated, keeps an annotated copy, and says how many it removed."""
    docs = _docs("copies", 4)
    tasks = build_tasks(docs, schema)[0]
    title = _title()
    first = push_tasks(conn, schema, tasks, title)
    with rest(conn) as client:
        for _ in range(2):  # two more copies of the first two documents, straight through the import endpoint
            client.import_tasks(first.project_id, json.dumps(tasks[:2], ensure_ascii=False).encode())
        rows = sorted(pushguard.task_rows(client, conn, first.project_id, call, annotations=True),
                      key=lambda r: r.id)
    annotated = [r for r in rows if r.doc_id == docs[1].id][-1]  # the newest copy of the second document
    from annotate.studio.client import connect

    connect(conn).annotations.create(id=annotated.id, result=[], completed_by=annotators[0].id)
    assert sum(_doc_id_counts(conn, first.project_id).values()) == 8
    again = push_tasks(conn, schema, tasks, title)
    assert (again.imported, again.skipped_existing, again.duplicates_removed) == (0, 4, 4)
    counts = _doc_id_counts(conn, first.project_id)
    assert set(counts) == {d.id for d in docs} and set(counts.values()) == {1}
    with rest(conn) as client:
        kept = {r.doc_id: r.id for r in pushguard.task_rows(client, conn, first.project_id, call)}
    assert kept[docs[1].id] == annotated.id, "the annotated copy stays"
    assert kept[docs[0].id] == min(r.id for r in rows if r.doc_id == docs[0].id), "else the oldest"


def test_a_project_made_twice_under_one_title_is_merged_into_the_older(conn, schema):
    """What a push finds after a creation race: the newer project (its own, just made) is deleted."""
    title = _title()
    with rest(conn) as client:
        older = client.create_project(title=title, label_config="<View><Text name='text' value='$text'/></View>")
        newer = client.create_project(title=title, label_config="<View><Text name='text' value='$text'/></View>")
        assert pushguard.one_project(client, conn, title, newer, call).id == older.id
        assert pushguard.one_project(client, conn, title, older, call).id == older.id
    assert [p.id for p in _projects_titled(conn, title)] == [older.id]


def test_a_doc_id_with_another_text_is_quarantined_not_dropped(studio_env, schema, tmp_path):
    docs = _docs("clash", 3)
    tasks = build_tasks(docs, schema)[0]
    title = _title()
    push_tasks(studio_env, schema, tasks[:2], title)
    changed = json.loads(json.dumps(tasks))
    changed[1]["data"]["text"] += " (نص آخر)"
    twice = json.loads(json.dumps(tasks[2]))
    twice["data"]["text"] += " (مرة أخرى)"
    path = tmp_path / "tasks.json"
    path.write_text(json.dumps(changed + [twice], ensure_ascii=False), encoding="utf-8")
    res = CliRunner().invoke(main, ["push", str(path), "--project", title])
    assert res.exit_code == 0, res.output
    assert "4 task(s) in" in res.output and "1 imported (0 with predictions), 1 already present, 2 quarantined" \
        in res.output, res.output
    quarantine = [json.loads(line) for line in (tmp_path / "tasks.quarantine.jsonl").read_text().splitlines()]
    assert [(q["task"], q["doc_id"]) for q in quarantine] == [(1, docs[1].id), (3, docs[2].id)]
    assert "already task" in quarantine[0]["reason"] and "different text" in quarantine[0]["reason"]
    assert "also task 2 of the file" in quarantine[1]["reason"]
    assert f"{path}: task 1: doc_id {docs[1].id} is already task" in res.output
