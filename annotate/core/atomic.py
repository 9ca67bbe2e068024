"""Atomic writes: a crash leaves the previous file or folder as it was."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path


def current_umask() -> int:
    # The only portable way to read the umask is to set it and put it back.
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def atomic_write_text(path: str | Path, text: str, mode: int | None = None) -> None:
    """Write `text` whole or not at all. `mode` None: what open() would give (0666 less the umask); mkstemp's
    0600 is kept only when asked for, for files that hold a secret."""
    atomic_write_pieces(path, (text,), mode)


def atomic_write_pieces(path: str | Path, pieces: Iterable[str], mode: int | None = None) -> None:
    """`atomic_write_text` for text made as it is written (a report streamed piece by piece, a spooled file
    copied over): all of it ends up at `path`, or none, and the previous file stays until then."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.writelines(pieces)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode if mode is not None else 0o666 & ~current_umask())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_json(path: str | Path, data, mode: int | None = None) -> None:
    atomic_write_text(path, json.dumps(data, ensure_ascii=False, indent=2) + "\n", mode)


def json_line(record) -> str:
    """One JSONL line, readable UTF-8 where possible. A record read from a faulty input may hold a lone
    surrogate, which UTF-8 cannot encode: that record is written with \\u escapes, exactly as it was read."""
    line = json.dumps(record, ensure_ascii=False)
    try:
        line.encode("utf-8")
    except UnicodeEncodeError:
        line = json.dumps(record)
    return line + "\n"


def write_jsonl(path: str | Path, records) -> int:
    lines = [json_line(r) for r in records]
    atomic_write_text(path, "".join(lines))
    return len(lines)


@dataclass(frozen=True)
class QuarantineFile:
    """What happened to a quarantine file: written with `records` lines, or a stale one from an earlier run
    removed (so the file beside an output always belongs to that output's run)."""
    path: Path
    records: int
    removed_stale: bool = False

    @property
    def note(self) -> str:
        if self.records:
            return f"reasons in {self.path}"
        return f"removed the stale {self.path} of an earlier run" if self.removed_stale else ""


def replace_quarantine(path: str | Path, records: list) -> QuarantineFile:
    path = Path(path)
    if records:
        write_jsonl(path, records)
        return QuarantineFile(path, len(records))
    existed = path.exists()
    path.unlink(missing_ok=True)
    return QuarantineFile(path, 0, existed)


@contextmanager
def atomic_directory(target: str | Path) -> Iterator[Path]:
    """Yield a fresh temporary folder beside `target`; on success it replaces `target` whole.

    Folders cannot be swapped in one rename, so the old one is moved aside first and removed last; if a
    crash lands between the two renames, `recover_directory` (run by every later write and read) puts the
    previous one back. Temporary folders left by a killed run are removed by the next one.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    recover_directory(target)
    remove_stale_temporaries(target)
    # The pid in the name tells a later run whether the folder's owner is still alive.
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.new-{os.getpid()}-", dir=target.parent))
    os.chmod(tmp, 0o777 & ~current_umask())  # mkdtemp makes it 0700; the data set holds no secret
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    previous = previous_directory(target)
    if target.exists():
        os.replace(target, previous)
    os.replace(tmp, target)
    shutil.rmtree(previous, ignore_errors=True)


def previous_directory(target: Path) -> Path:
    return target.parent / f".{target.name}.previous"


def recover_directory(target: str | Path) -> None:
    """Undo a crash between the two renames of `atomic_directory`, or finish one after the second."""
    target = Path(target)
    previous = previous_directory(target)
    if previous.exists() and not target.exists():
        os.replace(previous, target)
    elif previous.exists():
        shutil.rmtree(previous, ignore_errors=True)


def remove_stale_temporaries(target: str | Path) -> list[Path]:
    """Remove `.NAME.new-PID-*` folders whose process is gone (a killed or crashed write)."""
    target = Path(target)
    removed = []
    for tmp in target.parent.glob(f".{target.name}.new-*"):
        pid = tmp.name[len(f".{target.name}.new-"):].split("-", 1)[0]
        if tmp.is_dir() and not (pid.isdigit() and _alive(int(pid))):
            shutil.rmtree(tmp, ignore_errors=True)
            removed.append(tmp)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's live process
    return True
