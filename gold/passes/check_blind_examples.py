"""Check that the examples of an annotation guideline do not come from the bundled articles.

An example is a stretch of text between backticks. An example written with ``...`` is split into its parts.
The script reports, for the guideline file given (default ``schemas/guidelines-blind.md``):

- how many examples there are and how many of them occur verbatim in an article of ``gold/articles/``;
- every example phrase of two or more words that occurs verbatim in an article, and every pair of adjacent
  words of an example that does (so a copied phrase cannot hide inside a longer invented one);
- every example word that is a proper name from the articles: a word of an entity of type PER, ORG, GPE, LOC,
  FAC, VEH or WEA in ``gold/passes/pass-*.jsonl``, with proclitics and quote marks removed, that is not a
  common noun (``COMMON`` below).

Exit status 1 when a multi-word phrase, a copied word pair or a proper name is found, 0 otherwise.
Usage: python3 gold/passes/check_blind_examples.py [GUIDELINES] [--list]
"""

import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NAME_TYPES = {"PER", "ORG", "GPE", "LOC", "FAC", "VEH", "WEA"}
PUNCT = "\"'«»“”()[]،؛؟.:!,-ـ"
PROCLITICS = ("وال", "فال", "بال", "كال", "لل", "و", "ف", "ب", "ل", "ك")
# Common nouns and adjectives that occur inside entity mentions of the articles but name nothing by themselves.
COMMON = set(
    """
    الإقليم البلاد البلد البلدين العاصمة المحافظة المركز المناطق المنطقة مناطق الجيش الرئاسة اللجان قوة قوات
    القوات الإرهابي إرهابي الإرهابيون الإرهابيين إرهابيي إرهابيو المدنيين المسؤول مسؤول مجموعة وزارة الوزراء
    وزراء رئيس رئاسة حكومة الحكومة الاتحادية الأمنية الأمني الأجهزة قيادة العمليات المشتركة المشترك التنسيق
    مراكز مواقع خلية الإعلام جنود منتسبي القائد العام المسلحة الدفاع الداخلية المالية قائد نائب مدير أركان
    عناصر الشرطة اللواء العاشر التحالف الدولي تنظيم العصابات المجاميع شبكة وكالة الأنباء المكتب مكتب
    الإعلامي الاعلامي بلدة قرية جبل جبال سفح محافظة إقليم اقليم الولايات المتحدة طائرات القوة الجوية
    قادة القيادات العسكرية الوفد وفداً وفد أمنياً رفيع المستوى مجلس المجلس الوزاري للأمن الوطني لمجلس
    الناطق باسم الأمين عنصري أمن عراقيين آخرين المتنازع عليها الكردستانية العراقية العراقي كردي الكردية
    الأول الثاني الثالث الرابع المحاور معاون البرية الاستخبارات للعمليات الفريق الجنرال الركن الكولونيل
    متحدة وطنية أخرى قريبة من حدود بعض تلك في و الذي التي على إلى عن مع بين خلايا الخلايا عصابات الجماعات
    فلول قيادات مسلحو وحدات الفرق
    """.split()
)


def examples(text: str) -> list[str]:
    """Backtick examples (line breaks and indentation inside one read as a space), each split on an ellipsis."""
    parts = []
    for span in re.findall(r"`([^`]+)`", text):  # an example may be wrapped over two lines
        span = " ".join(span.split())
        parts.extend(p.strip() for p in re.split(r"\.\.\.|…", span) if p.strip())
    return parts


def words(phrase: str) -> list[str]:
    return [w.strip(PUNCT) for w in phrase.split() if w.strip(PUNCT)]


def bare(word: str) -> set[str]:
    """The word and the forms it has with one proclitic removed (the ال of لل put back)."""
    forms = {word}
    for p in PROCLITICS:
        if word.startswith(p) and len(word) > len(p) + 1:
            rest = word[len(p) :]
            forms.add("ال" + rest if p in ("لل",) or p.endswith("ال") else rest)
    if word.startswith("ل") and not word.startswith("ال"):
        forms.add("ا" + word)  # a span cut by the لل rule (لجيش) is the word الجيش
    return forms


def article_names(paths: list[Path]) -> set[str]:
    names = set()
    for path in paths:
        for line in path.read_text(encoding="utf-8").splitlines():
            for entity in json.loads(line)["entities"]:
                if entity["type"] in NAME_TYPES:
                    for w in words(entity["text"]):
                        if w not in COMMON and not (bare(w) & COMMON) and len(w) > 1:
                            names.add(w)
    return names


def main(argv: list[str]) -> int:
    args = [a for a in argv if not a.startswith("--")]
    target = Path(args[0]) if args else ROOT / "schemas" / "guidelines-blind.md"
    articles = [
        " ".join(p.read_text(encoding="utf-8").split()) for p in sorted((ROOT / "gold" / "articles").glob("*.txt"))
    ]
    names = article_names(sorted((ROOT / "gold" / "passes").glob("pass-*.jsonl")))
    found = [e for e in examples(target.read_text(encoding="utf-8")) if any(" ".join(e.split()) in a for a in articles)]
    total = examples(target.read_text(encoding="utf-8"))
    multi = [e for e in found if len(e.split()) > 1]
    pairs, proper = set(), set()
    for e in total:
        ws = e.split()
        for a, b in zip(ws, ws[1:]):
            if any(f"{a} {b}" in art for art in articles):
                pairs.add(f"{a} {b}")
        for w in words(e):
            if bare(w) & names:
                proper.add(w)
    single = sorted({e for e in found if len(e.split()) == 1})
    print(f"file: {target.relative_to(ROOT) if target.is_relative_to(ROOT) else target}")
    print(f"examples (backtick spans, ellipsis parts counted apart): {len(total)}, distinct {len(set(total))}")
    print(f"examples occurring verbatim in gold/articles: {len(found)}, distinct {len(set(found))}")
    print(f"  of two or more words: {len(multi)}, distinct {len(set(multi))}")
    print(f"  single words: {len(found) - len(multi)}, distinct {len(single)}")
    print(f"adjacent word pairs of examples occurring in an article: {len(pairs)}")
    print(f"example words that are proper names from the articles: {len(proper)}")
    if "--list" in argv:
        for title, items in (("multi-word", sorted(set(multi))), ("pairs", sorted(pairs)), ("names", sorted(proper))):
            print(f"-- {title}:", *items, sep="\n   ")
        print("-- single words found (allowed):", " ".join(single))
    bad = multi or pairs or proper
    print("RESULT:", "FAIL" if bad else "OK (no multi-word phrase, word pair or proper name from the articles)")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
