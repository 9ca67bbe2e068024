"""Entities from tag sequences, exactly as seqeval finds them, in one fast pass.

seqeval (the authority, https://github.com/chakki-works/seqeval) has two modes:
- default (conlleval-compatible): `get_entities` with its `end_of_chunk` / `start_of_chunk` rules over all
  sequences joined with an `O` between them;
- `mode="strict", scheme=IOB2`: an entity starts at `B-X` and runs over the `I-X` that follow; an `I-` with
  no `B-` starts nothing, and any prefix other than B, I, O is an error.
The rules below re-state those two definitions; they are evaluated once per distinct (previous label,
label) pair and cached, which is what makes a million tokens cheap. `tests/test_score_seqeval.py` checks
them against seqeval itself on random and ill-formed sequences.
"""

from __future__ import annotations

from collections.abc import Sequence

Entity = tuple[int, int, int, str]  # (sequence index, first token, last token + 1, type)


class TagError(ValueError):
    pass


def _default_parts(label: str) -> tuple[str, str]:
    return label[0], (label[1:].split("-", maxsplit=1)[-1] or "_")


def _default_end(prev_tag: str, tag: str, prev_type: str, type_: str) -> bool:
    if prev_tag in ("E", "S"):
        return True
    if prev_tag in ("B", "I") and tag in ("B", "S", "O"):
        return True
    return prev_tag != "O" and prev_tag != "." and prev_type != type_


def _default_start(prev_tag: str, tag: str, prev_type: str, type_: str) -> bool:
    if tag in ("B", "S"):
        return True
    if prev_tag in ("E", "S") and tag in ("E", "I"):
        return True
    if prev_tag == "O" and tag in ("E", "I"):
        return True
    return tag != "O" and tag != "." and prev_type != type_


def entities_default(sequences: Sequence[Sequence[str]]) -> set[Entity]:
    """seqeval default mode, literally: all sequences joined into one stream with an `O` after each, then
    one more `O`; the very first "previous" label is O with type '' (that matters for malformed labels)."""
    cache: dict[tuple[str, str], tuple[bool, bool, str]] = {}
    parts: dict[str, tuple[str, str]] = {_INIT: ("O", "")}
    found: list[tuple[int, int, str]] = []
    starts: list[int] = []
    prev = _INIT
    begin = 0
    i = 0
    for seq in [*sequences, []]:
        starts.append(i)
        for label in [*seq, "O"]:
            key = (prev, label)
            hit = cache.get(key)
            if hit is None:
                pp = parts.get(prev) or parts.setdefault(prev, _default_parts(prev))
                cp = parts.get(label) or parts.setdefault(label, _default_parts(label))
                hit = (_default_end(pp[0], cp[0], pp[1], cp[1]), _default_start(pp[0], cp[0], pp[1], cp[1]), pp[1])
                cache[key] = hit
            end, start, prev_type = hit
            if end:
                found.append((begin, i, prev_type))
            if start:
                begin = i
            prev = label
            i += 1
    # back to (sequence, local start, local end): both sides of a comparison share the same layout
    out: set[Entity] = set()
    sid = 0
    for b, e, t in sorted(found):
        while sid + 1 < len(starts) and starts[sid + 1] <= b:
            sid += 1
        out.add((sid, b - starts[sid], e - starts[sid], t))
    return out


_INIT = "\x00start"


def _strict_parts(label: str) -> tuple[str, str]:
    prefix = label[0] if label else ""
    if prefix not in ("B", "I", "O"):
        raise TagError(f"invalid tag {label!r} for IOB2: allowed prefixes are B, I, O")
    return prefix, (label[1:].strip("-") or "_")


def entities_strict_iob2(sequences: Sequence[Sequence[str]]) -> set[Entity]:
    """seqeval `mode="strict", scheme=IOB2`."""
    parts: dict[str, tuple[str, str]] = {}
    out: set[Entity] = set()
    for sid, seq in enumerate(sequences):
        cur_type = None
        begin = 0
        for i, label in enumerate(seq):
            p = parts.get(label)
            if p is None:
                p = parts[label] = _strict_parts(label)
            prefix, type_ = p
            if prefix == "I" and cur_type == type_:
                continue
            if cur_type is not None:
                out.add((sid, begin, i, cur_type))
                cur_type = None
            if prefix == "B":
                cur_type, begin = type_, i
        if cur_type is not None:
            out.add((sid, begin, len(seq), cur_type))
    return out


def entities(sequences: Sequence[Sequence[str]], mode: str) -> set[Entity]:
    if mode == "default":
        return entities_default(sequences)
    if mode == "strict":
        return entities_strict_iob2(sequences)
    raise ValueError(f"unknown mode {mode!r}")
