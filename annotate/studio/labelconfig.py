"""Another project's Label Studio labeling config (XML) -> a schema: its Labels controls with their names (a
control named like `trigger` or `event` holds triggers, the others entities), its Relations (roles of every
event type when there are triggers, else relations between entities), its per-region Choices (attributes)
and its Choices about the whole text (document choices). `annotate schema --from-config` writes the result
as YAML; `--config` on import, agree and adjudicate reads it directly. Read with the standard library's XML
parser, so the lean install (no label-studio-sdk) can do it.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

from ..core.schema import Attribute, Controls, DocumentChoice, EntityType, EventType, Schema


class ConfigError(ValueError):
    pass


TRIGGER_WORDS = ("trigger", "event")  # a Labels control whose name holds one of these holds triggers


@dataclass
class _Parts:
    text: str | None = None
    entity: dict[str, list[str]] = field(default_factory=dict)  # control -> labels
    trigger: dict[str, list[str]] = field(default_factory=dict)
    relations: list[str] = field(default_factory=list)
    region_choices: dict[str, list[str]] = field(default_factory=dict)
    document_choices: dict[str, tuple[list[str], bool]] = field(default_factory=dict)


def _read(xml: str) -> _Parts:
    try:
        root = ET.fromstring(xml)
    except ET.ParseError as exc:
        raise ConfigError(f"not a valid labeling config (XML): {exc}") from None
    parts = _Parts()
    for node in root.iter():
        tag, name = node.tag.lower(), node.get("name", "")
        if tag in ("labels", "hypertextlabels"):
            labels = [v for v in (c.get("value") for c in node if c.tag.lower() == "label") if v]
            target = parts.trigger if any(w in name.lower() for w in TRIGGER_WORDS) else parts.entity
            target[name] = list(dict.fromkeys(labels))
        elif tag in ("text", "hypertext") and parts.text is None and node.get("value", "").startswith("$"):
            parts.text = node.get("value")[1:]
        elif tag == "relation" and node.get("value") and node.get("value") not in parts.relations:
            parts.relations.append(node.get("value"))
        elif tag == "choices":
            values = list(dict.fromkeys(v for v in (c.get("value") for c in node if c.tag.lower() == "choice") if v))
            if node.get("perRegion", node.get("perregion", "")).lower() == "true":
                parts.region_choices[name] = values
            else:
                parts.document_choices[name] = (values, node.get("choice", "single").lower() == "multiple")
    if not parts.entity and not parts.trigger:
        raise ConfigError("no Labels control: a text-span project's config has one or more <Labels>")
    return parts


def schema_from_config(xml: str, name: str = "imported-config") -> Schema:
    """A permissive schema for any text-span project: every role accepts every entity type."""
    parts = _read(xml)
    entity_labels = list(dict.fromkeys(label for labels in parts.entity.values() for label in labels))
    trigger_labels = list(dict.fromkeys(label for labels in parts.trigger.values() for label in labels))
    both = set(entity_labels) & set(trigger_labels)
    if both:
        raise ConfigError(f"label {sorted(both)[0]!r} is offered by an entity control and a trigger control")
    roles = {r: tuple(entity_labels) for r in parts.relations} if trigger_labels else {}
    # A control the config does not have keeps this toolkit's name: nothing is routed to it.
    controls = Controls(parts.text or "text", tuple(parts.entity) or Controls().entity,
                        tuple(parts.trigger) or Controls().trigger)
    return Schema(
        name=name, version=1,
        entity_types={n: EntityType(n) for n in entity_labels},
        event_types={n: EventType(n, dict(roles)) for n in trigger_labels},
        attributes={n: Attribute(n, tuple(v)) for n, v in parts.region_choices.items() if v},
        controls=controls,
        relations=() if trigger_labels else tuple(parts.relations),
        document_choices={n: DocumentChoice(n, tuple(v), multiple)
                          for n, (v, multiple) in parts.document_choices.items() if v},
        description=f"Read from a Label Studio labeling config ({name}).",
    )
