"""The one in-memory model every adapter converts to and from.

A `Document` holds its exact text and character-offset annotations. Offsets are Python code points into the
unmodified text, end-exclusive. Tokens and BIO tags are derived views (see `tokenize` and `bio`), never stored
here as the truth.
"""

from __future__ import annotations

import copy
import hashlib
from dataclasses import dataclass, field

TATWEEL = "\u0640"
# Spans (entities + event triggers) one document may hold. A news article has a few hundred; tens of thousands
# are a broken export or extractor, and every span can open one more BIO layer (a layer is a row of tags per
# token), so such a record is refused by name instead of filling memory.
MAX_SPANS_PER_DOCUMENT = 10_000


def document_id(text: str) -> str:
    """The content id of a text: the same text always gets the same id, whatever file it came from."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


@dataclass
class Rejected:
    """An input record that did not make it into the output, with where it came from and why: every step's
    quarantine file is a list of these."""
    source: str  # file and line, or file and task position
    reason: str
    record: object = None  # what was rejected, kept so nothing is lost (written as "task" when it is one)
    task_id: object = None  # the Label Studio task id, when the record is a task

    def to_json(self) -> dict:
        out: dict = {"source": self.source}
        if self.task_id is not None:
            out["task_id"] = self.task_id
        out["reason"] = self.reason
        if self.record is not None:
            out["task" if self.task_id is not None else "record"] = self.record
        return out


class SpanError(ValueError):
    """A span that cannot exist in its text (out of range, empty, or on whitespace/tatweel)."""


def check_span(text: str, start: int, end: int, what: str = "span") -> None:
    """Raise SpanError unless text[start:end] is a non-empty span with no outer whitespace or tatweel."""
    if not (isinstance(start, int) and isinstance(end, int)) or isinstance(start, bool) or isinstance(end, bool):
        raise SpanError(f"{what}: offsets must be integers, got start={start!r} end={end!r}")
    if not 0 <= start < end <= len(text):
        raise SpanError(f"{what}: offsets [{start}, {end}) are outside the text (length {len(text)}) or empty")
    first, last = text[start], text[end - 1]
    if first.isspace() or first == TATWEEL:
        raise SpanError(f"{what}: [{start}, {end}) starts on {_name(first)}: {text[start:end]!r}")
    if last.isspace() or last == TATWEEL:
        raise SpanError(f"{what}: [{start}, {end}) ends on {_name(last)}: {text[start:end]!r}")


def _name(ch: str) -> str:
    return "tatweel" if ch == TATWEEL else f"whitespace {ch!r}"


@dataclass(frozen=True, order=True)
class Span:
    start: int
    end: int


@dataclass(frozen=True)
class Entity:
    id: str
    start: int
    end: int
    type: str


@dataclass(frozen=True)
class Argument:
    role: str
    entity: str  # Entity.id


@dataclass(frozen=True)
class Event:
    id: str
    type: str
    trigger: Span
    attributes: dict[str, str] = field(default_factory=dict, hash=False)
    arguments: tuple[Argument, ...] = ()


@dataclass(frozen=True)
class Provenance:
    annotators: tuple[str, ...] = ()  # everyone whose annotation is behind the document (adjudicated passes too)
    annotation_ids: tuple[str, ...] = ()
    source: str = ""  # file or export the document came from
    source_sha256: str = ""
    reviewers: tuple[str, ...] = ()  # who adjudicated it (the author of the ground-truth review), if anyone


class FrozenDict(dict):
    """A dict that refuses changes after it is made (JSON-serialisable, unlike MappingProxyType): a Document's
    metadata cannot drift while the Document is passed around."""

    def _refuse(self, *args, **kwargs):
        raise TypeError("Document metadata is read-only; make a new Document with dataclasses.replace")

    __setitem__ = __delitem__ = clear = pop = popitem = setdefault = update = _refuse  # type: ignore[assignment]

    def __ior__(self, other):  # d |= {...}
        self._refuse()

    def __reduce__(self):  # pickles (multiprocessing) as a plain dict, rebuilt read-only by Document
        return (dict, (dict(self),))


@dataclass(frozen=True)
class Document:
    """A validated, immutable document: every change (`dataclasses.replace`) makes and validates a new one.
    Entities and events are tuples, metadata a read-only dict."""
    id: str
    text: str
    entities: tuple[Entity, ...] = ()
    events: tuple[Event, ...] = ()
    metadata: dict = field(default_factory=dict)
    provenance: Provenance = field(default_factory=Provenance)

    def __post_init__(self) -> None:
        object.__setattr__(self, "entities", tuple(self.entities))
        object.__setattr__(self, "events", tuple(self.events))
        if not isinstance(self.metadata, FrozenDict):
            object.__setattr__(self, "metadata", FrozenDict(self.metadata))
        self.validate()

    __hash__ = None  # value semantics for equality only: metadata is a dict

    def validate(self) -> None:
        """Check spans and references; raise SpanError naming the document and the offending item."""
        if len(self.entities) + len(self.events) > MAX_SPANS_PER_DOCUMENT:
            raise SpanError(f"document {self.id}: {len(self.entities)} entities and {len(self.events)} events, "
                            f"more than the {MAX_SPANS_PER_DOCUMENT:,} spans one document may hold")
        ids: set[str] = set()
        for ent in self.entities:
            if ent.id in ids:
                raise SpanError(f"document {self.id}: duplicate id {ent.id!r}")
            ids.add(ent.id)
            check_span(self.text, ent.start, ent.end, f"document {self.id}: entity {ent.id} ({ent.type})")
        entity_ids = set(ids)
        for ev in self.events:
            if ev.id in ids:
                raise SpanError(f"document {self.id}: duplicate id {ev.id!r}")
            ids.add(ev.id)
            check_span(self.text, ev.trigger.start, ev.trigger.end,
                       f"document {self.id}: event {ev.id} ({ev.type}) trigger")
            for arg in ev.arguments:
                if arg.entity not in entity_ids:
                    raise SpanError(f"document {self.id}: event {ev.id} argument {arg.role} points at "
                                    f"unknown entity {arg.entity!r}")

    def entity_by_id(self) -> dict[str, Entity]:
        return {e.id: e for e in self.entities}

    def relabelled(self, metadata: dict | None = None, provenance: Provenance | None = None) -> Document:
        """A copy with other metadata and/or provenance. Spans and references are those of a validated
        Document, so they are not checked again (`dataclasses.replace` would: an import does this per task)."""
        new = copy.copy(self)
        if metadata is not None:
            object.__setattr__(new, "metadata", FrozenDict(metadata))
        if provenance is not None:
            object.__setattr__(new, "provenance", provenance)
        return new
