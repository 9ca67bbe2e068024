"""Atomic writes: a crash leaves the previous file or folder as it was."""

from __future__ import annotations

import errno
import json
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path


class OutputWriteError(OSError):
    """An output that could not be written (a parent that is a file, a read-only or full file system), as one
    line naming the path; the previous file or folder is left as it was. An OSError, so handlers of OSError
    still catch it; the command line prints its message alone."""

    def __init__(self, path: str | Path, cause: OSError):
        super().__init__(cause.errno, cause.strerror, str(path))
        why = _WHY.get(cause.errno, cause.strerror or str(cause))
        where = f" ({cause.filename})" if cause.filename and str(cause.filename) != str(path) else ""
        self.message = f"cannot write {path}: {why}{where}; the previous one, if any, is left as it was"

    def __str__(self) -> str:
        return self.message


_WHY = {
    errno.ENOSPC: "no space left on the device",
    errno.EDQUOT: "the disk quota is exceeded",
    errno.EROFS: "the file system is read-only",
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
    errno.EEXIST: "a file is in the way of a folder it needs",
    errno.ENOTDIR: "a part of the path is a file, not a folder",
    errno.EISDIR: "it is a folder",
    errno.ENAMETOOLONG: "the name is too long",
}
# Errors that can only come from writing: inside `atomic_directory` other errors may be an input's.
_WRITE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS}


def write_failed(path: str | Path, exc: OSError) -> OutputWriteError:
    return exc if isinstance(exc, OutputWriteError) else OutputWriteError(path, exc)


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
    if path.is_dir():
        raise OutputWriteError(path, IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path)))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise write_failed(path, exc) from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.writelines(pieces)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode if mode is not None else 0o666 & ~current_umask())
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        # an OSError of the pieces themselves (a spooled input that cannot be read) is not the output's
        if exc.errno in _WRITE_ERRNOS or exc.filename in (None, tmp, str(path)):
            raise write_failed(path, exc) from None
        raise
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
    try:
        path.unlink(missing_ok=True)
    except NotADirectoryError:
        existed = False  # a parent is a file: there is no stale quarantine file to remove
    except OSError as exc:
        raise write_failed(path, exc) from None
    return QuarantineFile(path, 0, existed)


@contextmanager
def atomic_directory(target: str | Path) -> Iterator[Path]:
    """Yield a fresh temporary folder beside `target`; on success it replaces `target` whole.

    Folders cannot be swapped in one rename, so the old one is moved aside first and removed last; if a
    crash lands between the two renames, `recover_directory` (run by every later write and read) puts the
    previous one back. Temporary folders left by a killed run are removed by the next one.
    """
    target = Path(target)
    if target.exists() and not target.is_dir():
        raise OutputWriteError(target, NotADirectoryError(errno.ENOTDIR, "a file is in the way", str(target)))
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        recover_directory(target)
        remove_stale_temporaries(target)
        # The pid in the name tells a later run whether the folder's owner is still alive.
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.new-{os.getpid()}-", dir=target.parent))
        os.chmod(tmp, 0o777 & ~current_umask())  # mkdtemp makes it 0700; the data set holds no secret
    except OSError as exc:
        raise write_failed(target, exc) from None
    try:
        yield tmp
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        if exc.errno in _WRITE_ERRNOS:
            raise write_failed(target, exc) from None
        raise
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    previous = previous_directory(target)
    try:
        if target.exists():
            os.replace(target, previous)
        os.replace(tmp, target)
    except OSError as exc:
        recover_directory(target)
        shutil.rmtree(tmp, ignore_errors=True)
        raise write_failed(target, exc) from None
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
