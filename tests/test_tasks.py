import json
from dataclasses import replace

from click.testing import CliRunner
from label_studio_sdk.label_interface import LabelInterface

from annotate.cli import main
from annotate.core.model import Argument, Entity, Event, Span
from annotate.core.schema import parse_schema
from annotate.predictions.records import read_predictions
from annotate.studio.config import labeling_config
from annotate.studio.tasks import PredictionValidator, build_tasks, results_for


def test_config_is_valid_rtl_and_symbol_granular(schema):
    xml = labeling_config(schema)
    li = LabelInterface(xml)
    li.validate()
    assert "direction: rtl" in xml and 'granularity="symbol"' in xml
    assert set(li.get_control("entity").labels) == set(schema.entity_types)
    assert set(li.get_control("trigger").labels) == set(schema.event_types)
    assert li.get_control("realis").labels == list(schema.attributes["realis"].values)
    for role in schema.role_names:
        assert f'<Relation value="{role}"/>' in xml


def test_label_names_needing_xml_escapes_survive():
    s = parse_schema("""
name: odd
entity_types:
  'A&B': {description: 'x < y "quoted"'}
  "it's": {}
event_types:
  'E<1>':
    roles:
      'R&D': ['A&B']
""")
    li = LabelInterface(labeling_config(s))
    li.validate()
    assert li.get_control("entity").labels == ["A&B", "it's"]
    assert li.get_control("trigger").labels == ["E<1>"]


def _predicted(doc):
    i = doc.text.index("الكاظمي")
    j = doc.text.index("اجتماع")
    ent = Entity("e1", i, i + len("الكاظمي"), "PER")
    ev = Event("v1", "Contact.Meet", Span(j, j + len("اجتماع")), {"realis": "actual"}, (Argument("Entity", "e1"),))
    return replace(doc, entities=[ent], events=[ev])


def test_predictions_become_sdk_valid_tasks(schema, bundled_documents):
    doc = next(d for d in bundled_documents if "اجتماع" in d.text and "الكاظمي" in d.text)
    tasks, rejected = build_tasks(bundled_documents, schema, {doc.id: _predicted(doc)}, "baseline-1")
    assert not rejected and len(tasks) == 5
    task = next(t for t in tasks if t["data"]["doc_id"] == doc.id)
    pred = task["predictions"][0]
    assert pred["model_version"] == "baseline-1"
    kinds = sorted(r["type"] for r in pred["result"])
    assert kinds == ["choices", "labels", "labels", "relation"]
    assert PredictionValidator(schema).errors(pred) == []
    rel = [r for r in pred["result"] if r["type"] == "relation"][0]
    assert rel == {"type": "relation", "from_id": "v1", "to_id": "e1", "direction": "right", "labels": ["Entity"]}


def test_prediction_rejected_by_config_is_quarantined_not_written(schema, bundled_documents):
    doc = next(d for d in bundled_documents if "اجتماع" in d.text and "الكاظمي" in d.text)
    good = _predicted(doc)
    bad = replace(good, events=[replace(good.events[0], arguments=(Argument("NotARole", "e1"),))])
    v = PredictionValidator(schema)
    assert any("NotARole" in e for e in v.errors({"result": results_for(bad)}))
    tasks, rejected = build_tasks(bundled_documents, schema, {doc.id: bad}, "baseline-1")
    assert len(tasks) == 5 and not any("predictions" in t for t in tasks)  # the document still goes in
    (r,) = rejected
    assert doc.id in r.reason and "NotARole" in r.reason and r.record["result"] == results_for(bad)


def test_predictions_jsonl_errors_name_line_and_field(tmp_path, schema, bundled_documents):
    doc = bundled_documents[0]
    lines = [
        {"id": doc.id, "entities": [{"id": "e1", "start": 0, "end": 5, "type": "PER"}]},
        {"id": "nope", "entities": []},
        {"id": doc.id, "entities": [{"id": "e1", "start": 0, "end": 99999, "type": "PER"}]},
        {"id": bundled_documents[1].id, "entities": [{"id": "e1", "start": 0, "end": 3, "type": "ALIEN"}]},
        {"id": bundled_documents[2].id, "entities": [{"id": "e1", "start": 0, "end": 3}]},
    ]
    p = tmp_path / "p.jsonl"
    p.write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    preds, rejected = read_predictions(p, bundled_documents, schema)
    assert list(preds) == [doc.id]
    msgs = [r.reason for r in rejected]
    assert rejected[0].source.endswith("p.jsonl:2") and "no such document" in msgs[0]
    assert "a second prediction for this document" in msgs[1]
    assert "ALIEN" in msgs[2] and "not an entity type" in msgs[2]
    assert "'type' is missing" in msgs[3]


def test_tasks_command_writes_cleaned_text_exactly(tmp_path, bundled_documents):
    out = tmp_path / "tasks.json"
    res = CliRunner().invoke(main, ["tasks", "gold/articles", "-o", str(out)])
    assert res.exit_code == 0, res.output
    tasks = json.loads(out.read_text(encoding="utf-8"))
    assert [t["data"]["text"] for t in tasks] == [d.text for d in bundled_documents]
    assert [t["data"]["doc_id"] for t in tasks] == [d.id for d in bundled_documents]
    assert "5 task(s) written" in res.output and "boilerplate" in res.output
    assert "masthead" in res.output


def test_config_command_and_help():
    r = CliRunner().invoke(main, ["config"])
    assert r.exit_code == 0 and r.output.startswith("<View>")
    for cmd in ["schema", "config", "tasks"]:
        h = CliRunner().invoke(main, [cmd, "--help"])
        assert h.exit_code == 0 and "Example" in h.output


def test_every_command_explains_itself_with_an_example():
    import click

    def walk(cmd, path):
        yield path, cmd
        if isinstance(cmd, click.Group):
            for name, sub in cmd.commands.items():
                yield from walk(sub, path + [name])

    for path, _ in walk(main, []):
        res = CliRunner().invoke(main, path + ["--help"])
        assert res.exit_code == 0, path
        assert "Example" in res.output, f"annotate {' '.join(path)} --help has no example"
