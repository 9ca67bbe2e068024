"""Atomic writes: a crash leaves the previous file or folder as it was."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def atomic_write_text(path: str | Path, text: str, mode: int | None = None) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_json(path: str | Path, data, mode: int | None = None) -> None:
    atomic_write_text(path, json.dumps(data, ensure_ascii=False, indent=2) + "\n", mode)


def write_jsonl(path: str | Path, records) -> int:
    lines = [json.dumps(r, ensure_ascii=False) + "\n" for r in records]
    atomic_write_text(path, "".join(lines))
    return len(lines)


@contextmanager
def atomic_directory(target: str | Path) -> Iterator[Path]:
    """Yield a fresh temporary folder beside `target`; on success it replaces `target` whole.

    Folders cannot be swapped in one rename, so the old one is moved aside first and removed last; if a
    crash lands between the two renames, `recover_directory` puts the previous one back on the next run.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    recover_directory(target)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.new-", dir=target.parent))
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    previous = target.parent / f".{target.name}.previous"
    if target.exists():
        os.replace(target, previous)
    os.replace(tmp, target)
    shutil.rmtree(previous, ignore_errors=True)


def recover_directory(target: Path) -> None:
    previous = target.parent / f".{target.name}.previous"
    if previous.exists() and not target.exists():
        os.replace(previous, target)
    elif previous.exists():
        shutil.rmtree(previous, ignore_errors=True)
