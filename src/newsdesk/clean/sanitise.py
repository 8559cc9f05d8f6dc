"""Tree cleaning (profile rules, URLs, images) and the final nh3 allow-list.

The lxml tree is edited in a few linear passes: profile rules (one shared candidate walk,
rules checked per candidate), bulk C-level removal of comments and script-like elements,
one walk over links/images/headings/tables. Paragraph structure and text are
``blocks``' job. nh3 then re-parses the serialised result with the allow-list, so whatever
the tree passes miss, no script, handler or foreign URL survives.
"""

from __future__ import annotations

import re
from urllib.parse import urljoin, urlsplit

import nh3
from lxml import etree

from newsdesk.clean import metadata as md
from newsdesk.clean.guard import text_of
from newsdesk.clean.profiles import Profile
from newsdesk.clean.selectors import Matcher
from newsdesk.clean.tree import ALLOWED_TAGS, CONTENT_DROP, UNWRAP_INLINE, drop_keep_tail, has, unwrap

_ANGLES = str.maketrans({"<": "＜", ">": "＞"})


def _attribute_value(tag: str, attribute: str, value: str) -> str:
    """Image captions without markup: themes build HTML from ``alt`` (Hexo's default theme
    writes ``'<span class="caption">' + alt + '</span>'``), so a ``<`` there would become a tag.
    Full-width angle brackets read the same to a Chinese reader."""
    return value.translate(_ANGLES) if attribute == "alt" else value


_CLEANER = nh3.Cleaner(
    tags=set(ALLOWED_TAGS),
    clean_content_tags=set(CONTENT_DROP),
    attributes={
        "*": set(),  # nothing generic: ammonia would otherwise keep lang and title everywhere
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
    attribute_filter=_attribute_value,
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


def allow_list(html: str) -> str:
    """Only the allow-listed tags, attributes and http(s) URLs of ``html`` (no cleaning rules):
    also what the site shows for entries of `clean: false` feeds."""
    return _CLEANER.clean(html)


def drop_between_comments(container: etree._Element, pairs: tuple[tuple[str, str], ...]) -> None:
    """Remove what lies between a start comment and its end comment under the same parent
    (Sina's ``<!-- 总声明-->…<!-- 总声明-->``)."""
    if not pairs:
        return
    # Comment texts are read once: a Sina body carries some twenty marker comments.
    marks = [(c, (c.text or "").strip()) for c in container.iter(etree.Comment)]
    present = {text for _, text in marks}
    ends = {id(c): text for c, text in marks}
    for start, end in pairs:
        if start not in present or end not in present:
            continue
        for c, text in marks:
            if text != start or c.getparent() is None:
                continue
            doomed = []
            sib = c.getnext()
            while sib is not None and ends.get(id(sib)) != end:
                doomed.append(sib)
                sib = sib.getnext()
            if sib is None:
                continue  # no end marker under this parent: leave everything in place
            c.tail = None  # text between the markers is part of the block too
            for el in doomed:
                el.tail = None
                el.getparent().remove(el)


def apply_profile(
    container: etree._Element, prof: Profile, raw: str = "", candidates: list[etree._Element] | None = None
) -> None:
    """Profile rules on the tree: drop selectors, unwrap selectors, image wrappers → <figure>.

    ``raw`` (the HTML string) lets rules whose marker strings are absent be skipped;
    ``candidates`` is the result of ``prof.scan`` on ``container``, shared by all matchers."""
    pairs = prof.drop_between
    if raw:
        pairs = tuple(pair for pair in pairs if pair[0] in raw)
    drop_between_comments(container, pairs)
    if candidates is None and prof.scan is not None:
        candidates = prof.scan(container)
    live = [c for c in candidates or () if _under(c, container)]
    if prof.drop is not None:
        ancestors = {container, *container.iterancestors()}
        for el in prof.drop(container, live):
            if el not in ancestors:
                drop_keep_tail(el)
        live = [c for c in live if _under(c, container)]
    if prof.unwrap is not None and (not raw or prof.unwrap.could_match(raw)):
        for el in prof.unwrap(container, live):
            if el is not container:
                unwrap(el)
        live = [c for c in live if _under(c, container)]
    if prof.any_figure is None or (raw and not prof.any_figure.could_match(raw)):
        return
    wrappers = [w for w in prof.any_figure(container, live) if w is not container]
    marked = {id(w) for w in wrappers}
    for w in wrappers:
        if any(id(d) in marked for d in w.iterdescendants()):
            continue  # innermost wrapper only: Sina nests img_wrapper twice
        for wrapper_m, caption_m in prof.figures:
            if wrapper_m.hit(w):
                _to_figure(w, caption_m)
                break


def _under(el: etree._Element, container: etree._Element) -> bool:
    """Whether ``el`` is still inside ``container`` (earlier rules may have removed it)."""
    return any(a is container for a in el.iterancestors())


def _to_figure(wrapper: etree._Element, caption_xp: Matcher) -> None:
    imgs = list(wrapper.iterdescendants("img"))  # never the wrapper itself
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


def normalise(
    container: etree._Element, base: str | None, image_block: re.Pattern[str] | None, *, styled: bool = True
) -> None:
    """One walk: drop script-like elements and comments, absolutise links and images,
    drop non-content images, h1 → h2, xmp → p, unwrap layout tables."""
    # Bulk removals in C: comments and script-like elements (their tails stay), and the
    # inline wrappers nh3 would unwrap anyway (font/span soup), which shrinks the tree that
    # every later pass walks.
    etree.strip_elements(
        container, etree.Comment, etree.ProcessingInstruction, *CONTENT_DROP, with_tail=False
    )
    # Emphasis written as styles (<font cms-style="strong-Bold">, <span style="font-weight:
    # bold">) would vanish with the font/span soup below: make it <strong> first.
    # ``styled``: the caller saw "bold"/"strong"/"weight" in the HTML (else skip the walk).
    for el in _STYLED_BOLD(container) if styled else ():
        el.tag = "strong"
        el.attrib.clear()
    etree.strip_tags(container, *UNWRAP_INLINE)
    layout_tables = []
    # Only the elements this pass acts on: lxml filters by tag in C, so the paragraphs that
    # make up most of a body never reach Python.
    for el in list(container.iter("a", "img", "h1", "table", "xmp")):
        tag = el.tag
        if tag == "a":
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
        elif tag == "xmp":
            el.tag = "p"  # its text is the markup as written, which a browser shows literally
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
    header_rows(container)


_STYLED_BOLD = etree.XPath(
    "descendant::*[self::font or self::span]"
    "[contains(translate(@cms-style, 'BOLDSTRNG', 'boldstrng'), 'bold')"
    " or contains(translate(@cms-style, 'BOLDSTRNG', 'boldstrng'), 'strong')"
    " or contains(translate(translate(@style, ' ', ''), 'BOLD', 'bold'), 'font-weight:bold')"
    " or contains(translate(@style, ' ', ''), 'font-weight:700')"
    " or contains(translate(@style, ' ', ''), 'font-weight:600')]"
)
_HEADER_CELL = etree.XPath(
    "count(*[self::td or self::th]) > 0 and count(*[self::td or self::th]) = "
    "count(*[self::td or self::th][normalize-space(.) != '' and normalize-space(.) = "
    "normalize-space(string(*[self::strong or self::b][1]))])"
)


def header_rows(container: etree._Element) -> None:
    """A data table without <th> whose first row is all bold cells: that row is its header."""
    for table in container.iter("table"):
        if has(table, "th"):
            continue
        first = next(table.iter("tr"), None)
        if first is not None and _HEADER_CELL(first):
            for cell in first:
                if cell.tag == "td":
                    cell.tag = "th"


_LONG_CELL = etree.XPath("boolean(descendant::*[self::td or self::th][string-length(string(.)) > 200])")


def _is_layout_table(table: etree._Element) -> bool:
    # Data tables hold short cells; page layout nests tables, divs or long prose in cells.
    return has(table, "table", "div") or bool(_LONG_CELL(table))


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
