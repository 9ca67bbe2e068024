"""Raw articles (.txt files, folders, JSONL) -> Documents.

Only `\\r\\n`/`\\r` -> `\\n` and a leading BOM are normalised; site boilerplate lines are dropped by a rule list
that is data (`schemas/boilerplate.yaml`) and every dropped line is recorded in the document's metadata.
Bad inputs are not fatal: each becomes a `Rejected` record with its reason, so a run accounts for every input.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import re
import sys
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from ..core.jsonl import lone_surrogate, non_finite, parse_line, raw_lines
from ..core.model import Document, Provenance, Rejected, document_id
from ..core.schema import SCHEMAS_DIR

DEFAULT_BOILERPLATE = SCHEMAS_DIR / "boilerplate.yaml"

_MONTHS = {
    "يناير": 1, "كانون الثاني": 1, "فبراير": 2, "شباط": 2, "مارس": 3, "آذار": 3, "أبريل": 4, "ابريل": 4,
    "نيسان": 4, "مايو": 5, "أيار": 5, "يونيو": 6, "حزيران": 6, "يوليو": 7, "تموز": 7, "أغسطس": 8,
    "اغسطس": 8, "آب": 8, "سبتمبر": 9, "أيلول": 9, "أكتوبر": 10, "اكتوبر": 10, "تشرين الأول": 10,
    "نوفمبر": 11, "تشرين الثاني": 11, "ديسمبر": 12, "كانون الأول": 12,
}
_DATE_AR = re.compile(r"(?<!\d)(\d{1,2})\s+(" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\s+(\d{4})")
_DATE_ISO = re.compile(r"(?<!\d)(\d{4})-(\d{2})-(\d{2})(?!\d)")
# Characters that show nothing: controls, format characters (zero-width, bidi marks and embeddings), spaces.
_INVISIBLE = {"Cc", "Cf", "Zs", "Zl", "Zp"}


@dataclass(frozen=True)
class BoilerplateRule:
    name: str
    pattern: re.Pattern
    drop_following: int = 0


@dataclass(frozen=True)
class BoilerplateRules:
    rules: tuple[BoilerplateRule, ...]
    drop_consecutive_duplicates: bool = True


@dataclass
class IngestResult:
    documents: list[Document] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    inputs: int = 0

    @property
    def dropped_lines(self) -> int:
        return sum(len(d.metadata.get("boilerplate_dropped", [])) for d in self.documents)


def text_problem(text: str) -> str | None:
    """Why a text cannot be an article, if it cannot: empty, invisible, binary, or not encodable."""
    nul = text.find("\x00")
    if nul >= 0:
        return f"holds a NUL character at character {nul} (a binary file?)"
    found = lone_surrogate(text, "text")
    if found:
        return found
    if not text.strip():
        return "empty"
    if all(unicodedata.category(c) in _INVISIBLE for c in text):
        shown = sorted({c for c in text if not c.isspace()})[:5]
        names = ", ".join(f"U+{ord(c):04X} {unicodedata.name(c, '?')}" for c in shown)
        return f"empty: only invisible characters ({names})"
    return None


def load_boilerplate_rules(path: str | Path | None = None) -> BoilerplateRules:
    path = Path(path) if path else DEFAULT_BOILERPLATE
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    rules = []
    for i, spec in enumerate(data.get("rules") or []):
        try:
            pattern = re.compile(rf"^(?:{spec['pattern']})$", re.IGNORECASE)
        except (KeyError, re.error) as exc:
            raise ValueError(f"{path}: rules[{i}] ({spec.get('name', '?')}): bad pattern: {exc}") from exc
        rules.append(BoilerplateRule(str(spec.get("name", f"rule{i}")), pattern, int(spec.get("drop_following", 0))))
    return BoilerplateRules(tuple(rules), bool(data.get("drop_consecutive_duplicates", True)))


def normalise_newlines(raw: str) -> str:
    """The only changes ever made to article text: a leading BOM and CR/CRLF line ends."""
    if raw.startswith("\ufeff"):
        raw = raw[1:]
    return raw.replace("\r\n", "\n").replace("\r", "\n")


def strip_boilerplate(text: str, rules: BoilerplateRules) -> tuple[str, list[dict]]:
    """Drop whole boilerplate lines; return the cleaned text and what was dropped (1-based line numbers)."""
    lines = text.split("\n")
    keep: list[str] = []
    dropped: list[dict] = []
    follow_left, follow_rule = 0, ""
    last_kept_content = None
    for number, line in enumerate(lines, 1):
        stripped = line.strip()
        reason = None
        if stripped and follow_left:
            reason = f"{follow_rule} (following line)"
            follow_left -= 1
        elif stripped:
            for rule in rules.rules:
                if rule.pattern.match(stripped):
                    reason = rule.name
                    follow_left, follow_rule = rule.drop_following, rule.name
                    break
            if reason is None and rules.drop_consecutive_duplicates and stripped == last_kept_content:
                reason = "repeated line"
        if reason:
            dropped.append({"line": number, "rule": reason, "text": line})
            continue
        keep.append(line)
        if stripped:
            last_kept_content = stripped
    cleaned = "\n".join(keep)
    # Dropping lines can leave the article starting with blank lines; those carry nothing.
    return cleaned.lstrip("\n"), dropped


def find_headline(text: str) -> str:
    for line in text.split("\n"):
        if len(line.split()) >= 3:
            return line.strip()
    return ""


def find_date(text: str) -> str:
    m = _DATE_AR.search(text)
    if m:
        day, month, year = int(m.group(1)), _MONTHS[m.group(2)], int(m.group(3))
        if 1 <= day <= 31:
            return f"{year:04d}-{month:02d}-{day:02d}"
    m = _DATE_ISO.search(text)
    return m.group(0) if m else ""


def make_document(raw_text: str, source: str, rules: BoilerplateRules | None,
                  metadata: dict | None = None, doc_id: str | None = None) -> Document:
    text = normalise_newlines(raw_text)
    dropped: list[dict] = []
    if rules is not None:
        text, dropped = strip_boilerplate(text, rules)
    problem = text_problem(text)
    if problem and dropped and problem.startswith("empty"):  # the boilerplate rules took what there was
        problem = "empty after cleaning" + problem[len("empty"):]
    if problem:
        raise ValueError(problem)
    meta = dict(metadata or {})
    meta.setdefault("headline", find_headline(text))
    meta.setdefault("date", find_date(text))
    meta["source"] = source
    meta["boilerplate_dropped"] = dropped
    return Document(id=doc_id or document_id(text), text=text, metadata=meta,
                    provenance=Provenance(source=source, source_sha256=hashlib.sha256(raw_text.encode()).hexdigest()))


def _decode(path: Path) -> str:
    data = path.read_bytes()
    if b"\x00" in data:  # anywhere: a NUL after the first few KiB is as binary as one before
        raise ValueError(f"binary file (a NUL byte at byte {data.index(0)})")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"not UTF-8 (byte {exc.start}: {data[exc.start:exc.start + 1]!r})") from exc


def expand_inputs(paths: Iterable[str | Path]) -> list[Path]:
    """Files named directly, plus the .txt/.jsonl files of named folders (sorted, recursively)."""
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out += sorted(f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in (".txt", ".jsonl"))
        else:
            out.append(p)
    return out


def ingest(paths: Iterable[str | Path], rules: BoilerplateRules | None = None,
           strip: bool = True, progress: Callable[[int], None] | None = None) -> IngestResult:
    """Read every input; documents keep input order, duplicates (same cleaned text) are rejected, not merged."""
    result = IngestResult()
    stream = IngestStream(paths, rules, strip, progress=lambda files, _bytes, _docs: progress(files) if progress
                          else None)
    for item in stream:
        (result.documents if isinstance(item, Document) else result.rejected).append(item)
    result.inputs = stream.inputs
    return result


class IngestStream:
    """Every input as a stream of Documents and Rejected records, in input order, holding one record at a time
    (plus, for the duplicate check, each accepted document's id with where it came from as two integers).

    `num_proc` > 1 cleans the records in worker processes; they come back in input order, so the stream is
    the same as with one process. `progress(files, bytes, documents)` is told about each step."""

    def __init__(self, paths: Iterable[str | Path], rules: BoilerplateRules | None = None, strip: bool = True,
                 num_proc: int = 1, progress: Callable[[int, int, int], None] | None = None) -> None:
        if strip and rules is None:
            rules = load_boilerplate_rules()
        self.rules = rules if strip else None
        self.files = expand_inputs(paths)
        self.num_proc = max(1, num_proc)
        self.progress = progress
        self.inputs = 0  # every input record: a line of JSONL, a .txt file, a missing or unreadable file
        self.dropped_lines = 0
        # id -> index of the file << 32 | line number: one int, enough to name the first of two duplicates
        self._seen: dict[str, int] = {}
        self._texts: dict[str, int] = {}  # content id -> the same, for documents given their own id
        self.warnings: list[str] = []  # the same text under two ids: both kept, said once per later copy

    def _source(self, file_index: int, lineno: int) -> str:
        path = self.files[file_index]
        return f"{path}:{lineno}" if lineno else str(path)

    def _items(self) -> Iterator[tuple]:
        """Work items, cheap to make and to send to a worker: a JSONL line's bytes or a .txt file's path."""
        for index, path in enumerate(self.files):
            if self.progress:
                self.progress(1, 0, 0)
            if not path.exists():
                yield ("rejected", index, 0, "no such file")
                continue
            if path.suffix.lower() == ".json":
                # read as text it would become one article made of raw JSON
                yield ("rejected", index, 0, "a .json file is not read as articles: give plain-text files (.txt) or "
                       "JSON Lines, one {\"id\", \"text\"} object per line (.jsonl)")
                continue
            if path.suffix.lower() == ".jsonl":
                try:
                    for lineno, _, chunk in raw_lines(path):
                        yield ("line", index, lineno, chunk)
                except OSError as exc:
                    yield ("rejected", index, 0, f"cannot read: {exc.strerror}")
            else:
                yield ("file", index, 0, str(path))

    def __iter__(self) -> Iterator[Document | Rejected]:
        items = self._items()
        if self.num_proc == 1:
            done = (_clean(item, self.rules, self.files) for item in items)
            yield from self._accepted(done)
            return
        ctx = multiprocessing.get_context("spawn" if sys.platform == "darwin" else "fork")
        with ctx.Pool(self.num_proc, _init_worker, (self.rules, self.files)) as pool:
            # Blocks in input order, the next one cleaned while the caller consumes this one: at most two
            # blocks in memory. (Pool.imap would keep every finished result queued for a slower consumer.)
            pending = None
            for block in _blocks(items, BLOCK):
                following = pool.map_async(_clean_in_worker, block, chunksize=64)
                if pending is not None:
                    yield from self._accepted(pending.get())
                pending = following
            if pending is not None:
                yield from self._accepted(pending.get())

    def _accepted(self, done: Iterable[tuple]) -> Iterator[Document | Rejected]:
        for kind, index, lineno, size, value, record in done:
            self.inputs += 1
            if self.progress:
                self.progress(0, size, kind == "doc")
            if kind == "rejected":
                yield value
                continue
            doc: Document = value
            # one int per id: the text's hash above where the id was first seen (file index, line)
            text_hash = hash(doc.text) & _HASH_MASK
            first = self._seen.get(doc.id)
            if first is not None:
                source = self._source(index, lineno)
                where = self._source(first >> 32 & 0xFFFFFFFF, first & 0xFFFFFFFF)
                same = "same text" if first >> 64 == text_hash else "same id, different text"
                yield Rejected(source, f"duplicate of {where} ({same}, id {doc.id})", record)
                continue
            self._seen[doc.id] = text_hash << 64 | index << 32 | lineno
            content = document_id(doc.text) if record is not None and "id" in record else doc.id
            same = self._texts.setdefault(content, index << 32 | lineno)
            if same != index << 32 | lineno:
                self.warnings.append(f"{self._source(index, lineno)}: the same text as "
                                     f"{self._source(same >> 32, same & 0xFFFFFFFF)} under another id ({doc.id}); "
                                     "both are kept: annotators would label it twice")
            self.dropped_lines += len(doc.metadata.get("boilerplate_dropped", []))
            yield doc


_HASH_MASK = (1 << 64) - 1
BLOCK = 2048  # records per block handed to the worker processes


def _blocks(items: Iterator[tuple], size: int) -> Iterator[list[tuple]]:
    block: list[tuple] = []
    for item in items:
        block.append(item)
        if len(block) >= size:
            yield block
            block = []
    if block:
        yield block


_WORKER: dict = {}


def _init_worker(rules: BoilerplateRules | None, files: list[Path]) -> None:
    _WORKER["rules"], _WORKER["files"] = rules, files


def _clean_in_worker(item: tuple) -> tuple:
    return _clean(item, _WORKER["rules"], _WORKER["files"])


def _clean(item: tuple, rules: BoilerplateRules | None, files: list[Path]) -> tuple:
    """One work item -> ("doc" | "rejected", file index, line number, bytes read, Document | Rejected, the input
    record of a JSONL document, which the duplicate check quarantines with it)."""
    kind, index, lineno, payload = item
    path = files[index]
    if kind == "rejected":
        return "rejected", index, lineno, 0, Rejected(str(path), payload), None
    if kind == "file":
        try:
            doc = make_document(_decode(path), str(path), rules, {"file": path.name})
        except (ValueError, OSError) as exc:
            return "rejected", index, 0, 0, Rejected(str(path), str(exc)), None
        return "doc", index, 0, 0, doc, None
    line = parse_line(f"{path}:{lineno}", payload)
    size = len(payload) + 1
    if line.error:
        return "rejected", index, lineno, size, Rejected(line.source, line.error, {"line": line.raw}), None
    try:
        doc = _jsonl_document(line.value, line.source, rules)
    except ValueError as exc:
        record = line.value if isinstance(line.value, dict) else {"value": line.value}
        if non_finite(record):  # kept as its text: a bare NaN would make the quarantine file itself not JSON
            record = {"line": line.raw}
        return "rejected", index, lineno, size, Rejected(line.source, str(exc), record), None
    return "doc", index, lineno, size, doc, line.value


def _jsonl_document(record, source: str, rules: BoilerplateRules | None) -> Document:
    """One JSONL article record ({"text", optional "id", anything else as metadata}) -> a Document."""
    if not isinstance(record, dict) or not isinstance(record.get("text"), str):
        raise ValueError("field 'text' is missing or not a string")
    doc_id = record.get("id")
    if doc_id is not None and (isinstance(doc_id, bool) or not isinstance(doc_id, (str, int))
                               or not str(doc_id).strip()):
        raise ValueError(f"field 'id' must be a non-empty string or an integer, got {doc_id!r}")
    meta = {k: v for k, v in record.items() if k not in ("text", "id")}
    bad = non_finite(meta)
    if bad:
        raise ValueError(bad)
    return make_document(record["text"], source, rules, meta, None if doc_id is None else str(doc_id))
