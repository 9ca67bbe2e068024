"""CoNLL tag columns in: a conlleval-style file (last two columns gold and predicted) or a pair of layered files
(token + one tag column per nesting layer), checked against the tagging scheme before anything is scored.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from ..core.chunks import ALLOWED_PREFIXES, SCHEMES, detect_scheme, prefix_of, tag_problem


class ConllError(ValueError):
    pass


Row = tuple[int, list[str]]  # (line number, whitespace-separated columns)
Cell = tuple[str, str]  # (file:line, tag)


@dataclass(frozen=True)
class TagFormat:
    scheme: str | None = None  # None: detect it from the tags, as seqeval's strict mode does without a scheme
    suffix: bool = False


@dataclass
class TagSequences:
    """CoNLL input ready to score: one tag sequence per sentence and layer on each side, the sentence
    (unit) of each sequence, and token-level agreement counted once per token whatever the layers."""
    gold: list[list[str]]
    pred: list[list[str]]
    gold_unit: list[int] | None
    pred_unit: list[int] | None
    tokens: int
    tokens_correct: int
    scheme: str
    scheme_source: str
    suffix: bool


# Columns are separated by ASCII whitespace only: str.split() would also cut at U+00A0, U+2028 or U+0085
# inside an Arabic token and shift every tag column after it.
_COLUMN_SEPARATOR = re.compile(r"[ \t\r\f\v]+")


def read_conll_rows(path: str | Path) -> list[list[Row]]:
    """Sentences of numbered rows; blank lines and -DOCSTART- separate sentences. Lines end at \\n only, and
    columns at ASCII whitespace only, so a token holding U+2028, U+0085 or a no-break space stays one token."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        line = Path(path).read_bytes()[:exc.start].count(b"\n") + 1
        raise ConllError(f"{path}:{line}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    sentences: list[list[Row]] = []
    current: list[Row] = []
    for lineno, line in enumerate(text.split("\n"), 1):
        cols = [c for c in _COLUMN_SEPARATOR.split(line) if c]
        if not cols or cols[0] == "-DOCSTART-":
            if current:
                sentences.append(current)
                current = []
            continue
        if len(cols) < 2:
            raise ConllError(f"{path}:{lineno}: needs a token and at least one tag column")
        current.append((lineno, cols))
    if current:
        sentences.append(current)
    return sentences


def _check_layout(cells: Iterable[Cell], suffix: bool) -> None:
    """Every tag must be O or prefix-TYPE (TYPE-suffix with --suffix): seqeval reads any string, and a
    misread layout scores a silent zero."""
    seen: set[str] = set()
    for where, tag in cells:
        if tag not in seen:
            seen.add(tag)
            problem = tag_problem(tag, suffix)
            if problem:
                raise ConllError(f"{where}: {problem}")


def _check_scheme(cells: Iterable[Cell], fmt: TagFormat, scheme: str) -> None:
    allowed = ALLOWED_PREFIXES[scheme]
    seen: set[str] = set()
    for where, tag in cells:
        if tag not in seen:
            seen.add(tag)
            if prefix_of(tag, fmt.suffix) not in allowed:
                raise ConllError(f"{where}: tag {tag!r} is not valid in {scheme} (prefixes {', '.join(allowed)}); "
                                 f"name the scheme with --scheme ({'|'.join(SCHEMES)})")


def _resolve_scheme(fmt: TagFormat, gold: list[Cell], pred: list[Cell]) -> tuple[str, str]:
    """(scheme, where it came from). Detected from the gold tags like seqeval's strict mode (from the
    predictions only when gold holds no entity at all); an undetectable mix is an error, not a guess."""
    if fmt.scheme:
        return fmt.scheme, "--scheme"
    for side, cells in (("gold", gold), ("predicted", pred)):
        tags = {tag for _, tag in cells} - {"O"}
        if tags:
            found = detect_scheme(tags, fmt.suffix)
            if found is None:
                prefixes = sorted({prefix_of(t, fmt.suffix) for t in tags})
                raise ConllError(f"the {side} tags (prefixes {', '.join(prefixes)}) fit none of seqeval's "
                                 f"schemes; name one with --scheme ({'|'.join(SCHEMES)})")
            return found, f"detected from the {side} tags"
    return "IOB2", "no entity tag on either side"


def _cells(path: str | Path, sentences: list[list[Row]], columns: slice) -> Iterator[Cell]:
    for sentence in sentences:
        for lineno, cols in sentence:
            for tag in cols[columns]:
                yield f"{path}:{lineno}", tag


def _validated(fmt: TagFormat, gold: list[Cell], pred: list[Cell]) -> tuple[str, str]:
    _check_layout(gold + pred, fmt.suffix)
    scheme, source = _resolve_scheme(fmt, gold, pred)
    _check_scheme(gold + pred, fmt, scheme)
    return scheme, source


def conlleval_sequences(path: str | Path, fmt: TagFormat = TagFormat()) -> TagSequences:
    """A conlleval file: the last two columns are the gold and the predicted tag."""
    sentences = read_conll_rows(path)
    for s in sentences:
        for lineno, row in s:
            if len(row) < 3:
                raise ConllError(f"{path}:{lineno}: needs a token, a gold tag and a predicted tag; got {row}")
    scheme, source = _validated(fmt, list(_cells(path, sentences, slice(-2, -1))),
                                list(_cells(path, sentences, slice(-1, None))))
    gold = [[r[-2] for _, r in s] for s in sentences]
    pred = [[r[-1] for _, r in s] for s in sentences]
    correct = sum(g == p for gs, ps in zip(gold, pred) for g, p in zip(gs, ps))
    return TagSequences(gold, pred, None, None, sum(len(s) for s in gold), correct, scheme, source, fmt.suffix)


def _token_agrees(gold_tags: list[str], pred_tags: list[str]) -> bool:
    """One token, all its layers: the same entity tags whatever column holds them (a file may carry more
    layer columns than it needs, or nest in another order)."""
    return sorted(t for t in gold_tags if t != "O") == sorted(t for t in pred_tags if t != "O")


def layered_sequences(gold_path: str | Path, pred_path: str | Path, fmt: TagFormat = TagFormat()) -> TagSequences:
    """Two files of token + one or more tag columns (one per nesting layer), aligned token by token.
    Sequences are one per sentence and layer, each with its sentence index as unit."""
    gold, pred = read_conll_rows(gold_path), read_conll_rows(pred_path)
    if len(gold) != len(pred):
        raise ConllError(f"{gold_path} has {len(gold)} sentence(s) but {pred_path} has {len(pred)}")
    for k, (gs, ps) in enumerate(zip(gold, pred)):
        if len(gs) != len(ps):
            raise ConllError(f"sentence {k + 1}: {len(gs)} token(s) in {gold_path} (line {gs[0][0]}) but "
                             f"{len(ps)} in {pred_path} (line {ps[0][0]})")
        for (gl, gr), (pl, pr) in zip(gs, ps):
            if gr[0] != pr[0]:
                raise ConllError(f"{gold_path}:{gl} has token {gr[0]!r} but {pred_path}:{pl} has {pr[0]!r}")
    scheme, source = _validated(fmt, list(_cells(gold_path, gold, slice(1, None))),
                                list(_cells(pred_path, pred, slice(1, None))))
    out = TagSequences([], [], [], [], 0, 0, scheme, source, fmt.suffix)
    for k, (gs, ps) in enumerate(zip(gold, pred)):
        for rows, seqs, units in ((gs, out.gold, out.gold_unit), (ps, out.pred, out.pred_unit)):
            n_layers = max(len(r) - 1 for _, r in rows)
            for layer in range(1, n_layers + 1):
                seqs.append([r[layer] if layer < len(r) else "O" for _, r in rows])
                units.append(k)
        out.tokens += len(gs)
        out.tokens_correct += sum(_token_agrees(gr[1:], pr[1:]) for (_, gr), (_, pr) in zip(gs, ps))
    return out
