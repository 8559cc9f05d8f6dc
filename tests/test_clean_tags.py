"""Tags after which libxml2's HTML parser used to lose the rest of an article: the cleaner keeps
what a browser shows (HTML5 void elements, unclosed raw-text or dropped elements, <plaintext>)."""

from __future__ import annotations

import pytest

from newsdesk.clean import clean_article
from newsdesk.clean.guard import browser_like

URL = "https://news.example.cn/a.html"
REST = "<p>第二段，<b>粗体</b>。</p><p>第三段。</p>"
LINES = ["第一段。", "第二段，粗体。", "第三段。"]
TAGS = [
    "<embed src='x.swf'>",
    "<EMBED src=x.swf>",
    "<svg><circle r=1>",
    "<svg viewBox='0 0 1 1'><path d='M0'>",
    "<math><mi>x</mi>",
    "<object data='x.swf'>",
    "<object data='x.swf'><param name=a value=b>",
    "<iframe src='https://v.example.cn/'>",
    "<iframe/>",
    "<plaintext>",
    "<xmp>",
    "<noembed>",
    "<noframes>",
    "<noscript>",
    "<template>",
    "<textarea>",
    "<title>",
    "<style>",
    "<select><option value=1>",
    "<form action=/x>",
    "<video src=x.mp4>",
    "<wbr>",
    "<source src=x>",
]


@pytest.mark.parametrize("tag", TAGS)
def test_paragraphs_after_the_tag_are_kept(tag: str) -> None:
    art = clean_article(f"<p>第一段。</p>{tag}{REST}", url=URL)
    assert art.text.split("\n") == LINES
    assert "<p>第二段，<b>粗体</b>。</p>\n<p>第三段。</p>" in art.html
    assert "&amp;" not in art.html and "&lt;" not in art.html  # no literal (or doubly escaped) markup


@pytest.mark.parametrize("tag", TAGS)
def test_inside_a_div_too(tag: str) -> None:
    art = clean_article(f"<div><p>第一段。</p>{tag}{REST}</div><p>尾段。</p>", url=URL)
    assert art.text.split("\n") == [*LINES, "尾段。"]


@pytest.mark.parametrize(
    "closed",
    [
        "<iframe src='https://v.example.cn/'><p>替代内容</p></iframe>",
        "<svg><text>矢量</text></svg>",
        "<math><mi>公式</mi></math>",
        "<object data='x.swf'><p>插件</p></object>",
        "<noembed>无插件</noembed>",
        "<script>document.write('<script src=x><\\/script><iframe>')</script>",
        "<style>p::after{content:'<iframe>'}</style>",
        "<!-- <iframe> <svg> -->",
    ],
)
def test_closed_elements_still_go_with_their_content(closed: str) -> None:
    art = clean_article(f"<p>第一段。</p>{closed}{REST}", url=URL)
    assert art.text.split("\n") == LINES


def test_closed_xmp_shows_its_markup_as_text_once_escaped() -> None:
    art = clean_article("<p>第一段。</p><xmp><b>代码</b></xmp><p>第二段。</p>", url=URL)
    assert art.text.split("\n") == ["第一段。", "<b>代码</b>", "第二段。"]
    assert "<p>&lt;b&gt;代码&lt;/b&gt;</p>" in art.html


def test_rewrite_leaves_ordinary_html_alone() -> None:
    html = "<div><p>正文<a href='/x'>链接</a></p><!-- <iframe> --><table><tr><td>格</td></tr></table></div>"
    assert browser_like(html) is html
    assert browser_like("<svg><g></g></svg><p>x</p>") == "<svg><g></g></svg><p>x</p>"
    assert browser_like("<svg><circle>字<p>x") == "<svg><circle>字</svg><p>x"
    assert browser_like("<iframe src=a><p>x") == "<iframe src=a></iframe><p>x"
    assert browser_like("a<plaintext>b") == "ab"


def test_every_fixed_up_tag_is_recognised() -> None:
    from newsdesk.clean import guard

    names = guard._HTML5_VOID | guard._RAW | guard._DROPPED | {"plaintext"}
    for name in names:
        for tag in (f"<{name}>", f"<{name.upper()} a='1'>", f"</{name}>", f"<{name}/>"):
            assert guard._FIXUP_TAG.fullmatch(tag), tag
        assert guard._FIXUP_TAG.match(f"<{name}x>") is None
    assert guard._FIXUP_TAG.match("<p>") is None and guard._FIXUP_TAG.match("<sv>") is None
