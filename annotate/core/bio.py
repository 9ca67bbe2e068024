"""Character spans <-> token BIO tags, in one place.

Tags are a derived view: tokens are cut at every span boundary (so a span that leaves a clitic outside
splits `والبيشمركة` into `و|البيشمركة`), spans are spread over layers so nested and overlapping spans all
survive (layer 0 holds the outermost), and `spans_from_bio_layers` inverts `to_bio_layers` exactly.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from .tokenize import Token, tokenize

TypedSpan = tuple[int, int, str]  # (start, end, type), character offsets


class AlignmentError(ValueError):
    """A span boundary that does not fall on a token boundary."""


def span_boundaries(spans: Iterable[tuple[int, int]]) -> set[int]:
    out: set[int] = set()
    for s, e in spans:
        out.add(s)
        out.add(e)
    return out


def aligned_tokens(text: str, spans: Iterable[tuple[int, int]]) -> list[Token]:
    """Tokens of `text` cut at every span boundary, so every span covers whole tokens."""
    return tokenize(text, span_boundaries(spans))


def assign_layers(spans: Sequence[TypedSpan]) -> list[int]:
    """Layer index per span: each layer free of overlaps, and a span always sits in a deeper layer than every
    span that contains it, so layer 0 holds only outermost spans even when other spans cross.

    Spans are placed in order of (start, longest first, type); each goes into the first layer at or below its
    floor (one deeper than the deepest span containing it) whose last span has ended. O(n log n): a placed span
    that still reaches past the current start is the last one of its layer, so the containers of a span are the
    layers whose last end reaches its end, and two segment trees over the layers' last ends answer both
    questions (deepest such layer; first free layer at or below the floor) in O(log n)."""
    if any(e <= s for s, e, _ in spans):
        return _assign_layers_quadratic(spans)  # empty or reversed spans: the containment argument needs s < e
    ordered = sorted(spans)
    if all(a[1] <= b[0] for a, b in zip(ordered, ordered[1:])):
        return [0] * len(spans)  # no two spans overlap (the common case): all of them in the outermost layer
    if len(spans) <= _DIRECT_UP_TO:
        return _assign_layers_quadratic(spans)
    return _assign_layers_tree(spans)


def _assign_layers_tree(spans: Sequence[TypedSpan]) -> list[int]:
    """`assign_layers` for spans with s < e, in O(n log n) (see there)."""
    order = sorted(range(len(spans)), key=lambda i: (spans[i][0], -spans[i][1], spans[i][2]))
    size = 1
    while size < max(1, len(spans)):
        size *= 2
    inf = float("inf")
    low = [inf] * (2 * size)  # min of the layers' last ends; a layer not yet opened is never free
    high = [-inf] * (2 * size)  # max of the same; a layer not yet opened contains nothing
    layers = [0] * len(spans)
    opened = 0
    group: tuple[int, int] | None = None
    floor = 0
    for i in order:
        start, end, _ = spans[i]
        if (start, end) != group:
            # Copies of one span do not contain each other: the floor is the one of the group's first copy.
            group = (start, end)
            floor = 1 + _deepest_at_least(high, size, end) if high[1] >= end else 0
        layer = _first_at_most(low, size, floor, start) if floor < opened else -1
        if layer < 0:
            layer = opened
            opened += 1
        layers[i] = layer
        _set(low, high, size, layer, end)
    return layers


# Up to this many spans, the direct rule (same layers) is the faster: measured 9 us against 16 us for 10 spans
# with a nested pair, 36 against 47 for 32 overlapping ones.
_DIRECT_UP_TO = 32


def _deepest_at_least(high: list, size: int, value: int) -> int:
    """The highest layer whose last end is >= value (the root's max is known to be)."""
    k = 1
    while k < size:
        k = 2 * k + 1 if high[2 * k + 1] >= value else 2 * k
    return k - size


def _first_at_most(low: list, size: int, lo: int, value: int) -> int:
    """The lowest layer >= lo whose last end is <= value, or -1."""
    k = lo + size
    while low[k] > value:
        while k & 1:  # a right child: climb until there is a subtree to the right
            k >>= 1
        if k == 0:
            return -1
        k += 1
        if k & (k - 1) == 0:  # wrapped to the leftmost node of a level: nothing further right
            return -1
    while k < size:
        k = 2 * k if low[2 * k] <= value else 2 * k + 1
    return k - size


def _set(low: list, high: list, size: int, layer: int, end: int) -> None:
    k = layer + size
    low[k] = high[k] = end
    k >>= 1
    while k:
        low[k] = min(low[2 * k], low[2 * k + 1])
        high[k] = max(high[2 * k], high[2 * k + 1])
        k >>= 1


def _assign_layers_quadratic(spans: Sequence[TypedSpan]) -> list[int]:
    """The direct rule: for a few spans, and for spans that are empty or reversed (never valid in a Document)."""
    order = sorted(range(len(spans)), key=lambda i: (spans[i][0], -spans[i][1], spans[i][2]))
    layer_ends: list[int] = []
    layers = [0] * len(spans)
    placed: list[int] = []
    for i in order:
        start, end, _ = spans[i]
        floor = 1 + max((layers[j] for j in placed if spans[j][0] <= start and end <= spans[j][1]
                         and (spans[j][0], spans[j][1]) != (start, end)), default=-1)
        for layer in range(floor, len(layer_ends)):
            if layer_ends[layer] <= start:
                layer_ends[layer] = end
                layers[i] = layer
                break
        else:
            layer_ends.extend([0] * (max(floor, len(layer_ends)) - len(layer_ends)))
            layers[i] = len(layer_ends)
            layer_ends.append(end)
        placed.append(i)
    return layers


def token_index(tokens: Sequence[Token], spans: Iterable[tuple[int, int]],
                what: str = "span") -> list[tuple[int, int]]:
    """Map character spans to (first token, last token + 1); every boundary must be a token boundary."""
    starts = {t.start: i for i, t in enumerate(tokens)}
    ends = {t.end: i + 1 for i, t in enumerate(tokens)}
    out = []
    for s, e in spans:
        if s not in starts or e not in ends:
            raise AlignmentError(f"{what} [{s}, {e}) does not fall on token boundaries")
        out.append((starts[s], ends[e]))
    return out


def to_bio_layers(tokens: Sequence[Token], spans: Sequence[TypedSpan], min_layers: int = 1) -> list[list[str]]:
    """IOB2 tag layers for `spans` over `tokens` (layer 0 = outermost spans)."""
    layers_of = assign_layers(spans)
    n_layers = max([min_layers, *(x + 1 for x in layers_of)])
    tags = [["O"] * len(tokens) for _ in range(n_layers)]
    for (ts, te), (_, _, label), layer in zip(token_index(tokens, [(s, e) for s, e, _ in spans]), spans, layers_of):
        row = tags[layer]
        row[ts] = f"B-{label}"
        for k in range(ts + 1, te):
            row[k] = f"I-{label}"
    return tags


def spans_from_bio(tokens: Sequence[Token], tags: Sequence[str]) -> list[TypedSpan]:
    """Character spans from one IOB2 layer, decoded exactly as the scorer decodes IOB2 (seqeval's strict mode,
    `chunks.entities_strict`): an I- without a matching B-/I- before it starts nothing."""
    from .chunks import entities_strict

    return [(tokens[i].start, tokens[j - 1].end, label) for _, i, j, label in sorted(entities_strict([tags], "IOB2"),
                                                                                      key=lambda c: c[1])]


def spans_from_bio_layers(tokens: Sequence[Token], layers: Sequence[Sequence[str]]) -> list[TypedSpan]:
    out: list[TypedSpan] = []
    for tags in layers:
        out.extend(spans_from_bio(tokens, tags))
    return sorted(out)


def bio_labels(types: Iterable[str]) -> list[str]:
    """ClassLabel names for IOB2 over `types`: O first, then B-/I- per type in schema order."""
    names = ["O"]
    for t in types:
        names += [f"B-{t}", f"I-{t}"]
    return names
