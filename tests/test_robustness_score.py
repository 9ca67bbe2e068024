"""`annotate score` on the inputs a CI job meets in practice (issue 10, items 16-22 and 24): every case runs the
real command on real files, real seqeval and real extractor processes; a malformed input must give a clear
message naming the file and line (or document and field), the documented exit code, and no traceback."""

import json
import os
import shutil
import subprocess
import sys
import time
import warnings
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from seqeval.metrics import classification_report
from seqeval.metrics.sequence_labeling import get_entities
from seqeval.scheme import BILOU, IOB2, IOBES, IOE2, Entities

from annotate.cli import main
from annotate.core.chunks import SCHEMES, entities_default, entities_strict
from annotate.core.model import Argument, Document, Entity, Event, Span
from annotate.core.schema import EntityType, Schema
from annotate.gold.writer import write_gold
from annotate.predictions.records import document_to_record
from annotate.score.scorer import score_documents

warnings.filterwarnings("ignore")  # seqeval's UndefinedMetricWarning on purposely empty types

ROOT = Path(__file__).resolve().parent.parent
SEQEVAL_SCHEMES = {"IOB2": IOB2, "IOE2": IOE2, "IOBES": IOBES, "BILOU": BILOU}


def score(*args):
    return CliRunner().invoke(main, ["score", *map(str, args)])


def assert_exit(res, code, *messages):
    """The exit code, every message, and no traceback: an exception that escaped the command shows up in
    CliRunner as `res.exception` that is not a SystemExit."""
    assert res.exception is None or isinstance(res.exception, SystemExit), res.exception
    assert "Traceback" not in res.output
    assert res.exit_code == code, res.output
    for m in messages:
        assert m in res.output, (m, res.output)


# --- documents: a small gold set built with the bundled schema ----------------------------------------------

TEXT = "هاجم مسلحون من داعش قوات البيشمركة في كركوك أمس وقتل جندي"


def span(word, label, rid):
    s = TEXT.index(word)
    return Entity(rid, s, s + len(word), label)


def gold_document(doc_id="a" * 16):
    ents = [span("داعش", "ORG", "e1"), span("قوات البيشمركة", "ORG", "e2"), span("البيشمركة", "ORG", "e3"),
            span("كركوك", "GPE", "e4"), span("أمس", "TIME", "e5"), span("جندي", "PER", "e6")]
    attack, die = TEXT.index("هاجم"), TEXT.index("قتل")
    events = [Event("v1", "Conflict.Attack", Span(attack, attack + 4), {"realis": "actual"},
                    (Argument("Attacker", "e1"), Argument("Target", "e2"), Argument("Place", "e4"))),
              Event("v2", "Life.Die", Span(die, die + 3), {"realis": "actual"}, (Argument("Victim", "e6"),))]
    return Document(doc_id, TEXT, ents, events)


@pytest.fixture(scope="module")
def gold_set(schema, tmp_path_factory):
    docs = [gold_document("a" * 16), gold_document("b" * 16)]
    path = tmp_path_factory.mktemp("gold") / "gold"
    write_gold(docs, schema, path)
    return path, docs


def write_records(path, records):
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return path


# --- item 16: token accuracy counts every token once ------------------------------------------------------


def test_layered_token_accuracy_counts_each_token_once(tmp_path):
    # gold nests in sentence 1 (two columns) but not in sentence 2; the prediction is perfect and carries one
    # extra all-O column in sentence 1. Pairing columns across sentences used to give 5/6 "tokens".
    (tmp_path / "g.conll").write_text("حكومة B-ORG O\nإقليم I-ORG B-GPE\n\nبغداد B-GPE\nاليوم O\n", encoding="utf-8")
    (tmp_path / "p.conll").write_text("حكومة B-ORG O O\nإقليم I-ORG B-GPE O\n\nبغداد B-GPE\nاليوم O\n",
                                      encoding="utf-8")
    res = score("--gold-conll", tmp_path / "g.conll", "--pred-conll", tmp_path / "p.conll", "--json", "-")
    assert_exit(res, 0)
    r = json.loads(res.stdout)
    assert r["tokens"] == 4 and r["token_accuracy"] == 1.0
    assert r["entities"]["strict"]["micro"]["f1"] == 1.0
    # nesting in the other column order is the same prediction; one wrong tag makes one wrong token
    (tmp_path / "p2.conll").write_text("حكومة B-ORG O\nإقليم B-GPE I-ORG\n\nبغداد B-LOC\nاليوم O\n",
                                       encoding="utf-8")
    res = score("--gold-conll", tmp_path / "g.conll", "--pred-conll", tmp_path / "p2.conll", "--json", "-")
    assert_exit(res, 0)
    r = json.loads(res.stdout)
    assert r["tokens"] == 4 and r["token_accuracy"] == 3 / 4


# --- item 17: tag schemes, and where conlleval.pl differs -------------------------------------------------


def conll_file(path, gold, pred):
    rows = []
    for gs, ps in zip(gold, pred):
        rows += [f"w{i} {g} {p}" for i, (g, p) in enumerate(zip(gs, ps))] + [""]
    path.write_text("\n".join(rows), encoding="utf-8")
    return path


def assert_like_seqeval(report, gold, pred, scheme, suffix=False):
    for mode, kw in (("default", {}), ("strict", {"mode": "strict", "scheme": SEQEVAL_SCHEMES[scheme]})):
        ref = classification_report(gold, pred, output_dict=True, zero_division=0, suffix=suffix, **kw)
        mine = report["entities"][mode]
        assert mine["micro"]["f1"] == ref["micro avg"]["f1-score"], mode
        assert mine["micro"]["support"] == ref["micro avg"]["support"], mode
        for t, row in mine["per_type"].items():
            assert row["precision"] == ref[t]["precision"] and row["recall"] == ref[t]["recall"], (mode, t)


SCHEME_CASES = {
    "IOBES": ([["S-ORG", "O", "B-GPE", "I-GPE", "E-GPE", "S-PER"], ["B-ORG", "E-ORG", "O"]],
              [["S-ORG", "O", "B-GPE", "E-GPE", "O", "S-PER"], ["B-ORG", "I-ORG", "O"]]),
    "IOE2": ([["I-ORG", "E-ORG", "O", "E-PER"], ["E-GPE", "E-GPE"]],
             [["I-ORG", "E-ORG", "O", "I-PER"], ["I-GPE", "E-GPE"]]),
    "BILOU": ([["U-ORG", "O", "B-GPE", "L-GPE"], ["B-PER", "I-PER", "L-PER"]],
              [["U-ORG", "O", "B-GPE", "I-GPE"], ["B-PER", "I-PER", "L-PER"]]),
    "IOB2": ([["B-ORG", "I-ORG", "O", "B-PER"]], [["B-ORG", "O", "O", "B-PER"]]),
}


@pytest.mark.parametrize("scheme", list(SCHEME_CASES))
def test_conll_in_every_seqeval_scheme_detected_and_scored_like_seqeval(tmp_path, scheme):
    gold, pred = SCHEME_CASES[scheme]
    path = conll_file(tmp_path / "out.conll", gold, pred)
    res = score("--conll", path, "--json", "-", "--markdown", tmp_path / "r.md")
    assert_exit(res, 0)
    r = json.loads(res.stdout)
    assert r["tagging"] == {"scheme": scheme, "scheme_source": "detected from the gold tags", "suffix": False}
    md = (tmp_path / "r.md").read_text(encoding="utf-8")
    assert f"Tag scheme {scheme} (detected from the gold tags)" in md
    assert ("default mode does not know the U- and L- prefixes" in md) == (scheme == "BILOU")
    assert r["entities"]["strict"]["scheme"] == scheme and f"scheme={scheme}" in r["entities"]["strict"]["mode"]
    assert_like_seqeval(r, gold, pred, scheme)
    res = score("--conll", path, "--scheme", scheme, "--json", "-")
    assert_exit(res, 0)
    assert json.loads(res.stdout)["tagging"]["scheme_source"] == "--scheme"


def test_layered_conll_in_iobes(tmp_path):
    (tmp_path / "g.conll").write_text("حكومة B-ORG O\nإقليم I-ORG B-GPE\nكوردستان E-ORG E-GPE\nو O O\nبغداد S-GPE O\n",
                                      encoding="utf-8")
    (tmp_path / "p.conll").write_text("حكومة B-ORG\nإقليم I-ORG\nكوردستان E-ORG\nو O\nبغداد S-GPE\n",
                                      encoding="utf-8")
    res = score("--gold-conll", tmp_path / "g.conll", "--pred-conll", tmp_path / "p.conll", "--json", "-",
                "--markdown", tmp_path / "r.md")
    assert_exit(res, 0)
    strict = json.loads(res.stdout)["entities"]["strict"]
    assert strict["micro"]["tp"] == 2 and strict["micro"]["support"] == 3 and strict["scheme"] == "IOBES"
    assert "entities (strict IOBES)" in (tmp_path / "r.md").read_text(encoding="utf-8")


def test_tag_outside_the_named_scheme_names_file_and_line(tmp_path):
    path = conll_file(tmp_path / "out.conll", *SCHEME_CASES["IOBES"])
    res = score("--conll", path, "--scheme", "IOB2")
    assert_exit(res, 1, f"{path}:1: tag 'S-ORG' is not valid in IOB2 (prefixes B, I, O)", "--scheme")


def test_tags_that_fit_no_scheme_are_an_error_not_a_guess(tmp_path):
    path = conll_file(tmp_path / "out.conll", [["I-ORG", "I-ORG", "O", "I-PER"]], [["I-ORG", "O", "O", "O"]])
    res = score("--conll", path)  # IOB1 (I- without B-) is not one of seqeval's strict schemes
    assert_exit(res, 1, "the gold tags (prefixes I) fit none of seqeval's schemes", "--scheme")
    res = score("--conll", path, "--scheme", "IOB2", "--json", "-")  # named: strict IOB2 drops them all
    assert_exit(res, 0)
    assert json.loads(res.stdout)["entities"]["strict"]["micro"]["support"] == 0


def _random_sequences(rng, letters, types, suffix):
    seqs = []
    for _ in range(rng.randint(1, 4)):
        seq = []
        for _ in range(rng.randint(0, 12)):
            p = rng.choice(letters)
            t = rng.choice(types)
            seq.append("O" if p == "O" else (f"{t}-{p}" if suffix else f"{p}-{t}"))
        seqs.append(seq)
    return seqs


@pytest.mark.parametrize("scheme", list(SCHEMES))
@pytest.mark.parametrize("suffix", [False, True])
def test_strict_mode_equals_seqeval_for_every_scheme_on_random_ill_formed_tags(scheme, suffix):
    import random

    rng = random.Random(f"{scheme}{suffix}")
    letters = {"IOB2": "BIO", "IOE2": "IEO", "IOBES": "BIESO", "BILOU": "BILUO"}[scheme]
    for _ in range(300):
        seqs = _random_sequences(rng, letters, ["PER", "ORG", "B-X", "Conflict-Attack"], suffix)
        ref = {(e.sent_id, e.start, e.end, e.tag)
               for sent in Entities(seqs, SEQEVAL_SCHEMES[scheme], suffix=suffix).entities for e in sent}
        assert entities_strict(seqs, scheme, suffix) == ref, seqs


def _chunks(found):
    """[TYPE first-last] with 1-based token numbers, the notation of the README table."""
    return " ".join(f"[{t} {s + 1}]" if e - s == 1 else f"[{t} {s + 1}–{e}]" for t, s, e in found)


def _conlleval_chunks(tags):
    """conlleval.pl's (2000 version) chunking, restated from its endOfChunk/startOfChunk: it knows B, I, E and
    O, has no rule for S, no chunk end between E and B, and cuts the type at the first "-" after the prefix."""
    def parts(tag):
        pieces = tag.split("-")
        return pieces[0], pieces[1] if len(pieces) > 1 else ""

    def end(pt, t, ptype, ty):
        return (pt, t) in {("B", "B"), ("B", "O"), ("I", "B"), ("I", "O"), ("E", "E"), ("E", "I"), ("E", "O")} \
            or (pt not in ("O", ".") and ptype != ty)

    def start(pt, t, ptype, ty):
        return (pt, t) in {("B", "B"), ("I", "B"), ("O", "B"), ("O", "I"), ("E", "E"), ("E", "I"), ("O", "E")} \
            or (t not in ("O", ".") and ptype != ty)

    found, prev, begin = [], ("O", ""), 0
    for i, tag in enumerate([*tags, "O"]):
        cur = parts(tag)
        if end(prev[0], cur[0], prev[1], cur[1]):
            found.append((prev[1], begin, i))
        if start(prev[0], cur[0], prev[1], cur[1]):
            begin = i
        prev = cur
    return found


def _readme_disagreements():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = text.split("<!-- conlleval-vs-seqeval -->")[1].split("<!-- /conlleval-vs-seqeval -->")[0]
    rows = [line.split("|")[1:4] for line in block.splitlines() if line.startswith("| `")]
    return [(tags.strip().strip("`").split(), ours.strip(), theirs.strip()) for tags, ours, theirs in rows]


def test_readme_documents_where_conlleval_and_seqeval_default_mode_disagree():
    cases = _readme_disagreements()
    assert len(cases) >= 4
    for tags, seqeval_chunks, conlleval_chunks in cases:
        ours = sorted((t, s, e) for _, s, e, t in entities_default([tags]))
        theirs = sorted((t, s, e + 1) for t, s, e in get_entities(tags))  # real seqeval, default mode
        assert ours == theirs, tags
        assert _chunks(theirs) == seqeval_chunks, tags
        assert _chunks(_conlleval_chunks(tags)) == conlleval_chunks, tags
        assert seqeval_chunks != conlleval_chunks, tags


# --- item 18: suffix-style tags ----------------------------------------------------------------------------

SUFFIX_GOLD = [["ORG-B", "ORG-I", "O", "BANK-B"], ["IRAQ-B", "O"]]
SUFFIX_PRED = [["ORG-B", "ORG-I", "O", "BANK-B"], ["IRAQ-B", "IRAQ-I"]]


def test_suffix_tags_are_refused_unless_suffix_is_given(tmp_path):
    path = conll_file(tmp_path / "out.conll", SUFFIX_GOLD, SUFFIX_PRED)
    res = score("--conll", path)  # ORG-B read as a prefix tag is an O: used to score a silent 0
    assert_exit(res, 1, f"{path}:1: tag 'ORG-B' looks suffix-style (ORG-B); pass --suffix")
    res = score("--conll", path, "--suffix", "--json", "-")
    assert_exit(res, 0)
    r = json.loads(res.stdout)
    assert r["tagging"]["suffix"] is True and r["entities"]["strict"]["micro"]["tp"] == 2
    assert set(r["entities"]["strict"]["per_type"]) == {"ORG", "BANK", "IRAQ"}
    assert_like_seqeval(r, SUFFIX_GOLD, SUFFIX_PRED, "IOB2", suffix=True)


def test_prefix_tags_with_suffix_flag_and_tags_of_no_layout_are_refused(tmp_path):
    path = conll_file(tmp_path / "out.conll", [["B-ORG", "I-ORG"]], [["B-ORG", "O"]])
    assert_exit(score("--conll", path, "--suffix"), 1, f"{path}:1: tag 'B-ORG' looks prefix-style (B-ORG); "
                                                        "leave out --suffix")
    path = conll_file(tmp_path / "bad.conll", [["O", "PERSON"]], [["O", "O"]])
    assert_exit(score("--conll", path), 1, f"{path}:2: tag 'PERSON' is not O or P-TYPE")
    layered = tmp_path / "g.conll"
    layered.write_text("حكومة B-ORG\nإقليم GPE-B\n", encoding="utf-8")
    assert_exit(score("--gold-conll", layered, "--pred-conll", layered), 1, f"{layered}:2: tag 'GPE-B' looks suffix")


def test_scheme_and_suffix_do_not_apply_to_documents(gold_set, tmp_path):
    path, docs = gold_set
    preds = write_records(tmp_path / "p.jsonl", [document_to_record(d) for d in docs])
    assert_exit(score("--gold", path, "--predictions", preds, "--scheme", "IOBES"), 2, "CoNLL input")


@pytest.mark.parametrize("content, message", [
    (b"w B-ORG B-ORG\nw \xff O\n", ":2: not UTF-8 text"),
    (b"w B-ORG\n", ":1: needs a token, a gold tag and a predicted tag"),
    (b"w\n", ":1: needs a token and at least one tag column"),
])
def test_malformed_conll_files_name_file_and_line(tmp_path, content, message):
    (tmp_path / "out.conll").write_bytes(content)
    assert_exit(score("--conll", tmp_path / "out.conll"), 1, f"{tmp_path / 'out.conll'}{message}")


def test_a_token_holding_unicode_line_or_space_separators_stays_one_token(tmp_path):
    tokens = ["بغداد\u2028", "نهر\u00a0دجلة", "x\u0085y"]
    (tmp_path / "out.conll").write_text("".join(f"{t} B-LOC B-LOC\n" for t in tokens), encoding="utf-8")
    res = score("--conll", tmp_path / "out.conll", "--json", "-")
    assert_exit(res, 0)
    r = json.loads(res.stdout)
    assert r["tokens"] == 3 and r["entities"]["strict"]["micro"]["tp"] == 3


def test_layered_files_that_do_not_align_name_both_lines(tmp_path):
    (tmp_path / "g.conll").write_text("حكومة B-ORG\nإقليم I-ORG\n", encoding="utf-8")
    (tmp_path / "p.conll").write_text("حكومة B-ORG\nبغداد B-GPE\n", encoding="utf-8")
    assert_exit(score("--gold-conll", tmp_path / "g.conll", "--pred-conll", tmp_path / "p.conll"), 1,
                f"{tmp_path / 'g.conll'}:2 has token 'إقليم' but {tmp_path / 'p.conll'}:2 has 'بغداد'")


# --- item 19: schema violations are scored, malformed records fail the run -----------------------------------


def test_a_schema_violation_is_scored_as_an_error_and_the_document_kept(gold_set, tmp_path):
    path, docs = gold_set
    records = [document_to_record(d) for d in docs]
    bad = records[0]
    # e4 (كركوك) is the gold Place; retyped PER it is still at the right span, but Place does not accept
    # PER: without the schema check the argument tuple (type, role, span) would match gold
    bad["entities"] = [e if e["id"] != "e4" else {**e, "type": "PER"} for e in bad["entities"]]
    bad["events"].append({"id": "v9", "type": "No.Such", "trigger": dict(bad["events"][0]["trigger"]),
                          "arguments": [{"role": "Attacker", "entity": "e1"}]})
    preds = write_records(tmp_path / "p.jsonl", records)
    res = score("--gold", path, "--predictions", preds, "--json", tmp_path / "r.json", "--markdown", tmp_path / "r.md")
    assert_exit(res, 0, "2 schema violation(s) scored as errors",
                f"document {docs[0].id}: event v1 (Conflict.Attack): role Place does not accept entity e4 of type PER")
    r = json.loads((tmp_path / "r.json").read_text())
    assert r["documents"]["with_predictions"] == 2 and r["predictions"]["rejected"] == 0
    assert r["predictions"]["schema_violations"] == 2
    assert {v["doc"] for v in r["predictions"]["schema_violation_examples"]} == {docs[0].id}
    # the rest of the document still counts: 5 of 6 entities right in doc 0, all 6 in doc 1
    assert r["entities"]["strict"]["micro"]["tp"] == 11 and r["entities"]["strict"]["micro"]["fp"] == 1
    # Place(e4 as PER) and Attacker of the unknown event: both predicted, neither matches
    args = r["arguments"]["classification"]
    assert (args["tp"], args["fp"], args["fn"]) == (7, 2, 1)
    assert r["arguments"]["identification"]["tp"] == 7
    # the unknown event type's trigger sits on a gold trigger span and still does not count as identified
    trig = r["triggers"]["identification"]
    assert (trig["tp"], trig["fp"]) == (4, 1)
    assert "2 schema violation(s) in the predictions, scored as errors" in (tmp_path / "r.md").read_text()


def test_malformed_records_fail_the_run_with_counts_unless_allowed(gold_set, tmp_path):
    path, docs = gold_set
    good = document_to_record(docs[1])
    lines = [json.dumps(good, ensure_ascii=False), "{not json",
             json.dumps({"id": docs[0].id, "entities": [{"start": 0, "end": 10 ** 6, "type": "ORG"}]}),
             json.dumps({"id": docs[0].id, "text": "another text", "entities": []}),
             json.dumps({"id": "no-such-document", "entities": []})]
    preds = tmp_path / "p.jsonl"
    preds.write_text("\n".join(lines) + "\n", encoding="utf-8")
    q = tmp_path / "q.jsonl"
    res = score("--gold", path, "--predictions", preds, "--quarantine", q, "--json", tmp_path / "r.json")
    assert_exit(res, 1, "FAIL: 4 prediction record(s) rejected as malformed", "--allow-rejected",
                f"{preds}:2: not valid JSON", f"{preds}:3: document {docs[0].id}: ", "outside the text",
                f"{preds}:4: document {docs[0].id}: field 'text' differs",
                f"{preds}:5: document no-such-document: no such document")
    assert len(q.read_text(encoding="utf-8").splitlines()) == 4
    r = json.loads((tmp_path / "r.json").read_text())  # the report is still written, with the counts
    assert r["predictions"]["rejected"] == 4 and r["documents"]["with_predictions"] == 1
    res = score("--gold", path, "--predictions", preds, "--quarantine", q, "--allow-rejected")
    assert_exit(res, 0, "4 prediction(s) rejected")


def _record(doc_id, **fields):
    return json.dumps({"id": doc_id, **fields}, ensure_ascii=False)


MALFORMED_RECORDS = {
    "a JSON list": ("[1, 2]", "field 'id' is missing"),
    "entities not a list": (_record("a" * 16, entities={}), "fields 'entities' and 'events' must be lists"),
    "entity without end": (_record("a" * 16, entities=[{"start": 0, "type": "ORG"}]),
                           "entities[0]: field 'end' is missing"),
    "string offsets": (_record("a" * 16, entities=[{"start": "0", "end": 4, "type": "ORG"}]),
                       "offsets must be integers"),
    "span on whitespace": (_record("a" * 16, entities=[{"start": 4, "end": 6, "type": "ORG"}]), "starts on whitespace"),
    "argument to no entity": (_record("a" * 16, events=[{"type": "Conflict.Attack", "trigger": {"start": 0, "end": 4},
                                                         "arguments": [{"role": "Attacker", "entity": "e404"}]}]),
                              "points at unknown entity 'e404'"),
    "trigger without end": (_record("a" * 16, events=[{"type": "Conflict.Attack", "trigger": {"start": 0}}]),
                            "events[0]: field 'trigger' must be {'start', 'end'}"),
}


@pytest.mark.parametrize("name", list(MALFORMED_RECORDS))
def test_each_malformed_record_names_its_line_and_field_and_fails_the_run(gold_set, tmp_path, name):
    path, docs = gold_set
    line, message = MALFORMED_RECORDS[name]
    preds = tmp_path / "p.jsonl"
    preds.write_text(json.dumps(document_to_record(docs[1]), ensure_ascii=False) + "\n" + line + "\n",
                     encoding="utf-8")
    res = score("--gold", path, "--predictions", preds, "--quarantine", tmp_path / "q.jsonl")
    assert_exit(res, 1, f"quarantined {preds}:2: ", message, "FAIL: 1 prediction record(s) rejected as malformed")


def test_a_second_line_for_a_document_is_rejected_not_merged(gold_set, tmp_path):
    path, docs = gold_set
    rec = json.dumps(document_to_record(docs[0]), ensure_ascii=False)
    preds = tmp_path / "p.jsonl"
    preds.write_text(f"{rec}\n{rec}\n", encoding="utf-8")
    res = score("--gold", path, "--predictions", preds, "--quarantine", tmp_path / "q.jsonl")
    assert_exit(res, 1, f"{preds}:2: document {docs[0].id}: a second prediction for this document")


def test_a_bad_line_from_an_extractor_is_a_rejected_record_not_a_lost_run(gold_set, tmp_path):
    path, docs = gold_set
    script = tmp_path / "extractor.py"
    script.write_text("import json, sys\n"
                      "ids = [json.loads(line)['id'] for line in sys.stdin]\n"
                      "print(json.dumps({'id': ids[0], 'entities': []}))\n"
                      "print('{half a record')\n", encoding="utf-8")
    command = f"{sys.executable} {script}"
    res = score("--gold", path, "--extractor", command, "--quarantine", tmp_path / "q.jsonl")
    assert_exit(res, 1, f"quarantined extractor `{command}` stdout line 2: not JSON (stdout line 2",
                "FAIL: 1 prediction record(s) rejected as malformed")
    res = score("--gold", path, "--extractor", command, "--quarantine", tmp_path / "q.jsonl", "--allow-rejected",
                "--allow-empty-predictions", "--json", "-")
    assert_exit(res, 0)
    assert json.loads(res.stdout)["documents"]["with_predictions"] == 1


def test_an_extractor_that_predicts_nothing_is_reported_as_such(gold_set, tmp_path):
    path, docs = gold_set
    empty = write_records(tmp_path / "p.jsonl", [{"id": d.id, "entities": [], "events": []} for d in docs])
    res = score("--gold", path, "--predictions", empty, "--json", tmp_path / "r.json", "--markdown",
                tmp_path / "r.md", "--html", tmp_path / "r.html")
    # a CI gate must not go green on it: exit 1 after the reports are written, unless it is expected
    assert_exit(res, 1, "NOTHING PREDICTED for any document",
                "Warning: the predictions hold no entity and no event for any of the 2 document(s)",
                "FAIL: the predictions hold no entity and no event for any document")
    r = json.loads((tmp_path / "r.json").read_text())
    assert r["predictions"]["empty"] is True
    assert "no entity and no event" in (tmp_path / "r.md").read_text()
    assert "no entity and no event" in (tmp_path / "r.html").read_text()
    assert (tmp_path / "r.md").read_text().startswith("**❌ FAIL**: nothing predicted")
    res = score("--gold", path, "--predictions", empty, "--allow-empty-predictions")
    assert_exit(res, 0, "NOTHING PREDICTED for any document")
    extractor = f"{sys.executable} -c \"import sys; sys.stdin.read()\""  # writes nothing at all
    res = score("--gold", path, "--extractor", extractor)
    assert_exit(res, 1, "Scored 0/2 document(s)", "NOTHING PREDICTED")
    res = score("--gold", path, "--predictions", "/dev/null")
    assert_exit(res, 1, "Scored 0/2 document(s)", "NOTHING PREDICTED")
    full = write_records(tmp_path / "f.jsonl", [document_to_record(d) for d in docs])
    res = score("--gold", path, "--predictions", full)
    assert_exit(res, 0)
    assert "NOTHING" not in res.output and "Warning" not in res.output


def test_a_split_the_gold_set_lacks_is_a_usage_error(gold_set, tmp_path):
    path, docs = gold_set
    preds = write_records(tmp_path / "p.jsonl", [document_to_record(d) for d in docs])
    assert_exit(score("--gold", path, "--predictions", preds, "--split", "dev"), 2,
                f"--split dev: the gold set {path} has no such split (it has: test)")
    assert_exit(score("--gold", path, "--predictions", preds, "--split", "test"), 0, "Scored 2/2")


def test_predictions_for_the_whole_set_score_one_split_without_rejections(schema, tmp_path):
    docs = [gold_document(f"{k:x}" * 16) for k in range(8)]
    write_gold(docs, schema, tmp_path / "gold", splits_spec="train=0.5,test=0.5")
    build = json.loads((tmp_path / "gold" / "build.json").read_text())
    assert build["splits"]["train"] and build["splits"]["test"]
    preds = write_records(tmp_path / "p.jsonl", [document_to_record(d) for d in docs])
    res = score("--gold", tmp_path / "gold", "--predictions", preds, "--split", "test", "--json", "-")
    assert_exit(res, 0, f"{build['splits']['train']} prediction(s) not scored: their documents are not in the gold "
                        "set or not in split test")
    r = json.loads(res.stdout)
    assert r["predictions"]["rejected"] == 0 and r["predictions"]["not_scored"] == build["splits"]["train"]
    assert r["documents"] == {"gold": build["splits"]["test"], "with_predictions": build["splits"]["test"]}


def test_label_studio_tasks_without_gold_are_not_scored_and_not_rejected(gold_set, schema, tmp_path):
    from annotate.studio.tasks import build_tasks

    path, docs = gold_set
    extra = Document("f" * 16, TEXT + " اليوم", [span("داعش", "ORG", "e1")])  # a task nobody annotated yet
    tasks, rejected = build_tasks([*docs, extra], schema, {d.id: d for d in [*docs, extra]}, "m1")
    assert not rejected
    (tmp_path / "tasks.json").write_text(json.dumps(tasks, ensure_ascii=False), encoding="utf-8")
    res = score("--gold", path, "--labelstudio", tmp_path / "tasks.json", "--json", "-")
    assert_exit(res, 0, "1 prediction(s) not scored: their documents are not in the gold set")
    r = json.loads(res.stdout)
    assert r["predictions"]["rejected"] == 0 and r["predictions"]["not_scored"] == 1
    assert r["entities"]["strict"]["micro"]["f1"] == 1.0


# --- item 20: the timeout stops the whole process group --------------------------------------------------------

SPAWNING_EXTRACTOR = """
import json, subprocess, sys, time
child = subprocess.Popen(["sleep", "60"])  # inherits stdout and keeps it open
open(sys.argv[1], "w").write(str(child.pid))
if sys.argv[2] == "hang":
    time.sleep(60)
for line in sys.stdin:
    print(json.dumps({"id": json.loads(line)["id"], "entities": []}), flush=True)
"""


def _gone(pid):
    """Dead, or a zombie waiting for a reaper that is not ours to be."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return True
    return "State:\tZ" in status


def _wait_gone(pid, seconds=5.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not _gone(pid):
        time.sleep(0.05)
    return _gone(pid)


@pytest.mark.parametrize("behaviour", ["hang", "exit"])
def test_timeout_and_exit_stop_children_that_hold_stdout(gold_set, tmp_path, behaviour):
    path, _ = gold_set
    script = tmp_path / "extractor.py"
    script.write_text(SPAWNING_EXTRACTOR, encoding="utf-8")
    pid_file = tmp_path / "child.pid"
    started = time.monotonic()
    res = score("--gold", path, "--extractor", f"{sys.executable} {script} {pid_file} {behaviour}",
                "--timeout", "2", "--json", tmp_path / "r.json", "--allow-empty-predictions")
    elapsed = time.monotonic() - started
    assert elapsed < 15, elapsed  # the child sleeps 60 s; waiting for it used to be the outcome
    if behaviour == "hang":
        assert_exit(res, 1, "timed out after 2s; it and every process it started were stopped")
    else:  # the extractor answered and exited; its leftover child must not keep the run waiting
        assert_exit(res, 0, "Warning: extractor", "left processes running; they were stopped")
        assert json.loads((tmp_path / "r.json").read_text())["documents"]["with_predictions"] == 2
    assert _wait_gone(int(pid_file.read_text()))


# --- item 21: the error breakdown puts every mention in exactly one category -----------------------------------


def _breakdown(gold_ents, pred_ents):
    gold = Document("d" * 16, TEXT, gold_ents)
    pred = Document("d" * 16, TEXT, pred_ents)
    return score_documents([gold], {gold.id: pred}).report


def test_a_missed_inner_same_type_entity_is_missed_not_a_wrong_boundary():
    outer, inner = span("قوات البيشمركة", "ORG", "o"), span("البيشمركة", "ORG", "i")
    r = _breakdown([outer, inner], [outer])
    assert {k: r["errors"]["ORG"][k] for k in ("correct", "wrong_boundary", "missed")} == \
        {"correct": 1, "wrong_boundary": 0, "missed": 1}
    assert r["errors"]["ORG"]["examples"]["missed"][0]["text"] == "البيشمركة"


def test_a_second_type_on_a_correct_span_is_spurious():
    place = span("كركوك", "GPE", "g")
    r = _breakdown([place], [place, span("كركوك", "LOC", "x")])
    assert r["errors"]["GPE"]["correct"] == 1 and r["errors"]["LOC"]["spurious"] == 1
    assert r["entities"]["strict"]["micro"]["fp"] == 1


def test_wrong_type_pairs_one_gold_with_one_prediction():
    r = _breakdown([span("كركوك", "GPE", "g")], [span("كركوك", "LOC", "x")])
    assert r["errors"]["GPE"]["wrong_type"] == 1 and r["errors"]["LOC"]["wrong_type_predicted"] == 1
    assert r["errors"]["GPE"]["examples"]["wrong_type"][0]["note"] == "predicted LOC"


_STARTS = [0] + [i + 1 for i, c in enumerate(TEXT) if c == " "]
_ENDS = [i for i, c in enumerate(TEXT) if c == " "] + [len(TEXT)]


@st.composite
def mentions(draw, max_size=10):
    out = []
    for k in range(draw(st.integers(0, max_size))):
        s = draw(st.sampled_from(_STARTS))
        e = draw(st.sampled_from([x for x in _ENDS if x > s]))
        out.append(Entity(f"m{k}", s, e, draw(st.sampled_from(["ORG", "GPE", "PER"]))))
    return out


@st.composite
def gold_and_prediction(draw):
    gold = draw(mentions())
    pred = []
    for k, g in enumerate(gold):  # near misses of gold: kept, retyped, reshaped, dropped, doubled
        action = draw(st.sampled_from(["keep", "retype", "reshape", "drop", "second_type"]))
        if action in ("keep", "second_type"):
            pred.append(Entity(f"p{k}", g.start, g.end, g.type))
        if action in ("retype", "second_type"):
            pred.append(Entity(f"t{k}", g.start, g.end, draw(st.sampled_from(["ORG", "GPE", "PER"]))))
        if action == "reshape":
            s = draw(st.sampled_from(_STARTS))
            pred.append(Entity(f"r{k}", s, draw(st.sampled_from([x for x in _ENDS if x > s])), g.type))
    pred += [Entity(f"x{e.id}", e.start, e.end, e.type) for e in draw(mentions(4))]
    return gold, pred


@settings(max_examples=300, deadline=None)
@given(gold_and_prediction())
def test_error_categories_add_up_to_tp_fp_fn_on_random_nested_data(data):
    gold, pred = data
    r = _breakdown(gold, pred)
    per_type = r["entities"]["strict"]["per_type"]
    assert set(r["errors"]) == set(per_type)
    for t, row in per_type.items():
        e = r["errors"][t]
        assert e["correct"] == row["tp"], t
        assert e["wrong_type"] + e["wrong_boundary"] + e["missed"] == row["fn"], t
        assert e["wrong_type_predicted"] + e["wrong_boundary"] + e["spurious"] == row["fp"], t
    total = {k: sum(e[k] for e in r["errors"].values()) for k in ("wrong_type", "wrong_type_predicted")}
    assert total["wrong_type"] == total["wrong_type_predicted"]
    # every distinct gold and predicted mention lands once
    n_gold = len({(g.start, g.end, g.type) for g in gold})
    n_pred = len({(p.start, p.end, p.type) for p in pred})
    errs = r["errors"].values()
    assert sum(e["correct"] + e["wrong_type"] + e["wrong_boundary"] + e["missed"] for e in errs) == n_gold
    assert sum(e["correct"] + e["wrong_type_predicted"] + e["wrong_boundary"] + e["spurious"] for e in errs) == n_pred


# --- item 22: no event types, no trigger or argument rates -----------------------------------------------------


def test_without_event_types_triggers_and_arguments_are_not_applicable(tmp_path):
    # the YAML loader insists on event types; a schema built in code (or by another tool) may have none
    schema = Schema(name="entities-only", version=1, entity_types={"ORG": EntityType("ORG"), "GPE": EntityType("GPE")},
                    event_types={})
    doc = Document("e" * 16, TEXT, [span("داعش", "ORG", "e1"), span("كركوك", "GPE", "e2")])
    write_gold([doc], schema, tmp_path / "gold")
    preds = write_records(tmp_path / "p.jsonl", [document_to_record(doc)])
    out = {k: tmp_path / f"r.{k}" for k in ("json", "md", "html")}
    res = score("--gold", tmp_path / "gold", "--predictions", preds, "--json", out["json"], "--markdown", out["md"],
                "--html", out["html"])
    assert_exit(res, 0, "triggers and arguments n/a (the schema defines no event types)")
    r = json.loads(out["json"].read_text())
    for section in ("triggers", "arguments"):
        assert r[section]["applicable"] is False and "no event types" in r[section]["note"]
        assert r[section]["classification"]["f1"] is None
    assert r["entities"]["strict"]["micro"]["f1"] == 1.0
    assert list(r["confidence"]) == ["entities.strict.micro.f1"]
    md = out["md"].read_text()
    assert "| triggers classification | n/a | n/a | **n/a** |" in md and "0.000" not in md
    assert "not applicable: the schema defines no event types" in md
    html = out["html"].read_text()
    assert "not applicable" in html and "<td>n/a</td>" in html
    res = score("--gold", tmp_path / "gold", "--predictions", preds, "--fail-under", "triggers.classification.f1=0.5")
    assert_exit(res, 3, "FAIL: triggers.classification.f1: not applicable: the schema defines no event types")
    res = score("--gold", tmp_path / "gold", "--predictions", preds, "--baseline", out["json"], "--json", "-")
    assert_exit(res, 0)
    assert "triggers.classification.f1" not in json.loads(res.stdout)["baseline"]["metrics"]


# --- item 24: the toolkit's own command without an activated virtualenv ----------------------------------------


def test_annotate_baseline_runs_without_the_virtualenv_on_path(gold_set, tmp_path):
    path, _ = gold_set
    bare_path = "/usr/bin:/bin"
    assert shutil.which("annotate", path=bare_path) is None  # what a shell without `activate` sees
    env = {**os.environ, "PATH": bare_path}
    env.pop("VIRTUAL_ENV", None)
    proc = subprocess.run([sys.executable, "-m", "annotate.cli", "score", "--gold", str(path), "--extractor",
                           "annotate baseline", "--json", str(tmp_path / "r.json")],
                          capture_output=True, text=True, env=env, timeout=300, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert json.loads((tmp_path / "r.json").read_text())["documents"]["with_predictions"] == 2


def test_unbalanced_quotes_in_the_extractor_command(gold_set):
    path, _ = gold_set
    assert_exit(score("--gold", path, "--extractor", "annotate 'baseline"), 1, "--extractor \"annotate 'baseline\"",
                "No closing quotation")



# --- item 9: inputs beside the predictions that used to end in a traceback ---------------------------------------

@pytest.mark.parametrize("content, message", [
    ('{"entities": ', "not valid JSON (line 1, column 14"),
    ("[1, 2]", "not a report of `annotate score --json` (expected a JSON object with 'entities', got list)"),
    ('{"gold": {}}', "not a report of `annotate score --json`"),
    (b"\xff\xfe{}", "not UTF-8 text (byte 0)"),
])
def test_a_baseline_that_is_not_a_report_is_named_before_any_work(gold_set, tmp_path, content, message):
    path, docs = gold_set
    baseline = tmp_path / "old.json"
    baseline.write_bytes(content if isinstance(content, bytes) else content.encode())
    preds = write_records(tmp_path / "p.jsonl", [document_to_record(d) for d in docs])
    res = score("--gold", path, "--predictions", preds, "--baseline", baseline, "--json", tmp_path / "r.json")
    assert_exit(res, 1, f"--baseline {baseline}: {message}")
    assert not (tmp_path / "r.json").exists()


def test_label_studio_tasks_that_are_not_objects_are_rejected_by_position(gold_set, tmp_path):
    path, _ = gold_set
    ls = tmp_path / "tasks.json"
    ls.write_text("[1, 2, {\"data\": [3]}]", encoding="utf-8")
    res = score("--gold", path, "--labelstudio", ls, "--quarantine", tmp_path / "q.jsonl")
    assert_exit(res, 1, f"{ls} task #0: task #0 is not a Label Studio task object", "3 prediction record(s) rejected")
    assert len((tmp_path / "q.jsonl").read_text(encoding="utf-8").splitlines()) == 3
