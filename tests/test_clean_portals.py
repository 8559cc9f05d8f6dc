"""Cleaning pages of portals the cleaner was not written for: ../shared/portals (41 pages, 22 portals).

The pages are split by portal into a tuning half and an untouched half (tests/data/articles/
portals/SPLIT.json, fixed before any tuning); each page's expectations (a sample of body
paragraphs including the first and last, page furniture that must not survive, credit lines
that must move into metadata, and the metadata itself) are in
tests/data/articles/portals/NAME.expect.json, read off the pages by hand. The pages stay in
../shared; bench/bench_clean.py scores the same corpus with this module's loader and scorer.

Matching drops all whitespace (Chinese prose has no word spaces; extractors differ in how
they join inline runs). A metadata field is scored only where the expectation names it:
a list is the accepted spellings, null means the page has none (inventing one is wrong).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from newsdesk.clean import Article, clean_article
from newsdesk.encoding import decode_document

DATA = Path(__file__).resolve().parent / "data" / "articles" / "portals"
PORTALS = Path(__file__).resolve().parents[2] / "shared" / "portals"
HAVE_PORTALS = (PORTALS / "MANIFEST.md").is_file()
NO_PORTALS = f"shared portal pages not found at {PORTALS} (CI lays shared/ beside the clone)"
SPLIT: dict[str, list[str]] = json.loads((DATA / "SPLIT.json").read_text(encoding="utf-8"))
META_FIELDS = ("source", "editor", "reporters", "dateline")


@dataclass(frozen=True)
class Page:
    name: str
    html: str
    expect: dict[str, Any]

    @property
    def half(self) -> str:
        return str(self.expect["half"])

    @property
    def url(self) -> str:
        return str(self.expect["url"])


def _load() -> list[Page]:
    pages = []
    for path in sorted(DATA.glob("*.expect.json")):
        expect = json.loads(path.read_text(encoding="utf-8"))
        name = path.name.removesuffix(".expect.json")
        html = ""
        if HAVE_PORTALS:
            # As the fetch stage does: the bytes decoded whatever their <meta charset> claims.
            html, _ = decode_document((PORTALS / expect["page"]).read_bytes(), None)
        pages.append(Page(name, html, expect))
    return pages


PAGES = _load()


def squeeze(text: str) -> str:
    return "".join(text.split())


@dataclass
class Score:
    """Totals over pages for one extractor."""

    pages: int = 0
    bodies: int = 0  # pages where at least half of the sampled paragraphs were found
    kept: int = 0
    paragraphs: int = 0
    furniture_pages: int = 0  # pages with at least one furniture string left
    furniture_left: int = 0
    furniture: int = 0
    credit_left: int = 0
    credit: int = 0
    meta_right: int = 0
    meta: int = 0
    misses: dict[str, list[str]] = field(default_factory=dict, repr=False)

    def pct(self, part: int, whole: int) -> float:
        return 100.0 * part / max(whole, 1)


def meta_checks(page: Page, art: Article) -> list[tuple[str, bool, object]]:
    """(field, right?, value found) for every metadata field the page's expectation names."""
    out: list[tuple[str, bool, object]] = []
    for key in META_FIELDS:
        if key not in page.expect:
            continue
        want = page.expect[key]
        got = getattr(art, key)
        if key == "reporters":
            ok = set(got) == set(want or [])
        else:
            ok = got is None if want is None else got in want
        out.append((key, ok, got))
    return out


def score_text(page: Page, text: str, score: Score, *, meta: list[tuple[str, bool, object]] | None) -> None:
    """Add one page's result (plain text, and metadata if the extractor gives any) to ``score``."""
    flat = squeeze(text)
    exp = page.expect
    lost = [p for p in exp["paragraphs"] if squeeze(p) not in flat]
    left = [f for f in exp["furniture"] if squeeze(f) in flat]
    credit = [c for c in exp["credit_lines"] if squeeze(c) in flat]
    score.pages += 1
    score.paragraphs += len(exp["paragraphs"])
    score.kept += len(exp["paragraphs"]) - len(lost)
    score.bodies += 2 * (len(exp["paragraphs"]) - len(lost)) >= len(exp["paragraphs"])
    score.furniture += len(exp["furniture"])
    score.furniture_left += len(left)
    score.furniture_pages += bool(left)
    score.credit += len(exp["credit_lines"])
    score.credit_left += len(credit)
    wrong = []
    if meta is not None:
        score.meta += len(meta)
        score.meta_right += sum(ok for _, ok, _ in meta)
        wrong = [f"{key}: {got!r} (want {exp[key]!r})" for key, ok, got in meta if not ok]
    problems = [f"lost: {p}" for p in lost] + [f"furniture: {f}" for f in left]
    problems += [f"credit line: {c}" for c in credit] + wrong
    if problems:
        score.misses[page.name] = problems


def newsdesk(page: Page) -> Article:
    return clean_article(page.html, url=page.url)


def score_newsdesk(pages: list[Page]) -> Score:
    score = Score()
    for page in pages:
        art = newsdesk(page)
        score_text(page, art.text, score, meta=meta_checks(page, art))
    return score


def half(name: str) -> list[Page]:
    return [p for p in PAGES if p.half == name]


# --- the data ------------------------------------------------------------------------------


def test_split_is_by_portal_and_covers_every_page() -> None:
    tuning, untouched = set(SPLIT["tuning"]), set(SPLIT["untouched"])
    assert not tuning & untouched
    assert {p.expect["portal"] for p in PAGES} == tuning | untouched
    for page in PAGES:
        assert page.half == ("tuning" if page.expect["portal"] in tuning else "untouched"), page.name
    assert len(half("tuning")) >= 20 and len(half("untouched")) >= 20


@pytest.mark.skipif(not HAVE_PORTALS, reason=NO_PORTALS)
def test_expectations_cover_every_page() -> None:
    assert {p.stem for p in PORTALS.glob("*.html")} == {p.expect["page"].removesuffix(".html") for p in PAGES}


@pytest.mark.skipif(not HAVE_PORTALS, reason=NO_PORTALS)
@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_expectations_are_facts_about_the_page(page: Page) -> None:
    # Every paragraph, furniture string and credit line must really be on the page (decoded).
    from lxml import etree, html

    root = html.fromstring(page.html)
    etree.strip_elements(root, "script", "style", etree.Comment, with_tail=False)
    shown = squeeze(root.text_content())
    exp = page.expect
    missing = [
        s for s in exp["paragraphs"] + exp["furniture"] + exp["credit_lines"] if squeeze(s) not in shown
    ]
    assert missing == []
    assert exp["paragraphs"], page.name


# --- the cleaner on them ---------------------------------------------------------------------


@pytest.mark.skipif(not HAVE_PORTALS, reason=NO_PORTALS)
@pytest.mark.parametrize("name", ["tuning", "untouched"])
def test_portal_half_meets_the_targets(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    sc = score_newsdesk(half(name))
    with capsys.disabled():
        print(
            f"\nportals [{name}] {sc.pages} pages: bodies {sc.bodies}/{sc.pages}, paragraphs kept "
            f"{sc.pct(sc.kept, sc.paragraphs):.1f}%, furniture on {sc.furniture_pages} pages "
            f"({sc.furniture_left} strings), credit lines left {sc.credit_left}/{sc.credit}, metadata "
            f"right {sc.pct(sc.meta_right, sc.meta):.1f}% of {sc.meta}"
        )
        # Details only for the tuning half: the untouched half is for scoring, not for reading.
        for page_name, problems in sc.misses.items() if name == "tuning" else ():
            print(f"  {page_name}: " + "; ".join(problems))
    # The targets: bodies 100 %, paragraphs ≥ 99 %, furniture on ≤ 1 page in 10, metadata
    # right ≥ 90 %. The untouched half misses the last two (docs/benchmarks.md, issue 17): there
    # the test holds the measured level as a floor, so a regression still fails it.
    assert sc.bodies == sc.pages
    assert sc.pct(sc.kept, sc.paragraphs) >= 99.0
    if name == "tuning":
        assert sc.furniture_pages * 10 <= sc.pages
        assert sc.pct(sc.meta_right, sc.meta) >= 90.0
    else:
        assert sc.furniture_pages <= 5
        assert sc.pct(sc.meta_right, sc.meta) >= 85.0
