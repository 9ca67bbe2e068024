"""Label Studio exports -> the gold set: which annotation of a task becomes gold, and the build that accounts for
every task.

Each input task ends up in exactly one bucket: imported (a gold Document), quarantined (a fault, with its
reason) or skipped (nothing to import: no annotations, only cancelled ones, superseded by a newer export, or an
unresolved disagreement). A file that cannot be read as an export holds no task that could be counted: it is
listed as unreadable. Every record of the three lists is a `Rejected`.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import multiprocessing.pool
import os
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from ..core.atomic import QuarantineFile, atomic_directory, atomic_write_pieces, json_line, replace_quarantine
from ..core.fastjson import from_worker, to_worker
from ..core.model import Document, Rejected
from ..studio.config import EDGE_WHITESPACE_POLICIES, TEXT_MISMATCH_POLICIES, Routing
from ..studio.export import (
    DocumentKeys,
    ExportError,
    MinFormatTask,
    has_live_annotation,
    is_review,
    task_annotations,
    task_fault,
)
from ..studio.stream import (
    ExportStream,
    StreamRestart,
    is_storage_folder,
)
from .agreement import agreement
from .choose import choose_gold
from .exportfiles import _storage_tasks, _StorageTasks, file_sha256
from .layout import GoldInfo
from .writer import GoldWriter, load_datasets


@dataclass
class ImportResult:
    documents: list[Document] = field(default_factory=list)  # `import_exports` only: a build streams them
    quarantined: list[Rejected] = field(default_factory=list)
    skipped: list[Rejected] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    inputs: int = 0  # tasks read: imported + quarantined + skipped
    unreadable: list[Rejected] = field(default_factory=list)  # export files that could not be read at all
    # every usable annotation per task, annotator by annotator (agreement and adjudication read these); a
    # streamed build keeps only the tasks with two or more annotators, the only ones agreement compares
    annotations: dict[str, list[Document]] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)  # export path -> sha256
    imported: int = 0

    @property
    def counts(self) -> dict[str, int]:
        return {"inputs": self.inputs, "imported": self.imported, "quarantined": len(self.quarantined),
                "skipped": len(self.skipped)}


@dataclass
class _Settings:
    """What every task's reading needs; sent once to each worker process."""
    routing: Routing
    reference_texts: dict[str, str] | None
    on_text_mismatch: str
    keep_all_annotations: bool  # import_exports: every task's annotations; a build: only multi-annotator ones
    encode: Callable[[Document], object] | None  # a build: gold Document -> what the writer takes
    on_edge_whitespace: str = "quarantine"


@dataclass
class _Outcome:
    """What became of one task, decided away from the accounting (possibly in a worker process)."""
    kind: str  # fault | empty | annotation-fault | disagree | gold
    reason: str | None = None
    warnings: list[str] = field(default_factory=list)
    annotations: list[Document] | None = None
    gold: Document | None = None  # import_exports
    encoded: object = None  # a build: the writer's form of the gold document
    record: object = None  # what the quarantine keeps instead of the task (the text of one too deep to write)


# A task that decodes but nests deep enough to exhaust the stack later (in a worker, or writing it out): a fault of
# that task, not a RecursionError of the run.
TOO_DEEP = "nested too deeply to read (lists or objects hundreds of levels deep)"


def _read_task(task, key: str | None, path: str, digest: str, raw: str | None, cfg: _Settings) -> _Outcome:
    try:
        return _read_task_unchecked(task, key, path, digest, raw, cfg)
    except RecursionError:
        return _Outcome("fault", TOO_DEEP, record=raw or None)


def _read_task_unchecked(task, key: str | None, path: str, digest: str, raw: str | None, cfg: _Settings
                         ) -> _Outcome:
    fault = task_fault(task, cfg.routing, cfg.reference_texts, raw)
    if fault:
        return _Outcome("fault", fault)
    read = task_annotations(task, key, path, digest, cfg.routing, cfg.on_text_mismatch, cfg.on_edge_whitespace)
    out = _Outcome("empty", read.empty, read.warnings)
    if read.empty:
        return out
    # Agreement and adjudication compare the independent passes: a review (ground truth, or a merge still
    # carrying CONFLICT notes) is the adjudicated result, not one more pass.
    passes = [d for a, d in read.candidates if not is_review(a)]
    people = {d.provenance.annotators[0] if d.provenance.annotators else "unknown" for d in passes}
    if cfg.keep_all_annotations or len(people) >= 2:  # as `agreement.latest_per_annotator` counts people
        out.annotations = passes
    if read.fault:
        out.kind, out.reason = "annotation-fault", read.fault
        return out
    gold, why = choose_gold(read.candidates)
    if gold is None:
        out.kind, out.reason = "disagree", why
        return out
    out.kind = "gold"
    if cfg.encode is None:
        out.gold = gold
    else:
        out.encoded = cfg.encode(gold)
    return out


_WORKER: _Settings | None = None


AUTO = 0  # `num_proc`: one worker per available CPU for large tasks, else none (see `_Importer.AUTO_TASK_BYTES`)


def _available_cpus() -> int:

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _worker_init(cfg: _Settings) -> None:
    global _WORKER
    _WORKER = cfg
    # A worker decodes a task's text again below the pool's own frames: the same headroom as the reader that
    # decoded it first, so a deeply nested task is read (or refused) the same way for every --num-proc.
    sys.setrecursionlimit(sys.getrecursionlimit() + 100)
    _keep_freed_memory()


def _keep_freed_memory() -> None:
    """Let a worker's C allocator keep the memory it frees for the next chunk. A chunk's token arrays (numpy
    temporaries of a few MB) are each above glibc's default mmap threshold, so every one was mapped fresh,
    faulted in page by page and unmapped again: measured, ~270,000 page faults and ~0.7 s of system time on
    20,000 article-sized tasks. Only glibc has `mallopt` with these parameters; elsewhere nothing changes."""
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return
    m_trim_threshold, m_mmap_threshold = -1, -3  # glibc's malloc.h
    mallopt(m_mmap_threshold, 64 << 20)  # allocations up to 64 MB come from the heap, and are reused
    mallopt(m_trim_threshold, 256 << 20)  # the heap's free top is given back only beyond 256 MB


def _worker_chunk(jobs: list[tuple]) -> tuple[list[_Outcome], tuple[str, int, int] | None]:
    """A chunk of tasks in a worker: each is sent as its JSON text, cheaper to pass than a pickled tree. In a
    build, the worker writes the chunk's rows as one Arrow record batch (sorted by id) to its spill file in the
    writer's folder (see `DocumentEncoder.batch`) and sends back where; each outcome keeps its row's position in
    that batch."""

    outcomes = [_worker_task(raw, exact, key, path, digest) for raw, exact, key, path, digest in jobs]
    encoded = [o.encoded for o in outcomes if o.encoded is not None]
    if not encoded or not hasattr(_WORKER.encode, "batch"):
        return outcomes, None
    batch = _WORKER.encode.batch(encoded)  # sorts `encoded` as the batch is
    for k, enc in enumerate(encoded):
        enc.row = enc.fingerprint_json = None  # in the batch file now
        enc.batch_row = k
    return outcomes, batch


def _worker_task(raw: bytes, exact: bool, key, path: str, digest: str) -> _Outcome:
    try:
        task, text = from_worker(raw, exact)  # a worker's stack is deeper than the reader's: this may fail
    except RecursionError:
        return _Outcome("fault", TOO_DEEP, record=raw.decode("utf-8", "replace"))
    return _read_task(task, key, path, digest, text, _WORKER)


class _Pool(multiprocessing.pool.Pool):
    """multiprocessing's Pool, without its worker-maintenance thread spinning while results wait to be read.

    That thread (`Pool._handle_workers`) sleeps until a worker exits, the pool changes state, or the results
    pipe has something to read (`Pool._get_sentinels`); a chunk's results are large, so the pipe is readable
    for long stretches and the thread spins, polling (about 0.5 s of the parent's CPU in a 20,000-task import,
    and the GIL taken from the thread that reads the tasks). Nothing it does needs the results: it replaces
    exited workers (their sentinels wake it) and stops with the pool (the change notifier wakes it)."""

    def _get_sentinels(self):  # bypasses the private method of CPython's Pool (3.8+) named above
        return [self._change_notifier._reader]


class _Restart(Exception):
    """A file found broken (or needing the whole-file reader) after some of its tasks were used."""

    def __init__(self, path: str, unreadable: str | None):
        super().__init__(path)
        self.path, self.unreadable = path, unreadable


class _Importer:
    """One pass over the exports: tasks are read in order (in worker processes with `num_proc` > 1, a chunk
    at a time, results taken back in order so the output does not depend on N), and accounted here."""

    CHUNK = 256  # tasks per worker job: large enough to amortise the hand-over, small enough to stay in memory
    # `num_proc` AUTO: workers only when the first chunk is full (a small import is not worth starting them)
    # and its tasks' JSON averages this many bytes or more. Measured on 2 cores, 20,000 tasks, since workers
    # write their own rows: paragraph-sized tasks (~1.5 KB) 7.0 s with two workers against 9.7 s in one
    # process, article-sized ones (~7 KB) 17.2 s against 24.7 s; shorter tasks were not measured faster.
    AUTO_TASK_BYTES = 1000

    def __init__(self, files: list[str], routing: Routing, cfg: _Settings, num_proc: int,
                 progress: Callable[[int], None] | None, on_gold: Callable[[_Outcome], None] | None,
                 whole: set[str], unreadable: dict[str, str], on_rows: Callable | None = None,
                 spool: Path | None = None, after_fork: Callable[[], None] | None = None):
        self.files, self.routing, self.cfg = files, routing, cfg
        self.auto = num_proc == AUTO
        self.num_proc = _available_cpus() if self.auto else max(1, num_proc)
        self.progress, self.on_gold, self.on_rows = progress, on_gold, on_rows
        self.whole, self.unreadable, self.after_fork = whole, unreadable, after_fork
        # a build writes quarantined tasks here as they come, keeping only their reasons in memory (a wrong
        # config can quarantine every task of a large export)
        self.spool = spool.open("w", encoding="utf-8") if spool else None
        self.result = ImportResult()
        self.seen: dict[str, str] = {}  # document -> where it was read

    def _stream(self, path: str, digest: str | None = None):
        if is_storage_folder(Path(path)):
            return _storage_tasks(Path(path))
        return ExportStream(path, whole=path in self.whole, digest=digest)

    def scan(self) -> dict[str, int]:
        """Several files: which file each document is taken from (the last one it has annotations in). Also
        finds unreadable files before any task is used. A copy without a live annotation (none, or only
        cancelled ones) never supersedes an annotated one: a fresh project pulled beside the committed exports
        must not erase the gold it has not seen. A JSON_MIN copy never supersedes a full export's annotated
        copy: it has no event arguments and no attributes, so the gold would lose them."""
        last_file: dict[str, int] = {}
        annotated: set[str] = set()
        full: set[str] = set()  # documents annotated in a full export (not JSON_MIN)
        for k, path in enumerate(self.files):
            if path in self.unreadable:
                continue
            keys = DocumentKeys(self.routing)
            try:
                for t in self._stream(path):
                    key = keys(t.head, t.data is not None)
                    if key is None:
                        continue
                    has_annotations = has_live_annotation(t.task)
                    minimal = isinstance(t.task, MinFormatTask)
                    if minimal and key in full:
                        continue  # JSON_MIN lacks relations and choices: the full copy stays (README)
                    if has_annotations or key not in annotated:
                        last_file[key] = k
                    if has_annotations:
                        annotated.add(key)
                        if not minimal:
                            full.add(key)
            except StreamRestart:
                self.whole.add(path)
                return self.scan()
            except ExportError as exc:
                self.unreadable[path] = str(exc)
        return last_file

    def run(self) -> ImportResult:
        result = self.result
        last_file = self.scan() if len(self.files) > 1 else None
        for path in self.files:
            if path in self.unreadable:
                result.unreadable.append(Rejected(str(path), self.unreadable[path]))
        self.pool = None
        self.inflight: deque = deque()
        if self.num_proc > 1 and not self.auto:
            self._start_pool()
        try:
            for k, path in enumerate(self.files):
                if path in self.unreadable:
                    continue
                try:
                    digest = None if is_storage_folder(Path(path)) else file_sha256(path)
                    stream = self._stream(path, digest)  # the stream does not hash the file again
                    digest = digest or stream.digest
                    result.sources[path] = digest
                    self._file(k, path, digest, stream, last_file)
                    if isinstance(stream, _StorageTasks):
                        result.unreadable += [Rejected(str(f), why) for f, why in stream.problems]
                except StreamRestart:
                    raise _Restart(path, None) from None
                except ExportError as exc:
                    raise _Restart(path, str(exc)) from None
            while self.inflight:
                self._complete(*self.inflight.popleft())
        finally:
            if self.pool is not None:
                self.pool.terminate()
            if self.spool:
                self.spool.close()
        return result

    def _start_pool(self) -> None:
        self.pool = _Pool(self.num_proc, _worker_init, (self.cfg,), context=multiprocessing.get_context("fork"))
        if self.after_fork:  # in a thread: the workers read tasks meanwhile (a build loads `datasets`)
            threading.Thread(target=self.after_fork, name="after-fork", daemon=True).start()

    def _decide(self, chunk: list) -> None:
        """AUTO: workers or not, from the first chunk's tasks, before any of them is handed on (so every task
        of the run goes the same way; the output is the same either way)."""
        self.auto = False
        sizes = [len(t.raw) for t, *_ in chunk if t.raw is not None]
        if self.num_proc > 1 and len(chunk) >= self.CHUNK and sum(sizes) / max(1, len(sizes)) >= self.AUTO_TASK_BYTES:
            self._start_pool()

    def _file(self, k, path, digest, stream, last_file) -> None:
        chunk: list = []
        keys = DocumentKeys(self.routing)
        for t in stream:
            key = keys(t.head, t.data is not None)  # read by msgspec: no lone surrogate to look for
            where = getattr(t, "where", None) or f"{path}#{t.index}"
            decided = None
            if getattr(t, "error", None):
                decided = _Outcome("fault", t.error)
            elif key is not None and last_file is not None and last_file[key] != k:
                newer = self.files[last_file[key]]
                if isinstance(t.task, MinFormatTask) and last_file[key] < k and has_live_annotation(t.task):
                    decided = _Outcome("superseded", f"a JSON_MIN copy (no event arguments or attributes) of a "
                                                     f"document annotated in the full export {newer}, which is kept",
                                       [f"a JSON_MIN copy did not replace the full export {newer}; export JSON "
                                        "to take newer work"])
                elif last_file[key] < k:  # this copy has no live annotation: the older annotated one is kept
                    decided = _Outcome("superseded", f"no annotation that is not cancelled; the annotated copy "
                                                     f"in {newer} is kept")
                else:
                    decided = _Outcome("superseded", f"superseded by the newer export {newer}")
            chunk.append((t, key, where, getattr(t, "path", path), getattr(t, "digest", digest), decided))
            if len(chunk) >= self.CHUNK:
                self._submit(chunk)
                chunk = []
        self._submit(chunk)

    def _submit(self, chunk: list) -> None:
        """Hand a chunk of tasks on; with workers, at most a few chunks per worker are in flight at once
        (bounded memory), and results are accounted strictly in input order."""
        if not chunk:
            return
        if self.auto:
            self._decide(chunk)
        if self.pool is None:
            for t, key, where, p, d, decided in chunk:
                self._account(t, key, where, decided or _read_task(t.task, key, p, d, t.fault_text, self.cfg))
            if self.progress:
                self.progress(len(chunk))
            return

        jobs, ready = [], []
        for t, key, where, p, d, decided in chunk:
            if decided is None:
                try:
                    data = t.data if t.data is not None else to_worker(t.raw, t.task)  # the file's bytes as they are
                    jobs.append((data, t.exact, key, p, d))
                except RecursionError:
                    decided = _Outcome("fault", TOO_DEEP)
            ready.append((t, key, where, p, d, decided))
        self.inflight.append((ready, self.pool.apply_async(_worker_chunk, (jobs,))))
        while len(self.inflight) > 2 * self.num_proc:
            self._complete(*self.inflight.popleft())

    def _complete(self, chunk: list, pending) -> None:
        outcomes, batch = pending.get()
        outcomes = iter(outcomes)
        self.kept: list[int] = []  # rows of the chunk's batch whose documents were taken as gold
        for t, key, where, _, _, decided in chunk:
            self._account(t, key, where, decided or next(outcomes))
        if batch is not None and self.on_rows:
            self.on_rows(batch, self.kept)
        if self.progress:
            self.progress(len(chunk))

    def _account(self, t, key, where, o: _Outcome) -> None:
        result = self.result
        result.inputs += 1
        head = t.head  # the task's id without decoding the whole task (only a quarantined one is)
        task_id = head.get("id", "?") if isinstance(head, dict) else "?"
        label = f"task {task_id} ({where})"

        def quarantine(reason: str) -> None:
            rejected = Rejected(where, f"{label}: {reason}", t.task if o.record is None else o.record, task_id=task_id)
            if self.spool:
                try:
                    line = json_line(rejected.to_json())
                except RecursionError:  # kept as a note: the task itself is in the export file, at `where`
                    rejected.record = f"(nested too deeply to write here; it is {where})"
                    line = json_line(rejected.to_json())
                self.spool.write(line)
                rejected = Rejected(where, rejected.reason, task_id=task_id)
            result.quarantined.append(rejected)

        if o.kind == "superseded":
            result.skipped.append(Rejected(where, f"{label}: {o.reason}", task_id=task_id))
            result.warnings += [f"{label}: {w}" for w in o.warnings]
            return
        if o.kind == "fault":
            quarantine(o.reason)
            return
        if o.kind == "empty":
            # A copy with nothing to import is skipped whether or not the document was read before, and never
            # makes a later annotated copy a duplicate (concurrent pushes leave such pairs in one export).
            result.warnings += [f"{label} {w}" for w in o.warnings]
            again = f" (document {key} is also in {self.seen[key]})" if key in self.seen else ""
            result.skipped.append(Rejected(where, f"{label}: {o.reason}{again}", task_id=task_id))
            return
        if key in self.seen:
            quarantine(f"duplicate task: document {key} was already read from {self.seen[key]}")
            return
        self.seen[key] = where
        result.warnings += [f"{label} {w}" for w in o.warnings]
        if o.annotations is not None:
            result.annotations[key] = o.annotations
        if o.kind == "annotation-fault":
            quarantine(o.reason)
        elif o.kind == "disagree":
            result.skipped.append(Rejected(where, f"{label}: {o.reason}", task_id=task_id))
        else:
            result.imported += 1
            if o.gold is not None:
                result.documents.append(o.gold)
            if self.on_gold:
                self.on_gold(o)
            if getattr(o.encoded, "batch_row", None) is not None:
                self.kept.append(o.encoded.batch_row)


def _import(paths: Iterable[str | Path], routing: Routing, reference_texts, progress, on_text_mismatch,
            num_proc: int = 1, encode=None, on_gold=None, on_restart=None, on_rows=None,
            spool: Path | None = None, on_edge_whitespace: str = "quarantine", after_fork=None) -> ImportResult:
    if on_text_mismatch not in TEXT_MISMATCH_POLICIES:
        raise ValueError(f"on_text_mismatch must be one of {TEXT_MISMATCH_POLICIES}, not {on_text_mismatch!r}")
    if on_edge_whitespace not in EDGE_WHITESPACE_POLICIES:
        raise ValueError(f"on_edge_whitespace must be one of {EDGE_WHITESPACE_POLICIES}, not {on_edge_whitespace!r}")
    cfg = _Settings(routing, reference_texts, on_text_mismatch, encode is None, encode, on_edge_whitespace)
    files = [str(p) for p in paths]
    whole: set[str] = set()
    unreadable: dict[str, str] = {}
    while True:
        importer = _Importer(files, routing, cfg, num_proc, progress, on_gold, whole, unreadable, on_rows,
                             spool, after_fork)
        try:
            return importer.run()
        except _Restart as again:
            # Some of the file's tasks were used before it turned out broken (or not streamable): start over
            # without it (or reading it whole), so that a broken file contributes nothing, as before.
            if again.unreadable is None:
                whole.add(again.path)
            else:
                unreadable[again.path] = again.unreadable
            if on_restart:
                on_restart()


def import_exports(paths: Iterable[str | Path], routing: Routing,
                   reference_texts: dict[str, str] | None = None,
                   progress: Callable[[int], None] | None = None,
                   on_text_mismatch: str = "offsets", num_proc: int = 1,
                   on_edge_whitespace: str = "quarantine") -> ImportResult:
    """Read exports into gold Documents. `reference_texts` (doc id -> pushed text) catches edited tasks;
    `on_text_mismatch` is what a value.text that disagrees with its offsets does (TEXT_MISMATCH_POLICIES).

    Several exports of one project taken over time overlap: a document found in more than one file is taken
    from the last file it appears in with annotations (pass files oldest first; `export_files` orders
    `annotate pull` files that way) and its other copies are skipped as superseded. The same document twice in
    one file is a duplicate task (two tasks with the same text and no data.doc_id are two documents, see
    `DocumentKeys`). `progress` is called with the number of tasks read since its last call.
    `on_edge_whitespace` (EDGE_WHITESPACE_POLICIES): "trim" moves a span edge on whitespace inward, with a warning.
    """
    return _import(paths, routing, reference_texts, progress, on_text_mismatch, num_proc,
                   on_edge_whitespace=on_edge_whitespace)


@dataclass
class GoldBuild:
    result: ImportResult
    info: GoldInfo | None  # None: not written, the previous gold set was left as it was
    quarantine: QuarantineFile
    refused: str | None = None  # why the gold set was not written although tasks qualified

    @property
    def quarantine_path(self) -> Path | None:
        """The quarantine file, when this run put anything in it."""
        return self.quarantine.path if self.quarantine.records else None


def default_quarantine_path(output: str | Path) -> Path:
    return Path(str(Path(output).with_suffix("")) + ".quarantine.jsonl")


def build_gold(exports: Iterable[str | Path], routing: Routing, output: str | Path, split_spec: str | None = None,
               reference_texts: dict[str, str] | None = None, allow_empty: bool = False,
               quarantine_path: str | Path | None = None,
               progress: Callable[[int], None] | None = None, skip_unreadable: bool = False,
               on_text_mismatch: str = "offsets", about: str | None = None, num_proc: int = 1,
               batch_size: int = 1000, sort_window: int = 5000,
               write_progress: Callable[[int, int], None] | None = None,
               on_edge_whitespace: str = "quarantine") -> GoldBuild:
    """Read exports, quarantine what is faulty, and (re)write the gold set with its agreement figures;
    `about` (curators' Markdown) goes into the dataset card.

    Documents stream from the exports to the new gold set's files (`GoldWriter`): only ids, counts and the
    tasks with two or more annotators (for agreement) are kept in memory. `num_proc` AUTO (0) lets the first
    tasks decide (`_Importer.AUTO_TASK_BYTES`). `num_proc` > 1 reads tasks in that
    many worker processes; the output is the same byte for byte. `progress` is called with the number of
    tasks read since its last call, then `write_progress(rows written, rows)` as the sorted rows are written.

    An export file that cannot be read stops the build (the gold set would silently fall back to older
    exports) unless `skip_unreadable`. The quarantine file always describes this run: written when anything
    was rejected, else a stale one is removed.
    """
    exports = list(exports)
    qpath = Path(quarantine_path) if quarantine_path else default_quarantine_path(output)
    try:
        with atomic_directory(output) as tmp:
            writer = GoldWriter(routing.schema, tmp, split_spec, batch_size, sort_window)
            spool = tmp / ".quarantined.jsonl"
            result = _import(exports, routing, reference_texts, progress, on_text_mismatch, num_proc,
                             encode=writer.encoder, on_gold=lambda o: writer.add_encoded(o.encoded),
                             on_restart=writer.reset, on_rows=writer.add_rows, spool=spool,
                             on_edge_whitespace=on_edge_whitespace, after_fork=load_datasets)
            quarantine = _write_quarantine(qpath, [r.to_json() for r in result.unreadable], spool)
            if result.unreadable and not skip_unreadable:
                names = ", ".join(u.source for u in result.unreadable)
                raise _NotWritten(GoldBuild(result, None, quarantine, f"{len(result.unreadable)} export file(s) "
                                            f"could not be read ({names}); fix or remove them, or pass "
                                            "--skip-unreadable to build without them"))
            if not result.imported and not allow_empty:
                raise _NotWritten(GoldBuild(result, None, quarantine))
            c = result.counts
            notes = {"imported": c["imported"], "quarantined": c["quarantined"], "skipped": c["skipped"],
                     "exports": {Path(k).name: v for k, v in result.sources.items()},
                     "unreadable_exports": [u.reason for u in result.unreadable],
                     "on_text_mismatch": on_text_mismatch, "warnings": result.warnings}
            if on_edge_whitespace != "quarantine":  # said only when asked for: older build.json files stay as they were
                notes["on_edge_whitespace"] = on_edge_whitespace
                notes["trimmed_spans"] = [w for w in result.warnings if "(--on-edge-whitespace trim)" in w]
            info = writer.finish(notes, _agreement(result.annotations), about, write_progress)
    except _NotWritten as refused:
        return refused.build
    info.path = Path(output)
    return GoldBuild(result, info, quarantine)


def _write_quarantine(path: Path, first: list[dict], spool: Path) -> QuarantineFile:
    """The quarantine file of a build: the unreadable files, then the quarantined tasks spooled as they came,
    copied a line at a time and put in place atomically (or a stale file removed, when nothing was rejected)."""
    lines = len(first) + (sum(1 for _ in spool.open(encoding="utf-8")) if spool.exists() else 0)
    if not lines:
        spool.unlink(missing_ok=True)
        return replace_quarantine(path, [])

    def pieces():
        yield from (json_line(r) for r in first)
        if spool.exists():
            with spool.open(encoding="utf-8") as src:
                yield from src

    atomic_write_pieces(path, pieces())
    spool.unlink(missing_ok=True)
    return QuarantineFile(path, lines)


class _NotWritten(Exception):
    """Nothing to write (or a refusal): leave the previous gold set as it was."""

    def __init__(self, build: GoldBuild):
        super().__init__(build.refused or "nothing to write")
        self.build = build


def _agreement(annotations: dict[str, list[Document]]) -> dict:
    if not annotations:
        # what `agreement({})` returns, without importing the scorer (and seqeval, and scikit-learn)
        return {"tasks": 0, "pairs": [], "overall": {}}

    return agreement(annotations)
