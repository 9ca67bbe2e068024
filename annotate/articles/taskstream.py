"""`annotate tasks` as a stream: articles in, Label Studio tasks out, one document in memory at a time.

The import file is written as it goes into a temporary file beside the output and renamed over it at the
end, so a failed run leaves the previous file as it was. A `.jsonl` output gets one task per line (Label
Studio's import reads JSON Lines too); any other name gets the JSON array `json.dumps(tasks, indent=2)`
would write, byte for byte, without the list.

Pre-annotations: a predictions file is joined through an on-disk index (`predictions.index`), so its order need not
follow the articles'; an extractor is run on batches of `EXTRACTOR_BATCH` documents.
"""

from __future__ import annotations

import errno
import json
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ..core.atomic import current_umask, json_line, write_failed
from ..core.model import Document, Rejected
from ..core.schema import Schema
from ..core.violations import schema_violations
from ..predictions.index import PredictionIndex
from ..predictions.sources import EXTRACTOR_BATCH, extract_in_batches
from ..studio.tasks import PredictionValidator, make_task
from .ingest import IngestStream


class TaskWriter:
    """Tasks written one by one to a temporary file; `commit()` renames it over `path`, `abort()` removes it."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.jsonl = self.path.suffix == ".jsonl"
        if self.path.is_dir():
            raise write_failed(self.path, IsADirectoryError(errno.EISDIR, "is a folder", str(self.path)))
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, self.tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp", dir=self.path.parent)
        except OSError as exc:
            raise write_failed(self.path, exc) from None
        self.file = os.fdopen(fd, "w", encoding="utf-8")
        self.count = 0

    def add(self, task: dict) -> None:
        try:
            self._add(task)
        except OSError as exc:  # a full disk shows when a buffer is flushed
            raise write_failed(self.path, exc) from None

    def _add(self, task: dict) -> None:
        if self.jsonl:
            self.file.write(json_line(task))
        else:
            # an element of json.dumps(list, indent=2) is the element dumped alone with every line indented
            # once more; JSON strings hold no raw newline, so splitting on them is safe
            body = json.dumps(task, ensure_ascii=False, indent=2).replace("\n", "\n  ")
            self.file.write(("[\n  " if self.count == 0 else ",\n  ") + body)
        self.count += 1

    def commit(self) -> None:
        try:
            if not self.jsonl:
                self.file.write("\n]\n" if self.count else "[]\n")
            self.file.flush()
            os.fsync(self.file.fileno())
            self.file.close()
            os.chmod(self.tmp, 0o666 & ~current_umask())
            os.replace(self.tmp, self.path)
        except OSError as exc:
            self.abort()
            raise write_failed(self.path, exc) from None

    def abort(self) -> None:
        try:
            self.file.close()
        except OSError:
            pass  # the buffer could not be flushed (a full disk): the temporary file goes anyway
        Path(self.tmp).unlink(missing_ok=True)


@dataclass
class StreamedTasks:
    """What a run did; the rejected records are kept (they are the quarantine), the documents are not."""
    inputs: int = 0
    tasks: int = 0
    with_predictions: int = 0
    dropped_lines: int = 0
    article_rejects: list[Rejected] = field(default_factory=list)
    prediction_rejects: list[Rejected] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # kept articles worth a look (the same text twice)

    @property
    def rejected(self) -> list[Rejected]:
        return self.article_rejects + self.prediction_rejects


class _Joined:
    """Predictions for a stream of documents, with rejections ordered as the list-based reader orders them:
    the source's rejected records, then schema violations (both by record order), then the labeling config's
    refusals (by document order)."""

    def __init__(self) -> None:
        self.read_rejects: list[tuple] = []  # (sort key, record)
        self.violations: list[tuple] = []
        self.refused: list[Rejected] = []

    def ordered(self) -> list[Rejected]:
        return [r for _, r in sorted(self.read_rejects, key=lambda x: x[0])] + \
            [r for _, r in sorted(self.violations, key=lambda x: x[0])] + self.refused


def _violations(pred: Document, schema: Schema) -> list[Rejected]:

    return [Rejected(f"predictions for {v.doc}", f"document {v.doc}: {v.message}")
            for v in schema_violations(pred, schema)]


def _from_file(docs: Iterable[Document], path: str, schema: Schema, joined: _Joined
               ) -> Iterator[tuple[Document, Document | None]]:

    with PredictionIndex(path) as index:
        joined.read_rejects += index.early
        for doc in docs:
            accepted, rejected = index.judge(doc)
            joined.read_rejects += rejected
            pred = None
            if accepted is not None:
                lineno, pred = accepted
                bad = _violations(pred, schema)
                if bad:  # a pre-annotation that breaks the schema is refused (the labeling config could not show it)
                    joined.violations += [(lineno, r) for r in bad]
                    pred = None
            yield doc, pred
        joined.read_rejects += list(index.unclaimed())


def _from_extractor(docs: Iterable[Document], spec: str, schema: Schema, joined: _Joined, batch: int
                    ) -> Iterator[tuple[Document, Document | None]]:

    for call, chunk, loaded in extract_in_batches(docs, spec, schema, batch):
        # (call, position) keeps the quarantine in the order one call over every document would give
        joined.read_rejects += [((call, k), r) for k, r in enumerate(loaded.rejected)]
        broken = {v.doc for v in loaded.violations}
        order = {d: k for k, d in enumerate(loaded.documents)}
        joined.violations += [((call, order.get(v.doc, 0)), Rejected(f"predictions for {v.doc}",
                                                                     f"document {v.doc}: {v.message}"))
                              for v in loaded.violations]
        for d in chunk:
            pred = loaded.documents.get(d.id)
            yield d, None if pred is None or d.id in broken else pred


def stream_tasks(articles, output: str | Path, schema: Schema, strip: bool = True,
                 source: tuple[str, str] | None = None, model_version: str = "predictions", num_proc: int = 1,
                 progress: Callable[[int, int, int], None] | None = None,
                 on_document: Callable[[Document], None] | None = None,
                 extractor_batch: int = EXTRACTOR_BATCH) -> StreamedTasks:
    """Articles -> one task each, written to `output` as they are made; the output is replaced only when at
    least one task was made (a run with nothing to write leaves the previous file as it was)."""

    stream = IngestStream(articles, strip=strip, num_proc=num_proc, progress=progress)
    run = StreamedTasks()

    def documents() -> Iterator[Document]:
        for item in stream:
            if isinstance(item, Rejected):
                run.article_rejects.append(item)
            else:
                if on_document:
                    on_document(item)
                yield item

    joined = _Joined()
    pairs: Iterable[tuple[Document, Document | None]]
    if source is None:
        pairs = ((d, None) for d in documents())
    elif source[0] == "predictions":
        pairs = _from_file(documents(), source[1], schema, joined)
    else:
        pairs = _from_extractor(documents(), source[1], schema, joined, extractor_batch)
    validator = PredictionValidator(schema) if source else None
    writer = TaskWriter(output)
    try:
        for doc, pred in pairs:
            task, refused = make_task(doc, pred, validator, model_version)
            if refused:
                joined.refused.append(refused)
            elif "predictions" in task:
                run.with_predictions += 1
            writer.add(task)
    except BaseException:
        writer.abort()
        raise
    if writer.count:
        writer.commit()
    else:
        writer.abort()
    run.tasks = writer.count
    run.inputs, run.dropped_lines, run.warnings = stream.inputs, stream.dropped_lines, stream.warnings
    run.prediction_rejects = joined.ordered()
    return run
