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

SCHEMAS_DIR = Path(__file__).resolve().parents[2] / "schemas"  # the schemas, guidelines and lexicon beside the package
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
class Schema:
    name: str
    version: int
    entity_types: dict[str, EntityType]
    event_types: dict[str, EventType]
    attributes: dict[str, Attribute] = field(default_factory=dict)
    description: str = ""
    guidelines: str = ""
    source: str = ""
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
        return {
            "name": self.name,
            "version": self.version,
            "entity_types": {k: {"value": v.is_value} for k, v in self.entity_types.items()},
            "event_types": {k: {r: list(t) for r, t in v.roles.items()} for k, v in self.event_types.items()},
            "attributes": {k: {"values": list(a.values), "default": a.default} for k, a in self.attributes.items()},
        }

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
        return cls(
            name=data["name"], version=data.get("version", 0),
            entity_types={k: EntityType(k, is_value=bool(v.get("value"))) for k, v in data["entity_types"].items()},
            event_types={k: EventType(k, {r: tuple(t) for r, t in roles.items()})
                         for k, roles in data["event_types"].items()},
            attributes={k: Attribute(k, tuple(a["values"]), a.get("default"))
                        for k, a in data.get("attributes", {}).items()},
        )

    @classmethod
    def from_labels(cls, name: str, entity_labels: list[str], trigger_labels: list[str] = (),
                    roles: list[str] = ()) -> Schema:
        """A permissive schema read from another project's label config: every role accepts every type."""
        entity_types = {n: EntityType(n) for n in entity_labels}
        role_map = {r: tuple(entity_labels) for r in roles}
        event_types = {n: EventType(n, dict(role_map)) for n in trigger_labels}
        return cls(name=name, version=0, entity_types=entity_types, event_types=event_types)


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
    known = {"name", "version", "description", "guidelines", "entity_types", "event_types", "attributes"}
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
    for vname, spec in check.mapping(data.get("event_types"), ("event_types",)).items():
        p = ("event_types", vname)
        if vname in entity_types:
            raise check.fail(p, "an event type may not share its name with an entity type")
        spec = check.mapping(spec, p)
        for key in spec:
            if key not in {"description", "triggers", "roles"}:
                raise check.fail(p + (key,), "unknown key; expected description, triggers or roles")
        roles: dict[str, tuple[str, ...]] = {}
        for role, accepted in check.mapping(spec.get("roles"), p + ("roles",)).items():
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
                  guidelines=guidelines, source=source, guidelines_file=gref or "")


def describe(schema: Schema) -> str:
    """A readable multi-line summary for `annotate schema`."""
    lines = [f"Schema {schema.name} v{schema.version} (fingerprint {schema.fingerprint})", schema.description, ""]
    lines.append(f"Entity types ({len(schema.entity_types)}):")
    for e in schema.entity_types.values():
        kind = " [value]" if e.is_value else ""
        ex = f"  e.g. {'، '.join(e.examples[:3])}" if e.examples else ""
        lines.append(f"  {e.name:<10}{kind} {e.description}{ex}")
    lines.append("")
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
    return "\n".join(lines)
