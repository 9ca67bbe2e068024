"""Another team's Label Studio projects (issue 18): three small exports in tests/data/foreign/ with their labeling
configs, using other conventions (a Labels control named `label`, Choices per document and per region, relations
between two spans, the same text in two tasks, a span with a leading space, no data.doc_id). The whole path:
`schema --from-config`, `import`, `score` against itself, `export --format jsonl` and `--format brat`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from datasets import load_from_disk

from annotate.cli import main
from annotate.core.model import document_id
from annotate.core.schema import SchemaError, load_schema, parse_schema
from annotate.formats.brat import read_brat
from annotate.gold.build import import_exports
from annotate.gold.reader import gold_documents
from annotate.studio.config import Routing, routing_from_config
from annotate.studio.labelconfig import schema_from_config

FOREIGN = Path(__file__).parent / "data" / "foreign"
PROJECTS = ["en-news", "ar-news", "ar-social"]
# the span each export selected with its leading space, as the other tool wrote it, and as trimmed
LEADING_SPACE = {"en-news": ("p1", " Jane Smith"), "ar-news": ("e1", " أحمد سالم"), "ar-social": ("x2", " كريم")}


def run(*args: str):
    result = CliRunner().invoke(main, [str(a) for a in args])
    return result


def ok(*args: str) -> str:
    result = run(*args)
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture(scope="module", params=PROJECTS)
def built(request, tmp_path_factory):
    """The project's schema made from its config, and its gold set imported with the leading space trimmed."""
    name = request.param
    tmp = tmp_path_factory.mktemp(name)
    schema_path = tmp / "schema.yaml"
    ok("schema", "--from-config", FOREIGN / f"{name}.config.xml", "-o", schema_path)
    out = ok("import", FOREIGN / f"{name}.export.json", "--schema", schema_path, "--on-edge-whitespace", "trim",
             "-o", tmp / "gold")
    return name, tmp, schema_path, out


def test_each_export_imports_whole_with_trim(built):
    name, tmp, _, out = built
    tasks = json.loads((FOREIGN / f"{name}.export.json").read_text(encoding="utf-8"))
    assert f"{len(tasks)} task(s) read from 1 export(s): {len(tasks)} imported, 0 quarantined, 0 skipped" in out
    assert not (tmp / "gold.quarantine.jsonl").exists()
    build = json.loads((tmp / "gold" / "build.json").read_text(encoding="utf-8"))
    region, text = LEADING_SPACE[name]
    assert build["on_edge_whitespace"] == "trim"
    [trimmed] = build["trimmed_spans"]
    assert f"region {region}: span" in trimmed and repr(text) in trimmed and repr(text[1:]) in trimmed


def test_the_default_quarantines_only_the_leading_space_task(built, tmp_path):
    name, _, schema_path, _ = built
    result = run("import", FOREIGN / f"{name}.export.json", "--schema", schema_path, "-o", tmp_path / "gold")
    assert result.exit_code == 0, result.output
    tasks = json.loads((FOREIGN / f"{name}.export.json").read_text(encoding="utf-8"))
    assert f"{len(tasks) - 1} imported, 1 quarantined, 0 skipped" in result.output
    [q] = [json.loads(x) for x in (tmp_path / "gold.quarantine.jsonl").read_text(encoding="utf-8").splitlines()]
    region, text = LEADING_SPACE[name]
    assert f"region {region}" in q["reason"] and repr(text) in q["reason"]
    assert "--on-edge-whitespace trim" in q["reason"]


def test_same_text_twice_is_two_documents_with_stable_ids(built):
    name, tmp, _, _ = built
    tasks = json.loads((FOREIGN / f"{name}.export.json").read_text(encoding="utf-8"))
    field = "content" if name == "ar-news" else "text"
    texts = [t["data"][field] for t in tasks]
    [repeated] = {x for x in texts if texts.count(x) == 2}
    first, second = [t["id"] for t in tasks if t["data"][field] == repeated]
    docs, _ = gold_documents(tmp / "gold")
    ids = {d.id: d for d in docs}
    # the first task keeps the text's content id, the second is `<content id>-<task id>`
    assert {document_id(repeated), f"{document_id(repeated)}-{second}"} <= set(ids)
    assert ids[document_id(repeated)].metadata["task_id"] == first
    assert ids[f"{document_id(repeated)}-{second}"].metadata["task_id"] == second
    assert len(docs) == len(tasks)


def test_document_choices_are_a_column_and_metadata(built):
    name, tmp, schema_path, _ = built
    schema = load_schema(schema_path)
    [control] = schema.document_choices
    tasks = json.loads((FOREIGN / f"{name}.export.json").read_text(encoding="utf-8"))
    expected = {}
    for t in tasks:
        [choice] = [r for r in t["annotations"][0]["result"] if r.get("from_name") == control]
        expected[t["id"]] = choice["value"]["choices"]
    dataset = load_from_disk(str(tmp / "gold"))["test"]
    for row in dataset:
        meta = json.loads(row["metadata"])
        assert meta["doc_labels"] == {control: expected[meta["task_id"]]}
        assert row["doc_labels"] == [{"name": control, "value": v} for v in expected[meta["task_id"]]]


def test_relations_and_region_choices_are_kept(built):
    name, tmp, _, _ = built
    docs = {d.metadata["task_id"]: d for d in gold_documents(tmp / "gold")[0]}
    if name == "en-news":
        assert docs[201].metadata["relations"] == [{"from": "p1", "to": "o1", "labels": ["works_for"]}]
        assert docs[204].metadata["relations"] == [{"from": "o2", "to": "l2", "labels": ["located_in"]}]
    elif name == "ar-news":  # relations are roles here: the config has a trigger control
        meeting = docs[31].events[0]
        assert (meeting.type, meeting.attributes) == ("Meeting", {"polarity": "positive"})
        assert [(a.role, a.entity) for a in meeting.arguments] == [("agent", "e1"), ("place", "e3")]
        assert [(a.role, a.entity) for a in docs[33].events[0].arguments] == [("place", "e5")]  # drawn backwards
    else:
        assert docs[5001].metadata["relations"] == [{"from": "x1", "to": "x2", "labels": ["family"]}]
        assert docs[5002].metadata["region_choices"] == {"y1": {"confidence": "unsure"}}


def test_score_against_itself_and_export_formats(built, tmp_path):
    name, tmp, _, _ = built
    gold = tmp / "gold"
    ok("export", gold, "--format", "jsonl", "-o", tmp_path / "gold.jsonl")
    records = [json.loads(x) for x in (tmp_path / "gold.jsonl").read_text(encoding="utf-8").splitlines()]
    assert all(r["doc_labels"] for r in records)  # the document choices travel with the JSONL
    ok("score", "--gold", gold, "--predictions", tmp_path / "gold.jsonl", "--json", tmp_path / "report.json")
    report = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    assert report["entities"]["strict"]["micro"]["f1"] == 1.0
    assert report["predictions"]["rejected"] == 0
    if name == "ar-news":
        assert report["triggers"]["classification"]["f1"] == 1.0
        assert report["arguments"]["classification"]["f1"] == 1.0
    else:  # NER only: the event columns are there and empty, and events are not scored
        assert report["triggers"]["classification"]["f1"] is None
        assert all(not r["events"] for r in records)
    ok("export", gold, "--format", "brat", "-o", tmp_path / "brat")
    docs, _ = gold_documents(gold)
    back = read_brat(tmp_path / "brat")
    assert sorted((d.id, sorted((e.start, e.end, e.type) for e in d.entities)) for d in back) == \
        sorted((d.id, sorted((e.start, e.end, e.type) for e in d.entities)) for d in docs)


def test_config_and_schema_from_config_route_alike():
    for name in PROJECTS:
        xml = (FOREIGN / f"{name}.config.xml").read_text(encoding="utf-8")
        via_config, via_schema = routing_from_config(xml, name), Routing(schema_from_config(xml, name))
        assert via_config.controls() == via_schema.controls() and via_config.text_field == via_schema.text_field
    ar = schema_from_config((FOREIGN / "ar-news.config.xml").read_text(encoding="utf-8"))
    assert ar.controls.text == "content" and ar.controls.entity == ("label",)
    assert ar.controls.trigger == ("event_type",) and ar.document_choices["topic"].multiple


def test_a_schema_without_the_control_names_it_and_the_way_out(schema):
    result = import_exports([FOREIGN / "en-news.export.json"], Routing(schema))  # our own schema: other labels
    assert result.counts["quarantined"] == 4
    reason = result.quarantined[1].reason
    assert "label 'Location' (control label) is not in schema ace-arabic-news, which schema" in reason
    assert "--config CONFIG.xml" in reason and "schema --from-config" in reason
    # the right labels under a control the schema does not name (the case: `label`, not `entity`)
    same_labels = parse_schema("name: news\nentity_types:\n  Person: {}\n  Organization: {}\n  Location: {}\n"
                               "document_choices:\n  sentiment: {values: [positive, neutral, negative]}\n")
    result = import_exports([FOREIGN / "en-news.export.json"], Routing(same_labels))
    reason = result.quarantined[1].reason
    assert "region a1: label 'Location' is under control 'label', which schema news does not have (its controls: " \
        "'entity', 'trigger')" in reason
    assert "--config CONFIG.xml" in reason and "schema --from-config" in reason


def test_ner_only_schema_without_event_types_loads():
    schema = parse_schema("name: ner\nentity_types:\n  PER: {}\ncontrols:\n  entity: label\n")
    assert schema.event_types == {} and schema.controls.entity == ("label",)
    with pytest.raises(SchemaError, match="controls.colour"):
        parse_schema("name: ner\nentity_types:\n  PER: {}\ncontrols:\n  colour: red\n")
    with pytest.raises(SchemaError, match="document_choices.topic.values"):
        parse_schema("name: ner\nentity_types:\n  PER: {}\ndocument_choices:\n  topic: {values: []}\n")


def test_document_choice_outside_its_values_is_a_named_fault(tmp_path):
    name = "en-news"
    schema = schema_from_config((FOREIGN / f"{name}.config.xml").read_text(encoding="utf-8"))
    tasks = json.loads((FOREIGN / f"{name}.export.json").read_text(encoding="utf-8"))
    [choice] = [r for r in tasks[1]["annotations"][0]["result"] if r["type"] == "choices"]
    choice["value"]["choices"] = ["furious"]
    (tmp_path / "bad.json").write_text(json.dumps(tasks[1:2]), encoding="utf-8")
    result = import_exports([tmp_path / "bad.json"], Routing(schema))
    [q] = result.quarantined
    assert "document choice sentiment='furious' is not one of" in q.reason


def test_a_choice_control_the_schema_lacks_says_what_to_declare(tmp_path):
    schema = parse_schema("name: ner\nentity_types:\n  Person: {}\n  Organization: {}\n  Location: {}\n"
                          "controls:\n  entity: label\nrelations: [works_for, located_in]\n")
    result = import_exports([FOREIGN / "en-news.export.json"], Routing(schema))
    assert result.counts["quarantined"] == 4
    assert "document_choices" in result.quarantined[1].reason and "'sentiment'" in result.quarantined[1].reason


def test_score_labelstudio_matches_a_repeated_text_to_its_own_document(built, tmp_path):
    name, tmp, _, _ = built
    tasks = json.loads((FOREIGN / f"{name}.export.json").read_text(encoding="utf-8"))
    who = tasks[0]["annotations"][0]["completed_by"]
    who = who["email"] if isinstance(who, dict) else f"user:{who}"
    result = run("score", "--gold", tmp / "gold", "--labelstudio", FOREIGN / f"{name}.export.json", "--annotator",
                 who, "--allow-rejected", "--json", tmp_path / "r.json", "--quarantine", tmp_path / "q.jsonl")
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    # every task is its gold document's, the repeated text included; only the leading-space task is rejected
    # (score reads the export as it is: no trimming)
    assert report["predictions"]["documents"] == len(tasks) - 1 and report["predictions"]["not_scored"] == 0
    [rejected] = report["predictions"]["rejected_reasons"]
    assert LEADING_SPACE[name][1] in rejected["reason"]
    field = "content" if name == "ar-news" else "text"
    texts = [t["data"][field] for t in tasks]
    second = [t for k, t in enumerate(tasks) if texts.index(texts[k]) != k]
    assert [f"{document_id(t['data'][field])}-{t['id']}" for t in second] == \
        [k for k in report["per_document"] if "-" in k]
    # the repeated text's copy is scored against its own gold: tp = predicted = gold entities
    assert all(len(set(report["per_document"][k]["entities"])) == 1 for k in report["per_document"] if "-" in k)


@pytest.mark.parametrize("start, end, kept", [
    (0, 11, (0, 10)),   # 'Jane Smith ' -> trailing space trimmed
    (10, 16, (11, 15)),  # ' went ' -> both edges
    (10, 11, None),      # ' ' -> nothing left: still quarantined
    (16, 20, None),      # 'ـبيت': a tatweel edge is never trimmed
])
def test_trim_moves_whitespace_edges_inward_only(start, end, kept):
    from annotate.studio.export import annotation_to_document

    text = "Jane Smith went ـبيت home"
    schema = parse_schema("name: ner\nentity_types:\n  PER: {}\n")
    task = {"id": 1, "data": {"text": text}}
    region = {"id": "r", "from_name": "entity", "to_name": "text", "type": "labels",
              "value": {"start": start, "end": end, "text": text[start:end], "labels": ["PER"]}}
    doc, errors, warnings = annotation_to_document(task, {"id": 2, "result": [region]}, Routing(schema), "d", "x",
                                                   on_edge_whitespace="trim")
    if kept is None:
        assert doc is None and "starts or ends on whitespace or tatweel" in errors[0]
    else:
        assert [(e.start, e.end) for e in doc.entities] == [kept] and "trimmed to" in warnings[0]


def test_the_arrow_schema_is_the_features_own_without_importing_datasets(schema):
    """`rows.arrow_schema` (what an import's workers write before `datasets` is loaded) has the very types of
    `rows.features` (what the dataset files declare), for the bundled schema and one with document choices."""
    from annotate.gold.rows import arrow_schema, features

    ar = schema_from_config((FOREIGN / "ar-news.config.xml").read_text(encoding="utf-8"))
    for s in (schema, ar):
        assert arrow_schema(s).equals(features(s).arrow_schema, check_metadata=False), s.name
    assert "doc_labels" in arrow_schema(ar).names and "doc_labels" not in arrow_schema(schema).names
    code = "import sys, annotate.gold.build, annotate.gold.rows; print('datasets' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True).stdout.strip() == "False"
