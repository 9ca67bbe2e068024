"""Streaming `annotate tasks` and `annotate score` (issue 11): the same bytes and numbers as the list-based path,
whatever the order of the inputs and the number of worker processes."""

from __future__ import annotations

import json
import random
import sys
import uuid
from pathlib import Path

import pytest
from click.testing import CliRunner

from annotate.cli import main
from annotate.gold.reader import GoldSet, gold_documents
from annotate.gold.rows import content_fingerprint
from annotate.gold.writer import write_gold
from annotate.predictions.sources import load_predictions
from annotate.score.context import ContextKeeper, in_context
from annotate.score.errorview import shown_documents
from annotate.score.run import document_report, stream_report

ROOT = Path(__file__).resolve().parent.parent
ARTICLES = ROOT / "gold" / "articles"
GOLD = ROOT / "gold" / "dataset"
sys.path.insert(0, str(ROOT))  # the benchmark corpus generator: real documents with nested annotations

from bench.corpus import write_articles_jsonl, write_predictions_jsonl  # noqa: E402


def cli(*args):
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert "Traceback" not in result.output, result.output
    return result


def make_tasks(articles, schema, strip=True, source=None, model_version="predictions"):
    """The list-based tasks flow `annotate tasks` had before it streamed (ingest everything, then build every
    task): the reference the streamed output is checked against, byte for byte."""
    from types import SimpleNamespace

    from annotate.articles.ingest import ingest
    from annotate.core.model import Rejected
    from annotate.studio.tasks import build_tasks

    read = ingest(articles, strip=strip)
    predictions, bad = None, []
    if source:
        loaded = load_predictions(source[0], source[1], read.documents, schema)
        broken = {v.doc for v in loaded.violations}
        bad = list(loaded.rejected) + [Rejected(f"predictions for {v.doc}", f"document {v.doc}: {v.message}")
                                       for v in loaded.violations]
        predictions = {k: d for k, d in loaded.documents.items() if k not in broken}
    tasks, refused = build_tasks(read.documents, schema, predictions, model_version)
    return SimpleNamespace(read=read, tasks=tasks, prediction_rejects=bad + refused,
                           rejected=list(read.rejected) + bad + refused,
                           with_predictions=sum(1 for t in tasks if "predictions" in t))


def old_tasks_bytes(articles, schema, source=None) -> bytes:
    """What `annotate tasks` wrote before it streamed: the whole list, dumped at once."""
    made = make_tasks(articles, schema, True, source)
    return (json.dumps(made.tasks, ensure_ascii=False, indent=2) + "\n").encode("utf-8"), made


def shuffled(path: Path, seed: int = 5) -> Path:
    lines = path.read_bytes().splitlines(keepends=True)
    random.Random(seed).shuffle(lines)
    out = path.with_name(path.stem + "-shuffled.jsonl")
    out.write_bytes(b"".join(lines))
    return out


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    d = tmp_path_factory.mktemp("corpus")
    articles = write_articles_jsonl(d / "articles.jsonl", 400)
    preds = write_predictions_jsonl(d / "predictions.jsonl", 400)
    # a few bad records, so that the quarantine's order and counts are compared too
    records = [json.loads(x) for x in preds.read_text(encoding="utf-8").splitlines()]
    bogus = dict(records[3], entities=[{**records[3]["entities"][0], "type": "BOGUS"}])
    extra = [b"{broken", json.dumps({"id": "no-such-doc"}).encode(), json.dumps(records[7]).encode(),
             json.dumps(bogus).encode(), b"[1]"]
    with preds.open("ab") as f:
        f.write(b"\n".join(extra) + b"\n")
    return articles, preds


def test_streamed_tasks_are_byte_identical_on_the_bundled_articles(tmp_path, schema):
    for source in (None, ("extractor", "annotate.baseline:extract")):
        out = tmp_path / "tasks.json"
        args = ["tasks", ARTICLES, "-o", out] + (["--extractor", source[1]] if source else [])
        assert cli(*args).exit_code == 0
        assert out.read_bytes() == old_tasks_bytes([ARTICLES], schema, source)[0]


def test_streamed_tasks_with_shuffled_predictions_match_the_list_and_its_quarantine(tmp_path, schema, corpus):
    articles, preds = corpus
    expected, made = old_tasks_bytes([articles], schema, ("predictions", str(preds)))
    out = tmp_path / "tasks.json"
    res = cli("tasks", articles, "--predictions", preds, "-o", out)
    assert res.exit_code == 0, res.output
    assert out.read_bytes() == expected
    q = [json.loads(x) for x in (tmp_path / "tasks.quarantine.jsonl").read_text(encoding="utf-8").splitlines()]
    assert q == [r.to_json() for r in made.rejected]  # same records, same order
    assert len(q) == 5 and f"{len(made.tasks)} task(s) written" in res.output
    assert f"{made.with_predictions} task(s) with predictions, 5 prediction(s) quarantined" in res.output
    # the predictions in another order than the articles: the same file
    again = tmp_path / "again.json"
    assert cli("tasks", articles, "--predictions", shuffled(preds), "-o", again).exit_code == 0
    assert again.read_bytes() == expected


def test_num_proc_2_is_byte_identical_and_jsonl_holds_the_same_tasks(tmp_path, corpus, monkeypatch):
    import annotate.articles.ingest

    monkeypatch.setattr(annotate.articles.ingest, "BLOCK", 64)  # several blocks in flight, not one
    articles, preds = corpus
    one, two, lines = tmp_path / "one.json", tmp_path / "two.json", tmp_path / "tasks.jsonl"
    dup = tmp_path / "dup.jsonl"  # a duplicate and a bad line: the duplicate check runs in the main process
    dup.write_bytes(articles.read_bytes() + articles.read_bytes().split(b"\n")[0] + b"\n{bad\n")
    assert cli("tasks", dup, "--predictions", preds, "-o", one).exit_code == 0
    res = cli("tasks", dup, "--predictions", preds, "-o", two, "--num-proc", "2")
    assert res.exit_code == 0 and "402 article input(s): 400 task(s) written" in res.output
    assert one.read_bytes() == two.read_bytes()
    assert (tmp_path / "one.quarantine.jsonl").read_bytes() == (tmp_path / "two.quarantine.jsonl").read_bytes()
    assert cli("tasks", dup, "--predictions", preds, "-o", lines, "--num-proc", "2").exit_code == 0
    assert [json.loads(x) for x in lines.read_text(encoding="utf-8").splitlines()] == json.loads(one.read_text())


def test_a_failed_run_leaves_the_previous_output_and_no_temporary_file(tmp_path, corpus):
    articles, _ = corpus
    out = tmp_path / "tasks.json"
    assert cli("tasks", ARTICLES, "-o", out).exit_code == 0
    before = out.read_bytes()
    res = cli("tasks", articles, "--extractor", "no_such_module_xyz:extract", "-o", out)
    assert res.exit_code == 1 and "cannot load it" in res.output
    assert out.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tasks.json", "tasks.quarantine.jsonl"] or \
        sorted(p.name for p in tmp_path.iterdir()) == ["tasks.json"]


def _mixed_predictions(tmp_path) -> Path:
    """Baseline predictions for the gold set, with every kind of bad record among them."""
    docs, info = gold_documents(GOLD)
    preds = load_predictions("extractor", "annotate.baseline:extract", docs, info.schema)
    from annotate.predictions.records import document_to_record

    recs = [document_to_record(preds.documents[d.id]) for d in docs]
    bogus = json.loads(json.dumps(recs[1]))
    bogus["entities"][0]["type"] = "BOGUS"
    if bogus["events"]:
        bogus["events"][0]["type"] = "Bogus.Event"
    lines = [b"{broken", json.dumps({"id": "nosuch"}).encode(), json.dumps(recs[3]).encode(),
             json.dumps(bogus).encode(), json.dumps(recs[0]).encode(), json.dumps(recs[0]).encode(), b"[1, 2]",
             json.dumps({"entities": []}).encode(), json.dumps(recs[2]).encode()]
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


@pytest.mark.parametrize("order", ["file order", "reversed"])
def test_streamed_score_equals_the_list_based_report(tmp_path, order):
    path = _mixed_predictions(tmp_path)
    if order == "reversed":
        path.write_bytes(b"\n".join(reversed(path.read_bytes().splitlines())) + b"\n")
    docs, info = gold_documents(GOLD)
    old = document_report(docs, info, load_predictions("predictions", str(path), docs, info.schema), 300)
    new = stream_report(GoldSet(GOLD), path, None, 300).report
    assert json.dumps(new, sort_keys=False) == json.dumps(old, sort_keys=False)
    assert new["predictions"]["rejected"] == 5 and new["predictions"]["schema_violations"] >= 1


def test_score_cli_reads_predictions_in_any_order(tmp_path):
    path = _mixed_predictions(tmp_path)
    rev = tmp_path / "rev.jsonl"
    rev.write_bytes(b"\n".join(reversed(path.read_bytes().splitlines())) + b"\n")
    reports = []
    for p in (path, rev):
        res = cli("score", "--gold", GOLD, "--predictions", p, "--json", tmp_path / "r.json", "--allow-rejected",
                  "--quarantine", tmp_path / "q.jsonl")
        assert res.exit_code == 0, res.output
        report = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
        # the same records rejected for the same reasons; their line numbers (and so their order) differ
        reasons = sorted(json.dumps({k: v for k, v in r.items() if k != "source"}, sort_keys=True)
                         for r in report["predictions"].pop("rejected_reasons"))
        report["predictions"].pop("source")
        reports.append((report, reasons))
    assert reports[0] == reports[1]


def test_the_streamed_fingerprint_is_the_content_fingerprint(tmp_path, schema, bundled_documents):
    assert GoldSet(GOLD).fingerprint() == gold_documents(GOLD)[1].fingerprint == \
        json.loads((GOLD / "build.json").read_text())["fingerprint"]
    from datasets import load_from_disk

    write_gold(bundled_documents, schema, tmp_path / "g", "train=0.5,dev=0.25,test=0.25")
    rows = [r for ds in load_from_disk(str(tmp_path / "g")).values() for r in ds.to_list()]
    gold = GoldSet(tmp_path / "g")
    assert gold.fingerprint() == content_fingerprint(rows) == gold._fingerprint_spilled()
    assert gold.count() == 5 and [d.id for d in gold.documents()] == [r["id"] for r in rows]


def test_errors_in_context_keep_the_documents_with_the_most_errors(schema):
    docs, info = gold_documents(GOLD)
    preds = load_predictions("extractor", "annotate.baseline:extract", docs, info.schema).documents
    full = in_context(docs, preds, {}, info.schema)
    keeper = ContextKeeper(info.schema, limit=2)
    for d in docs:
        keeper.add(d, preds[d.id])
    kept = keeper.result()
    assert kept["documents"] == [d for _, d in shown_documents(full, limit=2)]
    assert kept["documents_total"] == 5 and "documents_total" not in full


@pytest.mark.studio
def test_a_jsonl_tasks_file_is_pushed_to_the_real_label_studio(studio_env, tmp_path):
    from annotate.studio.client import existing_doc_ids, get_project, rest

    out = tmp_path / "tasks.jsonl"
    assert cli("tasks", ARTICLES, "--extractor", "annotate.baseline:extract", "-o", out).exit_code == 0
    assert len(out.read_text(encoding="utf-8").splitlines()) == 5
    title = f"test-jsonl-{uuid.uuid4().hex[:8]}"
    res = cli("push", out, "--project", title)
    assert res.exit_code == 0 and "5 imported (5 with predictions)" in res.output, res.output
    project = get_project(rest(studio_env), studio_env, None, title)
    assert len(existing_doc_ids(rest(studio_env), studio_env, project.id)) == 5
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"data": {"text": "x", "doc_id": "a"}}\n{oops\n', encoding="utf-8")
    res = cli("push", bad, "--project", title)
    assert res.exit_code == 1 and f"{bad}:2: not valid JSON" in res.output


def test_extractor_batches_name_their_call_in_rejected_records(tmp_path):
    """The extractor runs once per batch and numbers its stdout lines from 1 each time: a rejected line from a
    later call says which documents that call had, so no two quarantine entries carry the same name."""
    from annotate.articles.taskstream import stream_tasks
    from annotate.core.schema import load_schema

    script = tmp_path / "extractor.py"
    script.write_text("import json, sys\n"
                      "ids = [json.loads(line)['id'] for line in sys.stdin]\n"
                      "print('{half a record')\n"
                      "for i in ids: print(json.dumps({'id': i, 'entities': []}))\n", encoding="utf-8")
    run = stream_tasks([ARTICLES], tmp_path / "tasks.json", load_schema(),
                       source=("extractor", f"{sys.executable} {script}"), extractor_batch=2)
    sources = [r.source for r in run.rejected if "not JSON" in r.reason]
    assert len(sources) == 3  # 5 articles, calls of 2, 2 and 1
    assert len(set(sources)) == 3, sources
    assert sources[0].endswith("stdout line 1")
    assert sources[1].endswith("stdout line 1 of the call for documents 3-4")
    assert sources[2].endswith("stdout line 1 of the call for documents 5-5")
    assert json.loads((tmp_path / "tasks.json").read_text(encoding="utf-8")).__len__() == 5
