"""Tag classes and small lxml helpers shared by the cleaning passes.

Tag sets are written as space-separated words so the allow-list reads at a glance.
"""

from __future__ import annotations

from lxml import etree

from newsdesk.clean import metadata as md

# What survives nh3 (the allow-list, plus caption/tfoot to keep tables whole).
ALLOWED_TAGS = frozenset(
    [
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
        "sub",
        "sup",
        "br",
        "a",
        "img",
        "figure",
        "figcaption",
    ]
)
# Removed together with their content; anything else not allowed is unwrapped instead.
CONTENT_DROP = frozenset(
    [
        "script",
        "style",
        "noscript",
        "noembed",  # shown by no browser that has <embed>, nor <frame> for noframes
        "noframes",
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
    ]
)
INLINE = frozenset(
    [
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
    ]
)
# Inline wrappers nh3 would unwrap anyway (font/span soup): stripped early, in C.
UNWRAP_INLINE = tuple(sorted(INLINE - ALLOWED_TAGS))
# Elements whose loose inline content is wrapped into <p>; DIVLIKE always, MIXED only when
# it also holds blocks (a plain <td>/<li> keeps its text as is).
DIVLIKE = frozenset(
    ["div", "section", "article", "main", "center", "header", "footer", "body", "hgroup", "address"]
)
MIXED = frozenset(["td", "th", "li", "blockquote", "dd", "figure"])
# Text-bearing blocks; one of them with no block inside is a line of the article's text.
LEAVES = frozenset(
    ["p", "h2", "h3", "h4", "h5", "h6", "li", "tr", "caption", "figcaption", "blockquote", "pre", "dt", "dd"]
)
BLOCKS = LEAVES | DIVLIKE | frozenset(["h1", "ul", "ol", "dl", "table", "thead", "tbody", "tfoot", "figure"])
# Containers removed once nothing (no text, no image) is left in them.
PRUNABLE = DIVLIKE | frozenset(
    ["ul", "ol", "dl", "table", "thead", "tbody", "tfoot", "tr", "figure", "blockquote", "caption"]
)


def has_text(s: str | None) -> bool:
    """Whether ``s`` holds anything but whitespace (full-width spaces included)."""
    return bool(s) and not s.isspace() and bool(s.strip(md.WS))  # type: ignore[union-attr]


def has(el: etree._Element, *tags: str) -> bool:
    """Whether a descendant of ``el`` has one of ``tags`` (C-level iteration, unlike find())."""
    return next(el.iterdescendants(*tags), None) is not None


def holds_block(el: etree._Element) -> bool:
    # A plain walk: a tag-filtered iterdescendants() would build a 30-name matcher per call.
    return any(d.tag in BLOCKS for d in el.iterdescendants())


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
