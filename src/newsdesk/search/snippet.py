"""Snippets: a window of an entry's text around the matched words, with the matches marked.

Matching is done on `segment.normalise`d text (Traditional → Simplified, lowercase), so a
Simplified query marks the Traditional original; the tokens of a phrase may be separated by
spaces or punctuation in the text, as they are in the index.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass

from .query import Match
from .segment import normalise

__all__ = ["Snippet", "make_snippet", "patterns"]

WIDTH = 120  # characters of text shown
_LEAD = 24  # characters kept before the first match in the window


@dataclass(frozen=True)
class Snippet:
    text: str
    spans: tuple[tuple[int, int], ...]  # [start, end) offsets of matched words in `text`
    truncated_start: bool = False
    truncated_end: bool = False

    def to_html(self) -> str:
        """HTML-escaped text with <mark> around the matches and … where the text was cut."""
        parts: list[str] = ["…"] if self.truncated_start else []
        pos = 0
        for start, end in self.spans:
            parts.append(html.escape(self.text[pos:start], quote=False))
            parts.append("<mark>" + html.escape(self.text[start:end], quote=False) + "</mark>")
            pos = end
        parts.append(html.escape(self.text[pos:], quote=False))
        if self.truncated_end:
            parts.append("…")
        return "".join(parts)


def patterns(matches: Sequence[Match]) -> list[re.Pattern[str]]:
    """What `make_snippet` looks for, made once for all the hits of a search."""
    return [re.compile(r"[\W_]*".join(re.escape(t) for t in m.tokens)) for m in matches]


def _normalised(text: str) -> str:
    norm = normalise(text)
    if len(norm) == len(text):
        return norm
    # A conversion that changed the length would shift offsets: fall back to lowercase only.
    return text.lower()


def make_snippet(text: str, looked_for: Sequence[re.Pattern[str]], width: int = WIDTH) -> Snippet:
    """The window of `text` with the most distinct matches (the start of the text if none);
    `looked_for` is the `patterns` of the matches."""
    text = " ".join(text.split())  # one line: snippets go in tables and JSON
    norm = _normalised(text)
    found: list[tuple[int, int, int]] = []  # (start, end, which match)
    for i, pattern in enumerate(looked_for):
        for hit in pattern.finditer(norm):
            if hit.end() > hit.start():
                found.append((hit.start(), hit.end(), i))
                if len(found) > 500:
                    break
    if not found:
        return Snippet(text[:width], (), False, len(text) > width)
    found.sort()
    kinds = len({i for _, _, i in found})
    best_start, best_score = 0, -1
    for start, _, _ in found:
        lo = max(0, start - _LEAD)
        inside = {i for s, e, i in found if s >= lo and e <= lo + width}
        if len(inside) > best_score:
            best_start, best_score = lo, len(inside)
            if best_score == kinds:
                break  # the first window to hold every kind found: no later one beats it
    lo = best_start
    hi = min(len(text), lo + width)
    spans: list[tuple[int, int]] = []
    for s, e, _ in found:
        if s >= lo and e <= hi and (not spans or s >= spans[-1][1] + lo):
            spans.append((s - lo, e - lo))
    return Snippet(text[lo:hi], tuple(spans), lo > 0, hi < len(text))
