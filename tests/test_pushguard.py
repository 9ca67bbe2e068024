"""The push's guards that need no server: the per-project lock (who waits, what it says, when a lookup made before
it is stale) and the plan of which tasks of a file go, which are there already, and which conflict."""

import logging
import os
import threading
import time

import pytest

from annotate.studio import pushguard
from annotate.studio.pushguard import TaskRow, digest, plan_push, push_lock


@pytest.fixture(autouse=True)
def locks(tmp_path, monkeypatch):
    monkeypatch.setenv("ANNOTATE_LOCK_DIR", str(tmp_path / "locks"))


def test_a_second_holder_waits_says_so_and_sees_the_first_ones_work_as_stale(caplog):
    url, key = "http://127.0.0.1:1", "title:T"
    entered, release, order = threading.Event(), threading.Event(), []

    def first():
        with push_lock(url, key, "project 'T'"):
            order.append("first in")
            entered.set()
            release.wait(10)
            order.append("first out")

    thread = threading.Thread(target=first)
    thread.start()
    entered.wait(10)
    threading.Timer(0.5, release.set).start()
    with caplog.at_level(logging.WARNING, logger="annotate.studio"), push_lock(url, key, "project 'T'") as stale:
        order.append("second in")
    thread.join()
    assert order == ["first in", "first out", "second in"]
    assert stale
    assert f"waiting for another push into project 'T' (pid {os.getpid()}) ..." in caplog.text


def test_a_lookup_is_stale_only_if_another_push_held_the_lock_after_it():
    url = "http://127.0.0.1:1"
    since = time.time_ns()
    with push_lock(url, "title:A", "A", since) as stale:
        assert not stale, "a lock file made now: no one held it before"
    time.sleep(0.1)
    since = time.time_ns()
    with push_lock(url, "title:A", "A", since) as stale:
        assert not stale, "the last holder left before the lookup"
    before_other = time.time_ns()
    with push_lock(url, "title:A", "A"):
        pass
    with push_lock(url, "title:A", "A", before_other) as stale:
        assert stale, "another push held it after the lookup"
    with push_lock(url, "title:B", "B", before_other) as stale:
        assert not stale, "another project's lock is another file"


def _task(doc_id, text):
    return {"data": {"doc_id": doc_id, "text": text}}


def test_the_plan_skips_what_is_there_and_quarantines_another_text_under_a_known_doc_id():
    rows = [TaskRow(7, "a", digest("alpha"), 0), TaskRow(9, "a", digest("alpha"), 0),
            TaskRow(8, "b", digest("beta"), 1)]
    tasks = [_task("a", "alpha"), _task("b", "BETA"), _task("c", "gamma"), _task("c", "gamma"), _task("c", "GAMMA"),
             _task("d", "delta")]
    plan = plan_push(tasks, rows, 3)
    assert [t["data"]["doc_id"] for t in plan.todo] == ["c", "d"]
    assert plan.skipped == 2  # "a" in the project, the second "c" in the file
    assert [(c["task"], c["doc_id"]) for c in plan.conflicts] == [(1, "b"), (4, "c")]
    assert "already task 8 of project 3 with a different text" in plan.conflicts[0]["reason"]
    assert "also task 2 of the file, with a different text" in plan.conflicts[1]["reason"]
    assert len(plan.todo) + plan.skipped + len(plan.conflicts) == len(tasks), "every task accounted for"


def test_the_lock_folder_defaults_to_the_user_cache(monkeypatch, tmp_path):
    monkeypatch.delenv("ANNOTATE_LOCK_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert pushguard.lock_dir() == tmp_path / "cache" / "annotate" / "locks"
