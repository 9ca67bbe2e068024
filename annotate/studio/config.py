"""Schema <-> Label Studio labeling config (XML): the config and annotator instructions a schema makes, and the
routing of labels to entities and triggers (for our config, or read from any other project's config).

The control names here are the contract between tasks, exports and the config: entity spans live in the
`entity` Labels control, triggers in `trigger`, roles are `Relations` from a trigger region to an entity
region, and each schema attribute is a per-region `Choices` control named after the attribute. A schema may
name other controls (`controls:` in its YAML, as `annotate schema --from-config` writes for another project).
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from functools import cached_property
from xml.sax.saxutils import quoteattr

from ..core.schema import Schema

# What an export's value.text that disagrees with its offsets does (studio/export.py). Defined here, in a module
# every studio command loads anyway, so that the CLI can offer the choice without importing the export reader.
TEXT_MISMATCH_POLICIES = ("offsets", "quarantine")
EDGE_WHITESPACE_POLICIES = ("quarantine", "trim")  # a span edge on whitespace: the task quarantined, or trimmed

TEXT = "text"
ENTITY = "entity"
TRIGGER = "trigger"
RESERVED = {TEXT, ENTITY, TRIGGER}


def labeling_config(schema: Schema) -> str:
    """One Label Studio XML config: RTL text, symbol granularity, entity + trigger labels, roles, attributes."""
    for name in schema.attributes:
        if name in RESERVED:
            raise ValueError(f"schema attribute '{name}' clashes with a reserved control name {sorted(RESERVED)}")
    entity, trigger, text = schema.controls.entity[0], schema.controls.trigger[0], schema.controls.text
    out = ['<View>']
    out.append(f'  <Header value={quoteattr(f"{schema.name} v{schema.version}: entities and events")} size="4"/>')
    out.append(f'  <Labels name={quoteattr(entity)} toName="{TEXT}" showInline="true">')
    for e in schema.entity_types.values():
        out.append(f'    <Label value={quoteattr(e.name)}{_colour(e.color)}{_hint(e.description)}/>')
    out.append('  </Labels>')
    if schema.event_types:  # a NER-only schema has no trigger control (Label Studio refuses an empty Labels)
        out.append(f'  <Labels name={quoteattr(trigger)} toName="{TEXT}" showInline="true">')
        for v in schema.event_types.values():
            out.append(f'    <Label value={quoteattr(v.name)} background="#ff0000"{_hint(v.description)}/>')
        out.append('  </Labels>')
    # Why a wrapping View: the Text tag has no direction attribute; CSS direction on its container makes the
    # browser lay Arabic out right-to-left while offsets stay logical code points.
    out.append('  <View style="direction: rtl; text-align: right; font-size: 1.15em; line-height: 1.9">')
    out.append(f'    <Text name="{TEXT}" value={quoteattr("$" + text)} granularity="symbol"/>')
    out.append('  </View>')
    roles = schema.role_names + [r for r in schema.relations if r not in schema.role_names]
    if roles:
        out.append('  <Relations>')
        for role in roles:
            out.append(f'    <Relation value={quoteattr(role)}/>')
        out.append('  </Relations>')
    for choice in schema.document_choices.values():
        kind = "multiple" if choice.multiple else "single"
        out.append(f'  <Choices name={quoteattr(choice.name)} toName="{TEXT}" choice="{kind}" showInline="true">')
        out += [f'    <Choice value={quoteattr(value)}/>' for value in choice.values]
        out.append('  </Choices>')
    # attributes are chosen per trigger; in a NER-only schema (another project's per-region Choices) per entity
    region_control = trigger if schema.event_types else entity
    for attr in schema.attributes.values():
        out.append(f'  <View visibleWhen="region-selected" whenTagName={quoteattr(region_control)}>')
        out.append(f'    <Header value={quoteattr(attr.name + ": " + attr.description)} size="6"/>')
        out.append(f'    <Choices name={quoteattr(attr.name)} toName="{TEXT}" perRegion="true" choice="single" '
                   'showInline="true">')
        for value in attr.values:
            out.append(f'      <Choice value={quoteattr(value)}/>')
        out.append('    </Choices>')
        out.append('  </View>')
    out.append('</View>')
    return "\n".join(out) + "\n"


def _colour(colour: str) -> str:
    return f" background={quoteattr(colour)}" if colour else ""


def _hint(text: str) -> str:
    return f" hint={quoteattr(text)}" if text else ""


def instructions_html(schema: Schema) -> str:
    """Guidelines (a small Markdown subset) plus the role table, as HTML for the project's instructions."""
    parts = [_markdown_to_html(schema.guidelines)] if schema.guidelines else []
    parts.append("<h2>Event types and roles</h2><ul>")
    for v in schema.event_types.values():
        roles = "; ".join(f"<b>{html.escape(r)}</b> ← {', '.join(map(html.escape, t))}" for r, t in v.roles.items())
        trig = f" (e.g. {html.escape('، '.join(v.triggers[:4]))})" if v.triggers else ""
        parts.append(f"<li><b>{html.escape(v.name)}</b>{trig}: {html.escape(v.description)}<br>{roles}</li>")
    parts.append("</ul>")
    return "\n".join(parts)


def _markdown_to_html(md: str) -> str:
    # Deliberately tiny: headings, bullets, paragraphs, `code`. A Markdown library would be one more
    # dependency for a page of guidelines.
    out, in_list, para = [], False, []

    def inline(s: str) -> str:
        return re.sub(r"`([^`]+)`", r"<code>\1</code>", html.escape(s))

    def flush() -> None:
        nonlocal para
        if para:
            out.append(f"<p>{inline(' '.join(para))}</p>")
            para = []

    for line in md.splitlines():
        stripped = line.strip()
        if stripped.startswith("#"):
            flush()
            if in_list:
                out.append("</ul>")
                in_list = False
            level = min(len(stripped) - len(stripped.lstrip("#")), 6)
            out.append(f"<h{level}>{inline(stripped.lstrip('#').strip())}</h{level}>")
        elif stripped.startswith("- "):
            flush()
            if not in_list:
                out.append("<ul>")
                in_list = True
            out.append(f"<li>{inline(stripped[2:])}</li>")
        elif not stripped:
            flush()
            if in_list:
                out.append("</ul>")
                in_list = False
        elif in_list and out and line.startswith("  "):
            out[-1] = out[-1][:-5] + " " + inline(stripped) + "</li>"
        else:
            para.append(stripped)
    flush()
    if in_list:
        out.append("</ul>")
    return "\n".join(out)


@dataclass(frozen=True)
class Routing:
    """Which labels are entities and which are triggers; which Text field holds the document; all of it from
    the schema (its `controls`) unless given."""
    schema: Schema
    text_field: str | None = None  # None: the schema's controls.text
    # relations run between a trigger and an entity (roles); None: when the schema has event types. Otherwise
    # relations between any two regions are kept in the document's metadata.
    strict_relations: bool | None = None
    # Labels control name -> the labels it offers; None: the schema's controls.
    control_labels: dict[str, frozenset[str]] | None = field(default=None, hash=False)

    def __post_init__(self) -> None:
        if self.text_field is None:
            object.__setattr__(self, "text_field", self.schema.controls.text)
        if self.strict_relations is None:
            object.__setattr__(self, "strict_relations", bool(self.schema.event_types))

    def kind(self, label: str) -> str | None:
        if label in self.schema.entity_types:
            return "entity"
        if label in self.schema.event_types:
            return "trigger"
        return None

    def controls(self) -> dict[str, frozenset[str]]:
        if self.control_labels is not None:
            return self.control_labels
        return self._schema_controls

    @cached_property
    def _schema_controls(self) -> dict[str, frozenset[str]]:
        """The schema's controls and their labels, built once: they are asked for every region of an import.
        (`cached_property` writes the instance's __dict__, which a frozen dataclass allows.)"""
        names = self.schema.controls
        return {**{c: frozenset(self.schema.entity_types) for c in names.entity},
                **{c: frozenset(self.schema.event_types) for c in names.trigger}}

    def control_problem(self, control: str, label: str) -> str | None:
        """Why `label` may not sit under `control` (an entity type under the trigger control, say), if so."""
        controls = self.controls()
        if label in controls.get(control, ()):
            return None
        owners = ", ".join(repr(c) for c, labels in sorted(controls.items()) if label in labels)
        if control not in controls:
            return f"label {label!r} is under control {control!r}{self.unknown_control(control)}"
        return f"label {label!r} is under control {control!r} but belongs to control {owners}"

    def unknown_control(self, control: str) -> str:
        """For a region under a Labels control the schema does not name: what it has, and the way out."""
        if control in self.controls():
            return ""
        return (f", which schema {self.schema.name} does not have (its controls: "
                f"{', '.join(map(repr, sorted(self.controls())))}); read this project's labeling config with "
                "--config CONFIG.xml, or make a schema from it with `annotate schema --from-config CONFIG.xml -o "
                "SCHEMA.yaml` (or name the control under controls: in the schema)")


def routing_from_config(xml: str, name: str = "imported-config") -> Routing:
    """Routing for any text-span project, read from its labeling config (`labelconfig.schema_from_config`)."""
    from .labelconfig import schema_from_config

    return Routing(schema_from_config(xml, name))
