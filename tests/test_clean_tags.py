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

    names = guard._HTML5_VOID | guard._RAW | guard._DROPPED | guard._REMOVED
    for name in names:
        for tag in (f"<{name}>", f"<{name.upper()} a='1'>", f"</{name}>", f"<{name}/>"):
            assert guard._FIXUP_TAG.fullmatch(tag), tag
        assert guard._FIXUP_TAG.match(f"<{name}x>") is None
    assert guard._FIXUP_TAG.match("<p>") is None and guard._FIXUP_TAG.match("<sv>") is None


# XSS corpus vectors (tests/data/xss/vectors.json) inside an article: what is left must be safe.
UNSAFE = (
    "onerror",
    "__xss",
    "javascript:",
    "<style",
    "<script",
    "<noscript",
    "<iframe",
    "<math",
    "<form",
    "<mg",
)


@pytest.mark.parametrize(
    "vector",
    [
        # A browser running scripts reads a <noscript>'s content as raw text: the <style> or
        # <script> in it opens nothing, and what follows </noscript> is shown. libxml2 parses
        # that content as markup, so the <style> used to swallow the rest of the article.
        "<noscript><style></noscript><img src=x onerror=__xss(139)>",  # v139
        '<noscript><p title="</noscript><img src=x onerror=__xss(132)>"></noscript>',  # v132
        "<div><noscript><script></noscript><b>x</b></div>",
        # libxml2 nested the rest in the <mglyph> (after a <table>), which the sanitiser drops
        # with its content; the unclosed <style> is empty, as everywhere else.
        "<math><mtext><table><mglyph><style><img src=x onerror=__xss(130)>",  # v130
        "<form><math><mtext></form><form><mglyph><style></math><img src=x onerror=__xss(137)>",  # v137
        "<table><malignmark><b>x</b>",
        # An unterminated start tag runs to the next ">" (Chromium: <iframe src=… <="" <p="">);
        # the <iframe> left unclosed is then empty, as everywhere else, and the text is kept.
        "<iframe src=javascript:__xss(84) <",  # v084
        "<embed src=x <",
        "<object data=x <br",
    ],
)
def test_the_rest_of_the_article_is_kept_after_the_vector(vector: str) -> None:
    art = clean_article(f"<p>第一段。</p>\n{vector}\n{REST}", url=URL)
    lines = art.text.split("\n")
    assert lines[0] == "第一段。" and lines[-2:] == LINES[1:], art.text
    assert "<p>第二段，<b>粗体</b>。</p>" in art.html
    assert not any(bad in art.html for bad in UNSAFE), art.html


def test_a_tag_with_a_less_than_sign_runs_to_the_next_greater_than_sign() -> None:
    assert browser_like("<iframe a <\n<p>x</p>") == "<iframe a <\n<p></iframe>x</p>"
    assert browser_like("<p>a<iframe b <p") == "<p>a<iframe b <p"  # no ">" left: nothing to close
    assert browser_like("<iframe title='a<b'>x</iframe>") == "<iframe title='a<b'>x</iframe>"


def test_noscript_content_is_escaped_only_up_to_its_end_tag() -> None:
    assert browser_like("<noscript><style></noscript><p>x") == "<noscript>&lt;style></noscript><p>x"
    assert browser_like("<noscript>无脚本</noscript><p>x") == "<noscript>无脚本</noscript><p>x"
    assert browser_like("<noscript><b>x") == "<noscript></noscript><b>x"  # unclosed: empty
    # An end tag moved to a breakout tag inside the escaped text goes after it, not into it.
    svg = browser_like("<svg><noscript>a<p>x</noscript><p>y")
    assert svg == "<svg><noscript>a&lt;p>x</svg></noscript><p>y"
    assert browser_like("<table><mglyph><p>x</mglyph></table>") == "<table><p>x</table>"
