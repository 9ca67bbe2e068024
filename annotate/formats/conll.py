"""Gold entities as layered CoNLL: a token and one IOB2 tag column per nesting layer (layer 1 outermost).

`-DOCSTART- DOC_ID` opens each document and a blank line ends each sentence, the layout `annotate score
--gold-conll/--pred-conll` reads. Tokens are cut at every entity boundary, as in the gold set, so a span that
leaves a clitic outside splits the word (`و|البيشمركة`); those cuts are counted and reported. A sentence
break never falls inside an entity (the sentences are joined instead), so every span survives. Events,
arguments and attributes have no place in the format and are reported as not held. `read_conll_spans` maps
the tokens back onto the document texts and gives the character spans, for the round-trip check.
"""

from __future__ import annotations

from pathlib import Path

from ..core.atomic import atomic_write_text
from ..core.bio import aligned_tokens, assign_layers, spans_from_bio_layers, to_bio_layers
from ..core.model import Document
from ..core.tokenize import Token, sentence_ids, tokenize
from . import ExportReport, counts, metadata_note


class ConllReadError(ValueError):
    pass


def _sentence_breaks(tokens: list[Token], sids: list[int], spans: list[tuple[int, int, str]]) -> set[int]:
    """Token indexes that start a new sentence, leaving out breaks that would cut an entity in two."""
    breaks = {i for i in range(1, len(tokens)) if sids[i] != sids[i - 1]}
    for s, e, _ in spans:
        breaks -= {i for i in breaks if s < tokens[i].start < e}
    return breaks


def document_rows(doc: Document, n_layers: int) -> tuple[list[str], int]:
    """CoNLL lines of one document (without the DOCSTART line) and the number of cuts made inside words."""
    spans = [(e.start, e.end, e.type) for e in doc.entities]
    tokens = aligned_tokens(doc.text, [(s, e) for s, e, _ in spans])
    inside_words = len(tokens) - len(tokenize(doc.text))
    layers = to_bio_layers(tokens, spans, min_layers=n_layers)
    breaks = _sentence_breaks(tokens, sentence_ids(doc.text, tokens), spans)
    lines = []
    for i, tok in enumerate(tokens):
        if i in breaks:
            lines.append("")
        lines.append("\t".join([tok.text, *(layer[i] for layer in layers)]))
    return lines, inside_words


def layers_needed(docs: list[Document]) -> int:

    return max([1, *(1 + max(assign_layers([(e.start, e.end, e.type) for e in d.entities]), default=0)
                     for d in docs)])


def write_conll(docs: list[Document], out: str | Path) -> ExportReport:
    n_layers = layers_needed(docs)
    lines: list[str] = []
    cuts = 0
    for doc in docs:
        if any(c.isspace() for c in doc.id):
            raise ValueError(f"document id {doc.id!r} holds whitespace; CoNLL cannot name it on its -DOCSTART- line")
        rows, inside = document_rows(doc, n_layers)
        cuts += inside
        lines += [f"-DOCSTART- {doc.id}", "", *rows, ""]
    atomic_write_text(out, "\n".join(lines) + "\n")
    c = counts(docs)
    report = ExportReport("conll", Path(out), len(docs), {"entities": c["entities"], "tag_columns": n_layers})
    if c["events"]:
        report.not_held.append(f"{c['events']} event(s) with {c['arguments']} argument(s) and {c['attributes']} "
                               "attribute value(s): CoNLL holds entity spans only (use brat or jsonl for events)")
    if cuts:
        report.not_held.append(f"{cuts} cut(s) inside a word, where an entity boundary splits it (a clitic left "
                               "outside a span): CoNLL cannot say that two tokens were one word")
    report.not_held.append("the exact whitespace between tokens (line breaks, double spaces): tokens are written "
                           "one per line")
    report.not_held += metadata_note(docs, "CoNLL has no place for them")
    return report


def read_conll_spans(path: str | Path, texts: dict[str, str]) -> dict[str, list[tuple[int, int, str]]]:
    """Entity spans per document from a layered CoNLL file written by `write_conll`, tokens matched in order
    against each document's text (`texts`: id -> text). ConllReadError names the file and line."""
    out: dict[str, list[tuple[int, int, str]]] = {}
    doc_id: str | None = None
    tokens: list[Token] = []
    tags: list[list[str]] = []
    pos = 0

    def finish():
        if doc_id is not None:
            n = max([1, *(len(t) for t in tags)])
            layers = [[t[k] if k < len(t) else "O" for t in tags] for k in range(n)]
            out[doc_id] = spans_from_bio_layers(tokens, layers)

    for lineno, line in enumerate(Path(path).read_text(encoding="utf-8").split("\n"), 1):
        cols = line.split("\t")
        if cols[0].startswith("-DOCSTART-"):
            finish()
            doc_id = line.removeprefix("-DOCSTART-").strip()
            if doc_id not in texts:
                raise ConllReadError(f"{path}:{lineno}: document {doc_id!r} is not among the texts given")
            tokens, tags, pos = [], [], 0
            continue
        if not line.strip():
            continue
        if doc_id is None:
            raise ConllReadError(f"{path}:{lineno}: a token before the first -DOCSTART- line")
        text = texts[doc_id]
        start = text.find(cols[0], pos)
        if start < 0 or text[pos:start].strip():
            raise ConllReadError(f"{path}:{lineno}: token {cols[0]!r} does not follow the previous token in the "
                                 f"text of document {doc_id}")
        pos = start + len(cols[0])
        tokens.append(Token(cols[0], start, pos))
        tags.append(cols[1:])
    finish()
    return out
