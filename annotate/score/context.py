"""Errors in context: every gold and predicted span of a document with its error kind, for the report's view.

Entities and triggers are paired with the same one-to-one rule as the error breakdown (`classify_mentions`),
so a mark's kind here is the category it is counted in there. Each side's spans get layers (`assign_layers`:
layer 0 outermost) so nested spans can be drawn as separate lines. Trigger -> argument links are compared as
(trigger span, event type, role, argument span) tuples, the `classification_with_trigger` key of the scorer.
The result is plain JSON (the report carries it under `in_context`), so the HTML view needs nothing else.
"""

from __future__ import annotations

import heapq
from dataclasses import asdict, dataclass

from ..core.bio import aligned_tokens, assign_layers
from ..core.model import Document
from ..core.schema import Schema, SchemaError, load_schema
from ..core.tokenize import sentences
from ..core.violations import Void
from .errorview import MAX_DOCUMENTS
from .scorer import classify_mentions

MARK_KINDS = ("correct", "wrong_type", "wrong_boundary", "missed", "spurious")
# a palette for types the schema gives no colour (event types): taken in schema order, so types of one schema
# never share a colour (up to 12 of them) and keep theirs from one report to the next
PALETTE = ("#e63946", "#457b9d", "#8338ec", "#ff006e", "#fb8500", "#3a86ff", "#06a77d", "#b5179e", "#7f5539",
           "#588157", "#d62828", "#4361ee")


@dataclass(frozen=True)
class Mark:
    side: str  # "gold" | "pred"
    what: str  # "entity" | "trigger"
    start: int
    end: int
    type: str
    kind: str  # one of MARK_KINDS
    layer: int = 0
    note: str = ""


@dataclass(frozen=True)
class Link:
    """A trigger -> argument link, on the gold side, the predicted side, or both (kind `correct`)."""
    side: str  # "gold" | "pred" | "both"
    event_type: str
    trigger: tuple[int, int]
    role: str
    argument: tuple[int, int]
    kind: str  # correct | missed | spurious


def _paired(gold: set, pred: set, what: str, text: str) -> list[Mark]:
    out: list[Mark] = []
    for kind, g, p in classify_mentions(gold, pred):
        if g is not None:
            note = {"wrong_type": f"predicted {p[2]}" if p else "",
                    "wrong_boundary": f"predicted {text[p[0]:p[1]]!r}" if p else ""}.get(kind, "")
            out.append(Mark("gold", what, g[0], g[1], g[2], kind, note=note))
        if p is not None:
            note = {"wrong_type": f"gold {g[2]}" if g else "",
                    "wrong_boundary": f"gold {text[g[0]:g[1]]!r}" if g else ""}.get(kind, "")
            out.append(Mark("pred", what, p[0], p[1], p[2], kind, note=note))
    return out


def _links(doc: Document, void: set[Void]) -> set[tuple]:
    ents = doc.entity_by_id()
    out = set()
    for v in doc.events:
        if ("event", v.id) in void:
            continue
        for k, a in enumerate(v.arguments):
            if ("argument", v.id, str(k)) in void or a.entity not in ents:
                continue
            e = ents[a.entity]
            out.add((v.type, v.trigger.start, v.trigger.end, a.role, e.start, e.end))
    return out


def _layered(marks: list[Mark]) -> list[Mark]:
    """Layers per side over entities and triggers together, so no two marks of a side share a line."""
    out: list[Mark] = []
    for side in ("gold", "pred"):
        mine = [m for m in marks if m.side == side]
        layers = assign_layers([(m.start, m.end, f"{m.what}:{m.type}") for m in mine])
        out += [Mark(m.side, m.what, m.start, m.end, m.type, m.kind, layer, m.note) for m, layer in zip(mine, layers)]
    return sorted(out, key=lambda m: (m.start, -m.end, m.side, m.layer))


def _marks(gold: Document, pred: Document, void: set[Void]) -> list[Mark]:
    """Every mark of a document, not yet layered."""
    g_ents = {(e.start, e.end, e.type) for e in gold.entities}
    p_ents = {(e.start, e.end, e.type) for e in pred.entities}
    g_trig = {(v.trigger.start, v.trigger.end, v.type) for v in gold.events}
    p_trig = {(v.trigger.start, v.trigger.end, v.type) for v in pred.events if ("event", v.id) not in void}
    marks = _paired(g_ents, p_ents, "entity", gold.text) + _paired(g_trig, p_trig, "trigger", gold.text)
    # a predicted event of a type the schema lacks never matches (as in the scores): shown as spurious
    marks += [Mark("pred", "trigger", v.trigger.start, v.trigger.end, v.type, "spurious", note="schema violation")
              for v in pred.events if ("event", v.id) in void]
    return marks


def document_context(gold: Document, pred: Document, void: set[Void] | None = None,
                     marks: list[Mark] | None = None) -> dict:
    """One document for the view: text, sentence ranges, marks and links (JSON-ready)."""
    void = void or set()
    marks = _layered(_marks(gold, pred, void) if marks is None else marks)
    gl, pl = _links(gold, set()), _links(pred, void)
    links = [Link("both" if t in pl else "gold", t[0], (t[1], t[2]), t[3], (t[4], t[5]),
                  "correct" if t in pl else "missed") for t in sorted(gl)]
    links += [Link("pred", t[0], (t[1], t[2]), t[3], (t[4], t[5]), "spurious") for t in sorted(pl - gl)]
    links.sort(key=lambda x: (x.trigger, x.event_type, x.role, x.argument, x.side))  # reading order
    bounds = [(m.start, m.end) for m in marks]
    tokens = aligned_tokens(gold.text, bounds)
    sents = [[tokens[a].start, tokens[b - 1].end] for a, b in sentences(gold.text, tokens)]
    return {"id": gold.id, "text": gold.text, "sentences": sents,
            "marks": [asdict(m) for m in marks], "links": [_link_json(x) for x in links]}


def _link_json(link: Link) -> dict:
    d = asdict(link)
    d["trigger"], d["argument"] = list(link.trigger), list(link.argument)
    return d


def type_colours(schema: Schema, schema_name: str = "") -> dict[str, str]:
    """Colour per entity and event type: the schema's colour where it has one, else a stable palette colour.
    A gold set keeps only the schema's types, not its colours, so they are read from the bundled schema file
    when it is the same schema (same name)."""
    colours = {t.name: t.color for t in schema.entity_types.values() if t.color}
    if not colours:
        try:
            bundled = load_schema()
        except SchemaError:
            bundled = None
        if bundled is not None and bundled.name == (schema_name or schema.name):
            colours = {t.name: t.color for t in bundled.entity_types.values() if t.color}
    out = {}
    uncoloured = [n for n in [*schema.entity_types, *schema.event_types] if not colours.get(n)]
    for name in [*schema.entity_types, *schema.event_types]:
        out[name] = colours.get(name) or PALETTE[uncoloured.index(name) % len(PALETTE)]
    return out


def in_context(gold_docs: list[Document], predictions: dict[str, Document], void: dict[str, set[Void]],
               schema: Schema, schema_name: str = "", limit: int = MAX_DOCUMENTS) -> dict:
    """The `in_context` section of a report: colours and one entry per gold document (the `limit` with the
    most errors when there are more), in gold order."""
    keeper = ContextKeeper(schema, schema_name, limit)
    for g in gold_docs:
        keeper.add(g, predictions.get(g.id) or Document(g.id, g.text), void.get(g.id, set()))
    return keeper.result()


class ContextKeeper:
    """The `in_context` section built from a stream of documents: a heap keeps the `limit` documents with the
    most errors (ties: the earlier document), the very ones the HTML view draws, so memory holds `limit`
    documents however long the stream. With `limit` or fewer documents every one is kept, as before."""

    def __init__(self, schema: Schema, schema_name: str = "", limit: int = MAX_DOCUMENTS) -> None:
        self.colours = type_colours(schema, schema_name)
        self.limit = limit
        self.heap: list[tuple[int, int, dict]] = []  # (errors, -position, context): the root is the first to go
        self.seen = 0

    def add(self, gold: Document, pred: Document, void: set[Void] | None = None) -> None:
        void = void or set()
        marks = _marks(gold, pred, void)
        key = (sum(1 for m in marks if m.kind != "correct"), -self.seen)
        self.seen += 1
        if len(self.heap) < self.limit:
            heapq.heappush(self.heap, (*key, document_context(gold, pred, void, marks)))
        elif self.limit and key > self.heap[0][:2]:
            # only a document that gets in pays for its sentences and layers
            heapq.heapreplace(self.heap, (*key, document_context(gold, pred, void, marks)))

    def result(self) -> dict:
        docs = [entry[2] for entry in sorted(self.heap, key=lambda e: -e[1])]
        out = {"kinds": list(MARK_KINDS), "colours": self.colours, "documents": docs}
        if self.seen > len(docs):  # said only when documents were left out, so small reports stay as they were
            out["documents_total"] = self.seen
        return out
