"""The block reader of CoNLL files (`annotate/score/conllblocks.py`) gives exactly what the line-by-line reader
gives, whatever the layout, and hands every faulty file to that reader so that the error names the line."""

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from annotate.score import conll
from annotate.score.conllblocks import read_sentences

FMT = conll.TagFormat()
TAGS = ["O", "O", "O", "B-PER", "I-PER", "B-ORG", "I-ORG"]
SEPARATORS = [" ", "  ", "\t", " \t ", "\f", "\v"]
TOKENS = ["بغداد", "قال", "a\u00a0b", "x\u2028y", "z\u0085", "-DOCSTART-x", "،"]
BLANKS = ["", "   ", "\t", "-DOCSTART- -X- O O", "-DOCSTART-"]


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8"))
    return path


line = st.tuples(st.sampled_from(TOKENS), st.sampled_from(TAGS), st.sampled_from(TAGS),
                 st.sampled_from(SEPARATORS), st.booleans(), st.booleans())


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(line, st.sampled_from(BLANKS)), max_size=40), st.sampled_from(["\n", "\r\n", "\r"]),
       st.integers(min_value=1, max_value=64))
def test_fast_reader_equals_exact_reader(tmp_path_factory, lines, newline, block_chars):
    text_lines = []
    for item in lines:
        if isinstance(item, str):
            text_lines.append(item)
            continue
        token, gold, pred, sep, extra, indent = item
        cols = [token, "NN", gold, pred] if extra else [token, gold, pred]  # a POS column now and then
        text_lines.append((sep if indent else "") + sep.join(cols) + (sep if indent else ""))
    path = _write(tmp_path_factory.mktemp("c"), "a.conll", newline.join(text_lines))
    sentences = read_sentences(path, block_chars)
    assert sentences is not None
    rows = conll.read_conll_rows(path)
    assert [s.last_two() for s in sentences] == [([r[-2] for _, r in s], [r[-1] for _, r in s]) for s in rows]
    assert _outcome(conll._fast_conlleval, path) == _outcome(conll._exact_conlleval, path)


def _outcome(read, path: Path) -> object:
    """What a reader gives, or the message of the error it raises (a mix of tags no scheme fits)."""
    try:
        return read(path, FMT)
    except conll.ConllError as exc:
        return str(exc)


def test_layered_fast_reader_equals_exact(tmp_path):
    gold = "a B-PER O\nb I-PER\n\nc O\n\n\nd B-ORG B-PER I-PER\n"
    pred = "a B-PER\nb I-PER B-ORG\n\nc\tO\n-DOCSTART-\nd B-ORG B-PER I-PER\n"
    g, p = _write(tmp_path, "g.conll", gold), _write(tmp_path, "p.conll", pred)
    fast = conll._fast_layered(g, p, FMT)
    assert fast is not None and fast == conll._exact_layered(g, p, FMT)


@pytest.mark.parametrize("data, message", [
    (b"a B-PER O\nb\n", "a.conll:2: needs a token and at least one tag column"),
    (b"a B-PER O\n\nb B-PER\n", "a.conll:3: needs a token, a gold tag and a predicted tag"),
    (b"a B-PER O\nb PER-B O\n", "a.conll:2: tag 'PER-B' looks suffix-style"),
    (b"a B-PER O\nb B-PER \xff O\n", "a.conll:2: not UTF-8 text"),
])
def test_faults_are_reported_by_the_exact_reader(tmp_path, data, message):
    path = tmp_path / "a.conll"
    path.write_bytes(data)
    assert conll._fast_conlleval(path, FMT) is None
    with pytest.raises(conll.ConllError, match=message.replace("(", r"\(")):
        conll.conlleval_sequences(path, FMT)
