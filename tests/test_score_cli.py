"""`annotate score` end to end: real extractor commands, callables, thresholds, baselines, reports."""

import json
import sys

import pytest
from click.testing import CliRunner
from seqeval.metrics import classification_report

from annotate.cli import main
from annotate.core.model import Argument, Document, Entity, Event, Span
from annotate.gold.writer import write_gold
from annotate.predictions.records import document_to_record


def _find(text, word, start=0):
    s = text.index(word, start)
    return s, s + len(word)


@pytest.fixture(scope="module")
def gold_docs(bundled_documents):
    docs = []
    for d in bundled_documents:
        ents, evs = [], []
        k = 0
        for word, label in (("الكاظمي", "PER"), ("العراق", "GPE"), ("داعش", "ORG"), ("البيشمركة", "ORG")):
            if word in d.text:
                s, e = _find(d.text, word)
                k += 1
                ents.append(Entity(f"e{k}", s, e, label))
        for word, vtype, role in (("اجتماع", "Contact.Meet", "Entity"), ("هجوم", "Conflict.Attack", "Attacker")):
            if word in d.text:
                s, e = _find(d.text, word)
                arg = next((x for x in ents if x.type in ("PER", "ORG")), None)
                evs.append(Event(f"v{len(evs) + 1}", vtype, Span(s, e), {"realis": "actual"},
                                 (Argument(role, arg.id),) if arg else ()))
        docs.append(Document(d.id, d.text, ents, evs, d.metadata))
    return docs


@pytest.fixture(scope="module")
def gold_dir(gold_docs, schema, tmp_path_factory):
    path = tmp_path_factory.mktemp("g") / "gold"
    agreement = {"tasks": 3, "pairs": [{"a": "x", "b": "y"}],
                 "overall": {"entities_exact_f1": 0.91, "triggers_classification_f1": 0.8,
                             "arguments_classification_f1": 0.7,
                             "metrics": {"entities.strict.micro.f1": 0.91, "triggers.classification.f1": 0.8,
                                         "arguments.classification.f1": 0.7}}}
    write_gold(gold_docs, schema, path, agreement=agreement)
    return path


def write_preds(path, docs):
    path.write_text("".join(json.dumps(document_to_record(d), ensure_ascii=False) + "\n" for d in docs),
                    encoding="utf-8")
    return path


def score(*args):
    return CliRunner().invoke(main, ["score", *args])


def score_empty(*args):
    """Predictions that are empty on purpose: passing them needs --allow-empty-predictions."""
    return score(*args, "--allow-empty-predictions")


def test_perfect_predictions_and_stable_json_keys(gold_dir, gold_docs, tmp_path):
    preds = write_preds(tmp_path / "p.jsonl", gold_docs)
    res = score("--gold", str(gold_dir), "--predictions", str(preds), "--json", str(tmp_path / "r.json"),
                "--markdown", str(tmp_path / "r.md"), "--html", str(tmp_path / "r.html"), "--resamples", "200")
    assert res.exit_code == 0, res.output
    r = json.loads((tmp_path / "r.json").read_text())
    assert r["entities"]["default"]["micro"]["f1"] == 1.0
    assert r["entities"]["strict"]["per_type"]["PER"]["f1"] == 1.0
    assert r["triggers"]["classification"]["f1"] == 1.0 and r["arguments"]["classification"]["f1"] == 1.0
    for row in (r["entities"]["strict"]["micro"], r["triggers"]["classification"], r["arguments"]["classification"]):
        assert {"tp", "fp", "fn", "support", "precision", "recall", "f1"} <= set(row)
    assert r["gold"]["fingerprint"] and r["gold"]["schema_fingerprint"] and r["toolkit_version"]
    assert r["confidence"]["entities.strict.micro.f1"] == [1.0, 1.0]
    assert r["human_ceiling"]["entities_exact_f1"] == 0.91
    md = (tmp_path / "r.md").read_text()
    assert "Annotator ceiling" in md and "| PER |" in md and r["gold"]["fingerprint"] in md
    assert "<svg" in (tmp_path / "r.html").read_text()


def test_real_extractor_command_end_to_end(gold_dir, tmp_path):
    cmd = f"{sys.executable} -m annotate.cli baseline"
    res = score("--gold", str(gold_dir), "--extractor", cmd, "--json", str(tmp_path / "r.json"))
    assert res.exit_code == 0, res.output
    r = json.loads((tmp_path / "r.json").read_text())
    assert r["documents"] == {"gold": 5, "with_predictions": 5}
    assert 0.0 < r["entities"]["strict"]["micro"]["recall"] <= 1.0
    assert r["predictions"]["rejected"] == 0
    # the callable form gives the same numbers
    res2 = score("--gold", str(gold_dir), "--extractor", "annotate.baseline:extract",
                 "--json", str(tmp_path / "c.json"))
    assert res2.exit_code == 0, res2.output
    r2 = json.loads((tmp_path / "c.json").read_text())
    assert r2["entities"] == r["entities"] and r2["arguments"] == r["arguments"]


@pytest.mark.parametrize("code, message", [
    ("import sys; sys.stderr.write('model file missing'); sys.exit(3)", "exited with code 3; its stderr ends with: "
                                                                        "model file missing"),
    ("import sys; sys.stdin.read(); print('not json')", "not JSON (stdout line 1"),
    ("import time; time.sleep(30)", "timed out after 1s"),
])
def test_broken_extractor_commands_give_clear_errors(gold_dir, code, message, tmp_path):
    # a line that is not JSON is now a quarantined record: keep the quarantine file out of the working folder
    res = score("--gold", str(gold_dir), "--extractor", f"{sys.executable} -c \"{code}\"", "--timeout", "1",
                "--quarantine", str(tmp_path / "q.jsonl"))
    assert res.exit_code == 1
    assert message in res.output


def test_missing_extractor_program(gold_dir):
    res = score("--gold", str(gold_dir), "--extractor", "no-such-program-xyz --flag")
    assert res.exit_code == 1 and "could not be started" in res.output


def test_fail_under_exit_code_and_one_line_reason(gold_dir, gold_docs, tmp_path):
    empty = write_preds(tmp_path / "p.jsonl", [Document(d.id, d.text) for d in gold_docs])
    res = score_empty("--gold", str(gold_dir), "--predictions", str(empty), "--fail-under",
                      "entities.strict.micro.f1=0.80", "--fail-under", "triggers.classification.f1=0")
    assert res.exit_code == 3
    fail_lines = [ln for ln in res.output.splitlines() if ln.startswith("FAIL")]
    assert fail_lines == ["FAIL: entities.strict.micro.f1 = 0.0000 < 0.8000"]
    res = score_empty("--gold", str(gold_dir), "--predictions", str(empty),
                "--fail-under", "entities.strict.per_type.PER.f1=0")
    assert res.exit_code == 0
    res = score_empty("--gold", str(gold_dir), "--predictions", str(empty),
                "--fail-under", "triggers.classification.per_type.Contact.Meet.f1=0.5")
    assert res.exit_code == 3 and "Contact.Meet" in res.output
    res = score_empty("--gold", str(gold_dir), "--predictions", str(empty), "--fail-under", "nonsense")
    assert res.exit_code == 2


def test_baseline_regression_exit_code(gold_dir, gold_docs, tmp_path):
    good = write_preds(tmp_path / "good.jsonl", gold_docs)
    first = score("--gold", str(gold_dir), "--predictions", str(good), "--json", str(tmp_path / "old.json"))
    assert first.exit_code == 0
    same = score("--gold", str(gold_dir), "--predictions", str(good), "--baseline", str(tmp_path / "old.json"),
                 "--json", str(tmp_path / "new.json"))
    assert same.exit_code == 0, same.output
    base = json.loads((tmp_path / "new.json").read_text())["baseline"]
    assert base["same_gold"] and base["metrics"]["entities.strict.micro.f1"]["delta"] == 0.0
    worse = write_preds(tmp_path / "worse.jsonl", [Document(d.id, d.text) for d in gold_docs])
    res = score_empty("--gold", str(gold_dir), "--predictions", str(worse), "--baseline", str(tmp_path / "old.json"))
    assert res.exit_code == 4 and "significant regression" in res.output


def test_conlleval_file_matches_seqeval_default(tmp_path):
    rows = [("بغداد", "B-GPE", "B-GPE"), ("و", "O", "O"), ("أربيل", "B-GPE", "I-GPE"), ("", "", ""),
            ("مصطفى", "B-PER", "B-PER"), ("الكاظمي", "I-PER", "O"), ("قال", "O", "B-PER")]
    text = "\n".join(" ".join(r) for r in rows) + "\n"
    (tmp_path / "out.conll").write_text(text, encoding="utf-8")
    res = score("--conll", str(tmp_path / "out.conll"), "--json", str(tmp_path / "r.json"),
                "--markdown", str(tmp_path / "r.md"), "--html", str(tmp_path / "r.html"))
    assert res.exit_code == 0, res.output
    r = json.loads((tmp_path / "r.json").read_text())
    gold = [["B-GPE", "O", "B-GPE"], ["B-PER", "I-PER", "O"]]
    pred = [["B-GPE", "O", "I-GPE"], ["B-PER", "O", "B-PER"]]
    ref = classification_report(gold, pred, output_dict=True, zero_division=0)
    assert r["entities"]["default"]["micro"]["f1"] == ref["micro avg"]["f1-score"]
    assert r["entities"]["default"]["per_type"]["PER"]["precision"] == ref["PER"]["precision"]
    assert "triggers" not in (tmp_path / "r.md").read_text() and "<table>" in (tmp_path / "r.html").read_text()
    assert r["token_accuracy"] == 3 / 6  # conlleval's accuracy: 3 of 6 tags agree


def test_layered_conll_files_keep_nested_entities(tmp_path):
    gold = "حكومة B-ORG O\nإقليم I-ORG B-GPE\nكوردستان I-ORG I-GPE\n"
    (tmp_path / "g.conll").write_text(gold, encoding="utf-8")
    (tmp_path / "p.conll").write_text("حكومة B-ORG\nإقليم I-ORG\nكوردستان I-ORG\n", encoding="utf-8")
    res = score("--gold-conll", str(tmp_path / "g.conll"), "--pred-conll", str(tmp_path / "p.conll"),
                "--json", str(tmp_path / "r.json"))
    assert res.exit_code == 0, res.output
    strict = json.loads((tmp_path / "r.json").read_text())["entities"]["strict"]
    assert strict["micro"]["tp"] == 1 and strict["micro"]["support"] == 2
    (tmp_path / "bad.conll").write_text("حكومة B-ORG\nإقليم I-ORG\n", encoding="utf-8")
    res = score("--gold-conll", str(tmp_path / "g.conll"), "--pred-conll", str(tmp_path / "bad.conll"))
    assert res.exit_code == 1 and "sentence 1: 3 token(s)" in res.output


def test_label_studio_predictions_are_scored(gold_dir, gold_docs, schema, tmp_path):
    from annotate.studio.tasks import build_tasks

    tasks, rejected = build_tasks(gold_docs, schema, {d.id: d for d in gold_docs}, "m1")
    assert not rejected
    (tmp_path / "tasks.json").write_text(json.dumps(tasks, ensure_ascii=False), encoding="utf-8")
    res = score("--gold", str(gold_dir), "--labelstudio", str(tmp_path / "tasks.json"), "--json", "-")
    assert res.exit_code == 0, res.output
    r = json.loads(res.stdout)
    assert r["entities"]["strict"]["micro"]["f1"] == 1.0 and r["arguments"]["classification"]["f1"] == 1.0


def test_usage_errors(gold_dir):
    assert score("--gold", str(gold_dir)).exit_code == 2
    assert score("--gold-conll", "pyproject.toml").exit_code == 2


def test_gold_built_with_another_schema_scores_with_its_own_roles(tmp_path):
    from annotate.core.schema import parse_schema

    custom = parse_schema("name: tiny\nentity_types: {Person: {}, Town: {}}\n"
                          "event_types: {Visit: {roles: {Visitor: [Person], Where: [Town]}}}\n")
    text = "زار أحمد الموصل أمس"
    d = Document("t" * 16, text, [Entity("a", 4, 8, "Person"), Entity("b", 9, 15, "Town")],
                 [Event("v", "Visit", Span(0, 3), {}, (Argument("Visitor", "a"), Argument("Where", "b")))])
    write_gold([d], custom, tmp_path / "gold")
    preds = write_preds(tmp_path / "p.jsonl", [d])
    res = score("--gold", str(tmp_path / "gold"), "--predictions", str(preds), "--json", str(tmp_path / "r.json"))
    assert res.exit_code == 0, res.output
    r = json.loads((tmp_path / "r.json").read_text())
    assert r["predictions"]["rejected"] == 0 and r["arguments"]["classification"]["f1"] == 1.0
    assert r["gold"]["schema"] == "tiny" and r["gold"]["schema_fingerprint"] == custom.fingerprint


def test_rejected_predictions_are_quarantined_not_lost(gold_dir, gold_docs, tmp_path):
    preds = write_preds(tmp_path / "p.jsonl", gold_docs[1:])
    with preds.open("a", encoding="utf-8") as fh:
        fh.write(json.dumps({"id": gold_docs[0].id, "entities": [{"id": "e1", "start": 0, "end": 10 ** 6,
                                                                   "type": "PER"}]}) + "\n")
        fh.write("{not json\n")
    q = tmp_path / "q.jsonl"
    res = score("--gold", str(gold_dir), "--predictions", str(preds), "--quarantine", str(q), "--json",
                str(tmp_path / "r.json"), "--allow-rejected")  # without it, malformed records make the run exit 1
    assert res.exit_code == 0, res.output
    rows = [json.loads(x) for x in q.read_text(encoding="utf-8").splitlines()]
    assert [r["source"].rsplit(":", 1)[1] for r in rows] == ["5", "6"]
    assert "outside the text" in rows[0]["reason"] and "not valid JSON" in rows[1]["reason"]
    assert "2 prediction(s) rejected" in res.output
    assert json.loads((tmp_path / "r.json").read_text())["documents"]["with_predictions"] == 4


def test_an_extractor_is_scored_batch_by_batch_with_the_numbers_of_one_call(gold_dir, tmp_path):
    """`score --extractor` streams: the extractor is called on a batch of gold documents at a time and each batch
    is scored as it comes back. Batches of 2 give the report of one call, and of the same predictions as a file."""
    from annotate.gold.reader import GoldSet
    from annotate.predictions.baseline import extract
    from annotate.score.run import extractor_report, stream_report

    gold = GoldSet(gold_dir)
    calls = []

    def progress(n):
        calls.append(n)

    small = extractor_report(gold, "annotate.baseline:extract", resamples=50, batch=2, progress=progress).report
    whole = extractor_report(gold, "annotate.baseline:extract", resamples=50).report
    assert calls == [2, 2, 1]
    docs = list(gold.documents())
    preds = tmp_path / "p.jsonl"
    preds.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in extract(docs)), encoding="utf-8")
    from_file = stream_report(gold, preds, resamples=50).report
    for key in ("entities", "triggers", "arguments", "documents", "per_document", "confidence", "in_context"):
        assert small[key] == whole[key] == from_file[key], key
    assert small["predictions"]["documents"] == 5 and small["predictions"]["rejected"] == 0


def test_a_rejected_record_of_a_later_extractor_call_names_that_call(gold_dir, tmp_path):
    from annotate.gold.reader import GoldSet
    from annotate.score.run import extractor_report

    script = tmp_path / "ext.py"
    script.write_text("import sys, json\n"
                      "for line in sys.stdin:\n"
                      "    d = json.loads(line)\n"
                      "    print(json.dumps({'id': d['id'], 'entities': [], 'events': []}))\n"
                      "print('not json')\n", encoding="utf-8")
    streamed = extractor_report(GoldSet(gold_dir), f"{sys.executable} {script}", resamples=0, batch=2)
    sources = [r.source for r in streamed.rejected]
    assert len(sources) == 3 and len(set(sources)) == 3
    assert sources[0].endswith("stdout line 3")
    assert sources[1].endswith("stdout line 3 of the call for documents 3-4")
    assert sources[2].endswith("stdout line 2 of the call for documents 5-5")
    assert streamed.report["documents"]["with_predictions"] == 5


def test_a_label_studio_file_is_streamed_and_matched_as_when_read_whole(gold_dir, gold_docs, schema, tmp_path):
    """`score --labelstudio` joins the file through an on-disk index: by doc_id or else by text, a later task of
    the same document replaces an earlier one, a task with another text is rejected by name, a task of a
    document outside the gold set is counted as not scored; JSON Lines is read as well as a JSON array."""
    from annotate.studio.tasks import build_tasks

    tasks, rejected = build_tasks(gold_docs, schema, {d.id: d for d in gold_docs}, "perfect")
    assert not rejected
    first = json.loads(json.dumps(tasks[0]))
    first["predictions"][0]["result"] = []  # an earlier, empty copy of the first document: replaced below
    by_text = json.loads(json.dumps(tasks[1]))
    del by_text["data"]["doc_id"]  # matched by its text
    other_text = json.loads(json.dumps(tasks[2]))
    other_text["data"]["text"] += " "
    outside = json.loads(json.dumps(tasks[3]))
    outside["data"] = {"doc_id": "not-in-gold", "text": "نص آخر"}
    mixed = [first, *tasks[:1], by_text, other_text, *tasks[3:], outside]
    for name, body in (("tasks.json", json.dumps(mixed, ensure_ascii=False)),
                       ("tasks.jsonl", "".join(json.dumps(t, ensure_ascii=False) + "\n" for t in mixed))):
        (tmp_path / name).write_text(body, encoding="utf-8")
        res = score("--gold", str(gold_dir), "--labelstudio", str(tmp_path / name), "--json", "-",
                    "--quarantine", str(tmp_path / "q.jsonl"), "--allow-rejected")
        assert res.exit_code == 0, res.output
        r = json.loads(res.stdout)
        p = r["predictions"]
        assert p["documents"] == 4 and p["rejected"] == 1 and p["not_scored"] == 1
        differs = f"task text differs from gold document {tasks[2]['data']['doc_id']}"
        assert p["rejected_reasons"][0]["reason"] == differs
        assert p["rejected_reasons"][0]["source"].startswith(f"{tmp_path / name} task ")
        assert r["documents"]["with_predictions"] == 4
        assert r["entities"]["strict"]["micro"]["precision"] == 1.0  # the perfect copies, the empty one replaced
