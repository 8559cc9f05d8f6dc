"""Term counts of an article and their ranking by TF-IDF against the archive.

The stage stores each article's own counts (`term_counts`); `rank_keywords` ranks them against
the archive's document frequencies when keywords are read, so they never go stale.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Mapping, Sequence

import rjieba

from .words import words

__all__ = ["MAX_TERMS", "STOP_WORDS", "rank_keywords", "term_counts"]

# At most this many distinct terms are stored per article (the most frequent).
MAX_TERMS = 300

# Words of Chinese news that say nothing about a story: function words, reporting verbs, dates,
# boilerplate of releases. A term is also dropped when it is one character, or only digits.
STOP_WORDS = frozenset(words("stop_words"))
_WORDY = re.compile(r"[\u4e00-\u9fffA-Za-z]")


def term_counts(text: str) -> tuple[tuple[str, int], ...]:
    """(term, count) of `text`, most frequent first (ties in order of first use), stop-words out."""
    counts: Counter[str] = Counter()
    for token in rjieba.cut(text):
        if len(token) < 2 or token in STOP_WORDS or not _WORDY.search(token):
            continue
        counts[token] += 1
    ranked = sorted(counts.items(), key=lambda kv: -kv[1])
    return tuple(ranked[:MAX_TERMS])


def rank_keywords(
    terms: Sequence[tuple[str, int]], doc_freq: Mapping[str, int], n_docs: int, k: int
) -> list[str]:
    """The `k` terms of an article with the highest TF-IDF: count × ln((1 + n_docs) / (1 + df)) + 1
    (smoothed, so a term the archive has not seen yet still ranks); ties by count, then the term."""
    if k <= 0:
        return []
    n = max(n_docs, 0)

    def score(item: tuple[str, int]) -> tuple[float, int, str]:
        term, count = item
        df = min(max(doc_freq.get(term, 0), 0), n)
        return (-(count * (math.log((1 + n) / (1 + df)) + 1.0)), -count, term)

    return [term for term, _ in sorted(terms, key=score)[:k]]
