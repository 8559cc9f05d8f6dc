"""Tree cleaning (profile rules, URLs, images, paragraphs) and the final nh3 allow-list.

The lxml tree is edited in a few linear passes: profile XPaths (one libxml2 call each),
one walk over all elements for URLs/images/renames, one bottom-up walk to turn
"div soup" into paragraphs, and one walk over the paragraph-level blocks that drops
boilerplate lines and collects the text. nh3 then re-parses the serialised result with an
allow-list, so whatever the tree passes miss, no script, handler or foreign URL survives.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import urljoin, urlsplit

import nh3
from lxml import etree

from newsdesk.clean import metadata as md
from newsdesk.clean.guard import text_of
from newsdesk.clean.profiles import Profile
from newsdesk.clean.selectors import Matcher

ALLOWED_TAGS = frozenset(
    {
        "p",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "ul",
        "ol",
        "li",
        "table",
        "caption",
        "thead",
        "tbody",
        "tfoot",
        "tr",
        "th",
        "td",
        "blockquote",
        "strong",
        "b",
        "em",
        "i",
        "br",
        "a",
        "img",
        "figure",
        "figcaption",
    }
)
# Removed with their content; everything else not allowed is unwrapped (content kept).
CONTENT_DROP = frozenset(
    {
        "script",
        "style",
        "noscript",
        "iframe",
        "frame",
        "frameset",
        "form",
        "template",
        "textarea",
        "select",
        "option",
        "button",
        "input",
        "object",
        "embed",
        "applet",
        "svg",
        "math",
        "canvas",
        "video",
        "audio",
        "source",
        "track",
        "map",
        "link",
        "meta",
        "title",
        "head",
        "base",
        "dialog",
        "menu",
        "nav",
    }
)
_CLEANER = nh3.Cleaner(
    tags=set(ALLOWED_TAGS),
    clean_content_tags=set(CONTENT_DROP),
    attributes={
        "a": {"href"},
        "img": {"src", "alt"},
        "td": {"colspan", "rowspan"},
        "th": {"colspan", "rowspan"},
    },
    url_schemes={"http", "https"},
    url_relative="deny",
    link_rel="noopener noreferrer",
    set_tag_attribute_values={"img": {"referrerpolicy": "no-referrer"}},
    strip_comments=True,
)

INLINE = frozenset(
    {
        "a",
        "abbr",
        "acronym",
        "b",
        "bdi",
        "bdo",
        "big",
        "cite",
        "code",
        "del",
        "dfn",
        "em",
        "font",
        "i",
        "img",
        "ins",
        "kbd",
        "label",
        "mark",
        "nobr",
        "q",
        "s",
        "samp",
        "small",
        "span",
        "strike",
        "strong",
        "sub",
        "sup",
        "time",
        "tt",
        "u",
        "var",
        "wbr",
    }
)
# Elements whose loose inline content is wrapped into <p>; the first group always, the
# second only when it also holds blocks (a plain <td>/<li> keeps its text as is).
_DIVLIKE = frozenset(
    {"div", "section", "article", "main", "center", "header", "footer", "body", "hgroup", "address"}
)
_MIXED = frozenset({"td", "th", "li", "blockquote", "dd", "figure"})
# Text-bearing blocks; one of them with no block inside is a line of the article's text.
LEAVES = frozenset(
    {"p", "h2", "h3", "h4", "h5", "h6", "li", "tr", "caption", "figcaption", "blockquote", "pre", "dt", "dd"}
)
_BLOCKS = LEAVES | _DIVLIKE | {"h1", "ul", "ol", "dl", "table", "thead", "tbody", "tfoot", "figure"}
_PRUNABLE = (
    frozenset({"ul", "ol", "dl", "table", "thead", "tbody", "tfoot", "tr", "figure", "blockquote", "caption"})
    | _DIVLIKE
)

_LAZY_ATTRS = (
    "data-src",
    "data-original",
    "data-lazy-src",
    "data-actualsrc",
    "data-echo",
    "data-url",
    "original",
)
_PLACEHOLDER = re.compile(
    r"(?i)(^data:|^about:|^javascript:|(lazy|loading|placeholder|blank|grey|gray|default|spacer|pixel)[^/]*\.(gif|png|svg|jpe?g)$)"
)
_ORIGINAL_TITLE = re.compile(r"^(原标题|原题)[:：]")
_META_LINE = re.compile(
    r"^[（(【\[]?\s*(?:本文)?(?:来源|责任编辑|责编|值班编辑|本文编辑|文字编辑|编辑|校对|审核|监制|主编|图表|制图)\s*[:：]"
)
_TITLE_NOISE = re.compile(rf"[{md.WS}\s\"'“”‘’《》「」:：,，.。!！?？]")


def _has_text(s: str | None) -> bool:
    return bool(s) and not s.isspace() and bool(s.strip(md.WS))  # type: ignore[union-attr]


def _has(el: etree._Element, *tags: str) -> bool:
    """Whether a descendant of ``el`` has one of ``tags`` (C-level iteration, unlike find())."""
    return next(el.iterdescendants(*tags), None) is not None


def _holds_block(el: etree._Element) -> bool:
    # A plain walk: a tag-filtered iterdescendants() would build a 30-name matcher per call.
    return any(d.tag in _BLOCKS for d in el.iterdescendants())


def drop_keep_tail(el: etree._Element) -> None:
    """Remove ``el`` and its content; the text after it (its tail) stays in the document."""
    parent = el.getparent()
    if parent is None:
        return
    tail = el.tail
    if tail:
        prev = el.getprevious()
        if prev is not None:
            prev.tail = (prev.tail or "") + tail
        else:
            parent.text = (parent.text or "") + tail
    parent.remove(el)


def unwrap(el: etree._Element) -> None:
    """Replace ``el`` by its content (lxml.html's ``drop_tag``, for any element class)."""
    parent = el.getparent()
    if parent is None:
        return
    previous = el.getprevious()
    if el.text:
        if previous is None:
            parent.text = (parent.text or "") + el.text
        else:
            previous.tail = (previous.tail or "") + el.text
    if el.tail:
        if len(el):
            last = el[-1]
            last.tail = (last.tail or "") + el.tail
        elif previous is None:
            parent.text = (parent.text or "") + el.tail
        else:
            previous.tail = (previous.tail or "") + el.tail
    index = parent.index(el)
    parent[index : index + 1] = list(el)


def drop_between_comments(container: etree._Element, pairs: tuple[tuple[str, str], ...]) -> None:
    """Remove what lies between a start comment and its end comment under the same parent
    (Sina's ``<!-- 总声明-->…<!-- 总声明-->``)."""
    if not pairs:
        return
    comments = [c for c in container.iter(etree.Comment) if c.getparent() is not None]
    texts = {(c.text or "").strip() for c in comments}
    for start, end in pairs:
        if start not in texts:
            continue
        for c in comments:
            if (c.text or "").strip() != start or c.getparent() is None:
                continue
            doomed = []
            sib = c.getnext()
            while sib is not None and not (sib.tag is etree.Comment and (sib.text or "").strip() == end):
                doomed.append(sib)
                sib = sib.getnext()
            if sib is None:
                continue  # no end marker under this parent: leave everything in place
            c.tail = None  # text between the markers is part of the block too
            for el in doomed:
                el.tail = None
                el.getparent().remove(el)


def apply_profile(container: etree._Element, prof: Profile, raw: str = "") -> None:
    """Profile rules on the tree: drop selectors, unwrap selectors, image wrappers → <figure>.

    ``raw`` (the HTML string) lets comment-pair rules whose marker is absent be skipped."""
    pairs = prof.drop_between
    if raw:
        pairs = tuple(pair for pair in pairs if pair[0] in raw)
    drop_between_comments(container, pairs)
    if prof.drop is not None:
        ancestors = {container, *container.iterancestors()}
        for el in prof.drop(container):
            if el not in ancestors:
                drop_keep_tail(el)
    if prof.unwrap is not None:
        for el in prof.unwrap(container):
            if el is not container:
                unwrap(el)
    if prof.any_figure is None:
        return
    wrappers = [w for w in prof.any_figure(container) if w is not container]
    marked = {id(w) for w in wrappers}
    for w in wrappers:
        if any(id(d) in marked for d in w.iterdescendants()):
            continue  # innermost wrapper only: Sina nests img_wrapper twice
        for wrapper_m, caption_m in prof.figures:
            if wrapper_m.hit(w):
                _to_figure(w, caption_m)
                break


def _to_figure(wrapper: etree._Element, caption_xp: Matcher) -> None:
    imgs = list(wrapper.iter("img"))
    if not imgs:
        return
    captions = [c for c in wrapper.iterdescendants() if caption_xp.hit(c)]
    caption = " ".join(filter(None, (md.norm_line(text_of(c)) for c in captions)))
    fig = etree.Element("figure")
    for img in imgs:
        img.tail = None
        fig.append(img)
    if caption:
        etree.SubElement(fig, "figcaption").text = caption
    fig.tail = wrapper.tail
    parent = wrapper.getparent()
    if parent is not None:
        parent.replace(wrapper, fig)


def _absolute(url: str | None, base: str | None) -> str | None:
    """An absolute http(s) URL for ``url`` (relative resolved against ``base``), else None."""
    if not url:
        return None
    url = url.strip(md.WS + " ")
    if not url or url.startswith(("#", "data:", "javascript:", "mailto:", "about:", "blob:")):
        return None
    if url.startswith("//"):
        url = (urlsplit(base).scheme if base else "https") + ":" + url
    elif base and not url.startswith(("http://", "https://")):
        try:
            url = urljoin(base, url)
        except ValueError:
            return None
    return url if url.startswith(("http://", "https://")) and len(url) < 4000 else None


def _image_src(img: etree._Element, base: str | None) -> str | None:
    src = img.get("src")
    if not src or _PLACEHOLDER.search(src.strip()):
        for attr in _LAZY_ATTRS:
            lazy = img.get(attr)
            if lazy and not lazy.startswith("data:"):
                src = lazy
                break
    return _absolute(src, base)


def _tiny(img: etree._Element) -> bool:
    # Tracking pixels (1x1) and icons (both sides under ~50 px) by their declared size.
    def size(attr: str) -> int | None:
        v = img.get(attr, "").strip().rstrip("px")
        return int(v) if v.isdigit() else None

    w, h = size("width"), size("height")
    return (
        (w is not None and w <= 2)
        or (h is not None and h <= 2)
        or (w is not None and h is not None and w <= 50 and h <= 50)
    )


def normalise(container: etree._Element, base: str | None, image_block: re.Pattern[str] | None) -> None:
    """One walk: drop script-like elements and comments, absolutise links and images,
    drop non-content images, h1 → h2, unwrap layout tables."""
    layout_tables = []
    # Only the elements this pass acts on: lxml filters by tag in C, so the paragraphs and
    # inline runs that make up most of a body never reach Python.
    for el in list(
        container.iter(etree.Comment, etree.ProcessingInstruction, *CONTENT_DROP, "a", "img", "h1", "table")
    ):
        tag = el.tag
        if not isinstance(tag, str) or tag in CONTENT_DROP:  # comment or processing instruction
            drop_keep_tail(el)
        elif tag == "a":
            href = _absolute(el.get("href"), base)
            if href is None:
                unwrap(el)
            else:
                el.attrib.clear()
                el.set("href", href)
        elif tag == "img":
            src = _image_src(el, base)
            if src is None or _tiny(el) or (image_block is not None and image_block.search(src.lower())):
                drop_keep_tail(el)
            else:
                alt = el.get("alt", "").strip()
                el.attrib.clear()
                el.set("src", src)
                if alt:
                    el.set("alt", alt)
        elif tag == "h1":
            el.tag = "h2"
        elif tag == "table" and _is_layout_table(el):
            layout_tables.append(el)
    # A table whose cells hold paragraphs is page layout, not data: keep only its content.
    for table in reversed(layout_tables):
        for el in [e for e in table.iter("tr", "td", "th", "tbody", "thead", "tfoot")]:
            if el.tag in ("td", "th"):
                el.tag = "div"
            else:
                unwrap(el)
        table.tag = "div"


def _is_layout_table(table: etree._Element) -> bool:
    # Data tables hold short cells; page layout nests tables, divs or long prose in cells.
    if _has(table, "table", "div"):
        return True
    return any(len(text_of(cell)) > 200 for cell in table.iter("td", "th"))


def _new_p(text: str | None) -> etree._Element:
    p = etree.Element("p")
    p.text = text
    return p


def _p_has_content(p: etree._Element) -> bool:
    return _has_text(p.text) or len(p) > 0


def paragraphise(container: etree._Element) -> None:
    """Wrap loose text and inline runs of div-like elements in <p>, splitting at <br> and at
    block children, so that block structure survives nh3 unwrapping the divs."""
    for el in reversed(list(container.iter(*_DIVLIKE, *_MIXED))):
        children = list(el)
        if el.tag in _MIXED and not any(c.tag in _BLOCKS for c in children):
            continue
        if not (
            _has_text(el.text) or any(c.tag in INLINE or c.tag == "br" or _has_text(c.tail) for c in children)
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
    if not _has(el, "br"):
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
    if text and _has_text(text) and (len(el) == 0 or _has_text(el[-1].tail)):
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
        if _holds_block(el) or el.getparent() is None:
            continue  # not a leaf: the blocks inside it are visited on their own
        text = _block_text(el)
        if not text:
            if not _has(el, "img"):
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
    for el in reversed(list(container.iter(*_PRUNABLE))):
        if el is container or el.getparent() is None:
            continue
        if (len(el) == 0 and not _has_text(el.text)) or (not _has(el, "img") and not _has_text(text_of(el))):
            drop_keep_tail(el)


def _mostly_link(el: etree._Element, text: str) -> bool:
    if not _has(el, "a"):
        return False
    linked = sum(len(md.norm_line(text_of(a))) for a in el.iter("a"))
    return linked >= 0.9 * len(text)


def block_filter(prof: Profile, found: md.Found, title: str | None) -> LineHook:
    """The per-block rule set: boilerplate lines go; metadata lines feed ``found`` and go."""
    title_key = _TITLE_NOISE.sub("", title) if title else None

    def on_line(el: etree._Element, text: str, index: int) -> str | None:
        if prof.drop_text is not None and prof.drop_text.search(text):
            return None
        if len(text) <= 80 and _mostly_link(el, text):
            return None  # a paragraph that is only a link: related-article lists
        if index == 0 and title_key and _TITLE_NOISE.sub("", text) == title_key:
            return None  # the body repeating the headline
        if len(text) <= 80 and _META_LINE.match(text):
            found.offer_source(md.parse_source(text), 10)
            found.offer_editor(md.parse_editor(text), 10)
            return None
        if len(text) <= 60:
            names = md.byline_only(text)
            if names:
                found.add_reporters(names)
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


def serialise(container: etree._Element) -> str:
    """The container's content (not the container itself) through the nh3 allow-list."""
    markup = etree.tostring(container, encoding="unicode", method="html", with_tail=False)
    # Cut the container's own tags off in the string: one tostring instead of one per child.
    inner = (
        markup[markup.index(">") + 1 : markup.rindex("<")] if markup.endswith(">") and "</" in markup else ""
    )
    return tidy(_CLEANER.clean(inner))


_BLANK_LINES = re.compile(r"\n\s*\n+")
_GAP = re.compile(r">\s+<")
_BLOCK_END = re.compile(
    r"(</(?:p|h[2-6]|ul|ol|li|table|caption|thead|tbody|tfoot|tr|blockquote|figure)>)(?=<)"
)


def tidy(fragment: str) -> str:
    """One block per line; collapse the whitespace left behind by removed boilerplate."""
    fragment = _BLOCK_END.sub("\\1\n", _GAP.sub(">\n<", fragment))
    return _BLANK_LINES.sub("\n", fragment).strip()
