"""Arabic normalisation for matching keys only.

Nothing here changes a document's text or offsets: `matching_key` builds a comparison key, and
`key_with_offsets` also returns, for each key character, the offset of the original character it came from,
so a match found on the key maps back to exact offsets in the untouched text.
"""

from __future__ import annotations

import unicodedata

_FOLD = {
    "أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا",  # alef variants
    "ى": "ي", "ی": "ي",  # alef maqsura, Farsi ya
    "ک": "ك",  # Farsi kaf
    "ة": "ه",  # ta marbuta folds with ha: headlines mix them
    "ؤ": "و", "ئ": "ي",
}
_DROP = {"\u0640"}  # tatweel


def _is_diacritic(ch: str) -> bool:
    return unicodedata.category(ch) == "Mn"


def key_with_offsets(text: str) -> tuple[str, list[int]]:
    """(key, offsets): key[i] comes from text[offsets[i]]."""
    chars: list[str] = []
    offsets: list[int] = []
    for i, ch in enumerate(text):
        if ch in _DROP or _is_diacritic(ch):
            continue
        chars.append(_FOLD.get(ch, ch))
        offsets.append(i)
    return "".join(chars), offsets


def matching_key(text: str) -> str:
    """Comparison key: alef/ya/ta-marbuta folded, tatweel and diacritics removed, Latin lower-cased."""
    return key_with_offsets(text)[0].lower()
