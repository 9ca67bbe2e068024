import pytest

from annotate.core.model import Argument
from annotate.gold.adjudicate import DecisionError, adjudicate_task, compare, log_entries, resolve_all, resolve_task

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
        e["decision"] = "actual" if e["kind"] == "attribute" else "keep"
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
