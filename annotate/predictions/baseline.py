"""A baseline extractor: gazetteer and trigger-lexicon matching driven by `schemas/baseline-lexicon.yaml`.

Usable as `--extractor annotate.baseline:extract`, as the command `annotate baseline` (documents JSONL on
stdin, predictions JSONL on stdout), and as the pre-annotator behind `annotate tasks --predictions`.
It is deliberately simple: it gives the scorer and Label Studio something real to work with and a floor
any learned extractor should beat.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from ..core.model import Document
from ..core.normalize import key_with_offsets, matching_key
from ..core.schema import SCHEMAS_DIR, Schema, load_schema
from ..core.tokenize import sentence_ids, tokenize

DEFAULT_LEXICON = SCHEMAS_DIR / "baseline-lexicon.yaml"
CLITICS = "وفبلك"
MAX_ARGUMENT_DISTANCE = 80  # characters between a trigger and an argument it may take


@dataclass(frozen=True)
class Lexicon:
    entity_patterns: dict[str, re.Pattern]
    trigger_patterns: dict[str, re.Pattern]


def _alternation(entries: list[str]) -> str:
    keys = sorted({matching_key(e) for e in entries if e.strip()}, key=len, reverse=True)
    return "|".join(re.escape(k) for k in keys)


def _word_pattern(body: str) -> re.Pattern:
    # an optional clitic prefix stays outside the match (group "m"), as the guidelines want
    return re.compile(rf"(?<!\w)(?:[{CLITICS}]{{0,2}}?)(?P<m>{body})(?!\w)")


@lru_cache(maxsize=4)
def load_lexicon(path: str | None = None, schema_path: str | None = None) -> Lexicon:
    data = yaml.safe_load(Path(path or DEFAULT_LEXICON).read_text(encoding="utf-8"))
    schema = load_schema(schema_path)
    entity_patterns = {}
    for etype, entries in (data.get("entities") or {}).items():
        body = _alternation(entries)
        extra = (data.get("patterns") or {}).get(etype)
        if extra:
            body = f"{matching_key(extra)}|{body}" if body else matching_key(extra)
        entity_patterns[etype] = _word_pattern(body)
    for etype, pattern in (data.get("patterns") or {}).items():
        entity_patterns.setdefault(etype, _word_pattern(matching_key(pattern)))
    trigger_patterns = {}
    for vtype, event in schema.event_types.items():
        words = list(event.triggers) + list((data.get("triggers") or {}).get(vtype, []))
        if words:
            trigger_patterns[vtype] = _word_pattern(_alternation(words))
    return Lexicon(entity_patterns, trigger_patterns)


def _spans(pattern: re.Pattern, key: str, offsets: list[int], text: str) -> list[tuple[int, int]]:
    out = []
    for m in pattern.finditer(key):
        ks, ke = m.span("m")
        if ks == ke:
            continue
        start, end = offsets[ks], offsets[ke - 1] + 1
        while end < len(text) and unicodedata.category(text[end]) == "Mn":
            end += 1  # diacritics on the last letter belong to the word
        out.append((start, end))
    return out


def extract_document(doc: Document, schema: Schema | None = None, lexicon: Lexicon | None = None) -> dict:
    """Predictions record (the predictions JSONL shape) for one document."""
    schema = schema or load_schema()
    lexicon = lexicon or load_lexicon()
    key, offsets = key_with_offsets(doc.text)
    key = key.lower()
    found: list[tuple[int, int, str]] = []
    for etype, pattern in lexicon.entity_patterns.items():
        if etype in schema.entity_types:
            found += [(s, e, etype) for s, e in _spans(pattern, key, offsets, doc.text)]
    # a number inside a date is part of the date, not a count
    times = [(s, e) for s, e, t in found if t == "TIME"]
    found = [(s, e, t) for s, e, t in found if not (t == "NUM" and any(ts <= s and e <= te for ts, te in times))]
    entities = [{"id": f"e{i + 1}", "start": s, "end": e, "type": t} for i, (s, e, t) in enumerate(sorted(set(found)))]
    tokens = tokenize(doc.text)
    sent_of_token = sentence_ids(doc.text, tokens)
    starts = [t.start for t in tokens]

    def sentence_at(offset: int) -> int:

        k = max(0, bisect_right(starts, offset) - 1)
        return sent_of_token[k] if sent_of_token else 0

    events = []
    taken: set[tuple[int, int]] = set()
    for vtype, pattern in lexicon.trigger_patterns.items():
        for s, e in _spans(pattern, key, offsets, doc.text):
            if (s, e) in taken:
                continue
            taken.add((s, e))
            sent = sentence_at(s)
            args, used = [], set()
            for role, accepted in schema.event_types[vtype].roles.items():
                candidates = [x for x in entities if x["type"] in accepted and x["id"] not in used
                              and sentence_at(x["start"]) == sent
                              and min(abs(x["start"] - e), abs(s - x["end"])) <= MAX_ARGUMENT_DISTANCE]
                if candidates:
                    best = min(candidates, key=lambda x: min(abs(x["start"] - e), abs(s - x["end"])))
                    used.add(best["id"])
                    args.append({"role": role, "entity": best["id"]})
            events.append({"id": f"v{len(events) + 1}", "type": vtype, "trigger": {"start": s, "end": e},
                           "attributes": {name: a.default for name, a in schema.attributes.items() if a.default},
                           "arguments": args})
    return {"id": doc.id, "entities": entities, "events": events}


def extract(documents: list[Document]) -> list[dict]:
    """The callable form: `annotate score --extractor annotate.baseline:extract`."""
    schema, lexicon = load_schema(), load_lexicon()
    return [extract_document(d, schema, lexicon) for d in documents]
