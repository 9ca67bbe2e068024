"""One task's JSON text decoded by msgspec (compiled; about half the stdlib's time on an export task), or by
the standard library wherever msgspec refuses what the standard library reads: a lone surrogate escape
(`"\\ud800"`), NaN and Infinity, a number beyond a double. Where both read a text they give the same objects:
the last of duplicate keys wins, integers keep every digit, floats round alike. orjson was measured too and is
as fast, but reads integers beyond 64 bits as floats, which would change a task silently.

And the whole elements of a JSON array found in its bytes (`array_elements`), msgspec proving where each ends, so
that an export's tasks are cut out without the stdlib decoding every one of them (`studio/readers.py`).
"""

from __future__ import annotations

import itertools
import json
import re

import msgspec

_DECODER = msgspec.json.Decoder()
decode = _DECODER.decode  # msgspec alone (msgspec.DecodeError where it refuses a text): a caller with its own fallback


def loads(text: str | bytes) -> object:
    """`json.loads(text)`, faster; its errors (JSONDecodeError with line and column) are the stdlib's own."""
    try:
        return _DECODER.decode(text)
    except msgspec.DecodeError:
        return json.loads(text)


def to_worker(raw: str | bytes | None, task: object) -> bytes:
    """A task as a worker process receives it: its JSON text as UTF-8 bytes (its own bytes from the file as they
    are, or its own text encoded, when it has one; else the stdlib's dump of the rebuilt task). Bytes pass through
    the pool's pipe as they are and msgspec reads them as they are; a str would be encoded by the pickler and
    decoded again on the other side (~40% of the cost of an Arabic export's text). `surrogatepass`: a rebuilt
    task may hold a lone surrogate; the bytes are then not UTF-8, msgspec refuses them and `from_worker` reads
    them the stdlib's way."""
    if isinstance(raw, bytes):
        return raw
    return (raw if raw is not None else json.dumps(task)).encode("utf-8", "surrogatepass")


def from_worker(data: bytes, exact: bool) -> tuple[object, str | None]:
    """(task, the JSON text for `export.task_fault`'s lone-surrogate check: None when the text is not the
    file's own). msgspec refuses every lone surrogate escape, so a task it reads has none: an empty text says so
    without decoding the bytes. Anything msgspec refuses is read by the stdlib, as before."""
    try:
        return _DECODER.decode(data), ("" if exact else None)
    except msgspec.DecodeError:
        text = data.decode("utf-8", "surrogatepass")
        return json.loads(text), (text if exact else None)


# --- the elements of a JSON array, found in its bytes ---------------------------------------------------------------

_ELEMENTS = msgspec.json.Decoder(list[msgspec.Raw])
_SEPARATOR = re.compile(rb"[ \t\n\r]*[,\]]")
_FAILED_AT = re.compile(r"\(byte (\d+)\)$")
_WALK = 1000  # `}` walked back over at most for a cut (a task has tens to hundreds)


def array_elements(data: bytes, start: int, end: int) -> list[msgspec.Raw] | None:
    """The whole elements of a JSON array that start at `start` in `data` (the first at `start`, the array's
    own `[` before it) and end before `end`, each as its exact bytes. [] when msgspec refuses the first one, None
    when no cut was found at all: the caller reads the next element the stdlib's way.

    The stdlib's `raw_decode` finds where a value ends but builds it too, from a str; msgspec reads bytes, but
    only a whole document. So a cut is guessed here and msgspec proves it (`elements_to`). A cut is guessed by
    counting braces (blind to strings, hence only a guess): the last `}` after which the braces from `start`
    balance and a `,` or the array's `]` follows. msgspec also refuses an element it cannot read (a lone
    surrogate escape, NaN, too deep): the elements before it are returned, it is left to the caller."""
    for attempt in itertools.count():
        cut = _last_cut(data, start, end)
        if cut is None:
            return [] if attempt else None
        try:
            return _ELEMENTS.decode(_bracketed(data, start, cut))
        except (msgspec.DecodeError, RecursionError) as exc:
            # Try again before the byte msgspec names (an element it refuses), or else (a cut the brace count
            # got wrong, blind to strings) at the cut before, and after a few of those before half of what it
            # was given (each try costs a decode up to the cut).
            failed = _FAILED_AT.search(str(exc))
            end = start + int(failed.group(1)) - 1 if failed else start + (cut - start) // 2 if attempt >= 3 else cut
            end = min(end, cut - 1)
    return []  # (not reached: `end` falls at every try)


def elements_to(data: bytes, start: int, cut: int) -> list[msgspec.Raw] | None:
    """The elements of a JSON array from `start` to `cut` in `data` (as `array_elements`), when `cut` is right
    after one of them: `[` + those bytes + `]` decodes only then (a cut inside a string leaves the string open,
    one inside an element leaves a bracket open), and the elements msgspec returns are the ones the stdlib would
    find. None otherwise (or when msgspec refuses one of them)."""
    try:
        return _ELEMENTS.decode(_bracketed(data, start, cut))
    except (msgspec.DecodeError, RecursionError):
        return None


def _bracketed(data: bytes, start: int, cut: int) -> bytes:
    """`[` + data[start:cut] + `]`, copied once (a slice and two concatenations copy a block three times)."""
    return b"".join((b"[", memoryview(data)[start:cut], b"]"))


def _last_cut(data: bytes, start: int, end: int) -> int | None:
    """The position after the last `}` in data[start:end] after which the braces from `start` balance and a `,`
    or `]` follows (whitespace between), or None. Walks back from `end` a `}` at a time, counting the braces of
    each stretch walked; gives up after `_WALK` of them (strings that leave braces open, where no `}` ever
    balances: a walk over a whole block costs more than reading its tasks the stdlib's way)."""
    depth = _braces(data, start, end)  # of data[start:k], k walking back from `end`
    k = end
    for _ in range(_WALK):
        close = data.rfind(b"}", start, k)
        if close < 0:
            return None
        depth -= _braces(data, close + 1, k)
        if depth == 0 and _SEPARATOR.match(data, close + 1):
            return close + 1
        depth += 1  # the `}` at `close` is left out of data[start:close]
        k = close
    return None


def _braces(data: bytes, start: int, end: int) -> int:
    """Opening minus closing braces in data[start:end], strings not told apart. (Square brackets are not
    counted: an element cut inside an array is still an object left open.)"""
    return data.count(b"{", start, end) - data.count(b"}", start, end)
