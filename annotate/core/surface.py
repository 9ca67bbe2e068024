"""Spans written by their surface text and occurrence -> code-point offsets.

Annotation made outside Label Studio (by hand, in a spreadsheet, by another tool) is easier to write and to
review as "the 2nd occurrence of `البيشمركة`" than as offsets. A predictions record may therefore give an entity
or a trigger as `{"text": S, "occurrence": N}` instead of `{"start", "end"}`: the N-th place (from 1) where S
occurs in the document text as a word. A match counts as a word when it ends where a word ends and starts where
a word starts or right after proclitics (و ف ب ل ك, up to three: the guidelines leave them outside a span), so
`الأردن` is not found inside `الأردني`. A span meant to sit inside a longer word says so:
`{"text": S, "occurrence": N, "inside_word": true}` counts every position, overlapping ones too.

>>> resolve_span("في بغداد وبغداد", {"text": "بغداد", "occurrence": 2}, "entities[0]")
(10, 15)
>>> occurrences("الأردن والأردني", "الأردن"), occurrences("الأردن والأردني", "الأردن", inside_word=True)
([0], [0, 8])
"""

from __future__ import annotations

import unicodedata

PROCLITICS = frozenset("وفبلك")
MAX_PROCLITICS = 3


class SurfaceSpanError(ValueError):
    pass


def _word_char(ch: str) -> bool:
    # letters, digits, and the marks and tatweel that sit inside Arabic words
    return ch.isalnum() or unicodedata.category(ch) in ("Mn", "Mc", "Lm")


def is_word(text: str, start: int, end: int) -> bool:
    """Whether text[start:end] is a word: nothing word-like right after it, and before it only the start of a
    word or up to three proclitics that start one."""
    if end < len(text) and _word_char(text[end]):
        return False
    k = start
    while k > 0 and _word_char(text[k - 1]):
        k -= 1
    prefix = text[k:start]
    return len(prefix) <= MAX_PROCLITICS and all(ch in PROCLITICS for ch in prefix)


def enclosing_word(text: str, start: int, end: int) -> tuple[int, int]:
    """The bounds of the word (or words) that text[start:end] lies in."""
    while start > 0 and _word_char(text[start - 1]):
        start -= 1
    while end < len(text) and _word_char(text[end]):
        end += 1
    return start, end


def occurrences(text: str, surface: str, inside_word: bool = False) -> list[int]:
    """Start positions of `surface` in `text`: as a word (the default), or every position, overlapping ones
    included (`inside_word`)."""
    out, pos = [], text.find(surface)
    while pos != -1:
        if inside_word or is_word(text, pos, pos + len(surface)):
            out.append(pos)
        pos = text.find(surface, pos + 1)
    return out


def resolve_span(text: str, span: dict, where: str) -> tuple[int, int]:
    """(start, end) of a span given by offsets, by surface text and occurrence, or by both (which must agree)."""
    has_offsets = "start" in span or "end" in span
    if "text" not in span:
        if not has_offsets:
            raise SurfaceSpanError(f"{where}: give 'start' and 'end', or 'text' and 'occurrence'")
        for key in ("start", "end"):
            if key not in span:
                raise SurfaceSpanError(f"{where}: field {key!r} is missing")
        return span["start"], span["end"]
    surface, nth = span["text"], span.get("occurrence", 1)
    if not isinstance(surface, str) or not surface:
        raise SurfaceSpanError(f"{where}: field 'text' must be a non-empty string")
    if not isinstance(nth, int) or isinstance(nth, bool) or nth < 1:
        raise SurfaceSpanError(f"{where}: field 'occurrence' must be a whole number from 1, got {nth!r}")
    inside_word = span.get("inside_word", False)
    if not isinstance(inside_word, bool):
        raise SurfaceSpanError(f"{where}: field 'inside_word' must be true or false, got {inside_word!r}")
    found = occurrences(text, surface, inside_word)
    if nth > len(found):
        if inside_word:
            raise SurfaceSpanError(f"{where}: {surface!r} occurs {len(found)} time(s) in the text, "
                                   f"so occurrence {nth} does not exist")
        within = len(occurrences(text, surface, True)) - len(found)
        more = (f" (and {within} time(s) inside a longer word: add \"inside_word\": true to count those)"
                if within else "")
        raise SurfaceSpanError(f"{where}: {surface!r} occurs {len(found)} time(s) as a word in the text{more}, "
                               f"so occurrence {nth} does not exist")
    start, end = found[nth - 1], found[nth - 1] + len(surface)
    if has_offsets and (span.get("start"), span.get("end")) != (start, end):
        raise SurfaceSpanError(f"{where}: offsets [{span.get('start')}, {span.get('end')}) disagree with "
                               f"occurrence {nth} of {surface!r} at [{start}, {end})")
    return start, end


def surface_of(text: str, start: int, end: int) -> dict:
    """The {"text", "occurrence"} form of an offset span (the inverse of `resolve_span`), with "inside_word"
    when the span is not a word."""
    surface = text[start:end]
    if is_word(text, start, end):
        return {"text": surface, "occurrence": occurrences(text, surface).index(start) + 1}
    return {"text": surface, "occurrence": occurrences(text, surface, True).index(start) + 1, "inside_word": True}
