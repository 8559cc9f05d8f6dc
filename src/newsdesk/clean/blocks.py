"""Paragraph structure and text: div soup → <p>, one text line per block, line rules.

After the profile and URL passes, the body still nests text in divs, spans and ``<br>``
runs. ``paragraphise`` wraps loose text into ``<p>`` (so block boundaries survive nh3
unwrapping the divs); ``collect_lines`` then visits each text block once, applies the line
rules (boilerplate lines go; 来源/编辑/byline lines feed the metadata and go), trims
indentation and returns the article's text lines.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from lxml import etree

from newsdesk.clean import metadata as md
from newsdesk.clean.guard import text_of
from newsdesk.clean.profiles import Profile
from newsdesk.clean.tree import (
    BLOCKS,
    DIVLIKE,
    INLINE,
    LEAVES,
    MIXED,
    PRUNABLE,
    drop_keep_tail,
    has,
    has_text,
    holds_block,
)

_ORIGINAL_TITLE = re.compile(r"^(原标题|原题)[:：]")
_META_LINE = re.compile(
    r"^[（(【\[]?\s*(?:本文)?(?:来源|责任编辑|责编|值班编辑|本文编辑|文字编辑|编辑|校对|审核|监制|主编|图表|制图)\s*[:：/／丨]"
)
# A line that is a date (and time), maybe followed by the source/author/IP-location bar.
_DATE_BAR = re.compile(
    r"^(?:发布时间|发稿时间|时间|日期)?[:：]?\s*\d{4}\s*[-/年.]\s*\d{1,2}\s*[-/月.]\s*\d{1,2}\s*日?"
    r"(?:\s*\d{1,2}:\d{2}(?::\d{2})?)?(?:\s*(?:来源|作者|编辑|责任编辑|发布于|来自|字号|[|｜]).*)?$"
)
_TITLE_NOISE = re.compile(rf"[{md.WS}\s\"'“”‘’《》「」:：,，.。!！?？]")


def _new_p(text: str | None) -> etree._Element:
    p = etree.Element("p")
    p.text = text
    return p


def _p_has_content(p: etree._Element) -> bool:
    return has_text(p.text) or len(p) > 0


def paragraphise(container: etree._Element) -> None:
    """Wrap loose text and inline runs of div-like elements in <p>, splitting at <br> and at
    block children, so that block structure survives nh3 unwrapping the divs."""
    for el in reversed(list(container.iter(*DIVLIKE, *MIXED))):
        if len(el) == 0 and (el.tag in MIXED or not has_text(el.text)):
            continue  # a bare table cell or list item, or an empty div: nothing to wrap
        children = list(el)
        if el.tag in MIXED and not any(c.tag in BLOCKS for c in children):
            continue
        if not (
            has_text(el.text) or any(c.tag in INLINE or c.tag == "br" or has_text(c.tail) for c in children)
        ):
            continue
        out: list[etree._Element] = []
        p = _new_p(el.text)
        el.text = None
        for c in children:
            if c.tag in INLINE:
                p.append(c)  # moves c together with its tail
                continue
            if _p_has_content(p):
                out.append(p)
            tail, c.tail = c.tail, None
            el.remove(c)
            if c.tag != "br":
                out.append(c)
            p = _new_p(tail)
        if _p_has_content(p):
            out.append(p)
        for c in list(el):
            el.remove(c)
        el.extend(out)


def _block_text(el: etree._Element) -> str:
    if el.tag == "tr":
        # Cells are usually bare text: read .text rather than evaluate an XPath per cell.
        cells = [
            md.norm_line(c.text or "" if len(c) == 0 else text_of(c)) for c in el if c.tag in ("td", "th")
        ]
        return "\t".join(c for c in cells if c) if cells else md.norm_line(text_of(el))
    if not has(el, "br"):
        return md.norm_line(text_of(el))
    parts = [md.norm_line(t) for t in _text_split_at_br(el)]
    return "\n".join(p for p in parts if p)


_TEXT_OR_BR = etree.XPath("descendant::text() | descendant::br", smart_strings=False)


def _text_split_at_br(el: etree._Element) -> list[str]:
    out = [""]
    for node in _TEXT_OR_BR(el):
        if isinstance(node, str):
            out[-1] += node
        else:
            out.append("")
    return out


_TEXTS = etree.XPath("descendant::text()")


def _set_text(node: etree._ElementUnicodeResult, value: str) -> None:
    owner = node.getparent()
    if owner is None:
        return
    if node.is_tail:
        owner.tail = value
    else:
        owner.text = value


def _trim(el: etree._Element) -> None:
    """Strip indentation (U+3000, spaces) at the start and end of a block's text."""
    text = el.text
    if text and has_text(text) and (len(el) == 0 or has_text(el[-1].tail)):
        # The common case, <p>　　text…</p>: no need to look at the children.
        if len(el) == 0:
            el.text = text.strip(md.WS)
        else:
            el.text = text.lstrip(md.WS)
            last = el[-1]
            last.tail = last.tail.rstrip(md.WS)
        return
    texts = _TEXTS(el)
    for node in texts:
        stripped = node.lstrip(md.WS)
        if stripped != node:
            _set_text(node, stripped)
        if stripped:
            break
    for node in reversed(_TEXTS(el)):  # re-read: the first loop may have replaced a node
        stripped = node.rstrip(md.WS)
        if stripped != node:
            _set_text(node, stripped)
        if stripped:
            break


# (block, its text, index of the next line) → the text to keep (maybe edited), or None to drop.
LineHook = Callable[[etree._Element, str, int], "str | None"]


def collect_lines(container: etree._Element, on_line: LineHook) -> list[str]:
    """Walk text blocks in order; ``on_line(el, text, index)`` returns None to drop the block.
    Empty blocks (no text, no image) are dropped; kept blocks are trimmed. Returns the lines."""
    lines: list[str] = []
    for el in list(container.iter(*LEAVES)):
        # libxml2 closes a <p> at any block start tag, so only other leaves need the check.
        if (el.tag != "p" and holds_block(el)) or el.getparent() is None:
            continue  # not a leaf: the blocks inside it are visited on their own
        text = _block_text(el)
        if not text:
            if not has(el, "img"):
                drop_keep_tail(el)
            continue
        if el.tag == "tr":  # a table row is data: no boilerplate or byline rules apply
            lines.append(text)
            continue
        kept = on_line(el, text, len(lines))
        if kept is None:
            drop_keep_tail(el)
            continue
        _trim(el)
        lines.extend(kept.split("\n"))
    _prune_empty(container)
    return lines


def _prune_empty(container: etree._Element) -> None:
    for el in reversed(list(container.iter(*PRUNABLE))):
        if el is container or el.getparent() is None:
            continue
        if (len(el) == 0 and not has_text(el.text)) or (not has(el, "img") and not has_text(text_of(el))):
            drop_keep_tail(el)


def _mostly_link(el: etree._Element, text: str) -> bool:
    if not has(el, "a"):
        return False
    linked = sum(len(md.norm_line(text_of(a))) for a in el.iter("a"))
    return linked >= 0.9 * len(text)


# A credit label alone on its line, its value on the next (作者 / 王之言 高孜然 / 编辑 / …).
_LABEL_ONLY = frozenset(
    ["作者", "文", "记者", "编辑", "责编", "责任编辑", "排版", "校对", "审核", "监制", "摄影"]
)
_OUTLET_RANK = 40  # the outlet of a byline: only when nothing names the source


def block_filter(prof: Profile, found: md.Found, title: str | None) -> LineHook:
    """The per-block rule set: boilerplate lines go; metadata lines feed ``found`` and go."""
    title_key = _TITLE_NOISE.sub("", title) if title else None
    pending: list[str] = []  # a label-only line waiting for its value

    def on_line(el: etree._Element, text: str, index: int) -> str | None:
        label = pending.pop() if pending else None
        if prof.drop_text is not None and prof.drop_text.search(text):
            return None
        if len(text) <= 80 and _mostly_link(el, text):
            return None  # a paragraph that is only a link: related-article lists
        if index == 0 and title_key and _TITLE_NOISE.sub("", text) == title_key:
            return None  # the body repeating the headline
        if text in _LABEL_ONLY:
            pending.append(text)
            return None
        if label is not None and len(text) <= 30:
            people, whole = md.names_in(text)
            if people and whole:
                if label in ("作者", "文", "记者"):
                    found.add_reporters(people)
                elif label in ("编辑", "责编", "责任编辑"):
                    found.offer_editor((md.EDITOR_RANK[label], "、".join(people)), 10)
                return None
        # The page's date bar repeated above the text (2024-05-13 06:16 来源：X 作者：Y), or a
        # credit line.
        if len(text) <= 80 and (_DATE_BAR.match(text) or _META_LINE.match(text)):
            found.offer_source(md.parse_source(text), 10)
            found.offer_editor(md.parse_editor(text), 10)
            found.add_reporters(md.author_of(text))
            return None
        if len(text) <= 80 and "来源" in text:
            # A byline and the source in one line: 中青报·中青网记者 魏其濛 来源：中国青年报.
            head = re.split(r"\s*来源\s*[:：]", text, maxsplit=1)[0]
            names = md.byline_only(head) if head != text else None
            if names:
                found.add_reporters(names)
                found.offer_source(md.parse_source(text), 10)
                return None
        if len(text) <= 60:
            names = md.byline_only(text)
            if names:
                found.add_reporters(names)
                found.offer_source(md.byline_outlet(text), _OUTLET_RANK)
                found.offer_editor(md.byline_editor(text), 10)
                return None
        if _ORIGINAL_TITLE.match(text) and "来源" in text:
            source = md.parse_source(text)
            if source:
                found.offer_source(source, 20)
                kept = re.sub(r"\s*来源\s*[:：].*$", "", text)
                for child in list(el):
                    el.remove(child)
                el.text = kept
                return kept
        return text

    return on_line
