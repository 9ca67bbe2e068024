"""Adjudication: merge what annotators agree on, list what they do not, and build a review annotation.

The review annotation holds every agreed item plus every disputed one, each disputed region carrying a
`CONFLICT (...)` note in its region meta, so a reviewer resolves them in the Label Studio UI and then marks
the annotation as ground truth; the gold rule then prefers it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .agreement import latest_per_annotator
from .lsconfig import ENTITY, TEXT, TRIGGER
from .lsexport import CONFLICT_MARK
from .model import Document

CONTEXT = 30


@dataclass
class Disagreement:
    doc_id: str
    kind: str  # boundary | type | missing | role | attribute
    what: str  # entity | trigger | argument
    detail: str
    start: int
    end: int
    context: str

    def to_json(self) -> dict:
        return self.__dict__.copy()


@dataclass
class Adjudication:
    doc_id: str
    annotators: list[str]
    result: list[dict]  # Label Studio result for the review annotation
    disagreements: list[Disagreement] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not self.disagreements


def _context(text: str, start: int, end: int) -> str:
    left = text[max(0, start - CONTEXT):start].replace("\n", " ")
    right = text[end:end + CONTEXT].replace("\n", " ")
    return f"…{left}[{text[start:end]}]{right}…"


def _classify(span, label, others_spans: list[tuple[int, int, str]]) -> str:
    s, e = span
    if any((s2, e2) == (s, e) for s2, e2, _ in others_spans):
        return "type"
    if any(lab == label and s < e2 and s2 < e for s2, e2, lab in others_spans):
        return "boundary"
    return "missing"


def adjudicate_task(docs: list[Document]) -> Adjudication:
    """Merge annotations of one document by several people (one Document per person)."""
    people = [d.provenance.annotators[0] if d.provenance.annotators else f"annotator{i}" for i, d in enumerate(docs)]
    text = docs[0].text
    doc_id = docs[0].id
    n = len(docs)
    result: list[dict] = []
    disagreements: list[Disagreement] = []
    region_of: dict[tuple, str] = {}

    def region(kind: str, s: int, e: int, label: str, note: str | None) -> str:
        key = (kind, s, e, label)
        if key in region_of:
            return region_of[key]
        rid = f"{'t' if kind == 'trigger' else 'e'}{len(region_of) + 1}"
        region_of[key] = rid
        r = {"id": rid, "from_name": TRIGGER if kind == "trigger" else ENTITY, "to_name": TEXT, "type": "labels",
             "value": {"start": s, "end": e, "text": text[s:e], "labels": [label]}}
        if note:
            r["meta"] = {"text": [note]}
        result.append(r)
        return rid

    for kind in ("entity", "trigger"):
        by_person = []
        for d in docs:
            if kind == "entity":
                by_person.append({(x.start, x.end, x.type) for x in d.entities})
            else:
                by_person.append({(v.trigger.start, v.trigger.end, v.type) for v in d.events})
        everything = sorted(set().union(*by_person))
        for s, e, label in everything:
            who = [p for p, spans in zip(people, by_person) if (s, e, label) in spans]
            if len(who) == n:
                region(kind, s, e, label, None)
                continue
            without = [p for p in people if p not in who]
            others = [x for p, spans in zip(people, by_person) if p in without for x in spans]
            cls = _classify((s, e), label, others)
            detail = f"{kind} {label} [{s}, {e}) {text[s:e]!r}: marked by {', '.join(who)}; not by {', '.join(without)}"
            disagreements.append(Disagreement(doc_id, cls, kind, detail, s, e, _context(text, s, e)))
            region(kind, s, e, label, f"{CONFLICT_MARK} ({cls}): {detail}")

    # arguments and attributes hang on triggers: compare them by (trigger, entity) spans
    arg_sets, attr_sets = [], []
    for d in docs:
        ents = d.entity_by_id()
        args, attrs = set(), set()
        for v in d.events:
            tkey = (v.trigger.start, v.trigger.end, v.type)
            for a in v.arguments:
                ent = ents[a.entity]
                args.add((tkey, (ent.start, ent.end, ent.type), a.role))
            for name, value in v.attributes.items():
                attrs.add((tkey, name, value))
        arg_sets.append(args)
        attr_sets.append(attrs)
    for tkey, ekey, role in sorted(set().union(*arg_sets)):
        who = [p for p, s in zip(people, arg_sets) if (tkey, ekey, role) in s]
        trig_rid = region("trigger", *tkey, None)
        ent_rid = region("entity", *ekey, None)
        rel = {"type": "relation", "from_id": trig_rid, "to_id": ent_rid, "direction": "right", "labels": [role]}
        result.append(rel)
        if len(who) < n:
            other_roles = {r for s in arg_sets for (t, e, r) in s if t == tkey and e == ekey and r != role}
            cls = "role" if other_roles else "missing"
            detail = (f"argument {role} of {tkey[2]} {text[tkey[0]:tkey[1]]!r} -> {text[ekey[0]:ekey[1]]!r}: "
                      f"by {', '.join(who)}; not by {', '.join(p for p in people if p not in who)}")
            disagreements.append(Disagreement(doc_id, cls, "argument", detail, ekey[0], ekey[1],
                                              _context(text, ekey[0], ekey[1])))
    trig_sets = [{(v.trigger.start, v.trigger.end, v.type) for v in d.events} for d in docs]
    for tkey in sorted({t for s in attr_sets for (t, _, _) in s}):
        names = sorted({name for s in attr_sets for (t, name, _) in s if t == tkey})
        rid = region("trigger", *tkey, None)
        # only people who marked this trigger have a say on its attributes (a missing trigger is its own
        # disagreement above)
        voters = [(p, s) for p, s, trigs in zip(people, attr_sets, trig_sets) if tkey in trigs]
        for name in names:
            values = [(p, next((v for (t, nm, v) in s if t == tkey and nm == name), None)) for p, s in voters]
            distinct = {v for _, v in values}
            chosen = next(v for _, v in values if v is not None)
            if len(distinct) > 1:
                detail = f"{name} of {tkey[2]} {text[tkey[0]:tkey[1]]!r}: " + \
                         ", ".join(f"{p}={v if v is not None else '(none)'}" for p, v in values)
                disagreements.append(Disagreement(doc_id, "attribute", "trigger", detail, tkey[0], tkey[1],
                                                  _context(text, tkey[0], tkey[1])))
            result.append({"id": rid, "from_name": name, "to_name": TEXT, "type": "choices",
                           "value": {"start": tkey[0], "end": tkey[1], "text": text[tkey[0]:tkey[1]],
                                     "choices": [chosen]}})
    return Adjudication(doc_id, people, result, disagreements)


def adjudicate(annotations: dict[str, list[Document]]) -> list[Adjudication]:
    out = []
    for _doc_id, docs in sorted(annotations.items()):
        people = latest_per_annotator(docs)
        if len(people) >= 2:
            out.append(adjudicate_task(list(people.values())))
    return out
