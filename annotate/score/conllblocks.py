"""The fast way through a CoNLL file: large blocks of text, columns split once per sentence with C-level string
methods, no per-line Python work when every line of a sentence has as many columns.

Only the shape of a well-formed file is read here: no line numbers and no error messages. Whatever this reader
cannot vouch for (bytes that are not UTF-8, a line with too few columns) makes the caller read the file again
with the exact reader of `conll.py`, which names the file and line of the fault. Columns and lines are cut as
that reader cuts them: lines at the newlines of Python's text mode (\\n, \\r\\n, \\r), columns at ASCII
whitespace only, so a token holding U+00A0, U+2028 or U+0085 stays one token.
"""

from __future__ import annotations

import gc
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

BLOCK_CHARS = 1 << 23  # 8 Mi characters: few enough blocks that per-block work is noise, bounded memory per block

_OTHER_SPACES = ("\t", "\f", "\v")  # the column separators besides " " (\r never survives text mode)
_RUNS = re.compile(r" {2,}")
_LINE_EDGES = re.compile(r"^ | $", re.MULTILINE)
_DOCSTART = re.compile(r"^-DOCSTART-(?: [^\n]*)?$", re.MULTILINE)
# A column of a -DOCSTART- line that is an entity tag: such a line is not a document break (`conll._document_break`)
ENTITY_TAG = re.compile(r"^[BIESLU]-\S+$|^\S+-[BIESLU]$")


@contextmanager
def gc_paused() -> Iterator[None]:
    """No cyclic garbage collection inside: building millions of lists and tuples (none of them in a cycle)
    otherwise triggers collections that walk every one already built, ~40% of the reading time of a file of
    a million tokens."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@dataclass(frozen=True)
class Sentence:
    """One sentence's columns: column-major when every line has the same number of columns (the usual case,
    sliced out of one flat split), else its rows as they are."""
    columns: list[list[str]] | None
    rows: list[list[str]] | None

    def last_two(self) -> tuple[list[str], list[str]] | None:
        """The last two columns of every row (conlleval's gold and predicted tag); None when a row has fewer
        than three columns (a token and two tags)."""
        if self.columns is not None:
            return (self.columns[-2], self.columns[-1]) if len(self.columns) >= 3 else None
        rows = self.rows or []
        if any(len(r) < 3 for r in rows):
            return None
        return [r[-2] for r in rows], [r[-1] for r in rows]

    def padded(self) -> list[list[str]] | None:
        """Token column then one column per tag layer, short rows padded with O (a layer a token lacks is
        outside every entity); None when a row has no tag column."""
        if self.columns is not None:
            return self.columns if len(self.columns) >= 2 else None
        rows = self.rows or []
        width = max(map(len, rows))
        if min(map(len, rows)) < 2:
            return None
        return [[r[c] if c < len(r) else "O" for r in rows] for c in range(width)]


def canonical(block: str) -> str:
    """Lines with single spaces between columns and none at either end, -DOCSTART- lines made blank: the
    layout `str.split(" ")` cuts exactly as the exact reader's regex does. Each step runs only when its
    pattern occurs, so a file already in this layout costs a few scans."""
    for space in _OTHER_SPACES:
        if space in block:
            block = block.replace(space, " ")
    if "  " in block:
        block = _RUNS.sub(" ", block)
    if " \n" in block or "\n " in block or block.startswith(" ") or block.endswith(" "):
        block = _LINE_EDGES.sub("", block)
    if "-DOCSTART-" in block:
        if any(ENTITY_TAG.match(c) for m in _DOCSTART.finditer(block) for c in m.group().split(" ")[1:]):
            raise _Fault  # the exact reader names the line
        block = _DOCSTART.sub("", block)
    return block


class _Fault(Exception):
    """Something the exact reader reports with its file and line."""


def sentence_of(segment: str) -> Sentence:
    """One sentence (lines without a blank one) split into columns with one `split` over all its lines."""
    lines = segment.count("\n") + 1
    parts = segment.replace("\n", " \n ").split(" ")
    width, rest = divmod(len(parts) + 1, lines)
    # every line has width - 1 columns exactly when each width-th part is a line break
    if not rest and width >= 2 and parts[width - 1::width].count("\n") == lines - 1:
        return Sentence([parts[c::width] for c in range(width - 1)], None)
    return Sentence(None, [line.split(" ") for line in segment.split("\n")])


def _sentences(text: str) -> Iterator[Sentence]:
    for segment in text.split("\n\n"):
        segment = segment.strip("\n")
        if segment:
            yield sentence_of(segment)


def grid_sentences(text: str) -> list[Sentence] | None:
    """The sentences of canonical text in which every line has as many columns, from ONE split of the whole
    text: each blank line becomes a line of empty columns (no real column is empty), so the text is a grid and
    a column of the whole block is one slice; sentences are cut where the empty columns are. None when the
    lines differ in width (the text is then split one sentence at a time)."""
    text = text.strip("\n")
    if not text:
        return []
    first = text.find("\n")
    width = text.count(" ", 0, first if first >= 0 else len(text)) + 1
    if width < 2:  # a line of one column is a fault; a blank line could not be told from it either
        return None
    blank = "\n" + " " * (width - 1) + "\n"
    while "\n\n" in text:  # two passes for runs of blank lines: a replaced pair shares no newline with the next
        text = text.replace("\n\n", blank)
    lines = text.count("\n") + 1
    parts = text.replace("\n", " \n ").split(" ")
    if len(parts) != lines * (width + 1) - 1 or parts[width::width + 1].count("\n") != lines - 1:
        return None
    columns = [parts[c::width + 1] for c in range(width)]
    marks = columns[0]
    out: list[Sentence] = []
    start = 0
    while start < lines:
        try:
            end = marks.index("", start)
        except ValueError:
            end = lines
        if end > start:
            out.append(Sentence([column[start:end] for column in columns], None))
        start = end + 1
    return out


def read_sentences(path: str | Path, block_chars: int = BLOCK_CHARS) -> list[Sentence] | None:
    """The file's sentences (blank lines and -DOCSTART- lines separate them); None when it is not UTF-8 or a
    -DOCSTART- line carries an entity tag, so that the exact reader says where."""
    with gc_paused():
        return _read(path, block_chars)


def _read(path: str | Path, block_chars: int) -> list[Sentence] | None:
    out: list[Sentence] = []
    pending = ""  # canonical text after the last blank line: a sentence that may go on in the next block
    try:
        with open(path, encoding="utf-8") as f:  # text mode: \r\n and \r end lines, as in the exact reader
            tail = ""  # raw text after the block's last line break: canonical() must see whole lines
            while True:
                block = f.read(block_chars)
                if not block:
                    break
                block = tail + block
                cut = block.rfind("\n") + 1
                block, tail = block[:cut], block[cut:]
                pending += canonical(block)
                cut = pending.rfind("\n\n")
                if cut >= 0:
                    out.extend(_split(pending[:cut]))
                    pending = pending[cut + 2:]
            pending += canonical(tail)
    except (UnicodeDecodeError, _Fault):
        return None
    out.extend(_split(pending))
    return out


def _split(text: str) -> list[Sentence]:
    grid = grid_sentences(text)
    return grid if grid is not None else list(_sentences(text))
