"""The chunked push against a real Label Studio: more tasks than one chunk, chunks split by the byte cap, each task
once, nothing added by a repeated push. Requests are counted by a proxy in front of the server that injects no
fault (tests/faultproxy.py with no rules)."""

import json
import uuid

import pytest
from click.testing import CliRunner

from annotate.articles.ingest import make_document
from annotate.cli import main
from annotate.studio.client import encode_task, push_tasks, rest
from annotate.studio.connection import Connection
from annotate.studio.tasks import build_tasks
from tests.faultproxy import FaultProxy, Rule

pytestmark = pytest.mark.studio


def _title():
    return f"push-{uuid.uuid4().hex[:8]}"


def _imports(proxy):
    return [entry for entry in proxy.log if entry[0] == "POST" and entry[1].endswith("/import")]


def _doc_ids(conn, project_id):
    with rest(conn) as client:
        return sorted(client.doc_ids(project_id, page_size=7))  # several pages


def test_more_tasks_than_a_chunk_are_each_imported_once_and_a_repush_adds_nothing(conn, schema):
    docs = [make_document(f"خبر رقم {n} عن الموصل", f"chunk-{n}", None) for n in range(23)]
    tasks = build_tasks(docs, schema)[0]
    title = _title()
    done = []
    with FaultProxy(conn.url, []) as proxy:
        via = Connection(proxy.url, conn.api_key, "test")
        first = push_tasks(via, schema, tasks, title, chunk_size=5, progress=done.append)
        assert (first.imported, first.skipped_existing) == (23, 0)
        assert done == [5, 5, 5, 5, 3] and len(_imports(proxy)) == 5
        again = push_tasks(via, schema, tasks, title, chunk_size=5)
        assert (again.imported, again.skipped_existing, again.project_id) == (0, 23, first.project_id)
        assert len(_imports(proxy)) == 5, "a repeated push sends no import"
    assert _doc_ids(conn, first.project_id) == sorted(d.id for d in docs)


def test_a_chunk_over_the_byte_cap_is_split(conn, schema):
    docs = [make_document(f"{'نص طويل ' * 200}{n}", f"long-{n}", None) for n in range(7)]
    tasks = build_tasks(docs, schema)[0]
    size = max(len(encode_task(t)) for t in tasks)
    cap = 2 * size + 3  # "[" + two tasks + "," + "]": two tasks fit, three do not
    with FaultProxy(conn.url, []) as proxy:
        report = push_tasks(Connection(proxy.url, conn.api_key, "test"), schema, tasks, _title(), chunk_size=100,
                            chunk_bytes=cap)
        assert report.imported == 7
        assert len(_imports(proxy)) == 4, proxy.log  # 2 + 2 + 2 + 1 instead of one chunk of 7
    assert _doc_ids(conn, report.project_id) == sorted(d.id for d in docs)
    # a task bigger than the cap still goes, alone
    with FaultProxy(conn.url, []) as proxy:
        report = push_tasks(Connection(proxy.url, conn.api_key, "test"), schema, tasks, _title(), chunk_size=100,
                            chunk_bytes=size // 2)
        assert report.imported == 7 and len(_imports(proxy)) == 7
    assert _doc_ids(conn, report.project_id) == sorted(d.id for d in docs)


def test_cli_push_sends_the_file_in_chunks_and_a_rerun_skips_everything(studio_env, tasks, tmp_path):
    path = tmp_path / "tasks.json"
    path.write_text(json.dumps(tasks, ensure_ascii=False, indent=2), encoding="utf-8")
    title = _title()
    res = CliRunner().invoke(main, ["push", str(path), "--project", title, "--chunk-size", "2"])
    assert res.exit_code == 0, res.output
    assert "5 imported (0 with predictions), 0 already present" in res.output
    assert studio_env.api_key not in res.output
    again = CliRunner().invoke(main, ["push", str(path), "--project", title, "--chunk-size", "2"])
    assert again.exit_code == 0, again.output
    assert "0 imported (0 with predictions), 5 already present" in again.output
    project_id = int(again.output.split("Project ", 1)[1].split(" ", 1)[0])
    assert _doc_ids(studio_env, project_id) == sorted(t["data"]["doc_id"] for t in tasks)


def test_a_personal_access_token_works_too(conn, schema, tasks):
    """A JWT personal access token (not the legacy token) is exchanged for an access token, as the SDK does."""
    with rest(conn) as client:
        client.post("/api/jwt/settings", {"api_tokens_enabled": True, "legacy_api_tokens_enabled": True})
        pat = client.post("/api/token/", {})["token"]  # the session's one token for the admin
    report = push_tasks(Connection(conn.url, pat, "test"), schema, tasks, _title(), chunk_size=2)
    assert report.imported == 5
    assert _doc_ids(conn, report.project_id) == sorted(t["data"]["doc_id"] for t in tasks)


def test_a_whole_file_sent_as_it_is_whose_answer_is_lost_is_imported_once(studio_env, tasks, tmp_path, monkeypatch):
    """The file fits one request, so its own bytes go; the answer is lost, the server is asked, nothing is resent."""
    path = tmp_path / "tasks.json"
    path.write_text(json.dumps(tasks, ensure_ascii=False, indent=2), encoding="utf-8")
    title = _title()
    rules = [Rule("POST", r"/api/projects/\d+/import", "lose-answer", times=1)]
    with FaultProxy(studio_env.url, rules) as proxy:
        monkeypatch.setenv("LABEL_STUDIO_URL", proxy.url)
        res = CliRunner().invoke(main, ["push", str(path), "--project", title])
    assert res.exit_code == 0, res.output
    assert rules[0].fired == 1 and len(_imports(proxy)) == 1, proxy.log
    assert "checking whether the server did it" in res.output
    project_id = int(res.output.split("Project ", 1)[1].split(" ", 1)[0])
    assert _doc_ids(studio_env, project_id) == sorted(t["data"]["doc_id"] for t in tasks)
