"""Robustness, round 3 (issue 24): no valid record lost, no traceback, no silent pass.

Each case makes a small input here, runs the real command or function on it, and checks the exit code, the
message (naming the file, task or field) and that the counts add up.
"""

from __future__ import annotations

import json
import random
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from annotate.core.bio import _assign_layers_quadratic, _assign_layers_tree, assign_layers
from annotate.core.model import MAX_SPANS_PER_DOCUMENT, Document, Entity, SpanError
from annotate.gold.exportfiles import export_files
from annotate.gold.layout import GoldReadError
from annotate.gold.reader import gold_documents

from .exports import annotation, export_task, labels_region, meeting_document
from .runcli import cli, quarantine_lines

ROOT = Path(__file__).resolve().parent.parent

# --- scale: bio.assign_layers -----------------------------------------------------------------------------------




def test_assign_layers_is_the_same_as_before_on_random_spans():
    """The fast layering gives exactly what the direct rule (the old, quadratic one, which `bio` keeps for a few
    spans and for spans no Document holds) gives."""
    rng = random.Random(24)
    for _ in range(20_000):
        length = rng.randint(1, 14)
        spans = []
        for _ in range(rng.randint(0, 16)):
            s = rng.randint(0, length - 1)
            spans.append((s, rng.randint(s + 1, length), rng.choice("AB")))
        if spans and rng.random() < 0.3:  # copies of one span, as a broken export holds
            spans += [rng.choice(spans) for _ in range(rng.randint(1, 5))]
        rng.shuffle(spans)
        expected = _assign_layers_quadratic(spans)
        assert assign_layers(spans) == expected, spans
        if all(s < e for s, e, _ in spans):
            assert _assign_layers_tree(spans) == expected, spans


def test_assign_layers_keeps_the_old_rule_for_empty_spans():
    spans = [(2, 2, "A"), (0, 4, "B"), (2, 3, "A"), (3, 1, "B")]
    assert assign_layers(spans) == _assign_layers_quadratic(spans)


def test_assign_layers_many_copies_of_one_span():
    # 16,000 copies took 27 s with the quadratic rule; every copy gets its own layer, in input order
    layers = assign_layers([(0, 5, "PER")] * 16_000)
    assert layers == list(range(16_000))


def test_a_document_with_too_many_spans_is_refused_by_name():
    text = "بغداد " * 10
    entities = [Entity(f"e{k}", 0, 5, "GPE") for k in range(MAX_SPANS_PER_DOCUMENT + 1)]
    with pytest.raises(SpanError, match=r"document big: 10001 entities and 0 events, more than the 10,000 spans"):
        Document("big", text, entities)


# --- Label Studio exports: silently wrong, tracebacks, lost records ---------------------------------------------




@pytest.fixture
def doc(bundled_documents):
    return meeting_document(bundled_documents[0])




def _choice(task):
    return next(r for r in task["annotations"][0]["result"] if r.get("type") == "choices")


EXPORT_CASES = [
    ("result null", lambda t: t["annotations"][0].update(result=None),
     "field result is null; an annotation without regions is an empty list []"),
    ("region type missing", lambda t: labels_region(t, "e1").pop("type"),
     "region e1: field type is missing or not a string, got null"),
    ("was_cancelled a string", lambda t: t["annotations"][0].update(was_cancelled="false"),
     "field 'was_cancelled' must be true or false, got a string 'false'"),
    ("doc_id a list", lambda t: t["data"].update(doc_id=["a", "b"]), "field data.doc_id must be a string, got a list"),
    ("value.labels an object", lambda t: labels_region(t, "e1")["value"].update(labels={"PER": 1}),
     "region e1: field value.labels must be a list, got an object"),
    ("value.choices an object", lambda t: _choice(t)["value"].update(choices={"actual": True}),
     "field value.choices must be a list, got an object"),
]


@pytest.mark.parametrize("name, mutate, reason", EXPORT_CASES, ids=[c[0] for c in EXPORT_CASES])
def test_import_quarantines_a_malformed_task_by_name(tmp_path, doc, bundled_documents, name, mutate, reason):
    bad = export_task(doc, [annotation(doc)], task_id=77)
    mutate(bad)
    good = export_task(bundled_documents[1], [annotation(bundled_documents[1])], task_id=78)
    export = tmp_path / "export.json"
    export.write_text(json.dumps([bad, good]), encoding="utf-8")
    res = cli("import", export, "-o", tmp_path / "gold")
    assert res.exit_code == 0
    assert "2 task(s) read from 1 export(s): 1 imported, 1 quarantined, 0 skipped" in res.output
    q = quarantine_lines(tmp_path / "gold.quarantine.jsonl")
    assert len(q) == 1 and q[0]["task_id"] == 77 and reason in q[0]["reason"], q
    docs, _ = gold_documents(tmp_path / "gold")
    assert [d.id for d in docs] == [bundled_documents[1].id]


def test_a_region_typed_Labels_is_read_as_labels(tmp_path, doc):
    task = export_task(doc, [annotation(doc)])
    labels_region(task, "e1")["type"] = "Labels"
    export = tmp_path / "export.json"
    export.write_text(json.dumps([task]), encoding="utf-8")
    res = cli("import", export, "-o", tmp_path / "gold")
    assert res.exit_code == 0 and "1 imported, 0 quarantined, 0 skipped" in res.output
    (gold,), _ = gold_documents(tmp_path / "gold")
    assert sorted((e.start, e.end) for e in gold.entities) == sorted((e.start, e.end) for e in doc.entities)
    assert gold.events[0].arguments and "other_regions" not in gold.metadata


@pytest.mark.parametrize("suffix", [".json", ".jsonl"])
def test_a_task_nested_too_deeply_is_quarantined(tmp_path, doc, bundled_documents, suffix):
    other = bundled_documents[1]
    deep = json.dumps({"id": 5, "data": {"text": doc.text, "meta": "X"}, "annotations": []})
    deep = deep.replace('"X"', "[" * 100_000 + "]" * 100_000)
    good = json.dumps(export_task(other, [annotation(other)], task_id=6))
    export = tmp_path / f"export{suffix}"
    export.write_text(f"[{deep},\n{good}]" if suffix == ".json" else f"{deep}\n{good}\n", encoding="utf-8")
    res = cli("import", export, "-o", tmp_path / "gold")
    assert res.exit_code == 0 and "2 task(s) read from 1 export(s): 1 imported, 1 quarantined" in res.output
    (q,) = quarantine_lines(tmp_path / "gold.quarantine.jsonl")
    assert "nested too deeply to read (more than" in q["reason"] and q["source"] == f"{export}#0"
    assert q["task"] == deep  # kept as its text, whole


def test_a_newer_cancelled_only_copy_does_not_supersede_gold(tmp_path, doc):
    old, new = tmp_path / "export-1.json", tmp_path / "export-2.json"
    old.write_text(json.dumps([export_task(doc, [annotation(doc)], task_id=1)]), encoding="utf-8")
    new.write_text(json.dumps([export_task(doc, [annotation(doc, was_cancelled=True)], task_id=1)]), encoding="utf-8")
    res = cli("import", old, new, "-o", tmp_path / "gold")
    assert res.exit_code == 0 and "2 task(s) read from 2 export(s): 1 imported, 0 quarantined, 1 skipped" in res.output
    (gold,), _ = gold_documents(tmp_path / "gold")
    assert gold.id == doc.id and len(gold.events[0].arguments) == 2


@pytest.mark.parametrize("empty", [[], "cancelled"], ids=["unannotated copy first", "cancelled copy first"])
def test_an_unannotated_copy_in_the_same_export_does_not_make_the_annotated_one_a_duplicate(tmp_path, doc, empty):
    first = export_task(doc, [] if empty == [] else [annotation(doc, was_cancelled=True)], task_id=1)
    second = export_task(doc, [annotation(doc)], task_id=2)
    third = export_task(doc, [], task_id=3)  # and one more empty copy after it
    export = tmp_path / "export.json"
    export.write_text(json.dumps([first, second, third]), encoding="utf-8")
    res = cli("import", export, "-o", tmp_path / "gold")
    assert res.exit_code == 0 and "3 task(s) read from 1 export(s): 1 imported, 0 quarantined, 2 skipped" in res.output
    (gold,), _ = gold_documents(tmp_path / "gold")
    assert gold.metadata["task_id"] == 2


def _min_records(doc, **extra):
    """JSON_MIN records of `doc`, as Label Studio writes them: spans per control, no relations or choices."""
    rec = {"id": 5, "text": doc.text, "doc_id": doc.id, "annotator": "amal@annotate.test", "annotation_id": 9,
           "entity": [{"start": e.start, "end": e.end, "text": doc.text[e.start:e.end], "labels": [e.type]}
                      for e in doc.entities],
           "trigger": [{"start": v.trigger.start, "end": v.trigger.end, "labels": [v.type]} for v in doc.events]}
    rec.update(extra)
    return {k: v for k, v in rec.items() if v is not None}


def test_a_json_min_export_after_a_full_one_keeps_the_full_gold(tmp_path, doc):
    full, minimal = tmp_path / "export-1.json", tmp_path / "export-2-min.json"
    full.write_text(json.dumps([export_task(doc, [annotation(doc)], task_id=5)]), encoding="utf-8")
    minimal.write_text(json.dumps([_min_records(doc)]), encoding="utf-8")
    res = cli("import", full, minimal, "-o", tmp_path / "gold")
    assert res.exit_code == 0 and "2 task(s) read from 2 export(s): 1 imported, 0 quarantined, 1 skipped" in res.output
    assert f"a JSON_MIN copy did not replace the full export {full}" in res.output
    (gold,), _ = gold_documents(tmp_path / "gold")
    assert len(gold.events[0].arguments) == 2 and gold.events[0].attributes == {"realis": "actual"}
    # a full export after the JSON_MIN one supersedes it as any newer export does
    res = cli("import", minimal, full, "-o", tmp_path / "gold")
    assert res.exit_code == 0 and "1 imported, 0 quarantined, 1 skipped" in res.output


def test_json_min_records_without_id_stay_separate_documents(tmp_path, bundled_documents):
    a, b = bundled_documents[0], bundled_documents[1]
    records = [_min_records(a, id=None, trigger=None), _min_records(b, id=None, trigger=None, entity=[]),
               _min_records(a, id=None, trigger=None, annotator="bilal@annotate.test", annotation_id=10)]
    export = tmp_path / "export.json"
    export.write_text(json.dumps(records), encoding="utf-8")
    res = cli("import", export, "-o", tmp_path / "gold")
    # a: two identical annotations -> one gold; b: its own task, never merged into a's
    assert res.exit_code == 0 and "2 task(s) read from 1 export(s): 2 imported, 0 quarantined, 0 skipped" in res.output
    docs, _ = gold_documents(tmp_path / "gold")
    assert sorted(d.text for d in docs) == sorted([a.text, b.text])


def test_agree_leaves_a_null_result_out_instead_of_reading_it_as_empty(tmp_path, doc):
    nulled = annotation(doc, "bilal@annotate.test")
    nulled["result"] = None
    export = tmp_path / "export.json"
    export.write_text(json.dumps([export_task(doc, [annotation(doc), nulled], task_id=3)]), encoding="utf-8")
    res = cli("agree", export, "--json", tmp_path / "agree.json")
    assert res.exit_code == 0
    # read as [] it would be compared as an annotation with no entities (and pull the F1 down)
    assert "0 task(s) compared across 0 annotator pair(s); 1 task(s) read, 1 quarantined" in res.output
    assert json.loads((tmp_path / "agree.json").read_text(encoding="utf-8"))["tasks"] == 0


# --- articles and tasks ----------------------------------------------------------------------------------------


def _articles(path: Path, records: list[str]) -> Path:
    path.write_text("".join(r + "\n" for r in records), encoding="utf-8")
    return path


def test_article_files_by_suffix(tmp_path):
    upper = _articles(tmp_path / "articles.JSONL", ['{"id": "a", "text": "قال الكاظمي في بغداد"}'])
    as_json = tmp_path / "articles.json"
    as_json.write_text(json.dumps([{"id": "b", "text": "نص آخر هنا"}]), encoding="utf-8")
    res = cli("tasks", upper, as_json, "-o", tmp_path / "tasks.json")
    assert res.exit_code == 0 and "2 article input(s): 1 task(s) written" in res.output
    tasks = json.loads((tmp_path / "tasks.json").read_text(encoding="utf-8"))
    assert [(t["data"]["doc_id"], t["data"]["text"]) for t in tasks] == [("a", "قال الكاظمي في بغداد")]
    (q,) = quarantine_lines(tmp_path / "tasks.quarantine.jsonl")
    assert q["source"] == str(as_json) and "a .json file is not read as articles" in q["reason"]
    # a folder: .JSONL read like .jsonl
    folder = tmp_path / "in"
    folder.mkdir()
    upper.rename(folder / "a.JSONL")
    res = cli("tasks", folder, "-o", tmp_path / "tasks2.json")
    assert res.exit_code == 0 and "1 article input(s): 1 task(s) written" in res.output


@pytest.mark.parametrize("value, shown", [("NaN", "NaN"), ("[1, Infinity]", "Infinity"), ("-Infinity", "-Infinity")])
def test_nan_or_infinity_in_metadata_is_quarantined_by_field(tmp_path, value, shown):
    articles = _articles(tmp_path / "a.jsonl", ['{"id": "a", "text": "قال الكاظمي في بغداد"}',
                                                 '{"id": "b", "text": "نص آخر هنا", "score": ' + value + "}"])
    res = cli("tasks", articles, "-o", tmp_path / "tasks.json")
    assert res.exit_code == 0 and "2 article input(s): 1 task(s) written" in res.output
    assert "NaN" not in (tmp_path / "tasks.json").read_text(encoding="utf-8")
    (q,) = quarantine_lines(tmp_path / "tasks.quarantine.jsonl")
    assert q["source"] == f"{articles}:2" and "field 'score" in q["reason"]
    assert f"is {shown}, which JSON" in q["reason"]
    json.loads((tmp_path / "tasks.quarantine.jsonl").read_text(encoding="utf-8"), parse_constant=pytest.fail)


def test_push_refuses_nan_in_a_tasks_file_before_creating_anything(tmp_path):
    tasks = tmp_path / "tasks.json"
    tasks.write_text('[{"data": {"text": "نص", "doc_id": "a", "meta": {"score": NaN}}}]', encoding="utf-8")
    res = cli("push", tasks, env={"LABEL_STUDIO_URL": "http://127.0.0.1:9", "LABEL_STUDIO_API_KEY": "never-used"})
    assert res.exit_code == 1
    assert f"{tasks}: task 0: field 'data.meta.score' is NaN, which JSON cannot hold" in res.output
    assert "nothing was pushed" in res.output


def test_the_same_text_under_two_ids_is_a_warning(tmp_path):
    articles = _articles(tmp_path / "a.jsonl", ['{"id": "a", "text": "قال الكاظمي في بغداد"}',
                                                 '{"id": "b", "text": "قال الكاظمي في بغداد"}'])
    res = cli("tasks", articles, "-o", tmp_path / "tasks.json")
    assert res.exit_code == 0 and "2 task(s) written" in res.output
    assert f"warning: {articles}:2: the same text as {articles}:1 under another id (b)" in res.output
    assert "1 warning(s): the same text under another id" in res.output


# --- CoNLL input ---------------------------------------------------------------------------------------------------


def test_a_conll_file_of_blank_lines_is_refused(tmp_path):
    blank = tmp_path / "blank.conll"
    blank.write_text("\n\n  \n-DOCSTART- -X- O O\n\n", encoding="utf-8")
    res = cli("score", "--conll", blank)
    assert res.exit_code == 1 and f"{blank}: no token rows (only blank lines or -DOCSTART- breaks)" in res.output
    good = tmp_path / "good.conll"
    good.write_text("بغداد B-GPE B-GPE\n", encoding="utf-8")
    res = cli("score", "--gold-conll", good, "--pred-conll", blank)
    assert res.exit_code == 1 and f"{blank}: no token rows" in res.output


def test_a_docstart_row_with_entity_tags_is_named(tmp_path):
    conll = tmp_path / "x.conll"
    conll.write_text("-DOCSTART- -X- O O\n\nقال O O\n-DOCSTART- I-PER I-PER\nبغداد B-GPE B-GPE\n", encoding="utf-8")
    res = cli("score", "--conll", conll)
    assert res.exit_code == 1
    assert f"{conll}:4: a -DOCSTART- line with the tag(s) I-PER, I-PER: a document break carries no entity tag" \
        in res.output
    conll.write_text("-DOCSTART- -X- O O\n\nقال O O\nبغداد B-GPE B-GPE\n", encoding="utf-8")
    res = cli("score", "--conll", conll)
    assert res.exit_code == 0 and "2 gold token(s)" in res.output, res.output


# --- a damaged gold set --------------------------------------------------------------------------------------------


@pytest.fixture
def gold(tmp_path, doc, bundled_documents):
    export = tmp_path / "export.json"
    other = bundled_documents[1]
    export.write_text(json.dumps([export_task(doc, [annotation(doc)]), export_task(other, [annotation(other)])]),
                      encoding="utf-8")
    assert cli("import", export, "-o", tmp_path / "gold").exit_code == 0
    return tmp_path / "gold"


def _edit_json(file: Path, change) -> None:
    data = json.loads(file.read_text(encoding="utf-8"))
    change(data)
    file.write_text(json.dumps(data), encoding="utf-8")


def _flip_a_letter(gold: Path) -> None:
    arrow = gold / "test" / "data-00000-of-00001.arrow"
    data = arrow.read_bytes()
    word = "الكاظمي".encode()
    assert data.count(word) >= 1
    arrow.write_bytes(data.replace(word, "الكاظمى".encode(), 1))  # one letter, same length: still readable


def _truncate_parquet(gold: Path) -> None:
    (parquet,) = (gold / "data").glob("*.parquet")
    parquet.write_bytes(parquet.read_bytes()[:-100])


DAMAGES = [
    ("no split", lambda g: _edit_json(g / "dataset_dict.json", lambda d: d.update(splits=[])),
     "dataset_dict.json: lists no split"),
    ("no data file", lambda g: _edit_json(g / "test" / "state.json", lambda d: d.update(_data_files=[])),
     "state.json: lists no data file (field '_data_files' is empty)"),
    ("a flipped letter in the arrow file", _flip_a_letter, "data-00000-of-00001.arrow: the rows' fingerprint"),
    ("a split the data lacks", lambda g: _edit_json(g / "build.json", lambda d: d["splits"].update(train=3)),
     "build.json: lists the split(s) test, train but the data holds test"),
    ("a truncated parquet", _truncate_parquet, ".parquet: cannot be read"),
    ("a parquet of another row count", lambda g: _edit_json(g / "build.json", lambda d: d["splits"].update(test=3)),
     ".parquet: holds 2 row(s) but build.json says split test has 3"),
    ("entity_types a list", lambda g: _edit_json(g / "build.json",
                                                 lambda d: d["schema_definition"].update(entity_types=["PER"])),
     "build.json: field 'schema_definition' cannot be read (AttributeError"),
    ("fingerprint a number", lambda g: _edit_json(g / "build.json", lambda d: d.update(fingerprint=5)),
     "build.json: field 'fingerprint' must be a string"),
]


@pytest.mark.parametrize("name, damage, reason", DAMAGES, ids=[d[0] for d in DAMAGES])
def test_a_damaged_gold_set_is_named_and_nothing_is_exported_or_scored(tmp_path, gold, name, damage, reason):
    damage(gold)
    with pytest.raises(GoldReadError) as err:
        gold_documents(gold)
    assert reason in str(err.value) and "annotate import" in str(err.value), err.value
    res = cli("export", gold, "--format", "jsonl", "-o", tmp_path / "out.jsonl")
    assert res.exit_code == 1 and reason in res.output and not (tmp_path / "out.jsonl").exists()
    preds = tmp_path / "p.jsonl"
    preds.write_text("", encoding="utf-8")
    res = cli("score", "--gold", gold, "--predictions", preds, "--json", tmp_path / "r.json")
    assert res.exit_code != 0 and reason in res.output and not (tmp_path / "r.json").exists()


def test_an_empty_gold_set_is_read_as_empty(tmp_path):
    export = tmp_path / "export.json"
    export.write_text("[]", encoding="utf-8")
    res = cli("import", export, "-o", tmp_path / "gold", "--allow-empty")
    assert res.exit_code == 0
    docs, info = gold_documents(tmp_path / "gold")
    assert docs == [] and info.build["splits"] == {"test": 0}


def test_the_committed_gold_set_passes_every_check():
    docs, info = gold_documents(Path(__file__).resolve().parent.parent / "gold" / "dataset")
    assert len(docs) == info.build["imported"] and info.fingerprint == info.build["fingerprint"]


# --- export --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("doc_id", ["a\tb", "a\nb", "a\u2028b"], ids=["tab", "newline", "line separator"])
def test_an_id_documents_tsv_cannot_hold_is_refused_by_name(tmp_path, doc, doc_id):
    task = export_task(doc, [annotation(doc)])
    task["data"]["doc_id"] = doc_id
    export = tmp_path / "export.json"
    export.write_text(json.dumps([task]), encoding="utf-8")
    assert cli("import", export, "-o", tmp_path / "gold").exit_code == 0
    res = cli("export", tmp_path / "gold", "--format", "brat", "-o", tmp_path / "brat")
    assert res.exit_code == 1 and f"document id {doc_id!r} holds a tab or a line break" in res.output
    assert not (tmp_path / "brat").exists()
    res = cli("export", tmp_path / "gold", "--format", "jsonl", "-o", tmp_path / "gold.jsonl")
    assert res.exit_code == 0
    assert json.loads((tmp_path / "gold.jsonl").read_text(encoding="utf-8"))["id"] == doc_id


# --- output paths --------------------------------------------------------------------------------------------------


@pytest.fixture
def outputs(tmp_path, gold, doc, bundled_documents):
    """What each command needs: predictions with one bad line, an export two people annotated, two reports."""
    preds = tmp_path / "preds.jsonl"
    e = doc.entities[0]
    record = {"id": doc.id, "entities": [{"start": e.start, "end": e.end, "type": e.type}], "events": []}
    preds.write_text(json.dumps(record) + "\n{not json\n", encoding="utf-8")
    export = tmp_path / "agree.json"
    export.write_text(json.dumps([export_task(doc, [annotation(doc), annotation(doc, "bilal@annotate.test")])]),
                      encoding="utf-8")
    reports = []
    for name in ("a", "b"):
        reports.append(tmp_path / f"{name}.json")
        res = cli("score", "--gold", gold, "--predictions", preds, "--json", reports[-1], "--resamples", "0",
                  "--quarantine", tmp_path / "q.jsonl", "--allow-rejected")
        assert res.exit_code == 0, res.output
    return {"gold": gold, "preds": preds, "export": export, "reports": reports}


def _commands(o: dict, out: Path) -> dict[str, list]:
    score = ["score", "--gold", o["gold"], "--predictions", o["preds"], "--resamples", "0", "--allow-rejected"]
    quarantine = ["--quarantine", o["preds"].parent / "q.jsonl"]
    return {
        "score --json": [*score, *quarantine, "--json", out / "r.json"],
        "score --html": [*score, *quarantine, "--html", out / "r.html"],
        "score --markdown": [*score, *quarantine, "--markdown", out / "r.md"],
        "score --quarantine": [*score, "--quarantine", out / "q.jsonl"],
        "agree --json": ["agree", o["export"], "--json", out / "a.json"],
        "compare --markdown": ["compare", *o["reports"], "--markdown", out / "c.md"],
        "import -o": ["import", o["export"], "-o", out / "gold"],
        "export -o": ["export", o["gold"], "--format", "jsonl", "-o", out / "g.jsonl"],
    }


def test_an_output_under_a_file_is_one_clear_line(tmp_path, outputs):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder", encoding="utf-8")
    for name, args in _commands(outputs, blocker).items():
        res = cli(*args)
        assert res.exit_code != 0, name
        error = [line for line in res.output.splitlines() if line.startswith("Error:")]
        assert len(error) == 1 and f"cannot write {blocker}/" in error[0], (name, res.output)
        assert "a file is in the way" in error[0] or "is a file, not a folder" in error[0], (name, error)
    assert blocker.read_text(encoding="utf-8") == "not a folder"


def _namespaces() -> bool:
    try:
        return subprocess.run(["unshare", "-rm", "true"], capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


PREVIOUS = ("r.json", "r.html", "q.jsonl", "a.json", "c.md", "g.jsonl", "gold/x")  # outputs of an earlier run


@pytest.mark.skipif(not _namespaces(), reason="needs unshare -rm (a private mount namespace) for a real tmpfs")
@pytest.mark.parametrize("mode, why", [("full", "no space left on the device"),
                                       ("read-only", "the file system is read-only")])
def test_a_full_or_read_only_disk_is_one_clear_line_and_keeps_the_previous_file(tmp_path, outputs, mode, why):
    """A real tmpfs of 64 KiB, mounted in a private mount namespace (gone with the process), filled up or
    remounted read-only after the previous outputs were put there."""
    disk = tmp_path / "disk"
    disk.mkdir()
    commands = _commands(outputs, disk)
    exe = [sys.executable, "-m", "annotate.cli"]
    script = ["set -u", f"mount -t tmpfs -o size=64k tmpfs {shlex.quote(str(disk))}",
              *(f"echo previous > {shlex.quote(str(disk / n))}" for n in PREVIOUS[:-1]),
              f"mkdir {shlex.quote(str(disk / 'gold'))} && echo previous > {shlex.quote(str(disk / 'gold' / 'x'))}",
              f"dd if=/dev/zero of={shlex.quote(str(disk / 'fill'))} bs=4k 2>/dev/null || true"
              if mode == "full" else f"mount -o remount,ro {shlex.quote(str(disk))}"]
    for name in ("score --json", "score --html", "score --quarantine", "agree --json", "compare --markdown",
                 "import -o", "export -o"):
        script.append(f"echo '>>> {name}'; " + " ".join(shlex.quote(str(a)) for a in [*exe, *commands[name]])
                      + " 2>&1; echo \"rc=$?\"")
    for n in PREVIOUS:
        script.append(f"echo \"{n}: $(cat {shlex.quote(str(disk / n))})\"")
    script.append(f"ls -a {shlex.quote(str(disk))}")
    run = subprocess.run(["unshare", "-rm", "sh", "-c", "\n".join(script)], capture_output=True, text=True,
                         timeout=600, cwd=ROOT)
    out = run.stdout + run.stderr
    assert "Traceback" not in out, out
    for block in out.split(">>> ")[1:]:
        name, _, body = block.partition("\n")
        error = [line for line in body.splitlines() if line.startswith("Error:")]
        assert len(error) == 1 and f"cannot write {disk}/" in error[0] and why in error[0], (name, body)
        assert "rc=1" in body, (name, body)
    for n in PREVIOUS:
        assert f"{n}: previous" in out, out
    assert ".tmp" not in out.rsplit("gold/x:", 1)[1] and ".new-" not in out.rsplit("gold/x:", 1)[1], out


def _as_json_min(tasks: list[dict]) -> list[dict]:
    """Label Studio's JSON_MIN of full export tasks: a flat record per annotation, span lists per control."""
    out = []
    for task in tasks:
        for ann in task["annotations"]:
            rec = {"id": task["id"], **task["data"], "annotator": "someone@annotate.test", "annotation_id": ann["id"]}
            for r in ann["result"]:
                if r.get("type") == "labels":
                    rec.setdefault(r["from_name"], []).append(dict(r["value"]))
            out.append(rec)
    return out


def test_a_json_min_copy_of_the_committed_exports_loses_nothing(tmp_path):
    exports = export_files([ROOT / "gold" / "annotations"])  # oldest first, as `annotate import` orders them
    minimal = tmp_path / "export-min.json"
    minimal.write_text(json.dumps(_as_json_min(json.loads(exports[-1].read_text(encoding="utf-8"))),
                                  ensure_ascii=False), encoding="utf-8")
    res = cli("import", *exports, minimal, "-o", tmp_path / "gold")
    assert res.exit_code == 0 and "a JSON_MIN copy did not replace the full export" in res.output
    docs, info = gold_documents(tmp_path / "gold")
    committed, committed_info = gold_documents(ROOT / "gold" / "dataset")
    assert info.fingerprint == committed_info.fingerprint  # the JSON_MIN copy changed nothing
    arguments = sum(len(v.arguments) for d in committed for v in d.events)
    attributes = sum(len(v.attributes) for d in committed for v in d.events)
    assert arguments >= 267 and attributes >= 170  # what issue 24 saw lost (v1.0 of the gold set)
    assert sum(len(v.arguments) for d in docs for v in d.events) == arguments
    assert sum(len(v.attributes) for d in docs for v in d.events) == attributes


def test_an_annotation_over_the_span_bound_is_quarantined_by_name(tmp_path, doc, bundled_documents):
    task = export_task(doc, [annotation(doc)], task_id=9)
    solid = [i for i, c in enumerate(doc.text) if not c.isspace() and c != "\u0640"]
    spans = [(s, e + 1) for n, s in enumerate(solid[:200]) for e in solid[n:n + 60]][:10_001]
    task["annotations"][0]["result"] = [
        {"id": f"x{n}", "from_name": "entity", "to_name": "text", "type": "labels",
         "value": {"start": s, "end": e, "labels": ["PER"]}} for n, (s, e) in enumerate(spans)]
    assert len(spans) == 10_001
    other = bundled_documents[1]
    export = tmp_path / "export.json"
    export.write_text(json.dumps([task, export_task(other, [annotation(other)])]), encoding="utf-8")
    res = cli("import", export, "-o", tmp_path / "gold")
    assert res.exit_code == 0 and "1 imported, 1 quarantined, 0 skipped" in res.output
    (q,) = quarantine_lines(tmp_path / "gold.quarantine.jsonl")
    assert "more than the 10,000 spans one document may hold" in q["reason"] and q["task_id"] == 9


def test_score_labelstudio_names_a_was_cancelled_that_is_not_a_boolean(tmp_path, gold, doc):
    ann = annotation(doc, "amal@annotate.test", was_cancelled="false")
    tasks = tmp_path / "tasks.json"
    tasks.write_text(json.dumps([export_task(doc, [ann], task_id=4)]), encoding="utf-8")
    res = cli("score", "--gold", gold, "--labelstudio", tasks, "--annotator", "amal@annotate.test",
              "--resamples", "0", "--quarantine", tmp_path / "q.jsonl")
    assert res.exit_code == 1  # rejected, not dropped as if cancelled
    (q,) = quarantine_lines(tmp_path / "q.jsonl")
    assert "field 'was_cancelled' must be true or false, got a string 'false'" in q["reason"]


@pytest.mark.parametrize("depth", [700, 850, 900, 960, 995])
def test_a_task_near_the_recursion_limit_is_read_the_same_for_any_num_proc(tmp_path, doc, depth):
    deep = json.dumps(export_task(doc, [annotation(doc)], task_id=5)).replace('"predictions": []', '"predictions": X')
    export = tmp_path / "export.json"
    export.write_text("[" + deep.replace("X", "[" * depth + "]" * depth) + "]", encoding="utf-8")
    outputs = []
    for n in ("1", "2"):
        res = cli("import", export, "-o", tmp_path / f"gold{n}", "--num-proc", n)
        outputs.append([line.split(" (")[0].split(";")[0] for line in res.output.splitlines()
                        if "task(s) read" in line])
        quarantine = tmp_path / f"gold{n}.quarantine.jsonl"
        if quarantine.exists():
            (q,) = quarantine_lines(quarantine)
            assert "nested too deeply to read" in q["reason"] and q["task"].startswith('{"id": 5')
    assert outputs[0] == outputs[1] and len(outputs[0]) == 1, outputs
