"""The decision log: one entry per disagreement, with the options side by side, and the decisions applied.

`compare` lists disagreements item by item (each span, each argument). A reviewer decides fewer things than
that: a boundary disagreement is one question (A's span, B's span, or neither), and the arguments that hang on
the disputed spans follow the answer. So the items are gathered into decision points:

- a **span point**: the disputed entity (or trigger) spans that overlap one another, each an option, keyed
  `entity [START, END) «TEXT»` over their extent. The arguments that hang on one of those spans and are not
  agreed are its **followers**: an argument is kept when its trigger and its entity are kept, unless the entry
  overrides it (`override: {ARGUMENT ITEM: keep | drop}`);
- an **argument point**: disputed arguments between an agreed trigger and an agreed entity, one option per role,
  keyed `argument TRIGGER -> ENTITY`;
- an **attribute point**: an attribute value the annotators differ on (`item: attribute realis of ...`, decided
  by the value, as before).

A decision names an option (`A`), several (`[A, B]`: both nested spans, or an entity in two roles), or `neither`.
Logs written before decision points (one `item:` entry per span and argument, decided `keep` or `drop`) are read
as they are, and `log_entries` turns them into decision points without losing a decision (`migrate`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..core.model import Document
from .adjudicate import (
    Adjudication,
    DecisionError,
    Disagreement,
    SpanKey,
    compare,
    context_of,
    quote,
    resolve_task,
)
from .agreement import latest_per_annotator

NEITHER = "neither"
POINT_FIELD = "disagreement"  # the entry field naming a decision point


@dataclass
class Option:
    label: str  # A, B, ...
    items: list[Disagreement]  # what choosing it keeps
    text: str  # side by side in the log: what it is and who marked it


@dataclass
class DecisionPoint:
    doc_id: str
    key: str
    kind: str  # boundary | type | missing | role | attribute
    options: list[Option]
    context: str
    followers: list[Disagreement] = field(default_factory=list)  # arguments that go with the chosen spans
    attribute: Disagreement | None = None  # an attribute point: decided by the value, as `item:` entries were

    @property
    def members(self) -> list[Disagreement]:
        return [d for o in self.options for d in o.items]

    def to_json(self) -> dict:
        out = {"doc": self.doc_id, POINT_FIELD: self.key, "kind": self.kind,
               "options": {**{o.label: o.text for o in self.options}, NEITHER: "none of these"},
               "context": self.context}
        if self.followers:
            out["follows"] = [d.key for d in self.followers]
        return out


def _who(d: Disagreement) -> str:
    return ", ".join(d.marked_by)


def _letters(n: int) -> list[str]:
    return [chr(ord("A") + i) if i < 26 else f"O{i + 1}" for i in range(n)]


def decision_points(text: str, disagreements: list[Disagreement]) -> list[DecisionPoint]:
    """The disagreements of one document gathered into decision points, in document order."""
    points: list[DecisionPoint] = []
    disputed: dict[str, dict[SpanKey, Disagreement]] = {"entity": {}, "trigger": {}}
    for d in disagreements:
        if d.what in disputed and d.kind != "attribute":
            disputed[d.what][d.item] = d
    anchor_point: dict[tuple[str, SpanKey], DecisionPoint] = {}
    for what, by_span in disputed.items():
        for group in _overlapping(sorted(by_span)):
            items = [by_span[k] for k in group]
            start, end = min(k[0] for k in group), max(k[1] for k in group)
            kinds = {d.kind for d in items}
            kind = "boundary" if "boundary" in kinds else "type" if "type" in kinds else "missing"
            options = [Option(label, [d], f"{quote(text, d.item)} (marked by {_who(d)})")
                       for label, d in zip(_letters(len(items)), items)]
            point = DecisionPoint(items[0].doc_id, f"{what} [{start}, {end}) «{text[start:end]}»", kind, options,
                                  context_of(text, start, end))
            points.append(point)
            anchor_point.update({(what, k): point for k in group})
    by_pair: dict[tuple[SpanKey, SpanKey], list[Disagreement]] = {}
    for d in disagreements:
        if d.what != "argument":
            continue
        tkey, ekey, _role = d.item
        anchors = [anchor_point.get(("trigger", tkey)), anchor_point.get(("entity", ekey))]
        if any(anchors):
            for point in {id(p): p for p in anchors if p}.values():
                point.followers.append(d)
        else:
            by_pair.setdefault((tkey, ekey), []).append(d)
    for (tkey, ekey), items in by_pair.items():
        options = [Option(label, [d], f"{d.item[2]} (by {_who(d)})") for label, d in zip(_letters(len(items)), items)]
        points.append(DecisionPoint(items[0].doc_id, f"argument {quote(text, tkey)} -> {quote(text, ekey)}",
                                    "role" if len(items) > 1 else "missing", options,
                                    context_of(text, ekey[0], ekey[1])))
    for d in disagreements:
        if d.kind == "attribute":
            points.append(DecisionPoint(d.doc_id, d.key, "attribute", [], d.context, attribute=d))
    points.sort(key=lambda p: (_start(p), p.key))
    return points


def _start(point: DecisionPoint) -> int:
    return point.attribute.start if point.attribute else min(d.start for d in point.members)


def _overlapping(spans: list[SpanKey]) -> list[list[SpanKey]]:
    """Sorted spans gathered into runs that overlap one another (a chain of overlaps is one run)."""
    groups: list[list[SpanKey]] = []
    end = -1
    for span in spans:
        if groups and span[0] < end:
            groups[-1].append(span)
            end = max(end, span[1])
        else:
            groups.append([span])
            end = span[1]
    return groups


# --- decisions -> item decisions --------------------------------------------------------------------------------


def _chosen(point: DecisionPoint, decision, problems: list[str]) -> set[str] | None:
    """The labels a decision chooses; None (with a problem) when it names no option."""
    values = decision if isinstance(decision, list) else [decision]
    labels = {o.label for o in point.options}
    out = set()
    for v in values:
        v = str(v).strip()
        if v.lower() == NEITHER:
            continue
        if v not in labels:
            problems.append(f"{point.key}: decision must be {', '.join(sorted(labels))} or {NEITHER} "
                            f"(or a list of options), got {decision!r}")
            return None
        out.add(v)
    return out


def item_decisions(points: list[DecisionPoint], entries: dict[str, dict],
                   ) -> tuple[dict[str, dict], list[str], dict[str, str | None]]:
    """(item key -> {"decision": keep | drop | value}, problems, item key -> the name an undecided item is
    reported by, None when its point's decision is already reported as a problem) from one document's entries,
    keyed by decision point or (in older logs) by item."""
    out = {key: e for key, e in entries.items() if POINT_FIELD not in e}  # older logs: item by item
    problems: list[str] = []
    names: dict[str, str | None] = {}
    overrides: dict[str, str] = {}
    kept: dict[str, bool] = {}
    for point in points:
        entry = entries.get(point.key)
        for d in point.members + point.followers:
            names.setdefault(d.key, point.key)
        if point.attribute is not None or entry is None or entry.get("decision") in (None, ""):
            continue
        chosen = _chosen(point, entry["decision"], problems)
        if chosen is None:
            names.update({d.key: None for d in point.members + point.followers})  # reported once, as a problem
            continue
        for option in point.options:
            for d in option.items:
                out[d.key] = {"decision": "keep" if option.label in chosen else "drop"}
                kept[d.key] = option.label in chosen
        for key, value in (entry.get("override") or {}).items():
            overrides[str(key)] = value
    quoted = {}
    for point in points:
        for d in point.members:
            quoted[d.item] = d.key
    for point in points:
        for d in point.followers:
            if d.key in overrides:
                out[d.key] = {"decision": overrides[d.key]}
                continue
            if d.key in out:  # an older log decided it item by item
                continue
            tkey, ekey, _ = d.item
            anchors = [quoted.get(tkey), quoted.get(ekey)]
            if any(a is not None and a not in kept and a not in out for a in anchors):
                continue  # its span is not decided yet: reported under that point
            keep = all(a is None or kept.get(a, (out.get(a) or {}).get("decision") == "keep") for a in anchors)
            out[d.key] = {"decision": "keep" if keep else "drop"}
    return out, problems, names


def resolve_document(docs: list[Document], entries: dict[str, dict], additions: list[dict]) -> Document:
    """`resolve_task` with the document's decision points: a point's decision covers its options and followers."""
    _people, _agreed, disagreements = compare(docs)
    points = decision_points(docs[0].text, disagreements)
    decisions, problems, names = item_decisions(points, entries)
    try:
        resolved = resolve_task(docs, decisions, additions, names)
    except DecisionError as exc:
        if not problems:
            raise
        raise DecisionError(f"{exc}; " + "; ".join(problems)) from None
    if problems:
        raise DecisionError(f"document {docs[0].id}: " + "; ".join(problems))
    return resolved


def decisions_by_document(entries: list[dict]) -> tuple[dict[str, dict[str, dict]], dict[str, list[dict]]]:
    """(doc -> point or item key -> entry, doc -> additions and removals) from log entries."""
    decisions: dict[str, dict[str, dict]] = {}
    additions: dict[str, list[dict]] = {}
    for e in entries:
        if "add" in e or "remove" in e:
            additions.setdefault(str(e.get("doc")), []).append(e)
        elif POINT_FIELD in e or "item" in e:
            decisions.setdefault(str(e.get("doc")), {})[str(e.get(POINT_FIELD) or e["item"])] = e
    return decisions, additions


def resolve_all(annotations: dict[str, list[Document]], entries: list[dict]) -> dict[str, Document]:
    """The resolved Document of every document with two or more annotators; DecisionError lists every problem
    of every document at once, so the reviewer fixes the log in one pass."""
    decisions, additions = decisions_by_document(entries)
    out, problems = {}, []
    for doc_id, docs in sorted(annotations.items()):
        people = latest_per_annotator(docs)
        if len(people) < 2:
            continue
        try:
            out[doc_id] = resolve_document(list(people.values()), decisions.get(doc_id, {}),
                                           additions.get(doc_id, []))
        except DecisionError as exc:
            problems.append(str(exc))
    if problems:
        raise DecisionError("\n".join(problems))
    return out


# --- writing the log ----------------------------------------------------------------------------------------------


def points_of(adjudications: list[Adjudication]) -> list[DecisionPoint]:
    return [p for adj in adjudications if adj.disagreements
            for p in decision_points(adj.text, adj.disagreements)]


def migrate(point: DecisionPoint, old: dict[str, dict]) -> dict:
    """A point's decision, reason and overrides from an older log's item-by-item entries (`old`: item key ->
    entry), when every option was decided there: lossless, `item_decisions` gives back the same item decisions."""
    decided = {d.key: (old.get(d.key) or {}).get("decision") for d in point.members}
    if not decided or any(v in (None, "") for v in decided.values()):
        return {}
    chosen = [o.label for o in point.options if all(decided[d.key] == "keep" for d in o.items)]
    if any(decided[d.key] not in ("keep", "drop") for d in point.members) or any(
            decided[d.key] == "keep" for o in point.options if o.label not in chosen for d in o.items):
        return {}  # not expressible as a choice: left to the item entries
    entry: dict = {"decision": chosen[0] if len(chosen) == 1 else (chosen or NEITHER)}
    kept = {d.key: decided[d.key] == "keep" for d in point.members}
    quoted = {d.item: d.key for d in point.members}
    override = {}
    for d in point.followers:
        was = (old.get(d.key) or {}).get("decision")
        tkey, ekey, _ = d.item
        anchors = [quoted.get(tkey), quoted.get(ekey)]
        default = "keep" if all(a is None or kept[a] for a in anchors) else "drop"
        if was not in (None, "") and was != default:
            override[d.key] = was
    if override:
        entry["override"] = override
    reasons = []
    for d in point.members + point.followers:
        r = (old.get(d.key) or {}).get("reason")
        if r and r not in reasons:
            reasons.append(r)
    entry["reason"] = "\n".join(reasons) if reasons else None
    for d in point.members + point.followers:
        for k, v in (old.get(d.key) or {}).items():
            if k not in ("doc", "item", "kind", "detail", "context", "values", "decision", "reason") and k not in entry:
                entry[k] = v  # e.g. decided_by
    return entry


def log_entries(adjudications: list[Adjudication], previous: list[dict]) -> list[dict]:
    """One entry per decision point, carrying over what the previous log decided (by point, or item by item
    from an older log: `migrate`), and every `add` and `remove` entry of the previous log."""
    by_point = {(e.get("doc"), e.get(POINT_FIELD)): e for e in previous if POINT_FIELD in e}
    by_item: dict[str, dict[str, dict]] = {}
    for e in previous:
        if "item" in e:
            by_item.setdefault(str(e.get("doc")), {})[str(e["item"])] = e
    out = []
    for point in points_of(adjudications):
        if point.attribute is not None:
            d = point.attribute
            old = by_item.get(d.doc_id, {}).get(d.key, {})
            entry = {"doc": d.doc_id, "item": d.key, "kind": d.kind, "values": d.values, "context": d.context,
                     "decision": old.get("decision"), "reason": old.get("reason")}
            entry.update({k: v for k, v in old.items() if k not in entry and k != "detail"})
            out.append(entry)
            continue
        entry = point.to_json()
        old = by_point.get((point.doc_id, point.key))
        if old is not None:
            carried = {k: v for k, v in old.items() if k not in entry}
            if old.get("options") != entry["options"] and carried.get("decision") not in (None, ""):
                # the annotations changed under this entry: its letters may name other spans now
                carried["earlier"] = {"options": old.get("options"), "decision": carried.pop("decision")}
        else:
            carried = migrate(point, by_item.get(point.doc_id, {}))
        entry["decision"] = carried.pop("decision", None)
        entry["reason"] = carried.pop("reason", None)
        entry.update(carried)
        out.append(entry)
    out += [e for e in previous if "add" in e or "remove" in e]
    return out


def undecided(entries: list[dict]) -> int:
    return sum(1 for e in entries if (POINT_FIELD in e or "item" in e) and e.get("decision") in (None, ""))
