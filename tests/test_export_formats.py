"""`annotate export`: the committed gold set round-trips through each format's reader (issue 12 item 4)."""

from __future__ import annotations

import dataclasses
import json
import re

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
    assert "444 entities, 173 events, 292 arguments, 173 attributes" in output
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
    assert "not held by conll: 173 event(s) with 292 argument(s) and 173 attribute value(s)" in output
    assert "cut(s) inside a word" in output
    result = CliRunner().invoke(main, ["score", "--gold-conll", str(out), "--pred-conll", str(out),
                                       "--json", str(tmp_path / "r.json")])
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "r.json").read_text())
    for mode in ("strict", "default"):
        micro = report["entities"][mode]["micro"]
        assert (micro["f1"], micro["tp"], micro["fp"], micro["fn"]) == (1.0, 444, 0, 0)
    assert report["token_accuracy"] == 1.0
    spans = read_conll_spans(out, {d.id: d.text for d in docs})
    assert spans == {d.id: sorted((e.start, e.end, e.type) for e in d.entities) for d in docs}
    # nested entities need more than one tag column, and they are all there
    assert max(len(line.split("\t")) for line in out.read_text().splitlines()) - 1 >= 2


def test_brat_round_trips_through_its_reader(gold, tmp_path):
    docs, info = gold
    output = _export("brat", tmp_path / "brat")
    assert "444 entities, 173 events" in output
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


# --- brat's own rules --------------------------------------------------------------------------------------------
# Re-stated from brat's `annotation.py` (how a .ann file is parsed) and `verify_annotations.py` (what brat reports
# as an issue when it opens a document against annotation.conf), for what this export writes.

_BRAT_TYPE = re.compile(r"^[A-Za-z0-9_-]+$")
_BRAT_ID = {"T": re.compile(r"^T\d+$"), "E": re.compile(r"^E\d+$"), "A": re.compile(r"^A\d+$"),
            "#": re.compile(r"^#\d+$")}


def brat_conf(text: str) -> dict:
    """annotation.conf as brat reads it: sections of lines; events with their roles, each role with its
    cardinality mark and the entity types it takes; attributes with their targets and values; <OVERLAP> rules."""
    conf = {"entities": [], "events": {}, "attributes": {}, "overlap": [], "issues": []}
    section = None
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        if line.startswith("["):
            section = line.strip("[] ")
            continue
        name, _, args = line.partition("\t")
        parsed = {}
        for arg in filter(None, (a.strip() for a in args.split(","))):
            key, _, values = arg.partition(":")
            parsed[key] = values.split("|")
        if section == "relations" and name == "<OVERLAP>":
            conf["overlap"].append(parsed)
            continue
        if not _BRAT_TYPE.match(name):
            conf["issues"].append(f"annotation.conf [{section}]: {name!r} is not a brat type name")
        if section == "entities":
            conf["entities"].append(name)
        elif section == "events":
            roles = {}
            for key, values in parsed.items():
                role, mark = (key[:-1], key[-1]) if key[-1:] in "*+?" else (key, "")
                if not _BRAT_TYPE.match(role):
                    conf["issues"].append(f"annotation.conf: role {role!r} of {name} is not a brat name")
                roles[role] = (mark, values)
            conf["events"][name] = roles
        elif section == "attributes":
            conf["attributes"][name] = parsed
    for name, roles in conf["events"].items():
        for role, (_, types) in roles.items():
            for t in types:
                if t not in conf["entities"]:
                    conf["issues"].append(f"annotation.conf: {name} {role} takes {t!r}, which is no entity type")
    return conf


def _overlap_allowed(conf: dict, t1: str, t2: str, kind: str) -> bool:
    for rule in conf["overlap"]:
        a1, a2, kinds = rule.get("Arg1", []), rule.get("Arg2", []), rule.get("<OVL-TYPE>", [])
        fits = (("<ENTITY>" in a1 or t1 in a1) and ("<ENTITY>" in a2 or t2 in a2)) or \
               (("<ENTITY>" in a1 or t2 in a1) and ("<ENTITY>" in a2 or t1 in a2))
        if fits and (kind in kinds or "<ANY>" in kinds):
            return True
    return False


def brat_issues(ann: str, text: str, conf: dict) -> list[str]:
    """What brat would report on one document: malformed lines, unknown or duplicate ids, undeclared types,
    offsets outside the text or across a line break, a text column that differs from the document, event
    arguments of a role the event type lacks or of an entity type the role refuses, too many of a `?` role,
    attributes of an unknown name, target or value, and entity overlaps no <OVERLAP> rule allows."""
    issues, spans, events, seen = [], {}, {}, set()
    for lineno, line in enumerate(ann.splitlines(), 1):
        cols = line.split("\t")
        ident = cols[0]
        kind = ident[:1]
        if kind not in _BRAT_ID or not _BRAT_ID[kind].match(ident):
            issues.append(f"line {lineno}: id {ident!r} is not a brat id")
            continue
        if ident in seen:
            issues.append(f"line {lineno}: duplicate id {ident}")
        seen.add(ident)
        if kind == "T":
            label, _, raw = cols[1].partition(" ")
            frags = [tuple(int(x) for x in f.split()) for f in raw.split(";")]
            if label not in conf["entities"] and label not in conf["events"]:
                issues.append(f"{ident}: type {label!r} is not declared")
            for s, e in frags:
                if not 0 <= s < e <= len(text) or "\n" in text[s:e]:
                    issues.append(f"{ident}: fragment {s} {e} is outside the text or holds a line break")
            if len(cols) < 3 or cols[2] != " ".join(text[s:e] for s, e in frags):
                issues.append(f"{ident}: the text column differs from the document text")
            spans[ident] = (label, frags)
        elif kind == "E":
            etype, _, trig = cols[1].split()[0].partition(":")
            events[ident] = etype
            if etype not in conf["events"]:
                issues.append(f"{ident}: event type {etype!r} is not declared")
                continue
            if spans.get(trig, ("",))[0] != etype:
                issues.append(f"{ident}: trigger {trig} is not a T line of type {etype}")
            counts: dict[str, int] = {}
            for arg in cols[1].split()[1:]:
                role, _, target = arg.partition(":")
                role = re.sub(r"\d+$", "", role)  # brat numbers a repeated role: Victim2
                counts[role] = counts.get(role, 0) + 1
                if role not in conf["events"][etype]:
                    issues.append(f"{ident}: {etype} has no role {role}")
                elif spans.get(target, ("",))[0] not in conf["events"][etype][role][1]:
                    issues.append(f"{ident}: {role} cannot take {target}")
            for role, n in counts.items():
                mark = conf["events"][etype].get(role, ("",))[0]
                if n > 1 and mark in ("", "?"):
                    issues.append(f"{ident}: {n} {role} arguments, brat allows one")
        elif kind == "A":
            name, target, value = cols[1].split()
            decl = conf["attributes"].get(name)
            if decl is None or target not in events or value not in decl.get("Value", []):
                issues.append(f"{ident}: attribute {name} {target} {value} is not declared for it")
        elif kind == "#" and cols[1].split()[1] not in seen:
            issues.append(f"{ident}: a note on {cols[1].split()[1]}, which is not there")
    entity_spans = [(t, label, frags[0][0], frags[-1][1]) for t, (label, frags) in spans.items()
                    if label in conf["entities"]]
    for i, (t1, l1, s1, e1) in enumerate(entity_spans):
        for t2, l2, s2, e2 in entity_spans[i + 1:]:
            if s1 < e2 and s2 < e1:
                kind = "equal" if (s1, e1) == (s2, e2) else \
                    "contain" if (s1 <= s2 and e2 <= e1) or (s2 <= s1 and e1 <= e2) else "cross"
                if not _overlap_allowed(conf, l1, l2, kind):
                    issues.append(f"{t1} and {t2}: {kind} overlap without an <OVERLAP> rule")
    return issues


def brat_folder_issues(folder) -> list[str]:
    conf = brat_conf((folder / "annotation.conf").read_text(encoding="utf-8"))
    issues = list(conf["issues"])
    for ann in sorted(folder.glob("*.ann")):
        text = ann.with_suffix(".txt").read_text(encoding="utf-8")
        issues += [f"{ann.name} {i}" for i in brat_issues(ann.read_text(encoding="utf-8"), text, conf)]
    return issues


def test_the_brat_export_passes_brats_rules(gold, tmp_path):
    docs, info = gold
    out = tmp_path / "brat"
    output = _export("brat", out)
    assert "Conflict.Attack -> Conflict_Attack" in output and "types.tsv" in output
    assert brat_folder_issues(out) == []
    conf = (out / "annotation.conf").read_text(encoding="utf-8")
    assert "<OVERLAP>\tArg1:<ENTITY>, Arg2:<ENTITY>, <OVL-TYPE>:contain\n" in conf  # the gold set nests
    assert "Conflict_Attack\tAttacker*:" in conf and "Conflict.Attack" not in conf
    # brat's parse of the files gives the gold set's counts (T = entities + triggers)
    lines = [x for f in out.glob("*.ann") for x in f.read_text(encoding="utf-8").splitlines()]
    assert sum(x[0] == "T" for x in lines) == 444 + 173 and sum(x[0] == "E" for x in lines) == 173
    assert sum(x[0] == "A" for x in lines) == 173
    # read_brat restores our names from types.tsv
    back = read_brat(out, info.schema)
    assert {d.id: _key(d) for d in back} == {d.id: _key(d) for d in docs}
    assert "Conflict.Attack" in {v.type for d in back for v in d.events}


def test_the_brat_checks_find_what_brat_found(gold, tmp_path):
    """The checks are not vacuous: the old export's annotation.conf (dotted event names, no <OVERLAP>) fails."""
    out = tmp_path / "brat"
    _export("brat", out)
    conf = out / "annotation.conf"
    text = conf.read_text(encoding="utf-8")
    conf.write_text(re.sub(r"<OVERLAP>[^\n]*\n", "", text), encoding="utf-8")
    issues = brat_folder_issues(out)
    assert issues and all("overlap without an <OVERLAP> rule" in i for i in issues)
    conf.write_text(text.replace("Conflict_Attack", "Conflict.Attack"), encoding="utf-8")
    issues = brat_folder_issues(out)
    assert any("'Conflict.Attack' is not a brat type name" in i for i in issues)
    assert any("type 'Conflict_Attack' is not declared" in i for i in issues)


def test_overlap_kinds_of_nested_equal_and_crossing_entities(schema, tmp_path):
    text = "وزير الدفاع العراقي في بغداد"
    ents = [Entity("e1", 0, 19, "PER"), Entity("e2", 5, 11, "JOB_TITLE"), Entity("e3", 5, 11, "ORG"),
            Entity("e4", 9, 19, "NORP")]
    write_brat([Document("d", text, ents)], tmp_path / "brat", schema)
    conf = (tmp_path / "brat" / "annotation.conf").read_text(encoding="utf-8")
    assert "<OVL-TYPE>:equal|contain|cross\n" in conf
    assert brat_folder_issues(tmp_path / "brat") == []


def test_a_long_document_id_gets_a_short_file_name(schema, tmp_path):
    long_id = "مقال-" + "ا" * 300
    doc = Document(long_id, "قال الكاظمي", [Entity("e1", 4, 11, "PER")])
    other = Document(long_id + "ب", "قال الكاظمي", [Entity("e1", 4, 11, "PER")])
    write_brat([doc, other], tmp_path / "brat", schema)
    names = sorted(p.name for p in (tmp_path / "brat").glob("*.ann"))
    assert len(names) == 2 and all(len(n.encode("utf-8")) <= 124 for n in names)
    assert names[0] != names[1]  # the hash of the whole id keeps them apart
    assert sorted(d.id for d in read_brat(tmp_path / "brat", schema)) == sorted([long_id, long_id + "ب"])
    result = CliRunner().invoke(main, ["export", GOLD, "--format", "brat", "-o", str(tmp_path / "b2")])
    assert result.exit_code == 0


def test_a_failed_brat_export_leaves_the_previous_folder(schema, tmp_path):
    out = tmp_path / "brat"
    write_brat([Document("old", "قال الكاظمي", [Entity("e1", 4, 11, "PER")])], out, schema)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    good = Document("new", "قال الكاظمي", [Entity("e1", 4, 11, "PER")])
    bad = Document("bad", "قال \udc80 الكاظمي")  # a lone surrogate: UTF-8 cannot write it, a real failure
    with pytest.raises(UnicodeEncodeError):
        write_brat([good, bad], out, schema)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert [p.name for p in tmp_path.iterdir()] == ["brat"]  # no half-written folder beside it
