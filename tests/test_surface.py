import pytest

from annotate.core.model import Document
from annotate.core.surface import SurfaceSpanError, occurrences, resolve_span, surface_of
from annotate.predictions.records import PredictionError, annotations_from_record

TEXT = "وصل الكاظمي إلى بغداد. وقال الكاظمي في بغداد"


def test_occurrences_count_words_and_every_position_only_when_asked():
    assert occurrences("سسس", "سس") == []
    assert occurrences("ببب", "بب") == [1]  # ب is a proclitic: بب after it is a word
    assert occurrences("ببب", "بب", inside_word=True) == [0, 1]
    assert occurrences(TEXT, "الكاظمي") == [4, 28]


def test_a_surface_span_is_not_found_inside_a_longer_word():
    # the trap found by hand: the 2nd الأردن resolved inside الأردني, overlapping a NORP, without a word
    text = "زار الأردن وفدٌ أردني، وقال السفير الأردني إن الأردن يرحب"
    with pytest.raises(SurfaceSpanError, match="occurs 2 time\\(s\\) as a word.*1 time\\(s\\) inside a longer word"):
        resolve_span(text, {"text": "الأردن", "occurrence": 3}, "entities[0]")
    assert resolve_span(text, {"text": "الأردن", "occurrence": 2}, "e") == (text.rindex("الأردن"),
                                                                            text.rindex("الأردن") + 6)
    inside = resolve_span(text, {"text": "الأردن", "occurrence": 2, "inside_word": True}, "e")
    assert text[inside[0]:inside[1] + 1] == "الأردني"
    assert surface_of(text, *inside) == {"text": "الأردن", "occurrence": 2, "inside_word": True}
    # proclitics (و ف ب ل ك) before a word leave it a word: the guidelines keep them outside the span
    assert occurrences("وبغداد ولبغداد فبغداد", "بغداد") == [1, 9, 16]
    assert occurrences("البغدادي", "بغداد") == []
    with pytest.raises(SurfaceSpanError, match="'inside_word' must be true or false"):
        resolve_span(text, {"text": "الأردن", "inside_word": "yes"}, "e")


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
