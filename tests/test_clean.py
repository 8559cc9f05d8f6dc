"""The cleaning stage: quality corpus, sanitising, site profiles, bad input and speed.

The corpus is our own synthetic articles (tests/data/articles/NAME.html + NAME.expect.json)
plus the real pages in ../shared/realdata, whose expectations (facts read off each page:
paragraphs that must survive, boilerplate that must go, metadata) live in
tests/data/articles/realdata/NAME.expect.json. The real pages are read from shared/,
never copied here.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from newsdesk.clean import Article, CleanError, clean_article, extract_page
from newsdesk.clean.profiles import GENERIC, PROFILES, build, get_profile, profile_for
from newsdesk.clean.selectors import SelectorError, compile_selectors, css_to_xpath
from newsdesk.clean.tree import ALLOWED_TAGS

DATA = Path(__file__).resolve().parent / "data" / "articles"
SHARED = Path(__file__).resolve().parents[2] / "shared"
REALDATA = SHARED / "realdata"
HAVE_REALDATA = (REALDATA / "MANIFEST.md").is_file()
NO_REALDATA = f"shared real pages not found at {REALDATA} (CI lays shared/ beside the clone)"


# --- corpus -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    name: str
    html: str
    expect: dict[str, Any]
    real: bool

    @property
    def sina(self) -> bool:
        return bool(self.expect.get("profile") == "sina" or "sina" in self.name)


def _decode(raw: bytes) -> str:
    # The fetch stage decodes pages; here UTF-8 first, then GB18030 (the 2012 GB2312 page).
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("gb18030")


def _real_page(name: str) -> str:
    paths = sorted(REALDATA.glob(f"{name}.*"))
    assert paths, f"no real page {name} in {REALDATA}"
    text = _decode(paths[0].read_bytes())
    if paths[0].suffix == ".md":  # Hexo post: the body after the YAML front matter
        text = re.sub(r"^\s*---\n.*?\n---\n", "", text, count=1, flags=re.S)
    return text


def _cases(real: bool) -> list[Case]:
    folder = DATA / "realdata" if real else DATA
    out = []
    for path in sorted(folder.glob("*.expect.json")):
        name = path.name.removesuffix(".expect.json")
        expect = json.loads(path.read_text(encoding="utf-8"))
        if real:
            html = _real_page(name) if HAVE_REALDATA else ""
        else:
            html = (folder / f"{name}.html").read_text(encoding="utf-8")
        out.append(Case(name, html, expect, real))
    return out


SYNTHETIC = _cases(real=False)
REAL = _cases(real=True)


def _clean(case: Case) -> Article:
    return clean_article(case.html, url=case.expect["url"], title=case.expect.get("title"))


def _check(case: Case, art: Article) -> list[str]:
    exp = case.expect
    problems = [f"paragraph lost: {s!r}" for s in exp["must_contain"] if s not in art.text]
    problems += [
        f"boilerplate kept: {s!r}" for s in exp["must_not_contain"] if s in art.text or s in art.html
    ]
    for key in ("source", "editor", "dateline", "profile"):
        if key in exp and getattr(art, key) != exp[key]:
            problems.append(f"{key}: {getattr(art, key)!r} != {exp[key]!r}")
    for key in ("reporters", "keywords", "images"):
        if key in exp and list(getattr(art, key)) != exp[key]:
            problems.append(f"{key}: {getattr(art, key)!r} != {exp[key]!r}")
    if "image_count" in exp and len(art.images) != exp["image_count"]:
        problems.append(f"images: {len(art.images)} != {exp['image_count']}")
    if "min_lines" in exp and art.text.count("\n") + 1 < exp["min_lines"]:
        problems.append(f"only {art.text.count(chr(10)) + 1} lines, expected at least {exp['min_lines']}")
    problems += [f"html lacks {s!r}" for s in exp.get("html_contains", []) if s not in art.html]
    problems += [f"link lost: {s!r}" for s in exp.get("links", []) if f'href="{s}"' not in art.html]
    return problems


def test_synthetic_corpus_size() -> None:
    assert len(SYNTHETIC) >= 10
    for case in SYNTHETIC:
        assert case.expect["must_contain"] and case.expect["must_not_contain"], case.name


@pytest.mark.parametrize("case", SYNTHETIC, ids=lambda c: c.name)
def test_synthetic_article(case: Case) -> None:
    assert _check(case, _clean(case)) == []


@pytest.mark.skipif(not HAVE_REALDATA, reason=NO_REALDATA)
@pytest.mark.parametrize("case", REAL, ids=lambda c: c.name)
def test_real_page(case: Case) -> None:
    # Expectations are facts about the page: every boilerplate string must really be on it.
    assert [s for s in case.expect["must_not_contain"] if s not in case.html] == []
    assert _check(case, _clean(case)) == []


@pytest.mark.skipif(not HAVE_REALDATA, reason=NO_REALDATA)
def test_real_expectations_cover_every_page() -> None:
    pages = {p.stem for p in REALDATA.iterdir() if p.name != "MANIFEST.md"}
    assert pages == {c.name for c in REAL}


def _score(cases: list[Case]) -> tuple[float, float, int, int]:
    removed = kept = boiler = paras = 0
    for case in cases:
        art = _clean(case)
        paras += len(case.expect["must_contain"])
        kept += sum(s in art.text for s in case.expect["must_contain"])
        boiler += len(case.expect["must_not_contain"])
        removed += sum(s not in art.text and s not in art.html for s in case.expect["must_not_contain"])
    return 100.0 * removed / max(boiler, 1), 100.0 * kept / max(paras, 1), boiler, paras


def test_corpus_scores(capsys: pytest.CaptureFixture[str]) -> None:
    cases = SYNTHETIC + (REAL if HAVE_REALDATA else [])
    groups = {
        "sina": [c for c in cases if c.sina],
        "other": [c for c in cases if not c.sina],
        "all": cases,
    }
    scores = {name: _score(group) for name, group in groups.items()}
    with capsys.disabled():
        print()
        for name, (rem, keep, boiler, paras) in scores.items():
            print(
                f"clean corpus [{name:5s}] {len(groups[name]):2d} articles: boilerplate removed {rem:6.2f}% "
                f"of {boiler}, paragraphs kept {keep:6.2f}% of {paras}"
            )
    sina_removed, sina_kept, _, _ = scores["sina"]
    assert sina_removed == 100.0
    assert sina_kept >= 99.0
    all_removed, all_kept, _, _ = scores["all"]
    assert all_removed >= 95.0 and all_kept >= 95.0


# --- sanitising ---------------------------------------------------------------------------

URL = "https://news.example.cn/a/2024/01/02/story.html"


_ALLOWED_ATTRS = {"href", "src", "alt", "rel", "referrerpolicy", "colspan", "rowspan"}


def _tags(fragment: str) -> set[str]:
    """Tags of a cleaned fragment, checking on the way that attributes and URLs are safe."""
    root = etree.fromstring(f"<html><body>{fragment}</body></html>", etree.HTMLParser())
    for el in root.iter():
        assert isinstance(el.tag, str), "a comment survived"
        assert set(el.attrib) <= _ALLOWED_ATTRS, el.attrib
        for key in ("href", "src"):
            assert el.get(key, "https://").startswith(("http://", "https://")), el.get(key)
    return {el.tag for el in root.iter() if isinstance(el.tag, str)} - {"html", "body"}


def test_only_allowed_markup_survives() -> None:
    dirty = """
    <div onclick="steal()"><h1 style="color:red">标题一</h1>
    <p class="x" id="y" title="提示" lang="zh" onmouseover="x()">第一段，<b>粗</b><i>斜</i><em>强调</em>
    <u>下划线</u>文字。</p>
    <script>alert(1)</script><style>p{}</style><noscript>开启脚本</noscript>
    <iframe src="https://evil.example/"></iframe>
    <form action="/x"><input name="q"><button>提交</button></form>
    <!-- 注释 --><svg><text>矢量</text></svg><object data="x.swf"></object>
    <p><a href="javascript:alert(1)">恶意链接</a> <a href="vbscript:x">另一个</a>
    <a href="/rel/page.html">相对</a>
    <a href="mailto:a@b.c">邮件</a> <img src="data:image/png;base64,AAAA"> <img src="java&#x09;script:x"></p>
    <table><tr><td colspan="2" style="x">单元格</td></tr></table><blockquote><p>引用</p></blockquote>
    <ul><li>列表</li></ul></div>"""
    art = clean_article(dirty, url=URL)
    assert _tags(art.html) <= ALLOWED_TAGS
    for bad in (
        "script",
        "alert",
        "style=",
        "onclick",
        "onmouseover",
        "iframe",
        "form",
        "input",
        "button",
        "<!--",
        "注释",
        "开启脚本",
        "矢量",
        "evil",
        "javascript",
        "vbscript",
        "mailto",
        "data:",
        "class=",
        "id=",
    ):
        assert bad not in art.html, bad
    assert "<h2>标题一</h2>" in art.html  # h1 becomes h2: the page title is the only h1
    assert '<a href="https://news.example.cn/rel/page.html" rel="noopener noreferrer">相对</a>' in art.html
    assert '<td colspan="2">单元格</td>' in art.html
    assert "恶意链接" in art.text and "邮件" in art.text  # the text of a dropped link stays
    assert art.images == ()


def test_images_absolute_lazy_and_referrer_policy() -> None:
    html = """
    <p><img src="/img/a.jpg" alt="甲"></p>
    <p><img data-src="//cdn.example.cn/b.jpg"></p>
    <p><img src="https://cdn.example.cn/lazy-placeholder.gif" data-original="c.jpg"></p>
    <p><img src="data:image/gif;base64,R0lGOD" data-lazy-src="https://cdn.example.cn/d.png"></p>
    <p><img src="https://t.example.cn/pixel.gif?u=1" width="1" height="1"></p>
    <p><img src="https://cdn.example.cn/icons/share-weibo.png"></p>
    <p><img src="https://cdn.example.cn/logo.png"></p>
    <p><img src="https://cdn.example.cn/qrcode_app.png"></p>
    <p>正文内容在这里。</p>"""
    art = clean_article(html, url=URL)
    assert art.images == (
        "https://news.example.cn/img/a.jpg",
        "https://cdn.example.cn/b.jpg",
        "https://news.example.cn/a/2024/01/02/c.jpg",
        "https://cdn.example.cn/d.png",
    )
    assert art.header_image == "https://news.example.cn/img/a.jpg"
    assert art.html.count('referrerpolicy="no-referrer"') == 4
    assert 'alt="甲"' in art.html


def test_relative_url_without_base_is_dropped() -> None:
    art = clean_article('<p><a href="/x.html">链接</a><img src="/y.jpg"> 正文。</p>', url=None)
    assert "href" not in art.html and art.images == ()
    art = clean_article('<p><img src="//n.sinaimg.cn/z.jpg"> 正文。</p>', url=None)
    assert art.images == ("https://n.sinaimg.cn/z.jpg",)


def test_div_soup_becomes_paragraphs_and_empties_go() -> None:
    html = """<div><div><span>　　第一行文字</span><br>第二行文字<br><br>
    <div class="x"><div></div><span> </span></div><p>　</p><p><span></span></p><p>&nbsp;</p>
    <div>第三行<font>文字</font></div></div></div>"""
    art = clean_article(html, url=URL)
    assert art.text == "第一行文字\n第二行文字\n第三行文字"
    assert art.html == "<p>第一行文字</p>\n<p>第二行文字</p>\n<p>第三行文字</p>"


def test_br_inside_paragraph_splits_text_lines() -> None:
    art = clean_article("<p>第一行<br>第二行</p>", url=URL)
    assert art.text == "第一行\n第二行"
    assert "<br>" in art.html


def test_title_repeated_in_body_is_dropped() -> None:
    art = clean_article(
        "<p><strong>标题：某事发生</strong></p><p>正文。</p>", url=URL, title="标题：某事发生"
    )
    assert art.text == "正文。"


def test_empty_input_gives_empty_article() -> None:
    for html in ("", "   \n", "<div></div>", "<!-- 只有注释 -->"):
        art = clean_article(html, url=URL)
        assert (art.text, art.html, art.images, art.char_count) == ("", "", (), 0)


def test_char_count_excludes_whitespace() -> None:
    art = clean_article("<p>　　中文 English</p><p>第二段</p>", url=URL)
    assert art.text == "中文 English\n第二段"
    assert art.char_count == len("中文English第二段")


# --- profiles -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "name"),
    [
        ("https://finance.sina.com.cn/china/gncj/2021-12-20/doc-x.shtml", "sina"),
        ("https://news.sina.com.cn/c/2019-09-07/doc-x.shtml", "sina"),
        ("https://k.sina.cn/article_1.html", "sina"),
        ("http://culture.people.com.cn/n1/2019/0615/c1013-1.html", "people"),
        ("http://www.xinhuanet.com/local/2020-02/19/c_1.htm", "xinhua"),
        ("http://www.news.cn/fortune/2023-11/17/c_1.htm", "xinhua"),
        ("https://www.thepaper.cn/newsDetail_forward_1", "thepaper"),
        ("http://kuaixun.stcn.com/2019/0926/1.shtml", "stcn"),
        ("https://stock.hexun.com/2019-09-26/1.html", "hexun"),
        ("https://china.chinadaily.com.cn/a/1.html", "chinadaily"),
        ("http://www.banyuetan.org/jmcs/detail/1.html", "banyuetan"),
        ("https://example.com/x", "generic"),
        ("https://notsina.com.cn.evil.example/x", "generic"),
        (None, "generic"),
    ],
)
def test_profile_by_host(url: str | None, name: str) -> None:
    assert profile_for(url).name == name


def test_profile_by_markers_without_url() -> None:
    assert profile_for(None, "<p>x</p><!-- news_keyword_pub,stock, -->").name == "sina"
    assert (
        profile_for("https://rsshub.example/x", '<p class="article-editor">责任编辑：张三</p>').name == "sina"
    )


def test_profiles_are_data_and_validated() -> None:
    assert len(PROFILES) >= 4 and GENERIC.name == "generic"
    assert get_profile("sina").drop is not None
    with pytest.raises(KeyError):
        build({"name": "x", "selectors": []})
    with pytest.raises(TypeError):
        build({"name": "x", "drop": "not-a-list"})
    with pytest.raises(ValueError, match="lowercase"):
        build({"name": "x", "image_block": ["QRCode"]})
    with pytest.raises(SelectorError):
        build({"name": "x", "drop": ["p:first-child"]})


def test_selectors() -> None:
    root = etree.fromstring(
        '<html><body><div class="a b" id="main"><p class="b">1</p><span id="stock_1">2</span>'
        '<p data-x="yes">3</p></div><div class="c"><p>4</p></div></body></html>',
        etree.HTMLParser(),
    )

    def texts(*sel: str) -> list[str]:
        return [el.text or el.tag for el in compile_selectors(sel)(root)]

    assert texts(".b") == ["div", "1"]
    assert texts("p.b", "span[id^=stock_]") == ["1", "2"]
    assert texts("#main > p") == ["1", "3"]
    assert texts(".c p", "[data-x=yes]") == ["3", "4"]
    assert texts("[id$=_1]", "[class*=c]") == ["2", "div"]
    assert "contains" in css_to_xpath(".x")
    with pytest.raises(SelectorError):
        css_to_xpath("> p")


def test_extract_page() -> None:
    page = (
        "<html><head><title>t</title></head><body><div class='nav'>首页 新闻</div>"
        "<div id='artibody'><p>正文第一段，内容足够长，用于测试正文定位。</p><p>第二段。</p></div>"
        "<div class='footer'>版权所有</div></body></html>"
    )
    body = extract_page(page, url="https://finance.sina.com.cn/x.shtml")
    assert body is not None and body.startswith('<div id="artibody">') and "版权所有" not in body
    assert extract_page("<html><body><div>短</div></body></html>", url="https://example.com/") is None
    assert extract_page("", url="https://example.com/") is None


def test_generic_density_extractor_finds_prose() -> None:
    paras = "".join(
        f"<p>这是第{i}段正文，包含逗号，句号。还有更多的文字内容，用来计算文本密度。</p>" for i in range(6)
    )
    links = "".join(
        f"<li><a href='/n{i}.html'>相关新闻标题第{i}条，很长很长的链接文字</a></li>" for i in range(20)
    )
    page = (
        f"<html><body><div class='side'><ul>{links}</ul></div><div class='story'>{paras}</div></body></html>"
    )
    body = extract_page(page, url="https://unknown.example/x")
    assert body is not None and body.startswith('<div class="story">')


@pytest.mark.skipif(not HAVE_REALDATA, reason=NO_REALDATA)
def test_extract_page_on_real_sina_page() -> None:
    body = extract_page(
        _real_page("sina_finance_roll_2018-12-28_ihqfskcn2160999"), url="https://finance.sina.com.cn/"
    )
    assert body is not None and 'id="artibody"' in body[:80] and "新京报快讯" in body


# --- bad input ----------------------------------------------------------------------------


def test_broken_html_is_cleaned() -> None:
    art = clean_article("<p>第一段<b>未闭合<p>第二段</i></span></div><table><tr><td>格", url=URL)
    assert art.text.split("\n")[:2] == ["第一段未闭合", "第二段"]


@pytest.mark.parametrize("repeat", [200_000, 2_000_000])
def test_deeply_nested_input_is_bounded(repeat: int) -> None:
    # Bounded in time too: a quadratic path here would hit pytest's timeout (speed is measured
    # by bench/bench_clean.py, not asserted on a shared machine's clock).
    html = "<div>" * repeat + "<p>深处的正文。</p>"  # 1 MB and 10 MB
    try:
        art = clean_article(html, url=URL)
    except CleanError as exc:
        assert "too many tags" in str(exc)
    else:
        assert art.text == "深处的正文。"


def test_many_flat_tags_are_bounded() -> None:
    with pytest.raises(CleanError, match="too many tags"):
        clean_article("<p>x" * 3_000_000, url=URL)
    art = clean_article("<span>字</span>" * 50_000, url=URL)
    assert art.char_count == 50_000


def test_huge_input_is_refused() -> None:
    with pytest.raises(CleanError, match="too large"):
        clean_article("字" * 17_000_000, url=URL)
    # Under the size cap, but one text run past libxml2's 10 MB buffer limit.
    with pytest.raises(CleanError, match="resource limits"):
        clean_article("<p>" + "字" * 9_000_000 + "</p>", url=URL)


@pytest.mark.parametrize(
    ("wrong", "shown_as"), [("utf-8", "latin-1"), ("utf-8", "cp1252"), ("gbk", "latin-1")]
)
def test_mojibake_is_repaired(wrong: str, shown_as: str) -> None:
    original = "<p>中新社北京12月20日电 （记者 刘育英）全国工业和信息化工作会议20日在北京以视频形式召开。</p>"
    garbled = original.encode(wrong).decode(shown_as, errors="replace")
    art = clean_article(garbled, url=URL)
    assert art.dateline == "中新社北京12月20日电"
    assert art.reporters == ("刘育英",)


def test_latin_text_is_not_mistaken_for_mojibake() -> None:
    text = "<p>Crème brûlée à la française, déjà vu, naïve café, Zürich, Größe, São Paulo, Ærø.</p>"
    assert clean_article(text, url=URL).text == etree.fromstring(text, etree.HTMLParser()).findtext(".//p")


def test_binary_garbage_is_refused() -> None:
    garbage = bytes(range(256)).decode("latin-1") * 40
    with pytest.raises(CleanError, match="binary"):
        clean_article(garbage, url=URL)
    with pytest.raises(CleanError, match="undecodable"):
        clean_article("\ufffd" * 5000, url=URL)
    with pytest.raises(CleanError, match="must be str"):
        clean_article(b"<p>x</p>", url=URL)  # type: ignore[arg-type]


def test_stray_control_characters_are_removed() -> None:
    art = clean_article("<p>正文\x00内容\x08。</p>", url=URL)
    assert art.text == "正文内容。"
    # Character references to characters XML cannot hold (lxml would refuse the text).
    art = clean_article("<div>甲&#1;乙&#x0;丙&#xD800;丁&#65;<br>戊</div>", url=URL)
    assert art.text == "甲乙丙丁A\n戊"


def test_image_carrying_the_wrapper_class() -> None:
    html = '<div><img class="img_wrapper" src="https://n.sinaimg.cn/a.jpg"><p>正文。</p></div>'
    art = clean_article(html, url="https://finance.sina.com.cn/x.shtml")
    assert art.images == ("https://n.sinaimg.cn/a.jpg",) and art.text == "正文。"


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("<>/=\"' \n&;#!-abpdivlmgscrthx中文字1")), max_size=300))
def test_arbitrary_input_never_crashes(html: str) -> None:
    try:
        art = clean_article(html, url=URL)
    except CleanError:
        return
    assert _tags(art.html) <= ALLOWED_TAGS
    assert "\u3000" not in art.text


def test_image_captions_carry_no_markup() -> None:
    # Hexo's default theme turns alt into HTML ('<span class="caption">' + alt + '</span>').
    html = (
        "<p>第一段正文，讲述央行的新政策与市场的反应，文字足够长以被识别为正文内容。</p>"
        '<p><img src="https://img.example.cn/a.jpg" alt="&lt;img src=x onerror=alert(1)&gt;图注"></p>'
        "<p>第二段正文，继续介绍相关部门的解读和专家的观点，内容同样足够长。</p>"
    )
    art = clean_article(html, url="https://news.example.cn/a.html", title="标题")
    assert 'alt="＜img src=x onerror=alert(1)＞图注"' in art.html
    assert "<img src=x" not in art.html and "&lt;img" not in art.html
