"""The text the insights stage reads: digits made half-width, cut into paragraphs and sentences.

Every pattern here and in the other modules of the stage is bounded (no nested repetition, every
repeat with an upper limit), so each pass over the text is linear in its length.
"""

from __future__ import annotations

import re
from typing import NamedTuple

__all__ = ["MAX_CHARS", "Sentence", "normalise", "paragraphs", "sentences"]

# Longer text is read up to here, with a note: far beyond any real article (the 5 MB paragraph).
MAX_CHARS = 2_000_000

# Full-width digits, '%', '.', Latin letters → ASCII (２０２２年 → 2022年, ３．５％ → 3.5%).
_HALF = {
    c: c - 0xFEE0
    for c in (0xFF05, 0xFF0E, *range(0xFF10, 0xFF1A), *range(0xFF21, 0xFF3B), *range(0xFF41, 0xFF5B))
}
_FULL = re.compile("[\uff05\uff0e\uff10-\uff19\uff21-\uff3a\uff41-\uff5a]")
# Dashes written between numbers and in ranges (1－5月, 1—5月, 1~5月) read as one '-'.
_DASHES = {"－": "-", "—": "-", "–": "-", "~": "-", "～": "-", "\u3000": " ", "\xa0": " "}
_SWAPS = {**{chr(k): chr(v) for k, v in _HALF.items()}, **_DASHES}
# Any character either table changes: most texts have none and are returned as they are.
_ODD = re.compile("[\uff05\uff0e\uff10-\uff19\uff21-\uff3a\uff41-\uff5a－—–~～\u3000\xa0]")

# A sentence ends at 。！？!? (with any closing quote or bracket right after it) or a line end; a
# semicolon only separates clauses (到2025年，…达到…；…超过…: one deadline for both).
_SENTENCE = re.compile(r"[^。！？!?\n]{1,100000}(?:[。！？!?]{1,3}[”’」』）)]{0,2})?")


def _swap(m: re.Match[str]) -> str:
    return _SWAPS[m.group()]


def normalise(text: str) -> tuple[str, list[str]]:
    """(text with half-width digits and plain dashes, notes on what was changed or cut)."""
    notes: list[str] = []
    if len(text) > MAX_CHARS:
        notes.append(f"text longer than {MAX_CHARS} characters: read the first {MAX_CHARS} only")
        text = text[:MAX_CHARS]
    odd = _ODD.search(text)
    if odd is None:
        return text, notes
    if _FULL.search(text, odd.start()):
        notes.append("full-width digits or letters read as half-width")
    return _ODD.sub(_swap, text), notes


class Sentence(NamedTuple):
    text: str
    start: int  # offset in the paragraph
    paragraph: int


def paragraphs(text: str) -> list[str]:
    """Non-empty lines, stripped: the cleaning stage writes one paragraph per line."""
    return [p for p in map(str.strip, text.split("\n")) if p]


def sentences(paragraph: str, index: int) -> list[Sentence]:
    """The sentences of one paragraph, each with its offset."""
    return [Sentence(m.group(), m.start(), index) for m in _SENTENCE.finditer(paragraph) if m.group().strip()]
