"""One task's JSON text decoded by msgspec (compiled; about half the stdlib's time on an export task), or by
the standard library wherever msgspec refuses what the standard library reads: a lone surrogate escape
(`"\\ud800"`), NaN and Infinity, a number beyond a double. Where both read a text they give the same objects:
the last of duplicate keys wins, integers keep every digit, floats round alike. orjson was measured too and is
as fast, but reads integers beyond 64 bits as floats, which would change a task silently.
"""

from __future__ import annotations

import json

import msgspec

_DECODER = msgspec.json.Decoder()


def loads(text: str | bytes) -> object:
    """`json.loads(text)`, faster; its errors (JSONDecodeError with line and column) are the stdlib's own."""
    try:
        return _DECODER.decode(text)
    except msgspec.DecodeError:
        return json.loads(text)


def to_worker(raw: str | None, task: object) -> bytes:
    """A task as a worker process receives it: its JSON text as UTF-8 bytes (its own text when it has one, else
    the stdlib's dump of the rebuilt task). Bytes pass through the pool's pipe as they are and msgspec reads them
    as they are; a str would be encoded by the pickler and decoded again on the other side (~40% of the cost of
    an Arabic export's text). `surrogatepass`: a rebuilt task may hold a lone surrogate; the bytes are then not
    UTF-8, msgspec refuses them and `from_worker` reads them the stdlib's way."""
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
