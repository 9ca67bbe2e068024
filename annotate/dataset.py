"""Gold Documents <-> a Hugging Face `DatasetDict` on disk (parquet + dataset card + save_to_disk files).

Character spans are the truth; tokens and IOB2 layers are derived here, with tokens cut at every annotation
boundary, and every document is checked to survive spans -> tags -> spans unchanged before anything is
written. The folder is replaced atomically, so a crash leaves the previous gold set in place.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
from datasets import ClassLabel, Dataset, DatasetDict, Features, List, Value

from . import __version__
from .atomic import atomic_directory
from .bio import aligned_tokens, bio_labels, spans_from_bio_layers, to_bio_layers
from .model import Argument, Document, Entity, Event, Provenance, Span
from .schema import Schema
from .tokenize import sentence_ids

BUILD_FILE = "build.json"
AGREEMENT_FILE = "agreement.json"


class DatasetBuildError(ValueError):
    pass


class GoldReadError(ValueError):
    """A gold set that cannot be read; the message names the damaged file."""


def features(schema: Schema) -> Features:
    ner = ClassLabel(names=bio_labels(schema.entity_types))
    trig = ClassLabel(names=bio_labels(schema.event_types))
    string, i32 = Value("string"), Value("int32")
    return Features({
        "id": string,
        "text": string,
        "tokens": List(string),
        "token_start": List(i32),
        "token_end": List(i32),
        "sentence": List(i32),
        "ner_tags": List(ner),
        "ner_layers": List(List(ner)),
        "trigger_tags": List(trig),
        "trigger_layers": List(List(trig)),
        "entities": List({"id": string, "start": i32, "end": i32,
                          "type": ClassLabel(names=list(schema.entity_types)), "text": string}),
        "events": List({"id": string, "type": ClassLabel(names=list(schema.event_types)),
                        "trigger_start": i32, "trigger_end": i32, "trigger_text": string,
                        "attributes": List({"name": string, "value": string}),
                        "arguments": List({"role": string, "entity": string})}),
        "annotators": List(string),
        "annotation_ids": List(string),
        "export_source": string,
        "export_sha256": string,
        "metadata": string,  # JSON: headline, date, source, dropped boilerplate, gold rule
    })


def document_to_row(doc: Document, schema: Schema) -> dict:
    ent_spans = [(e.start, e.end, e.type) for e in doc.entities]
    trig_spans = [(v.trigger.start, v.trigger.end, v.type) for v in doc.events]
    tokens = aligned_tokens(doc.text, [(s, e) for s, e, _ in ent_spans + trig_spans])
    ner_layers = to_bio_layers(tokens, ent_spans)
    trig_layers = to_bio_layers(tokens, trig_spans)
    # the identity check: what the tags say must be exactly the character spans
    if spans_from_bio_layers(tokens, ner_layers) != sorted(ent_spans) or \
            spans_from_bio_layers(tokens, trig_layers) != sorted(trig_spans):
        raise DatasetBuildError(f"document {doc.id}: spans -> tags -> spans is not the identity")
    ner_index = {n: i for i, n in enumerate(bio_labels(schema.entity_types))}
    trig_index = {n: i for i, n in enumerate(bio_labels(schema.event_types))}
    ner_ids = [[ner_index[t] for t in layer] for layer in ner_layers]
    trig_ids = [[trig_index[t] for t in layer] for layer in trig_layers]
    return {
        "id": doc.id,
        "text": doc.text,
        "tokens": [t.text for t in tokens],
        "token_start": [t.start for t in tokens],
        "token_end": [t.end for t in tokens],
        "sentence": sentence_ids(doc.text, tokens),
        "ner_tags": ner_ids[0],
        "ner_layers": ner_ids,
        "trigger_tags": trig_ids[0],
        "trigger_layers": trig_ids,
        "entities": [{"id": e.id, "start": e.start, "end": e.end, "type": e.type, "text": doc.text[e.start:e.end]}
                     for e in doc.entities],
        "events": [{"id": v.id, "type": v.type, "trigger_start": v.trigger.start, "trigger_end": v.trigger.end,
                    "trigger_text": doc.text[v.trigger.start:v.trigger.end],
                    "attributes": [{"name": k, "value": x} for k, x in sorted(v.attributes.items())],
                    "arguments": [{"role": a.role, "entity": a.entity} for a in v.arguments]} for v in doc.events],
        "annotators": list(doc.provenance.annotators),
        "annotation_ids": list(doc.provenance.annotation_ids),
        "export_source": doc.provenance.source,
        "export_sha256": doc.provenance.source_sha256,
        "metadata": json.dumps(doc.metadata, ensure_ascii=False, sort_keys=True, default=str),
    }


def row_to_document(row: dict, entity_names: list[str], event_names: list[str]) -> Document:
    """Rows come back with ClassLabel ints; names map them back to the schema's labels."""
    def name(value, names):
        return names[value] if isinstance(value, int) else value

    entities = [Entity(e["id"], e["start"], e["end"], name(e["type"], entity_names)) for e in row["entities"]]
    events = [Event(v["id"], name(v["type"], event_names), Span(v["trigger_start"], v["trigger_end"]),
                    {a["name"]: a["value"] for a in v["attributes"]},
                    tuple(Argument(a["role"], a["entity"]) for a in v["arguments"])) for v in row["events"]]
    return Document(row["id"], row["text"], entities, events, json.loads(row["metadata"] or "{}"),
                    Provenance(tuple(row["annotators"]), tuple(row["annotation_ids"]), row["export_source"],
                               row["export_sha256"]))


def parse_splits(spec: str | None) -> list[tuple[str, float]]:
    """'train=0.8,test=0.2' -> [('train', 0.8), ('test', 0.2)]; fractions must add up to 1."""
    if not spec:
        return [("test", 1.0)]
    out = []
    for part in spec.split(","):
        name, _, frac = part.partition("=")
        try:
            value = float(frac)
        except ValueError:
            raise ValueError(f"--split: {part!r} is not NAME=FRACTION") from None
        if not name.strip() or value < 0:
            raise ValueError(f"--split: {part!r} is not NAME=FRACTION")
        out.append((name.strip(), value))
    if abs(sum(f for _, f in out) - 1.0) > 1e-9:
        raise ValueError(f"--split: fractions add up to {sum(f for _, f in out)}, not 1")
    return out


def split_of(doc_id: str, splits: list[tuple[str, float]]) -> str:
    """Deterministic: the same document always lands in the same split, whatever else is in the set."""
    bucket = int(hashlib.sha256(doc_id.encode()).hexdigest()[:12], 16) / float(16 ** 12)
    total = 0.0
    for name, frac in splits:
        total += frac
        if bucket < total:
            return name
    return splits[-1][0]


def parquet_name(split: str, digest: str) -> str:
    """A digest of the rows is part of the file name on purpose: `datasets` caches a local folder by its
    data-file paths, so a gold set rebuilt under the same names would load stale rows from that cache."""
    return f"data/{split}-{digest}.parquet"


def content_fingerprint(rows: Iterable[dict]) -> str:
    """Hash of the gold content (documents, spans, events), independent of file layout and row order."""
    h = hashlib.sha256()
    for row in sorted(rows, key=lambda r: r["id"]):
        h.update(json.dumps({k: row[k] for k in ("id", "text", "entities", "events")}, sort_keys=True,
                            ensure_ascii=False).encode())
    return h.hexdigest()[:16]


@dataclass
class GoldInfo:
    path: Path
    fingerprint: str
    schema_fingerprint: str
    build: dict
    agreement: dict | None

    @property
    def schema(self) -> Schema:
        """The schema the gold set was built with (types, roles, attributes)."""
        return Schema.from_dict(self.build["schema_definition"])


def build_dataset_dict(documents: list[Document], schema: Schema, splits: list[tuple[str, float]]) -> DatasetDict:
    feats = features(schema)
    by_split: dict[str, list[dict]] = {name: [] for name, _ in splits}
    for doc in sorted(documents, key=lambda d: d.id):
        by_split[split_of(doc.id, splits)].append(document_to_row(doc, schema))
    # A split that received no document is left out (load_dataset refuses an empty data file); only a wholly
    # empty set keeps one empty split, built from a dict because from_list([]) loses the columns.
    filled = {name: rows for name, rows in by_split.items() if rows}
    if not filled:
        first = splits[0][0]
        return DatasetDict({first: Dataset.from_dict({k: [] for k in feats}, features=feats)})
    return DatasetDict({name: Dataset.from_list(rows, features=feats) for name, rows in filled.items()})


def write_gold(documents: list[Document], schema: Schema, out_dir: str | Path, splits_spec: str | None = None,
               agreement: dict | None = None, build_notes: dict | None = None, about: str | None = None) -> GoldInfo:
    splits = parse_splits(splits_spec)
    dsd = build_dataset_dict(documents, schema, splits)
    rows = [r for split in dsd.values() for r in split.to_list()]
    fingerprint = content_fingerprint(rows)
    files_digest = hashlib.sha256(json.dumps(rows, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:16]
    build = {
        "toolkit_version": __version__,
        "schema": schema.name,
        "schema_version": schema.version,
        "schema_fingerprint": schema.fingerprint,
        "schema_definition": schema.to_dict(),
        "fingerprint": fingerprint,
        "splits": {name: len(ds) for name, ds in dsd.items()},
        "split_spec": dict(splits),
        "files_digest": files_digest,
        **(build_notes or {}),
    }
    with atomic_directory(out_dir) as tmp:
        dsd.save_to_disk(str(tmp))
        for name, ds in dsd.items():
            ds.to_parquet(str(tmp / parquet_name(name, files_digest)))
        (tmp / BUILD_FILE).write_text(json.dumps(build, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        if agreement is not None:
            (tmp / AGREEMENT_FILE).write_text(json.dumps(agreement, ensure_ascii=False, indent=2) + "\n",
                                              encoding="utf-8")
        (tmp / "README.md").write_text(dataset_card(documents, schema, dsd, build, agreement, about), encoding="utf-8")
    return GoldInfo(Path(out_dir), fingerprint, schema.fingerprint, build, agreement)


def dataset_card(documents: list[Document], schema: Schema, dsd: DatasetDict, build: dict,
                 agreement: dict | None, about: str | None = None) -> str:
    """The dataset card: what is in the set (counts), how far the annotation passes agreed, how it was built;
    `about` (Markdown written by the curators: who annotated, sources, licence, limits) goes first."""
    ents = Counter(e.type for d in documents for e in d.entities)
    evs = Counter(v.type for d in documents for v in d.events)
    roles = Counter(a.role for d in documents for v in d.events for a in v.arguments)
    annotators = Counter(a for d in documents for a in d.provenance.annotators)
    lines = ["---", "language:", "- ar", f"pretty_name: {schema.name} gold set", "task_categories:",
             "- token-classification", "configs:", "- config_name: default", "  data_files:"]
    for name in dsd:
        lines += [f"  - split: {name}", f"    path: {parquet_name(name, build['files_digest'])}"]
    lines += ["---", "", f"# {schema.name} gold set", "",
              "Arabic news articles annotated with entities (nested allowed) and events (typed triggers, "
              "attributes, role-labelled arguments).", "",
              f"- Schema: `{schema.name}` v{schema.version}, fingerprint `{schema.fingerprint}`",
              f"- Gold content fingerprint: `{build['fingerprint']}`",
              f"- Built by annotate {build['toolkit_version']}",
              f"- Documents: {len(documents)} ({', '.join(f'{k}: {len(v)}' for k, v in dsd.items())})",
              f"- Gold annotation by: {', '.join(f'{a} ({n})' for a, n in sorted(annotators.items())) or 'none'}"]
    if agreement and agreement.get("pairs"):
        passes = sorted({p[k] for p in agreement["pairs"] for k in ("a", "b")})
        lines.append(f"- Independent passes compared for agreement: {', '.join(passes)}")
    lines.append("")
    if about:
        lines += [about.strip(), ""]
    for title, counter in (("Entities", ents), ("Event triggers", evs), ("Arguments (roles)", roles)):
        lines += [f"## {title}", "", "| label | count |", "|---|---|"]
        lines += [f"| {k} | {v} |" for k, v in sorted(counter.items())] or ["| (none) | 0 |"]
        lines.append("")
    lines += ["## Inter-annotator agreement", ""]
    if agreement and agreement.get("pairs"):
        overall = agreement.get("overall", {})
        for key in ("entities_exact_f1", "entities_overlap_f1", "triggers_classification_f1",
                    "arguments_classification_f1", "token_kappa", "krippendorff_alpha"):
            if key in overall:
                value = overall[key]
                lines.append(f"- {key}: {'n/a' if value is None else f'{value:.3f}'}")
        lines.append(f"- over {agreement.get('tasks', 0)} task(s) annotated by two or more people")
        lines += ["", "Per label (F1 of one pass against the other; exact = same span and type, overlap = same type "
                  "and overlapping span; arguments = same trigger, entity span and role):", "",
                  "| label | exact F1 | overlap F1 | support |", "|---|---|---|---|"]
        per = agreement.get("per_label", {})
        exact, overlap = per.get("entities_exact", {}), per.get("entities_overlap", {})
        for label in sorted(set(exact) | set(overlap)):
            e, o = exact.get(label, {}), overlap.get(label, {})
            lines.append(f"| {label} | {_f3(e.get('f1'))} | {_f3(o.get('f1'))} | "
                         f"{e.get('support', o.get('support', 0))} |")
        for label, row in sorted(per.get("triggers_classification", {}).items()):
            lines.append(f"| trigger {label} | {_f3(row.get('f1'))} | | {row.get('support', 0)} |")
        for role, row in sorted(per.get("arguments_classification", {}).items()):
            lines.append(f"| argument {role} | {_f3(row.get('f1'))} | | {row.get('support', 0)} |")
    else:
        lines.append("No task was annotated by two or more people; no agreement figure is available.")
    lines += ["", "## How it was built", "",
              "Label Studio exports were read with `annotate import`; each task's gold annotation was chosen by "
              "the rule in the toolkit README (ground truth first, then a single annotation, then identical "
              "annotations; disagreements wait for adjudication). Tokens are cut at every annotation boundary; "
              "`ner_tags` is the outermost IOB2 layer and `ner_layers` holds every layer, so nested entities "
              "survive. Offsets are Python code points into `text`.", ""]
    for key in ("imported", "quarantined", "skipped", "exports"):
        if key in build:
            lines.append(f"- {key}: {build[key]}")
    return "\n".join(lines) + "\n"


def _f3(x) -> str:
    return "n/a" if x is None else f"{x:.3f}"


def gold_documents(path: str | Path, split: str | None = None) -> tuple[list[Document], GoldInfo]:
    """The gold Documents (one split, or all) and the set's info; the fingerprint is recomputed from the
    rows read, so a report never names a fingerprint the data does not have. GoldReadError names a damaged
    file. A list of every document: a caller that can take them one at a time uses `goldstream.GoldSet`."""
    from .goldstream import GoldSet

    gold = GoldSet(path)
    docs = list(gold.documents(split))
    return docs, gold.info()


def _json_object(file: Path) -> dict:
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise GoldReadError(f"{file}: not UTF-8 (byte {exc.start}); rebuild the gold set with `annotate import`"
                            ) from None
    except json.JSONDecodeError as exc:
        raise GoldReadError(f"{file}: not valid JSON: line {exc.lineno} column {exc.colno}: {exc.msg}; rebuild the "
                            "gold set with `annotate import`") from None
    if not isinstance(data, dict):
        raise GoldReadError(f"{file}: expected a JSON object; rebuild the gold set with `annotate import`")
    return data


def damaged_file(path: Path) -> Path | None:
    """The first file of a `save_to_disk` folder that does not read back whole, if any. Only called after a
    load failed: `datasets` does not say which of its files it could not read."""
    for file in sorted(path.rglob("*.json")):
        try:
            json.loads(file.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, ValueError):
            return file
    for file in sorted(path.rglob("*.arrow")):
        try:
            with pa.memory_map(str(file)) as source:
                pa.ipc.open_stream(source).read_all()
        except (pa.ArrowException, OSError):
            return file
    return None
