"""Spans written by their surface text and occurrence -> code-point offsets.

Annotation made outside Label Studio (by hand, in a spreadsheet, by another tool) is easier to write and to
review as "the 2nd occurrence of `البيشمركة`" than as offsets. A predictions record may therefore give an entity
or a trigger as `{"text": S, "occurrence": N}` instead of `{"start", "end"}`: the N-th position (from 1) at which
S occurs in the document text, counting every position, overlapping ones and ones inside longer words too.

>>> resolve_span("في بغداد وبغداد", {"text": "بغداد", "occurrence": 2}, "entities[0]")
(10, 15)
"""

from __future__ import annotations


class SurfaceSpanError(ValueError):
    pass


def occurrences(text: str, surface: str) -> list[int]:
    """Every start position of `surface` in `text`, overlapping ones included."""
    out, pos = [], text.find(surface)
    while pos != -1:
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
    found = occurrences(text, surface)
    if nth > len(found):
        raise SurfaceSpanError(f"{where}: {surface!r} occurs {len(found)} time(s) in the text, "
                               f"so occurrence {nth} does not exist")
    start, end = found[nth - 1], found[nth - 1] + len(surface)
    if has_offsets and (span.get("start"), span.get("end")) != (start, end):
        raise SurfaceSpanError(f"{where}: offsets [{span.get('start')}, {span.get('end')}) disagree with "
                               f"occurrence {nth} of {surface!r} at [{start}, {end})")
    return start, end


def surface_of(text: str, start: int, end: int) -> dict:
    """The {"text", "occurrence"} form of an offset span (the inverse of `resolve_span`)."""
    surface = text[start:end]
    return {"text": surface, "occurrence": occurrences(text, surface).index(start) + 1}
