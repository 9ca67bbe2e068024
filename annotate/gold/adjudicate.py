"""Adjudication: merge what annotators agree on, list what they do not, and resolve it by recorded decisions.

Every annotation is read as a set of items: entity and trigger spans `(start, end, type)`, arguments
`(trigger, entity, role)` and trigger attributes `(trigger, name) -> value`. An item every annotator has is
agreed; any other item is a disagreement with a stable key (`item_key`).

Two ways to resolve:
- In Label Studio: `review_result` holds every agreed item plus every disputed one, each disputed region
  carrying a `CONFLICT (...)` note; the reviewer edits it in the UI and marks it as ground truth.
- By a decision log (`gold/adjudication.yaml`, see `decisions`): one entry per disagreement with the options
  side by side, a `decision` and a `reason`, plus `add` entries for what every annotator missed. `resolve_task`
  turns the annotations and the item decisions into the resolved Document, which the reviewer's account pushes
  as ground truth. The log is the record of who decided what and why.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from ..core.atomic import atomic_write_text
from ..core.model import Argument, Document, Entity, Event, Span
from ..core.surface import SurfaceSpanError, resolve_span
from ..score.matching import LINK, argument_keys, classify_mentions, entity_mentions, trigger_mentions
from ..studio.export import CONFLICT_MARK
from ..studio.tasks import results_for
from .agreement import latest_per_annotator

CONTEXT = 30
SpanKey = tuple[int, int, str]  # start, end, label


@dataclass
class Disagreement:
    doc_id: str
    kind: str  # boundary | type | missing | role | attribute
    what: str  # entity | trigger | argument
    detail: str
    start: int
    end: int
    context: str
    key: str = ""  # stable item key, what a decision in the log refers to
    values: dict[str, str] = field(default_factory=dict)  # attribute disagreements: annotator -> value
    item: tuple = ()  # the compared item itself (see `Items`)
    marked_by: tuple[str, ...] = ()  # the annotators who have the item (spans and arguments)

    def to_json(self) -> dict:
        return self.__dict__.copy()


@dataclass
class Adjudication:
    doc_id: str
    annotators: list[str]
    result: list[dict]  # Label Studio result for the review annotation
    disagreements: list[Disagreement] = field(default_factory=list)
    text: str = ""  # the document's text, which the decision log quotes

    @property
    def clean(self) -> bool:
        return not self.disagreements


@dataclass(frozen=True)
class Items:
    """One annotation as comparable items."""
    entities: frozenset[SpanKey]
    triggers: frozenset[SpanKey]
    arguments: frozenset[tuple[SpanKey, SpanKey, str]]
    attributes: dict[tuple[SpanKey, str], str]

    @classmethod
    def of(cls, doc: Document) -> Items:
        """The annotation's items, keyed as the scorer keys them (`score.matching`)."""
        attrs = {((v.trigger.start, v.trigger.end, v.type), name): value
                 for v in doc.events for name, value in v.attributes.items()}
        return cls(frozenset(entity_mentions(doc)), frozenset(trigger_mentions(doc)),
                   frozenset(argument_keys(doc, LINK)), attrs)


def quote(text: str, key: SpanKey) -> str:
    return f"{key[2]} [{key[0]}, {key[1]}) «{text[key[0]:key[1]]}»"


def item_key(text: str, what: str, item) -> str:
    """The one readable, stable name of an item: what a decision in the log is matched by."""
    if what in ("entity", "trigger"):
        return f"{what} {quote(text, item)}"
    if what == "argument":
        tkey, ekey, role = item
        return f"argument {role}: {quote(text, tkey)} -> {quote(text, ekey)}"
    tkey, name = item
    return f"attribute {name} of {quote(text, tkey)}"


def context_of(text: str, start: int, end: int) -> str:
    left = text[max(0, start - CONTEXT):start].replace("\n", " ")
    right = text[end:end + CONTEXT].replace("\n", " ")
    return f"…{left}[{text[start:end]}]{right}…"


# The scorer's error kinds, in the words of an adjudication log.
_KIND = {"wrong_type": "type", "wrong_boundary": "boundary", "missed": "missing"}


def _classify(span: SpanKey, others: set[SpanKey]) -> str:
    """How a span one annotator marked differs from what the others marked: the scorer's classification of
    that span as a gold mention against the others' as predictions."""
    kind = next(k for k, g, _ in classify_mentions({span}, set(others)) if g == span)
    return _KIND[kind]


def compare(docs: list[Document]) -> tuple[list[str], Items, list[Disagreement]]:
    """(annotators, agreed items, disagreements) for one document annotated by several people."""
    people = [d.provenance.annotators[0] if d.provenance.annotators else f"annotator{i}" for i, d in enumerate(docs)]
    text, doc_id = docs[0].text, docs[0].id
    items = [Items.of(d) for d in docs]
    out: list[Disagreement] = []

    def split(sets: list[frozenset]) -> tuple[frozenset, list]:
        agreed = frozenset.intersection(*sets)
        return agreed, sorted(frozenset.union(*sets) - agreed)

    def who(item, sets) -> tuple[list[str], list[str]]:
        have = [p for p, s in zip(people, sets) if item in s]
        return have, [p for p in people if p not in have]

    agreed_spans = {}
    for what in ("entity", "trigger"):
        sets = [i.entities if what == "entity" else i.triggers for i in items]
        agreed_spans[what], disputed = split(sets)
        for key in disputed:
            have, lack = who(key, sets)
            others = {x for p, s in zip(people, sets) if p in lack for x in s}
            detail = f"{what} {quote(text, key)}: marked by {', '.join(have)}; not by {', '.join(lack)}"
            out.append(Disagreement(doc_id, _classify(key, others), what, detail, key[0], key[1],
                                    context_of(text, key[0], key[1]), item_key(text, what, key), item=key,
                                    marked_by=tuple(have)))
    arg_sets = [i.arguments for i in items]
    agreed_args, disputed = split(arg_sets)
    for arg in disputed:
        tkey, ekey, role = arg
        have, lack = who(arg, arg_sets)
        other_roles = {r for s in arg_sets for (t, e, r) in s if t == tkey and e == ekey and r != role}
        detail = (f"argument {role} of {tkey[2]} «{text[tkey[0]:tkey[1]]}» -> «{text[ekey[0]:ekey[1]]}»: "
                  f"by {', '.join(have)}; not by {', '.join(lack)}")
        out.append(Disagreement(doc_id, "role" if other_roles else "missing", "argument", detail, ekey[0], ekey[1],
                                context_of(text, ekey[0], ekey[1]), item_key(text, "argument", arg), item=arg,
                                marked_by=tuple(have)))
    agreed_attrs: dict[tuple[SpanKey, str], str] = {}
    for tkey, name in sorted({k for i in items for k in i.attributes}):
        # only people who marked this trigger have a say on its attributes (a missing trigger is its own
        # disagreement above)
        voters = [(p, i.attributes.get((tkey, name))) for p, i in zip(people, items) if tkey in i.triggers]
        distinct = {v for _, v in voters}
        if len(distinct) == 1:
            agreed_attrs[(tkey, name)] = voters[0][1]
            continue
        detail = f"{name} of {tkey[2]} «{text[tkey[0]:tkey[1]]}»: " + \
                 ", ".join(f"{p}={v if v is not None else '(none)'}" for p, v in voters)
        out.append(Disagreement(doc_id, "attribute", "trigger", detail, tkey[0], tkey[1],
                                context_of(text, tkey[0], tkey[1]), item_key(text, "attribute", (tkey, name)),
                                {p: v for p, v in voters if v is not None}, item=(tkey, name)))
    agreed = Items(agreed_spans["entity"], agreed_spans["trigger"], agreed_args, agreed_attrs)
    return people, agreed, out


def adjudicate_task(docs: list[Document]) -> Adjudication:
    """Merge annotations of one document by several people (one Document per person) into a review result:
    every item anyone marked, the disputed regions carrying a CONFLICT note (written by `studio.tasks`)."""
    people, _agreed, disagreements = compare(docs)
    text = docs[0].text
    disputed = {d.key: d for d in disagreements}
    items = [Items.of(d) for d in docs]
    entity_keys = sorted(frozenset.union(*[i.entities for i in items]))
    trigger_keys = sorted(frozenset.union(*[i.triggers for i in items]))
    links = sorted(frozenset.union(*[i.arguments for i in items]))
    entities = [Entity(f"e{n + 1}", s, e, t) for n, (s, e, t) in enumerate(entity_keys)]
    eid = {(e.start, e.end, e.type): e.id for e in entities}
    tid = {key: f"t{n + 1}" for n, key in enumerate(trigger_keys)}
    events = []
    for key in trigger_keys:
        attrs = {}
        for i in items:  # the first annotator's value; a differing one is an attribute disagreement
            for (t, name), value in i.attributes.items():
                if t == key:
                    attrs.setdefault(name, value)
        events.append(Event(tid[key], key[2], Span(key[0], key[1]), dict(sorted(attrs.items())),
                            tuple(Argument(role, eid[ekey]) for t, ekey, role in links if t == key)))
    notes = {}
    for what, keys, ids in (("entity", entity_keys, eid), ("trigger", trigger_keys, tid)):
        for key in keys:
            d = disputed.get(item_key(text, what, key))
            if d:
                notes[ids[key]] = f"{CONFLICT_MARK} ({d.kind}): {d.detail}"
    union = Document(docs[0].id, text, entities, events)
    return Adjudication(docs[0].id, people, results_for(union, notes), disagreements, text)


def adjudicate(annotations: dict[str, list[Document]]) -> list[Adjudication]:
    out = []
    for _doc_id, docs in sorted(annotations.items()):
        people = latest_per_annotator(docs)
        if len(people) >= 2:
            out.append(adjudicate_task(list(people.values())))
    return out


# --- resolving by a decision log ------------------------------------------------------------------------------------


class DecisionError(ValueError):
    pass


def resolve_task(docs: list[Document], decisions: dict[str, dict], additions: list[dict],
                 names: dict[str, str | None] | None = None) -> Document:
    """The resolved annotation of one document: agreed items, disputed items whose decision is `keep`, the
    attribute values decided, then the additions and removals. Raises DecisionError naming every undecided item
    (by `names`, item key -> the decision point it belongs to, when given; each name once; None: reported
    already)."""
    names = names or {}
    _people, agreed, disagreements = compare(docs)
    text, doc_id = docs[0].text, docs[0].id
    ents, trigs, args = set(agreed.entities), set(agreed.triggers), set(agreed.arguments)
    attrs = dict(agreed.attributes)
    problems = []
    by_key = {}
    for d in disagreements:
        dec = decisions.get(d.key)
        value = (dec or {}).get("decision")
        if value in (None, ""):
            name = names.get(d.key, d.key)
            problem = f"no decision for {name}"
            if name is not None and problem not in problems:
                problems.append(problem)
            continue
        by_key[d.key] = value
    for d in disagreements:
        value = by_key.get(d.key)
        if d.kind == "attribute":
            if value is not None:
                attrs[d.item] = str(value)
        elif value == "keep":
            {"entity": ents, "trigger": trigs, "argument": args}[d.what].add(d.item)
        elif value not in (None, "drop"):
            problems.append(f"{d.key}: decision must be keep or drop, got {value!r}")
    for k, change in enumerate(additions):
        verb = "remove" if "remove" in change else "add"
        try:
            _apply_change(text, change, verb, ents, trigs, args, attrs)
        except (SurfaceSpanError, KeyError, TypeError, ValueError) as exc:
            problems.append(f"{verb} #{k + 1}: {exc}")
    for tkey, ekey, role in sorted(args):
        if tkey not in trigs or ekey not in ents:
            problems.append(f"argument {role}: {quote(text, tkey)} -> {quote(text, ekey)} is kept but its "
                            f"{'trigger' if tkey not in trigs else 'entity'} is dropped")
    if problems:
        raise DecisionError(f"document {doc_id}: " + "; ".join(problems))
    entity_list = [Entity(f"e{n + 1}", s, e, t) for n, (s, e, t) in enumerate(sorted(ents))]
    eid = {(e.start, e.end, e.type): e.id for e in entity_list}
    events = []
    for n, tkey in enumerate(sorted(trigs)):
        events.append(Event(f"v{n + 1}", tkey[2], Span(tkey[0], tkey[1]),
                            {name: v for (t, name), v in sorted(attrs.items()) if t == tkey},
                            tuple(Argument(role, eid[ekey]) for t, ekey, role in sorted(args) if t == tkey)))
    return Document(doc_id, text, entity_list, events, {}, docs[0].provenance)


def _span_key(text: str, spec: dict, where: str) -> SpanKey:
    start, end = resolve_span(text, spec, where)
    return (start, end, str(spec["type"]))


def _apply_change(text, change: dict, verb: str, ents: set, trigs: set, args: set, attrs: dict) -> None:
    """An `add` entry adds what every annotator missed; a `remove` entry takes out an item every annotator
    made (a shared mistake), with the arguments hanging on it."""
    what = change.get(verb)
    if what in ("entity", "trigger"):
        key = _span_key(text, change, what)
        target = ents if what == "entity" else trigs
    elif what == "argument":
        key = (_span_key(text, change["trigger"], "trigger"), _span_key(text, change["entity"], "entity"),
               str(change["role"]))
        target = args
    else:
        raise ValueError(f"'{verb}' must be entity, trigger or argument, got {what!r}")
    if verb == "add":
        target.add(key)
        if what == "trigger":
            for name, value in (change.get("attributes") or {}).items():
                attrs[(key, name)] = str(value)
        return
    if key not in target:
        raise ValueError(f"{what} {key} is not in the merged annotation, so it cannot be removed")
    target.discard(key)
    if what == "entity":
        args.difference_update({a for a in args if a[1] == key})
    elif what == "trigger":
        args.difference_update({a for a in args if a[0] == key})
        for k in [k for k in attrs if k[0] == key]:
            del attrs[k]


# --- the decision log file (what it holds: `decisions`) -----------------------------------------------------


LOG_HEADER = """\
# Adjudication decision log (`annotate adjudicate EXPORT --log FILE`).
# One entry per disagreement between the annotation passes, with the options side by side. Fill in `decision`
# and `reason`:
#   a `disagreement:` entry: the option to keep (A, B, ...), a list of them ([A, B]), or neither. The arguments
#     under `follows` hang on the disputed spans and go with the decision (kept when their trigger and entity
#     are kept); `override: {ARGUMENT: keep | drop}` decides one of them otherwise.
#   an `item: attribute ...` entry: the value to keep (e.g. actual)
#   (older logs decide item by item, `item:` with keep | drop; they are read as they are)
# Entries with `add:` (entity | trigger | argument) add what every annotator missed, and entries with `remove:`
# take out an item every annotator made (a shared mistake); spans by surface text and
# occurrence, e.g. {doc: ID, add: entity, type: PER, text: "كارل هاريس", occurrence: 2, reason: ...}.
# Running the command again keeps every decision, reason and addition already written here.
"""


def read_log(path: str | Path) -> list[dict]:
    """The entries of a decision log; DecisionError names the file when it is not one."""

    try:
        entries = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or []
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise DecisionError(f"{path}: not a readable YAML decision log ({exc})") from None
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise DecisionError(f"{path}: a decision log is a YAML list of entries")
    return entries


def write_log(path: str | Path, entries: list[dict]) -> None:


    atomic_write_text(path, LOG_HEADER + yaml.safe_dump(entries, allow_unicode=True, sort_keys=False, width=110))
