"""Where predictions come from: a predictions JSONL, a Label Studio file, CoNLL columns, a command, a callable.

Every source ends as `dict[doc_id, Document]` (or tag sequences for CoNLL) plus a list of rejected records,
so the scorer never sees a malformed prediction and the report says how many were rejected and why.
"""

from __future__ import annotations

import importlib
import json
import shlex
import subprocess
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..ingest import Rejected
from ..lsexport import Routing, annotation_to_document, annotator_name, read_export_file
from ..model import Document
from ..predictions import PredictionError, document_to_record, prediction_from_record, read_predictions
from ..schema import Schema


class ExtractorError(RuntimeError):
    pass


@dataclass
class Predictions:
    documents: dict[str, Document]
    rejected: list[Rejected]
    source: str


def from_jsonl(path: str | Path, gold: list[Document], schema: Schema) -> Predictions:
    docs, rejected = read_predictions(path, gold, schema)
    return Predictions(docs, rejected, str(path))


def from_label_studio(path: str | Path, gold: list[Document], schema: Schema, annotator: str | None = None,
                      model_version: str | None = None) -> Predictions:
    """Predictions (or, with `annotator`, that person's annotations) from a Label Studio tasks file/export."""
    tasks, _ = read_export_file(path)
    by_text = {g.text: g for g in gold}
    by_id = {g.id: g for g in gold}
    routing = Routing(schema)
    out: dict[str, Document] = {}
    rejected: list[Rejected] = []
    for t in tasks:
        data = t.get("data") or {}
        where = f"{path} task {t.get('id', '?')}"
        g = by_id.get(str(data.get("doc_id"))) or by_text.get(data.get("text"))
        if g is None:
            rejected.append(Rejected(where, "no gold document has this task's doc_id or text", None))
            continue
        if data.get("text") != g.text:
            rejected.append(Rejected(where, f"task text differs from gold document {g.id}", None))
            continue
        if annotator:
            items = [a for a in t.get("annotations") or [] if annotator_name(a) == annotator
                     and not a.get("was_cancelled")]
        else:
            items = [p for p in t.get("predictions") or []
                     if model_version is None or p.get("model_version") == model_version]
        if not items:
            continue
        chosen = items[-1]
        doc, errors, _ = annotation_to_document({**t, "data": {**data, "text": g.text}}, chosen, routing, g.id,
                                                str(path))
        if errors:
            rejected.append(Rejected(where, "; ".join(errors), None))
            continue
        out[g.id] = doc
    return Predictions(out, rejected, str(path))


def _check_records(records: list, gold: list[Document], schema: Schema, where: str) -> Predictions:
    by_id = {g.id: g for g in gold}
    out: dict[str, Document] = {}
    rejected: list[Rejected] = []
    for k, rec in enumerate(records):
        if isinstance(rec, Document):
            rec = document_to_record(rec)
        try:
            pred = prediction_from_record(rec, by_id, out, schema)
        except PredictionError as exc:
            rejected.append(Rejected(f"{where} record {k + 1}", str(exc),
                                     rec if isinstance(rec, dict) else {"value": repr(rec)[:200]}))
            continue
        out[pred.id] = pred
    return Predictions(out, rejected, where)


def document_payload(doc: Document) -> dict:
    return {"id": doc.id, "text": doc.text, "metadata": {k: v for k, v in doc.metadata.items()
                                                         if k in ("headline", "date", "source")}}


def from_command(command: str, gold: list[Document], schema: Schema, timeout: float = 600.0,
                 progress: Callable[[int], None] | None = None) -> Predictions:
    """Run CMD without a shell: documents as JSONL on stdin, predictions JSONL expected on stdout."""
    argv = shlex.split(command)
    if not argv:
        raise ExtractorError("--extractor: empty command")
    stdin_data = "".join(json.dumps(document_payload(d), ensure_ascii=False) + "\n" for d in gold)
    try:
        proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, encoding="utf-8")
    except OSError as exc:
        raise ExtractorError(f"extractor {argv[0]!r} could not be started: {exc.strerror or exc}") from None

    def feed() -> None:
        try:
            proc.stdin.write(stdin_data)
            proc.stdin.close()
        except (BrokenPipeError, OSError):
            pass

    errors: list[str] = []

    def drain_stderr() -> None:
        errors.append(proc.stderr.read())

    threads = [threading.Thread(target=feed, daemon=True), threading.Thread(target=drain_stderr, daemon=True)]
    for th in threads:
        th.start()
    lines: list[str] = []
    timed_out = threading.Event()

    def kill() -> None:
        timed_out.set()
        proc.kill()

    timer = threading.Timer(timeout, kill)
    timer.start()
    try:
        for line in proc.stdout:
            lines.append(line)
            if progress and line.strip():
                progress(1)
        proc.wait()
    finally:
        timer.cancel()
    for th in threads:
        th.join(timeout=5)
    stderr_tail = (errors[0] if errors else "").strip()[-500:]
    if timed_out.is_set():
        raise ExtractorError(f"extractor {argv[0]!r} timed out after {timeout:.0f}s and was stopped")
    if proc.returncode != 0:
        raise ExtractorError(f"extractor {argv[0]!r} exited with code {proc.returncode}"
                             + (f"; its stderr ends with: {stderr_tail}" if stderr_tail else ""))
    records = []
    rejected: list[Rejected] = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError as exc:
            raise ExtractorError(f"extractor {argv[0]!r} wrote a line that is not JSON (stdout line {n}: "
                                 f"{exc.msg}): {line.strip()[:120]!r}") from None
    checked = _check_records(records, gold, schema, f"extractor `{command}`")
    checked.rejected = rejected + checked.rejected
    return checked


def from_callable(spec: str, gold: list[Document], schema: Schema) -> Predictions:
    """`package.module:function`, called with the list of gold Documents (text only, no annotations);
    returns prediction records (dicts in the predictions JSONL shape) or Documents."""
    module_name, _, func_name = spec.partition(":")
    try:
        func = getattr(importlib.import_module(module_name), func_name)
    except (ImportError, AttributeError) as exc:
        raise ExtractorError(f"--extractor {spec}: cannot load it ({exc})") from None
    bare = [Document(d.id, d.text, metadata=dict(d.metadata)) for d in gold]
    try:
        records = list(func(bare))
    except Exception as exc:  # the extractor is someone else's code: report, do not crash
        raise ExtractorError(f"--extractor {spec} raised {type(exc).__name__}: {exc}") from None
    return _check_records(records, gold, schema, spec)


def is_callable_spec(spec: str) -> bool:
    module, sep, func = spec.partition(":")
    return bool(sep) and " " not in spec and module.replace(".", "").replace("_", "").isalnum() and \
        func.isidentifier()


# --- CoNLL ------------------------------------------------------------------------------------------------------


class ConllError(ValueError):
    pass


def read_conll_columns(path: str | Path) -> list[list[list[str]]]:
    """Sentences of rows of whitespace-separated columns; blank lines and -DOCSTART- separate sentences."""
    sentences: list[list[list[str]]] = []
    current: list[list[str]] = []
    for lineno, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        cols = line.split()
        if not cols or cols[0] == "-DOCSTART-":
            if current:
                sentences.append(current)
                current = []
            continue
        if len(cols) < 2:
            raise ConllError(f"{path}:{lineno}: needs a token and at least one tag column")
        current.append(cols)
    if current:
        sentences.append(current)
    return sentences


def conlleval_sequences(path: str | Path) -> tuple[list[list[str]], list[list[str]]]:
    """A conlleval file: the last two columns are the gold and the predicted tag."""
    sentences = read_conll_columns(path)
    for s in sentences:
        for row in s:
            if len(row) < 3:
                raise ConllError(f"{path}: every row needs a token, a gold tag and a predicted tag; got {row}")
    return [[r[-2] for r in s] for s in sentences], [[r[-1] for r in s] for s in sentences]


def layered_sequences(gold_path: str | Path, pred_path: str | Path,
                      ) -> tuple[list[list[str]], list[list[str]], list[int], list[int]]:
    """Two files of token + one or more tag columns (one per nesting layer), aligned token by token.
    Returns gold and predicted sequences (one per sentence and layer) with their sentence index."""
    gold, pred = read_conll_columns(gold_path), read_conll_columns(pred_path)
    if len(gold) != len(pred):
        raise ConllError(f"{gold_path} has {len(gold)} sentence(s) but {pred_path} has {len(pred)}")
    out: tuple[list, list, list, list] = ([], [], [], [])
    for k, (gs, ps) in enumerate(zip(gold, pred)):
        if len(gs) != len(ps):
            raise ConllError(f"sentence {k + 1}: {len(gs)} token(s) in {gold_path} but {len(ps)} in {pred_path}")
        for i, (gr, pr) in enumerate(zip(gs, ps)):
            if gr[0] != pr[0]:
                raise ConllError(f"sentence {k + 1}, token {i + 1}: {gr[0]!r} in {gold_path} but {pr[0]!r} in "
                                 f"{pred_path}")
        for rows, seqs, units in ((gs, out[0], out[2]), (ps, out[1], out[3])):
            n_layers = max(len(r) - 1 for r in rows)
            for layer in range(1, n_layers + 1):
                seqs.append([r[layer] if layer < len(r) else "O" for r in rows])
                units.append(k)
    return out
