"""Finding the article in a full page: every signal the page offers, then a text-density scorer.

Order: the portal profile's own selectors (trusted); ``itemprop=articleBody``; the element
holding a JSON-LD ``articleBody`` (or the body a page embeds as script data); known CMS body
containers (``generic`` profile ``body``:
TRS's ``TRS_Editor``, Founder's ``#ozoom``, NetEase's ``post_body``…); coarse containers
(``<article>``, ``#content``…), narrowed to the densest element inside them; the scorer over
the whole page. Nothing inside a comment thread is ever the body.

The scorer is a small readability-style pass tuned for Chinese pages: every paragraph-like
element scores by its length and its count of full-width commas/full stops (prose has
many, menus and link lists none), gives that score to its parent and half to its
grandparent, and the best-scoring container whose text is not mostly links wins. It visits
each element once and leaves all string work to libxml2 (``string()``), so a 400 KB
portal page costs a few milliseconds.
"""

from __future__ import annotations

import re

from lxml import etree

from newsdesk.clean import guard, signals
from newsdesk.clean import metadata as md
from newsdesk.clean.guard import text_of
from newsdesk.clean.profiles import GENERIC, Profile, profile_for
from newsdesk.clean.selectors import compile_selectors

_PAGE = re.compile(r"<(?:html|head|body)\b", re.I)
_NEGATIVE = re.compile(
    r"(?i)(comment|footer|foot\b|nav|menu|sidebar|side[-_]|share|related|recommend|hotnews|\bhot\b|rank|"
    r"breadcrumb|copyright|login|toolbar|banner|advert|\bad[-_]|tags?\b|keyword|list)"
)
_POSITIVE = re.compile(r"(?i)(article|content|artibody|\bbody|text|detail|main|post|entry|story|zw\b|con\b)")
_PUNCT = re.compile(r"[，。！？；、“”,]")
_PARAGRAPHS = frozenset({"p", "pre", "td", "li"})
_SCORED = ("p", "pre", "td", "li", "div", "section", "article")
_KEYWORDS = etree.XPath(
    "//meta[translate(@name, 'KEYWORDS', 'keywords')='keywords' or @property='article:tag']/@content",
    smart_strings=False,
)
_BASE = etree.XPath("//base/@href", smart_strings=False)


def is_page(text: str) -> bool:
    """Whether ``text`` is a whole HTML document rather than an article fragment."""
    return _PAGE.search(text, 0, 8000) is not None


def _link_density(el: etree._Element, total: int) -> float:
    if total == 0:
        return 1.0
    linked = sum(len(text_of(a).strip()) for a in el.iter("a"))
    return linked / total


def density_main(root: etree._Element) -> etree._Element | None:
    """The element holding the article prose, by text density; None if there is no prose."""
    scores: dict[etree._Element, float] = {}
    for el in root.iter(*_SCORED):
        if el.tag in _PARAGRAPHS:
            if el.tag in ("td", "li") and next(el.iter("p"), None) is not None:
                continue  # its paragraphs score for it
            text = text_of(el)
            parent = el.getparent()
        else:
            # A div holding prose directly (no <p>) is itself a container; a run of such divs
            # (one per paragraph, as TRS and government CMSes write) is its parent's.
            text = "".join([el.text or "", *(c.tail or "" for c in el)])
            parent = el
        length = len(text.strip())
        if length < 10 or parent is None:
            continue
        score = 1.0 + len(_PUNCT.findall(text)) + min(length / 100.0, 3.0)
        scores[parent] = scores.get(parent, 0.0) + score
        grand = parent.getparent()
        if grand is not None:
            scores[grand] = scores.get(grand, 0.0) + score / 2
    if not scores:
        return None
    ranked: list[tuple[etree._Element, float]] = []
    for el, score in sorted(scores.items(), key=lambda kv: kv[1], reverse=True):
        # A reader-comment thread is never the article, however much prose it has.
        if not _in_comments(el, root):
            ranked.append((el, score))
            if len(ranked) == 8:
                break
    best: tuple[float, etree._Element] | None = None
    for el, score in ranked:
        label = f"{el.get('class', '')} {el.get('id', '')}"
        if _NEGATIVE.search(label) and not _POSITIVE.search(label):
            score *= 0.3
        elif _POSITIVE.search(label):
            score *= 1.25
        total = len(text_of(el).strip())
        score *= 1.0 - min(_link_density(el, total), 0.95)
        if best is None or score > best[0]:
            best = (score, el)
    if best is None or len(text_of(best[1]).strip()) < 30:
        return None
    return best[1]


# Containers that hold the article together with its furniture on many sites: a hit is
# narrowed to the densest element inside it.
_COARSE = compile_selectors(("article", "main", "#content", "#main-content", ".main-content"))
_ITEMPROP = compile_selectors(("[itemprop=articleBody]", "[itemprop=articlebody]"))


def _in_comments(el: etree._Element, root: etree._Element) -> bool:
    for a in (el, *el.iterancestors()):
        if a is root:
            return False
        if signals.COMMENTS.search(f"{a.get('class', '')} {a.get('id', '')}"):
            return True
    return False


def _enough(el: etree._Element, need: int) -> bool:
    return len(text_of(el).strip()) >= need


def locate(root: etree._Element, prof: Profile) -> etree._Element | None:
    """The article body of a parsed page (see the module docstring for the order of signals)."""
    for selector in prof.body[: prof.own_body] if prof is not GENERIC else ():
        for el in compile_selectors((selector,))(root):
            if _enough(el, 20):
                return el
    for el in _ITEMPROP(root):
        if _enough(el, 10) and not _in_comments(el, root):
            return el
    article = signals.ld_article(root)
    body = article.get("articleBody") if article is not None else None
    if not isinstance(body, str):
        body = signals.embedded_body(root)
    if isinstance(body, str):
        found = signals.body_from_text(root, body)
        if found is not None and found.tag != "body":
            return found
    # CMS body containers must hold a real amount of text before they beat the scorer.
    for selector in GENERIC.body:
        for el in compile_selectors((selector,))(root):
            if _enough(el, 60) and not _in_comments(el, root):
                return el
    for el in _COARSE(root):
        total = len(text_of(el).strip())
        if total >= 200 and _link_density(el, total) < 0.5 and not _in_comments(el, root):
            inner = density_main(el)
            return inner if inner is not None else el
    return density_main(root)


def page_keywords(root: etree._Element) -> list[str]:
    words: list[str] = []
    for value in _KEYWORDS(root):
        words.extend(md.split_keywords(str(value)))
    return words


def base_href(root: etree._Element, url: str | None) -> str | None:
    """The URL relative links resolve against: ``<base href>`` (made absolute) or ``url``."""
    for href in _BASE(root):
        href = str(href).strip()
        if href.startswith(("http://", "https://")):
            return href
    return url


def extract_page(html: str, *, url: str) -> str | None:
    """A full article page → the raw HTML of its body element (profile selectors for known
    portals, text density otherwise), or None when no article body can be found.

    The result is not sanitised: pass it to ``clean_article`` (or pass the whole page there,
    which also keeps the page's metadata such as ``<meta name=keywords>`` and 来源)."""
    text = guard.check_input(html)
    if not text.strip():
        return None
    root = guard.parse(text)
    body = locate(root, profile_for(url, text))
    if body is None:
        return None
    return str(etree.tostring(body, encoding="unicode", method="html", with_tail=False))
