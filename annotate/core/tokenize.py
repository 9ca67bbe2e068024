"""Arabic-aware tokenization and sentence splitting with code-point offsets into the unchanged text.

Rules (why they are what they are):
- A word is a run of letters of one script plus the marks that follow (diacritics, shadda) and tatweel, so
  `مُصطفى` and `الإرهابيـــين` stay whole; marks never start a token of their own.
- Clitics (و ف ب ل ك) stay attached: `والبيشمركة` is one token unless an annotation boundary falls inside it,
  in which case `extra_boundaries` splits it exactly there (and only there).
- Digits (ASCII, Arabic-Indic, Extended Arabic-Indic) form their own tokens; a decimal separator between
  digits stays inside the number (`3.5`, `٣٫٥`).
- Every other non-space character is a token of its own: `،` `؛` `؟` `«` `»` `"` `(` `)` `.` `:` `-` and
  symbols. An emoji with its modifiers / ZWJ sequence is one token.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

SENTENCE_END = frozenset(".!?؟…۔")
CLOSING_MARKS = frozenset({'"', "»", ")", "'", "”", "’"})  # stay in the sentence they close (`_closing`)
_DECIMAL_SEPARATORS = frozenset(".,٫٬")
_JOINERS = frozenset("\u200d\ufe0f\ufe0e")


@dataclass(frozen=True)
class Token:
    text: str
    start: int
    end: int


@lru_cache(maxsize=4096)
def _char_class(ch: str) -> str:
    """'A' Arabic letter, 'L' other letter, 'D' digit, 'M' mark/tatweel, 'S' space, 'P' anything else."""
    if ch.isspace():
        return "S"
    cat = unicodedata.category(ch)
    if ch == "\u0640" or cat in ("Mn", "Mc", "Me"):
        return "M"
    if cat == "Nd":
        return "D"
    if cat[0] == "L":
        cp = ord(ch)
        arabic = 0x0600 <= cp <= 0x06FF or 0x0750 <= cp <= 0x077F or 0x08A0 <= cp <= 0x08FF or \
            0xFB50 <= cp <= 0xFDFF or 0xFE70 <= cp <= 0xFEFF
        return "A" if arabic else "L"
    if ch in _JOINERS or 0x1F3FB <= ord(ch) <= 0x1F3FF:  # ZWJ, variation selectors, skin tones
        return "J"
    return "P"


class _Classes(dict):
    """Code point -> class letter for `str.translate`, filled on first sight of each character. Besides
    `_char_class`'s letters: 'Z' the zero-width joiner, 's' a decimal separator (a symbol unless between digits)."""

    def __missing__(self, cp: int) -> str:
        ch = chr(cp)
        c = "Z" if ch == "\u200d" else "s" if ch in _DECIMAL_SEPARATORS else _char_class(ch)
        self[cp] = c
        return c


_CLASSES = _Classes()
# The rules of the module docstring over the class string, one alternative per kind of token:
#   a word of one script with its marks; a number (a separator only between digits); marks that start a word
#   (tatweel, a stray mark) with the letters after them; a symbol with its joiners and modifiers, where a ZWJ
#   also takes the next non-space character (an emoji ZWJ sequence).
_TOKEN = re.compile(r"A[AM]*|L[LM]*|D(?:[DM]|(?<=D)s(?=D))*|M+(?:A[AM]*|L[LM]*)?|[PsJZ](?:Z[^S]?|[JM])*")


class _ClassTable:
    """`text.translate(_CLASSES)` without a dict look-up per character: a table of class bytes indexed by code
    point, applied with numpy to the text's UTF-32 code units (one per code point). Entries are filled from
    `_CLASSES` the first time a code point is seen, so the classes are exactly `_char_class`'s. About 8x
    faster than `str.translate` on an article, which matters when every document of an import is tokenised."""

    def __init__(self) -> None:
        self.table = None  # numpy is imported on first use: pyarrow has imported it by then on the build path

    def __call__(self, text: str) -> str:
        import numpy as np

        points = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), np.uint32)
        return self.of_points(points).tobytes().decode("ascii")

    def of_points(self, points):
        """The class letters (as bytes in a numpy uint8 array) of an array of code points."""
        import numpy as np

        if self.table is None:
            self.table = np.zeros(0x110000, np.uint8)  # 0: not classified yet
        classes = self.table[points]
        if not classes.all():
            for cp in np.unique(points[classes == 0]).tolist():
                self.table[cp] = ord(_CLASSES[cp])
            classes = self.table[points]
        return classes


_class_string = _ClassTable()


def _raw_tokens(text: str) -> list[tuple[int, int]]:
    """Token spans before any annotation cut: one compiled-regex pass over the text's character classes."""
    return token_spans(text)


def tokenize(text: str, extra_boundaries: Iterable[int] = ()) -> list[Token]:
    """Tokens with (start, end) into `text`; `text[t.start:t.end] == t.text` always holds.

    `extra_boundaries` are character offsets where a token must be cut (annotation boundaries inside a word).
    """
    return [Token(text[s:e], s, e) for s, e in token_spans(text, extra_boundaries)]


def token_spans(text: str, extra_boundaries: Iterable[int] = ()) -> list[tuple[int, int]]:
    """`tokenize` as (start, end) pairs only."""
    return list(zip(*token_bounds(text, extra_boundaries)))


_MATCH = type(re.match("", ""))


def token_bounds(text: str, extra_boundaries: Iterable[int] = ()) -> tuple[list[int], list[int]]:
    """`token_spans` as two lists, the token starts and the token ends (what the dataset's columns hold)."""
    matches = list(_TOKEN.finditer(_class_string(text)))  # offsets by C-level map, no tuple per token
    starts, ends = list(map(_MATCH.start, matches)), list(map(_MATCH.end, matches))
    cuts = sorted(set(extra_boundaries))
    return _cut(starts, ends, cuts) if cuts else (starts, ends)


def _cut(starts: list[int], ends: list[int], cuts: list[int]) -> tuple[list[int], list[int]]:
    """The tokens that hold a cut, split there. Walks the cuts (two per annotation), not the tokens: most cuts
    fall on a token boundary already, and the untouched tokens are copied as slices."""
    inner: dict[int, list[int]] = {}  # token index -> the cuts strictly inside it, in order
    for c in cuts:
        k = bisect_right(starts, c) - 1
        if k >= 0 and starts[k] < c < ends[k]:
            inner.setdefault(k, []).append(c)
    if not inner:
        return starts, ends
    new_starts: list[int] = []
    new_ends: list[int] = []
    prev = 0
    for k in sorted(inner):
        new_starts += starts[prev:k]
        new_ends += ends[prev:k]
        new_starts.append(starts[k])
        new_starts += inner[k]
        new_ends += inner[k]
        new_ends.append(ends[k])
        prev = k + 1
    new_starts += starts[prev:]
    new_ends += ends[prev:]
    return new_starts, new_ends


def sentence_ids(text: str, tokens: list[Token]) -> list[int]:
    """Sentence index per token: a sentence ends after . ! ? ؟ … or where a line break separates tokens."""
    return sentence_ids_of_spans(text, [(t.start, t.end) for t in tokens])


def sentence_ids_of_spans(text: str, spans: list[tuple[int, int]]) -> list[int]:
    """`sentence_ids` over (start, end) pairs."""
    ids: list[int] = []
    sid = 0
    pending_end = False  # a full stop was seen; closing quotes/brackets may still follow it
    prev_end = None
    for start, end in spans:
        tok = text[start:end]
        attached = prev_end == start
        if prev_end is not None:
            line_break = "\n" in text[prev_end:start]
            if line_break or (pending_end and not (attached and _closing(tok))):
                sid += 1
                pending_end = False
        ids.append(sid)
        if tok in SENTENCE_END:
            pending_end = True
        elif not (pending_end and _closing(tok) and attached):
            pending_end = False
        prev_end = end
    return ids


_LINE_BREAK = re.compile("\n")
_SENTENCE_END_CHAR = re.compile("[" + re.escape("".join(sorted(SENTENCE_END))) + "]")


def sentence_ids_of_bounds(text: str, starts: list[int], ends: list[int]) -> list[int]:
    """`sentence_ids_of_spans` over the token starts and ends, without a Python step per token: a sentence
    can only begin at a token after a line break or after a full stop, and there are few of those, so they
    are found from the text (by regex) and the ids are written as runs. The rules are the same:
    - a token with a line break between it and the previous token starts a sentence;
    - a full-stop token (. ! ? ؟ … ۔ alone) ends one, together with the closing quotes, brackets and full
      stops attached right after it; the next token starts the next sentence."""
    n = len(starts)
    if not n:
        return []
    begins = set()
    for m in _LINE_BREAK.finditer(text):
        k = bisect_right(starts, m.start())  # tokens hold no whitespace: the break lies before token k
        if 0 < k < n:
            begins.add(k)
    for m in _SENTENCE_END_CHAR.finditer(text):
        p = m.start()
        k = bisect_left(starts, p)
        if k == n or starts[k] != p or ends[k] != p + 1:
            continue  # not a token of its own (a decimal point, or cut into a longer token)
        j = k + 1
        while j < n and starts[j] == ends[j - 1] and _closing(text[starts[j]:ends[j]]):
            j += 1
        if j < n:
            begins.add(j)
    ids: list[int] = []
    prev = 0
    for sid, b in enumerate(sorted(begins)):
        ids += [sid] * (b - prev)
        prev = b
    ids += [len(begins)] * (n - prev)
    return ids


def _closing(tok: str) -> bool:
    """A closing quote or bracket right after a full stop stays in the sentence it closes."""
    return tok in CLOSING_MARKS or tok in SENTENCE_END


def sentences(text: str, tokens: list[Token]) -> list[tuple[int, int]]:
    """Sentences as (first token index, end token index exclusive)."""
    ids = sentence_ids(text, tokens)
    out: list[tuple[int, int]] = []
    for i, sid in enumerate(ids):
        if sid == len(out):
            out.append((i, i + 1))
        else:
            out[-1] = (out[-1][0], i + 1)
    return out
