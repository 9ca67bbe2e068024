"""Does a document's annotation conform to the schema? One list of plain-language problems per document."""

from __future__ import annotations

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
