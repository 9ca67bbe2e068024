"""What counts as the same mention, the same trigger and the same argument, and how mentions that differ are
classified. The scorer, the agreement between annotators and adjudication all compare through these, so an
extractor's score, the human ceiling shown beside it and an adjudicator's list of disagreements count alike.

>>> from annotate.core.model import Argument, Document, Entity, Event, Span
>>> doc = Document("d", "قال الكاظمي", [Entity("e1", 4, 11, "PER")],
...                [Event("v1", "Contact.Statement", Span(0, 3), {}, (Argument("Speaker", "e1"),))])
>>> argument_keys(doc, "classification")
{('Contact.Statement', 'Speaker', 4, 11)}
>>> classify_mentions({(0, 5, "PER")}, {(0, 5, "ORG")})
[('wrong_type', (0, 5, 'PER'), (0, 5, 'ORG'))]
"""

from __future__ import annotations

from collections import defaultdict

from ..core.model import Document, Entity, Event

Mention = tuple[int, int, str]  # (start, end, type): an entity or a trigger
ARGUMENT_KINDS = ("identification", "classification", "identification_with_trigger", "classification_with_trigger")
# "link" is the argument as drawn in Label Studio (trigger region, entity region, role): what adjudication
# keeps or drops. It is not scored: an argument is scored by its event type and span, entity types by the
# entity tables.
LINK = "link"
ERROR_KINDS = ("correct", "wrong_type", "wrong_boundary", "missed", "spurious", "wrong_type_predicted")


def entity_mentions(doc: Document) -> set[Mention]:
    return {(e.start, e.end, e.type) for e in doc.entities}


def trigger_mentions(doc: Document) -> set[Mention]:
    return {(v.trigger.start, v.trigger.end, v.type) for v in doc.events}


def argument_key(event: Event, entity: Entity, role: str, kind: str) -> tuple:
    """The one definition of "the same argument", per kind."""
    trigger = (event.trigger.start, event.trigger.end, event.type)
    if kind == "identification":
        return (event.type, entity.start, entity.end)
    if kind == "classification":
        return (event.type, role, entity.start, entity.end)
    if kind == "identification_with_trigger":
        return (*trigger, entity.start, entity.end)
    if kind == "classification_with_trigger":
        return (*trigger, role, entity.start, entity.end)
    if kind == LINK:
        return (trigger, (entity.start, entity.end, entity.type), role)
    raise ValueError(f"unknown argument kind {kind!r}")


def argument_keys(doc: Document, kind: str) -> set[tuple]:
    ents = doc.entity_by_id()
    return {argument_key(v, ents[a.entity], a.role, kind) for v in doc.events for a in v.arguments}


def classify_mentions(gold: set[Mention], pred: set[Mention]) -> list[tuple[str, Mention | None, Mention | None]]:
    """Pair every gold and every predicted mention exactly once, as (kind, gold, predicted):
    correct (same span and type), wrong_type (same span, another type), wrong_boundary (same type,
    overlapping span), then missed (gold left alone) and spurious (prediction left alone). A prediction
    already used for a correct match cannot also explain another gold mention, so a missed inner mention of
    the same type as a correct outer one is missed, and a second type on a correct span is spurious."""
    out: list[tuple[str, Mention | None, Mention | None]] = [("correct", m, m) for m in sorted(gold & pred)]
    free = set(pred - gold)
    by_span: dict[tuple[int, int], list[Mention]] = defaultdict(list)
    for m in sorted(free):
        by_span[m[:2]].append(m)
    left: list[Mention] = []
    for g in sorted(gold - pred):
        same_span = by_span.get(g[:2])
        if same_span:
            p = same_span.pop(0)
            free.discard(p)
            out.append(("wrong_type", g, p))
        else:
            left.append(g)
    for g in left:
        overlapping = [p for p in free if p[2] == g[2] and p[0] < g[1] and g[0] < p[1]]
        if overlapping:
            p = max(overlapping, key=lambda p: (min(p[1], g[1]) - max(p[0], g[0]), -p[0], -p[1]))
            free.discard(p)
            out.append(("wrong_boundary", g, p))
        else:
            out.append(("missed", g, None))
    out += [("spurious", None, p) for p in sorted(free)]
    return out


def overlaps_same_type(mention: Mention, others: set[Mention]) -> bool:
    """A mention of the same type whose span overlaps (the "overlap" agreement)."""
    s, e, label = mention
    return any(lab == label and s < e2 and s2 < e for s2, e2, lab in others)
