"""JSON Lines in, record by record: one bad line costs one record, never the file.

Used by every reader of JSONL (articles, predictions, documents for an extractor); writing is in `atomic`.
"""

from __future__ import annotations

import codecs
import json
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

_SURROGATE = re.compile("[\ud800-\udfff]")


@dataclass(frozen=True)
class JsonlLine:
    """One non-blank line of a JSONL file: its parsed value, or why it has none."""
    source: str  # "PATH:LINE"
    value: object = None
    error: str | None = None
    raw: str = ""  # the line as text (undecodable bytes as \\x escapes), kept for the quarantine file


def read_jsonl(path: str | Path) -> Iterator[JsonlLine]:
    """Every non-blank line of a JSONL file, parsed, or with the reason it cannot be; read as a stream, so a
    file of any size costs one line of memory.

    Lines are split on "\\n" only: U+2028, U+0085 and other characters str.splitlines() breaks on are legal
    inside a JSON string (json.dumps(ensure_ascii=False) writes them raw), so they must not cut a record.
    Each line is decoded on its own, so one bad byte costs one record and not the file.
    """
    for lineno, _, chunk in raw_lines(path):
        yield parse_line(f"{path}:{lineno}", chunk)


def raw_lines(path: str | Path) -> Iterator[tuple[int, int, bytes]]:
    """(line number, byte offset, bytes without the line end) of every non-blank line; a leading BOM is
    skipped. The offset lets a caller come back to one line later (`read_line_at`) without keeping it."""
    with open(path, "rb") as f:
        offset = 0
        for lineno, chunk in enumerate(f, 1):  # binary iteration splits on b"\n" only
            start = offset
            offset += len(chunk)
            if lineno == 1 and chunk.startswith(codecs.BOM_UTF8):
                chunk = chunk[len(codecs.BOM_UTF8):]
                start += len(codecs.BOM_UTF8)
            chunk = chunk.removesuffix(b"\n").removesuffix(b"\r")
            if chunk.strip():
                yield lineno, start, chunk


def read_line_at(f, offset: int) -> bytes:
    """The line starting at byte `offset` of the open binary file `f`, without its line end."""
    f.seek(offset)
    return f.readline().removesuffix(b"\n").removesuffix(b"\r")


def parse_line(source: str, chunk: bytes) -> JsonlLine:
    """One line's bytes -> its parsed value, or why it has none."""
    try:
        line = chunk.decode("utf-8")
    except UnicodeDecodeError as exc:
        return JsonlLine(source, error=f"not UTF-8 (byte {exc.start + 1} of the line is "
                                       f"{chunk[exc.start:exc.start + 1]!r})",
                         raw=chunk.decode("utf-8", "backslashreplace"))
    depth = nesting_depth(line)
    if depth > MAX_NESTING:  # measured before parsing: json.loads recurses once per level
        return JsonlLine(source, error=f"nested {depth} levels deep (at most {MAX_NESTING} are read)", raw=line)
    try:
        value = json.loads(line)
    except json.JSONDecodeError as exc:
        return JsonlLine(source, error=f"not valid JSON: {exc.msg} at column {exc.colno}", raw=line)
    problem = lone_surrogate(value)
    return JsonlLine(source, None if problem else value, problem, line)


# A record of this toolkit nests 5 levels (events[].arguments[] inside a line); the bound keeps the parser and
# every walk over a value (lone_surrogate) far from Python's recursion limit.
MAX_NESTING = 100
_BRACKET_OR_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]')


def nesting_depth(line: str) -> int:
    """How deep the arrays and objects of a JSON text nest (brackets inside strings not counted). Costs two
    str.count calls when the line has few brackets, which is every line a toolkit writes."""
    if line.count("[") + line.count("{") <= MAX_NESTING:
        return 0
    depth = deepest = 0
    for m in _BRACKET_OR_STRING.finditer(line):
        c = m.group()
        if c in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif c in "]}":
            depth -= 1
    return deepest


def lone_surrogate(value, field: str = "") -> str | None:
    """Where a JSON value holds a lone surrogate (a \\udXXX escape that is not half of a pair), if anywhere.
    UTF-8 cannot encode one, so a record holding it is refused by name before anything is written."""
    if isinstance(value, str):
        m = _SURROGATE.search(value)
        if m is None:
            return None
        return (f"field {field or 'value'!r} holds a lone surrogate U+{ord(m.group()):04X} at character "
                f"{m.start()} (a \\u escape that is not half of a pair; UTF-8 cannot encode it)")
    if isinstance(value, dict):
        for key, item in value.items():
            where = f"{field}.{key}" if field else str(key)
            found = lone_surrogate(key, f"{where} (a key)") or lone_surrogate(item, where)
            if found:
                return found
    if isinstance(value, list):
        for i, item in enumerate(value):
            found = lone_surrogate(item, f"{field}[{i}]")
            if found:
                return found
    return None


def non_finite(value, field: str = "") -> str | None:
    """Where a JSON value holds NaN or Infinity, if anywhere. Python's json reads and writes them bare, but
    they are not JSON: Label Studio (and every strict reader) refuses the file they end up in."""
    stack = [(field, value)]
    while stack:  # iterative: a deeply nested record must not overflow the stack here
        where, item = stack.pop()
        if isinstance(item, float) and not math.isfinite(item):
            return f"field {where or 'value'!r} is {json.dumps(item)}, which JSON cannot hold (use null or a string)"
        if isinstance(item, dict):
            stack.extend((f"{where}.{k}" if where else str(k), v) for k, v in reversed(item.items()))
        elif isinstance(item, list):
            stack.extend((f"{where}[{i}]", v) for i, v in reversed(list(enumerate(item))))
    return None


class JsonFileError(ValueError):
    pass


def read_json_file(path: str | Path):
    """The value of a whole JSON file (a report, a config, a gold set's build.json). JsonFileError names the
    file and says what is wrong, quoting no part of it: a config file may hold an API key."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise JsonFileError(f"{path}: cannot be read ({exc.strerror})") from None
    except UnicodeDecodeError as exc:
        raise JsonFileError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    except json.JSONDecodeError as exc:
        raise JsonFileError(f"{path}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None
