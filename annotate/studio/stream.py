"""Label Studio exports read one task at a time, in bounded memory.

`json.load` of a 100,000-task export holds every task (and Python objects are ~10x the file) at once; here a
JSON array is read element by element from the file's bytes, a block at a time (`readers.ArrayReader`: msgspec
cuts the tasks out and reads only what the parent process needs of each, its id and data; the stdlib decoder
reads any task it does not), JSONL (one task per line, or any whitespace-separated sequence of task objects)
from its text with the stdlib's `raw_decode` (`readers.TextReader`), and a JSON_MIN export (one flat record per
annotation) is grouped into tasks as its records go by. Each task comes with the exact JSON text (or bytes) it
was read from, so that cheap checks (a lone surrogate needs a `\\ud...` escape) can look at the text instead of
walking the object, and so that a worker process receives the bytes rather than a pickled tree.

A folder written by Label Studio's local-storage *export* sync (target storage) is read too: one file per
annotation, named by the annotation id, holding that annotation with its task under `task`; or, with Label
Studio's task-format flag (`FUTURE_SAVE_TASK_TO_STORAGE`), one `<task id>.json` per task holding the task with
its annotations. The annotations of one task are gathered into that task.

No `ijson`: the stdlib decoder is C-accelerated and msgspec is already a dependency; a task is small.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from pathlib import Path

import msgspec

from ..core.fastjson import loads
from .export import ExportError, _from_min_format, min_task_key, read_export_file
from .readers import ArrayReader, Head, Source, TextReader, TooDeep

# A lone surrogate can only come from a \\uD800-\\uDFFF escape: UTF-8 text cannot hold one.
SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_UNREAD = object()  # RawTask.task not decoded yet


class RawTask:
    """One task of an export file, with what it was read from. Read from a JSON array by msgspec, only its id
    and data are decoded at first (`head`); the whole task is decoded from its bytes when asked for (`task`)."""

    __slots__ = ("index", "_task", "error", "data", "_raw", "_head")

    def __init__(self, index: int, task: object, raw: str | None, error: str | None = None,
                 data: bytes | None = None, head: Head | None = None):
        self.index = index  # position in the file (after JSON_MIN records are grouped into tasks)
        self._task = _UNREAD if head is not None else task
        self._raw = raw
        self.error = error  # a JSONL line that is not JSON: quarantined with this reason (`task` is its text)
        self.data = data  # the task's exact UTF-8 bytes in the file, when msgspec read it from them
        self._head = None if head is None else _head_dict(head)

    @property
    def task(self) -> object:
        """The decoded value (a task is a dict; anything else is quarantined by name)."""
        if self._task is _UNREAD:
            self._task = loads(self.data)  # msgspec, or the stdlib where msgspec refuses (a number beyond a double)
        return self._task

    @property
    def head(self) -> object:
        """What a document key and a task's label need, without decoding the whole task: a dict of its id and
        data as far as it has them (the task itself when it is not read that way)."""
        return self.task if self._head is None else self._head

    @property
    def raw(self) -> str | None:
        """The JSON text the task was decoded from (None when it was rebuilt, as JSON_MIN tasks are)."""
        if self._raw is None and self.data is not None:
            self._raw = self.data.decode("utf-8")  # only asked for now and then (a first chunk's sizes)
        return self._raw

    @property
    def exact(self) -> bool:
        """The task has its own JSON text (`raw`), said without decoding its bytes."""
        return self.data is not None or self._raw is not None

    @property
    def fault_text(self) -> str | None:
        """What `export.task_fault` looks at for a lone surrogate escape: an empty text when msgspec read the
        task (it refuses every lone surrogate escape, so there is none), else `raw`."""
        return "" if self.data is not None else self._raw

    def __repr__(self) -> str:
        return f"RawTask({self.index}, {self._task!r:.60}, error={self.error!r})"


class ExportStream:
    """The tasks of one export file, one at a time: `for t in stream` (RawTask), then `stream.digest`.

    ExportError names the file and, where there is one, the line; it can come in the middle of the iteration
    (a truncated download is found at its end), so a caller that must not use part of a broken file reads
    it through once first (see `annotate.gold`)."""

    def __init__(self, path: str | Path, whole: bool = False, digest: str | None = None):
        self.path = Path(path)
        self.whole = whole  # read with the whole-file reader (a shape that cannot be streamed)
        self.digest = digest  # the file's sha256: given (not computed again), or set once the file is read
        self._min_seen: set[str] = set()

    def __iter__(self) -> Iterator[RawTask]:
        if self.whole:
            yield from self._whole()
            return
        try:
            source = Source(self.path, hashed=self.digest is not None)
        except OSError as exc:
            raise ExportError(f"{self.path}: cannot be read: {exc.strerror}") from None
        yielded = 0
        try:
            for task in self._tasks(ArrayReader(source)):
                yielded += 1
                yield task
            self.digest = source.close() or self.digest
        except (json.JSONDecodeError, UnicodeDecodeError, _NotStreamable):
            source.file.close()
            if yielded:
                # Tasks of this file were already handed out: the caller starts over, reading it whole.
                raise StreamRestart(self.path) from None
            yield from self._whole()
        finally:
            source.file.close()

    def _whole(self) -> Iterator[RawTask]:
        # The whole-file reader words every fault exactly (line, column, half-finished download) and reads the
        # shapes not streamed here (one object, mixed records); it only runs on such files, so its memory use
        # does not matter.
        tasks, self.digest = read_export_file(self.path)
        yield from (RawTask(i, t, None) for i, t in enumerate(tasks))

    def _tasks(self, b: ArrayReader) -> Iterator[RawTask]:
        first = b.skip_ws()
        if first == "[":
            b.pos += 1
            yield from self._array(b)
            return
        r = b.text()
        if first == "{":
            try:
                obj, raw = r.value()
            except TooDeep as deep:
                obj, raw = deep, deep.raw
            r.newlines = 0
            if r.skip_ws() == "":
                # one object: an envelope with a `tasks` list, or a single task (small: read whole)
                raise _NotStreamable
            yield from self._sequence(r, obj, raw)
        else:
            raise _NotStreamable  # empty, or not JSON: the whole-file reader says what is wrong

    def _array(self, r: ArrayReader) -> Iterator[RawTask]:
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
            data = raw = head = None
            fast = r.fast()
            if fast is not None:
                obj, data = fast
                if isinstance(obj, Head):
                    head, obj = obj, None
            else:
                try:
                    obj, raw = r.value()  # called from here, as before (see `readers._deeper`)
                except TooDeep as deep:
                    if min_format:
                        raise _NotStreamable from None  # the whole-file reader names it
                    obj, raw = deep, deep.raw
            if min_format is None and not isinstance(obj, TooDeep):
                min_format = _is_min_head(head) if head is not None else _is_min_record(obj)
            if min_format and head is not None:
                obj = loads(data)  # a JSON_MIN record: grouped into its task whole
            if isinstance(obj, TooDeep):
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
                yield RawTask(index, obj, raw, data=data, head=head)
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

    def _sequence(self, r: TextReader, first, raw) -> Iterator[RawTask]:
        """JSONL: one task per line. A line that is not JSON is one bad record, quarantined with its line
        number; the lines after it are read on."""
        if "\n" in raw:
            raise _NotStreamable  # pretty-printed objects one after another: not JSONL (the whole-file reader)
        if isinstance(first, TooDeep):
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
                yield RawTask(index, line, line, f"line {lineno}: {TooDeep(line)}")
                continue
            yield RawTask(index, obj, line)

    def _end(self, r: ArrayReader | TextReader) -> None:
        if r.skip_ws():
            raise _NotStreamable  # something after the array: let the whole-file reader word it



def _head_dict(head: Head) -> dict:
    out = {} if head.id is msgspec.UNSET else {"id": head.id}
    if head.data is not msgspec.UNSET:
        out["data"] = head.data
    return out


def _is_min_record(obj) -> bool:
    return isinstance(obj, dict) and "data" not in obj and "annotations" not in obj


def _is_min_head(head: Head) -> bool:
    return head.data is msgspec.UNSET and head.annotations is msgspec.UNSET


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
