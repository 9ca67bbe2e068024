"""The tokenizer's rules over many texts at once, as numpy array operations: no Python object per token.

`tokenize.token_bounds` is the definition (one compiled regex over a text's character classes); this module
computes the same token boundaries for a batch of texts joined into one array of code points, which is what
a build of tens of thousands of documents needs (a Python step per token, even inside `re.finditer`, was
the largest single cost of `annotate import`). `tests/test_tokenize.py` checks the two agree on random
class strings and on the bundled articles.

The regex `_TOKEN` reads a token as: a word of one script with its marks (`A[AM]*`, `L[LM]*`); a number,
where a decimal separator counts only between two digits (`D(?:[DM]|(?<=D)s(?=D))*`); marks that start a
word (`M+` then an optional word); a symbol with its joiners and marks (`[PsJ][JM]*`). Every non-space
character belongs to exactly one token, so a token boundary is decided by one question per character: does
it continue the token of the character before it? That depends on the token's kind, which is the class of
the last character before the current run of marks (and of joiners, for symbols). A text with a zero-width
joiner (class `Z`, an emoji ZWJ sequence: `Z` takes the next character whatever it is) is the one case not
expressed here; such texts are tokenised by the regex, one by one.
"""

from __future__ import annotations

import numpy as np

from .tokenize import CLOSING_MARKS, SENTENCE_END, _class_string, token_bounds

_S, _A, _L, _D, _M, _P, _DEC, _J, _Z = (ord(c) for c in "SALDMPsJZ")
_NL = ord("\n")
_STOPS = np.array(sorted(map(ord, SENTENCE_END)), np.uint32)
# what `tokenize._closing` accepts after a full stop: closing quotes and brackets, and more full stops
_CLOSERS = np.array(sorted(map(ord, CLOSING_MARKS | SENTENCE_END)), np.uint32)


class TokenBatch:
    """Tokens of `texts`, each cut at its `cuts` (character offsets where a token must end and another begin,
    as `token_bounds`' `extra_boundaries`).

    - `points`: the code points of all texts, with a space before and after each (text k starts at
      `base[k]`; `base[-1]` is the length of `points`);
    - `starts`, `ends`: every token's first and past-the-end position in `points` (int64, text after text);
    - `first[k]`: index of text k's first token (`first[-1]` = the number of tokens);
    - `local_starts`, `local_ends`: the same offsets into each token's own text (what the dataset stores);
    - `doc`: the text index of each token."""

    def __init__(self, texts: list[str], cuts: list[list[int]]):
        joined = " " + " ".join(texts) + " "  # a space before and after every text
        self.points = np.frombuffer(joined.encode("utf-32-le", "surrogatepass"), np.uint32)
        lengths = np.fromiter(map(len, texts), np.int64, len(texts))
        self.base = 1 + np.concatenate(([0], np.cumsum(lengths + 1)))
        classes = _class_string.of_points(self.points)
        begin, last = _boundaries(classes)
        zwj = np.flatnonzero(classes == _Z)
        if zwj.size:  # texts with a ZWJ: the regex decides (see the module docstring)
            for k in np.unique(np.searchsorted(self.base, zwj, side="right") - 1).tolist():
                _by_regex(texts[k], int(self.base[k]), begin, last)
        _apply_cuts(classes, begin, last, self.base, cuts)
        self.starts = np.flatnonzero(begin)
        self.ends = np.flatnonzero(last) + 1
        self.first = np.searchsorted(self.starts, self.base)
        counts = np.diff(self.first)
        self.doc = np.repeat(np.arange(len(texts)), counts)
        offset = self.base[:-1][self.doc]
        self.local_starts = self.starts - offset
        self.local_ends = self.ends - offset
        self.classes = classes

    def token_utf8(self) -> tuple[bytes, np.ndarray]:
        """Every token's text, as one UTF-8 buffer and the byte offsets of each token in it (n + 1 of them):
        the tokens, one after another, are exactly the non-space characters of the texts."""
        inside = self.classes != _S
        kept = self.points[inside]
        width = np.zeros(len(self.points), np.int64)  # UTF-8 bytes of each character that is in a token
        width[inside] = 1 + (kept >= 0x80).astype(np.int64) + (kept >= 0x800) + (kept >= 0x10000)
        before = np.zeros(len(self.points) + 1, np.int64)
        np.cumsum(width, out=before[1:])
        offsets = np.append(before[self.starts], before[self.ends[-1]] if len(self.ends) else 0)
        return kept.tobytes().decode("utf-32-le").encode("utf-8"), offsets

    def sentence_ids(self) -> np.ndarray:
        """`tokenize.sentence_ids_of_bounds` for every text: a token starts a sentence when a line break lies
        between it and the token before, or when it is the first token after a full stop and the closing
        quotes, brackets and full stops attached to it. Ids count from 0 in each text."""
        n = len(self.starts)
        if not n:
            return np.zeros(0, np.int64)
        newlines = np.zeros(len(self.points) + 1, np.int64)
        np.cumsum(self.points == _NL, out=newlines[1:])
        opens = np.zeros(n, bool)  # this token starts a sentence (the first token of a text is cleared below)
        opens[1:] = newlines[self.starts[1:]] > newlines[self.ends[:-1]]
        single = (self.ends - self.starts) == 1
        char = self.points[self.starts]
        glue = np.zeros(n, bool)  # attached to the token before, and closing: it stays in that sentence
        glue[1:] = (self.starts[1:] == self.ends[:-1]) & single[1:] & np.isin(char[1:], _CLOSERS)
        after = np.minimum.accumulate(np.where(glue, n, np.arange(n))[::-1])[::-1]  # first non-glue at/after i
        stop = np.flatnonzero(single[:-1] & np.isin(char[:-1], _STOPS))
        nxt = after[stop + 1]
        ok = nxt < n
        nxt, stop = nxt[ok], stop[ok]
        opens[nxt[self.doc[nxt] == self.doc[stop]]] = True
        counts = np.diff(self.first)
        firsts = self.first[:-1][counts > 0]
        opens[firsts] = False
        ids = np.cumsum(opens)
        return ids - np.repeat(ids[firsts], counts[counts > 0])


def _boundaries(c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(a token begins at i, a token's last character is i) from the class of each character; the first and
    the last position are spaces (the caller's separators). Most characters decide by their neighbour alone;
    only a character after a run of marks needs the class before the run (rare in news text), looked up for
    those positions only."""
    mid, prev, nxt = c[1:-1], c[:-2], c[2:]
    cont = np.zeros(len(c), bool)
    # a letter, digit, mark or joiner after one of its own class; a mark after anything but a space; a joiner
    # after a symbol; a decimal separator between two digits, and the digit after it
    cont[1:-1] = (mid == prev) & (mid != _P) & (mid != _DEC) & (mid != _S)
    cont[1:-1] |= (mid == _M) & (prev != _S)
    cont[1:-1] |= (mid == _J) & ((prev == _P) | (prev == _DEC))
    decimal = np.flatnonzero((mid == _DEC) & (prev == _D) & (nxt == _D)) + 1
    cont[decimal] = True
    cont[decimal + 1] = True
    after_marks = np.flatnonzero((prev == _M) & (mid != _M) & (mid != _S)) + 1
    if after_marks.size:
        non_marks = np.flatnonzero(c != _M)
        kind = c[non_marks[np.searchsorted(non_marks, after_marks - 1, side="right") - 1]]
        here = c[after_marks]
        cont[after_marks] = np.where(
            (here == _A) | (here == _L), (kind == here) | (kind == _S),  # marks that start a word take it
            np.where(here == _D, kind == _D, (here == _J) & np.isin(kind, (_P, _DEC, _J))))
    begin = (c != _S) & ~cont
    last = np.zeros(len(c), bool)
    last[:-1] = (c[:-1] != _S) & ~cont[1:]
    return begin, last


def _by_regex(text: str, at: int, begin: np.ndarray, last: np.ndarray) -> None:
    """Overwrite one text's boundaries with the regex tokenizer's (a text the array rules do not cover)."""
    starts, ends = token_bounds(text)
    begin[at:at + len(text)] = False
    last[at:at + len(text)] = False
    begin[np.asarray(starts, np.int64) + at] = True
    last[np.asarray(ends, np.int64) + at - 1] = True


def _apply_cuts(classes: np.ndarray, begin: np.ndarray, last: np.ndarray, base: np.ndarray,
                cuts: list[list[int]]) -> None:
    """A cut strictly inside a token splits it there (a cut between tokens, or on a space, changes nothing)."""
    if not any(cuts):
        return
    at = np.concatenate([np.asarray(c, np.int64) + base[k] for k, c in enumerate(cuts) if c])
    at = at[(at > 0) & (at < len(classes))]
    at = at[(classes[at - 1] != _S) & (classes[at] != _S)]
    begin[at] = True
    last[at - 1] = True


