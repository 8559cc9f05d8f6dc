"""The static site's search terms: the fast `terms` (one pass in C per step, punctuation split
off only where a token holds some) gives exactly what its definition says, on texts with every
kind of token the archive meets."""

from __future__ import annotations

import re

import pytest

from newsdesk.publish.site.search import MAX_TOKEN, Segmenter, load_segmenter, terms
from newsdesk.search import segment

TEXTS = [
    "工信部：2022年将推进千兆光网建设，存款准备金率下调0.5个百分点。",
    "千兆光網與5G協同發展，IPv6 規模部署；ＩＰｖ６、２０２２年３．５％",
    "A股三大指数震荡整理 两市成交额1.02万亿元（记者 郑晓舟）——“科创积分贷”……",
    "snake_case_name and a-b-c, e-mail: news@example.cn; https://example.cn/a/b?c=1&d=2",
    "超长" + "x" * (MAX_TOKEN + 5) + " 与 " + "ab1" * 10 + " 以及 ___ ... ！！！",
    "\u3000\u3000全角空格　段落\n\n第二段\t制表符 emoji 🚀📈 结束",
    "",
]


def reference_terms(seg: Segmenter, text: str) -> set[str]:
    """The definition: tokens (punctuation dropped) and their sub-words, split at non-word
    characters (as the browser splits a query), none empty or longer than MAX_TOKEN."""
    tokens = seg.tokenize(text)
    words = list(tokens) + (seg.subwords(tokens) if seg.subwords is not None else [])
    parts = [p for w in words for p in re.split(r"[\W_]+", w)]
    return {p for p in parts if p and len(p) <= MAX_TOKEN}


@pytest.mark.parametrize("text", TEXTS)
def test_terms_equal_their_definition(text: str) -> None:
    seg = load_segmenter()
    assert seg.raw_tokens is not None  # the fast path is the one under test
    got = terms(seg, text)
    assert got == reference_terms(seg, text)
    assert all(t and len(t) <= MAX_TOKEN and re.fullmatch(r"[^\W_]+", t) for t in got)


def test_terms_find_split_words_and_traditional_input() -> None:
    seg = load_segmenter()
    got = terms(seg, TEXTS[0] + TEXTS[1])
    assert {"千兆", "光网", "准备金", "ipv6", "2022", "3", "5"} <= got
    assert "千兆光網" not in got and "光網" not in got  # Traditional became Simplified
    assert not any("x" * (MAX_TOKEN + 1) in t for t in terms(seg, TEXTS[4]))


def test_raw_tokens_are_tokenize_with_punctuation_kept() -> None:
    for text in TEXTS:
        raw = segment.raw_tokens(text)
        assert [t for t in raw if re.search(r"[^\W_]", t)] == segment.tokenize(text)


def test_the_light_normaliser_is_the_tokenizers_own() -> None:
    # The Traditional → Simplified table of the static search is made with `load_normaliser`
    # when no article was cut in the build process: it must fold exactly as the tokenizer does.
    from newsdesk.publish.site.search import load_normaliser

    normalise = load_normaliser()
    assert normalise is not None and normalise is load_segmenter().normalise
    assert normalise("千兆光網ＩＰｖ６") == "千兆光网ipv6"
