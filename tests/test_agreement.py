import pytest

from annotate.core.model import Argument, Event, Span
from annotate.gold.agreement import agreement, cohen_kappa, krippendorff_alpha_nominal

from .annotators import TEXT, at, meet, person


def test_kappa_and_alpha_match_hand_computed_values():
    a, b = ["a", "a", "b", "b"], ["a", "b", "b", "b"]
    assert cohen_kappa(a, b) == pytest.approx(0.5)
    # coincidences: o_aa=2, o_ab=o_ba=1, o_bb=4; n_a=3, n_b=5 -> alpha = 1 - 2 / (30 / 7)
    assert krippendorff_alpha_nominal([list(x) for x in zip(a, b)]) == pytest.approx(1 - 14 / 30)
    assert cohen_kappa(["O"] * 3, ["O"] * 3) is None
    assert krippendorff_alpha_nominal([["O", "O"]]) is None


def test_identical_annotations_agree_perfectly():
    ents = [at("مسرور بارزاني", "PER", "e1"), at("أربيل", "GPE", "e2")]
    docs = [person("amal", ents, [meet([Argument("Entity", "e1")])]),
            person("bilal", ents, [meet([Argument("Entity", "e1")])])]
    r = agreement({"d": docs})
    o = r["overall"]
    assert r["tasks"] == 1 and len(r["pairs"]) == 1
    for key in ("entities_exact_f1", "entities_overlap_f1", "triggers_classification_f1",
                "arguments_classification_f1", "token_kappa", "krippendorff_alpha"):
        assert o[key] == pytest.approx(1.0), key


def test_boundary_type_and_label_used_by_one_annotator():
    amal = person("amal", [at("مسرور بارزاني", "PER", "e1"), at("كارل هاريس", "PER", "e2"),
                           at("الجنرال", "JOB_TITLE", "e3")])
    bilal = person("bilal", [at("بارزاني", "PER", "e1"), at("كارل هاريس", "ORG", "e2")])
    r = agreement({"d": [amal, bilal]})
    pair = r["pairs"][0]
    exact = pair["entities"]["exact"]
    assert exact["micro"]["f1"] == 0.0  # nothing matches exactly
    assert "JOB_TITLE" in exact["per_label"]  # used by amal only: reported, no crash
    overlap = pair["entities"]["overlap"]["per_label"]["PER"]
    assert overlap["recall"] == pytest.approx(0.5) and overlap["precision"] == pytest.approx(1.0)
    assert -1.0 <= pair["token_kappa"] < 1.0


def test_nested_same_type_spans_match_exactly():
    outer, inner = at("مسرور بارزاني", "PER", "e1"), at("بارزاني", "PER", "e2")
    r = agreement({"d": [person("amal", [outer, inner]), person("bilal", [inner, outer])]})
    assert r["overall"]["entities_exact_f1"] == pytest.approx(1.0)
    r = agreement({"d": [person("amal", [outer, inner]), person("bilal", [outer])]})
    assert r["pairs"][0]["entities"]["exact"]["micro"]["f1"] == pytest.approx(2 / 3)


def test_single_annotator_tasks_are_not_compared():
    assert agreement({"d": [person("amal", [])]}) == {"tasks": 0, "pairs": [], "overall": {}}


def test_the_human_ceiling_is_the_scorer_metric_it_is_shown_beside():
    """Two annotators scored against each other by the extractor scorer give exactly the ceiling figures,
    key by key; a report prints them beside the matching headline."""
    from annotate.score.report import markdown
    from annotate.score.scorer import score_documents

    e1, e2 = at("مسرور بارزاني", "PER", "e1"), at("كارل هاريس", "PER", "e2")
    amal = person("amal", [e1, e2, at("أربيل", "GPE", "e3")],
                  [meet([Argument("Entity", "e1"), Argument("Entity", "e2"), Argument("Place", "e3")])])
    other_trigger = Event("v1", "Contact.Meet", Span(TEXT.index("في"), TEXT.index("في") + 2), {"realis": "actual"},
                          (Argument("Entity", "e1"), Argument("Place", "e3")))
    bilal = person("bilal", [e1, at("كارل هاريس", "ORG", "e2"), at("أربيل", "GPE", "e3")], [other_trigger])
    report = agreement({amal.id: [amal, bilal]})
    ceiling = report["overall"]["metrics"]
    direct = score_documents([amal], {bilal.id: bilal}).report
    assert ceiling["entities.strict.micro.f1"] == direct["entities"]["strict"]["micro"]["f1"] == pytest.approx(2 / 3)
    assert ceiling["arguments.classification.f1"] == direct["arguments"]["classification"]["f1"]
    assert ceiling["arguments.classification_with_trigger.f1"] == \
        direct["arguments"]["classification_with_trigger"]["f1"] == 0.0
    # the argument ceiling no longer requires the trigger span: the same two arguments on another trigger agree
    assert ceiling["arguments.classification.f1"] == pytest.approx(0.8)
    shown = markdown({**direct, "human_ceiling": {**report["overall"], "tasks": 1},
                      "gold": {"path": "g", "fingerprint": "f", "schema": "s", "schema_fingerprint": "x"},
                      "predictions": {"source": "p", "documents": 1, "rejected": 0}, "documents": direct["documents"],
                      "toolkit_version": "t"})
    assert f"arguments classification F1 {ceiling['arguments.classification.f1']:.3f}" in shown
    assert f"entities strict F1 {ceiling['entities.strict.micro.f1']:.3f}" in shown


def test_a_realis_disagreement_shows_in_the_attribute_agreement():
    ents = [at("مسرور بارزاني", "PER", "e1")]
    amal = person("amal", ents, [meet([Argument("Entity", "e1")], realis="planned")])
    bilal = person("bilal", ents, [meet([Argument("Entity", "e1")], realis="actual")])
    r = agreement({"d": [amal, bilal]})
    assert r["overall"]["triggers_classification_f1"] == pytest.approx(1.0)  # the trigger itself agrees
    realis = r["overall"]["attributes"]["realis"]
    assert (realis["compared"], realis["agreed"], realis["accuracy"]) == (1, 0, 0.0)
    assert r["pairs"][0]["attributes"]["realis"]["agreed"] == 0
    same = agreement({"d": [amal, person("bilal", ents, [meet([Argument("Entity", "e1")], realis="planned")])]})
    assert same["overall"]["attributes"]["realis"]["accuracy"] == pytest.approx(1.0)
    from annotate.gold.agreement import agreement_table

    assert "attribute realis: 0/1 trigger(s) with the same value" in agreement_table(r)


def test_status_shows_the_attribute_agreement_of_its_export():
    from annotate.gold.status import project_status, status_table

    ents = [at("مسرور بارزاني", "PER", "e1")]
    report = agreement({"d": [person("amal", ents, [meet([Argument("Entity", "e1")], realis="planned")]),
                              person("bilal", ents, [meet([Argument("Entity", "e1")], realis="actual")])]})
    table = status_table([project_status(1, "round", [], report)])
    assert "  attribute realis: 0/1 trigger(s) with the same value (accuracy 0.000" in table
