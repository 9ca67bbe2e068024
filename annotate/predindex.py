"""A predictions JSONL joined to a stream of documents without holding either: an on-disk index.

One pass over the file puts (document id, line number, byte offset) of every line into a SQLite table in a
temporary folder; a document then reads back only its own lines. Memory stays flat whatever the order of the
two streams (predictions need not follow the documents' order), and the disk holds ~50 bytes per line.

Every line ends as an accepted prediction or a Rejected record with the same reason, and in the same order
(by line number), as `predictions.read_predictions` gives when it holds everything: a line is judged against
its document and the earlier accepted lines of the same id only, so judging all lines of one id when that
document comes by is the same judgement. Lines of ids no document claims are rejected by `unclaimed()`.
"""

from __future__ import annotations

import sqlite3
import tempfile
from collections.abc import Iterator
from pathlib import Path

from .jsonl import parse_line, raw_lines, read_line_at
from .model import Document, Rejected
from .predictions import PredictionError, prediction_from_record
from .schema import Schema


class PredictionIndex:
    """Open with `with PredictionIndex(path) as index:`; the temporary folder goes when the block ends."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._tmp = tempfile.TemporaryDirectory(prefix="annotate-predindex-")
        self._db = sqlite3.connect(Path(self._tmp.name) / "index.sqlite")
        self._db.execute("PRAGMA journal_mode=OFF")
        self._db.execute("PRAGMA synchronous=OFF")
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

    def __enter__(self) -> PredictionIndex:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self._file.close()
        self._db.close()
        self._tmp.cleanup()

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
