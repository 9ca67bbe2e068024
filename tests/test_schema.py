import pytest

from annotate.core.schema import SchemaError, describe, parse_schema

GOOD = """\
name: tiny
version: 2
entity_types:
  PER: {description: person}
  GPE: {}
attributes:
  realis: {values: [actual, negated], default: actual}
event_types:
  Conflict.Attack:
    roles:
      Attacker: [PER]
      Place: [GPE]
"""


def test_bundled_schema_covers_the_required_types(schema):
    for t in ["PER", "ORG", "GPE", "LOC", "FAC", "VEH", "WEA", "TIME", "NUM", "JOB_TITLE", "NORP"]:
        assert t in schema.entity_types
    for v in ["Conflict.Attack", "Life.Die", "Life.Injure", "Contact.Meet", "Contact.Statement",
              "Movement.Transport", "Personnel.Start-Position", "Personnel.End-Position", "Justice.Arrest-Jail"]:
        assert v in schema.event_types
        assert schema.event_types[v].triggers, f"{v} has no Arabic trigger examples"
    assert set(schema.event_types["Conflict.Attack"].roles) == {"Attacker", "Target", "Instrument", "Place", "Time"}
    assert schema.accepts("Life.Die", "Victim", "PER") and not schema.accepts("Life.Die", "Victim", "WEA")
    assert schema.attributes["realis"].values == ("actual", "planned", "negated", "hypothetical")
    assert "Conflict.Attack" in describe(schema)


def test_small_schema_parses_to_typed_objects():
    s = parse_schema(GOOD)
    assert s.name == "tiny" and s.version == 2
    assert s.event_types["Conflict.Attack"].roles == {"Attacker": ("PER",), "Place": ("GPE",)}
    assert s.role_names == ["Attacker", "Place"]
    assert len(s.fingerprint) == 16


def test_fingerprint_ignores_prose_but_not_roles():
    a = parse_schema(GOOD)
    b = parse_schema(GOOD.replace("person", "a human being"))
    c = parse_schema(GOOD.replace("Place: [GPE]", "Place: [GPE, PER]"))
    assert a.fingerprint == b.fingerprint != c.fingerprint


@pytest.mark.parametrize("broken, key, line", [
    (GOOD.replace("Attacker: [PER]", "Attacker: [PERSON]"), "event_types.Conflict.Attack.roles.Attacker.0", 11),
    (GOOD.replace("default: actual", "default: maybe"), "attributes.realis.default", 7),
    (GOOD.replace("  GPE: {}\n", "  GPE: {}\n  LOC: {colour: red}\n"), "entity_types.LOC.colour", 6),
    (GOOD.replace("name: tiny", "name: ''"), "name", 1),
    (GOOD.replace("      Place: [GPE]\n", "      Place: []\n"), "event_types.Conflict.Attack.roles.Place", 12),
    (GOOD + "extra: 1\n", "extra", 13),
])
def test_broken_schema_names_key_and_line(broken, key, line):
    with pytest.raises(SchemaError) as err:
        parse_schema(broken, source="s.yaml")
    msg = str(err.value)
    assert f"key '{key}'" in msg
    assert f"s.yaml, line {line}:" in msg


def test_invalid_yaml_names_line():
    with pytest.raises(SchemaError, match=r"s.yaml, line 4 \(in the construct opened at line 3\): not valid YAML"):
        parse_schema("name: x\nentity_types:\n  PER: [unclosed\n", source="s.yaml")


def test_schema_travels_with_the_gold_set_as_a_dict(schema):
    from annotate.core.schema import Schema

    again = Schema.from_dict(schema.to_dict())
    assert again.fingerprint == schema.fingerprint
    assert again.event_types["Life.Die"].roles == schema.event_types["Life.Die"].roles


def test_guidelines_cover_every_type_and_role(schema):
    """The guidelines shown in Label Studio define every entity type, event type and role of the schema."""
    text = schema.guidelines
    assert len(text) > 10_000, "the guidelines are a full document, not a stub"
    headings = {line.lstrip("#").strip() for line in text.splitlines() if line.startswith("###")}
    missing_types = [t for t in list(schema.entity_types) if not any(h.startswith(t + " ") or h == t
                                                                       for h in headings)]
    missing_events = [v for v in schema.event_types if v not in headings]
    assert not missing_types, f"entity types without a section: {missing_types}"
    assert not missing_events, f"event types without a section: {missing_events}"
    for name, event in schema.event_types.items():
        section = text.split(f"### {name}\n", 1)[1].split("\n### ", 1)[0]
        absent = [r for r in event.roles if r not in section]
        assert not absent, f"{name}: roles not explained in its section: {absent}"
    for value in schema.attributes["realis"].values:
        assert f"`{value}`" in text, f"realis value {value} is not explained"
