"""Does a document's annotation conform to the schema? One list of plain-language problems per document."""

from __future__ import annotations

import unicodedata

from .model import Document
from .schema import Schema


def schema_problems(doc: Document, schema: Schema) -> list[str]:
    problems: list[str] = []
    entities = doc.entity_by_id()
    for ent in doc.entities:
        if ent.type not in schema.entity_types:
            problems.append(f"entity {ent.id}: label {ent.type!r} is not an entity type of schema {schema.name}")
    for ev in doc.events:
        where = f"event {ev.id} ({ev.type})"
        etype = schema.event_types.get(ev.type)
        if etype is None:
            problems.append(f"{where}: label {ev.type!r} is not an event type of schema {schema.name}")
            continue
        for name, value in ev.attributes.items():
            attr = schema.attributes.get(name)
            if attr is None:
                problems.append(f"{where}: attribute {name!r} is not in the schema")
            elif value not in attr.values:
                problems.append(f"{where}: attribute {name}={value!r} is not one of {list(attr.values)}")
        for arg in ev.arguments:
            ent = entities.get(arg.entity)
            if arg.role not in etype.roles:
                problems.append(f"{where}: role {arg.role!r} is not allowed for {ev.type} "
                                f"(allowed: {', '.join(etype.roles)})")
            elif ent is not None and ent.type not in etype.roles[arg.role]:
                problems.append(f"{where}: role {arg.role} does not accept entity {arg.entity} of type {ent.type} "
                                f"(accepts {', '.join(etype.roles[arg.role])})")
    return problems


PROCLITICS = "وفبلك"


def _edge_problem(ch: str) -> str | None:

    if ch.isspace():
        return "whitespace"
    if ch == "\u0640":
        return "tatweel"
    if unicodedata.category(ch).startswith("P"):
        return f"punctuation {ch!r}"
    return None


def guideline_problems(doc: Document, schema: Schema) -> list[str]:
    """The span rules of the guidelines that a machine can check: no span edge on punctuation, quotes, tatweel
    or whitespace; no proclitic (و ف ب ل ك) kept before the article ال, and no `لل` where the article's
    alef is elided (the span starts at the second ل); every argument's entity type accepted by its role."""
    problems = list(schema_problems(doc, schema))
    spans = [(f"entity {e.id} ({e.type})", e.start, e.end) for e in doc.entities]
    spans += [(f"trigger of event {v.id} ({v.type})", v.trigger.start, v.trigger.end) for v in doc.events]
    for what, start, end in spans:
        surface = doc.text[start:end]
        for side, ch in (("starts", surface[0]), ("ends", surface[-1])):
            bad = _edge_problem(ch)
            if bad:
                problems.append(f"{what} {side} on {bad}: {surface!r}")
        if len(surface) > 3 and surface[0] in PROCLITICS and surface[1:3] == "ال":
            problems.append(f"{what} starts with the proclitic {surface[0]!r} before ال: {surface!r}")
        if surface.startswith("لل"):
            problems.append(f"{what} starts with لل: the span should start at the second ل: {surface!r}")
    return problems
