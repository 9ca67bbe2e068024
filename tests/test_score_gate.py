"""`annotate score` as a CI gate (issue 19, and the scoring items of issue 24): options checked before the run,
no silent pass, a verdict first in the Markdown, Markdown that data cannot break, the quarantine file beside the
report, honest baselines (CoNLL ones too), and clear errors for broken extractors and reports."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from markdown_it import MarkdownIt

from annotate.cli import main
from annotate.core.model import Document, Entity
from annotate.core.schema import EntityType, Schema
from annotate.gold.writer import write_gold
from annotate.predictions.records import document_to_record
from annotate.score.gate import metric_keys
from annotate.score.mdtext import md_escape
from annotate.score.metrics import prf_table

from .test_robustness_score import assert_exit, gold_document

TEXT = "هاجم مسلحون من داعش قوات البيشمركة في كركوك أمس وقتل جندي"


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def score(*args):
    return run("score", *args)


def write_records(path: Path, records) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def gold(schema, tmp_path_factory):
    docs = [gold_document(c * 16) for c in "abcde"]
    path = tmp_path_factory.mktemp("gold") / "gold"
    write_gold(docs, schema, path)
    return path, docs


@pytest.fixture(scope="module")
def other_gold(schema, tmp_path_factory):
    docs = [gold_document(c * 16) for c in "abcdf"]
    path = tmp_path_factory.mktemp("other") / "gold"
    write_gold(docs, schema, path)
    return path


@pytest.fixture
def perfect(gold, tmp_path):
    return write_records(tmp_path / "perfect.jsonl", [document_to_record(d) for d in gold[1]])


def rendered(md: str) -> str:
    """The Markdown as GitHub-like renderers show it: tables on, raw HTML allowed (the dangerous case)."""
    return MarkdownIt("commonmark", {"html": True}).enable("table").render(md)


def table_shapes(html: str) -> list[int]:
    """Cells per row of every table row: a cell break smuggled in by data changes one row's count."""
    import re

    return [len(re.findall(r"<t[dh][ >]", row)) for row in re.findall(r"<tr>(.*?)</tr>", html, re.S)]


# --- options checked before the run -----------------------------------------------------------------------------

def marker_extractor(tmp_path: Path) -> tuple[str, Path]:
    """A command that leaves a file behind when it runs: proof that a usage error came before any work."""
    marker = tmp_path / "ran"
    script = tmp_path / "x.py"
    script.write_text(f"import sys; sys.stdin.read(); open({str(marker)!r}, 'w').write('1')\n", encoding="utf-8")
    return f"{sys.executable} {script}", marker


@pytest.mark.parametrize("spec, message", [
    ("f1=0.3", "no metric 'f1'; valid keys:"),
    ("entities.strict.micro.f1=nan", "the value must be a number from 0 to 1"),
    ("entities.strict.micro.f1=1.5", "the value must be a number from 0 to 1"),
    ("entities.strict.micro.f1=-0.1", "the value must be a number from 0 to 1"),
    ("entities.strict.micro.f1", "expected KEY=VALUE"),
    ("entities.strict.per_type.NOPE.f1=0.5", "no metric 'entities.strict.per_type.NOPE.f1'"),
])
def test_bad_fail_under_is_a_usage_error_before_the_extractor_runs(gold, tmp_path, spec, message):
    command, marker = marker_extractor(tmp_path)
    res = score("--gold", gold[0], "--extractor", command, "--fail-under", spec)
    assert_exit(res, 2, message)
    assert not marker.exists()
    if "valid keys" in message:
        assert "entities.strict.micro.f1" in res.output and "entities.strict.per_type.PER.f1" in res.output


def test_list_metrics(gold):
    res = score("--gold", gold[0], "--list-metrics")
    assert_exit(res, 0, "entities.strict.micro.f1", "entities.default.per_type.GPE.recall",
                "triggers.classification.per_type.Conflict.Attack.f1", "arguments.classification_with_trigger.f1")
    assert res.output.split() == metric_keys(*_types(gold[0]))
    bare = score("--list-metrics")
    assert_exit(bare, 0, "entities.strict.per_type.TYPE.f1")
    conll = score("--conll", "/dev/null", "--list-metrics")
    assert_exit(conll, 0, "token_accuracy")
    assert "triggers" not in conll.output


def _types(path):
    from annotate.gold.reader import GoldSet

    schema = GoldSet(path).info().schema
    return schema.entity_types, schema.event_types


def test_a_good_threshold_still_gates(gold, perfect):
    assert_exit(score("--gold", gold[0], "--predictions", perfect, "--fail-under", "entities.strict.micro.f1=1"), 0)
    assert_exit(score("--gold", gold[0], "--predictions", perfect, "--fail-under",
                      "entities.strict.per_type.PER.precision=0.99"), 0)


# --- no silent pass -------------------------------------------------------------------------------------------

def test_baseline_of_another_gold_set_is_refused_before_the_run(gold, other_gold, perfect, tmp_path):
    theirs = tmp_path / "other.json"
    other_preds = write_records(tmp_path / "o.jsonl", [document_to_record(gold_document(c * 16)) for c in "abcdf"])
    assert_exit(score("--gold", other_gold, "--predictions", other_preds, "--json", theirs), 0)
    command, marker = marker_extractor(tmp_path)
    res = score("--gold", gold[0], "--extractor", command, "--baseline", theirs)
    fp_theirs = json.loads(theirs.read_text())["gold"]["fingerprint"]
    ours = tmp_path / "ours.json"
    assert_exit(score("--gold", gold[0], "--predictions", perfect, "--json", ours), 0)
    fp_ours = json.loads(ours.read_text())["gold"]["fingerprint"]
    assert fp_ours != fp_theirs
    assert_exit(res, 1, f"was made against gold {fp_theirs}, this run scores gold {fp_ours}")
    assert not marker.exists()


def test_baseline_of_other_documents_is_refused(schema, tmp_path):
    docs = [gold_document(c * 16) for c in "abcdefgh"]
    info = write_gold(docs, schema, tmp_path / "gold", "dev=0.5,test=0.5")
    assert all(info.build["splits"].get(s) for s in ("dev", "test")), info.build["splits"]
    preds = write_records(tmp_path / "p.jsonl", [document_to_record(d) for d in docs])
    assert_exit(score("--gold", tmp_path / "gold", "--predictions", preds, "--split", "dev", "--json",
                      tmp_path / "dev.json"), 0)
    res = score("--gold", tmp_path / "gold", "--predictions", preds, "--split", "test", "--baseline",
                tmp_path / "dev.json", "--json", tmp_path / "test.json")
    assert_exit(res, 1, "not the same ones", "only in the baseline; another --split?")
    assert not (tmp_path / "test.json").exists()


def test_a_drop_without_an_interval_is_never_ok(gold, perfect, tmp_path):
    old = tmp_path / "old.json"
    assert_exit(score("--gold", gold[0], "--predictions", perfect, "--json", old), 0)
    # every trigger dropped: the identification F1 has no bootstrap of its own
    no_triggers = write_records(tmp_path / "n.jsonl", [{**document_to_record(d), "events": []} for d in gold[1]])
    res = score("--gold", gold[0], "--predictions", no_triggers, "--baseline", old, "--markdown", tmp_path / "s.md",
                "--json", tmp_path / "r.json")
    assert_exit(res, 4, "significant regression against the baseline in triggers.classification.f1")
    md = (tmp_path / "s.md").read_text()
    assert "| triggers.identification.f1 | 1.000 | 0.000 | -1.000 | no interval | drop, no interval |" in md
    assert "| ok |" not in md.split("triggers.identification.f1")[1].splitlines()[0]
    base = json.loads((tmp_path / "r.json").read_text())["baseline"]
    assert "triggers.identification.f1" in base["drops_without_interval"]
    # no resamples: no interval anywhere, no crash, and the drops said as drops
    res = score("--gold", gold[0], "--predictions", no_triggers, "--baseline", old, "--resamples", "0",
                "--markdown", "-")
    assert_exit(res, 0, "drop, no interval",
                "no significant regression against the baseline; drop without an interval in")
    assert "| ok |" not in res.stdout


def test_baseline_with_string_counts_is_a_clear_error(gold, perfect, tmp_path):
    old = tmp_path / "old.json"
    assert_exit(score("--gold", gold[0], "--predictions", perfect, "--json", old), 0)
    data = json.loads(old.read_text())
    first = next(iter(data["per_document"]))
    data["per_document"][first]["entities"] = ["6", "6", "6"]
    old.write_text(json.dumps(data))
    res = score("--gold", gold[0], "--predictions", perfect, "--baseline", old)
    assert_exit(res, 1, f"--baseline {old}: per_document.{first}.entities is ['6', '6', '6'], not three counts")


CONLL_GOLD = ["B-ORG I-ORG O B-GPE", "B-PER O O O", "O B-LOC I-LOC O", "B-ORG O B-PER O", "B-GPE O O B-ORG"]


def write_conll(path: Path, pred_lines) -> Path:
    rows = []
    for g, p in zip(CONLL_GOLD, pred_lines):
        rows += [f"w{k} {a} {b}" for k, (a, b) in enumerate(zip(g.split(), p.split()))] + [""]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_conll_baseline_is_paired_bootstrapped_and_kinds_do_not_mix(gold, perfect, tmp_path):
    good = write_conll(tmp_path / "good.conll", CONLL_GOLD)
    bad = write_conll(tmp_path / "bad.conll", ["O O O O"] * 4 + ["B-GPE O O B-ORG"])
    assert_exit(score("--conll", good, "--json", tmp_path / "good.json"), 0)
    res = score("--conll", bad, "--baseline", tmp_path / "good.json", "--json", tmp_path / "bad.json")
    assert_exit(res, 4, "significant regression against the baseline in entities.strict.micro.f1")
    base = json.loads((tmp_path / "bad.json").read_text())["baseline"]
    row = base["metrics"]["entities.strict.micro.f1"]
    assert row["baseline"] == 1.0 and row["now"] < 0.5 and row["ci95"][1] < 0 and row["documents"] == 5
    # a CoNLL report is no baseline for documents, nor the other way round
    assert_exit(score("--gold", gold[0], "--predictions", perfect, "--baseline", tmp_path / "good.json"), 1,
                "is a report of CoNLL input")
    docs_report = tmp_path / "docs.json"
    assert_exit(score("--gold", gold[0], "--predictions", perfect, "--json", docs_report), 0)
    assert_exit(score("--conll", good, "--baseline", docs_report), 1, "is a report of documents")
    # another gold column is another gold set
    other = tmp_path / "other.conll"
    other.write_text(good.read_text().replace("w0 B-ORG B-ORG", "w0 B-LOC B-LOC", 1), encoding="utf-8")
    assert_exit(score("--conll", other, "--baseline", tmp_path / "good.json"), 1, "gold tags fingerprint")


def test_an_extractor_that_answers_some_documents_is_warned_about(gold, tmp_path):
    script = tmp_path / "one.py"
    script.write_text("import json, sys\nfirst = json.loads(sys.stdin.readline())\n"
                      "print(json.dumps({'id': first['id'], 'entities': [{'id': 'e1', 'start': 0, 'end': 4, "
                      "'type': 'ORG'}]}))\n", encoding="utf-8")
    res = score("--gold", gold[0], "--extractor", f"{sys.executable} {script}", "--json", tmp_path / "r.json")
    assert_exit(res, 0, "Warning: the extractor answered 1 of the 5 document(s) it was given; the other 4 are "
                "scored as predicting nothing", "4 document(s) unanswered, scored as empty")
    r = json.loads((tmp_path / "r.json").read_text())
    assert r["predictions"]["unanswered"] == 4 and r["documents"]["with_predictions"] == 1


def test_a_callable_that_calls_sys_exit_is_an_extractor_failure(gold, tmp_path, monkeypatch):
    (tmp_path / "exiting_extractor.py").write_text("import sys\ndef extract(docs):\n    sys.exit(0)\n",
                                                   encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    res = score("--gold", gold[0], "--extractor", "exiting_extractor:extract", "--json", tmp_path / "r.json")
    assert_exit(res, 1, "--extractor exiting_extractor:extract called sys.exit(0) instead of returning predictions")
    assert not (tmp_path / "r.json").exists()


def test_a_stdout_line_that_is_not_utf8_is_quarantined_and_the_rest_scored(gold, tmp_path):
    script = tmp_path / "bytes.py"
    script.write_text(
        "import json, sys\nids = [json.loads(x)['id'] for x in sys.stdin]\nout = sys.stdout.buffer\n"
        "for k, i in enumerate(ids):\n"
        "    if k == 1:\n        out.write(b'{\"id\": \"\\xff\\xfe\"}\\n')\n"
        "    out.write(json.dumps({'id': i, 'entities': [{'id': 'e1', 'start': 0, 'end': 4, 'type': 'ORG'}]})"
        ".encode() + b'\\n')\n", encoding="utf-8")
    q = tmp_path / "q.jsonl"
    res = score("--gold", gold[0], "--extractor", f"{sys.executable} {script}", "--quarantine", q,
                "--json", tmp_path / "r.json")
    assert_exit(res, 1, "stdout line 2: not UTF-8 (stdout line 2, byte 9)", "FAIL: 1 prediction record(s) rejected")
    r = json.loads((tmp_path / "r.json").read_text())
    assert r["documents"]["with_predictions"] == 5 and r["predictions"]["rejected"] == 1
    assert "not UTF-8" in json.loads(q.read_text().splitlines()[0])["reason"]


def test_a_lone_surrogate_is_a_rejected_record_not_a_broken_report(gold, tmp_path):
    script = tmp_path / "sur.py"
    script.write_text("import json, sys\nids = [json.loads(x)['id'] for x in sys.stdin]\n"
                      "for i in ids:\n"
                      "    t = 'ORG' if i != ids[0] else 'OR\\\\ud800G'\n"
                      "    print('{\"id\": \"%s\", \"entities\": [{\"id\": \"e1\", \"start\": 0, \"end\": 4, "
                      "\"type\": \"%s\"}]}' % (i, t))\n", encoding="utf-8")
    q = tmp_path / "q.jsonl"
    res = score("--gold", gold[0], "--extractor", f"{sys.executable} {script}", "--quarantine", q,
                "--allow-rejected", "--json", tmp_path / "r.json")
    assert_exit(res, 0, "field 'entities[0].type' holds a lone surrogate U+D800 at character 2")
    r = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert r["predictions"]["rejected"] == 1 and r["documents"]["with_predictions"] == 4


# --- the Markdown for $GITHUB_STEP_SUMMARY ------------------------------------------------------------------------

def test_markdown_starts_with_the_verdict_appends_and_goes_to_stdout(gold, perfect, tmp_path):
    summary = tmp_path / "summary.md"
    summary.write_text("# Earlier step\n", encoding="utf-8")
    res = score("--gold", gold[0], "--predictions", perfect, "--fail-under", "entities.strict.micro.f1=0.9",
                "--fail-under", "triggers.classification.f1=0.5", "--markdown", summary, "--markdown-append")
    assert_exit(res, 0)
    text = summary.read_text()
    assert text.startswith("# Earlier step\n\n**✅ PASS**: entities.strict.micro.f1 1.000 ≥ 0.90 ✓; "
                           "triggers.classification.f1 1.000 ≥ 0.50 ✓\n")
    empty = write_records(tmp_path / "e.jsonl", [{"id": d.id} for d in gold[1]])
    res = score("--gold", gold[0], "--predictions", empty, "--allow-empty-predictions", "--fail-under",
                "entities.strict.micro.f1=0.9", "--markdown", "-", "--html", "-")
    assert_exit(res, 3)
    assert res.stdout.startswith("**❌ FAIL**: nothing predicted (allowed); entities.strict.micro.f1 0.000 < 0.90 ✗")
    assert "<!doctype html>" in res.stdout and not Path("-").exists()
    assert "FAIL: entities.strict.micro.f1 = 0.0000 < 0.9000" in res.stderr
    res = score("--gold", gold[0], "--predictions", perfect, "--markdown", summary)  # without append: replaced
    assert summary.read_text().startswith("**✅ PASS**: no threshold or baseline given")


def test_markdown_escapes_types_and_file_names(tmp_path):
    evil_type = "</style><script>alert(2)</script>"
    schema = Schema(name="evil", version=1, entity_types={evil_type: EntityType(evil_type), "X|evil": EntityType(
        "X|evil")}, event_types={})
    doc = Document("e" * 16, TEXT, [Entity("e1", 0, 4, evil_type), Entity("e2", 15, 19, "X|evil")])
    write_gold([doc], schema, tmp_path / "gold")
    preds = write_records(tmp_path / "p<img src=x onerror=alert(3)>`|.jsonl", [document_to_record(doc)])
    base = tmp_path / "b`a|se.json"
    assert_exit(score("--gold", tmp_path / "gold", "--predictions", preds, "--json", base), 0)
    assert_exit(score("--gold", tmp_path / "gold", "--predictions", preds, "--baseline", base, "--markdown",
                      tmp_path / "s.md"), 0)
    md = (tmp_path / "s.md").read_text()
    html = rendered(md)
    assert "<script" not in html and "<img" not in html and "<code>" not in html
    assert "&lt;/style&gt;&lt;script&gt;alert(2)&lt;/script&gt;" in html and "X|evil" in html
    shapes = table_shapes(html)
    assert shapes and set(shapes) == {8, 11, 6}, shapes  # headline, per type, baseline tables
    # CoNLL tag types, and compare's leaderboard, escape the same way
    conll = tmp_path / "t.conll"
    conll.write_text("a B-X|evil B-X|evil\nb O O\n", encoding="utf-8")
    res = score("--conll", conll, "--markdown", "-")
    assert_exit(res, 0)
    assert set(table_shapes(rendered(res.stdout))) == {8, 11}, res.stdout
    assert "| X&#124;evil |" in res.stdout
    for name in ("a|b`c", "<img src=x onerror=alert(4)>"):
        (tmp_path / f"{name}.json").write_bytes(base.read_bytes())
    res = run("compare", tmp_path / "a|b`c.json", tmp_path / "<img src=x onerror=alert(4)>.json", "--markdown", "-",
              "--resamples", "50")
    assert_exit(res, 0)
    assert res.stdout.startswith("## Leaderboard") and "Compared 2 report(s)" in res.stderr
    html = rendered(res.stdout)
    assert "<img" not in html and "<code>" not in html and set(table_shapes(html)) == {3}, html


def test_md_escape_makes_data_inert():
    assert md_escape("a|b`c<d>e\\|f\nz") == "a&#124;b&#96;c&lt;d&gt;e&#92;&#124;f z"


# --- the quarantine file beside the report ---------------------------------------------------------------------

def test_quarantine_goes_beside_the_report_and_a_clean_run_removes_it(gold, perfect, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    bad = write_records(tmp_path / "bad.jsonl", [document_to_record(d) for d in gold[1]] + [{"id": "nope"}])
    out = tmp_path / "reports"
    out.mkdir()
    res = score("--gold", gold[0], "--predictions", bad, "--json", out / "report.json", "--allow-rejected")
    assert_exit(res, 0, f"reasons in {out / 'report.quarantine.jsonl'}")
    assert (out / "report.quarantine.jsonl").exists() and not (tmp_path / "score.quarantine.jsonl").exists()
    res = score("--gold", gold[0], "--predictions", perfect, "--json", out / "report.json")
    assert_exit(res, 0, f"removed the stale {out / 'report.quarantine.jsonl'} of an earlier run")
    assert not (out / "report.quarantine.jsonl").exists()
    q = tmp_path / "elsewhere.jsonl"
    assert_exit(score("--gold", gold[0], "--predictions", bad, "--quarantine", q, "--allow-rejected"), 0)
    assert q.exists()


# --- seqeval parity --------------------------------------------------------------------------------------------

def test_macro_over_no_type_is_null_as_seqeval_nan(tmp_path):
    table = prf_table({}, {})
    assert table["macro"]["f1"] is None and table["weighted"]["f1"] == 0.0
    conll = tmp_path / "o.conll"
    conll.write_text("a O O\nb O O\n", encoding="utf-8")
    assert_exit(score("--conll", conll, "--json", tmp_path / "r.json"), 0)
    r = json.loads((tmp_path / "r.json").read_text())
    assert r["entities"]["strict"]["macro"]["f1"] is None
    res = score("--conll", conll, "--fail-under", "entities.strict.macro.f1=0.1")
    assert_exit(res, 3, "entities.strict.macro.f1: no value (null")


def test_untyped_tags_are_refused_saying_what_seqeval_would_do(tmp_path):
    conll = tmp_path / "u.conll"
    conll.write_text("a B B\nb I I\n", encoding="utf-8")
    res = score("--conll", conll)
    assert_exit(res, 1, "tag 'B' has no type; seqeval would score it as an entity of type '_'")


# --- compare: malformed reports are refused naming the file and the field ----------------------------------------

def _set(data: dict, dotted: str, value):
    node = data
    *path, last = dotted.split("/")
    for p in path:
        node = node[p]
    node[last] = value


@pytest.mark.parametrize("field, value, message", [
    ("per_document/aaaaaaaaaaaaaaaa/entities", ["6", "6", "6"], "per_document.aaaaaaaaaaaaaaaa.entities is ['6', '6',"),
    ("per_document/aaaaaaaaaaaaaaaa/triggers", [1, 2], "per_document.aaaaaaaaaaaaaaaa.triggers is [1, 2], not three"),
    ("gold", "ca8a952f61db97ef", "gold is str, not an object"),
    ("entities/strict/micro/f1", "0.9", "entities.strict.micro.f1 is '0.9', not a number"),
    ("confidence/entities.strict.micro.f1", ["0.1", "0.2"], "confidence.entities.strict.micro.f1 is ['0.1', '0.2']"),
    ("entities/strict/micro", {}, "no headline metric"),
])
def test_compare_refuses_a_malformed_report_naming_file_and_field(gold, perfect, tmp_path, field, value, message):
    good = tmp_path / "good.json"
    assert_exit(score("--gold", gold[0], "--predictions", perfect, "--json", good), 0)
    data = json.loads(good.read_text())
    _set(data, field, value)
    if field == "entities/strict/micro":  # and no events either: nothing left to rank
        data["triggers"]["classification"]["f1"] = data["arguments"]["classification"]["f1"] = None
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(data))
    res = run("compare", good, bad)
    assert_exit(res, 1, f"Error: {bad}: {message}")


def test_a_run_that_ends_before_any_report_still_says_fail_in_the_summary(gold, tmp_path):
    summary = tmp_path / "summary.md"
    summary.write_text("# Earlier step\n", encoding="utf-8")
    res = score("--gold", gold[0], "--extractor", "no-such-program-xyz", "--markdown", summary, "--markdown-append")
    assert_exit(res, 1, "could not be started")
    res = score("--gold", gold[0], "--extractor", "no-such-program-xyz", "--fail-under", "f1=0.5",
                "--markdown", summary, "--markdown-append")
    assert_exit(res, 2, "no metric 'f1'")
    lines = summary.read_text().splitlines()
    assert lines[0] == "# Earlier step" and lines[2].startswith("**❌ FAIL**: extractor 'no-such-program-xyz' could")
    assert lines[4] == "**❌ FAIL**: --fail-under 'f1=0.5': no metric 'f1'; valid keys:"


def test_a_macro_average_without_value_is_a_dash_in_the_baseline_table(tmp_path):
    conll_none = tmp_path / "o.conll"
    conll_none.write_text("a O O\nb O O\n", encoding="utf-8")
    assert_exit(score("--conll", conll_none, "--json", tmp_path / "old.json"), 0)
    res = score("--conll", conll_none, "--baseline", tmp_path / "old.json", "--markdown", "-", "--json",
                tmp_path / "new.json")
    assert_exit(res, 0, "| entities.strict.macro.f1 | — | — | — | — | no value |")
    row = json.loads((tmp_path / "new.json").read_text())["baseline"]["metrics"]["entities.strict.macro.f1"]
    assert row == {"baseline": None, "now": None, "delta": None}
