"""Label Studio exports -> one Document per annotation, with every fault named by task, region and field.

Reads full JSON exports (a list of tasks, or an envelope with a `tasks` list), single tasks, and JSON_MIN
exports (one flat record per annotation; relations are not part of that format). Labels are routed by the
schema: a label that is an entity type makes an entity, a label that is an event type makes a trigger.
For another project's export, `routing_from_config` reads the labels from its labeling config instead.

This module knows Label Studio's format (files, tasks, annotations, regions, relations); which annotation
becomes gold, and the accounting of a whole import, are `annotate.gold`'s.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

from ..core.conformance import schema_problems
from ..core.jsonl import lone_surrogate
from ..core.model import TATWEEL, Argument, Document, Entity, Event, Provenance, Span, SpanError, document_id
from .config import Routing
from .tasks import metadata_of_task

CONFLICT_MARK = "CONFLICT"
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


class ExportError(ValueError):
    pass


# --- reading files -----------------------------------------------------------------------------------------


def read_export_file(path: str | Path) -> tuple[list[dict], str]:
    """Tasks of one export file, and the file's sha256; ExportError names the file and, where there is one,
    the line (a truncated download ends in the middle of a value)."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ExportError(f"{path}: cannot be read: {exc.strerror}") from None
    digest = hashlib.sha256(raw).hexdigest()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise ExportError(f"{path}: not a JSON export: line {line}: not UTF-8 (byte {exc.start}: "
                          f"{raw[exc.start:exc.start + 1]!r})") from None
    try:
        data = json.loads(text)
    except RecursionError:
        raise ExportError(f"{path}: a value is nested too deeply to read (more than {sys.getrecursionlimit()} "
                          "levels of lists or objects)") from None
    except json.JSONDecodeError as exc:
        raise ExportError(f"{path}: not a JSON export: line {exc.lineno} column {exc.colno}: {exc.msg}"
                          + ("" if text.rstrip().endswith(("]", "}")) else
                             " (the file ends early: a half-finished download?)")) from None
    if isinstance(data, dict):
        if isinstance(data.get("tasks"), list):
            data = data["tasks"]
        elif "data" in data or "annotations" in data:
            data = [data]
        else:
            raise ExportError(f"{path}: a JSON object without a 'tasks' list is not a Label Studio export")
    if not isinstance(data, list):
        raise ExportError(f"{path}: expected a list of tasks")
    if data and all(isinstance(t, dict) and "data" not in t and "annotations" not in t for t in data):
        data = _from_min_format(data)
    return data, digest


class MinFormatTask(dict):
    """A task rebuilt from JSON_MIN records: that format has no relations and no per-region choices, so such a
    copy never replaces a full export's copy of the same document (`annotate.gold.build`)."""


_MIN_META = ("id", "annotator", "annotation_id", "created_at", "updated_at", "lead_time")


def _min_spans(rec: dict) -> dict:
    return {k: v for k, v in rec.items()
            if isinstance(v, list) and v and all(isinstance(x, dict) and "start" in x for x in v)}


def min_task_key(rec) -> str:
    """Which task a JSON_MIN record belongs to: its "id"; a record without one, by its task data (the same text
    and fields is the same task), so that records of different texts are never merged into one task."""
    if not isinstance(rec, dict):
        return "?"
    if rec.get("id") is not None:
        return f"id:{rec['id']}"
    spans = _min_spans(rec)
    data = {k: v for k, v in rec.items() if k not in spans and k not in _MIN_META}
    return "data:" + json.dumps(data, sort_keys=True, ensure_ascii=False)


def _from_min_format(records: list[dict]) -> list[dict]:
    """JSON_MIN -> full tasks: one record per annotation; span lists are the controls' results."""
    tasks: dict[str, dict] = {}
    for rec in records:
        spans = _min_spans(rec)
        data = {k: v for k, v in rec.items() if k not in spans and k not in _MIN_META}
        task = tasks.setdefault(min_task_key(rec), MinFormatTask(id=rec.get("id"), data=data, annotations=[]))
        result = []
        for control, items in spans.items():
            for k, item in enumerate(items):
                value = {key: item[key] for key in ("start", "end", "text") if key in item}
                value["labels"] = item.get("labels", [])
                result.append({"id": f"{control}-{k}", "from_name": control, "to_name": "text", "type": "labels",
                               "value": value})
        task["annotations"].append({"id": rec.get("annotation_id"), "completed_by": rec.get("annotator"),
                                    "result": result, "was_cancelled": False, "ground_truth": False,
                                    "updated_at": rec.get("updated_at", "")})
    return list(tasks.values())


# --- one annotation -> one Document ---------------------------------------------------------------------------


def annotator_name(annotation: dict) -> str:
    who = annotation.get("completed_by")
    if isinstance(who, dict):
        return str(who.get("email") or who.get("username") or who.get("id"))
    return f"user:{who}" if isinstance(who, int) else str(who or "unknown")


def json_type(value) -> str:
    """A JSON value's type, as a message about a malformed export names it."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    names = {str: "a string", dict: "an object", list: "a list", int: "a number", float: "a number"}
    return names.get(type(value), type(value).__name__)


def annotation_to_document(task: dict, annotation: dict, routing: Routing, doc_id: str, source: str,
                           on_text_mismatch: str = "offsets", on_edge_whitespace: str = "quarantine",
                           ) -> tuple[Document | None, list[str], list[str]]:
    """(document, errors, warnings) for one annotation; errors name the region id and field.

    `on_text_mismatch`: "offsets" keeps a region whose value.text disagrees with its offsets (a warning),
    "quarantine" makes it an error. `on_edge_whitespace`: "trim" moves a span edge that sits on whitespace
    inward (each one a warning naming the old and new span), "quarantine" makes it an error."""
    text = task["data"][routing.text_field]
    errors: list[str] = []
    warnings: list[str] = []
    entities: dict[str, Entity] = {}
    triggers: dict[str, tuple[Span, str]] = {}
    first_region: dict[tuple, str] = {}  # (kind, start, end, label) -> the region id that has it
    choices: dict[str, dict[str, str]] = {}
    doc_labels: dict[str, list[str]] = {}  # document choices: control -> the values picked
    relations: list[tuple[str, str, list[str]]] = []
    other_regions: list[dict] = []
    cancelled = annotation.get("was_cancelled")
    if cancelled is not None and not isinstance(cancelled, bool):
        return None, [f"field 'was_cancelled' must be true or false, got {json_type(cancelled)} "
                      f"{cancelled!r}"], warnings
    results = annotation.get("result")
    if results is None:
        # Label Studio writes an empty annotation as []: null is a damaged export, not "no entities"
        return None, [f"field result is {'missing' if 'result' not in annotation else 'null'}; an annotation "
                      "without regions is an empty list []"], warnings
    if not isinstance(results, list):
        return None, [f"field result must be a list of regions, got {json_type(results)}"], warnings
    for i, r in enumerate(results):
        if not isinstance(r, dict):
            errors.append(f"result[{i}]: must be an object (a region or a relation), got {json_type(r)}")
            continue
        rid = str(r["id"]) if "id" in r else f"#{i}"
        rtype = r.get("type")
        if not isinstance(rtype, str) or not rtype:
            errors.append(f"region {rid}: field type is missing or not a string, got {json_type(rtype)}")
            continue
        rtype = rtype.lower()  # "Labels" (the tag's name) for "labels": the same control type
        if rtype == "relation":
            labels = r.get("labels") or []
            if not isinstance(labels, list):
                errors.append(f"relation {r.get('from_id')} -> {r.get('to_id')}: field labels must be a list, "
                              f"got {json_type(labels)}")
                continue
            relations.append((str(r.get("from_id")), str(r.get("to_id")), labels))
            continue
        value = r.get("value")
        if value is None:
            value = {}
        if not isinstance(value, dict):
            errors.append(f"region {rid}: field value must be an object, got {json_type(value)}")
            continue
        if rtype == "choices" and str(r.get("from_name")) in routing.schema.document_choices:
            problem = _document_choice_problem(routing.schema.document_choices[str(r.get("from_name"))],
                                               value.get("choices"), doc_labels)
            if problem:
                errors.append(f"region {rid}: {problem}")
            else:
                doc_labels[str(r.get("from_name"))] = [str(c) for c in value["choices"]]
            continue
        if rtype == "choices":
            picked = value.get("choices") or []
            if not isinstance(picked, list):
                errors.append(f"region {rid}: field value.choices must be a list, got {json_type(picked)}")
            elif len(picked) != 1:
                errors.append(f"region {rid}: field value.choices of {r.get('from_name')} must hold one choice, "
                              f"got {picked}")
            else:
                choices.setdefault(rid, {})[str(r.get("from_name"))] = str(picked[0])
            continue
        if rtype not in ("labels", "hypertextlabels"):
            other_regions.append(r)
            continue
        start, end = value.get("start"), value.get("end")
        if not isinstance(start, int) or not isinstance(end, int) or isinstance(start, bool):
            errors.append(f"region {rid}: field value.start/value.end must be integers, got {start!r}/{end!r}")
            continue
        if not 0 <= start < end <= len(text):
            errors.append(f"region {rid}: offsets [{start}, {end}) are out of range for a text of {len(text)} "
                          "characters")
            continue
        span_text = text[start:end]
        if "text" in value and value["text"] != span_text:
            hint = ""
            if _utf16_slice(text, start, end) == value["text"]:
                hint = (" (the offsets match value.text when counted in UTF-16 code units, as some older Label "
                        "Studio versions did after an emoji; check this export's spans)")
            mismatch = f"region {rid}: field value.text {value['text']!r} differs from data[{start}:{end}] " \
                       f"{span_text!r}"
            if on_text_mismatch == "quarantine":
                errors.append(mismatch + hint)
                continue
            warnings.append(f"{mismatch}; the offsets win{hint}")
        if on_edge_whitespace == "trim" and span_text.strip() and (span_text[0].isspace() or span_text[-1].isspace()):
            old = (start, end)
            start += len(span_text) - len(span_text.lstrip())
            end -= len(span_text) - len(span_text.rstrip())
            warnings.append(f"region {rid}: span [{old[0]}, {old[1]}) {span_text!r} trimmed to [{start}, {end}) "
                            f"{text[start:end]!r} (--on-edge-whitespace trim)")
            span_text = text[start:end]
        if span_text[0].isspace() or span_text[0] == TATWEEL or span_text[-1].isspace() or span_text[-1] == TATWEEL:
            trim = " (`annotate import --on-edge-whitespace trim` moves a whitespace edge inward)" \
                if on_edge_whitespace != "trim" and (span_text[0].isspace() or span_text[-1].isspace()) else ""
            errors.append(f"region {rid}: span [{start}, {end}) {span_text!r} starts or ends on whitespace or tatweel"
                          + trim)
            continue
        labels = value.get("labels") or []
        if not isinstance(labels, list):
            errors.append(f"region {rid}: field value.labels must be a list, got {json_type(labels)}")
            continue
        if len(labels) != 1:
            errors.append(f"region {rid}: field value.labels must hold exactly one label, got {labels}")
            continue
        label = str(labels[0])
        kind = routing.kind(label)
        if kind is None:
            errors.append(f"region {rid}: label {label!r} (control {r.get('from_name')}) is not in schema "
                          f"{routing.schema.name}{routing.unknown_control(str(r.get('from_name')))}")
            continue
        wrong_control = routing.control_problem(str(r.get("from_name")), label)
        if wrong_control:
            errors.append(f"region {rid}: {wrong_control}")
            continue
        if rid in entities or rid in triggers:
            errors.append(f"region {rid}: the same region id is used twice")
            continue
        same = first_region.setdefault((kind, start, end, label), rid)
        if same != rid:
            # Two copies of one region would make a duplicate entity (or event) and an extra nesting layer.
            errors.append(f"region {rid}: a duplicate of region {same} (same span [{start}, {end}) and label "
                          f"{label}); delete one of them")
            continue
        if kind == "entity":
            entities[rid] = Entity(rid, start, end, label)
        else:
            triggers[rid] = (Span(start, end), label)
    for rid, picked in choices.items():
        if rid not in triggers:
            if rid in entities and not routing.strict_relations:
                continue  # another project's per-region choices on entities: kept in metadata below
            control = next(iter(picked))
            errors.append(f"region {rid}: per-region choices {picked} point at no trigger region (if {control!r} "
                          "is about the whole text, declare it under document_choices: in the schema, or read the "
                          "project's config with --config / `annotate schema --from-config`)")
    arguments: dict[str, list[Argument]] = {t: [] for t in triggers}
    loose_relations = []
    for k, (src, dst, labels) in enumerate(relations):
        where = f"relation {k} ({src} -> {dst})"
        known = set(entities) | set(triggers)
        if src not in known or dst not in known:
            missing = [x for x in (src, dst) if x not in known]
            errors.append(f"{where}: points at region {', '.join(missing)} that does not exist")
            continue
        if src == dst:
            errors.append(f"{where}: a region related to itself")
            continue
        if src in triggers and dst in entities:
            trig, ent = src, dst
        elif dst in triggers and src in entities:
            trig, ent = dst, src  # drawn from the argument to the trigger: the roles are the same
        elif not routing.strict_relations:
            unknown = [x for x in labels if routing.schema.relations and x not in routing.schema.relations]
            if unknown:
                errors.append(f"{where}: relation label {unknown[0]!r} is not one of the schema's relations "
                              f"{list(routing.schema.relations)}")
                continue
            loose_relations.append({"from": src, "to": dst, "labels": labels})
            continue
        else:
            errors.append(f"{where}: a role must link a trigger and an entity")
            continue
        if len(labels) != 1:
            errors.append(f"{where}: field labels must name exactly one role, got {labels}")
            continue
        argument = Argument(str(labels[0]), ent)
        if argument in arguments[trig]:
            errors.append(f"{where}: a duplicate argument (role {argument.role} already links {trig} and {ent})")
            continue
        arguments[trig].append(argument)
    if errors:
        return None, errors, warnings
    events = [Event(rid, label, span, choices.get(rid, {}), tuple(arguments[rid]))
              for rid, (span, label) in triggers.items()]
    meta = {"task_id": task.get("id")}  # the export file is in the provenance, not the metadata
    if doc_labels:
        meta["doc_labels"] = dict(sorted(doc_labels.items()))
    if loose_relations:
        meta["relations"] = loose_relations
    entity_choices = {rid: c for rid, c in choices.items() if rid in entities}
    if entity_choices:
        meta["region_choices"] = entity_choices
    if other_regions:
        meta["other_regions"] = other_regions
    conflicts = [r for r in results if has_conflict_note(r)]
    if conflicts:
        warnings.append(f"{len(conflicts)} region(s) still carry an adjudication {CONFLICT_MARK} note")
    try:
        doc = Document(doc_id, text, sorted(entities.values(), key=lambda e: (e.start, -e.end, e.type, e.id)),
                       sorted(events, key=lambda v: (v.trigger.start, v.trigger.end, v.id)), meta,
                       Provenance((annotator_name(annotation),), (str(annotation.get("id")),), source))
    except SpanError as exc:
        return None, [str(exc)], warnings
    problems = schema_problems(doc, routing.schema)
    if problems:
        return None, problems, warnings
    return doc, [], warnings


def _document_choice_problem(choice, picked, already: dict) -> str | None:
    """Why a document choice's value.choices cannot be kept, if so."""
    if choice.name in already:
        return f"document choice {choice.name!r} is given twice"
    if not isinstance(picked, list) or not picked or not all(isinstance(c, str) for c in picked):
        return f"field value.choices of {choice.name} must be a non-empty list of strings, got {picked!r}"
    if len(picked) > 1 and not choice.multiple:
        return f"document choice {choice.name!r} takes one value, got {picked}"
    unknown = [c for c in picked if c not in choice.values]
    if unknown:
        return f"document choice {choice.name}={unknown[0]!r} is not one of {list(choice.values)}"
    return None


def _utf16_slice(text: str, start: int, end: int) -> str | None:
    units = text.encode("utf-16-le")
    try:
        return units[2 * start:2 * end].decode("utf-16-le")
    except UnicodeDecodeError:
        return None


# --- reviews: what an adjudication left on a task -----------------------------------------------------------


def has_conflict_note(region) -> bool:
    """A region whose note (meta.text) still carries an adjudication CONFLICT mark."""
    if not isinstance(region, dict) or "meta" not in region:  # most regions: no note at all
        return False
    meta = region["meta"]
    notes = meta.get("text") if isinstance(meta, dict) else None
    return isinstance(notes, list) and any(CONFLICT_MARK in str(t) for t in notes)


# Flags of an annotation that decide what becomes gold; checked as JSON booleans (`task_annotations`).
BOOLEAN_FIELDS = ("ground_truth", "was_cancelled")


def is_review(annotation: dict) -> bool:
    """A ground-truth annotation, or an adjudication merge whose regions still carry CONFLICT notes."""
    if annotation.get("ground_truth"):
        return True
    result = annotation.get("result")
    return isinstance(result, list) and any(has_conflict_note(r) for r in result)


# --- one task: which document it holds, and its annotations as Documents ------------------------------------------


def document_key(task, routing: Routing, no_surrogates: bool = False) -> str | None:
    """The document a task holds: its data.doc_id, else the content id of its text (None: no usable text).
    `no_surrogates`: the task's strings are known to hold no lone surrogate (msgspec read them), not looked for."""
    if not isinstance(task, dict) or not isinstance(task.get("data"), dict):
        return None
    text = task["data"].get(routing.text_field)
    if not isinstance(text, str) or not text or (not no_surrogates and lone_surrogate(text)) or \
            doc_id_fault(task["data"]):
        return None
    return str(task["data"].get("doc_id") or document_id(text))


def doc_id_fault(data: dict) -> str | None:
    """Why data.doc_id cannot name a document (a list would become the string "['a', 'b']"), if it cannot."""
    doc_id = data.get("doc_id")
    if doc_id is None or isinstance(doc_id, str) or (isinstance(doc_id, int) and not isinstance(doc_id, bool)):
        return None
    return f"field data.doc_id must be a string, got {json_type(doc_id)}"


class DocumentKeys:
    """`document_key` for the tasks of one file, in order, telling apart tasks that hold the same text without a
    data.doc_id (a repeated headline, a story posted twice): the first such task (in file order) keeps the
    text's content id, each later one with another task id becomes the document `<content id>-<task id>` (a
    task without an id: `<content id>-<n>`, its n-th copy). The same task read twice stays one document (a
    duplicate task), and a later export of the same project gives each task the same id again. Tasks with a
    data.doc_id (this toolkit's pushes) keep it: the same doc_id twice is a duplicate task, as before."""

    def __init__(self, routing: Routing):
        self.routing = routing
        self.first: dict[str, object] = {}  # content id -> the id of the first task holding that text
        self.copies: dict[str, int] = {}  # content id -> tasks without an id holding that text

    def __call__(self, task, no_surrogates: bool = False) -> str | None:
        key = document_key(task, self.routing, no_surrogates)
        if key is None or task["data"].get("doc_id"):
            return key
        task_id = task.get("id")
        if task_id is None or isinstance(task_id, (dict, list)):
            n = self.copies[key] = self.copies.get(key, 0) + 1
            return key if n == 1 else f"{key}-{n}"
        first = self.first.setdefault(key, task_id)
        return key if first == task_id else f"{key}-{task_id}"


def _is_content_id(doc_id: str) -> bool:
    return len(doc_id) == 16 and all(c in "0123456789abcdef" for c in doc_id)


def task_fault(task, routing: Routing, reference_texts: dict[str, str] | None,
               raw: str | None = None) -> str | None:
    """Why a task cannot be read as a document at all (shape, text, edited text), if it cannot. `raw`, the
    JSON text the task was decoded from, lets the lone-surrogate walk be skipped when the text holds no
    surrogate escape (UTF-8 text cannot hold a lone surrogate any other way)."""
    if not isinstance(task, dict):
        return f"a task must be an object, got {json_type(task)}"
    if not isinstance(task.get("data"), dict):
        return ("field 'data' is missing" if task.get("data") is None else
                f"field 'data' must be an object, got {json_type(task['data'])}")
    surrogate = lone_surrogate(task) if raw is None or _SURROGATE_ESCAPE.search(raw) else None
    if surrogate:  # checked first: such a string cannot be hashed, compared to UTF-8 files, or written out
        return surrogate
    text = task["data"].get(routing.text_field)
    if not isinstance(text, str) or not text:
        return f"field data.{routing.text_field} is missing or empty"
    if doc_id_fault(task["data"]):
        return doc_id_fault(task["data"])
    doc_id = document_key(task, routing)
    reference = (reference_texts or {}).get(doc_id)
    if reference is not None and reference != text:
        return f"data.{routing.text_field} differs from the pushed document {doc_id}"
    if reference is None and "doc_id" in task["data"] and _is_content_id(doc_id) and document_id(text) != doc_id:
        return f"data.{routing.text_field} differs from the pushed document {doc_id} (its hash does not match)"
    return None


def has_live_annotation(task) -> bool:
    """A task holding an annotation that is not cancelled (what a newer copy needs to replace an older one)."""
    annotations = task.get("annotations") if isinstance(task, dict) else None
    return isinstance(annotations, list) and any(isinstance(a, dict) and a.get("was_cancelled") is not True
                                                 for a in annotations)


@dataclass
class TaskAnnotations:
    """A task's annotations read as Documents: usable ones with their raw annotation, or why there are none."""
    candidates: list[tuple[dict, Document]] = field(default_factory=list)
    fault: str | None = None  # a malformed annotation: the whole task is quarantined
    empty: str | None = None  # nothing to import (no annotation, or only cancelled ones)
    warnings: list[str] = field(default_factory=list)


def task_annotations(task: dict, doc_id: str, path: str, digest: str, routing: Routing,
                     on_text_mismatch: str = "offsets", on_edge_whitespace: str = "quarantine") -> TaskAnnotations:
    """Every live annotation of a (well-formed, see `task_fault`) task as a Document carrying the task's
    metadata and its provenance (annotator, annotation id, export file and digest)."""

    annotations = task.get("annotations")
    if annotations is None:
        annotations = []
    if not isinstance(annotations, list):
        return TaskAnnotations(fault=f"field annotations must be a list, got {json_type(annotations)}")
    not_objects = [f"annotations[{k}] is {json_type(a)}" for k, a in enumerate(annotations) if not isinstance(a, dict)]
    if not_objects:
        return TaskAnnotations(fault="; ".join(not_objects) + ", not an annotation object")
    not_booleans = [f"annotations[{k}] (id {a.get('id')}): field '{name}' must be true or false, got "
                    f"{json_type(a[name])} {a[name]!r}"
                    for k, a in enumerate(annotations) for name in BOOLEAN_FIELDS
                    if a.get(name) is not None and not isinstance(a[name], bool)]
    if not_booleans:  # "false" is truthy: read as is, a string would decide which annotation is gold
        return TaskAnnotations(fault="; ".join(not_booleans))
    if not annotations:
        return TaskAnnotations(empty="no annotations")
    live = [a for a in annotations if not a.get("was_cancelled")]
    if not live:
        return TaskAnnotations(empty=f"only cancelled annotations ({len(annotations)})")
    out = TaskAnnotations()
    faults = []
    metadata = metadata_of_task(task["data"], routing.text_field)
    for ann in live:
        doc, errors, warnings = annotation_to_document(task, ann, routing, doc_id, path, on_text_mismatch,
                                                       on_edge_whitespace)
        who = f"annotation {ann.get('id')} by {annotator_name(ann)}"
        out.warnings += [f"{who}: {w}" for w in warnings]
        if errors:
            faults.append(f"{who}: " + "; ".join(errors))
            continue
        provenance = Provenance(doc.provenance.annotators, doc.provenance.annotation_ids, path, digest)
        out.candidates.append((ann, doc.relabelled({**metadata, **doc.metadata}, provenance)))
    if faults:
        # A faulty annotation never silently falls back to another one: the whole task waits for a fix.
        out.fault = " | ".join(faults)
    return out
