"""Gold Documents as brat standoff: per document DOC.txt (the exact text) and DOC.ann, plus annotation.conf.

In DOC.ann, entities and triggers are T lines (`T1<TAB>PER 10 17<TAB>text`; brat offsets are code points,
end-exclusive, like ours), each event is an E line (`E1<TAB>Conflict.Attack:T5 Attacker:T1`; a role used
twice gets brat's number suffix, `Victim2:T3`), each attribute value an A line (`A1<TAB>realis E1 actual`).
A span holding a line break is written as brat fragments (`3 8;9 12`), one per line. Our own ids are kept in
AnnotatorNotes lines (`#1<TAB>AnnotatorNotes T1<TAB>id=e12`) and document ids in `documents.tsv`, so
`read_brat` gives back the very same Documents. Document metadata has no place and is reported.

brat's rules (its `annotation.py` and `verify_annotations.py`) are kept: type and role names are brat-safe
(`[A-Za-z0-9_-]`; `Conflict.Attack` is written `Conflict_Attack`, and `types.tsv` records each renamed type so
that `read_brat` restores it), `annotation.conf` has an `<OVERLAP>` rule for each way the entities overlap
(nesting), and a document id too long for a file name gets a shortened name ending in a hash of the id. The
folder is written beside the target and renamed over it at the end, so a failed export leaves the previous one.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from ..core.atomic import atomic_directory
from ..core.model import Argument, Document, Entity, Event, Span, SpanError
from ..core.schema import Schema
from . import ExportReport, counts, metadata_note

INDEX = "documents.tsv"
TYPE_MAP = "types.tsv"  # brat name <TAB> our name, for every name brat could not take as it is
MAX_STEM_BYTES = 120  # a file name's stem; with ".ann" far below the 255 bytes file systems allow
_BRAT_NAME = re.compile(r"^[A-Za-z0-9_-]+$")
_ROLE_NUMBER = re.compile(r"^(.*?)(\d+)$")


class BratReadError(ValueError):
    pass


def _fragments(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """The span cut at line breaks (brat draws a fragment per line), whitespace trimmed off each piece."""
    out = []
    pos = start
    for piece in text[start:end].split("\n"):
        s, e = pos, pos + len(piece)
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        if s < e:
            out.append((s, e))
        pos += len(piece) + 1
    return out


def _t_line(tid: str, label: str, text: str, start: int, end: int) -> str:
    frags = _fragments(text, start, end)
    offsets = ";".join(f"{s} {e}" for s, e in frags)
    return f"{tid}\t{label} {offsets}\t{' '.join(text[s:e] for s, e in frags)}"


def _value(value: str) -> str:
    """An attribute value as one brat token: an A line is split at whitespace."""
    return re.sub(r"\s+", "_", value)


def brat_names(names) -> dict[str, str]:
    """Our type and role names -> brat-safe ones: every character outside [A-Za-z0-9_-] becomes `_`, and a name
    that would then clash with another gets a number (`_2`); names that are safe stay as they are."""
    out: dict[str, str] = {}
    names = sorted(set(names))
    taken = {n for n in names if _BRAT_NAME.match(n)}
    for name in names:
        if name in taken:
            out[name] = name
            continue
        base = re.sub(r"[^A-Za-z0-9_-]", "_", name) or "type"
        safe, n = base, 1
        while safe in taken:
            n += 1
            safe = f"{base}_{n}"
        taken.add(safe)
        out[name] = safe
    return out


def schema_names(schema: Schema, docs: list[Document]) -> dict[str, str]:
    """The brat name of every entity type, event type and role of the schema and of the documents."""
    names = set(schema.entity_types) | set(schema.event_types)
    names |= {r for ev in schema.event_types.values() for r in ev.roles}
    names |= {e.type for d in docs for e in d.entities}
    names |= {v.type for d in docs for v in d.events} | {a.role for d in docs for v in d.events for a in v.arguments}
    return brat_names(names)


def document_ann(doc: Document, names: dict[str, str] | None = None) -> tuple[str, int]:
    """The .ann text of one document and how many spans needed fragments (a line break inside). `names`: our
    type and role names -> brat's (`schema_names`)."""
    names = names or {}

    def brat(name: str) -> str:
        return names.get(name, name)

    lines: list[str] = []
    notes: list[tuple[str, str]] = []
    t_of: dict[str, str] = {}
    fragmented = 0
    for e in doc.entities:
        tid = t_of[e.id] = f"T{len(t_of) + 1}"
        lines.append(_t_line(tid, brat(e.type), doc.text, e.start, e.end))
        notes.append((tid, e.id))
        fragmented += "\n" in doc.text[e.start:e.end]
    n_attr = 0
    for k, v in enumerate(doc.events, 1):
        tid = f"T{len(t_of) + k}"
        lines.append(_t_line(tid, brat(v.type), doc.text, v.trigger.start, v.trigger.end))
        fragmented += "\n" in doc.text[v.trigger.start:v.trigger.end]
        seen: dict[str, int] = {}
        args = []
        for a in v.arguments:
            seen[a.role] = seen.get(a.role, 0) + 1
            args.append(f"{brat(a.role)}{seen[a.role] if seen[a.role] > 1 else ''}:{t_of[a.entity]}")
        lines.append(f"E{k}\t{' '.join([f'{brat(v.type)}:{tid}', *args])}")
        notes.append((f"E{k}", v.id))
        for name, value in sorted(v.attributes.items()):
            n_attr += 1
            lines.append(f"A{n_attr}\t{name} E{k} {_value(value)}")
    lines += [f"#{n}\tAnnotatorNotes {ref}\tid={our_id}" for n, (ref, our_id) in enumerate(notes, 1)]
    return "\n".join(lines) + "\n", fragmented


def overlap_kinds(docs: list[Document]) -> list[str]:
    """How entity spans of the documents overlap, in brat's words: `equal` (the same span, two types),
    `contain` (one inside the other: nesting), `cross` (each holds a part of the other)."""
    kinds: set[str] = set()
    for d in docs:
        spans = sorted({(e.start, e.end) for e in d.entities})
        if len(spans) < len({(e.start, e.end, e.type) for e in d.entities}):
            kinds.add("equal")
        for i, (s1, e1) in enumerate(spans):
            for s2, e2 in spans[i + 1:]:
                if s2 >= e1:
                    break
                kinds.add("contain" if e2 <= e1 or s1 == s2 else "cross")
    return [k for k in ("equal", "contain", "cross") if k in kinds]


def annotation_conf(schema: Schema, names: dict[str, str] | None = None, overlaps: list[str] | None = None) -> str:
    """brat's type declarations: entity types, events with their roles (any number of each), attributes, and
    an `<OVERLAP>` rule allowing the ways entities overlap in the data (brat refuses any other overlap)."""
    names = names or {}

    def brat(name: str) -> str:
        return names.get(name, name)

    lines = ["[entities]", *(brat(t) for t in schema.entity_types), "", "[relations]"]
    if overlaps:
        lines.append(f"<OVERLAP>\tArg1:<ENTITY>, Arg2:<ENTITY>, <OVL-TYPE>:{'|'.join(overlaps)}")
    lines += ["", "[events]"]
    for name, ev in schema.event_types.items():
        roles = ", ".join(f"{brat(r)}*:{'|'.join(brat(t) for t in types)}" for r, types in ev.roles.items())
        lines.append(f"{brat(name)}\t{roles}" if roles else brat(name))
    lines += ["", "[attributes]"]
    lines += [f"{a.name}\tArg:<EVENT>, Value:{'|'.join(_value(v) for v in a.values)}"
              for a in schema.attributes.values()]
    return "\n".join(lines) + "\n"


def file_stems(docs: list[Document]) -> dict[str, str]:
    """A file name per document id: the id where it is a safe file name, else a cleaned one made unique; a
    stem over MAX_STEM_BYTES (UTF-8) is cut and ends in 12 hex digits of the id's SHA-256."""
    out: dict[str, str] = {}
    used: set[str] = set()
    for d in docs:
        stem = re.sub(r"[^\w.-]", "_", d.id).lstrip(".") or "doc"
        if len(stem.encode("utf-8")) > MAX_STEM_BYTES:
            cut = stem.encode("utf-8")[:MAX_STEM_BYTES - 13].decode("utf-8", "ignore")
            stem = f"{cut}-{hashlib.sha256(d.id.encode('utf-8')).hexdigest()[:12]}"
        base, n = stem, 1
        while stem in used:
            n += 1
            stem = f"{base}-{n}"
        used.add(stem)
        out[d.id] = stem
    return out


def _check_target(out_dir: Path) -> None:
    """An earlier export's folder is replaced; any other non-empty folder is refused."""
    if out_dir.is_dir() and any(out_dir.iterdir()) and not (out_dir / INDEX).exists():
        raise ValueError(f"{out_dir} is not empty and holds no {INDEX} of an earlier brat export; give a new or "
                         "empty folder")


def write_brat(docs: list[Document], out_dir: str | Path, schema: Schema) -> ExportReport:
    out_dir = Path(out_dir)
    for d in docs:  # checked before anything is written
        if "\t" in d.id or d.id.splitlines() != [d.id]:
            raise ValueError(f"document id {d.id!r} holds a tab or a line break: {INDEX} (a file name, a tab and "
                             "the id on each line) cannot hold it; export it as jsonl")
    _check_target(out_dir)
    stems = file_stems(docs)
    names = schema_names(schema, docs)
    fragmented = 0
    with atomic_directory(out_dir) as tmp:  # a failure part-way leaves the previous folder, not half of one
        for d in docs:
            ann, frag = document_ann(d, names)
            fragmented += frag
            with open(tmp / f"{stems[d.id]}.txt", "w", encoding="utf-8", newline="") as fh:
                fh.write(d.text)
            (tmp / f"{stems[d.id]}.ann").write_text(ann, encoding="utf-8")
        (tmp / INDEX).write_text("".join(f"{stems[d.id]}\t{d.id}\n" for d in docs), encoding="utf-8")
        renamed = {ours: theirs for ours, theirs in names.items() if ours != theirs}
        if renamed:
            (tmp / TYPE_MAP).write_text("".join(f"{theirs}\t{ours}\n" for ours, theirs in sorted(renamed.items())),
                                        encoding="utf-8")
        (tmp / "annotation.conf").write_text(annotation_conf(schema, names, overlap_kinds(docs)), encoding="utf-8")
    report = ExportReport("brat", out_dir, len(docs), counts(docs))
    spaced = sum(1 for d in docs for v in d.events for x in v.attributes.values() if re.search(r"\s", x))
    if spaced:
        report.not_held.append(f"{spaced} attribute value(s) with whitespace: written with '_' in its place "
                               "(a brat A line is split at whitespace)")
    if fragmented:
        report.not_held.append(f"{fragmented} span(s) hold a line break: written as brat fragments, one per line "
                               "(read back whole by read_brat)")
    if renamed:
        report.not_held.append(f"{len(renamed)} type or role name(s) outside brat's [A-Za-z0-9_-] (e.g. "
                               f"{next(iter(renamed))} -> {next(iter(renamed.values()))}): renamed, listed in "
                               f"{TYPE_MAP} (read back by read_brat)")
    report.not_held += metadata_note(docs, "brat standoff has no place for them")
    return report


def _parse_offsets(where: str, raw: str) -> tuple[int, int]:
    try:
        frags = [tuple(int(x) for x in part.split()) for part in raw.split(";")]
        return min(f[0] for f in frags), max(f[1] for f in frags)
    except (ValueError, IndexError):
        raise BratReadError(f"{where}: offsets {raw!r} are not 'START END[;START END...]'") from None


def read_ann(path: Path, doc_id: str, text: str, roles: set[str] | None = None,
             names: dict[str, str] | None = None) -> Document:
    """One .ann file as a Document. `roles`: the schema's role names (as written in brat), so that a role ending
    in a digit is not mistaken for brat's number suffix of a repeated role. `names`: brat name -> our name for
    the types and roles the export renamed (`types.tsv`)."""
    names = names or {}
    spans: dict[str, tuple[str, int, int]] = {}
    events: list[tuple[str, str, str, list[tuple[str, str]]]] = []  # (E id, type, trigger T id, [(role, T id)])
    attrs: dict[str, dict[str, str]] = {}
    ids: dict[str, str] = {}
    for lineno, line in enumerate(path.read_text(encoding="utf-8").split("\n"), 1):
        if not line.strip():
            continue
        where = f"{path}:{lineno}"
        cols = line.split("\t")
        kind = cols[0][:1]
        if kind == "T":
            if len(cols) < 2 or " " not in cols[1]:
                raise BratReadError(f"{where}: a T line needs 'ID<TAB>TYPE START END<TAB>TEXT'")
            label, raw = cols[1].split(" ", 1)
            spans[cols[0]] = (names.get(label, label), *_parse_offsets(where, raw))
        elif kind == "E":
            parts = cols[1].split() if len(cols) > 1 else []
            if not parts or ":" not in parts[0]:
                raise BratReadError(f"{where}: an E line needs 'ID<TAB>TYPE:TRIGGER [ROLE:ARG ...]'")
            etype, trig = parts[0].split(":", 1)
            args = []
            for p in parts[1:]:
                role, _, arg = p.partition(":")
                m = _ROLE_NUMBER.match(role)
                if m and not (roles and role in roles):
                    role = m.group(1)
                args.append((names.get(role, role), arg))
            events.append((cols[0], names.get(etype, etype), trig, args))
        elif kind == "A":
            parts = cols[1].split() if len(cols) > 1 else []
            if len(parts) != 3:
                raise BratReadError(f"{where}: an A line needs 'ID<TAB>NAME TARGET VALUE'")
            attrs.setdefault(parts[1], {})[parts[0]] = parts[2]
        elif kind == "#" and len(cols) >= 3 and cols[1].startswith("AnnotatorNotes ") and cols[2].startswith("id="):
            ids[cols[1].split(" ", 1)[1]] = cols[2][3:]
        # other lines (relations, normalisations, comments) carry nothing this toolkit's model holds
    triggers = {t for _, _, t, _ in events}
    entities = [Entity(ids.get(t, t), s, e, label) for t, (label, s, e) in spans.items() if t not in triggers]
    out_events = []
    for eid, etype, trig, args in events:
        if trig not in spans:
            raise BratReadError(f"{path}: event {eid} names trigger {trig}, which has no T line")
        _, s, e = spans[trig]
        arguments = []
        for role, arg in args:
            if arg not in spans or arg in triggers:
                raise BratReadError(f"{path}: event {eid} argument {role}:{arg} is not an entity's T line")
            arguments.append(Argument(role, ids.get(arg, arg)))
        out_events.append(Event(ids.get(eid, eid), etype, Span(s, e), attrs.get(eid, {}), tuple(arguments)))
    return Document(doc_id, text, entities, out_events)


def read_brat(folder: str | Path, schema: Schema | None = None) -> list[Document]:
    """Every DOC.txt/DOC.ann pair of a folder, named by `documents.tsv` where it exists (else by file name)."""
    folder = Path(folder)
    doc_ids: dict[str, str] = {}
    if (folder / INDEX).exists():
        for line in (folder / INDEX).read_text(encoding="utf-8").splitlines():
            if line.strip():
                stem, _, doc_id = line.partition("\t")
                doc_ids[stem] = doc_id
    names: dict[str, str] = {}
    if (folder / TYPE_MAP).exists():
        for line in (folder / TYPE_MAP).read_text(encoding="utf-8").splitlines():
            theirs, _, ours = line.partition("\t")
            if theirs and ours:
                names[theirs] = ours
    ours_to_theirs = {v: k for k, v in names.items()}
    roles = {ours_to_theirs.get(r, r) for r in schema.role_names} if schema else None
    docs = []
    for ann in sorted(folder.glob("*.ann")):
        txt = ann.with_suffix(".txt")
        if not txt.exists():
            raise BratReadError(f"{ann}: no {txt.name} beside it")
        with open(txt, encoding="utf-8", newline="") as fh:  # the exact text: no newline translation
            text = fh.read()
        try:
            docs.append(read_ann(ann, doc_ids.get(ann.stem, ann.stem), text, roles, names))
        except SpanError as exc:
            raise BratReadError(f"{ann}: {exc}") from None
    return docs
