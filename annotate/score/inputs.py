"""Where predictions come from: a predictions JSONL, a Label Studio file, CoNLL columns, a command, a callable.

Every source ends as `dict[doc_id, Document]` (or tag sequences for CoNLL) plus a list of rejected records,
so the scorer never sees a malformed prediction and the report says how many were rejected and why. Schema
violations are not rejections: the document is kept and each violation is listed, to be scored as an error.
"""

from __future__ import annotations

import importlib
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ..chunks import ALLOWED_PREFIXES, SCHEMES, detect_scheme, prefix_of, tag_problem
from ..model import Document, Rejected
from ..predictions import PredictionError, document_to_record, prediction_from_record, read_predictions
from ..schema import Schema
from ..studio.config import Routing
from ..studio.export import annotation_to_document, annotator_name, read_export_file
from .violations import Violation, schema_violations


class ExtractorError(RuntimeError):
    pass


@dataclass
class Predictions:
    documents: dict[str, Document]
    rejected: list[Rejected]
    source: str
    violations: list[Violation] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    not_scored: int = 0  # well-formed records of documents outside the scored set (another split, no gold yet)


def _checked(documents: dict[str, Document], rejected: list[Rejected], source: str, schema: Schema,
             ) -> Predictions:
    """Malformed records were rejected on reading (with no schema, so that a schema violation does not
    discard the whole document); the schema is checked here, element by element."""
    violations = [v for d in documents.values() for v in schema_violations(d, schema)]
    return Predictions(documents, rejected, source, violations)


def from_jsonl(path: str | Path, gold: list[Document], schema: Schema) -> Predictions:
    docs, rejected = read_predictions(path, gold, None)
    return _checked(docs, rejected, str(path), schema)


def from_label_studio(path: str | Path, gold: list[Document], schema: Schema, annotator: str | None = None,
                      model_version: str | None = None) -> Predictions:
    """Predictions (or, with `annotator`, that person's annotations) from a Label Studio tasks file/export."""
    tasks, _ = read_export_file(path)
    by_text = {g.text: g for g in gold}
    by_id = {g.id: g for g in gold}
    routing = Routing(schema)
    out: dict[str, Document] = {}
    rejected: list[Rejected] = []
    not_in_gold = 0
    for k, t in enumerate(tasks):
        if not isinstance(t, dict) or not isinstance(t.get("data") or {}, dict):
            rejected.append(Rejected(f"{path} task #{k}", f"task #{k} is not a Label Studio task object with a "
                                     f"'data' object: {str(t)[:80]!r}", None))
            continue
        data = t.get("data") or {}
        where = f"{path} task {t.get('id', '?')}"
        g = by_id.get(str(data.get("doc_id"))) or by_text.get(data.get("text"))
        if g is None:
            # an export holds every task of the project, the gold set only those annotated so far
            not_in_gold += 1
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
    checked = _checked(out, rejected, str(path), schema)
    checked.not_scored = not_in_gold
    return checked


def _check_records(records: list[tuple[str, object]], gold: list[Document], schema: Schema, source: str,
                   rejected: list[Rejected]) -> Predictions:
    """(where, record) pairs from an extractor, each record a predictions JSONL object or a Document."""
    by_id = {g.id: g for g in gold}
    out: dict[str, Document] = {}
    for where, rec in records:
        if isinstance(rec, Document):
            rec = document_to_record(rec)
        try:
            pred = prediction_from_record(rec, by_id, out, None)
        except PredictionError as exc:
            rejected.append(Rejected(where, str(exc), rec if isinstance(rec, dict) else {"value": repr(rec)[:200]}))
            continue
        out[pred.id] = pred
    return _checked(out, rejected, source, schema)


def restricted(preds: Predictions, ids: set[str]) -> Predictions:
    """The predictions of the documents being scored (one split); the others count as not scored."""
    kept = {k: d for k, d in preds.documents.items() if k in ids}
    return Predictions(kept, preds.rejected, preds.source, [v for v in preds.violations if v.doc in ids],
                       preds.warnings, preds.not_scored + len(preds.documents) - len(kept))


def document_payload(doc: Document) -> dict:
    return {"id": doc.id, "text": doc.text, "metadata": {k: v for k, v in doc.metadata.items()
                                                         if k in ("headline", "date", "source")}}


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


def from_command(command: str, gold: list[Document], schema: Schema, timeout: float = 600.0,
                 progress: Callable[[int], None] | None = None) -> Predictions:
    """Run CMD without a shell: documents as JSONL on stdin, predictions JSONL expected on stdout.

    The command runs in a process group of its own. A child it started inherits its stdout, so killing the
    command alone leaves the pipe open and the read waiting for that child; at the timeout, and once the
    command itself has exited, the whole group is killed instead."""
    argv = extractor_argv(command)
    stdin_data = "".join(json.dumps(document_payload(d), ensure_ascii=False) + "\n" for d in gold)
    try:
        proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, encoding="utf-8", start_new_session=True)
    except OSError as exc:
        raise ExtractorError(f"extractor {argv[0]!r} could not be started: {exc.strerror or exc}") from None
    lines: list[str] = []
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
        errors.append(proc.stderr.read())

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
    # a line that is not JSON is a malformed record like any other: quarantined with its stdout line number
    records: list[tuple[str, object]] = []
    rejected: list[Rejected] = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        where = f"extractor `{command}` stdout line {n}"
        try:
            records.append((where, json.loads(line)))
        except json.JSONDecodeError as exc:
            rejected.append(Rejected(where, f"not JSON (stdout line {n}: {exc.msg})", {"line": line.rstrip("\n")}))
    checked = _check_records(records, gold, schema, f"extractor `{command}`", rejected)
    if leftovers:
        checked.warnings.append(f"extractor {argv[0]!r} exited but left processes running; they were stopped")
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
    return _check_records([(f"{spec} record {k}", r) for k, r in enumerate(records, 1)], gold, schema, spec, [])


def is_callable_spec(spec: str) -> bool:
    module, sep, func = spec.partition(":")
    return bool(sep) and " " not in spec and module.replace(".", "").replace("_", "").isalnum() and \
        func.isidentifier()


# --- CoNLL


class ConllError(ValueError):
    pass


Row = tuple[int, list[str]]  # (line number, whitespace-separated columns)
Cell = tuple[str, str]  # (file:line, tag)


@dataclass(frozen=True)
class TagFormat:
    scheme: str | None = None  # None: detect it from the tags, as seqeval's strict mode does without a scheme
    suffix: bool = False


@dataclass
class TagSequences:
    """CoNLL input ready to score: one tag sequence per sentence and layer on each side, the sentence
    (unit) of each sequence, and token-level agreement counted once per token whatever the layers."""
    gold: list[list[str]]
    pred: list[list[str]]
    gold_unit: list[int] | None
    pred_unit: list[int] | None
    tokens: int
    tokens_correct: int
    scheme: str
    scheme_source: str
    suffix: bool


# Columns are separated by ASCII whitespace only: str.split() would also cut at U+00A0, U+2028 or U+0085
# inside an Arabic token and shift every tag column after it.
_COLUMN_SEPARATOR = re.compile(r"[ \t\r\f\v]+")


def read_conll_rows(path: str | Path) -> list[list[Row]]:
    """Sentences of numbered rows; blank lines and -DOCSTART- separate sentences. Lines end at \\n only, and
    columns at ASCII whitespace only, so a token holding U+2028, U+0085 or a no-break space stays one token."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        line = Path(path).read_bytes()[:exc.start].count(b"\n") + 1
        raise ConllError(f"{path}:{line}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    sentences: list[list[Row]] = []
    current: list[Row] = []
    for lineno, line in enumerate(text.split("\n"), 1):
        cols = [c for c in _COLUMN_SEPARATOR.split(line) if c]
        if not cols or cols[0] == "-DOCSTART-":
            if current:
                sentences.append(current)
                current = []
            continue
        if len(cols) < 2:
            raise ConllError(f"{path}:{lineno}: needs a token and at least one tag column")
        current.append((lineno, cols))
    if current:
        sentences.append(current)
    return sentences


def _check_layout(cells: Iterable[Cell], suffix: bool) -> None:
    """Every tag must be O or prefix-TYPE (TYPE-suffix with --suffix): seqeval reads any string, and a
    misread layout scores a silent zero."""
    seen: set[str] = set()
    for where, tag in cells:
        if tag not in seen:
            seen.add(tag)
            problem = tag_problem(tag, suffix)
            if problem:
                raise ConllError(f"{where}: {problem}")


def _check_scheme(cells: Iterable[Cell], fmt: TagFormat, scheme: str) -> None:
    allowed = ALLOWED_PREFIXES[scheme]
    seen: set[str] = set()
    for where, tag in cells:
        if tag not in seen:
            seen.add(tag)
            if prefix_of(tag, fmt.suffix) not in allowed:
                raise ConllError(f"{where}: tag {tag!r} is not valid in {scheme} (prefixes {', '.join(allowed)}); "
                                 f"name the scheme with --scheme ({'|'.join(SCHEMES)})")


def _resolve_scheme(fmt: TagFormat, gold: list[Cell], pred: list[Cell]) -> tuple[str, str]:
    """(scheme, where it came from). Detected from the gold tags like seqeval's strict mode (from the
    predictions only when gold holds no entity at all); an undetectable mix is an error, not a guess."""
    if fmt.scheme:
        return fmt.scheme, "--scheme"
    for side, cells in (("gold", gold), ("predicted", pred)):
        tags = {tag for _, tag in cells} - {"O"}
        if tags:
            found = detect_scheme(tags, fmt.suffix)
            if found is None:
                prefixes = sorted({prefix_of(t, fmt.suffix) for t in tags})
                raise ConllError(f"the {side} tags (prefixes {', '.join(prefixes)}) fit none of seqeval's "
                                 f"schemes; name one with --scheme ({'|'.join(SCHEMES)})")
            return found, f"detected from the {side} tags"
    return "IOB2", "no entity tag on either side"


def _cells(path: str | Path, sentences: list[list[Row]], columns: slice) -> Iterator[Cell]:
    for sentence in sentences:
        for lineno, cols in sentence:
            for tag in cols[columns]:
                yield f"{path}:{lineno}", tag


def _validated(fmt: TagFormat, gold: list[Cell], pred: list[Cell]) -> tuple[str, str]:
    _check_layout(gold + pred, fmt.suffix)
    scheme, source = _resolve_scheme(fmt, gold, pred)
    _check_scheme(gold + pred, fmt, scheme)
    return scheme, source


def conlleval_sequences(path: str | Path, fmt: TagFormat = TagFormat()) -> TagSequences:
    """A conlleval file: the last two columns are the gold and the predicted tag."""
    sentences = read_conll_rows(path)
    for s in sentences:
        for lineno, row in s:
            if len(row) < 3:
                raise ConllError(f"{path}:{lineno}: needs a token, a gold tag and a predicted tag; got {row}")
    scheme, source = _validated(fmt, list(_cells(path, sentences, slice(-2, -1))),
                                list(_cells(path, sentences, slice(-1, None))))
    gold = [[r[-2] for _, r in s] for s in sentences]
    pred = [[r[-1] for _, r in s] for s in sentences]
    correct = sum(g == p for gs, ps in zip(gold, pred) for g, p in zip(gs, ps))
    return TagSequences(gold, pred, None, None, sum(len(s) for s in gold), correct, scheme, source, fmt.suffix)


def _token_agrees(gold_tags: list[str], pred_tags: list[str]) -> bool:
    """One token, all its layers: the same entity tags whatever column holds them (a file may carry more
    layer columns than it needs, or nest in another order)."""
    return sorted(t for t in gold_tags if t != "O") == sorted(t for t in pred_tags if t != "O")


def layered_sequences(gold_path: str | Path, pred_path: str | Path, fmt: TagFormat = TagFormat()) -> TagSequences:
    """Two files of token + one or more tag columns (one per nesting layer), aligned token by token.
    Sequences are one per sentence and layer, each with its sentence index as unit."""
    gold, pred = read_conll_rows(gold_path), read_conll_rows(pred_path)
    if len(gold) != len(pred):
        raise ConllError(f"{gold_path} has {len(gold)} sentence(s) but {pred_path} has {len(pred)}")
    for k, (gs, ps) in enumerate(zip(gold, pred)):
        if len(gs) != len(ps):
            raise ConllError(f"sentence {k + 1}: {len(gs)} token(s) in {gold_path} (line {gs[0][0]}) but "
                             f"{len(ps)} in {pred_path} (line {ps[0][0]})")
        for (gl, gr), (pl, pr) in zip(gs, ps):
            if gr[0] != pr[0]:
                raise ConllError(f"{gold_path}:{gl} has token {gr[0]!r} but {pred_path}:{pl} has {pr[0]!r}")
    scheme, source = _validated(fmt, list(_cells(gold_path, gold, slice(1, None))),
                                list(_cells(pred_path, pred, slice(1, None))))
    out = TagSequences([], [], [], [], 0, 0, scheme, source, fmt.suffix)
    for k, (gs, ps) in enumerate(zip(gold, pred)):
        for rows, seqs, units in ((gs, out.gold, out.gold_unit), (ps, out.pred, out.pred_unit)):
            n_layers = max(len(r) - 1 for _, r in rows)
            for layer in range(1, n_layers + 1):
                seqs.append([r[layer] if layer < len(r) else "O" for _, r in rows])
                units.append(k)
        out.tokens += len(gs)
        out.tokens_correct += sum(_token_agrees(gr[1:], pr[1:]) for (_, gr), (_, pr) in zip(gs, ps))
    return out
