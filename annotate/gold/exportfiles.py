"""Which export files a build reads, in which order (pulled files by their UTC time, then by name), and the
tasks of a Label Studio local-storage export folder.
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from ..studio.export import ExportError
from ..studio.stream import (
    is_storage_folder,
    read_storage_file,
    storage_files,
    storage_task_of,
)

# Digests being taken ahead (`hash_ahead`): absolute path -> (the file's stat before, [digest], its thread)
_AHEAD: dict[str, tuple[tuple, list, threading.Thread]] = {}


def _stat(path: str | Path) -> tuple:
    st = os.stat(path)
    return st.st_ino, st.st_size, st.st_mtime_ns


def hash_ahead(paths: Iterable[str | Path]) -> None:
    """Start taking the sha256 of export files in a thread of their own (reading and hashing release the GIL),
    for `file_sha256` to find ready later: a build's digests are then taken while its modules are imported
    (`datasets` alone takes ~0.35 s to import, a 140 MB export ~0.12 s to hash)."""
    for path in paths:
        key = os.path.abspath(path)
        if key in _AHEAD or not os.path.isfile(key):
            continue
        digest: list = []
        thread = threading.Thread(target=lambda k=key, d=digest: d.append(_sha256(k)), name="hash-ahead",
                                  daemon=True)
        _AHEAD[key] = (_stat(key), digest, thread)
        thread.start()


def file_sha256(path: str | Path) -> str:
    """The file's sha256 (hex); taken ahead by `hash_ahead` if the file has not changed since."""
    ahead = _AHEAD.pop(os.path.abspath(path), None)
    if ahead is not None:
        stat, digest, thread = ahead
        thread.join()
        if digest and _stat(path) == stat:
            return digest[0]
    return _sha256(path)


def _sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


class _StorageTasks:
    """The tasks of a local-storage export folder, in task id order; a task's annotation files are gathered.

    The folder is listed first (only task id -> file names are kept), then the files of a task are read
    together. Each task's provenance names its first file, with that file's sha256."""

    def __init__(self, folder: Path):

        self.folder = folder
        by_task: dict[object, list[Path]] = {}
        self.problems: list[tuple[Path, str]] = []  # files that cannot be read: listed as unreadable
        listing = hashlib.sha256()
        for f in storage_files(folder):
            listing.update(f.name.encode() + b"\n")
            if f.name.endswith(".json"):  # task format: the name is the task id, no need to open it yet
                by_task.setdefault(("task", f.name[:-5]), []).append(f)
                continue
            read = self._read(f)
            if read is not None:
                by_task.setdefault(("task", str(read[0])), []).append(f)
        self.by_task = by_task
        # the folder's own digest is of its file names; each task's provenance has its file's sha256
        self.digest = listing.hexdigest()

    def _read(self, f: Path) -> tuple[object, dict, str] | None:
        """(task id, task, sha256) of one storage file; None, with the file listed as a problem, if unreadable."""
        try:
            value, sha = read_storage_file(f)
            task_id, task = storage_task_of(value, f)
        except ExportError as exc:
            self.problems.append((f, str(exc)))
            return None
        return task_id, task, sha

    def __iter__(self):
        for index, (_, files) in enumerate(self.by_task.items()):
            task = None
            digest = None
            for f in files:
                read = self._read(f)
                if read is None:
                    continue
                _, one, sha = read
                if task is None:
                    task, digest = one, sha
                else:
                    task = {**task, "annotations": list(task.get("annotations") or []) +
                            list(one.get("annotations") or [])}
            if task is None:
                continue
            yield _StorageTask(index, task, None, f"{files[0]}", str(files[0]), digest)


@dataclass
class _StorageTask:
    index: int
    task: object
    raw: str | None
    where: str
    path: str
    digest: str
    data = None  # as `studio.stream.RawTask`: never the file's bytes, and no JSON text of its own
    exact = False

    @property
    def fault_text(self) -> str | None:
        return self.raw

    @property
    def head(self) -> object:
        return self.task


def _storage_tasks(folder: Path) -> _StorageTasks:
    return _StorageTasks(folder)


_PULLED = re.compile(r"^export-project\d+-(\d{8}T\d{6}\d*Z)-")


def export_files(paths: Iterable[str | Path]) -> list[Path]:
    """Export files from files and folders. A folder is read for *.json in time order: `annotate pull` files
    by the UTC time in their name (whatever the project id), other files by name after them. A folder that
    Label Studio's local-storage export sync wrote (files named by annotation or task id) is one source."""
    out: list[Path] = []
    for p in map(Path, paths):
        if is_storage_folder(p):
            out.append(p)  # Label Studio's local-storage export: read as one source (see `_StorageTasks`)
        elif p.is_dir():
            out += sorted(p.glob("*.json"), key=lambda f: (0, m.group(1)) if (m := _PULLED.match(f.name))
                          else (1, f.name))
        else:
            out.append(p)
    return out
