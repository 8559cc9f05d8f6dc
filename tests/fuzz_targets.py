"""Fuzzing strategies and checks shared by tests/test_fuzz.py (a short run) and bench/fuzz.py
(minutes): hostile HTML, feeds and front-matter values, and what must hold of each output.

The checks read the output with parsers of their own (the standard library's HTML tokenizer,
lxml's tree, PyYAML), never with the code under test, and compare with the sanitiser's
allow-lists."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime
from html.parser import HTMLParser

import yaml
from hypothesis import strategies as st
from lxml import etree

from newsdesk.clean import Article, clean_article, fallback_article
from newsdesk.clean.tree import ALLOWED_TAGS
from newsdesk.errors import CleanError, ParseError
from newsdesk.models import ParsedFeed, StoredEntry
from newsdesk.parse import parse_feed
from newsdesk.publish.frontmatter import Quoted, emit_front_matter
from newsdesk.publish.hexo_format import render_post

URL = "https://news.example.cn/2024/a.html"
# What the sanitiser lets through (newsdesk.clean.sanitise._CLEANER): attributes per tag.
ALLOWED_ATTRS = {
    "a": {"href", "rel"},
    "img": {"src", "alt", "referrerpolicy"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan"},
}
_URL_ATTRS = ("href", "src")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

# --- strategies ----------------------------------------------------------------------------

CHINESE = st.text(alphabet=st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF), min_size=1, max_size=40)
PUNCT = st.sampled_from(["，", "。", "！", "？", "：", "“", "”", "　", "\u3000\u3000", " ", "\n", "\t"])
ENTITIES = st.sampled_from(
    [
        "&amp;",
        "&lt;",
        "&gt;",
        "&quot;",
        "&#39;",
        "&nbsp;",
        "&#x3C;",
        "&#60;",
        "&#0;",
        "&#1;",
        "&#xD800;",
        "&#x110000;",
        "&#99999999999;",
        "&lt",
        "&amp",
        "&#x6A;",
        "&#106;",
        "&unknown;",
        "&",
        "&#",
        "&#x",
    ]
)
CONTROLS = st.sampled_from(
    ["\x00", "\x01", "\x08", "\x0b", "\x0c", "\x1b", "\x7f", "\ufffd", "\ufeff", "\u2028"]
)
METADATA_LINES = st.sampled_from(
    [
        "来源：新华社",
        "责任编辑：张三 SF001",
        "（记者 李四）",
        "原标题：标题 来源：人民网",
        "新浪财经讯 12月20日电",
    ]
)
TEXT = st.one_of(CHINESE, PUNCT, ENTITIES, CONTROLS, METADATA_LINES, st.text(max_size=20))

TAGS = [
    *sorted(ALLOWED_TAGS),
    *("div", "span", "font", "section", "article", "center", "h1", "pre", "code", "dl", "dt", "dd"),
    *("script", "style", "noscript", "iframe", "object", "embed", "svg", "math", "template", "textarea"),
    *("xmp", "plaintext", "noembed", "noframes", "title", "head", "body", "html", "meta", "base", "link"),
    *("form", "button", "input", "select", "option", "video", "audio", "source", "mglyph", "mtext"),
    *("foreignObject", "use", "desc", "image", "frameset", "frame", "marquee", "x:script", "a:b", "my-tag"),
]
ATTRS = st.sampled_from(
    [
        'href="javascript:alert(1)"',
        'href="jav&#x09;ascript:alert(1)"',
        'href="&#106;avascript:alert(1)"',
        "href=' javascript:alert(1)'",
        'href="JaVaScRiPt:alert(1)"',
        'href="vbscript:x"',
        'href="data:text/html,<script>alert(1)</script>"',
        'href="//evil.example/x"',
        'href="/relative/page.html"',
        'href="https://ok.example.cn/a?b=1&c=2"',
        'src="x" onerror="alert(1)"',
        'src="https://img.example.cn/a.jpg"',
        'src="data:image/png;base64,AAAA"',
        'data-src="https://img.example.cn/lazy.jpg"',
        'onload="alert(1)"',
        "onclick=alert(1)",
        'style="background:url(javascript:alert(1))"',
        'style="width:expression(alert(1))"',
        'srcdoc="<script>alert(1)</script>"',
        'formaction="javascript:alert(1)"',
        'xlink:href="javascript:alert(1)"',
        'http-equiv="refresh" content="0;url=javascript:alert(1)"',
        'class="img_wrapper"',
        'id="artibody"',
        'colspan="2"',
        'title="</noscript><img src=x onerror=alert(1)>"',
        'alt="<script>alert(1)</script>"',
        '"quoted"=x',
        "a<b=c",
        "x=",
    ]
)
XSS = st.sampled_from(
    [
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        "<svg onload=alert(1)>",
        "<svg><script>alert(1)</script></svg>",
        "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
        '<noscript><p title="</noscript><img src=x onerror=alert(1)>">',
        '<iframe srcdoc="&lt;script&gt;alert(1)&lt;/script&gt;">',
        "<form><button formaction=javascript:alert(1)>x</button></form>",
        '<a href="javascript&colon;alert(1)">x</a>',
        "<base href=javascript:alert(1)//>",
        '<meta http-equiv="refresh" content="0;url=https://evil.example/">',
        '<svg><use href="data:image/svg+xml,&lt;svg onload=alert(1)&gt;"/></svg>',
        "<!--<img src=x onerror=alert(1)>-->",
        "<![CDATA[<script>alert(1)</script>]]>",
        "<?xml-stylesheet href=javascript:alert(1)?>",
        "<template><script>alert(1)</script></template>",
        "<object data=javascript:alert(1)>",
        "<embed src=javascript:alert(1)>",
        "<xmp><script>alert(1)</script></xmp>",
        "<plaintext><script>alert(1)</script>",
        "<style>@import 'javascript:alert(1)';</style>",
        "<div style=\"background-image:url('javascript:alert(1)')\">x</div>",
        "<a href='https://ok.example.cn/'>ok</a>",
        "<head><title>t</title></head>",
        "<body onload=alert(1)>",
        "<html><body><div id='artibody'><p>正文。</p></div></body></html>",
        "</p></div></body></html>",
        "<p>段落，<b>未闭合<i>交叉</b>嵌套</i>",
        "<table><tr><td>格<td>格2<tr><td colspan=2>合</table>",
    ]
)


@st.composite
def _element(draw: st.DrawFn, children: st.SearchStrategy[str]) -> str:
    tag = draw(st.sampled_from(TAGS))
    attrs = draw(st.lists(ATTRS, max_size=3))
    inner = "".join(draw(st.lists(children, max_size=4)))
    start = f"<{tag}{''.join(' ' + a for a in attrs)}>"
    ending = draw(st.sampled_from([f"</{tag}>", f"</{tag}>", "", f"</{tag.upper()}>", "</p>", "/>"]))
    return start + inner + ending


FRAGMENT = st.recursive(st.one_of(TEXT, XSS), lambda children: _element(children), max_leaves=30)


@st.composite
def _nested(draw: st.DrawFn) -> str:
    tag = draw(
        st.sampled_from(["div", "b", "span", "li><ul", "table><tr><td", "svg", "p><div", "blockquote"])
    )
    depth = draw(st.integers(min_value=1, max_value=1500))
    return f"<{tag}>" * depth + draw(CHINESE)


HTML = st.one_of(
    st.lists(st.one_of(FRAGMENT, XSS, _nested()), max_size=8).map("".join),
    st.text(alphabet=st.sampled_from(list("<>/=\"' \n&;#!-?[]abpdivlmgscrthx中文字1\x00")), max_size=300),
)
ITEM_HTML = st.one_of(
    HTML, st.builds(lambda a, b: f"<html><head>{a}</head><body>{b}</body></html>", HTML, HTML)
)

# --- cleaning ------------------------------------------------------------------------------


class _Markup(HTMLParser):
    """Every tag, attribute and comment of a fragment, as a browser-like tokenizer sees them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in ALLOWED_TAGS:
            self.problems.append(f"tag <{tag}>")
        allowed = ALLOWED_ATTRS.get(tag, set())
        for name, value in attrs:
            if name not in allowed:
                self.problems.append(f"attribute {name} on <{tag}>")
            elif name in _URL_ATTRS and not _http_url(value or ""):
                self.problems.append(f"URL {value!r} in <{tag} {name}>")

    handle_startendtag = handle_starttag

    def handle_endtag(self, tag: str) -> None:
        if tag not in ALLOWED_TAGS:
            self.problems.append(f"end tag </{tag}>")

    def handle_comment(self, data: str) -> None:
        self.problems.append(f"comment {data!r}")

    def handle_decl(self, decl: str) -> None:
        self.problems.append(f"declaration {decl!r}")

    def handle_pi(self, data: str) -> None:
        self.problems.append(f"processing instruction {data!r}")

    def unknown_decl(self, data: str) -> None:
        self.problems.append(f"declaration {data!r}")


def _http_url(value: str) -> bool:
    # Browsers strip leading/trailing C0 controls and spaces and drop tabs/newlines in URLs.
    seen = re.sub(r"[\t\n\r]", "", value.strip("\x00\x01\x02\x03\x04\x05\x06\x07\x08\x0b\x0c\x0e\x0f \t\n\r"))
    return seen.lower().startswith(("http://", "https://"))


def markup_problems(fragment: str) -> list[str]:
    """What in ``fragment`` the allow-lists forbid: tags, attributes, URL schemes, comments."""
    tokens = _Markup()
    tokens.feed(fragment)
    tokens.close()
    problems = tokens.problems
    if fragment.strip():
        root = etree.fromstring(f"<html><body>{fragment}</body></html>", etree.HTMLParser())
        for el in root.iter():
            if not isinstance(el.tag, str):
                problems.append("comment or PI in the tree")
                continue
            if el.tag in ("html", "body"):
                continue
            if el.tag not in ALLOWED_TAGS:
                problems.append(f"tree tag <{el.tag}>")
            for name, value in el.attrib.items():
                if name not in ALLOWED_ATTRS.get(el.tag, set()):
                    problems.append(f"tree attribute {name} on <{el.tag}>")
                elif name in _URL_ATTRS and not _http_url(html.unescape(value)):
                    problems.append(f"tree URL {value!r}")
    return problems


def check_article(art: Article) -> None:
    problems = markup_problems(art.html)
    assert not problems, problems
    for field in (art.text, art.summary, art.html):
        assert not _CONTROL.search(field), f"control character in {field[:80]!r}"
    for url in art.images:
        assert _http_url(url), url
    assert art.char_count >= 0 and (art.header_image is None or art.header_image == art.images[0])


def fuzz_clean(html_text: str) -> None:
    """clean_article raises only CleanError; its output and the fallback's hold the allow-lists."""
    try:
        art = clean_article(html_text, url=URL, title="标题")
    except CleanError:
        art = fallback_article(html_text, url=URL)
    check_article(art)


# --- feeds ---------------------------------------------------------------------------------

_XML_TEXT = st.one_of(TEXT, XSS, FRAGMENT).map(lambda s: s.replace("]]>", "]]&gt;"))
DATES = st.one_of(
    st.sampled_from(
        [
            "Mon, 20 Dec 2021 15:00:52 GMT",
            "2021-12-20T15:00:52+08:00",
            "2021-12-20 15:00",
            "昨天",
            "",
            "0",
            "Tue, 31 Feb 2021 25:61:61 +9999",
            "99999-01-01",
            "1970-01-01T00:00:00Z",
            "Sat, 01 Jan 0001 00:00",
        ]
    ),
    st.text(max_size=30),
)


def _cdata(s: str) -> str:
    return f"<![CDATA[{s}]]>"


def _esc(s: str) -> str:
    return html.escape(s, quote=False)


@st.composite
def _rss_item(draw: st.DrawFn) -> str:
    wrap = draw(st.sampled_from([_cdata, _esc, lambda s: s]))
    fields = [
        f"<title>{wrap(draw(_XML_TEXT))}</title>",
        f"<link>{_esc(draw(st.sampled_from([URL, '/rel.html', 'javascript:alert(1)', '', 'http://[::1'])))}</link>",
        f"<guid>{_esc(draw(st.text(max_size=20)))}</guid>",
        f"<pubDate>{_esc(draw(DATES))}</pubDate>",
        f"<description>{wrap(draw(_XML_TEXT))}</description>",
        f"<author>{_esc(draw(TEXT))}</author>",
    ]
    return "<item>" + "".join(draw(st.permutations(fields))[: draw(st.integers(0, len(fields)))]) + "</item>"


@st.composite
def _atom_entry(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(["html", "text", "xhtml"]))
    body = draw(_XML_TEXT)
    content = (
        f'<content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">{_esc(body)}</div></content>'
        if kind == "xhtml"
        else f'<content type="{kind}">{_esc(body)}</content>'
    )
    return (
        f"<entry><title>{_esc(draw(TEXT))}</title><id>{_esc(draw(st.text(max_size=20)))}</id>"
        f'<link href="{html.escape(draw(st.sampled_from([URL, "/x", "", "javascript:x"])))}"/>'
        f"<updated>{_esc(draw(DATES))}</updated>{content}</entry>"
    )


@st.composite
def _feed(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(["rss", "atom", "rdf", "json", "junk"]))
    head = draw(
        st.sampled_from(["", '<?xml version="1.0" encoding="UTF-8"?>', "\ufeff", "<?xml version='1.0'?>\n"])
    )
    if kind == "rss":
        items = "".join(draw(st.lists(_rss_item(), max_size=4)))
        doc = f'{head}<rss version="2.0"><channel><title>{_esc(draw(TEXT))}</title>{items}</channel></rss>'
    elif kind == "atom":
        entries = "".join(draw(st.lists(_atom_entry(), max_size=4)))
        doc = f'{head}<feed xmlns="http://www.w3.org/2005/Atom"><title>{_esc(draw(TEXT))}</title>{entries}</feed>'
    elif kind == "rdf":
        items = "".join(draw(st.lists(_rss_item(), max_size=3)))
        doc = (
            f'{head}<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"'
            f' xmlns="http://purl.org/rss/1.0/"><channel><title>t</title></channel>{items}</rdf:RDF>'
        )
    elif kind == "json":
        import json

        items = [
            {"id": draw(st.text(max_size=10)), "title": draw(TEXT), "content_html": draw(_XML_TEXT)}
            for _ in range(draw(st.integers(0, 3)))
        ]
        doc = json.dumps({"version": "https://jsonfeed.org/version/1.1", "title": "t", "items": items})
    else:
        doc = draw(st.one_of(HTML, st.text(max_size=200)))
    # Damage: cut it, or splice in something hostile.
    damage = draw(st.sampled_from(["none", "none", "cut", "splice", "doctype"]))
    if damage == "cut" and doc:
        doc = doc[: draw(st.integers(0, len(doc)))]
    elif damage == "splice" and doc:
        at = draw(st.integers(0, len(doc)))
        doc = doc[:at] + draw(st.one_of(XSS, CONTROLS, ENTITIES, st.just("<"), st.just("]]>"))) + doc[at:]
    elif damage == "doctype":
        doc = '<!DOCTYPE rss [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>' + doc
    return doc


FEED = _feed()


def fuzz_parse(doc: str) -> None:
    """parse_feed raises only ParseError; entries are well-typed; their HTML cleans safely."""
    try:
        feed = parse_feed(doc, base_url="https://feeds.example.cn/rss.xml")
    except ParseError:
        return
    assert isinstance(feed, ParsedFeed)
    for e in feed.entries:
        assert isinstance(e.id, str) and isinstance(e.title, str) and isinstance(e.content, str)
        for when in (e.published, e.updated):
            assert when is None or when.utcoffset() is not None, when
        fuzz_clean(e.content)


# --- front matter --------------------------------------------------------------------------

FM_TEXT = st.one_of(
    st.text(),
    TEXT,
    st.sampled_from(
        [
            "---",
            "--- x",
            "...",
            "yes",
            "No",
            "null",
            "~",
            "1e3",
            "0x1F",
            "2021-12-20",
            "- a",
            "? x",
            ": y",
            "#c",
            "'q'",
            '"dq"',
            "a: b",
            "{a}",
            "[1]",
            "!tag",
            "&anc",
            "*ref",
            "|",
            ">",
            "%dir",
            "@",
            "`",
            "\ufeffbom",
            "a\u2028b",
            "\x85",
            "{{ x }}",
            "{% raw %}",
            "\ud800",
            "  lead",
            "trail  ",
            "\t",
        ]
    ),
)


def fuzz_front_matter(title: str, names: list[str], author: str) -> None:
    """The emitted block reads back (YAML) to the very same values, two fences exactly."""
    block = emit_front_matter([("title", Quoted(title)), ("categories", names), ("author", author)])
    lines = block.split("\n")
    assert lines[0] == "---" and lines[-2:] == ["---", ""] and lines.count("---") == 2, block
    data = yaml.safe_load(block.strip().removeprefix("---").removesuffix("---"))
    assert data == {"title": title, "categories": names, "author": author}, block


def fuzz_post(title: str, group: str, author_site: str, body: str) -> None:
    """A whole Hexo post of a cleaned entry: front matter reads back; body holds the allow-lists."""
    now = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    try:
        art = clean_article(body, url=URL, title=title)
    except CleanError:
        art = fallback_article(body, url=URL)
    entry = StoredEntry(
        uid="0123456789abcdef", feed_key=f"{group}/{author_site}/f", group=group, site=author_site, feed="f",
        entry_id="1", title=title, link=URL, published=now, updated=None, author=None, content=body,
        summary="", first_seen=now, last_changed=now, content_hash="h", article=art,
    )  # fmt: skip
    post = render_post(entry)
    end = post.index("\n---\n", 4)
    data = yaml.safe_load(post[4:end])
    assert data["title"] == title and data["categories"] == [group, author_site, "f"], post[:end]
    assert data["author"] == author_site
    assert not markup_problems(post[end + 5 :].removesuffix("\n").replace("\n", ""))
