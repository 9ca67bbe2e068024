"""`annotate import` as a stream: export shapes read task by task, batches, worker processes, Label Studio's
local-storage folders, and failed runs that leave the previous gold set in place."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from annotate.cli import main
from annotate.gold.build import build_gold, import_exports
from annotate.gold.exportfiles import export_files
from annotate.gold.reader import gold_documents
from annotate.studio.config import Routing
from annotate.studio.stream import ExportStream

from .exports import annotation, export_task


def _accounted(result) -> None:
    c = result.counts
    assert c["imported"] + c["quarantined"] + c["skipped"] == c["inputs"]  # nothing lost


@pytest.fixture(scope="module")
def bundled_documents():
    """The five gold articles with their annotations (nested entities, events, arguments, attributes)."""
    docs, _ = gold_documents(Path(__file__).resolve().parent.parent / "gold" / "dataset")
    return sorted(docs, key=lambda d: d.id)


@pytest.fixture
def mixed_tasks(bundled_documents):
    """Five good tasks with two faulty ones between them: a task that is not an object, and one whose region
    has an out-of-range offset."""
    good = [export_task(d, [annotation(d)], task_id=k + 1) for k, d in enumerate(bundled_documents)]
    bad_region = export_task(bundled_documents[0], [annotation(bundled_documents[0])], task_id=99)
    bad_region["data"] = {**bad_region["data"], "doc_id": "other"}
    bad_region["annotations"][0]["result"][0]["value"]["end"] = 10 ** 6
    return [good[0], "not a task", good[1], bad_region, *good[2:]]


def _write(path: Path, tasks: list, shape: str) -> Path:
    if shape == "array":
        path.write_text(json.dumps(tasks, ensure_ascii=False, indent=1), encoding="utf-8")
    else:  # JSONL: one task per line
        path.write_text("".join(json.dumps(t, ensure_ascii=False) + "\n" for t in tasks), encoding="utf-8")
    return path


@pytest.mark.parametrize("shape", ["array", "jsonl"])
def test_streamed_exports_quarantine_bad_tasks_by_position_and_account_for_every_task(schema, tmp_path, mixed_tasks,
                                                                                      shape, monkeypatch):
    import annotate.studio.readers as readers

    monkeypatch.setattr(readers, "CHUNK", 512)  # a task spans many buffer refills
    path = _write(tmp_path / f"export.{shape}", mixed_tasks, shape)
    read = list(ExportStream(path))
    assert [t.index for t in read] == list(range(7)) and all(t.raw is not None for t in read)
    assert [t.task for t in read] == mixed_tasks
    result = import_exports([path], Routing(schema))
    _accounted(result)
    assert result.counts == {"inputs": 7, "imported": 5, "quarantined": 2, "skipped": 0}
    where = sorted(q.source for q in result.quarantined)
    assert where == [f"{path}#1", f"{path}#3"]
    assert "a task must be an object" in result.quarantined[0].reason
    assert "region" in result.quarantined[1].reason and "out of range" in result.quarantined[1].reason


def test_a_build_writes_quarantined_tasks_whole_to_the_quarantine_file(schema, tmp_path, mixed_tasks):
    path = _write(tmp_path / "export.json", mixed_tasks, "array")
    built = build_gold([path], Routing(schema), tmp_path / "gold")
    _accounted(built.result)
    lines = [json.loads(x) for x in built.quarantine_path.read_text(encoding="utf-8").splitlines()]
    assert [x["source"] for x in lines] == [f"{path}#1", f"{path}#3"]
    assert lines[0]["task"] == "not a task" and lines[1]["task"] == mixed_tasks[3]  # nothing lost
    assert built.quarantine.records == 2 and not list((tmp_path / "gold").glob(".*"))


def test_a_jsonl_line_that_is_not_json_is_quarantined_by_line_and_the_rest_is_read(schema, tmp_path, mixed_tasks):
    good = [mixed_tasks[0], mixed_tasks[2], mixed_tasks[4]]
    lines = [json.dumps(good[0], ensure_ascii=False), "", json.dumps(good[1], ensure_ascii=False)[:-5],
             json.dumps(good[2], ensure_ascii=False)]
    path = tmp_path / "export.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = import_exports([path], Routing(schema))
    _accounted(result)
    assert result.counts == {"inputs": 3, "imported": 2, "quarantined": 1, "skipped": 0}
    bad = result.quarantined[0]
    assert bad.source == f"{path}#1" and "line 3: not valid JSON" in bad.reason and bad.record == lines[2]


def test_json_min_exports_are_grouped_into_tasks_as_they_stream(schema, tmp_path, bundled_documents):
    doc = bundled_documents[0]
    k = doc.text.index("الكاظمي")
    records = [{"id": 7, "text": doc.text, "doc_id": doc.id, "annotator": a, "annotation_id": n,
                "entity": [{"start": k, "end": k + 7, "text": "الكاظمي", "labels": ["PER"]}]}
               for n, a in ((1, "amal"), (2, "bilal"))]
    records.append({"id": 8, "text": bundled_documents[1].text, "doc_id": bundled_documents[1].id, "annotator": "amal",
                    "annotation_id": 3, "entity": [{"start": 0, "end": 10 ** 6, "labels": ["PER"]}]})
    path = tmp_path / "min.json"
    path.write_text(json.dumps(records, ensure_ascii=False), encoding="utf-8")
    tasks = list(ExportStream(path))
    assert [t.index for t in tasks] == [0, 1] and len(tasks[0].task["annotations"]) == 2
    result = import_exports([path], Routing(schema))
    _accounted(result)
    assert result.counts == {"inputs": 2, "imported": 1, "quarantined": 1, "skipped": 0}
    assert result.documents[0].metadata["gold_rule"] == "2 identical annotations"
    assert result.quarantined[0].source == f"{path}#1"


def test_a_truncated_export_among_others_contributes_nothing(schema, tmp_path, bundled_documents):
    first = _write(tmp_path / "a.json", [export_task(d, [annotation(d)]) for d in bundled_documents[:2]], "array")
    text = json.dumps([export_task(d, [annotation(d)]) for d in bundled_documents[2:]], ensure_ascii=False)
    broken = tmp_path / "b.json"
    broken.write_text(text[: len(text) * 2 // 3], encoding="utf-8")  # the first task is whole, the rest is cut
    result = import_exports([first, broken], Routing(schema))
    _accounted(result)
    assert result.counts["imported"] == 2 and result.counts["inputs"] == 2
    assert [u.source for u in result.unreadable] == [str(broken)]
    assert "half-finished download" in result.unreadable[0].reason
    # one file alone: its complete first task is not used either
    alone = import_exports([broken], Routing(schema))
    assert alone.counts["inputs"] == 0 and len(alone.unreadable) == 1


@pytest.fixture(scope="module")
def big_export(tmp_path_factory):
    """A few thousand generated tasks (paragraphs of the gold set, nested spans, one emoji document)."""
    from bench.corpus import write_export_json

    return write_export_json(tmp_path_factory.mktemp("big") / "export.json", 2500)


def _tables(out: Path) -> dict:
    return {f.name.split("-")[0]: pq.read_table(f) for f in (out / "data").glob("*.parquet")}


def test_small_batches_and_sort_windows_give_the_same_dataset_as_one_batch(schema, tmp_path, big_export):
    one = build_gold([big_export], Routing(schema), tmp_path / "one", "train=0.7,test=0.3", batch_size=10 ** 6,
                     sort_window=10 ** 6)
    small = build_gold([big_export], Routing(schema), tmp_path / "small", "train=0.7,test=0.3", batch_size=7,
                       sort_window=97)
    assert one.result.counts == small.result.counts == {"inputs": 2500, "imported": 2500, "quarantined": 0,
                                                        "skipped": 0}
    for key in ("fingerprint", "files_digest", "splits"):
        assert one.info.build[key] == small.info.build[key]
    a, b = _tables(tmp_path / "one"), _tables(tmp_path / "small")
    assert a.keys() == b.keys() == {"train", "test"}
    for name in a:
        assert a[name].equals(b[name])
        ids = a[name].column("id").to_pylist()
        assert ids == sorted(ids)
    assert (tmp_path / "one" / "README.md").read_text() == (tmp_path / "small" / "README.md").read_text()
    docs, info = gold_documents(tmp_path / "small")  # the save_to_disk files read back, same fingerprint
    assert len(docs) == 2500 and info.fingerprint == one.info.fingerprint
    assert not list((tmp_path / "small").glob(".rows*"))  # no spill left in the output


def test_num_proc_2_writes_the_same_bytes_as_one_process(tmp_path, big_export):
    outs = {}
    for n in (1, 2):
        res = CliRunner().invoke(main, ["import", str(big_export), "-o", str(tmp_path / f"n{n}"), "--num-proc", str(n),
                                        "--split", "train=0.5,test=0.5"])
        assert res.exit_code == 0, res.output
        assert "2500 imported" in res.output
        # two phases shown: the tasks read (with their rate), then the sorted rows written
        assert "Reading exports: 2500 tasks" in res.output and "Writing the gold set: 2,500/2,500 rows" in res.output
        outs[n] = {str(p.relative_to(tmp_path / f"n{n}")): p.read_bytes()
                   for p in sorted((tmp_path / f"n{n}").rglob("*")) if p.is_file()}
    assert outs[1].keys() == outs[2].keys() and len(outs[1]) > 5
    assert outs[1] == outs[2]



def test_windows_bounded_in_bytes_keep_num_proc_outputs_identical(tmp_path, big_export, monkeypatch):
    """Sort windows are bounded in bytes too; the bound is taken from the rows' content, not from how they were
    batched, so one process and workers still write the same bytes when the windows are many."""
    import annotate.gold.writer as dataset

    monkeypatch.setattr(dataset, "SORT_WINDOW_BYTES", 200_000)  # a few hundred rows a window, not 5,000
    outs = {}
    for n in (1, 2):
        built = build_gold(export_files([big_export]), Routing(dataset_schema()), tmp_path / f"n{n}", num_proc=n)
        assert built.result.counts["imported"] == 2500
        outs[n] = {str(p.relative_to(tmp_path / f"n{n}")): p.read_bytes()
                   for p in sorted((tmp_path / f"n{n}").rglob("*")) if p.is_file()}
    assert outs[1] == outs[2]
    groups = pq.ParquetFile(next((tmp_path / "n1" / "data").glob("*.parquet"))).num_row_groups
    assert groups > 2  # the byte bound really cut the rows into several windows


def dataset_schema():
    from annotate.core.schema import load_schema

    return load_schema()

def _storage_folder(folder: Path, docs) -> Path:
    """Label Studio's local-storage export: one file per annotation named by its id, holding the annotation with
    its task (without annotations) under `task`; and one task in the task format (`<task id>.json`)."""
    folder.mkdir()
    ann_id = 100
    for k, d in enumerate(docs[:3]):
        task = export_task(d, [], task_id=k + 1)
        task.pop("annotations")
        people = ("amal@annotate.test", "bilal@annotate.test") if k == 0 else ("amal@annotate.test",)
        for who in people:
            ann_id += 1
            a = {**annotation(d, who), "id": ann_id, "task": task}
            (folder / str(ann_id)).write_text(json.dumps(a, ensure_ascii=False, indent=2), encoding="utf-8")
    task = export_task(docs[3], [annotation(docs[3])], task_id=4)
    (folder / "4.json").write_text(json.dumps(task, ensure_ascii=False, indent=2), encoding="utf-8")
    return folder


def test_a_local_storage_export_folder_is_read_as_one_export(schema, tmp_path, bundled_documents):
    folder = _storage_folder(tmp_path / "storage", bundled_documents)
    assert export_files([folder]) == [folder]
    for n in (1, 2):
        built = build_gold(export_files([folder]), Routing(schema), tmp_path / f"gold{n}", num_proc=n)
        _accounted(built.result)
        assert built.result.counts == {"inputs": 4, "imported": 4, "quarantined": 0, "skipped": 0}
        docs, _ = gold_documents(tmp_path / f"gold{n}")
        by_id = {d.id: d for d in docs}
        # the task whose two annotations sit in two files: gathered into one task, agreed, both in provenance
        first = by_id[bundled_documents[0].id]
        assert first.metadata["gold_rule"] == "2 identical annotations"
        assert set(first.provenance.annotators) == {"amal@annotate.test", "bilal@annotate.test"}
        assert first.provenance.source == str(folder / "101")
        assert built.info.agreement["tasks"] == 1
    assert (tmp_path / "gold1" / "data").iterdir() and \
        _tables(tmp_path / "gold1")["test"].equals(_tables(tmp_path / "gold2")["test"])


def test_a_broken_file_in_a_storage_folder_is_named(schema, tmp_path, bundled_documents):
    folder = _storage_folder(tmp_path / "storage", bundled_documents)
    (folder / "999").write_text('{"id": 999, "result": [', encoding="utf-8")
    built = build_gold(export_files([folder]), Routing(schema), tmp_path / "gold")
    assert built.info is None and "999" in built.refused
    assert any(str(folder / "999") == u.source for u in built.result.unreadable)
    ok = build_gold(export_files([folder]), Routing(schema), tmp_path / "gold", skip_unreadable=True)
    assert ok.info is not None and ok.result.counts["imported"] == 4


def test_a_failed_import_keeps_the_previous_gold_set(schema, tmp_path, bundled_documents, monkeypatch):
    good = _write(tmp_path / "a.json", [export_task(d, [annotation(d)]) for d in bundled_documents[:2]], "array")
    out = tmp_path / "gold"
    first = build_gold([good], Routing(schema), out)
    before = {p: p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}
    # 1. an unreadable export: refused, nothing written
    cut = tmp_path / "b.json"
    cut.write_text(good.read_text(encoding="utf-8")[:-40], encoding="utf-8")
    refused = build_gold([good, cut], Routing(schema), out)
    assert refused.info is None and refused.refused
    # 2. a crash in the middle of writing the rows
    import annotate.gold.writer as dataset

    def boom(self, enc):
        raise OSError("disk full")

    monkeypatch.setattr(dataset.GoldWriter, "add_encoded", boom)
    with pytest.raises(OSError):
        build_gold([good], Routing(schema), out)
    assert {p: p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()} == before
    assert gold_documents(out)[1].fingerprint == first.info.fingerprint
    # no temporary folder left (the quarantine file names the unreadable export of the refused run)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json", "b.json", "gold", "gold.quarantine.jsonl"]


def test_workers_keep_only_the_rows_taken_as_gold(tmp_path, big_export):
    """With workers, each chunk's rows are written by the worker before the parent decides which of them are
    gold (a duplicate or a faulty task is not): the set is the same as one process writes, byte for byte."""
    tasks = json.loads(big_export.read_text(encoding="utf-8"))
    tasks.insert(300, json.loads(json.dumps(tasks[5])))  # a duplicate, in the middle of a worker's chunk
    tasks[700]["annotations"][0]["result"][0]["value"]["start"] = -4  # a faulty region: quarantined
    tasks[901]["annotations"] = []  # nothing to import: skipped
    mixed = tmp_path / "mixed.json"
    mixed.write_text(json.dumps(tasks, ensure_ascii=False), encoding="utf-8")
    outs, counts = {}, {}
    for n in (1, 2):
        built = build_gold([mixed], Routing(dataset_schema()), tmp_path / f"n{n}", num_proc=n,
                           quarantine_path=tmp_path / f"q{n}.jsonl")
        counts[n] = built.result.counts
        outs[n] = {str(p.relative_to(tmp_path / f"n{n}")): p.read_bytes()
                   for p in sorted((tmp_path / f"n{n}").rglob("*")) if p.is_file()}
    assert counts[1] == counts[2] == {"inputs": 2501, "imported": 2498, "quarantined": 2, "skipped": 1}
    assert outs[1] == outs[2]
    docs, _ = gold_documents(tmp_path / "n2")
    assert len(docs) == 2498 and len({d.id for d in docs}) == 2498
