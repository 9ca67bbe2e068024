"""The extractor protocol, in one place: how documents go to an extractor and predictions come back.

An extractor is either a command, run without a shell, that reads documents as JSONL on stdin
(`{"id", "text", "metadata"}` per line) and writes predictions JSONL on stdout, or a Python callable
`package.module:function` that receives a list of Documents and returns prediction records or Documents.
`annotate score` and `annotate tasks` call it on batches of documents (`sources.extract_in_batches`).
`read_documents` is the other end of the pipe, for extractors written with this toolkit (`annotate baseline`).
"""

from __future__ import annotations

import importlib
import json
import os
import shlex
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TextIO

from ..core.jsonl import MAX_NESTING, nesting_depth
from ..core.model import Document, Rejected, SpanError


class ExtractorError(RuntimeError):
    pass


def document_payload(doc: Document) -> dict:
    """What an extractor is told about a document: its id, exact text and the metadata a reader would see."""
    return {"id": doc.id, "text": doc.text, "metadata": {k: v for k, v in doc.metadata.items()
                                                         if k in ("headline", "date", "source")}}


def documents_jsonl(documents: Iterable[Document]) -> str:
    return "".join(json.dumps(document_payload(d), ensure_ascii=False) + "\n" for d in documents)


def read_documents(stream: TextIO, name: str = "stdin") -> Iterator[Document]:
    """Documents from JSONL on a stream (an extractor's stdin); ExtractorError names the line of a bad one."""
    for n, line in enumerate(stream, 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
            yield Document(str(rec["id"]), rec["text"], metadata=rec.get("metadata") or {})
        except (ValueError, KeyError, TypeError, SpanError) as exc:
            raise ExtractorError(f"{name} line {n}: expected an object with 'id' and 'text' ({exc})") from None


def extractor_argv(command: str) -> list[str]:
    """CMD split as a shell would, without running one. The toolkit's own `annotate` is run through this very
    interpreter: the virtualenv's bin folder need not be on PATH, and it is the same version as the scorer."""
    try:
        argv = shlex.split(command)
    except ValueError as exc:
        raise ExtractorError(f"--extractor {command!r}: {exc}") from None
    if not argv:
        raise ExtractorError("--extractor: empty command")
    if argv[0] == "annotate":
        return [sys.executable, "-m", "annotate.cli", *argv[1:]]
    return argv


def _kill_group(pgid: int) -> bool:
    """SIGKILL every process left in the extractor's process group; True if there was any."""
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        return False
    return True


@dataclass
class CommandOutput:
    records: list[tuple[str, object]]  # (where, parsed stdout line)
    rejected: list[Rejected]  # stdout lines that are not JSON
    warnings: list[str] = field(default_factory=list)


def run_command(command: str, documents: list[Document], timeout: float = 600.0,
                progress: Callable[[int], None] | None = None) -> CommandOutput:
    """Run CMD without a shell: documents as JSONL on stdin, predictions JSONL expected on stdout; every stdout
    line comes back parsed, or as a Rejected record with its line number.

    The command runs in a process group of its own. A child it started inherits its stdout, so killing the
    command alone leaves the pipe open and the read waiting for that child; at the timeout, and once the
    command itself has exited, the whole group is killed instead."""
    argv = extractor_argv(command)
    stdin_data = documents_jsonl(documents).encode("utf-8")
    try:
        # bytes, not text: a stdout line that is not UTF-8 is one bad record, decoded (and quarantined) on its
        # own, not an exception that kills the reading thread and loses every later line
        proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                start_new_session=True)
    except OSError as exc:
        raise ExtractorError(f"extractor {argv[0]!r} could not be started: {exc.strerror or exc}") from None
    lines: list[bytes] = []
    errors: list[str] = []

    def feed() -> None:
        try:
            proc.stdin.write(stdin_data)
            proc.stdin.close()
        except (BrokenPipeError, OSError):
            pass

    def read_stdout() -> None:
        for line in proc.stdout:
            lines.append(line)
            if progress and line.strip():
                progress(1)

    def drain_stderr() -> None:
        errors.append(proc.stderr.read().decode("utf-8", errors="replace"))

    threads = [threading.Thread(target=f, daemon=True) for f in (feed, read_stdout, drain_stderr)]
    for th in threads:
        th.start()
    try:
        proc.wait(timeout=timeout)
        timed_out = False
    except subprocess.TimeoutExpired:
        timed_out = True
    leftovers = _kill_group(proc.pid)
    proc.wait()
    for th in threads:
        th.join(timeout=5)
    if timed_out:
        raise ExtractorError(f"extractor {argv[0]!r} timed out after {timeout:g}s; it and every process it "
                             "started were stopped")
    if threads[1].is_alive():
        raise ExtractorError(f"extractor {argv[0]!r} exited, but a process outside its process group still "
                             "holds its stdout open")
    stderr_tail = (errors[0] if errors else "").strip()[-500:]
    if proc.returncode != 0:
        raise ExtractorError(f"extractor {argv[0]!r} exited with code {proc.returncode}"
                             + (f"; its stderr ends with: {stderr_tail}" if stderr_tail else ""))
    records: list[tuple[str, object]] = []
    rejected: list[Rejected] = []
    for n, raw in enumerate(lines, 1):
        if not raw.strip():
            continue
        where = f"extractor `{command}` stdout line {n}"
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            rejected.append(Rejected(where, f"not UTF-8 (stdout line {n}, byte {exc.start + 1})",
                                     {"line": raw.decode("utf-8", errors="replace").rstrip("\n")}))
            continue
        depth = nesting_depth(line)
        if depth > MAX_NESTING:  # json.loads would recurse once per level
            rejected.append(Rejected(where, f"nested {depth} levels deep (at most {MAX_NESTING} are read)",
                                     {"line": line.rstrip("\n")[:1000]}))
            continue
        try:
            records.append((where, json.loads(line)))
        except json.JSONDecodeError as exc:
            # a line that is not JSON is a malformed record like any other, with its stdout line number
            rejected.append(Rejected(where, f"not JSON (stdout line {n}: {exc.msg})", {"line": line.rstrip("\n")}))
    warnings = [f"extractor {argv[0]!r} exited but left processes running; they were stopped"] if leftovers else []
    return CommandOutput(records, rejected, warnings)


def call_function(spec: str, documents: list[Document]) -> list[tuple[str, object]]:
    """`package.module:function`, called with the list of Documents (text only, no annotations); it returns
    prediction records (dicts in the predictions JSONL shape) or Documents, each named for error messages."""
    module_name, _, func_name = spec.partition(":")
    try:
        func = getattr(importlib.import_module(module_name), func_name)
    except (ImportError, AttributeError) as exc:
        raise ExtractorError(f"--extractor {spec}: cannot load it ({exc})") from None
    bare = [Document(d.id, d.text, metadata=dict(d.metadata)) for d in documents]
    try:
        records = list(func(bare))
    except SystemExit as exc:  # sys.exit() in someone else's code must not end the run without a report
        raise ExtractorError(f"--extractor {spec} called sys.exit({exc.code!r}) instead of returning "
                             "predictions") from None
    except Exception as exc:  # the extractor is someone else's code: report, do not crash
        raise ExtractorError(f"--extractor {spec} raised {type(exc).__name__}: {exc}") from None
    return [(f"{spec} record {k}", r) for k, r in enumerate(records, 1)]


def is_callable_spec(spec: str) -> bool:
    module, sep, func = spec.partition(":")
    return bool(sep) and " " not in spec and module.replace(".", "").replace("_", "").isalnum() and \
        func.isidentifier()


