"""Benchmark corpora, made on the fly from the bundled gold set (never committed).

Two shapes. `documents` (paragraph-sized): every generated document is a paragraph of one of the five gold articles
with the gold annotations that lie wholly inside it (nested entities, triggers, arguments, attributes), given a
numbered ending line so that each text, and so each content id, is distinct. Offsets stay the gold's, shifted to
the paragraph. One document in every `EMOJI_EVERY` gets an emoji (outside the Basic Multilingual Plane: two UTF-16
units, one code point) before each of its spans, so that offset conversion is exercised at scale.

`article_documents` (article-sized, the shape issue 11 measures `annotate import` on): every document is one
whole gold article (~2,200 characters) with a numbered last line, and about 10 of its gold entities chosen with
a fixed seed, always including a nested pair and a span that starts right after a clitic (so that tokens are
cut inside a word); the events whose trigger and at least one argument entity survive come along, with only
those arguments. Exactly one document of the whole corpus has an emoji before every span.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

from annotate.core.model import Argument, Document, Entity, Event, Span, document_id
from annotate.gold.reader import gold_documents
from annotate.predictions.records import document_to_record
from annotate.studio.tasks import results_for, task_data

from .harness import REPO

GOLD = REPO / "gold" / "dataset"
EMOJI = "\U0001F4F0"  # 📰
EMOJI_EVERY = 1000


def _paragraphs(doc: Document) -> Iterator[Document]:
    """The paragraphs of `doc` that hold at least one entity, each with the annotations wholly inside it."""
    start = 0
    for para in doc.text.split("\n"):
        end = start + len(para)
        ents = [e for e in doc.entities if start <= e.start and e.end <= end]
        if ents:
            keep = {e.id for e in ents}
            events = [replace(v, trigger=Span(v.trigger.start - start, v.trigger.end - start),
                              arguments=tuple(a for a in v.arguments if a.entity in keep))
                      for v in doc.events if start <= v.trigger.start and v.trigger.end <= end]
            yield Document(id=document_id(para), text=para,
                           entities=tuple(replace(e, start=e.start - start, end=e.end - start) for e in ents),
                           events=tuple(events))
        start = end + 1


def seed_paragraphs() -> list[Document]:
    docs, _ = gold_documents(GOLD)
    return [p for d in sorted(docs, key=lambda d: d.id) for p in _paragraphs(d)]


def _with_emoji(doc: Document) -> Document:
    """`doc` with an emoji inserted before every span start; every offset moved by the emojis before it."""
    starts = sorted({e.start for e in doc.entities} | {v.trigger.start for v in doc.events})

    def moved(offset: int, is_start: bool) -> int:
        # an emoji sits before a span's start, so a start at that offset moves past it too
        return offset + sum(1 for s in starts if s < offset or (is_start and s == offset))

    pieces, last = [], 0
    for s in starts:
        pieces += [doc.text[last:s], EMOJI]
        last = s
    pieces.append(doc.text[last:])
    text = "".join(pieces)
    return Document(id=document_id(text), text=text,
                    entities=tuple(replace(e, start=moved(e.start, True), end=moved(e.end, False))
                                   for e in doc.entities),
                    events=tuple(replace(v, trigger=Span(moved(v.trigger.start, True), moved(v.trigger.end, False)))
                                 for v in doc.events))


def documents(n: int, seed: int = 2026) -> Iterator[Document]:
    """`n` distinct annotated documents, in a fixed order for a given seed."""
    seeds = seed_paragraphs()
    rng = random.Random(seed)
    for i in range(n):
        base = seeds[rng.randrange(len(seeds))]
        text = f"{base.text}\n(نسخة {i + 1})"
        doc = Document(id=document_id(text), text=text, entities=base.entities, events=base.events)
        yield _with_emoji(doc) if i % EMOJI_EVERY == EMOJI_EVERY - 1 else doc


ARTICLE_SPANS = 10  # entities per article-sized document
ARTICLE_EVENTS = 2  # at most this many events per article-sized document (trigger plus kept arguments)


def _article_sample(doc: Document, rng: random.Random) -> Document:
    """`doc` with about `ARTICLE_SPANS` of its entities: a nested pair and a clitic-adjacent span first (when
    the article has them), the rest at random; events only where an argument entity was kept."""
    ents = list(doc.entities)
    nested = [(a, b) for a in ents for b in ents
              if a is not b and a.start <= b.start and b.end <= a.end and (a.start, a.end) != (b.start, b.end)]
    clitic = [e for e in ents if e.start > 0 and doc.text[e.start - 1].isalpha()]  # a clitic glued before it
    chosen: dict[str, Entity] = {}
    if nested:
        for e in rng.choice(nested):
            chosen[e.id] = e
    if clitic:
        e = rng.choice(clitic)
        chosen[e.id] = e
    rest = [e for e in ents if e.id not in chosen]
    for e in rng.sample(rest, max(0, min(len(rest), ARTICLE_SPANS - len(chosen)))):
        chosen[e.id] = e
    kept = tuple(e for e in ents if e.id in chosen)  # the article's order
    events = []
    for v in doc.events:
        args = tuple(a for a in v.arguments if a.entity in chosen)
        if args:
            events.append(replace(v, arguments=args))
    events = rng.sample(events, min(ARTICLE_EVENTS, len(events)))
    return Document(id=doc.id, text=doc.text, entities=kept, events=tuple(sorted(events, key=lambda v: v.id)))


def article_documents(n: int, seed: int = 2026) -> Iterator[Document]:
    """`n` distinct article-sized annotated documents (see the module docstring), in a fixed order for a seed;
    the document in the middle of the corpus is the one with an emoji before every span."""
    docs, _ = gold_documents(GOLD)
    articles = sorted(docs, key=lambda d: d.id)
    rng = random.Random(seed)
    for i in range(n):
        base = _article_sample(articles[rng.randrange(len(articles))], rng)
        text = f"{base.text}\n(نسخة {i + 1})"
        doc = Document(id=document_id(text), text=text, entities=base.entities, events=base.events)
        yield _with_emoji(doc) if i == n // 2 else doc


def write_articles_jsonl(path: str | Path, n: int, seed: int = 2026) -> Path:
    """Article records (`{"id", "text"}`) as `annotate tasks` reads them."""
    path = Path(path)
    with path.open("w", encoding="utf-8") as f:
        for doc in documents(n, seed):
            f.write(json.dumps({"id": doc.id, "text": doc.text}, ensure_ascii=False) + "\n")
    return path


def write_predictions_jsonl(path: str | Path, n: int, seed: int = 2026, drop_every: int = 7) -> Path:
    """Predictions for `documents(n, seed)`: the gold with every `drop_every`-th entity (and its arguments)
    left out, so that scores are below 1 and every error path is taken."""
    path = Path(path)
    with path.open("w", encoding="utf-8") as f:
        for doc in documents(n, seed):
            dropped = {e.id for k, e in enumerate(doc.entities) if k % drop_every == drop_every - 1}
            pred = replace(doc, entities=tuple(e for e in doc.entities if e.id not in dropped),
                           events=tuple(replace(v, arguments=tuple(a for a in v.arguments if a.entity not in dropped))
                                        for v in doc.events))
            f.write(json.dumps(document_to_record(pred), ensure_ascii=False) + "\n")
    return path


def export_task(doc: Document, task_id: int, annotator: int = 1) -> dict:
    """One finished task as Label Studio's JSON export writes it (one annotation)."""
    return {
        "id": task_id,
        "data": task_data(doc),
        "annotations": [{
            "id": task_id, "completed_by": annotator, "result": results_for(doc), "was_cancelled": False,
            "ground_truth": False, "created_at": "2026-11-01T10:00:00.000000Z",
            "updated_at": "2026-11-01T10:05:00.000000Z", "lead_time": 60.0,
        }],
        "predictions": [],
    }


def write_export_json(path: str | Path, n: int, seed: int = 2026, articles: bool = False) -> Path:
    """A Label Studio JSON export of `n` finished tasks, written as it is generated (one JSON array):
    paragraph-sized tasks (`documents`), or article-sized ones with `articles` (`article_documents`)."""
    path = Path(path)
    docs = article_documents(n, seed) if articles else documents(n, seed)
    with path.open("w", encoding="utf-8") as f:
        f.write("[")
        for i, doc in enumerate(docs):
            f.write(("," if i else "") + json.dumps(export_task(doc, i + 1), ensure_ascii=False))
        f.write("]\n")
    return path


__all__ = ["Argument", "Entity", "Event", "article_documents", "documents", "export_task", "seed_paragraphs",
           "write_articles_jsonl", "write_export_json", "write_predictions_jsonl"]
