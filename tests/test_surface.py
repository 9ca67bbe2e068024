import pytest

from annotate.core.model import Document
from annotate.core.surface import SurfaceSpanError, occurrences, resolve_span, surface_of
from annotate.predictions.records import PredictionError, annotations_from_record

TEXT = "وصل الكاظمي إلى بغداد. وقال الكاظمي في بغداد"


def test_occurrences_count_every_position_including_inside_words():
    assert occurrences("ببب", "بب") == [0, 1]
    assert occurrences(TEXT, "الكاظمي") == [4, 28]


def test_surface_spans_resolve_to_offsets_and_back():
    for start, end in [(4, 11), (28, 35), (16, 21)]:
        form = surface_of(TEXT, start, end)
        assert resolve_span(TEXT, form, "x") == (start, end)
    assert resolve_span(TEXT, {"text": "بغداد", "occurrence": 2}, "x") == (TEXT.rindex("بغداد"), len(TEXT))


@pytest.mark.parametrize("span, message", [
    ({"text": "أربيل", "occurrence": 1}, "occurs 0 time(s)"),
    ({"text": "بغداد", "occurrence": 3}, "occurrence 3 does not exist"),
    ({"text": "بغداد", "occurrence": 0}, "whole number from 1"),
    ({"text": "", "occurrence": 1}, "non-empty string"),
    ({"text": "بغداد", "occurrence": 1, "start": 0, "end": 5}, "disagree with occurrence 1"),
    ({"type": "GPE"}, "give 'start' and 'end'"),
])
def test_bad_surface_spans_name_the_field_and_say_why(span, message):
    with pytest.raises(SurfaceSpanError, match="entities\\[0\\]") as exc:
        resolve_span(TEXT, span, "entities[0]")
    assert message in str(exc.value)


def test_a_predictions_record_may_mix_offsets_and_surface_spans():
    doc = Document("d1", TEXT)
    record = {"id": "d1",
              "entities": [{"id": "a", "type": "PER", "text": "الكاظمي", "occurrence": 2},
                           {"id": "b", "type": "GPE", "start": 16, "end": 21}],
              "events": [{"id": "v", "type": "Contact.Statement", "trigger": {"text": "قال", "occurrence": 1},
                          "attributes": {"realis": "actual"}, "arguments": [{"role": "Speaker", "entity": "a"}]}]}
    got = annotations_from_record(record, doc)
    assert [(e.start, e.end) for e in got.entities] == [(28, 35), (16, 21)]
    assert TEXT[got.events[0].trigger.start:got.events[0].trigger.end] == "قال"
    with pytest.raises(PredictionError, match="entities\\[0\\]: 'أربيل' occurs 0 time"):
        annotations_from_record({"id": "d1", "entities": [{"type": "GPE", "text": "أربيل"}]}, doc)
