"""The readers under `stream.ExportStream`: an export file's bytes, hashed as they are read (`Source`); a JSON
array's tasks cut out of those bytes and read by msgspec (`ArrayReader`); and a text reader for every other
shape (`TextReader`), where the stdlib decoder reads each task.

Why two readers: the stdlib's `raw_decode` finds where a task ends by decoding all of it, from a str (the file
decoded from UTF-8 first), and the parent process of an import needs little of a task: its document key (the
id and `data`) and its bytes for a worker process, which decodes it again. So a JSON array is read from its
bytes: msgspec proves where each task ends (`fastjson.array_elements`), decodes only the task's id and `data`
(`Head`), and the task's own bytes go to the worker as they are; the whole task is decoded only when asked for
(`stream.RawTask.task`). A task that does not go that way (a lone surrogate escape, NaN, a number beyond a
double, a task nested near the recursion limit or longer than a block) is decoded by the stdlib from the text
of its bytes, as the text reader does: the same value, the same text, the same faults.
"""

from __future__ import annotations

import codecs
import hashlib
import json
import re
import sys
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec

from ..core.fastjson import array_elements, elements_to

CHUNK = 1 << 20  # bytes read at a time; a task larger than this just makes the buffer grow until it fits
_DECODER = json.JSONDecoder()
_WS = re.compile(r"[ \t\n\r]*")
_WS_BYTES = re.compile(rb"[ \t\n\r]*")
_SEPARATOR = re.compile(rb"[ \t\n\r]*,[ \t\n\r]*")
_OUTSIDE = re.compile(r'["\[\]{}]')
_IN_STRING = re.compile(r'["\\]')
_OUTSIDE_BYTES = re.compile(rb'["\[\]{}]')
_IN_STRING_BYTES = re.compile(rb'["\\]')
# bytes decoded at first for a value read the stdlib's way from the bytes: twice the last element read, at least
# this (doubled while the value is cut by the window's end)
_WINDOW = 1 << 12
# msgspec reads a block this many calls below the stdlib decoder's call site (`_deeper`): a task nested so
# deep that it is not read there (about the limit less this) is read the stdlib's way, where it always was.
_DEEPER = 40


class Head(msgspec.Struct):
    """What the parent process reads of a task (the rest is skipped, UNSET when absent): its id and data (its
    document key and its label), and whether it has annotations (a JSON_MIN record has neither these nor data)."""

    id: Any = msgspec.UNSET
    data: Any = msgspec.UNSET
    annotations: msgspec.Raw = msgspec.UNSET


_HEAD = msgspec.json.Decoder(Head)
_VALUE = msgspec.json.Decoder()
REFUSED = object()  # an element msgspec cut out but does not read: `ArrayReader.value` reads it


class Source:
    """An export file's bytes, a block at a time, hashed as they are read (`close` hashes the rest, so the digest
    is the whole file's). `hashed`: the caller has the file's digest already (nothing is hashed)."""

    def __init__(self, path: Path, hashed: bool = False):
        self.file = path.open("rb")
        self.sha = None if hashed else hashlib.sha256()
        self.eof = False

    def read(self) -> bytes:
        """The next block; b"" at the end of the file (and `eof` set)."""
        if self.eof:
            return b""
        raw = self.file.read(CHUNK)
        if self.sha is not None:
            self.sha.update(raw)
        self.eof = not raw
        return raw

    def close(self) -> str | None:
        while self.sha is not None and self.read():
            pass
        self.file.close()
        return self.sha.hexdigest() if self.sha is not None else None


class TextReader:
    """A text buffer over a file, refilled on demand: the files that do not start with a JSON array (JSONL, one
    object). `head`: what was read of the file before it, from its first byte (after a BOM)."""

    def __init__(self, source: Source, head: bytes = b""):
        self.source = source
        self.decoder = codecs.getincrementaldecoder("utf-8")()
        self.buf = self.decoder.decode(head, final=source.eof)  # UnicodeDecodeError: reported by the caller
        self.pos = 0
        self.newlines = 0

    def fill(self) -> bool:
        """Read one more chunk; False at the end of the file. Drops the consumed part of the buffer."""
        if self.source.eof:
            return False
        raw = self.source.read()
        text = self.decoder.decode(raw, final=not raw)  # UnicodeDecodeError: reported by the caller
        if self.pos:
            self.buf = self.buf[self.pos:]
            self.pos = 0
        self.buf += text
        return True

    def skip_ws(self) -> str:
        """The next non-whitespace character ('' at the end of the file), not consumed. Counts the line breaks
        it skips in `newlines` (JSONL line numbers)."""
        while True:
            end = _WS.match(self.buf, self.pos).end()
            self.newlines += self.buf.count("\n", self.pos, end)
            self.pos = end
            if self.pos < len(self.buf):
                return self.buf[self.pos]
            if not self.fill():
                return ""

    def value(self) -> tuple[object, str]:
        """Decode the JSON value at the cursor; refill while it is cut by the end of the buffer. A value nested
        deeper than the decoder's recursion limit raises TooDeep with its text, skipped over."""
        while True:
            try:
                obj, end = _DECODER.raw_decode(self.buf, self.pos)
            except json.JSONDecodeError:
                if not self.fill():
                    raise
                continue
            except RecursionError:
                raise TooDeep(self.skip_value()) from None
            # A number at the very end of the buffer may be cut ("12" of "123"): read on to be sure.
            if end == len(self.buf) and not self.source.eof and not isinstance(obj, (dict, list, str)):
                self.fill()
                continue
            raw = self.buf[self.pos:end]
            self.pos = end
            return obj, raw

    def skip_value(self) -> str:
        """The text of the array or object at the cursor (a value too deep to decode), found by counting
        brackets outside strings; json.JSONDecodeError when the file ends inside it. Rare: rescans on refill."""
        while True:
            end = _value_end(self.buf, self.pos)
            if end is not None:
                raw, self.pos = self.buf[self.pos:end], end
                return raw
            if not self.fill():
                raise json.JSONDecodeError("the file ends inside a value", self.buf, len(self.buf))

    def lines(self) -> Iterator[str]:
        """The rest of the file, line by line (JSONL)."""
        while True:
            nl = self.buf.find("\n", self.pos)
            if nl == -1:
                if self.fill():
                    continue
                if self.pos < len(self.buf):
                    line, self.pos = self.buf[self.pos:], len(self.buf)
                    yield line
                return
            line, self.pos = self.buf[self.pos:nl], nl + 1
            yield line


class ArrayReader:
    """A bytes buffer over a file, refilled on demand, where a JSON array is read: its elements a block at a
    time (`fast`), or one the stdlib's way (`value`). Starts at the file's first byte after a BOM (which the
    "utf-8-sig" codec would drop), and hands over to a TextReader (`text`) when the file is not an array."""

    def __init__(self, source: Source):
        self.source = source
        self.data = b""
        self.pos = 0
        self.started = False
        # (Head, a value, or REFUSED; the element's bytes) for the elements cut out from `pos` on
        self.ahead: deque = deque()
        self.separator: bytes | None = None  # `}`, what stood between two elements, `{` (a cut to try first)
        self.misses = 0  # separators that were not a cut: after a few, it is not learnt again
        self.last_end = -1  # where the last element read ends in `data` (-1: not there any more)
        self.last_size = 0  # its length in bytes
        self.wait = 0  # elements left to `value` before a block is tried again (`fast`)
        self.backoff = 0

    def fill(self) -> bool:
        """Read one more chunk; False at the end of the file. Drops the consumed part of the buffer."""
        if self.source.eof:
            return False
        raw = self.source.read()
        self.data = b"".join((memoryview(self.data)[self.pos:], raw))  # one copy (a slice would be another)
        self.last_end = self.last_end - self.pos if self.last_end >= self.pos else -1
        self.pos = 0
        if not self.started:
            self.started = True
            self.pos = len(codecs.BOM_UTF8) if raw.startswith(codecs.BOM_UTF8) else 0
        return True

    def text(self) -> TextReader:
        """The text reader, from the cursor on."""
        return TextReader(self.source, self.data[self.pos:])

    def skip_ws(self) -> str:
        """The next non-whitespace byte as a character ('' at the end of the file), not consumed."""
        if self.pos < len(self.data) and self.data[self.pos] not in b" \t\n\r":
            return chr(self.data[self.pos])  # the usual case between the tasks of a block: no search
        while True:
            self.pos = _WS_BYTES.match(self.data, self.pos).end()
            if self.pos < len(self.data):
                return chr(self.data[self.pos])
            if not self.fill():
                return ""

    def fast(self) -> tuple[object, bytes] | None:
        """The element at the cursor, consumed, as msgspec read it: (its Head, or its value when it is not an
        object, or when its id or data are not read that way; its bytes). None: it is left to `value`."""
        if not self.ahead:
            if self.wait:
                self.wait -= 1
                return None
            if len(self.data) - self.pos < CHUNK:
                self.fill()  # a block ahead, so that a block holds many tasks
            self._learn()
            try:
                found = _deeper(_DEEPER, self._block, min(len(self.data), self.pos + CHUNK))
            except RecursionError:  # called near the limit already: everything goes the stdlib's way
                found = None
            # A block where no cut is found has cost a walk over much of it (braces left open in strings
            # everywhere, tasks longer than a block): the next 1, 2, 4... 256 elements go to `value` untried.
            self.backoff = min(256, 2 * self.backoff or 1) if found is None else 0
            self.wait = self.backoff
            self.ahead.extend(found or ())
        if not self.ahead or self.ahead[0][0] is REFUSED:
            return None
        found = self.ahead.popleft()
        self.last_size = len(found[1])
        self.pos += self.last_size
        self.last_end = self.pos
        return found

    def _block(self, end: int) -> list[tuple[object, bytes]] | None:
        """The elements from the cursor up to `end` at most, read (`_read_element`); None when no cut was found
        (`fastjson.array_elements`). The cut is tried first at the last `separator` (no braces counted when it is
        right: it is, unless it also stands inside tasks)."""
        elements = None
        cut = self.data.rfind(self.separator, self.pos, end) if self.separator else -1
        if cut > self.pos:
            elements = elements_to(self.data, self.pos, cut + 1)
            if elements is None:  # it stands inside a task too (or a task there is one msgspec refuses)
                self.separator = None
                self.misses += 1
        if elements is None:
            elements = array_elements(self.data, self.pos, end)
        return None if elements is None else [_read_element(bytes(e)) for e in elements]

    def _learn(self) -> None:
        """`separator`: what stands between the last element read and the one at the cursor, from its `}` to
        `{`, when both are objects (the elements of an export are written alike: it is where blocks are cut)."""
        if self.separator or self.misses >= 3 or self.last_end < 1:
            return
        if self.data[self.last_end - 1] == ord("}") and self.data[self.pos:self.pos + 1] == b"{" and \
                _SEPARATOR.fullmatch(self.data, self.last_end, self.pos):
            self.separator = self.data[self.last_end - 1:self.pos + 1]

    def value(self) -> tuple[object, str]:
        """Decode the JSON value at the cursor the stdlib's way, as TextReader.value does (the same value and
        text, the same errors): from its bytes when msgspec cut it out, else from the text of a window of bytes,
        widened (and the buffer refilled) while the value is cut by its end."""
        if self.ahead:
            data = self.ahead.popleft()[1]
            self.last_size = len(data)
            self.pos += self.last_size
            self.last_end = self.pos
            text = data.decode("utf-8")
            try:
                return _DECODER.raw_decode(text)[0], text
            except RecursionError:
                raise TooDeep(text) from None
        size = max(_WINDOW, 2 * self.last_size)
        while True:
            final = self.source.eof and self.pos + size >= len(self.data)
            text = codecs.utf_8_decode(self.data[self.pos:self.pos + size], "strict", final)[0]
            try:
                obj, end = _DECODER.raw_decode(text)
            except json.JSONDecodeError:
                if not self._widen(size):
                    raise
                size *= 2
                continue
            except RecursionError:
                raise TooDeep(self.skip_value()) from None
            # A number at the very end of the window may be cut ("12" of "123"): read on to be sure.
            if end == len(text) and not final and not isinstance(obj, (dict, list, str)):
                self._widen(size)
                size *= 2
                continue
            raw = text[:end]
            self.last_size = len(raw.encode("utf-8"))
            self.pos += self.last_size
            self.last_end = self.pos
            return obj, raw

    def _widen(self, size: int) -> bool:
        """Room for a window twice `size`: False when the window already holds the rest of the file."""
        if self.pos + size < len(self.data):
            return True
        return self.fill()

    def skip_value(self) -> str:
        """The text of the array or object at the cursor (a value too deep to decode), as TextReader.skip_value."""
        while True:
            end = _value_end(self.data, self.pos)
            if end is not None:
                raw, self.pos = self.data[self.pos:end].decode("utf-8"), end
                return raw
            if not self.fill():
                raise json.JSONDecodeError("the file ends inside a value", "", 0)


def _read_element(data: bytes) -> tuple[object, bytes]:
    """An element's Head; or its value, when it is not an object or its id or data are not read as a Head; or
    REFUSED. Its bytes must be UTF-8: msgspec checks the strings it decodes, not the ones it skips."""
    try:
        head = _HEAD.decode(data)
    except msgspec.ValidationError:  # not an object
        head = None
    except (msgspec.DecodeError, RecursionError):
        return REFUSED, data
    try:
        data.decode("utf-8")  # the check only: the worker process decodes the task's strings
        return (head if head is not None else _VALUE.decode(data)), data
    except (UnicodeDecodeError, msgspec.DecodeError, RecursionError):
        return REFUSED, data


def _deeper(frames: int, call, *args):
    """call(*args), `frames` calls further down the stack. msgspec and the stdlib decoder both refuse nesting
    past the recursion limit counted from where they are called (msgspec two levels later): whatever msgspec
    reads this deep, the stdlib would have read at the readers' call site, and the whole task decoded later
    where it is asked for (`stream.RawTask.task`); a task nested closer to the limit is read the stdlib's way
    (read, or refused as too deep) exactly as before."""
    return call(*args) if frames == 0 else _deeper(frames - 1, call, *args)


def _value_end(text: str | bytes, pos: int) -> int | None:
    """Where the array or object starting at `pos` ends, or None when `text` ends first. Works on bytes too: the
    brackets, quotes and backslashes are ASCII, and no byte of a UTF-8 multibyte character is."""
    outside, in_string = (_OUTSIDE, _IN_STRING) if isinstance(text, str) else (_OUTSIDE_BYTES, _IN_STRING_BYTES)
    depth, k, inside = 0, pos, False
    while True:
        m = (in_string if inside else outside).search(text, k)
        if m is None:
            return None
        ch, k = text[m.start():m.end()], m.end()
        if ch in ("\\", b"\\"):
            k += 1  # the escaped character (past the end: the next search finds nothing, and the caller refills)
        elif ch in ('"', b'"'):
            inside = not inside
        elif ch in ("[", "{", b"[", b"{"):
            depth += 1
        else:
            depth -= 1
            if depth == 0:
                return k


class TooDeep(Exception):
    """A JSON value nested deeper than the decoder can go; `raw` is its text, kept for the quarantine file."""

    def __init__(self, raw: str):
        super().__init__(f"nested too deeply to read (more than {sys.getrecursionlimit()} levels of lists or "
                         "objects)")
        self.raw = raw
