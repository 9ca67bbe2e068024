"""`annotate export`: the committed gold set round-trips through each format's reader (issue 12 item 4)."""

from __future__ import annotations

import dataclasses
import json

import pytest
from click.testing import CliRunner

from annotate.cli import main
from annotate.core.model import Argument, Document, Entity, Event, Span
from annotate.formats.brat import read_brat, write_brat
from annotate.formats.conll import read_conll_spans, write_conll
from annotate.gold.reader import gold_documents
from annotate.predictions.records import read_predictions

GOLD = "gold/dataset"


@pytest.fixture(scope="module")
def gold():
    docs, info = gold_documents(GOLD)
    return docs, info


def _export(fmt, out):
    result = CliRunner().invoke(main, ["export", GOLD, "--format", fmt, "-o", str(out)])
    assert result.exit_code == 0, result.output
    return result.output


def _key(doc: Document):
    return (sorted((e.id, e.start, e.end, e.type) for e in doc.entities),
            sorted((v.id, v.type, v.trigger.start, v.trigger.end, tuple(sorted(v.attributes.items())), v.arguments)
                   for v in doc.events))


def test_jsonl_round_trips_through_read_predictions(gold, tmp_path):
    docs, info = gold
    output = _export("jsonl", tmp_path / "gold.jsonl")
    assert "439 entities, 170 events, 267 arguments, 170 attributes" in output
    assert "not held by jsonl: document metadata" in output
    back, rejected = read_predictions(tmp_path / "gold.jsonl", docs, info.schema)
    assert not rejected
    assert {d.id: _key(d) for d in back.values()} == {d.id: _key(d) for d in docs}
    # and the real `annotate score` finds it perfect
    result = CliRunner().invoke(main, ["score", "--gold", GOLD, "--predictions", str(tmp_path / "gold.jsonl"),
                                       "--json", str(tmp_path / "r.json"), "--resamples", "0"])
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["entities"]["strict"]["micro"]["f1"] == 1.0
    assert report["arguments"]["classification_with_trigger"]["f1"] == 1.0


def test_conll_scores_one_against_itself_and_gives_back_the_same_entity_spans(gold, tmp_path):
    docs, _ = gold
    out = tmp_path / "gold.conll"
    output = _export("conll", out)
    assert "not held by conll: 170 event(s) with 267 argument(s) and 170 attribute value(s)" in output
    assert "cut(s) inside a word" in output
    result = CliRunner().invoke(main, ["score", "--gold-conll", str(out), "--pred-conll", str(out),
                                       "--json", str(tmp_path / "r.json")])
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "r.json").read_text())
    for mode in ("strict", "default"):
        micro = report["entities"][mode]["micro"]
        assert (micro["f1"], micro["tp"], micro["fp"], micro["fn"]) == (1.0, 439, 0, 0)
    assert report["token_accuracy"] == 1.0
    spans = read_conll_spans(out, {d.id: d.text for d in docs})
    assert spans == {d.id: sorted((e.start, e.end, e.type) for e in d.entities) for d in docs}
    # nested entities need more than one tag column, and they are all there
    assert max(len(line.split("\t")) for line in out.read_text().splitlines()) - 1 >= 2


def test_brat_round_trips_through_its_reader(gold, tmp_path):
    docs, info = gold
    output = _export("brat", tmp_path / "brat")
    assert "439 entities, 170 events" in output
    assert (tmp_path / "brat" / "annotation.conf").read_text().startswith("[entities]\nPER\n")
    back = read_brat(tmp_path / "brat", info.schema)
    assert {d.id: _key(d) for d in back} == {d.id: _key(d) for d in docs}
    assert {d.id: d.text for d in back} == {d.id: d.text for d in docs}
    ann = next((tmp_path / "brat").glob("*.ann")).read_text(encoding="utf-8")
    assert any(line.startswith("E") and ":T" in line for line in ann.splitlines())
    assert any(line.startswith("A") and " realis E" in line.replace("\t", " ") for line in ann.splitlines())


def test_brat_and_conll_keep_hard_cases(schema, tmp_path):
    """A span over a line break (brat fragments), a role used twice (brat's number suffix), an id that is no
    file name, an entity across a sentence end (CoNLL joins the sentences rather than cut it)."""
    text = "قتل جنديان.\nوأصيب مدني في بغداد. ثم قال مسؤول"
    a, b = text.index("جنديان."), text.index("وأصيب")
    ents = [Entity("x1", text.index("جنديان"), text.index("جنديان") + 6, "PER"),
            Entity("x2", text.index("مدني"), text.index("مدني") + 4, "PER"),
            Entity("x3", a, b + 5, "ORG"),  # holds ".\n": across a line break and a sentence end
            Entity("x4", text.index("بغداد"), text.index("بغداد") + 5, "GPE")]
    events = [Event("v1", "Life.Die", Span(0, 3), {"realis": "actual"},
                    (Argument("Victim", "x1"), Argument("Victim", "x2"), Argument("Place", "x4")))]
    doc = Document("a/b c", text, ents, events)
    report = write_brat([doc], tmp_path / "brat", schema)
    assert "1 span(s) hold a line break" in report.not_held[0]
    ann = (tmp_path / "brat" / "a_b_c.ann").read_text(encoding="utf-8")
    assert "Victim:T1 Victim2:T2" in ann and f"ORG {a} {a + 7};{a + 8} {b + 5}" in ann
    back = read_brat(tmp_path / "brat", schema)
    assert [_key(d) for d in back] == [_key(doc)] and back[0].id == "a/b c"
    with pytest.raises(ValueError, match="whitespace"):
        write_conll([doc], tmp_path / "x.conll")
    doc = dataclasses.replace(doc, id="doc-1")  # Documents are immutable: a change makes a new one
    write_conll([doc], tmp_path / "x.conll")
    assert read_conll_spans(tmp_path / "x.conll", {"doc-1": text}) == {
        "doc-1": sorted((e.start, e.end, e.type) for e in ents)}


def test_export_errors_are_one_line(tmp_path):
    result = CliRunner().invoke(main, ["export", str(tmp_path), "--format", "jsonl", "-o", str(tmp_path / "x")])
    assert result.exit_code == 1 and "not a gold dataset folder" in result.output
    (tmp_path / "file").write_text("x")
    result = CliRunner().invoke(main, ["export", GOLD, "--format", "brat", "-o", str(tmp_path / "file")])
    assert result.exit_code == 2 and "brat writes a folder" in result.output
    assert "Traceback" not in result.output
    # a brat folder of an earlier export is replaced, not mixed with the new one; any other folder is refused
    (tmp_path / "brat").mkdir()
    (tmp_path / "brat" / "notes.txt").write_text("mine")
    result = CliRunner().invoke(main, ["export", GOLD, "--format", "brat", "-o", str(tmp_path / "brat")])
    assert result.exit_code == 1 and "is not empty" in result.output
    assert _export("brat", tmp_path / "brat2") and _export("brat", tmp_path / "brat2")
    (tmp_path / "brat2" / "documents.tsv").write_text("old-doc\told\n" + (tmp_path / "brat2" / "documents.tsv")
                                                       .read_text())
    (tmp_path / "brat2" / "old-doc.ann").write_text("T1\tPER 0 1\tx\n")
    (tmp_path / "brat2" / "old-doc.txt").write_text("x")
    _export("brat", tmp_path / "brat2")
    assert not (tmp_path / "brat2" / "old-doc.ann").exists() and len(list((tmp_path / "brat2").glob("*.ann"))) == 5
