from hypothesis import given, settings
from hypothesis import strategies as st

from annotate.core.bio import aligned_tokens, assign_layers, spans_from_bio_layers, to_bio_layers

TEXT = "أكد رئيس حكومة إقليم كوردستان والبيشمركة في أربيل 👍 اليوم"
EDGES = [i for i, c in enumerate(TEXT) if not c.isspace()]


@st.composite
def spans(draw):
    out = []
    for _ in range(draw(st.integers(0, 10))):
        s = draw(st.sampled_from(EDGES))
        e = draw(st.sampled_from([x + 1 for x in EDGES if x >= s]))
        out.append((s, e, draw(st.sampled_from(["PER", "ORG", "GPE", "Conflict-Attack"]))))
    return out


@settings(max_examples=300, deadline=None)
@given(spans())
def test_spans_tags_spans_is_the_identity(found):
    unique = sorted(set(found))
    tokens = aligned_tokens(TEXT, [(s, e) for s, e, _ in unique])
    layers = to_bio_layers(tokens, unique)
    assert spans_from_bio_layers(tokens, layers) == unique
    assert all(len(layer) == len(tokens) for layer in layers)


@settings(max_examples=200, deadline=None)
@given(spans())
def test_layers_never_overlap_and_layer_zero_holds_the_outermost(found):
    layer_of = assign_layers(found)
    for i, (s, e, _) in enumerate(found):
        for j, (s2, e2, _) in enumerate(found):
            if i != j and layer_of[i] == layer_of[j]:
                assert e <= s2 or e2 <= s
        if layer_of[i] == 0:
            assert not any(s2 <= s and e <= e2 and (s2, e2) != (s, e) for s2, e2, _ in found)


def test_the_datasets_tag_check_decodes_iob2_as_the_scorer_does():
    """The build checks spans -> tags -> spans with one regex per layer; it must read tags exactly as the
    strict IOB2 decoder of the scorer does, broken sequences included."""
    import random

    from annotate.core.chunks import entities_strict
    from annotate.gold.rows import _chunk_pattern

    types = ["PER", "ORG", "GPE"]
    names = ["O"] + [f"{p}-{t}" for t in types for p in ("B", "I")]
    pattern = _chunk_pattern(len(types))
    rng = random.Random(7)
    for _ in range(3000):
        ids = [rng.choice(range(len(names))) if rng.random() < 0.6 else 0 for _ in range(rng.randrange(0, 12))]
        mine = {(m.start(), m.end(), types[(m.group()[0] - 1) // 2]) for m in pattern.finditer(bytes(ids))}
        theirs = {(i, j, t) for _, i, j, t in entities_strict([[names[k] for k in ids]], "IOB2")}
        assert mine == theirs, [names[k] for k in ids]
