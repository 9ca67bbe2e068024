"""The entity-and-event schema: one YAML file, loaded into typed objects.

Everything downstream (the Label Studio config, import validation, dataset features, scoring labels) is
derived from a `Schema`, so the loader is strict and every error names the file, the key path and the line.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml


def _schemas_dir() -> Path:
    """The schemas, guidelines, lexicon and boilerplate rules: package data `annotate/schemas/` in an installed
    wheel, the repository's top-level `schemas/` folder in a source checkout (pyproject maps one to the other)."""
    package = Path(__file__).resolve().parents[1]
    installed = package / "schemas"
    return installed if installed.is_dir() else package.parent / "schemas"


SCHEMAS_DIR = _schemas_dir()
DEFAULT_SCHEMA = SCHEMAS_DIR / "ace-arabic-news.yaml"
_GUIDELINES_VERSION = re.compile(r"^Version:\s*(\S+)", re.MULTILINE)
_IDENTIFIER = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


class SchemaError(ValueError):
    """An invalid schema file; the message names the file, key and line."""


@dataclass(frozen=True)
class EntityType:
    name: str
    description: str = ""
    examples: tuple[str, ...] = ()
    color: str = ""
    is_value: bool = False


@dataclass(frozen=True)
class Attribute:
    name: str
    values: tuple[str, ...]
    default: str | None = None
    description: str = ""


@dataclass(frozen=True)
class EventType:
    name: str
    roles: dict[str, tuple[str, ...]]  # role -> accepted entity types
    description: str = ""
    triggers: tuple[str, ...] = ()


@dataclass(frozen=True)
class Controls:
    """The Label Studio names a project's labeling config uses: the task field holding the text (`$text`), the
    Labels controls of entity spans and of trigger spans. This toolkit's own config: text, entity, trigger."""
    text: str = "text"
    entity: tuple[str, ...] = ("entity",)
    trigger: tuple[str, ...] = ("trigger",)

    def to_dict(self) -> dict:
        return {"text": self.text, "entity": list(self.entity), "trigger": list(self.trigger)}


@dataclass(frozen=True)
class DocumentChoice:
    """A Choices control about the whole text (a topic, a sentiment): kept in the gold set, never scored."""
    name: str
    values: tuple[str, ...]
    multiple: bool = False


@dataclass(frozen=True)
class Schema:
    name: str
    version: int
    entity_types: dict[str, EntityType]
    event_types: dict[str, EventType]  # empty: a NER-only schema (no trigger or argument scores)
    attributes: dict[str, Attribute] = field(default_factory=dict)
    description: str = ""
    guidelines: str = ""
    source: str = ""
    controls: Controls = field(default_factory=Controls)
    relations: tuple[str, ...] = ()  # labels of relations between two entities (kept in metadata, not scored)
    document_choices: dict[str, DocumentChoice] = field(default_factory=dict)
    guidelines_file: str = ""  # as the schema names it (`guidelines: guidelines.md`)

    @property
    def role_names(self) -> list[str]:
        """Every role of every event type, in first-seen order (Label Studio relation labels)."""
        seen: dict[str, None] = {}
        for event in self.event_types.values():
            for role in event.roles:
                seen.setdefault(role, None)
        return list(seen)

    def accepts(self, event_type: str, role: str, entity_type: str) -> bool:
        return entity_type in self.event_types[event_type].roles.get(role, ())

    def to_dict(self) -> dict:
        out = {
            "name": self.name,
            "version": self.version,
            "entity_types": {k: {"value": v.is_value} for k, v in self.entity_types.items()},
            "event_types": {k: {r: list(t) for r, t in v.roles.items()} for k, v in self.event_types.items()},
            "attributes": {k: {"values": list(a.values), "default": a.default} for k, a in self.attributes.items()},
        }
        # Only what differs from this toolkit's own config: the fingerprint of a schema without them (and so
        # every gold set built before they existed) stays what it was.
        if self.controls != Controls():
            out["controls"] = self.controls.to_dict()
        if self.relations:
            out["relations"] = list(self.relations)
        if self.document_choices:
            out["document_choices"] = {k: {"values": list(c.values), "multiple": c.multiple}
                                       for k, c in self.document_choices.items()}
        return out

    @property
    def guidelines_version(self) -> str:
        """The `Version: X` line near the top of the guidelines ("" without one): what a person cites."""
        match = _GUIDELINES_VERSION.search(self.guidelines[:2000])
        return match.group(1) if match else ""

    @property
    def guidelines_fingerprint(self) -> str:
        """Hash of the guidelines' text, prose included: a gold set names the exact rules it was made under."""
        return hashlib.sha256(self.guidelines.encode("utf-8")).hexdigest()[:16] if self.guidelines else ""

    def guidelines_record(self) -> dict:
        """What a gold set's build.json and a report say of the guidelines."""
        return {"file": self.guidelines_file, "version": self.guidelines_version,
                "fingerprint": self.guidelines_fingerprint}

    @property
    def fingerprint(self) -> str:
        """Hash of what matters for data compatibility (types, roles, attributes), not of prose or colours."""
        blob = json.dumps(self.to_dict(), sort_keys=True, ensure_ascii=False).encode()
        return hashlib.sha256(blob).hexdigest()[:16]

    @classmethod
    def from_dict(cls, data: dict) -> Schema:
        """Inverse of `to_dict` (types, roles and attributes; prose is not kept): how a gold set carries the
        schema it was built with."""
        controls = data.get("controls")
        return cls(
            name=data["name"], version=data.get("version", 0),
            entity_types={k: EntityType(k, is_value=bool(v.get("value"))) for k, v in data["entity_types"].items()},
            event_types={k: EventType(k, {r: tuple(t) for r, t in roles.items()})
                         for k, roles in data.get("event_types", {}).items()},
            attributes={k: Attribute(k, tuple(a["values"]), a.get("default"))
                        for k, a in data.get("attributes", {}).items()},
            controls=Controls(controls["text"], tuple(controls["entity"]), tuple(controls["trigger"]))
            if controls else Controls(),
            relations=tuple(data.get("relations", ())),
            document_choices={k: DocumentChoice(k, tuple(c["values"]), bool(c.get("multiple")))
                              for k, c in data.get("document_choices", {}).items()},
        )


# --- loading --------------------------------------------------------------------------------------------


def _line_of(node: yaml.Node | None, path: tuple) -> int | None:
    """1-based line of the deepest node on `path` that exists in the composed YAML tree."""
    line = None if node is None else node.start_mark.line + 1
    for key in path:
        if isinstance(node, yaml.MappingNode):
            for knode, vnode in node.value:
                if knode.value == key:
                    line, node = knode.start_mark.line + 1, vnode
                    break
            else:
                return line
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            node = node.value[key]
            line = node.start_mark.line + 1
        else:
            return line
    return line


class _Checker:
    def __init__(self, source: str, root: yaml.Node | None):
        self.source, self.root = source, root

    def fail(self, path: tuple, message: str) -> SchemaError:
        key = ".".join(str(p) for p in path) or "(top level)"
        line = _line_of(self.root, path)
        where = f"{self.source}, line {line}" if line else self.source
        return SchemaError(f"{where}: key '{key}': {message}")

    def mapping(self, value, path: tuple, required: bool = True) -> dict:
        if value is None and not required:
            return {}
        if not isinstance(value, dict) or (required and not value):
            raise self.fail(path, "must be a non-empty mapping")
        return value

    def string_list(self, value, path: tuple) -> tuple[str, ...]:
        if value is None:
            return ()
        if not isinstance(value, list) or not all(isinstance(v, (str, int)) for v in value):
            raise self.fail(path, "must be a list of strings")
        return tuple(str(v) for v in value)

    def text(self, value, path: tuple) -> str:
        if value is None:
            return ""
        if not isinstance(value, str):
            raise self.fail(path, "must be a string")
        return value


def load_schema(path: str | Path | None = None) -> Schema:
    """Load and validate a schema YAML file (the bundled one by default)."""
    path = Path(path) if path else DEFAULT_SCHEMA
    try:
        raw_text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SchemaError(f"{path}: cannot read schema: {exc}") from exc
    return parse_schema(raw_text, source=str(path), base_dir=path.parent)


# libyaml's safe loader when PyYAML has it: the same documents, errors and line marks, and ~5x faster than the
# pure-Python one (the schema is read by every command; `annotate push` is measured against a raw HTTP POST).
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def parse_schema(raw_text: str, source: str = "<schema>", base_dir: Path | None = None) -> Schema:
    try:
        root = yaml.compose(raw_text, Loader=_LOADER)
        data = yaml.load(raw_text, Loader=_LOADER)  # noqa: S506 (a safe loader)
    except yaml.YAMLError as exc:
        mark, context = getattr(exc, "problem_mark", None), getattr(exc, "context_mark", None)
        line = f", line {mark.line + 1}" if mark else ""
        if context and mark and context.line != mark.line:
            line += f" (in the construct opened at line {context.line + 1})"
        raise SchemaError(f"{source}{line}: not valid YAML: {getattr(exc, 'problem', exc)}") from exc
    check = _Checker(source, root)
    data = check.mapping(data, ())
    known = {"name", "version", "description", "guidelines", "entity_types", "event_types", "attributes",
             "controls", "relations", "document_choices"}
    for key in data:
        if key not in known:
            raise check.fail((key,), f"unknown key; expected one of {sorted(known)}")
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        raise check.fail(("name",), "must be a non-empty string")
    version = data.get("version", 1)
    if not isinstance(version, int):
        raise check.fail(("version",), "must be an integer")

    entity_types: dict[str, EntityType] = {}
    for ename, spec in check.mapping(data.get("entity_types"), ("entity_types",)).items():
        p = ("entity_types", ename)
        spec = check.mapping(spec, p, required=False)
        for key in spec:
            if key not in {"description", "examples", "color", "value"}:
                raise check.fail(p + (key,), "unknown key; expected description, examples, color or value")
        entity_types[str(ename)] = EntityType(
            name=str(ename),
            description=check.text(spec.get("description"), p + ("description",)),
            examples=check.string_list(spec.get("examples"), p + ("examples",)),
            color=check.text(spec.get("color"), p + ("color",)),
            is_value=bool(spec.get("value", False)),
        )

    attributes: dict[str, Attribute] = {}
    for aname, spec in check.mapping(data.get("attributes"), ("attributes",), required=False).items():
        p = ("attributes", aname)
        if not _IDENTIFIER.match(str(aname)):
            raise check.fail(p, "attribute names must be identifiers (letters, digits, _)")
        spec = check.mapping(spec, p)
        values = check.string_list(spec.get("values"), p + ("values",))
        if not values:
            raise check.fail(p + ("values",), "must list at least one value")
        default = spec.get("default")
        if default is not None and default not in values:
            raise check.fail(p + ("default",), f"'{default}' is not one of the values {list(values)}")
        attributes[str(aname)] = Attribute(str(aname), values, default,
                                           check.text(spec.get("description"), p + ("description",)))

    event_types: dict[str, EventType] = {}
    # no event_types: a NER-only schema (the gold set's event columns stay empty, events are not scored)
    for vname, spec in check.mapping(data.get("event_types"), ("event_types",), required=False).items():
        p = ("event_types", vname)
        if vname in entity_types:
            raise check.fail(p, "an event type may not share its name with an entity type")
        spec = check.mapping(spec, p)
        for key in spec:
            if key not in {"description", "triggers", "roles"}:
                raise check.fail(p + (key,), "unknown key; expected description, triggers or roles")
        roles: dict[str, tuple[str, ...]] = {}
        # an event type of another project's config may have no role (its config has no Relations)
        for role, accepted in check.mapping(spec.get("roles"), p + ("roles",), required=False).items():
            rp = p + ("roles", role)
            accepted = check.string_list(accepted, rp)
            if not accepted:
                raise check.fail(rp, "a role must accept at least one entity type")
            for i, etype in enumerate(accepted):
                if etype not in entity_types:
                    raise check.fail(rp + (i,), f"unknown entity type '{etype}'; known: {sorted(entity_types)}")
            roles[str(role)] = accepted
        event_types[str(vname)] = EventType(
            name=str(vname), roles=roles,
            description=check.text(spec.get("description"), p + ("description",)),
            triggers=check.string_list(spec.get("triggers"), p + ("triggers",)),
        )

    guidelines = ""
    gref = check.text(data.get("guidelines"), ("guidelines",))
    if gref:
        gpath = (base_dir or Path(".")) / gref
        if not gpath.is_file():
            raise check.fail(("guidelines",), f"guidelines file {gpath} does not exist")
        guidelines = gpath.read_text(encoding="utf-8")

    return Schema(name=name, version=version, entity_types=entity_types, event_types=event_types,
                  attributes=attributes, description=check.text(data.get("description"), ("description",)),
                  guidelines=guidelines, source=source, controls=_controls(check, data.get("controls")),
                  relations=check.string_list(data.get("relations"), ("relations",)),
                  document_choices=_document_choices(check, data.get("document_choices"), entity_types,
                                                     event_types, attributes),
                  guidelines_file=gref or "")


def _controls(check: _Checker, spec) -> Controls:
    """`controls:` names the labeling config's parts: `text` (the task field), `entity` and `trigger` (a Labels
    control name, or a list of them)."""
    spec = check.mapping(spec, ("controls",), required=False)
    for key in spec:
        if key not in {"text", "entity", "trigger"}:
            raise check.fail(("controls", key), "unknown key; expected text, entity or trigger")
    default = Controls()

    def names(key: str) -> tuple[str, ...]:
        value = spec.get(key)
        if value is None:
            return getattr(default, key)
        found = (check.text(value, ("controls", key)),) if isinstance(value, str) else \
            check.string_list(value, ("controls", key))
        if not all(found):
            raise check.fail(("controls", key), "a control name must not be empty")
        return found

    text = check.text(spec.get("text"), ("controls", "text")) or default.text
    entity, trigger = names("entity"), names("trigger")
    shared = set(entity) & set(trigger)
    if shared:
        raise check.fail(("controls",), f"control {sorted(shared)[0]!r} cannot hold both entities and triggers")
    return Controls(text, entity, trigger)


def _document_choices(check: _Checker, spec, *taken: dict) -> dict[str, DocumentChoice]:
    """`document_choices:` Choices controls about the whole text: NAME: {values: [...], multiple: false}."""
    out: dict[str, DocumentChoice] = {}
    for cname, cspec in check.mapping(spec, ("document_choices",), required=False).items():
        p = ("document_choices", cname)
        cspec = check.mapping(cspec, p)
        for key in cspec:
            if key not in {"values", "multiple", "description"}:
                raise check.fail(p + (key,), "unknown key; expected values, multiple or description")
        if any(cname in names for names in taken):
            raise check.fail(p, "a document choice may not share its name with a type or an attribute")
        values = check.string_list(cspec.get("values"), p + ("values",))
        if not values:
            raise check.fail(p + ("values",), "must list at least one value")
        out[str(cname)] = DocumentChoice(str(cname), values, bool(cspec.get("multiple", False)))
    return out


def describe(schema: Schema) -> str:
    """A readable multi-line summary for `annotate schema`."""
    lines = [f"Schema {schema.name} v{schema.version} (fingerprint {schema.fingerprint})", schema.description, ""]
    lines.append(f"Entity types ({len(schema.entity_types)}):")
    for e in schema.entity_types.values():
        kind = " [value]" if e.is_value else ""
        ex = f"  e.g. {'، '.join(e.examples[:3])}" if e.examples else ""
        lines.append(f"  {e.name:<10}{kind} {e.description}{ex}")
    lines.append("")
    if not schema.event_types:
        lines.append("Event types: none (a NER-only schema)")
    else:
        lines.append(f"Event types ({len(schema.event_types)}):")
    for v in schema.event_types.values():
        lines.append(f"  {v.name}: {v.description}")
        if v.triggers:
            lines.append(f"    triggers: {'، '.join(v.triggers)}")
        for role, types in v.roles.items():
            lines.append(f"    {role:<12} <- {', '.join(types)}")
    if schema.attributes:
        lines.append("")
        lines.append("Event attributes (chosen per trigger):")
        for a in schema.attributes.values():
            default = f" (default {a.default})" if a.default else ""
            lines.append(f"  {a.name}: {' / '.join(a.values)}{default}")
    if schema.relations:
        lines += ["", f"Relations between entities (kept, not scored): {', '.join(schema.relations)}"]
    if schema.document_choices:
        lines += ["", "Document choices (kept, not scored):"]
        lines += [f"  {c.name}: {' / '.join(c.values)}" + (" (several)" if c.multiple else "")
                  for c in schema.document_choices.values()]
    if schema.controls != Controls():
        c = schema.controls
        lines += ["", f"Label Studio controls: text ${c.text}, entities {', '.join(c.entity)}, "
                      f"triggers {', '.join(c.trigger)}"]
    return "\n".join(lines)


def schema_to_yaml(schema: Schema, header: str = "") -> str:
    """The schema as YAML that `load_schema` reads back to the same fingerprint (prose and colours kept)."""
    out: dict = {"name": schema.name, "version": schema.version}
    if schema.description:
        out["description"] = schema.description
    out["controls"] = schema.controls.to_dict()
    out["entity_types"] = {e.name: {k: v for k, v in (("description", e.description), ("color", e.color),
                                                        ("value", e.is_value)) if v}
                           for e in schema.entity_types.values()}
    if schema.event_types:
        out["event_types"] = {v.name: {"roles": {r: list(t) for r, t in v.roles.items()}}
                              for v in schema.event_types.values()}
    if schema.attributes:
        out["attributes"] = {a.name: {"values": list(a.values), **({"default": a.default} if a.default else {})}
                             for a in schema.attributes.values()}
    if schema.relations:
        out["relations"] = list(schema.relations)
    if schema.document_choices:
        out["document_choices"] = {c.name: {"values": list(c.values), "multiple": c.multiple}
                                   for c in schema.document_choices.values()}
    body = yaml.safe_dump(out, allow_unicode=True, sort_keys=False, width=100, default_flow_style=None)
    return "".join(f"# {line}\n" for line in header.splitlines()) + body
