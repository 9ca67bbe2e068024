"""The main job (`annotate main`, what `bash .ci/main` runs) against the session's real Label Studio."""

import json
import uuid

import pytest

from annotate.studio.client import connect

from .exports import results_for_text

pytestmark = pytest.mark.studio


def _title():
    return f"main-{uuid.uuid4().hex[:8]}"


def test_main_job_end_to_end_and_repeatable(studio, conn, schema, annotators, tmp_path):
    """`annotate main` against the session's server: push with baseline pre-annotations, pull (stored only once
    something is annotated), rebuild the gold set, score the baseline; a second run pushes nothing twice."""
    from annotate.pipeline import main_job

    title = _title()
    said: list[str] = []
    gold, reports = tmp_path / "gold", tmp_path / "reports"
    first = main_job(schema, "gold/articles", studio.home, studio.port, gold, tmp_path / "ann", title, said.append,
                     reports)
    assert first is None and not gold.exists() and not (tmp_path / "ann").exists()
    text = "\n".join(said)
    assert "5 task(s) imported, 0 already there, 0 prediction(s) rejected" in text
    assert "nothing written (no annotation in the project yet)" in text and "No gold set yet" in text
    assert f"{studio.url}/projects/" in text and conn.api_key not in text
    assert "annotate users add EMAIL" in text and "admin login" not in text  # people log in as themselves
    client = connect(conn)
    project = next(p for p in client.projects.list() if p.title == title)
    server_tasks = list(client.tasks.list(project=project.id, fields="all"))
    assert all(t.total_predictions == 1 for t in server_tasks)  # baseline pre-annotations arrived
    task = server_tasks[0]
    client.annotations.create(id=task.id, completed_by=annotators[1].id,
                              result=results_for_text(task.data["text"], [("البيشمركة", "entity", "ORG")]))
    said.clear()
    second = main_job(schema, "gold/articles", studio.home, studio.port, gold, tmp_path / "ann", title, said.append,
                      reports)
    text = "\n".join(said)
    assert "0 task(s) imported, 5 already there" in text
    assert second.info is not None and second.result.counts == {"inputs": 5, "imported": 1, "quarantined": 0,
                                                                "skipped": 4}
    from annotate.gold.reader import gold_documents

    docs, _ = gold_documents(gold)
    assert [d.id for d in docs] == [task.data["doc_id"]]
    assert [e.type for e in docs[0].entities] == ["ORG"]
    # with a gold set in place the baseline is scored against it and the headline table printed
    assert "Baseline extractor against the gold set" in text and "entities (strict IOB2)" in text
    report = json.loads((reports / "report.json").read_text(encoding="utf-8"))
    assert report["gold"]["fingerprint"] == second.info.fingerprint
    assert (reports / "summary.md").exists() and (reports / "report.html").exists()
