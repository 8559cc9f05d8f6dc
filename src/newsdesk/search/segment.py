"""Chinese word segmentation shared by the search index, the query parser and the static site.

`tokenize(text)` is the one function every index of newsdesk uses, so a word is cut the same
way when it is indexed and when it is searched for:

1. full-width Latin letters and digits (ＩＰｖ６, ２０２２, ３．５％) become ASCII (what NFKC
   would do to them; full NFKC costs more than the cut and only matters for these);
2. OpenCC t2s makes Traditional text Simplified (千兆光網 → 千兆光网), so both are one;
3. lowercase, so IPv6 and ipv6 are one;
4. rjieba (jieba-rs: the same cuts as jieba, ~45x faster here) cuts in *precise* mode
   (`cut`, HMM on);
5. tokens with no letter or digit (punctuation, spaces) are dropped.

Why `cut` and not `cut_for_search`: the index records token positions so that a word that
jieba splits (千兆光网 → 千兆 + 光网, 存款准备金率 → 存款 + 准备金率) is searched as a phrase of
its parts. `cut_for_search` puts overlapping sub-words (准备, 准备金, 准备金率) in the same stream,
which shifts every later position and breaks phrase matching. (准备金 still finds 准备金率:
the index falls back to matching characters, see `index`.)
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

import rjieba

from .normalise import normalise

__all__ = ["cut_joined", "cut_normalised", "normalise", "raw_tokens", "subwords", "tokenize"]

# A token is kept when it holds at least one letter or digit (CJK ideographs are letters).
_HAS_WORD = re.compile(r"[^\W_]")
# In tokens joined by spaces: a token without a letter or digit (punctuation, whitespace). jieba
# never mixes whitespace and other characters in one token, so a run of such characters
# between spaces (or the ends) is exactly a sequence of tokens to drop.
_NO_WORD_TOKENS = re.compile(r"(?<!\S)[\W_]+(?!\S)")


def tokenize(text: str) -> list[str]:
    """Words of `text` in order, normalised (see the module doc); punctuation dropped."""
    return cut_normalised(normalise(text)) if text else []


def cut_normalised(normalised: str) -> list[str]:
    """`tokenize` for text that is already `normalise`d (callers that need both forms)."""
    has_word = _HAS_WORD.search
    # isalnum() is the fast path: most tokens are plain words; "3.5%" or "a-b" need the regex.
    return [t for t in rjieba.cut(normalised) if t.isalnum() or has_word(t)]


def raw_tokens(text: str) -> list[str]:
    """`tokenize` without its last step: punctuation and whitespace tokens are kept. For
    callers that split tokens at non-word characters anyway (the static site's index), where
    the filter would be a second pass over every token for nothing."""
    return rjieba.cut(normalise(text)) if text else []


def cut_joined(normalised: str) -> str:
    """`" ".join(cut_normalised(normalised))`, up to runs of spaces (`.split()` gives the same
    list): what the index takes. One regex pass over the joined string instead of a Python
    test per token (millions per large catch-up)."""
    return _NO_WORD_TOKENS.sub("", " ".join(rjieba.cut(normalised)))


def subwords(tokens: Iterable[str]) -> list[str]:
    """Dictionary words of two or three characters inside longer tokens (what jieba's
    cut_for_search adds): 准备金率 → 准备, 准备金. For indexes without a character fallback (the
    static site's offline search), so that 准备金 finds 准备金率 there too."""
    out: list[str] = []
    for t in tokens:
        if len(t) > 2:
            out.extend(_subwords_of(t))
    return out


@lru_cache(maxsize=65_536)
def _subwords_of(token: str) -> tuple[str, ...]:
    # Vocabulary is Zipf-distributed, so the cache answers almost every call.
    if token.isascii():
        return ()
    n = len(token)
    grams = [token[i : i + 2] for i in range(n - 1)]
    if n > 3:
        grams += [token[i : i + 3] for i in range(n - 2)]
    return tuple(g for g in grams if rjieba.has_word(g))
