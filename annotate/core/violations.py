"""Schema violations in a prediction, element by element, so that each one can be scored as an error.

A prediction that breaks the schema (an unknown type, a role the event type lacks, an argument whose entity
type the role does not accept) is an extractor error, not a malformed record: the rest of the document is
still scored, and the offending element is scored as a prediction that cannot match gold. `void` says which
element that is; entities need none (an unknown type matches no gold entity anyway) and attributes are not
scored.
"""

from __future__ import annotations

from dataclasses import dataclass

from .model import Document
from .schema import Schema

Void = tuple[str, ...]  # ("event", event id) or ("argument", event id, argument index)


@dataclass(frozen=True)
class Violation:
    doc: str
    message: str
    void: Void | None = None

    def to_json(self) -> dict:
        return {"doc": self.doc, "message": self.message}


def schema_violations(doc: Document, schema: Schema) -> list[Violation]:
    out: list[Violation] = []
    entities = doc.entity_by_id()
    for ent in doc.entities:
        if ent.type not in schema.entity_types:
            out.append(Violation(doc.id, f"entity {ent.id}: type {ent.type!r} is not an entity type of schema "
                                         f"{schema.name}"))
    for ev in doc.events:
        where = f"event {ev.id} ({ev.type})"
        etype = schema.event_types.get(ev.type)
        if etype is None:
            out.append(Violation(doc.id, f"{where}: type {ev.type!r} is not an event type of schema {schema.name}",
                                 ("event", ev.id)))
            continue
        for name, value in ev.attributes.items():
            attr = schema.attributes.get(name)
            if attr is None:
                out.append(Violation(doc.id, f"{where}: attribute {name!r} is not in the schema"))
            elif value not in attr.values:
                out.append(Violation(doc.id, f"{where}: attribute {name}={value!r} is not one of "
                                             f"{list(attr.values)}"))
        for k, arg in enumerate(ev.arguments):
            accepted = etype.roles.get(arg.role)
            if accepted is None:
                out.append(Violation(doc.id, f"{where}: role {arg.role!r} is not allowed for {ev.type} (allowed: "
                                             f"{', '.join(etype.roles)})", ("argument", ev.id, str(k))))
            elif entities[arg.entity].type not in accepted:
                out.append(Violation(doc.id, f"{where}: role {arg.role} does not accept entity {arg.entity} of type "
                                             f"{entities[arg.entity].type} (accepts {', '.join(accepted)})",
                                     ("argument", ev.id, str(k))))
    return out


def voided(violations: list[Violation]) -> dict[str, set[Void]]:
    """Per document, the elements that must not match gold."""
    out: dict[str, set[Void]] = {}
    for v in violations:
        if v.void:
            out.setdefault(v.doc, set()).add(v.void)
    return out
