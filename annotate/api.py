"""The Python API (`annotate.load_gold`, `annotate.score_predictions`), for a notebook or a training loop: the
same gold set reader and the same report as `annotate score`, without files or a shell.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from .core.model import Document
from .core.schema import Attribute, EntityType, EventType, Schema, load_schema
from .gold.layout import GoldInfo
from .gold.reader import GoldSet
from .gold.rows import RowEncoder, content_fingerprint
from .predictions.sources import from_jsonl, from_records, restricted
from .score.run import document_report, stream_report

PathLike = str | Path


def load_gold(path: PathLike, split: str | None = None) -> list[Document]:
    """The gold documents of a gold set folder (`annotate import`'s output), one split or all."""
    return list(GoldSet(path).documents(split))


def score_predictions(gold: PathLike | Iterable[Document], predictions: PathLike | Iterable[dict | Document],
                      *, split: str | None = None, schema: Schema | PathLike | None = None,
                      resamples: int = 1000) -> dict:
    """Score predictions against gold; the same dict `annotate score --json` writes.

    `gold`: a gold set folder, or Documents (`load_gold`'s, or your own). `predictions`: a predictions JSONL
    path, or records in its format (dicts), or Documents, one per gold document at most. `split`: score one
    split of a gold set folder (predictions are checked against every document, as the command does).
    `schema`: for Documents only (a gold set carries its own); by default one is read off the gold documents'
    types, so a predicted type the gold never uses is an error of the extractor, as with any schema.
    `resamples`: bootstrap resamples for the 95% intervals (0: none). Malformed records are not scored; the
    report lists them under `predictions.rejected_reasons`.
    """
    if isinstance(gold, (str, Path)):
        gold_set = GoldSet(gold)
        if split is not None and split not in gold_set.build.get("splits", {}):
            raise ValueError(f"split {split!r}: the gold set {gold} has no such split "
                             f"(it has: {', '.join(gold_set.build.get('splits', {})) or 'none'})")
        if isinstance(predictions, (str, Path)):  # exactly what the command does: both read as streams
            return stream_report(gold_set, str(predictions), split, resamples).report
        info = gold_set.info()
        pairs = list(gold_set.documents_by_split())
        docs = [d for _, d in pairs]
        scored = {d.id for name, d in pairs if split is None or name == split}
    else:
        if split is not None:
            raise ValueError("split goes with a gold set folder; pass the documents of one split instead")
        docs = list(gold)
        schema = load_schema(schema) if isinstance(schema, (str, Path)) else schema or schema_of(docs)
        info = documents_info(docs, schema)
        scored = {d.id for d in docs}
    if isinstance(predictions, (str, Path)):
        loaded = from_jsonl(predictions, docs, info.schema)
    else:
        loaded = from_records([(f"predictions[{k}]", r) for k, r in enumerate(predictions)], docs, info.schema,
                              "<python>")
    return document_report([d for d in docs if d.id in scored], info, restricted(loaded, scored), resamples)


def schema_of(docs: list[Document]) -> Schema:
    """A permissive schema read off documents: their entity and event types, every role accepting every entity
    type, and the attribute values they use."""
    entity_types = {e.type: EntityType(e.type) for d in docs for e in d.entities}
    roles = {a.role: tuple(entity_types) for d in docs for v in d.events for a in v.arguments}
    event_types = {v.type: EventType(v.type, dict(roles)) for d in docs for v in d.events}
    values: dict[str, dict[str, None]] = {}
    for d in docs:
        for v in d.events:
            for name, value in v.attributes.items():
                values.setdefault(name, {})[value] = None
    return Schema("documents", 1, entity_types, event_types,
                  {name: Attribute(name, tuple(vals)) for name, vals in values.items()})


def documents_info(docs: list[Document], schema: Schema) -> GoldInfo:
    """What a report says of gold held in memory: the content fingerprint the gold set of these documents (built
    with this schema) would have, and the schema's."""
    rows = RowEncoder(schema)
    return GoldInfo(Path("<documents>"), content_fingerprint(rows.row(d) for d in docs), schema.fingerprint,
                    {"schema": schema.name, "schema_definition": schema.to_dict()}, None)
