"""Term counts of an article and their ranking by TF-IDF against the archive.

The stage stores each article's own counts (`term_counts`); `rank_keywords` ranks them against
the archive's document frequencies when keywords are read, so they never go stale.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from operator import itemgetter

import rjieba

from .words import words

__all__ = ["MAX_TERMS", "STOP_WORDS", "rank_keywords", "term_counts"]

# At most this many distinct terms are stored per article (the most frequent).
MAX_TERMS = 300

# Words of Chinese news that say nothing about a story: function words, reporting verbs, dates,
# boilerplate of releases. A term is also dropped when it is one character, or only digits.
STOP_WORDS = frozenset(words("stop_words"))


def term_counts(text: str) -> tuple[tuple[str, int], ...]:
    """(term, count) of `text`, most frequent first (ties in order of first use), stop-words out."""
    counts = Counter(rjieba.cut(text))  # keeps first-use order: ties stay in text order
    # Words only: letters (CJK ideographs are letters) or letters and digits (5G), not 2022.
    kept = [
        (term, n)
        for term, n in counts.items()
        if len(term) > 1 and term not in STOP_WORDS and term.isalnum() and not term.isdecimal()
    ]
    kept.sort(key=itemgetter(1), reverse=True)  # stable: ties keep their order
    return tuple(kept[:MAX_TERMS])


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
