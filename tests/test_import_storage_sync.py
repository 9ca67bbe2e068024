"""A real Label Studio local-storage export sync, read back by `annotate import`.

A server of its own: local-files storage must be enabled (and given a document root) before Label Studio
starts, which the session's shared server is not."""

from __future__ import annotations

import pytest

from annotate.gold.build import build_gold
from annotate.gold.exportfiles import export_files
from annotate.gold.reader import gold_documents
from annotate.studio.config import Routing, labeling_config
from annotate.studio.tasks import results_for, task_data

from .conftest import _free_port


@pytest.fixture(scope="module")
def annotated():
    from pathlib import Path

    docs, _ = gold_documents(Path(__file__).resolve().parent.parent / "gold" / "dataset")
    return sorted(docs, key=lambda d: d.id)[:2]


def test_a_label_studio_export_storage_sync_is_imported_as_the_annotations_were_made(tmp_path, monkeypatch, schema,
                                                                                     annotated):
    from annotate.studio.client import connect
    from annotate.studio.connection import load_connection
    from annotate.studio.server import LocalStudio

    root = tmp_path / "files"
    target = root / "export"
    target.mkdir(parents=True)
    monkeypatch.setenv("LOCAL_FILES_SERVING_ENABLED", "true")
    monkeypatch.setenv("LOCAL_FILES_DOCUMENT_ROOT", str(root))
    server = LocalStudio(tmp_path / "studio", _free_port())
    server.up(timeout=300)
    try:
        client = connect(load_connection(server.connection_file))
        project = client.projects.create(title="storage sync", label_config=labeling_config(schema))
        client.projects.import_tasks(id=project.id, request=[task_data(d) for d in annotated])
        tasks = {t.data["doc_id"]: t for t in client.tasks.list(project=project.id)}
        by_id = {d.id: d for d in annotated}
        for doc_id, task in tasks.items():
            client.annotations.create(id=task.id, result=results_for(by_id[doc_id]), was_cancelled=False)
        storage = client.export_storage.local.create(project=project.id, path=str(target), title="gold")
        client.export_storage.local.sync(id=storage.id)
    finally:
        server.down()
    files = sorted(p.name for p in target.iterdir())
    assert len(files) == 2 and all(f.isdigit() for f in files), files  # one file per annotation, named by its id
    built = build_gold(export_files([target]), Routing(schema), tmp_path / "gold")
    assert built.result.counts == {"inputs": 2, "imported": 2, "quarantined": 0, "skipped": 0}
    docs, _ = gold_documents(tmp_path / "gold")
    for doc in docs:
        made = by_id[doc.id]
        assert doc.text == made.text
        assert [(e.start, e.end, e.type) for e in doc.entities] == [(e.start, e.end, e.type) for e in made.entities]
        assert [(v.trigger.start, v.trigger.end, v.type, dict(v.attributes), len(v.arguments)) for v in doc.events] \
            == [(v.trigger.start, v.trigger.end, v.type, dict(v.attributes), len(v.arguments)) for v in made.events]
        assert doc.provenance.source.startswith(str(target))
