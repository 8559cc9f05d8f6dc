"""A short fuzzing run (hypothesis, derandomized: the same examples every run) over the feed
parser, the cleaner and its fallback, and the Hexo front matter. bench/fuzz.py runs the same
targets for minutes with fresh seeds; docs/benchmarks.md says what it found."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings

import fuzz_targets as ft

# A failing example can be long (hostile markup): print it rather than fail on its size.
pytestmark = pytest.mark.filterwarnings("ignore:Generating overly large repr")

# Deadlines catch a hang (a quadratic pass) without failing on a busy machine's slow example.
FUZZ = settings(
    derandomize=True,
    deadline=5000,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)


@settings(FUZZ, max_examples=300)
@given(ft.ITEM_HTML)
def test_clean_article_only_allowed_markup(html: str) -> None:
    ft.fuzz_clean(html)


@settings(FUZZ, max_examples=200)
@given(ft.FEED)
def test_parse_feed_only_parse_errors(doc: str) -> None:
    ft.fuzz_parse(doc)


@settings(FUZZ, max_examples=300)
@given(ft.FM_TEXT, ft.st.lists(ft.FM_TEXT, max_size=4), ft.FM_TEXT)
def test_front_matter_reads_back(title: str, names: list[str], author: str) -> None:
    ft.fuzz_front_matter(title, names, author)


@settings(FUZZ, max_examples=100)
@given(ft.FM_TEXT, ft.FM_TEXT, ft.FM_TEXT, ft.HTML)
def test_hexo_post_reads_back(title: str, group: str, site: str, body: str) -> None:
    ft.fuzz_post(title, group, site, body)
