from pathlib import Path

import pytest

from annotate.core.model import Argument
from annotate.gold.adjudicate import DecisionError, adjudicate_task, compare, resolve_task
from annotate.gold.decisions import log_entries, resolve_all

from .annotators import TEXT, at, meet, person


def test_adjudication_merges_agreement_and_classifies_disagreements():
    e1, e2 = at("مسرور بارزاني", "PER", "e1"), at("كارل هاريس", "PER", "e2")
    amal = person("amal", [e1, e2, at("أربيل", "GPE", "e3")],
                  [meet([Argument("Entity", "e1"), Argument("Entity", "e2")])])
    bilal = person("bilal", [e1, at("كارل هاريس", "ORG", "e2"), at("في أربيل", "GPE", "e3")],
                   [meet([Argument("Entity", "e1")], realis="planned")])
    adj = adjudicate_task([amal, bilal])
    kinds = sorted((d.what, d.kind) for d in adj.disagreements)
    assert ("entity", "type") in kinds and ("entity", "boundary") in kinds
    assert ("argument", "missing") in kinds and ("trigger", "attribute") in kinds
    agreed = [r for r in adj.result if r["type"] == "labels" and "meta" not in r]
    assert {r["value"]["text"] for r in agreed} == {"مسرور بارزاني", "استقبل"}
    marked = [r for r in adj.result if "meta" in r]
    assert all(r["meta"]["text"][0].startswith("CONFLICT") for r in marked)
    assert all("…" in d.context and "[" in d.context for d in adj.disagreements)
    assert not adj.clean
    assert adjudicate_task([amal, person("carla", amal.entities, amal.events)]).clean


def _two_passes():
    e1, e2 = at("مسرور بارزاني", "PER", "e1"), at("كارل هاريس", "PER", "e2")
    amal = person("amal", [e1, e2, at("أربيل", "GPE", "e3")],
                  [meet([Argument("Entity", "e1"), Argument("Entity", "e2")])])
    bilal = person("bilal", [e1, at("كارل هاريس", "ORG", "e2"), at("في أربيل", "GPE", "e3")],
                   [meet([Argument("Entity", "e1")], realis="planned")])
    return amal, bilal


def _decide(disagreements, choose):
    return {d.key: {"decision": choose(d), "reason": "test"} for d in disagreements}


def test_resolution_keeps_agreed_items_and_applies_each_decision():
    amal, bilal = _two_passes()
    _, agreed, disagreements = compare([amal, bilal])
    assert len(agreed.entities) == 1 and len(agreed.triggers) == 1
    keys = [d.key for d in disagreements]
    assert len(keys) == len(set(keys)), "every disagreement has its own key"

    def choose(d):
        if d.kind == "attribute":
            return "actual"
        return "keep" if "amal" in d.detail.split(";")[0] else "drop"

    gold = resolve_task([amal, bilal], _decide(disagreements, choose), [])
    assert sorted((TEXT[e.start:e.end], e.type) for e in gold.entities) == \
        [("أربيل", "GPE"), ("كارل هاريس", "PER"), ("مسرور بارزاني", "PER")]
    (event,) = gold.events
    assert event.attributes == {"realis": "actual"}
    ents = gold.entity_by_id()
    assert sorted(TEXT[ents[a.entity].start:ents[a.entity].end] for a in event.arguments) == \
        ["كارل هاريس", "مسرور بارزاني"]


def test_resolution_refuses_undecided_items_and_arguments_without_their_entity():
    amal, bilal = _two_passes()
    _, _, disagreements = compare([amal, bilal])
    with pytest.raises(DecisionError, match="no decision for entity PER"):
        resolve_task([amal, bilal], {}, [])
    # keep the argument to كارل هاريس but drop the PER region it points at
    drop_per = _decide(disagreements, lambda d: "actual" if d.kind == "attribute"
                       else ("drop" if d.key.startswith("entity PER") else "keep"))
    with pytest.raises(DecisionError, match="is kept but its entity is dropped"):
        resolve_task([amal, bilal], drop_per, [])
    bad = _decide(disagreements, lambda d: "maybe")
    with pytest.raises(DecisionError, match="decision must be keep or drop"):
        resolve_task([amal, bilal], bad, [])


def test_additions_add_what_every_annotator_missed():
    amal = person("amal", [at("أربيل", "GPE", "e1")])
    bilal = person("bilal", [at("أربيل", "GPE", "e1")])
    additions = [{"add": "entity", "type": "JOB_TITLE", "text": "الجنرال", "occurrence": 1},
                 {"add": "trigger", "type": "Contact.Meet", "text": "استقبل", "attributes": {"realis": "actual"}},
                 {"add": "argument", "role": "Place", "trigger": {"type": "Contact.Meet", "text": "استقبل"},
                  "entity": {"type": "GPE", "text": "أربيل"}}]
    gold = resolve_task([amal, bilal], {}, additions)
    assert sorted(e.type for e in gold.entities) == ["GPE", "JOB_TITLE"]
    assert gold.events[0].arguments[0].role == "Place"
    with pytest.raises(DecisionError, match="add #1: .*occurs 0 time"):
        resolve_task([amal, bilal], {}, [{"add": "entity", "type": "PER", "text": "غائب"}])


def test_the_log_keeps_decisions_across_runs_and_resolve_all_reads_it():
    amal, bilal = _two_passes()
    adj = [adjudicate_task([amal, bilal])]
    first = log_entries(adj, [])
    assert all(e["decision"] is None for e in first)
    for e in first:
        e["decision"] = "actual" if e["kind"] == "attribute" else ["A", "B"][:len(e["options"]) - 1]
        e["reason"] = "guideline 4"
    first.append({"doc": amal.id, "add": "entity", "type": "JOB_TITLE", "text": "الجنرال", "reason": "missed"})
    again = log_entries(adj, first)
    assert again == first
    with pytest.raises(DecisionError, match="no decision for attribute realis"):  # realis left undecided
        resolve_all({amal.id: [amal, bilal]}, [e for e in again if e.get("kind") != "attribute"])
    gold = resolve_all({amal.id: [amal, bilal]}, again)[amal.id]
    assert "JOB_TITLE" in {e.type for e in gold.entities}


def test_removals_take_out_a_mistake_every_annotator_shared():
    shared = [at("أربيل", "GPE", "e1"), at("الجنرال", "PER", "e2")]
    amal, bilal = person("amal", shared, [meet([Argument("Entity", "e2")])]), person("bilal", shared,
                                                                                  [meet([Argument("Entity", "e2")])])
    removal = {"remove": "entity", "type": "PER", "text": "الجنرال", "reason": "a title, not a person"}
    gold = resolve_task([amal, bilal], {}, [removal])
    assert [e.type for e in gold.entities] == ["GPE"]
    assert gold.events[0].arguments == ()  # the argument hanging on the removed entity goes with it
    with pytest.raises(DecisionError, match="remove #1: .*not in the merged annotation"):
        resolve_task([amal, bilal], {}, [{**removal, "type": "ORG"}])


# --- decision points: one entry per disagreement, the options side by side ---------------------------------------


def _boundaries():
    """Two annotators who disagree on two boundaries (الجنرال inside the PER or not, في inside the GPE or not),
    each with the meeting's argument on their own span: 8 items, 2 real disagreements."""
    amal = person("amal", [at("مسرور بارزاني", "PER", "e1"), at("الجنرال كارل هاريس", "PER", "e2"),
                           at("أربيل", "GPE", "e3")],
                  [meet([Argument("Entity", "e1"), Argument("Entity", "e2"), Argument("Place", "e3")])])
    bilal = person("bilal", [at("مسرور بارزاني", "PER", "e1"), at("كارل هاريس", "PER", "e2"),
                             at("في أربيل", "GPE", "e3")],
                   [meet([Argument("Entity", "e1"), Argument("Entity", "e2"), Argument("Place", "e3")])])
    return amal, bilal


def _texts(gold):
    ents = gold.entity_by_id()
    return (sorted(TEXT[e.start:e.end] for e in gold.entities),
            sorted((a.role, TEXT[ents[a.entity].start:ents[a.entity].end]) for v in gold.events for a in v.arguments))


def test_a_boundary_disagreement_is_one_entry_and_its_arguments_follow():
    amal, bilal = _boundaries()
    assert len(compare([amal, bilal])[2]) == 8  # item by item: 4 spans and 4 arguments
    entries = log_entries([adjudicate_task([amal, bilal])], [])
    assert [e["disagreement"] for e in entries] == ["entity [21, 39) «الجنرال كارل هاريس»",
                                                    "entity [40, 48) «في أربيل»"]
    per, gpe = entries
    assert per["kind"] == "boundary" and per["options"] == {
        "A": "PER [21, 39) «الجنرال كارل هاريس» (marked by amal)",
        "B": "PER [29, 39) «كارل هاريس» (marked by bilal)", "neither": "none of these"}
    assert per["follows"] == ["argument Entity: Contact.Meet [0, 6) «استقبل» -> PER [21, 39) «الجنرال كارل هاريس»",
                              "argument Entity: Contact.Meet [0, 6) «استقبل» -> PER [29, 39) «كارل هاريس»"]
    per["decision"], gpe["decision"] = "B", "B"
    gold = resolve_all({amal.id: [amal, bilal]}, entries)[amal.id]
    assert _texts(gold) == (["أربيل", "كارل هاريس", "مسرور بارزاني"],
                            [("Entity", "كارل هاريس"), ("Entity", "مسرور بارزاني"), ("Place", "أربيل")])
    # neither: the span goes, and the argument on it with it
    gpe["decision"] = "neither"
    gold = resolve_all({amal.id: [amal, bilal]}, entries)[amal.id]
    assert _texts(gold) == (["كارل هاريس", "مسرور بارزاني"],
                            [("Entity", "كارل هاريس"), ("Entity", "مسرور بارزاني")])
    # an override decides one following argument against the default
    per["override"] = {per["follows"][1]: "drop"}
    gold = resolve_all({amal.id: [amal, bilal]}, entries)[amal.id]
    assert _texts(gold)[1] == [("Entity", "مسرور بارزاني")]
    # both options (nested spans both right), and the log keeps it all when written again
    per["decision"] = ["A", "B"]
    del per["override"]
    assert log_entries([adjudicate_task([amal, bilal])], entries) == entries
    gold = resolve_all({amal.id: [amal, bilal]}, entries)[amal.id]
    assert _texts(gold)[0] == ["الجنرال كارل هاريس", "كارل هاريس", "مسرور بارزاني"]


def test_an_undecided_or_wrong_decision_is_named_once_by_its_entry():
    amal, bilal = _boundaries()
    entries = log_entries([adjudicate_task([amal, bilal])], [])
    entries[0]["decision"] = "A"
    with pytest.raises(DecisionError) as exc:
        resolve_all({amal.id: [amal, bilal]}, entries)
    assert str(exc.value) == "document dddddddddddddddd: no decision for entity [40, 48) «في أربيل»"
    entries[1]["decision"] = "C"
    with pytest.raises(DecisionError) as exc:
        resolve_all({amal.id: [amal, bilal]}, entries)
    assert str(exc.value).endswith("entity [40, 48) «في أربيل»: decision must be A, B or neither (or a list of "
                                   "options), got 'C'")
    assert "no decision" not in str(exc.value)


def test_a_role_disagreement_is_one_entry_with_a_role_per_option():
    e1 = at("مسرور بارزاني", "PER", "e1")
    amal = person("amal", [e1], [meet([Argument("Entity", "e1")])])
    bilal = person("bilal", [e1], [meet([])])
    carla = person("carla", [e1], [meet([Argument("Place", "e1")])])
    (entry,) = [e for e in log_entries([adjudicate_task([amal, bilal, carla])], []) if "disagreement" in e]
    assert entry["kind"] == "role" and entry["options"] == {"A": "Entity (by amal)", "B": "Place (by carla)",
                                                            "neither": "none of these"}
    entry["decision"] = "A"
    gold = resolve_all({amal.id: [amal, bilal, carla]}, [entry])[amal.id]
    assert [a.role for a in gold.events[0].arguments] == ["Entity"]


def test_an_item_by_item_log_is_read_as_it_is_and_converted_without_loss():
    """The committed log decides item by item (62 entries of round 1, then 34 additions of round 2). It still
    resolves the committed exports to the committed gold set, and written again as decision points (52 entries:
    the two boundary disagreements with their arguments become one entry each; the additions kept as they are)
    it resolves to exactly the same documents."""
    from annotate.core.schema import load_schema
    from annotate.gold.adjudicate import adjudicate, read_log
    from annotate.gold.build import import_exports
    from annotate.gold.exportfiles import export_files
    from annotate.gold.reader import gold_documents
    from annotate.studio.config import Routing

    root = Path(__file__).resolve().parent.parent
    result = import_exports(export_files([root / "gold" / "annotations"]), Routing(load_schema()))
    old = read_log(root / "gold" / "adjudication.yaml")
    assert sum(1 for e in old if "item" in e) == 62 and all(e.get("decision") for e in old if "item" in e)
    assert sum(1 for e in old if "add" in e) == 34 and all(str(e.get("round", "")).startswith("2") for e in old
                                                          if "add" in e)
    by_items = resolve_all(result.annotations, old)
    gold, _ = gold_documents(root / "gold" / "dataset")
    assert {d.id: _doc_key(d) for d in gold} == {k: _doc_key(d) for k, d in by_items.items()}
    converted = log_entries(adjudicate(result.annotations), old)
    points = [e for e in converted if "add" not in e and "remove" not in e]
    assert len(points) == 52 and all(e.get("decision") not in (None, "") for e in points)
    assert [e for e in converted if "add" in e] == [e for e in old if "add" in e]
    assert sum(1 for e in converted if "follows" in e) == 4
    assert {k: _doc_key(d) for k, d in resolve_all(result.annotations, converted).items()} == \
        {k: _doc_key(d) for k, d in by_items.items()}
    # every reason and who decided are kept
    reasons = {e["reason"] for e in old}
    assert reasons <= {r for e in converted for r in e["reason"].split("\n")}
    assert {e.get("decided_by") for e in converted} == {"reviewer@annotate.local"}


def _doc_key(doc):
    ents = doc.entity_by_id()
    return (sorted((e.start, e.end, e.type) for e in doc.entities),
            sorted((v.type, v.trigger.start, v.trigger.end, tuple(sorted(v.attributes.items())),
                    tuple(sorted((a.role, ents[a.entity].start, ents[a.entity].end) for a in v.arguments)))
                   for v in doc.events))


def test_a_decision_whose_options_changed_is_asked_again():
    """A new pass changes what an entry's letters stand for: the earlier decision is kept aside, not applied."""
    amal, bilal = _boundaries()
    entries = log_entries([adjudicate_task([amal, bilal])], [])
    entries[0]["decision"], entries[0]["reason"] = "B", "shortest span"
    carla = person("carla", [at("مسرور بارزاني", "PER", "e1"), at("هاريس", "PER", "e2"), at("أربيل", "GPE", "e3")])
    again = log_entries([adjudicate_task([amal, bilal, carla])], entries)
    first = next(e for e in again if e.get("disagreement", "").startswith("entity [21, 39)"))
    assert first["decision"] is None and first["reason"] == "shortest span"
    assert first["earlier"] == {"options": entries[0]["options"], "decision": "B"}
    assert len(first["options"]) == 4  # carla's span is an option now
