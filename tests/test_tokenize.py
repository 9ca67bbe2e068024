from annotate.core.tokenize import sentence_ids, sentences, tokenize


def texts(s, **kw):
    return [t.text for t in tokenize(s, **kw)]


def test_round_trip_on_bundled_articles(bundled_documents):
    for doc in bundled_documents:
        toks = tokenize(doc.text)
        assert toks, doc.id
        for t in toks:
            assert doc.text[t.start:t.end] == t.text
        # tokens never overlap and only whitespace lies between them
        for a, b in zip(toks, toks[1:]):
            assert a.end <= b.start and doc.text[a.end:b.start].strip() == ""
        covered = "".join(t.text for t in toks)
        assert covered == "".join(doc.text.split())


def test_arabic_punctuation_is_its_own_token():
    assert texts("قال، «نعم»؛ لماذا؟ (هنا): \"داعش\".") == [
        "قال", "،", "«", "نعم", "»", "؛", "لماذا", "؟", "(", "هنا", ")", ":", '"', "داعش", '"', "."]


def test_tatweel_and_diacritics_stay_inside_the_word():
    assert texts("الإرهابيـــين مُصْطَفَى") == ["الإرهابيـــين", "مُصْطَفَى"]
    assert texts("ـــكلمة") == ["ـــكلمة"]


def test_clitics_stay_attached_unless_a_boundary_splits_them():
    assert texts("والبيشمركة وبغداد") == ["والبيشمركة", "وبغداد"]
    assert texts("والبيشمركة وبغداد", extra_boundaries=[1, 12]) == ["و", "البيشمركة", "و", "بغداد"]


def test_digits_in_both_scripts_and_decimals():
    assert texts("13 قتيلاً و١٣ و٣٫٥ و3.5 01:10") == ["13", "قتيلاً", "و", "١٣", "و", "٣٫٥", "و", "3.5", "01", ":", "10"]


def test_mixed_latin_arabic_and_emoji():
    s = "(Getty) كوردستان24 👍🏽 👨\u200d👩\u200d👧 ok"
    assert texts(s) == ["(", "Getty", ")", "كوردستان", "24", "👍🏽", "👨\u200d👩\u200d👧", "ok"]
    for t in tokenize(s):
        assert s[t.start:t.end] == t.text


def test_extra_boundary_inside_an_emoji_prefix_span_is_exact():
    s = "👍بغداد"
    toks = tokenize(s, extra_boundaries=[1])
    assert [(t.start, t.end) for t in toks] == [(0, 1), (1, 6)]


def test_sentences_split_on_stops_and_lines_and_keep_closing_quotes():
    s = 'قال "انتهى." ثم ذهب؟ نعم\nسطر جديد'
    toks = tokenize(s)
    ids = sentence_ids(s, toks)
    by_sentence = {}
    for t, i in zip(toks, ids):
        by_sentence.setdefault(i, []).append(t.text)
    assert list(by_sentence.values()) == [["قال", '"', "انتهى", ".", '"'], ["ثم", "ذهب", "؟"], ["نعم"], ["سطر", "جديد"]]
    assert sentences(s, toks)[0] == (0, 5)


def test_empty_text():
    assert tokenize("") == [] and tokenize("  \n ") == []


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

ALPHABET = st.sampled_from(list("بغداد والبيشمركة ـ ًٌُ ،؛؟«»\"().:-!?\n\r\t 0123456789٠١٢٣ abcXYZ")
                           + ["👍", "🏽", "\u200d", "👨", "\ufe0f", "é", "ß"])


@settings(max_examples=300, deadline=None)
@given(text=st.text(ALPHABET, max_size=60), cuts=st.lists(st.integers(0, 60), max_size=6))
def test_tokens_are_exact_slices_and_cuts_are_honoured(text, cuts):
    cuts = [c for c in cuts if c <= len(text)]
    toks = tokenize(text, extra_boundaries=cuts)
    for t in toks:
        assert t.text and text[t.start:t.end] == t.text
        assert not any(ch.isspace() for ch in t.text)
    for a, b in zip(toks, toks[1:]):
        assert a.end <= b.start and text[a.end:b.start].strip() == ""
    assert "".join(t.text for t in toks) == "".join(ch for ch in text if not ch.isspace())
    for c in cuts:  # no token straddles a requested boundary
        assert not any(t.start < c < t.end for t in toks)


def _rules_char_by_char(text: str) -> list[tuple[int, int]]:
    """The module's rules walked one character at a time (how the tokenizer was written before it became one
    regex pass over character classes): the regex must cut exactly here."""
    from annotate.core.tokenize import _DECIMAL_SEPARATORS, _char_class

    spans: list[tuple[int, int]] = []
    n, i = len(text), 0
    while i < n:
        cls = _char_class(text[i])
        if cls == "S":
            i += 1
            continue
        j = i + 1
        if cls in ("A", "L"):
            while j < n and _char_class(text[j]) in (cls, "M"):
                j += 1
        elif cls == "D":
            while j < n:
                c = _char_class(text[j])
                if c in ("D", "M"):
                    j += 1
                elif text[j] in _DECIMAL_SEPARATORS and j + 1 < n and _char_class(text[j + 1]) == "D" \
                        and _char_class(text[j - 1]) == "D":
                    j += 1
                else:
                    break
        elif cls == "M" and spans and spans[-1][1] == i:
            while j < n and _char_class(text[j]) == "M":
                j += 1
            spans[-1] = (spans[-1][0], j)
            i = j
            continue
        elif cls == "M":
            while j < n and _char_class(text[j]) == "M":
                j += 1
            if j < n and _char_class(text[j]) in ("A", "L"):
                script = _char_class(text[j])
                while j < n and _char_class(text[j]) in (script, "M"):
                    j += 1
        else:
            while j < n and _char_class(text[j]) in ("J", "M"):
                j += 1
                if text[j - 1] == "\u200d" and j < n and not text[j].isspace():
                    j += 1
        spans.append((i, j))
        i = j
    return spans


@settings(max_examples=2000, deadline=None)
@given(text=st.text(st.one_of(ALPHABET, st.sampled_from(["٫", "٬", ",", ".", "\u0640", "\u064e", "\U0001F3FB", "²",
                                                         "½", "中", "\u00a0", "\u2028", "_"])), max_size=40))
def test_the_regex_tokenizer_cuts_exactly_where_the_rules_do(text):
    from annotate.core.tokenize import _raw_tokens

    assert _raw_tokens(text) == _rules_char_by_char(text)


def test_sentence_ids_in_runs_follow_the_token_by_token_rule(bundled_documents):
    import random

    from annotate.core.tokenize import sentence_ids_of_bounds, sentence_ids_of_spans, token_bounds, token_spans

    rng = random.Random(7)
    pieces = list("ab و.!?؟…۔\n  \"»)'”’«(،3٫5.x") + ["🎉", "\u200d", "\u0640", "\u064e", "..."]
    texts_ = [d.text for d in bundled_documents] + ["".join(rng.choice(pieces) for _ in range(rng.randrange(40)))
                                                  for _ in range(3000)]
    for text in texts_:
        cuts = {rng.randrange(len(text) + 1) for _ in range(rng.randrange(4))} if text else set()
        starts, ends = token_bounds(text, cuts)
        assert list(zip(starts, ends)) == token_spans(text, cuts)
        assert sentence_ids_of_bounds(text, starts, ends) == sentence_ids_of_spans(text, list(zip(starts, ends)))
