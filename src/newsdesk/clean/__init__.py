"""The cleaning stage: portal HTML in, sanitised article HTML, plain text and metadata out.

``clean_article`` is a pure function over strings (no I/O, no network). It accepts either
a feed item's HTML (RSSHub's ``description``: the portal's article body with its
boilerplate) or a whole article page, in which case the body is located first (see
``extract_page``) and page-level metadata (``<meta name=keywords>``, the 来源 line) is read
too. Per-portal rules are data in ``newsdesk.clean.profiles``.

Steps: guard (size, binary, mojibake) → lxml parse → metadata from comments/selectors →
profile rules (drop/unwrap/figures) → normalise (URLs, images) → paragraphs → line rules
(boilerplate and metadata lines) → text metadata (dateline, reporters) → nh3 allow-list.

Decisions worth knowing:

* ``text`` holds one line per paragraph (table rows: cells joined by a tab; figure
  captions are lines too). ``char_count`` counts the characters of ``text`` that are not
  whitespace (newlines, tabs, spaces, U+3000), i.e. what a Chinese reader calls 字数.
* ``keywords``: ``<meta name=keywords>`` words first, then the ticker codes of Sina's
  ``<!-- news_keyword_pub,<market>,<code>&<code> -->`` comment. Its second field (``stock``,
  ``usstock``…) is the channel every article of that market carries, not a keyword, so
  ``<!-- news_keyword_pub,stock, -->`` contributes nothing.
* Bylines, 来源/责任编辑/编辑 lines and promo lines are removed from ``html`` and ``text``
  once their metadata is read; the 电头 (dateline) stays in the text, as printed.
* ``images`` exclude QR codes, logos, icons, tracking pixels (by profile blocklist, URL
  name and declared size) and anything inside removed boilerplate.
"""

from __future__ import annotations

import re

from lxml import etree

from newsdesk.clean import blocks, extract, guard, sanitise, signals
from newsdesk.clean import metadata as md
from newsdesk.clean.extract import extract_page
from newsdesk.clean.guard import text_of
from newsdesk.clean.profiles import GENERIC as GENERIC_PROFILE
from newsdesk.clean.profiles import Profile, profile_for
from newsdesk.clean.tree import drop_keep_tail
from newsdesk.errors import CleanError
from newsdesk.models import Article

__all__ = ["FALLBACK", "Article", "CleanError", "clean_article", "extract_page", "fallback_article"]

# The profile name of what ``fallback_article`` makes.
FALLBACK = "fallback"

_WS_ONLY = re.compile(r"\s+")


def clean_article(html: str, *, url: str | None, title: str | None = None) -> Article:
    """Clean one article (feed item HTML or a whole page) for publishing.

    ``url`` picks the site profile and resolves relative links; ``title``, when given, lets
    a body that repeats the headline as its first line drop it. Raises ``CleanError`` for
    input that is not HTML (binary data, undecodable text) or too large/deep to clean in
    bounded time; empty input gives an empty article.
    """
    if not isinstance(html, str):
        raise CleanError(f"article HTML must be str, not {type(html).__name__}")
    text = guard.check_input(html)
    prof = profile_for(url, text)
    if not text.strip():
        return _empty(prof.name)
    found = md.Found()
    _comment_metadata(text, prof, found)
    root = guard.parse(text)
    base = url
    container: etree._Element | None
    page = extract.is_page(text)
    if page:
        base = extract.base_href(root, url)
        found.add_keywords(extract.page_keywords(root))
        container = extract.locate(root, prof)
        if container is None:
            raise CleanError("no article body found in the page")
        if title is None:
            title = signals.page_title(root)
    else:
        container = root.find("body")
        if container is None:
            return _empty(prof.name)
    # Comment keywords (tickers) after the page's own keywords.
    if prof.comment_keywords is not None:
        m = prof.comment_keywords.search(text)
        if m is not None:
            found.add_keywords(md.split_ticker_codes(m.group(1)))
    candidates = prof.scan(container) if prof.scan is not None else []
    _selector_metadata(root, container, prof, found, text, candidates, page=page)
    # Under a portal profile whose selectors already named source and editor, the page's other
    # credit lines can only rank lower: skip the scan.
    if page and (prof is GENERIC_PROFILE or found.source is None or found.editor is None):
        _page_signals(root, container, found, own_source=prof is not GENERIC_PROFILE)

    sanitise.apply_profile(container, prof, text, candidates)
    styled = "old" in text or "OLD" in text or "trong" in text or "eight" in text  # Bold, strong, weight
    sanitise.normalise(container, base, prof.image_block, styled=styled)
    blocks.paragraphise(container)
    lines = blocks.collect_lines(container, blocks.block_filter(prof, found, title))

    found.add_reporters(md.find_reporters(lines))
    images = tuple(dict.fromkeys(img.get("src", "") for img in container.iter("img") if img.get("src")))
    body_text = "\n".join(lines)
    captions = {md.norm_line(text_of(c)) for c in container.iter("figcaption")}
    return Article(
        html=sanitise.serialise(container),
        text=body_text,
        summary=md.make_summary([ln for ln in lines if ln not in captions] or lines),
        char_count=len(_WS_ONLY.sub("", body_text.replace("\u3000", ""))),
        images=images,
        header_image=images[0] if images else None,
        source=found.source,
        editor=found.editor,
        reporters=tuple(found.reporters),
        dateline=md.find_dateline(lines),
        keywords=tuple(found.keywords),
        profile=prof.name,
    )


def _empty(profile: str) -> Article:
    return Article("", "", "", 0, (), None, None, None, (), None, (), profile)


def fallback_article(html: str, *, url: str | None) -> Article:
    """What to show of an item ``clean_article`` refused: the sanitiser's output of the whole
    item (no profile rules, no boilerplate or metadata lines read, no body location), one block
    per line like a cleaned article, with its text and summary. Never raises: an input the
    guard refuses (binary, too large or deep) gives an empty article. Profile "fallback".
    """
    try:
        text = guard.check_input(html) if isinstance(html, str) else ""
        if not text.strip():
            return _empty(FALLBACK)
        root = guard.parse(text)
    except CleanError:
        return _empty(FALLBACK)
    # The whole document, head included (its title and scripts are dropped by normalise).
    container = root.find("body")
    if container is None:
        container = root
    sanitise.normalise(container, url, None)
    blocks.paragraphise(container)
    lines = blocks.collect_lines(container, lambda _el, line, _index: line)
    images = tuple(dict.fromkeys(img.get("src", "") for img in container.iter("img") if img.get("src")))
    body_text = "\n".join(lines)
    return Article(
        html=sanitise.serialise(container),
        text=body_text,
        summary=md.make_summary(lines),
        char_count=len(_WS_ONLY.sub("", body_text.replace("\u3000", ""))),
        images=images,
        header_image=images[0] if images else None,
        source=None,
        editor=None,
        reporters=(),
        dateline=None,
        keywords=(),
        profile=FALLBACK,
    )


def _comment_metadata(text: str, prof: Profile, found: md.Found) -> None:
    """Metadata Sina keeps in HTML comments (read from the string: comments are dropped later)."""
    if prof.comment_source is not None:
        for m in prof.comment_source.finditer(text):
            # The comment holds HTML (<p>来源：X</p>, sometimes related links): strip tags first.
            inner = re.sub(r"<[^>]*>", "", re.sub(r"<(?:/?p|br|/?div)\b[^>]*>", "\n", m.group(1), flags=re.I))
            for line in inner.split("\n"):
                found.offer_source(md.parse_source(md.norm_line(line)), 0)


def _selector_metadata(
    root: etree._Element,
    container: etree._Element,
    prof: Profile,
    found: md.Found,
    raw: str,
    candidates: list[etree._Element],
    *,
    page: bool,
) -> None:
    """Editor, source and reporter elements named by the profile; editor elements then go."""
    if prof.editor is not None and prof.editor.could_match(raw):
        # On a page the editor line may sit outside the body; a fragment is all body.
        for el in prof.editor(root) if page else prof.editor(container, candidates):
            found.offer_editor(md.parse_editor(text_of(el)), 0)
            if _inside(el, container):
                drop_keep_tail(el)
    # Source and byline slots are page furniture (meta tags, the date/source bar); a feed
    # item's HTML is the body alone, so looking for them there only costs time.
    if not page:
        return
    for rank, xpath in enumerate(prof.source, start=30):
        for el in xpath(root):
            value = el.get("content") if el.tag == "meta" else text_of(el)
            found.offer_source(md.parse_source(value or "", labelled=False), rank)
    if prof.reporters is not None:
        for el in prof.reporters(root):
            line = md.norm_line(text_of(el))
            found.add_reporters(md.byline_only(line) or md.labelled_names(line))


# Ranks (lower wins): the body's own 来源 line 10, a credit line beside the body 25 (35 under
# a portal profile, whose own source elements at 30+ know the page better), meta tags 30+,
# the outlet of a byline 40.
_NEAR_BODY = 25


def _page_signals(
    root: etree._Element, container: etree._Element, found: md.Found, *, own_source: bool
) -> None:
    """Credit lines beside the body (the date/source bar, the editor line under the text) and
    JSON-LD authors: metadata a page states outside the article element."""
    rank = _NEAR_BODY + (10 if own_source else 0)
    for line in signals.credit_lines(container):
        found.offer_source(md.parse_source(line, one_word=True), rank)
        found.offer_editor(md.parse_editor(line), rank)
        found.add_reporters(md.byline_only(line) or md.author_of(line) or md.labelled_names(line))
    article = signals.ld_article(root)
    if article is not None:
        found.add_reporters(signals.ld_authors(article))


def _inside(el: etree._Element, container: etree._Element) -> bool:
    return any(a is container for a in el.iterancestors())
