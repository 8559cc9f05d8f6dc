"""What a whole page says about its article besides the text: structured data and credit lines.

Used on pages of portals without a profile, before (and around) the text-density scorer:

* JSON-LD ``NewsArticle``/``Article`` objects: ``articleBody`` locates the body element (the
  smallest element holding its first and last words), ``author`` names persons;
* ``og:title`` / ``<h1>`` / ``<title>``: the headline, so a body repeating it can drop it;
* the credit lines around the body (``来源：X`` in the date bar, ``责任编辑：X`` under the text):
  short elements near the body, in its ancestors' subtrees but outside it, outside comment,
  list and navigation widgets. They are read in order of distance from the body, so the
  article's own date bar wins over anything further away.

Pure functions over an lxml tree; nothing here edits it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

from lxml import etree

from newsdesk.clean import metadata as md
from newsdesk.clean.guard import text_of

_ARTICLE_TYPES = {"NewsArticle", "Article", "ReportageNewsArticle", "BlogPosting", "AnalysisNewsArticle"}
_TEXTS = etree.XPath("//body//text()[contains(., $needle)]")
# Widgets whose text is never the article's, nor its credit line.
COMMENTS = re.compile(r"(?i)(comment|reply|pinglun|\btie[-_]|tiearea|discuss|\bcmt|changyan|\bcy[-_])")
_NOT_CREDIT = re.compile(
    r"(?i)(comment|reply|pinglun|\btie[-_]|related|recommend|relate|\bhot|rank|\bnav|menu|footer|"
    r"\blist|news-?list|sidebar|side[-_]|aside|\bright|copyright|breadcrumb|crumb)"
)
_CREDIT_LINE = re.compile(
    r"(?:来源|稿源|信息来源|本文来源|责任编辑|责编|编辑|作者|记者|文|执笔)\s*[:：/丨|｜]|(?:^|\s)(?:作者|编辑|记者)\s"
)
_TITLE_TAIL = re.compile(r"\s*[-_|｜—–]+\s*[^-_|｜—–]{1,30}$")


def _ld_objects(root: etree._Element) -> Iterator[dict[str, object]]:
    for script in root.iter("script"):
        if "ld+json" not in (script.get("type") or "").lower():
            continue
        try:
            data = json.loads(script.text or "")
        except ValueError:
            continue
        stack = data if isinstance(data, list) else [data]
        while stack:
            item = stack.pop(0)
            if not isinstance(item, dict):
                continue
            graph = item.get("@graph")
            if isinstance(graph, list):
                stack.extend(graph)
            yield item


def ld_article(root: etree._Element) -> dict[str, object] | None:
    """The first JSON-LD object typed as a (news) article, or None."""
    for item in _ld_objects(root):
        kind = item.get("@type")
        kinds = kind if isinstance(kind, list) else [kind]
        if any(k in _ARTICLE_TYPES for k in kinds if isinstance(k, str)):
            return item
    return None


def ld_authors(article: dict[str, object]) -> list[str]:
    """Person names in a JSON-LD article's ``author`` (organisations are not reporters)."""
    author = article.get("author")
    items = author if isinstance(author, list) else [author]
    names = []
    for item in items:
        if (
            isinstance(item, dict)
            and item.get("@type") in (None, "Person")
            and isinstance(item.get("name"), str)
        ):
            names.append(md.norm_line(str(item["name"])))
        elif isinstance(item, str):
            names.append(md.norm_line(item))
    # A portal's account ("新华社") is often typed Person: keep what reads as a person's name.
    return [n for n in names if n and (md.names_in(n) == ([n], True) or (" " in n and n.isascii()))]


def _squeeze(text: str) -> str:
    return "".join(text.split())


def body_from_text(root: etree._Element, body: str) -> etree._Element | None:
    """The smallest element holding both the first and the last words of ``body`` (a JSON-LD
    ``articleBody``), found from the text node holding its opening words; None if absent."""
    flat = _squeeze(body)
    if len(flat) < 30:
        return None
    head, tail = flat[:12], flat[-12:]
    # A text node holds the opening words unless an inline tag splits them: try a few offsets.
    for start in (0, 12, 24):
        needle = flat[start : start + 8]
        for node in _TEXTS(root, needle=needle):
            parent = node.getparent()
            if parent is None:
                continue
            for el in (parent, *parent.iterancestors()):
                if el.tag in ("html", "head", "script"):
                    break
                text = _squeeze(text_of(el))
                if head in text and tail in text:
                    return el
    return None


_EMBEDDED = re.compile(r"window\.DATA\s*=\s*\{")
_TAGS = re.compile(r"<[^>]+>")


def _longest_html(data: object) -> str | None:
    """The longest string in `data` (a JSON document) that holds paragraph markup."""
    best: str | None = None
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, str) and "<p" in item and (best is None or len(item) > len(best)):
            best = item
    return best


def embedded_body(root: etree._Element) -> str | None:
    """The article text a page embeds as script data: Tencent's ``window.DATA = {…}`` with the
    body HTML in ``originContent.text`` (what RSSHub reads); a Next.js page's ``__NEXT_DATA__``
    (上海证券报's article pages carry the body HTML in ``props.pageProps.data.textInfo.content``;
    other Next.js portals name it otherwise, so the longest HTML string of its ``props`` is
    taken). None when there is none."""
    for script in root.iter("script"):
        text = script.text or ""
        if script.get("id") == "__NEXT_DATA__":
            try:
                data = json.loads(text)
            except ValueError:
                continue
            html = _longest_html(data.get("props") if isinstance(data, dict) else None)
            if html is not None and html.strip():
                return _TAGS.sub("\n", html)
            continue
        m = _EMBEDDED.search(text) if "window.DATA" in text else None
        if m is None:
            continue
        try:
            data, _ = json.JSONDecoder().raw_decode(text, m.end() - 1)
        except ValueError:
            continue
        origin = data.get("originContent") if isinstance(data, dict) else None
        html = origin.get("text") if isinstance(origin, dict) else None
        if isinstance(html, str) and html.strip():
            return _TAGS.sub("\n", html)
    return None


def page_title(root: etree._Element) -> str | None:
    """The headline: ``og:title``, else the page's only ``<h1>``, else ``<title>`` without the
    site name after its last separator."""
    for value in root.xpath("//meta[@property='og:title']/@content"):
        value = md.norm_line(str(value))
        if value:
            return value
    h1 = root.xpath("//body//h1")
    if len(h1) == 1:
        value = md.norm_line(text_of(h1[0]))
        if value:
            return value
    for title in root.iter("title"):
        value = md.norm_line(text_of(title))
        if value:
            return _TITLE_TAIL.sub("", value) or value
    return None


def _label(el: etree._Element) -> str:
    return f"{el.get('class', '')} {el.get('id', '')}"


def _inside_widget(el: etree._Element, stop: etree._Element) -> bool:
    for a in (el, *el.iterancestors()):
        if a is stop:
            return False
        if a.tag in ("a", "nav", "footer", "option") or _NOT_CREDIT.search(_label(a)):
            return True
    return False


_LABELLED_TEXT = etree.XPath(
    ".//text()[contains(., '来源') or contains(., '编辑') or contains(., '作者') or contains(., '记者')"
    " or contains(., '责编') or contains(., '执笔') or contains(., '稿源')]"
)


def _line_element(node: etree._ElementUnicodeResult) -> etree._Element | None:
    owner = node.getparent()
    if owner is None:
        return None
    return owner.getparent() if node.is_tail else owner


def spaced_text(el: etree._Element) -> str:
    """``el``'s text with a space at every element boundary: ``来源：<a>X</a>北京`` reads
    ``来源： X 北京``, not ``来源：X北京``."""
    return md.norm_line(" ".join(t.strip() for t in el.itertext() if t.strip()))


_ENDS_WITH_LABEL = re.compile(r"[:：/丨|｜]\s*$")


def credit_lines(container: etree._Element, levels: int = 4) -> list[str]:
    """Short credit lines (来源/编辑/作者…) outside ``container`` but near it, nearest first:
    text nodes naming a credit in its ancestors' subtrees up to ``levels`` up (one XPath scan
    from the farthest of them), each widened to the largest enclosing element that is still one
    short line (``来源：`` in a span and the outlet in the link after it)."""
    chain: list[etree._Element] = []
    node = container
    for _ in range(levels):
        parent = node.getparent()
        if parent is None or parent.tag == "html":
            break
        chain.append(parent)
        node = parent
    if not chain:
        return []
    level_of = {el: i for i, el in enumerate(chain)}
    found: list[tuple[int, int, str]] = []  # (level, document order, line)
    seen: set[etree._Element] = set()
    for order, text_node in enumerate(_LABELLED_TEXT(chain[-1])):
        el = _line_element(text_node)
        if el is None or el.tag in ("script", "style", "title", "option", "textarea"):
            continue
        # Where the line joins the body's ancestry: inside the body, or at which level.
        level = None
        for a in (el, *el.iterancestors()):
            if a is container:
                break
            if a in level_of:
                level = level_of[a]
                break
        if level is None:
            continue
        top = chain[level]
        line = spaced_text(el)
        # Widen while the line is a bare label: "来源：" in a span, the outlet after it.
        while _ENDS_WITH_LABEL.search(line):
            up = el.getparent()
            if up is None or up is top:
                break
            wider = spaced_text(up)
            if len(wider) > 80:
                break
            el, line = up, wider
        if el in seen or not line or len(line) > 80 or not _CREDIT_LINE.search(line):
            continue
        seen.add(el)
        if _inside_widget(el, top):
            continue
        found.append((level, order, line))
    return [line for _, _, line in sorted(found)]
