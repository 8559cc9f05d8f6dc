"""The text form every index of newsdesk sees: `normalise` (steps 1-3 of `segment`'s module doc).

Its own module, apart from `segment`, because importing `segment` loads jieba's dictionary
(a tenth of a second or more): the static site's Traditional → Simplified table needs the
normalisation alone, and a build with nothing new to cut should not pay for the dictionary.
"""

from __future__ import annotations

import re

import opencc

__all__ = ["normalise"]

_T2S = opencc.OpenCC("t2s")
# Full-width digits, letters, '.', '%' (U+FF05, U+FF0E, U+FF10-FF19, U+FF21-FF3A, U+FF41-FF5A).
_FULL_WIDTH = re.compile("[\uff05\uff0e\uff10-\uff19\uff21-\uff3a\uff41-\uff5a]")
_HALF_WIDTH = {
    c: c - 0xFEE0
    for c in (0xFF05, 0xFF0E, *range(0xFF10, 0xFF1A), *range(0xFF21, 0xFF3B), *range(0xFF41, 0xFF5B))
}


def normalise(text: str) -> str:
    """Half-width letters and digits, Traditional → Simplified, lowercase: the text form every
    index sees. Length-preserving for ordinary text, so offsets carry over to the original."""
    if _FULL_WIDTH.search(text):
        text = text.translate(_HALF_WIDTH)
    converted: str = _T2S.convert(text)
    return converted.lower()
