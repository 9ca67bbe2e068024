"""Markdown escaping, defined once for every Markdown the toolkit writes (score summaries, leaderboards)."""

from __future__ import annotations

import re

_MD_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", "|": "&#124;", "`": "&#96;", "\\": "&#92;",
               "*": "&#42;", "[": "&#91;", "]": "&#93;", "\n": " ", "\r": " "}
_MD_SPECIAL = re.compile("[" + re.escape("".join(_MD_ESCAPES)) + "]")


def md_escape(text) -> str:
    """Text from data (type names, file names, sources) made inert in a Markdown table cell or line: no HTML
    tag, no code span, no cell break, no emphasis or link, one line (an underscore is left as it is: GitHub does not
    emphasise inside a word, and metric keys are full of them). Entities, not backslashes, because a
    backslash before a pipe is itself data that a second backslash would undo."""
    return _MD_SPECIAL.sub(lambda m: _MD_ESCAPES[m.group()], str(text))
