"""Label Studio exports read one task at a time, in bounded memory.

`json.load` of a 100,000-task export holds every task (and Python objects are ~10x the file) at once; here a
JSON array is decoded value by value with `json.JSONDecoder.raw_decode` over a buffer refilled from the file,
JSONL (one task per line, or any whitespace-separated sequence of task objects) the same way, and a JSON_MIN
export (one flat record per annotation) is grouped into tasks as its records go by. Each task comes with the
exact JSON text it was decoded from, so that cheap checks (a lone surrogate needs a `\\ud...` escape) can look
at the text instead of walking the object, and so that a worker process receives a string rather than a
pickled tree.

A folder written by Label Studio's local-storage *export* sync (target storage) is read too: one file per
annotation, named by the annotation id, holding that annotation with its task under `task`; or, with Label
Studio's task-format flag (`FUTURE_SAVE_TASK_TO_STORAGE`), one `<task id>.json` per task holding the task with
its annotations. The annotations of one task are gathered into that task.

The stdlib decoder is used rather than `ijson`: it is C-accelerated, needs no dependency, and a task is small.
"""

from __future__ import annotations

import codecs
import hashlib
import json
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ..core.fastjson import loads
from .export import ExportError, _from_min_format, min_task_key, read_export_file

CHUNK = 1 << 20  # bytes read at a time; a task larger than this just makes the buffer grow until it fits
_DECODER = json.JSONDecoder()
_WS = re.compile(r"[ \t\n\r]*")
# A lone surrogate can only come from a \\uD800-\\uDFFF escape: UTF-8 text cannot hold one.
SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_OUTSIDE = re.compile(r'["\[\]{}]')
_IN_STRING = re.compile(r'["\\]')


@dataclass
class RawTask:
    index: int  # position in the file (after JSON_MIN records are grouped into tasks)
    task: object  # the decoded value (a task is a dict; anything else is quarantined by name)
    raw: str | None  # the JSON text it was decoded from (None when it was rebuilt, as JSON_MIN tasks are)
    error: str | None = None  # a JSONL line that is not JSON: quarantined with this reason (`task` is its text)


class _Reader:
    """A text buffer over a file, refilled on demand; hashes the bytes as they are read."""

    def __init__(self, path: Path):
        self.path = path
        self.file = path.open("rb")
        self.sha = hashlib.sha256()
        self.decoder = codecs.getincrementaldecoder("utf-8-sig")()
        self.buf = ""
        self.pos = 0
        self.eof = False
        self.consumed_bytes = 0
        self.newlines = 0

    def fill(self) -> bool:
        """Read one more chunk; False at the end of the file. Drops the consumed part of the buffer."""
        if self.eof:
            return False
        raw = self.file.read(CHUNK)
        self.sha.update(raw)
        self.consumed_bytes += len(raw)
        text = self.decoder.decode(raw, final=not raw)  # UnicodeDecodeError: reported by the caller
        if self.pos:
            self.buf = self.buf[self.pos:]
            self.pos = 0
        self.buf += text
        if not raw:
            self.eof = True
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
        deeper than the decoder's recursion limit raises _TooDeep with its text, skipped over."""
        while True:
            try:
                obj, end = _DECODER.raw_decode(self.buf, self.pos)
            except json.JSONDecodeError:
                if not self.fill():
                    raise
                continue
            except RecursionError:
                raise _TooDeep(self.skip_value()) from None
            # A number at the very end of the buffer may be cut ("12" of "123"): read on to be sure.
            if end == len(self.buf) and not self.eof and not isinstance(obj, (dict, list, str)):
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

    def close(self) -> str:
        while self.fill():  # hash the rest (trailing whitespace) so the digest is the whole file's
            self.pos = len(self.buf)
        self.file.close()
        return self.sha.hexdigest()


class ExportStream:
    """The tasks of one export file, one at a time: `for t in stream` (RawTask), then `stream.digest`.

    ExportError names the file and, where there is one, the line; it can come in the middle of the iteration
    (a truncated download is found at its end), so a caller that must not use part of a broken file reads
    it through once first (see `annotate.gold`)."""

    def __init__(self, path: str | Path, whole: bool = False):
        self.path = Path(path)
        self.whole = whole  # read with the whole-file reader (a shape that cannot be streamed)
        self.digest: str | None = None
        self._min_seen: set[str] = set()

    def __iter__(self) -> Iterator[RawTask]:
        if self.whole:
            yield from self._whole()
            return
        try:
            reader = _Reader(self.path)
        except OSError as exc:
            raise ExportError(f"{self.path}: cannot be read: {exc.strerror}") from None
        yielded = 0
        try:
            for task in self._tasks(reader):
                yielded += 1
                yield task
            self.digest = reader.close()
        except (json.JSONDecodeError, UnicodeDecodeError, _NotStreamable):
            reader.file.close()
            if yielded:
                # Tasks of this file were already handed out: the caller starts over, reading it whole.
                raise StreamRestart(self.path) from None
            yield from self._whole()
        finally:
            reader.file.close()

    def _whole(self) -> Iterator[RawTask]:
        # The whole-file reader words every fault exactly (line, column, half-finished download) and reads the
        # shapes not streamed here (one object, mixed records); it only runs on such files, so its memory use
        # does not matter.
        tasks, self.digest = read_export_file(self.path)
        yield from (RawTask(i, t, None) for i, t in enumerate(tasks))

    def _tasks(self, r: _Reader) -> Iterator[RawTask]:
        first = r.skip_ws()
        if first == "[":
            r.pos += 1
            yield from self._array(r)
        elif first == "{":
            try:
                obj, raw = r.value()
            except _TooDeep as deep:
                obj, raw = deep, deep.raw
            r.newlines = 0
            if r.skip_ws() == "":
                # one object: an envelope with a `tasks` list, or a single task (small: read whole)
                raise _NotStreamable
            yield from self._sequence(r, obj, raw)
        else:
            raise _NotStreamable  # empty, or not JSON: the whole-file reader says what is wrong

    def _array(self, r: _Reader) -> Iterator[RawTask]:
        index = 0
        if r.skip_ws() == "]":
            r.pos += 1
            self._end(r)
            return
        pending: list = []  # JSON_MIN records of the task being gathered
        min_format: bool | None = None
        min_index = 0
        while True:
            if r.skip_ws() == "":
                raise _NotStreamable
            try:
                obj, raw = r.value()
            except _TooDeep as deep:
                if min_format:
                    raise _NotStreamable from None  # the whole-file reader names it
                obj, raw = deep, deep.raw
            if min_format is None and not isinstance(obj, _TooDeep):
                min_format = _is_min_record(obj)
            if isinstance(obj, _TooDeep):
                yield RawTask(index, raw, raw, str(obj))
            elif min_format:
                if not _is_min_record(obj):
                    raise _NotStreamable  # a mix of full tasks and flat records: read whole, as before
                if pending and min_task_key(obj) != min_task_key(pending[-1]):
                    yield from self._min_tasks(pending, min_index)
                    min_index += 1
                    pending = []
                pending.append(obj)
            else:
                yield RawTask(index, obj, raw)
            index += 1
            sep = r.skip_ws()
            r.pos += 1
            if sep == "]":
                break
            if sep != ",":
                raise _NotStreamable
        if pending:
            yield from self._min_tasks(pending, min_index)
        self._end(r)

    def _min_tasks(self, records: list, index: int) -> Iterator[RawTask]:
        # JSON_MIN lists one record per annotation; Label Studio writes a task's records one after another.
        # Records of one task that are not together would make two tasks of one document here (the second a
        # duplicate, quarantined by name), so that case is read whole by the caller's fallback instead.
        if min_task_key(records[0]) in self._min_seen:
            raise _NotStreamable
        self._min_seen.add(min_task_key(records[0]))
        for task in _from_min_format(records):
            yield RawTask(index, task, None)

    def _sequence(self, r: _Reader, first, raw) -> Iterator[RawTask]:
        """JSONL: one task per line. A line that is not JSON is one bad record, quarantined with its line
        number; the lines after it are read on."""
        if "\n" in raw:
            raise _NotStreamable  # pretty-printed objects one after another: not JSONL (the whole-file reader)
        if isinstance(first, _TooDeep):
            yield RawTask(0, raw, raw, f"line 1: {first}")
        else:
            yield RawTask(0, first, raw)
        index = 0
        for lineno, line in enumerate(r.lines(), start=1 + r.newlines):
            if not line.strip():
                continue
            index += 1
            if lineno == 1:  # more on the first task's line
                yield RawTask(index, line, line, f"line 1: text after the first task ({line.strip()[:40]!r})")
                continue
            try:
                obj = loads(line)
            except json.JSONDecodeError as exc:
                yield RawTask(index, line, line, f"line {lineno}: not valid JSON: {exc.msg} at column {exc.colno}")
                continue
            except RecursionError:
                yield RawTask(index, line, line, f"line {lineno}: {_TooDeep(line)}")
                continue
            yield RawTask(index, obj, line)

    def _end(self, r: _Reader) -> None:
        if r.skip_ws():
            raise _NotStreamable  # something after the array: let the whole-file reader word it



def _is_min_record(obj) -> bool:
    return isinstance(obj, dict) and "data" not in obj and "annotations" not in obj


def _value_end(text: str, pos: int) -> int | None:
    """Where the array or object starting at `pos` ends, or None when `text` ends first."""
    depth, k, in_string = 0, pos, False
    while True:
        m = (_IN_STRING if in_string else _OUTSIDE).search(text, k)
        if m is None:
            return None
        ch, k = m.group(), m.end()
        if ch == "\\":
            k += 1  # the escaped character (past the end: the next search finds nothing, and the caller refills)
        elif ch == '"':
            in_string = not in_string
        elif ch in "[{":
            depth += 1
        else:
            depth -= 1
            if depth == 0:
                return k


class _TooDeep(Exception):
    """A JSON value nested deeper than the decoder can go; `raw` is its text, kept for the quarantine file."""

    def __init__(self, raw: str):
        super().__init__(f"nested too deeply to read (more than {sys.getrecursionlimit()} levels of lists or "
                         "objects)")
        self.raw = raw


class _NotStreamable(Exception):
    """A file shape read by the whole-file reader instead (faulty, or a single object)."""


class StreamRestart(Exception):
    """A file turned out, part-way, to need the whole-file reader (or to be broken): start the import over."""

    def __init__(self, path: Path):
        super().__init__(str(path))
        self.path = path


# --- Label Studio local storage (target / export sync) ------------------------------------------------------------

_STORAGE_NAME = re.compile(r"^\d+(\.json)?$")


def is_storage_folder(path: Path) -> bool:
    """A folder Label Studio's local-storage export sync wrote: files named by a number (an annotation id, or a
    task id + .json), and no export-*.json files of `annotate pull` among them."""
    if not path.is_dir():
        return False
    names = [p.name for p in path.iterdir() if p.is_file() and not p.name.startswith(".")]
    return bool(names) and all(_STORAGE_NAME.match(n) for n in names) and \
        any("." not in n for n in names)


def storage_files(path: Path) -> list[Path]:
    """The files of a storage folder in numeric order (annotation or task ids)."""
    files = [p for p in path.iterdir() if p.is_file() and _STORAGE_NAME.match(p.name)]
    return sorted(files, key=lambda p: int(p.name.split(".")[0]))


def read_storage_file(path: Path) -> tuple[object, str]:
    """One storage file: (its JSON value, its sha256). ExportError names the file."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ExportError(f"{path}: cannot be read: {exc.strerror}") from None
    try:
        value = json.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise ExportError(f"{path}: not a Label Studio storage file: not UTF-8 (byte {exc.start})") from None
    except json.JSONDecodeError as exc:
        raise ExportError(f"{path}: not a Label Studio storage file: line {exc.lineno} column {exc.colno}: "
                          f"{exc.msg}") from None
    return value, hashlib.sha256(raw).hexdigest()


def storage_task_of(value, path: Path) -> tuple[object, dict | None]:
    """(task id, the task) of a storage file's value. An annotation file holds the annotation with its task
    under `task` (the task without its annotations); a task file holds the task as the JSON export does."""
    if isinstance(value, dict) and isinstance(value.get("task"), dict) and "result" in value:
        task = dict(value["task"])
        annotation = {k: v for k, v in value.items() if k != "task"}
        task["annotations"] = [annotation]
        return task.get("id"), task
    if isinstance(value, dict) and ("data" in value or "annotations" in value):
        return value.get("id"), value
    raise ExportError(f"{path}: not a Label Studio storage file: expected an annotation with its 'task', or a "
                      f"task with 'data'")
