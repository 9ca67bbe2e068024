"""Round trips against a real Label Studio server (started once per session by the `studio` fixture)."""

import json
import uuid

import pytest
from click.testing import CliRunner

from annotate.cli import main
from annotate.core.schema import parse_schema
from annotate.studio.client import StudioError, connect, existing_doc_ids, pull_export, push_tasks, rest
from annotate.studio.connection import Connection
from annotate.studio.tasks import build_tasks

from .exports import results_for_text

pytestmark = pytest.mark.studio


def _title():
    return f"test-{uuid.uuid4().hex[:8]}"


def test_push_annotate_pull_round_trip(conn, schema, tasks, annotators, tmp_path):
    title = _title()
    report = push_tasks(conn, schema, tasks, title)
    assert (report.imported, report.skipped_existing, report.project_created) == (5, 0, True)
    client = connect(conn)
    server_tasks = list(client.tasks.list(project=report.project_id, fields="all"))
    assert len(server_tasks) == 5
    task = next(t for t in server_tasks if "الكاظمي" in t.data["text"] and "اجتماع" in t.data["text"])
    text = task.data["text"]
    assert text == next(t["data"]["text"] for t in tasks if t["data"]["doc_id"] == task.data["doc_id"])
    expected = {}
    for user, label in zip(annotators, ["PER", "JOB_TITLE"]):
        result = results_for_text(text, [("الكاظمي", "entity", label), ("اجتماع", "trigger", "Contact.Meet")])
        trigger = result[1]
        result.append({"id": "r1", "from_name": "realis", "to_name": "text", "type": "choices",
                       "value": {**{k: trigger["value"][k] for k in ("start", "end", "text")}, "choices": ["actual"]}})
        result.append({"type": "relation", "from_id": "r1", "to_id": "r0", "direction": "right", "labels": ["Entity"]})
        client.annotations.create(id=task.id, result=result, completed_by=user.id)
        expected[user.email] = result
    pulled = pull_export(conn, tmp_path, title)
    assert pulled.new_file and pulled.tasks == 5 and pulled.annotations == 2
    assert pulled.path.name.startswith(f"export-project{report.project_id}-")
    export = json.loads(pulled.path.read_text(encoding="utf-8"))
    got = {a["completed_by"]["email"]: a["result"] for t in export for a in t["annotations"]}
    assert got == expected
    # pulling again without changes keeps the earlier file and writes nothing new
    again = pull_export(conn, tmp_path, title)
    assert not again.new_file and again.path == pulled.path
    assert len(list(tmp_path.iterdir())) == 1


def test_repush_is_idempotent(conn, schema, tasks):
    title = _title()
    first = push_tasks(conn, schema, tasks, title)
    second = push_tasks(conn, schema, tasks, title)
    assert (second.imported, second.skipped_existing, second.project_created) == (0, 5, False)
    ids = existing_doc_ids(rest(conn), conn, first.project_id)
    assert ids == {t["data"]["doc_id"] for t in tasks}
    assert len(list(connect(conn).tasks.list(project=first.project_id))) == 5


def test_push_killed_halfway_resumes_without_duplicates(conn, schema, tasks):
    title = _title()

    class Crash(Exception):
        pass

    def crash_after_first_chunk(n):
        if n == 0:
            raise Crash()

    with pytest.raises(Crash):
        push_tasks(conn, schema, tasks, title, chunk_size=2, after_chunk=crash_after_first_chunk)
    resumed = push_tasks(conn, schema, tasks, title, chunk_size=2)
    assert (resumed.imported, resumed.skipped_existing) == (3, 2)
    server = list(connect(conn).tasks.list(project=resumed.project_id, fields="all"))
    doc_ids = sorted(t.data["doc_id"] for t in server)
    assert doc_ids == sorted(t["data"]["doc_id"] for t in tasks)


def test_config_mismatch_is_an_error_unless_update_config(conn, schema, tasks):
    title = _title()
    other = parse_schema("name: other\nentity_types: {PER: {}}\nevent_types: {E: {roles: {R: [PER]}}}\n")
    push_tasks(conn, other, tasks[:1], title)
    with pytest.raises(StudioError, match="differs from schema ace-arabic-news.*--update-config"):
        push_tasks(conn, schema, tasks, title)
    report = push_tasks(conn, schema, tasks, title, update_config=True)
    assert report.config_updated and report.imported == 4 and report.skipped_existing == 1


def test_bad_key_gives_clear_error_without_the_key(conn, schema, tasks):
    bad = Connection(conn.url, "0" * 40, "test")
    with pytest.raises(StudioError) as err:
        push_tasks(bad, schema, tasks, _title())
    assert "rejected the API key (HTTP 401)" in str(err.value)
    assert "0" * 40 not in str(err.value)



def test_missing_project_is_a_clear_error(conn, tmp_path):
    with pytest.raises(StudioError, match="no project titled 'nope-"):
        pull_export(conn, tmp_path, "nope-" + uuid.uuid4().hex)
    with pytest.raises(StudioError, match="no project with id 999999"):
        pull_export(conn, tmp_path, project_id=999999)


def test_studio_up_twice_is_harmless(studio):
    before = studio.status()
    after = studio.up()
    assert after.running and after.pid == before.pid


def test_api_key_never_appears_in_command_output(studio_env, studio, tmp_path):
    key = studio_env.api_key
    runner = CliRunner()
    title = _title()
    outputs = []
    tasks_file = tmp_path / "tasks.json"
    for args in (["tasks", "gold/articles", "-o", str(tasks_file)],
                 ["push", str(tasks_file), "--project", title],
                 ["push", str(tasks_file), "--project", title],
                 ["pull", "--project", title, "-o", str(tmp_path / "ann")],
                 ["pull", "--project", "missing-" + title, "-o", str(tmp_path / "ann")],
                 ["studio", "status", "--home", str(studio.home), "--port", str(studio.port)],
                 ["studio", "up", "--home", str(studio.home), "--port", str(studio.port)]):
        res = runner.invoke(main, args)
        outputs.append(res.output + (res.stderr if res.stderr_bytes is not None else ""))
        assert key not in outputs[-1]
    assert "2 already present" not in outputs[2] and "5 already present" in outputs[2]
    assert "no project titled" in outputs[4]
    # nothing written to the export folder or the server log carries it either
    for path in list((tmp_path / "ann").iterdir()) + [studio.log_file]:
        assert key not in path.read_text(encoding="utf-8", errors="replace")


def test_agree_adjudicate_review_and_import_with_two_annotators(studio_env, schema, tasks, annotators, tmp_path):
    conn = studio_env
    title = _title()
    report = push_tasks(conn, schema, tasks, title)
    client = connect(conn)
    server_tasks = {t.data["doc_id"]: t for t in client.tasks.list(project=report.project_id, fields="all")}
    agreed_task, disputed_task = [server_tasks[t["data"]["doc_id"]] for t in tasks[:2]]
    amal, bilal = annotators
    for user in (amal, bilal):
        text = agreed_task.data["text"]
        res = results_for_text(text, [("العراق", "entity", "GPE"), ("داعش", "entity", "ORG")])
        client.annotations.create(id=agreed_task.id, result=res, completed_by=user.id)
    text = disputed_task.data["text"]
    client.annotations.create(id=disputed_task.id, completed_by=amal.id, result=results_for_text(
        text, [("البيشمركة", "entity", "ORG"), ("الكاظمي", "entity", "PER")]))
    client.annotations.create(id=disputed_task.id, completed_by=bilal.id, result=results_for_text(
        text, [("البيشمركة", "entity", "GPE"), ("الكاظمي", "entity", "PER")]))
    export = pull_export(conn, tmp_path / "ann", title).path
    runner = CliRunner()

    res = runner.invoke(main, ["agree", str(export), "--json", str(tmp_path / "agree.json")])
    assert res.exit_code == 0, res.output
    agree = json.loads((tmp_path / "agree.json").read_text())
    assert agree["tasks"] == 2 and len(agree["pairs"]) == 1
    assert agree["pairs"][0]["entities"]["exact"]["micro"]["f1"] == pytest.approx(3 / 4)
    assert "amal@annotate.test ~ bilal@annotate.test" in res.output

    # before adjudication the disputed task is skipped, never guessed
    res = runner.invoke(main, ["import", str(export), "-o", str(tmp_path / "gold")])
    assert "1 imported, 0 quarantined, 4 skipped" in res.output, res.output

    res = runner.invoke(main, ["adjudicate", str(export), "--push", "-o", str(tmp_path / "dis.json")])
    assert res.exit_code == 0, res.output
    assert "2 task(s) with two or more annotators: 1 fully agreed, 1 with 1 disagreement(s); 2 review" in res.output
    (disagreement,) = json.loads((tmp_path / "dis.json").read_text())  # one question: ORG or GPE
    assert disagreement["kind"] == "type" and "البيشمركة" in disagreement["disagreement"]
    assert sorted(v.split()[0] for k, v in disagreement["options"].items() if k != "neither") == ["GPE", "ORG"]

    # the reviewer keeps ORG, drops the conflicting GPE region, and stars the review as ground truth
    review = next(a for a in client.annotations.list(id=disputed_task.id) if a.completed_by not in (amal.id, bilal.id))
    assert not review.ground_truth
    kept = [r for r in review.result if not (r.get("value", {}).get("labels") == ["GPE"])]
    for r in kept:
        r.pop("meta", None)
    client.annotations.update(id=review.id, result=kept, ground_truth=True)

    export2 = pull_export(conn, tmp_path / "ann", title).path
    assert export2 != export
    res = runner.invoke(main, ["import", str(export2), "-o", str(tmp_path / "gold")])
    assert "2 imported, 0 quarantined, 3 skipped" in res.output, res.output
    from annotate.gold.reader import gold_documents

    gold, info = gold_documents(tmp_path / "gold")
    disputed = next(d for d in gold if d.id == disputed_task.data["doc_id"])
    assert sorted(e.type for e in disputed.entities) == ["ORG", "PER"]
    assert disputed.metadata["gold_rule"] == "ground truth"
    assert disputed.provenance.annotators == (amal.email, bilal.email) and len(disputed.provenance.reviewers) == 1
    assert info.agreement["tasks"] == 2


def test_credentials_are_private_and_down_only_stops_its_own_server(studio, tmp_path):
    import stat

    from annotate.studio.server import LocalStudio

    for name in ("credentials.json", "connection.json"):
        mode = stat.S_IMODE((studio.home / name).stat().st_mode)
        assert mode == 0o600, (name, oct(mode))
    stranger = LocalStudio(tmp_path / "elsewhere", studio.port)  # same port, not started from this folder
    assert stranger.down() is False
    assert studio.status().running



def test_all_bundled_articles_annotated_on_the_server_load_with_load_dataset(
        conn, schema, bundled_documents, annotators, tmp_path, monkeypatch):
    """The five bundled articles, annotated through the server (here with the baseline's output as the
    annotator's work), pulled and imported, load with `datasets.load_dataset` and keep every span."""
    import datasets

    from annotate.gold.build import import_exports
    from annotate.gold.writer import write_gold
    from annotate.predictions.baseline import extract
    from annotate.predictions.records import annotations_from_record
    from annotate.studio.config import Routing
    from annotate.studio.tasks import results_for

    title = _title()
    by_id = {d.id: d for d in bundled_documents}
    annotated = {r["id"]: annotations_from_record(r, by_id[r["id"]]) for r in extract(bundled_documents)}
    tasks, _ = build_tasks(bundled_documents, schema)
    report = push_tasks(conn, schema, tasks, title)
    client = connect(conn)
    for t in client.tasks.list(project=report.project_id, fields="all"):
        client.annotations.create(id=t.id, result=results_for(annotated[t.data["doc_id"]]),
                                  completed_by=annotators[0].id)
    export = pull_export(conn, tmp_path / "ann", title)
    result = import_exports([export.path], Routing(schema), {d.id: d.text for d in bundled_documents})
    assert result.counts == {"inputs": 5, "imported": 5, "quarantined": 0, "skipped": 0}
    write_gold(result.documents, schema, tmp_path / "gold")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    ds = datasets.load_dataset(str(tmp_path / "gold"), cache_dir=str(tmp_path / "hf"))["test"]
    assert sorted(ds["id"]) == sorted(by_id)
    for row in ds:
        want = annotated[row["id"]]
        names = ds.features["entities"].feature["type"].names
        got = sorted((e["start"], e["end"], names[e["type"]]) for e in row["entities"])
        assert got == sorted((e.start, e.end, e.type) for e in want.entities)
        assert len(row["events"]) == len(want.events)
        assert row["annotators"] == [annotators[0].email]
