"""A predictions JSONL joined to a stream of documents without holding either: an on-disk index.

One pass over the file puts (document id, line number, byte offset) of every line into a SQLite table in a
temporary folder; a document then reads back only its own lines. Memory stays flat whatever the order of the
two streams (predictions need not follow the documents' order), and the disk holds ~50 bytes per line.

Every line ends as an accepted prediction or a Rejected record with the same reason, and in the same order
(by line number), as `records.read_predictions` gives when it holds everything: a line is judged against
its document and the earlier accepted lines of the same id only, so judging all lines of one id when that
document comes by is the same judgement. Lines of ids no document claims are rejected by `unclaimed()`.
"""

from __future__ import annotations

import hashlib
import pickle
import sqlite3
import tempfile
from collections.abc import Iterator
from pathlib import Path

from ..core.jsonl import parse_line, raw_lines, read_line_at
from ..core.model import Document, Rejected
from ..core.schema import Schema
from ..studio.config import Routing
from ..studio.export import DocumentKeys, annotation_to_document, annotator_name
from ..studio.stream import ExportStream, StreamRestart
from .records import PredictionError, prediction_from_record


class _ScratchIndex:
    """A SQLite database in a temporary folder of its own, gone when the index is closed (or its `with` ends)."""

    def _open_db(self, prefix: str) -> None:
        self._tmp = tempfile.TemporaryDirectory(prefix=prefix)
        self._db = sqlite3.connect(Path(self._tmp.name) / "index.sqlite")
        self._db.execute("PRAGMA journal_mode=OFF")  # scratch data: nothing to recover after a crash
        self._db.execute("PRAGMA synchronous=OFF")

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self._db.close()
        self._tmp.cleanup()


class PredictionIndex(_ScratchIndex):
    """Open with `with PredictionIndex(path) as index:`; the temporary folder goes when the block ends."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.source = str(path)
        self.not_scored = 0  # a predictions file names gold ids only: none of its lines is set aside unscored
        self._open_db("annotate-predindex-")
        self._db.execute("CREATE TABLE line (id TEXT, lineno INTEGER PRIMARY KEY, offset INTEGER, "
                         "claimed INTEGER DEFAULT 0)")
        # lines judged without a document (not UTF-8, not JSON, no id): rejected at once, kept with their line
        self.early: list[tuple[int, Rejected]] = []
        self.lines = 0
        batch: list[tuple[str, int, int]] = []
        for lineno, offset, chunk in raw_lines(self.path):
            self.lines += 1
            line = parse_line(f"{self.path}:{lineno}", chunk)
            if line.error:
                self.early.append((lineno, Rejected(line.source, line.error, {"line": line.raw})))
                continue
            if not isinstance(line.value, dict) or "id" not in line.value:
                record = line.value if isinstance(line.value, dict) else {"value": line.value}
                self.early.append((lineno, Rejected(line.source, "field 'id' is missing", record)))
                continue
            batch.append((str(line.value["id"]), lineno, offset))
            if len(batch) >= 10_000:
                self._db.executemany("INSERT INTO line (id, lineno, offset) VALUES (?, ?, ?)", batch)
                batch.clear()
        self._db.executemany("INSERT INTO line (id, lineno, offset) VALUES (?, ?, ?)", batch)
        self._db.execute("CREATE INDEX by_id ON line (id)")
        self._file = open(self.path, "rb")  # noqa: SIM115 (closed by close())

    def close(self) -> None:
        self._file.close()
        super().close()

    def _record(self, lineno: int, offset: int):
        return parse_line(f"{self.path}:{lineno}", read_line_at(self._file, offset)).value

    def judge(self, doc: Document, schema: Schema | None = None,
              ) -> tuple[tuple[int, Document] | None, list[tuple[int, Rejected]]]:
        """The accepted prediction of `doc` (with its line number), and its other lines rejected, each
        with its line number."""
        rows = self._db.execute("SELECT lineno, offset FROM line WHERE id = ? ORDER BY lineno", (doc.id,)).fetchall()
        if not rows:
            return None, []
        self._db.execute("UPDATE line SET claimed = 1 WHERE id = ?", (doc.id,))
        accepted: tuple[int, Document] | None = None
        rejected: list[tuple[int, Rejected]] = []
        by_id = {doc.id: doc}
        for lineno, offset in rows:
            record = self._record(lineno, offset)
            try:
                pred = prediction_from_record(record, by_id, () if accepted is None else (doc.id,), schema)
            except PredictionError as exc:
                rejected.append((lineno, Rejected(f"{self.path}:{lineno}", str(exc), record)))
                continue
            accepted = (lineno, pred)
        return accepted, rejected

    def unclaimed(self) -> Iterator[tuple[int, Rejected]]:
        """Lines of ids that no document judged has: rejected as `read_predictions` rejects them."""
        rows = self._db.execute("SELECT id, lineno, offset FROM line WHERE claimed = 0 ORDER BY lineno")
        for doc_id, lineno, offset in rows:
            yield lineno, Rejected(f"{self.path}:{lineno}", f"document {doc_id}: no such document among the inputs",
                                   self._record(lineno, offset))


class LabelStudioIndex(_ScratchIndex):
    """A Label Studio tasks file or export as predictions (each task's latest prediction, optionally of one
    model version, or one annotator's latest annotation), joined to a stream of gold documents like
    `PredictionIndex`: the file is read a task at a time (`studio.stream.ExportStream`), each task matched to
    its gold document by `data.doc_id` or else by its text, converted, and kept as a predictions record in a
    SQLite table in a temporary folder, so neither the file nor the predictions are held in memory. A later
    task of the same document replaces an earlier one, as when the file is read whole.

    `gold` gives (id, text) of every gold document, once, to build the matching keys (a digest of each text,
    not the text). Tasks of documents not in the gold set are counted in `not_scored` (an export holds every
    task of its project, the gold set only those annotated so far)."""

    def __init__(self, path: str | Path, gold: Iterator[tuple[str, str]], schema: Schema,
                 annotator: str | None = None, model_version: str | None = None) -> None:

        self.path = Path(path)
        self.source = str(path)
        self._open_db("annotate-lsindex-")
        self._db.execute("CREATE TABLE pred (id TEXT PRIMARY KEY, task INTEGER, document BLOB)")
        ids: dict[str, bytes] = {}  # gold id -> digest of its text
        texts: dict[bytes, str] = {}  # digest of a gold text -> its id (the first, as a dict of texts keeps it)
        for doc_id, text in gold:
            key = _text_key(text)
            ids[doc_id] = key
            texts.setdefault(key, doc_id)
        self.early: list[tuple[int, Rejected]] = []
        self.not_scored = 0
        routing = Routing(schema)
        try:
            try:
                self._read(ids, texts, routing, annotator, model_version, whole=False)
            except StreamRestart:
                # the file turned out to need the whole-file reader part-way: read it again that way
                self._db.execute("DELETE FROM pred")
                self.early, self.not_scored = [], 0
                self._read(ids, texts, routing, annotator, model_version, whole=True)
        except BaseException:
            self.close()  # the temporary folder goes with a file that cannot be read
            raise

    def _read(self, ids, texts, routing, annotator, model_version, whole: bool) -> None:

        keys = DocumentKeys(routing)  # the ids an import gives these tasks (a repeated text: `<id>-<task id>`)
        for raw in ExportStream(self.path, whole=whole):
            k, t = raw.index, raw.task
            if raw.error or not isinstance(t, dict) or not isinstance(t.get("data") or {}, dict):
                self.early.append((k, Rejected(f"{self.path} task #{k}", raw.error or f"task #{k} is not a Label "
                                               f"Studio task object with a 'data' object: {str(t)[:80]!r}")))
                continue
            data = t.get("data") or {}
            where = f"{self.path} task {t.get('id', '?')}"
            text = data.get(routing.text_field)
            key = _text_key(text) if isinstance(text, str) else None
            doc_id = str(data.get("doc_id"))
            imported_as = keys(t)
            if doc_id not in ids:
                doc_id = imported_as if imported_as in ids else texts.get(key)
            if doc_id is None:
                self.not_scored += 1
                continue
            if key != ids[doc_id]:
                self.early.append((k, Rejected(where, f"task text differs from gold document {doc_id}")))
                continue
            if annotator:
                items = [a for a in t.get("annotations") or [] if isinstance(a, dict)
                         and annotator_name(a) == annotator and a.get("was_cancelled") is not True]
            else:
                items = [p for p in t.get("predictions") or [] if isinstance(p, dict)
                         and (model_version is None or p.get("model_version") == model_version)]
            if not items:
                continue
            doc, errors, _ = annotation_to_document(t, items[-1], routing, doc_id, str(self.path))
            if errors:
                self.early.append((k, Rejected(where, "; ".join(errors))))
                continue
            # pickled: written and read back by this process only, from a folder of its own (JSON would be
            # parsed and checked again on the way back, for nothing)
            self._db.execute("INSERT OR REPLACE INTO pred VALUES (?, ?, ?)",
                             (doc_id, k, pickle.dumps(doc, pickle.HIGHEST_PROTOCOL)))

    def judge(self, doc: Document, schema: Schema | None = None,
              ) -> tuple[tuple[int, Document] | None, list[tuple[int, Rejected]]]:
        """The prediction of `doc` (with the position of its task in the file), if the file has one."""
        row = self._db.execute("SELECT task, document FROM pred WHERE id = ?", (doc.id,)).fetchone()
        if row is None:
            return None, []
        return (row[0], pickle.loads(row[1])), []

    def unclaimed(self) -> Iterator[tuple[int, Rejected]]:
        return iter(())  # every stored prediction belongs to a gold document


def _text_key(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()
