"""Documents with random spans -> Label Studio export JSON -> gold dataset on disk -> Documents: identical."""

import json
import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from annotate.articles.ingest import make_document
from annotate.core.model import TATWEEL, Argument, Document, Entity, Event, Span
from annotate.gold.build import import_exports
from annotate.gold.reader import gold_documents
from annotate.gold.writer import write_gold
from annotate.studio.config import Routing

from .exports import annotation, export_task

WORDS = ["والبيشمركة", "مُصْطَفَى", "الإرهابيـــين", "👍🏽", "Getty", "١٣", "3.5", "،", "«", "»", "بغداد", "كركوك",
         "وزارة", "الداخلية", "ISIS", "(", ")", "؟", "لـ\"البشمركة\"", "👨\u200d👩\u200d👧"]


def _endpoints(text):
    starts = [i for i, c in enumerate(text) if not c.isspace() and c != TATWEEL]
    ends = [i + 1 for i in starts]
    return starts, ends


@st.composite
def documents(draw, schema):
    words = draw(st.lists(st.sampled_from(WORDS), min_size=3, max_size=25))
    seps = draw(st.lists(st.sampled_from([" ", " ", "\r\n", "\n\n", "  "]), min_size=len(words), max_size=len(words)))
    raw = "".join(w + s for w, s in zip(words, seps)).rstrip()
    doc = make_document(raw, "generated", None, doc_id=None)  # \r\n is normalised exactly as at ingestion
    text = doc.text
    starts, ends = _endpoints(text)
    etypes = list(schema.entity_types)
    entities = []
    for k in range(draw(st.integers(0, 8))):
        s = draw(st.sampled_from(starts))
        e = draw(st.sampled_from([x for x in ends if x > s] or [s + 1]))
        if e > len(text) or text[e - 1].isspace() or text[e - 1] == TATWEEL:
            continue
        # one region per span and type: a second one is a duplicate, which import quarantines
        free = [t for t in etypes if all((x.start, x.end, x.type) != (s, e, t) for x in entities)]
        if not free:
            continue
        entities.append(Entity(f"e{k}", s, e, draw(st.sampled_from(free))))
        if len(free) > 1 and draw(st.booleans()):  # the same span nested again, with another type
            entities.append(Entity(f"e{k}n", s, e, draw(st.sampled_from([t for t in free
                                                                          if t != entities[-1].type]))))
    events = []
    for k in range(draw(st.integers(0, 3))):
        etype = draw(st.sampled_from(list(schema.event_types)))
        s = draw(st.sampled_from(starts))
        e = draw(st.sampled_from([x for x in ends if x > s] or [s + 1]))
        if e > len(text) or text[e - 1].isspace() or text[e - 1] == TATWEEL or \
                any((v.trigger.start, v.trigger.end, v.type) == (s, e, etype) for v in events):
            continue
        args = []
        for ent in entities:
            roles = [r for r, types in schema.event_types[etype].roles.items() if ent.type in types]
            if roles and draw(st.booleans()):
                args.append(Argument(draw(st.sampled_from(roles)), ent.id))
        attrs = {"realis": draw(st.sampled_from(schema.attributes["realis"].values))}
        events.append(Event(f"v{k}", etype, Span(s, e), attrs, tuple(args)))
    return Document(doc.id, text, entities, events, doc.metadata)


def _key(doc):
    ents = sorted((e.id, e.start, e.end, e.type) for e in doc.entities)
    evs = sorted((v.id, v.type, v.trigger.start, v.trigger.end, tuple(sorted(v.attributes.items())),
                  tuple(sorted((a.role, a.entity) for a in v.arguments))) for v in doc.events)
    return doc.id, doc.text, ents, evs


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(data=st.data())
def test_random_documents_survive_export_and_dataset(data, schema, tmp_path_factory):
    docs = data.draw(st.lists(documents(schema), min_size=1, max_size=4, unique_by=lambda d: d.id))
    tmp = tmp_path_factory.mktemp("rt")
    export = tmp / "export.json"
    export.write_text(json.dumps([export_task(d, [annotation(d)]) for d in docs], ensure_ascii=False),
                      encoding="utf-8")
    result = import_exports([export], Routing(schema))
    assert result.counts == {"inputs": len(docs), "imported": len(docs), "quarantined": 0, "skipped": 0}
    write_gold(result.documents, schema, tmp / "gold")
    back, info = gold_documents(tmp / "gold")
    assert sorted(map(_key, back)) == sorted(map(_key, docs))
    assert all(b.provenance.annotators == ("amal@annotate.test",) for b in back)
    assert len(info.fingerprint) == 16


def test_gold_set_loads_with_load_dataset_offline(schema, bundled_documents, tmp_path):
    import subprocess
    import sys

    doc = bundled_documents[1]
    i = doc.text.index("البيشمركة", doc.text.index("والبيشمركة"))  # clitic left outside the span
    annotated = Document(doc.id, doc.text, [Entity("e1", i, i + len("البيشمركة"), "ORG")], [], doc.metadata)
    write_gold([annotated], schema, tmp_path / "gold", "train=0.5,test=0.5")
    # a fresh interpreter with the offline switches set before `datasets` is imported
    probe = f"""
import json, datasets
ds = datasets.load_dataset({str(tmp_path / "gold")!r}, cache_dir={str(tmp_path / "hf")!r})
split = next(s for s in ds if len(ds[s]))
row = ds[split][0]
names = ds[split].features["ner_tags"].feature.names
disk = datasets.load_from_disk({str(tmp_path / "gold")!r})
print(json.dumps({{"row": {{k: row[k] for k in ("id", "tokens", "token_start", "ner_tags")}}, "names": names,
                  "disk_id": disk[split][0]["id"]}}, ensure_ascii=False))
"""
    env = dict(os.environ, HF_DATASETS_OFFLINE="1", HF_HUB_OFFLINE="1", HF_HOME=str(tmp_path / "hf"))
    out = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True)
    got = json.loads(out.stdout.strip().splitlines()[-1])
    row, names = got["row"], got["names"]
    k = row["token_start"].index(i)
    assert row["tokens"][k] == "البيشمركة" and row["tokens"][k - 1] == "و"
    assert names[row["ner_tags"][k]] == "B-ORG"
    assert got["disk_id"] == row["id"] == doc.id
    card = (tmp_path / "gold" / "README.md").read_text(encoding="utf-8")
    assert schema.fingerprint in card and "| ORG | 1 |" in card


def test_splits_are_deterministic_by_document_id(schema, bundled_documents, tmp_path):
    docs = [Document(d.id, d.text, [], [], {}) for d in bundled_documents]
    a = write_gold(docs, schema, tmp_path / "a", "train=0.6,test=0.4").build["splits"]
    b = write_gold(list(reversed(docs)), schema, tmp_path / "b", "train=0.6,test=0.4").build["splits"]
    assert a == b and sum(a.values()) == 5
    back_a = {d.id: d for d in gold_documents(tmp_path / "a", "train")[0]}
    back_b = {d.id: d for d in gold_documents(tmp_path / "b", "train")[0]}
    assert set(back_a) == set(back_b)


def test_crash_while_writing_leaves_previous_gold_intact(schema, bundled_documents, tmp_path, monkeypatch):
    import pyarrow.parquet as pq

    first = [Document(bundled_documents[0].id, bundled_documents[0].text, [], [], {})]
    info = write_gold(first, schema, tmp_path / "gold")

    def boom(self, *a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(pq.ParquetWriter, "write_table", boom)  # the streamed build writes parquet with it
    bigger = [Document(d.id, d.text, [], [], {}) for d in bundled_documents]
    try:
        write_gold(bigger, schema, tmp_path / "gold")
    except OSError:
        pass
    else:
        raise AssertionError("the write should have failed")
    back, again = gold_documents(tmp_path / "gold")
    assert [d.id for d in back] == [first[0].id] and again.fingerprint == info.fingerprint
    leftovers = [p.name for p in tmp_path.iterdir() if p.name != "gold"]
    assert leftovers == [], leftovers
    assert not os.path.exists(tmp_path / ".gold.previous")


def test_a_rebuilt_gold_set_never_loads_stale_rows(schema, bundled_documents, tmp_path):
    """`datasets` caches local folders by data-file paths; a rebuild must not be served from that cache."""
    import datasets

    docs = [Document(d.id, d.text, [], [], {}) for d in bundled_documents]
    for n in (2, 5, 3):
        write_gold(docs[:n], schema, tmp_path / "gold")
        ds = datasets.load_dataset(str(tmp_path / "gold"), cache_dir=str(tmp_path / "hf"))
        assert ds["test"].num_rows == n


def test_documents_are_immutable_and_metadata_keeps_its_shape_through_every_round_trip(schema, bundled_documents,
                                                                                      tmp_path):
    """Article -> task -> export -> gold Document -> dataset -> Document: every metadata key the article had is
    where it was with the same value (the import only adds task_id and gold_rule), and a Document cannot be
    changed in place."""
    import dataclasses
    import json

    import pytest

    from annotate.gold.build import import_exports
    from annotate.gold.reader import gold_documents
    from annotate.gold.writer import write_gold
    from annotate.studio.config import Routing

    from .exports import annotation, export_task

    doc = next(d for d in bundled_documents if d.metadata.get("boilerplate_dropped"))
    with pytest.raises(dataclasses.FrozenInstanceError):
        doc.entities = ()
    with pytest.raises(TypeError, match="read-only"):
        doc.metadata["source"] = "elsewhere"
    path = tmp_path / "export.json"
    path.write_text(json.dumps([export_task(doc, [annotation(doc)], task_id=5)], ensure_ascii=False),
                    encoding="utf-8")
    imported = import_exports([path], Routing(schema)).documents[0]
    write_gold([imported], schema, tmp_path / "gold")
    (back,), _ = gold_documents(tmp_path / "gold")
    for got in (imported, back):
        assert {k: got.metadata[k] for k in doc.metadata} == dict(doc.metadata)
        assert set(got.metadata) - set(doc.metadata) == {"task_id", "gold_rule"}
        assert got.provenance.source == str(path)
