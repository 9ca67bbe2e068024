"""The committed gold set: it rebuilds exactly from the committed exports, and it follows the guidelines."""

import json
from pathlib import Path

import pytest

from annotate.articles.ingest import ingest
from annotate.core.conformance import guideline_problems
from annotate.gold.build import build_gold
from annotate.gold.exportfiles import export_files
from annotate.gold.layout import BUILD_FILE
from annotate.gold.reader import gold_documents
from annotate.studio.config import Routing

ROOT = Path(__file__).resolve().parent.parent
GOLD = ROOT / "gold"


@pytest.fixture(scope="module")
def rebuilt(tmp_path_factory, schema):
    out = tmp_path_factory.mktemp("gold") / "dataset"
    texts = {d.id: d.text for d in ingest([GOLD / "articles"]).documents}
    about = (GOLD / "ABOUT.md").read_text(encoding="utf-8")
    # from the repository root with relative paths, as `annotate import gold/annotations` and the main job run:
    # the rows record which export each document came from
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(ROOT)
        return build_gold(export_files([Path("gold/annotations")]), Routing(schema), out, reference_texts=texts,
                          about=about)


def test_the_gold_set_rebuilds_exactly_from_the_committed_exports(rebuilt):
    committed = json.loads((GOLD / "dataset" / BUILD_FILE).read_text(encoding="utf-8"))
    assert rebuilt.info is not None
    assert rebuilt.result.quarantined == [] and rebuilt.quarantine_path is None
    assert rebuilt.info.fingerprint == committed["fingerprint"]
    assert rebuilt.info.build["files_digest"] == committed["files_digest"]
    # every article is in the set, each from the reviewer's ground truth
    docs, info = gold_documents(GOLD / "dataset")
    assert info.fingerprint == committed["fingerprint"]  # recomputed from the committed rows
    assert len(docs) == len(list((GOLD / "articles").glob("*.txt"))) == 5
    assert {d.metadata["gold_rule"] for d in docs} == {"ground truth"}
    # the two passes behind every document, and the reviewer who adjudicated them, in fields of their own
    assert {d.provenance.annotators for d in docs} == {("annotator-a@annotate.local", "annotator-b@annotate.local")}
    assert {d.provenance.reviewers for d in docs} == {("reviewer@annotate.local",)}
    assert (rebuilt.info.path / "README.md").read_text(encoding="utf-8") == \
        (GOLD / "dataset" / "README.md").read_text(encoding="utf-8")


def test_the_gold_set_names_the_guidelines_it_was_made_under(schema):
    """Changing the guidelines without rebuilding the gold set fails here: the set must say which rules made it."""
    committed = json.loads((GOLD / "dataset" / BUILD_FILE).read_text(encoding="utf-8"))
    named = committed.get("guidelines") or {}
    assert named.get("file") == "guidelines.md" and named.get("version") == schema.guidelines_version != ""
    assert named.get("fingerprint") == schema.guidelines_fingerprint, (
        "schemas/guidelines.md changed after the gold set was built: decide whether the gold set follows the "
        "change, then rebuild it (`annotate import gold/annotations --articles gold/articles --about "
        "gold/ABOUT.md -o gold/dataset`)")
    card = (GOLD / "dataset" / "README.md").read_text(encoding="utf-8")
    assert f"version {schema.guidelines_version}, content hash `{schema.guidelines_fingerprint}`" in card


def test_the_gold_set_follows_the_checkable_guidelines(schema):
    docs, info = gold_documents(GOLD / "dataset")
    problems = [f"{d.id}: {p}" for d in docs for p in guideline_problems(d, info.schema)]
    assert problems == []
    # complete annotation of the whole schema: every article has entities of the core types and events
    for d in docs:
        types = {e.type for e in d.entities}
        assert {"PER", "ORG", "GPE"} <= types, d.id
        assert len(d.events) >= 10 and sum(len(v.arguments) for v in d.events) >= 10, d.id
        assert all(v.attributes.get("realis") in schema.attributes["realis"].values for v in d.events)


def test_guideline_checks_catch_what_they_promise(schema):
    from annotate.core.model import Argument, Document, Entity, Event, Span

    text = "قال الكاظمي والبيشمركة «داعش» للقوات في بغداد"
    at = text.index
    doc = Document("x", text, [Entity("e1", at("والبيشمركة"), at("والبيشمركة") + 10, "ORG"),
                               Entity("e2", at("«"), at("»") + 1, "ORG"),
                               Entity("e3", at("للقوات"), at("للقوات") + 6, "ORG"),
                               Entity("e4", at("بغداد"), len(text), "TIME")],
                   [Event("v1", "Contact.Statement", Span(0, 3), {"realis": "actual"}, (Argument("Speaker", "e4"),))])
    problems = " | ".join(guideline_problems(doc, schema))
    assert "proclitic 'و' before ال" in problems
    assert "starts on punctuation '«'" in problems and "ends on punctuation '»'" in problems
    assert "starts with لل" in problems
    assert "role Speaker does not accept entity e4 of type TIME" in problems


def test_the_rebuild_writes_every_committed_file_byte_for_byte(rebuilt):
    """The main job rebuilds gold/dataset in place: it must leave the committed files exactly as they are (the
    Arrow state's fingerprint included), so a fresh clone stays clean after `bash .ci/main`."""
    committed = GOLD / "dataset"
    names = sorted(p.relative_to(committed).as_posix() for p in committed.rglob("*") if p.is_file())
    rebuilt_names = sorted(p.relative_to(rebuilt.info.path).as_posix() for p in rebuilt.info.path.rglob("*")
                           if p.is_file())
    assert rebuilt_names == names
    differ = [n for n in names if (committed / n).read_bytes() != (rebuilt.info.path / n).read_bytes()]
    assert differ == []
