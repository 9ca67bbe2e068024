"""The scorer reproduces seqeval exactly; these tests pin seqeval's own behaviour on its traps too."""

import random
import warnings

import pytest
from seqeval.metrics import classification_report, f1_score
from seqeval.scheme import IOB2, IOBES

from annotate.core.chunks import TagError, entities_default, entities_strict_iob2
from annotate.core.model import Document, Entity, Event, Span
from annotate.score.scorer import entity_tables, score_documents

warnings.filterwarnings("ignore")

TYPES = ["PER", "LOC", "Conflict-Attack", "JOB_TITLE", "X"]


def seqeval_table(gold, pred, strict):
    kw = {"mode": "strict", "scheme": IOB2} if strict else {}
    return classification_report(gold, pred, output_dict=True, zero_division=0, **kw)


def assert_same(ours, theirs):
    for label, row in theirs.items():
        mine = {"micro avg": ours["micro"], "macro avg": ours["macro"],
                "weighted avg": ours["weighted"]}.get(label) or ours["per_type"][label]
        if not ours["per_type"] and label == "macro avg":
            # seqeval averages an empty array here and returns NaN; the report says None (null in JSON)
            assert row["f1-score"] != row["f1-score"] and mine["f1"] is None
            assert row["precision"] != row["precision"] and mine["precision"] is None
            continue
        assert mine["precision"] == row["precision"], label
        assert mine["recall"] == row["recall"], label
        assert mine["f1"] == row["f1-score"], label
        assert mine["support"] == row["support"], label
    assert set(ours["per_type"]) == {k for k in theirs if not k.endswith(" avg")}


def random_tags(rng, n, ill_formed):
    out, prev = [], "O"
    for _ in range(n):
        r = rng.random()
        if r < 0.6:
            tag = "O"
        elif r < 0.8 or prev == "O":
            tag = f"B-{rng.choice(TYPES)}" if not (ill_formed and rng.random() < 0.3) else f"I-{rng.choice(TYPES)}"
        else:
            tag = f"I-{prev[2:]}" if not ill_formed or rng.random() < 0.7 else f"I-{rng.choice(TYPES)}"
        out.append(tag)
        prev = tag
    return out


@pytest.mark.parametrize("ill_formed", [False, True])
def test_tables_equal_seqeval_on_random_sequences(ill_formed):
    rng = random.Random(7 + ill_formed)
    for _ in range(40):
        gold = [random_tags(rng, rng.randint(0, 30), ill_formed) for _ in range(rng.randint(1, 6))]
        pred = [random_tags(rng, len(g), ill_formed) if rng.random() < 0.5 else list(g) for g in gold]
        ours, _ = entity_tables(gold, pred)
        if any(t != "O" for s in gold + pred for t in s):
            assert_same(ours["default"], seqeval_table(gold, pred, strict=False))
            assert_same(ours["strict"], seqeval_table(gold, pred, strict=True))


def test_trap_strict_mode_needs_a_scheme_and_a_scheme_needs_strict_mode():
    gold = [["B-PER", "I-PER", "O", "I-LOC", "I-LOC"]]
    pred = [["I-PER", "I-PER", "O", "B-LOC", "I-LOC"]]
    default = f1_score(gold, pred)
    strict = f1_score(gold, pred, mode="strict", scheme=IOB2)
    assert default == 1.0 and strict == 0.0
    assert f1_score(gold, pred, mode="strict") == default  # no scheme: silently the default score
    assert f1_score(gold, pred, scheme=IOB2) == default  # scheme without strict mode: ignored
    ours, _ = entity_tables(gold, pred)
    assert ours["default"]["micro"]["f1"] == default and ours["strict"]["micro"]["f1"] == strict
    assert "strict" in ours["strict"]["mode"] and "IOB2" in ours["strict"]["mode"]


def test_ill_formed_sequences():
    assert entities_default([["I-PER", "I-PER"]]) == {(0, 0, 2, "PER")}
    assert entities_strict_iob2([["I-PER", "I-PER"]]) == set()
    assert entities_default([["B-X", "I-Y"]]) == {(0, 0, 1, "X"), (0, 1, 2, "Y")}
    assert entities_strict_iob2([["B-X", "I-Y"]]) == {(0, 0, 1, "X")}


def test_iobes_input():
    gold = [["S-PER", "O", "B-LOC", "E-LOC"]]
    pred = [["S-PER", "O", "B-LOC", "I-LOC"]]
    ours, _ = entity_tables(gold, pred, modes=("default",))
    assert_same(ours["default"], seqeval_table(gold, pred, strict=False))
    assert classification_report(gold, pred, mode="strict", scheme=IOBES, output_dict=True)["micro avg"]["f1-score"] \
        == pytest.approx(2 / 3)
    with pytest.raises(TagError, match="S-PER"):
        entity_tables(gold, pred, modes=("strict",))
    with pytest.raises(ValueError):  # seqeval refuses the same input in strict IOB2 mode
        classification_report(gold, pred, mode="strict", scheme=IOB2)


def test_empty_gold_and_empty_predictions():
    gold = [["O", "O"], ["B-PER", "I-PER"]]
    empty = [["O", "O"], ["O", "O"]]
    for g, p in ((gold, empty), (empty, gold)):
        ours, _ = entity_tables(g, p)
        assert_same(ours["default"], seqeval_table(g, p, strict=False))
        assert ours["strict"]["micro"]["f1"] == 0.0
    ours, _ = entity_tables(empty, empty)
    assert ours["strict"]["micro"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "tp": 0, "fp": 0, "fn": 0,
                                       "support": 0}
    assert ours["strict"]["per_type"] == {}


def test_hyphenated_types():
    gold = [["B-Conflict-Attack", "I-Conflict-Attack", "O", "B-Personnel-Start-Position"]]
    ours, _ = entity_tables(gold, gold)
    assert set(ours["strict"]["per_type"]) == {"Conflict-Attack", "Personnel-Start-Position"}
    assert_same(ours["default"], seqeval_table(gold, gold, strict=False))
    assert_same(ours["strict"], seqeval_table(gold, gold, strict=True))


TEXT = "أكد رئيس حكومة إقليم كوردستان والبيشمركة في أربيل"


def doc(entities, events=()):
    return Document("d" * 16, TEXT, list(entities), list(events))


def ent(word, label, rid, occurrence=0, trim=0):
    s = TEXT.index(word) + trim
    return Entity(rid, s, s + len(word) - trim, label)


def test_nested_and_same_type_nested_entities_are_all_scored():
    outer = ent("رئيس حكومة إقليم كوردستان", "ORG", "a")
    mid = ent("حكومة إقليم كوردستان", "ORG", "b")
    inner = ent("إقليم كوردستان", "GPE", "c")
    gold = doc([outer, mid, inner])
    perfect = score_documents([gold], {gold.id: doc([inner, mid, outer])}).report
    assert perfect["entities"]["strict"]["micro"]["tp"] == 3 and perfect["entities"]["strict"]["micro"]["f1"] == 1.0
    missing_one = score_documents([gold], {gold.id: doc([outer, inner])}).report
    assert missing_one["entities"]["strict"]["per_type"]["ORG"]["fn"] == 1


def test_duplicate_predicted_spans_count_once():
    gold = doc([ent("أربيل", "GPE", "a")])
    pred = doc([ent("أربيل", "GPE", "x"), ent("أربيل", "GPE", "y")])
    rep = score_documents([gold], {gold.id: pred}).report
    assert rep["entities"]["strict"]["micro"] == {"precision": 1.0, "recall": 1.0, "f1": 1.0, "tp": 1, "fp": 0,
                                                  "fn": 0, "support": 1}


def test_a_span_that_splits_a_word_is_scored_exactly_not_snapped():
    gold = doc([ent("البيشمركة", "ORG", "a")])  # inside "والبيشمركة", clitic left out
    with_clitic = doc([ent("والبيشمركة", "ORG", "x")])
    rep = score_documents([gold], {gold.id: with_clitic}).report
    assert rep["entities"]["strict"]["micro"]["tp"] == 0
    assert rep["errors"]["ORG"]["wrong_boundary"] == 1
    exact = score_documents([gold], {gold.id: doc([ent("البيشمركة", "ORG", "x")])}).report
    assert exact["entities"]["default"]["micro"]["f1"] == 1.0


def test_triggers_and_arguments():
    from annotate.core.model import Argument

    meet = TEXT.index("أكد")
    g_ents = [ent("أربيل", "GPE", "p")]
    gold = doc(g_ents, [Event("v", "Contact.Statement", Span(meet, meet + 3), {}, (Argument("Place", "p"),))])
    wrong_type = doc(g_ents, [Event("v", "Contact.Meet", Span(meet, meet + 3), {}, (Argument("Place", "p"),))])
    rep = score_documents([gold], {gold.id: wrong_type}).report
    assert rep["triggers"]["identification"]["f1"] == 1.0 and rep["triggers"]["classification"]["f1"] == 0.0
    assert rep["arguments"]["identification"]["tp"] == 0  # the event type is part of an argument
    same = score_documents([gold], {gold.id: gold}).report
    for key in ("identification", "classification", "identification_with_trigger", "classification_with_trigger"):
        assert same["arguments"][key]["f1"] == 1.0
    assert same["triggers"]["classification"]["per_type"]["Contact.Statement"]["tp"] == 1
