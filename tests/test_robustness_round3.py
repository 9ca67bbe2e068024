"""Robustness, round 3 (issue 24): no valid record lost, no traceback, no silent pass.

Each case makes a small input here, runs the real command or function on it, and checks the exit code, the
message (naming the file, task or field) and that the counts add up.
"""

from __future__ import annotations

import random

import pytest

from annotate.core.bio import assign_layers
from annotate.core.model import MAX_SPANS_PER_DOCUMENT, Document, Entity, SpanError

# --- scale: bio.assign_layers -----------------------------------------------------------------------------------


def _assign_layers_before(spans):
    """`assign_layers` as it was before issue 24 (quadratic), kept here to compare the new one against."""
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


def test_assign_layers_is_the_same_as_before_on_random_spans():
    rng = random.Random(24)
    for _ in range(20_000):
        length = rng.randint(1, 14)
        spans = []
        for _ in range(rng.randint(0, 16)):
            s = rng.randint(0, length - 1)
            spans.append((s, rng.randint(s + 1, length), rng.choice("AB")))
        if spans and rng.random() < 0.3:  # copies of one span, as a broken export holds
            spans += [rng.choice(spans) for _ in range(rng.randint(1, 5))]
        rng.shuffle(spans)
        assert assign_layers(spans) == _assign_layers_before(spans), spans


def test_assign_layers_keeps_the_old_rule_for_empty_spans():
    spans = [(2, 2, "A"), (0, 4, "B"), (2, 3, "A"), (3, 1, "B")]
    assert assign_layers(spans) == _assign_layers_before(spans)


def test_assign_layers_many_copies_of_one_span():
    # 16,000 copies took 27 s with the quadratic rule; every copy gets its own layer, in input order
    layers = assign_layers([(0, 5, "PER")] * 16_000)
    assert layers == list(range(16_000))


def test_a_document_with_too_many_spans_is_refused_by_name():
    text = "بغداد " * 10
    entities = [Entity(f"e{k}", 0, 5, "GPE") for k in range(MAX_SPANS_PER_DOCUMENT + 1)]
    with pytest.raises(SpanError, match=r"document big: 10001 entities and 0 events, more than the 10,000 spans"):
        Document("big", text, entities)
