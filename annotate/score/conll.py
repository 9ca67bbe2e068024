"""CoNLL tag columns in: a conlleval-style file (last two columns gold and predicted) or a pair of layered files
(token + one tag column per nesting layer), checked against the tagging scheme before anything is scored.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import chain
from operator import eq
from pathlib import Path

from ..core.chunks import ALLOWED_PREFIXES, SCHEMES, detect_scheme, prefix_of, tag_problem
from .conllblocks import ENTITY_TAG, read_sentences


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
        if not cols or (cols[0] == "-DOCSTART-" and _document_break(cols, path, lineno)):
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


def _document_break(cols: list[str], path, lineno: int) -> bool:
    """A -DOCSTART- line is a document break only with no entity tag on it (`-DOCSTART- -X- -X- O`, or the
    document id `annotate export` writes): one with tags would otherwise vanish from the counts, so it is
    named instead."""
    tags = [c for c in cols[1:] if ENTITY_TAG.match(c)]  # other columns: -X-, O, or a document id
    if tags:
        raise ConllError(f"{path}:{lineno}: a -DOCSTART- line with the tag(s) {', '.join(tags)}: a document break "
                         "carries no entity tag (if it is a token, it cannot be scored under that name)")
    return True


def _some_rows(path, sentences: list) -> list:
    if not sentences:
        raise ConllError(f"{path}: no token rows (only blank lines or -DOCSTART- breaks): nothing to score")
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


def _resolve_scheme(fmt: TagFormat, gold: set[str], pred: set[str]) -> tuple[str, str]:
    """(scheme, where it came from), from each side's distinct tags. Detected from the gold tags like seqeval's
    strict mode (from the predictions only when gold holds no entity at all); an undetectable mix is an error,
    not a guess."""
    if fmt.scheme:
        return fmt.scheme, "--scheme"
    for side, distinct in (("gold", gold), ("predicted", pred)):
        tags = distinct - {"O"}
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
    scheme, source = _resolve_scheme(fmt, {tag for _, tag in gold}, {tag for _, tag in pred})
    _check_scheme(gold + pred, fmt, scheme)
    return scheme, source


def _valid_as_read(fmt: TagFormat, gold: set[str], pred: set[str]) -> tuple[str, str] | None:
    """(scheme, where it came from) when every distinct tag of either side passes the checks of `_validated`;
    None when one does not, for the exact reader to find the first cell holding it and name its line."""
    tags = gold | pred
    if any(tag_problem(tag, fmt.suffix) for tag in tags):
        return None
    scheme, source = _resolve_scheme(fmt, gold, pred)  # its errors name no line: raised the same either way
    allowed = ALLOWED_PREFIXES[scheme]
    if any(prefix_of(tag, fmt.suffix) not in allowed for tag in tags):
        return None
    return scheme, source


def _distinct(seqs: list[list[str]]) -> set[str]:
    return set(chain.from_iterable(seqs))


def _fast_conlleval(path: str | Path, fmt: TagFormat) -> TagSequences | None:
    """`conlleval_sequences` of a well-formed file from the block reader; None for anything to report."""
    sentences = read_sentences(path)
    if sentences is None:
        return None
    _some_rows(path, sentences)
    gold: list[list[str]] = []
    pred: list[list[str]] = []
    for sentence in sentences:
        pair = sentence.last_two()
        if pair is None:
            return None
        gold.append(pair[0])
        pred.append(pair[1])
    resolved = _valid_as_read(fmt, _distinct(gold), _distinct(pred))
    if resolved is None:
        return None
    correct = sum(sum(map(eq, gs, ps)) for gs, ps in zip(gold, pred))
    return TagSequences(gold, pred, None, None, sum(map(len, gold)), correct, *resolved, fmt.suffix)


def conlleval_sequences(path: str | Path, fmt: TagFormat = TagFormat()) -> TagSequences:
    """A conlleval file: the last two columns are the gold and the predicted tag. Read in blocks; a file with
    a fault is read again line by line, for the error to name its file and line."""
    fast = _fast_conlleval(path, fmt)
    return fast if fast is not None else _exact_conlleval(path, fmt)


def _exact_conlleval(path: str | Path, fmt: TagFormat) -> TagSequences:
    sentences = _some_rows(path, read_conll_rows(path))
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


def _agreeing_tokens(gold: list[list[str]], pred: list[list[str]]) -> int:
    """Tokens of one sentence whose tag layers agree (`_token_agrees`); columns as `Sentence.padded` gives them."""
    if len(gold) == len(pred) == 2:  # one layer each: the same tag, O included
        return sum(map(eq, gold[1], pred[1]))
    return sum(_token_agrees(list(g), list(p)) for g, p in zip(zip(*gold[1:]), zip(*pred[1:])))


def _fast_layered(gold_path: str | Path, pred_path: str | Path, fmt: TagFormat) -> TagSequences | None:
    """`layered_sequences` of two well-formed, aligned files from the block reader; None for anything to
    report."""
    gold, pred = read_sentences(gold_path), read_sentences(pred_path)
    if gold is None or pred is None:
        return None
    _some_rows(gold_path, gold)
    _some_rows(pred_path, pred)
    if len(gold) != len(pred):
        return None
    pairs = []
    for gs, ps in zip(gold, pred):
        gcols, pcols = gs.padded(), ps.padded()
        if gcols is None or pcols is None or gcols[0] != pcols[0]:  # also unequal lengths
            return None
        pairs.append((gcols, pcols))
    gold_tags = set().union(*(_distinct(g[1:]) for g, _ in pairs))
    pred_tags = set().union(*(_distinct(p[1:]) for _, p in pairs))
    resolved = _valid_as_read(fmt, gold_tags, pred_tags)
    if resolved is None:
        return None
    out = TagSequences([], [], [], [], 0, 0, *resolved, fmt.suffix)
    for k, (gcols, pcols) in enumerate(pairs):
        for cols, seqs, units in ((gcols, out.gold, out.gold_unit), (pcols, out.pred, out.pred_unit)):
            seqs.extend(cols[1:])
            units.extend([k] * (len(cols) - 1))
        out.tokens += len(gcols[0])
        out.tokens_correct += _agreeing_tokens(gcols, pcols)
    return out


def layered_sequences(gold_path: str | Path, pred_path: str | Path, fmt: TagFormat = TagFormat()) -> TagSequences:
    """Two files of token + one or more tag columns (one per nesting layer), aligned token by token.
    Sequences are one per sentence and layer, each with its sentence index as unit. Read in blocks; files
    with a fault are read again line by line, for the error to name the file and line."""
    fast = _fast_layered(gold_path, pred_path, fmt)
    return fast if fast is not None else _exact_layered(gold_path, pred_path, fmt)


def _exact_layered(gold_path: str | Path, pred_path: str | Path, fmt: TagFormat) -> TagSequences:
    gold, pred = _some_rows(gold_path, read_conll_rows(gold_path)), _some_rows(pred_path, read_conll_rows(pred_path))
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
