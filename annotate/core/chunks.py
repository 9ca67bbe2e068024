"""Entities from tag sequences, exactly as seqeval finds them, in one fast pass.

seqeval (the authority, https://github.com/chakki-works/seqeval) has two modes:
- default (conlleval-compatible): `get_entities` with its `end_of_chunk` / `start_of_chunk` rules over all
  sequences joined with an `O` between them; lenient, it reads any prefix letter;
- `mode="strict", scheme=S` for S in IOB2, IOE2, IOBES, BILOU: seqeval's `Tokens.entities` walk, where a chunk
  must start, continue and end by the scheme's patterns, and a prefix the scheme does not allow is an error.
Both modes also read suffix-style tags (`PER-B`) when asked to, as seqeval's `suffix=True` does.
The default rules are re-stated below; the strict patterns are seqeval's own scheme classes. Either way a rule
is evaluated once per distinct (previous label, label) pair and cached, which is what makes a million tokens
cheap. `tests/test_score_seqeval.py` checks both against seqeval itself on random and ill-formed sequences.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from seqeval.scheme import BILOU, IOB2, IOBES, IOE2, Token, auto_detect

Entity = tuple[int, int, int, str]  # (sequence index, first token, last token + 1, type)

SCHEMES: dict[str, type[Token]] = {"IOB2": IOB2, "IOE2": IOE2, "IOBES": IOBES, "BILOU": BILOU}
ALLOWED_PREFIXES = {"IOB2": "BIO", "IOE2": "IEO", "IOBES": "BIESO", "BILOU": "BILUO"}
_LETTERS = "BIESLU"
_PREFIX_TAG = re.compile(f"^[{_LETTERS}]-.+$")
_SUFFIX_TAG = re.compile(f"^.+-[{_LETTERS}]$")


class TagError(ValueError):
    pass


def tag_problem(label: str, suffix: bool = False) -> str | None:
    """Why `label` is not a tag of the expected layout (None if it is). seqeval reads any string, taking its
    first (or, with suffix, last) character as the prefix, so `ORG-B` read as a prefix tag is an O and scores
    nothing; this check is what turns such a misread into an error instead of a silent zero."""
    if label == "O":
        return None
    good, other = (_SUFFIX_TAG, _PREFIX_TAG) if suffix else (_PREFIX_TAG, _SUFFIX_TAG)
    if good.match(label):
        return None
    if other.match(label):
        return (f"tag {label!r} looks {'prefix' if suffix else 'suffix'}-style "
                f"({'B-ORG' if suffix else 'ORG-B'}); {'leave out' if suffix else 'pass'} --suffix")
    if label in _LETTERS:
        # seqeval reads a bare prefix as an entity of type "_"; refused here so that a column of bare tags
        # (chunking output, a lost type column) cannot pass as one entity type
        return (f"tag {label!r} has no type; seqeval would score it as an entity of type '_', this scorer "
                "refuses it: give every tag a type (e.g. B-MISC) or O")
    layout = "TYPE-P" if suffix else "P-TYPE"
    return f"tag {label!r} is not O or {layout} with P one of {', '.join(_LETTERS)}"


def prefix_of(label: str, suffix: bool = False) -> str:
    return label[-1] if suffix else label[0]


def detect_scheme(labels: Iterable[str], suffix: bool = False) -> str | None:
    """seqeval's own `auto_detect` over the distinct labels; None when they carry no entity tag at all or fit
    no scheme."""
    distinct = sorted(set(labels) - {"O"})
    if not distinct:
        return None
    try:
        found = auto_detect([distinct], suffix=suffix)
    except (ValueError, KeyError):
        return None
    return next(name for name, cls in SCHEMES.items() if cls is found)


def _default_parts(label: str, suffix: bool) -> tuple[str, str]:
    if suffix:
        return label[-1:], (label[:-1].rsplit("-", maxsplit=1)[0] or "_")
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


def entities_default(sequences: Sequence[Sequence[str]], suffix: bool = False) -> set[Entity]:
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
                pp = parts.get(prev) or parts.setdefault(prev, _default_parts(prev, suffix))
                cp = parts.get(label) or parts.setdefault(label, _default_parts(label, suffix))
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


def _strict_token(label: str, scheme: str, suffix: bool) -> Token:
    try:
        token = SCHEMES[scheme](label, suffix=suffix)
        token.is_valid()
    except (KeyError, ValueError, IndexError):
        raise TagError(f"invalid tag {label!r} for {scheme}: allowed prefixes are "
                       f"{', '.join(ALLOWED_PREFIXES[scheme])}") from None
    return token


def entities_strict(sequences: Sequence[Sequence[str]], scheme: str = "IOB2", suffix: bool = False,
                    ) -> set[Entity]:
    """seqeval `mode="strict", scheme=...`: its `Tokens.entities` walk, with the scheme's start / inside / end
    patterns asked once per distinct pair of labels."""
    tokens: dict[str, Token] = {}
    rules: dict[tuple[str, str], tuple[bool, bool, bool]] = {}

    def rule(prev: str, label: str) -> tuple[bool, bool, bool]:
        p = tokens.get(prev) or tokens.setdefault(prev, _strict_token(prev, scheme, suffix))
        c = tokens.get(label) or tokens.setdefault(label, _strict_token(label, scheme, suffix))
        hit = rules[(prev, label)] = (c.is_start(p), c.is_inside(p), c.is_end(p))
        return hit

    out: set[Entity] = set()
    for sid, seq in enumerate(sequences):
        ext = [*seq, "O"]  # seqeval's outside token after the sequence; "O" is never inside a chunk
        prev = "O"
        i = 0
        while i < len(ext):
            label = ext[i]
            if (rules.get((prev, label)) or rule(prev, label))[0]:
                j, last = i + 1, label
                while (rules.get((last, ext[j])) or rule(last, ext[j]))[1]:
                    last = ext[j]
                    j += 1
                if (rules.get((last, ext[j])) or rule(last, ext[j]))[2]:
                    out.add((sid, i, j, tokens[label].tag))
                i = j
            else:
                i += 1
            prev = ext[i - 1]
    return out


def entities_strict_iob2(sequences: Sequence[Sequence[str]]) -> set[Entity]:
    """seqeval `mode="strict", scheme=IOB2`."""
    return entities_strict(sequences, "IOB2")


def entities(sequences: Sequence[Sequence[str]], mode: str, scheme: str = "IOB2", suffix: bool = False,
             ) -> set[Entity]:
    if mode == "default":
        return entities_default(sequences, suffix)
    if mode == "strict":
        return entities_strict(sequences, scheme, suffix)
    raise ValueError(f"unknown mode {mode!r}")
