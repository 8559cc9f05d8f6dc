"""Unknown portals: the signals a page offers before density, credit lines around the body,
bylines in every form the portals print, and formatting kept through the sanitiser."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from newsdesk.clean import clean_article, extract, guard, signals
from newsdesk.clean import metadata as md
from newsdesk.clean.profiles import GENERIC

DATA = Path(__file__).resolve().parent / "data" / "articles"


def _classes(el: etree._Element | None) -> str:
    return "" if el is None else str(el.get("class"))


def test_json_ld_article_body_beats_density() -> None:
    html = (DATA / "generic_jsonld_page.html").read_text(encoding="utf-8")
    root = guard.parse(html)
    # The page's topic sidebar has more prose than the article: density alone takes it.
    assert "y" in _classes(extract.density_main(root))
    body = extract.locate(root, GENERIC)
    assert body is not None and body.get("class") == "k3"


def test_itemprop_article_body_is_taken() -> None:
    side = "".join(f"<p>侧栏文章摘要第{i}条，内容较长，标点很多，读者很多，点击很多。</p>" for i in range(20))
    html = (
        "<html><body><div class='side'>" + side + "</div><div itemprop='articleBody'>"
        "<p>央行今日开展逆回购操作，维护银行体系流动性合理充裕。</p></div></body></html>"
    )
    art = clean_article(html, url="https://bank.example-local.cn/a.html")
    assert art.text == "央行今日开展逆回购操作，维护银行体系流动性合理充裕。"


def test_comment_thread_is_never_the_body_nor_its_avatar_the_header_image() -> None:
    comments = "".join(
        f"<li><img src='https://x.example-local.cn/avatar/{i}.jpg'><p>我觉得，这个政策很好，但是，执行要到位；"
        f"第{i}条评论，说了很多很多话，标点也很多，真的很多。</p></li>"
        for i in range(30)
    )
    html = (
        "<html><body><h1>地方专项债发行提速</h1><div class='wrap'><div class='txt'>"
        "<p>财政部数据显示，前两月地方政府专项债券发行规模同比增加。</p>"
        "<p><img src='https://x.example-local.cn/2024/bond.jpg'></p>"
        "<p>多地提前谋划项目，资金拨付进度加快。</p></div>"
        f"<div id='comment-box'><ul>{comments}</ul></div></div></body></html>"
    )
    art = clean_article(html, url="https://x.example-local.cn/2024/bond.html")
    assert "评论" not in art.text
    assert art.text.startswith("财政部数据显示")
    assert art.header_image == "https://x.example-local.cn/2024/bond.jpg"


def test_credit_lines_beside_the_body_give_source_editor_and_author() -> None:
    html = (
        "<html><body><div class='art'><h1>标题</h1>"
        "<div class='info'>2024-05-13 09:16:04　来源: <a href='/m'>北青网-北京青年报</a><img src='ip.svg'>北京"
        "<a class='post_jubao'>举报</a></div>"
        "<div class='body'><p>正文第一段，内容足够长，讲述了一件事情的来龙去脉，以及各方的反应。</p>"
        "<p>正文第二段，继续介绍背景情况和下一步安排，专家也给出了建议。</p></div>"
        "<div class='tail'><span>作者：何苗</span><span>编辑：几乎不流浪</span><span>本文仅代表作者观点</span>"
        "<span class='ed'>责任编辑：李曦_NN2587</span></div></div>"
        "<ul class='news-list'><li>来源：别的报纸</li></ul></body></html>"
    )
    art = clean_article(html, url="https://portal.example-local.cn/a.html")
    assert art.source == "北青网-北京青年报"
    assert art.editor == "李曦"  # 责任编辑 beats 编辑; the staff code goes
    assert art.reporters == ("何苗",)


def test_page_title_from_og_h1_or_title() -> None:
    root = guard.parse("<html><head><title>标题甲_某某网</title></head><body><h1>标题甲</h1></body></html>")
    assert signals.page_title(root) == "标题甲"
    root = guard.parse("<html><head><title>标题乙 - 某某网</title></head><body></body></html>")
    assert signals.page_title(root) == "标题乙"


@pytest.mark.parametrize(
    ("line", "names", "outlet"),
    [
        ("文/栗思", ("栗思",), None),
        ("文丨政能亮特约评论员 韩涵", ("韩涵",), None),
        ("作者 王之言 高孜然", ("王之言", "高孜然"), None),
        ("执笔/张三", ("张三",), None),
        ("《棱镜》作者 周纯", ("周纯",), None),
        ("新京报记者 彭冲 山东冠县报道", ("彭冲",), "新京报"),
        ("顶端新闻·河南商报记者马俊峰/文受访者供图", ("马俊峰",), "顶端新闻·河南商报"),
        ("新华社记者邹多为、唐诗凝、丁乐", ("邹多为", "唐诗凝", "丁乐"), "新华社"),
        ("□ 本报记者 葛灵丹", ("葛灵丹",), None),
        ("本报通讯员 李四 实习生 王五", ("李四", "王五"), None),
        ("新华社记者 才扬 摄", None, "新华社"),  # a photo credit: not a byline
    ],
)
def test_byline_forms(line: str, names: tuple[str, ...] | None, outlet: str | None) -> None:
    assert md.byline_only(line) == names
    assert md.byline_outlet(line) == outlet


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("本文来源：21世纪经济报道 作者：何苗 张梦洁", ("何苗", "张梦洁")),
        ("（本文来源：经济日报 作者：中国国际经济交流中心世界经济研究部部长、研究员徐占忱）", ("徐占忱",)),
        ("(作者：李四，复旦大学教授)", ("李四",)),
        ("来源：新华社", ()),
    ],
)
def test_author_of_credit_lines(text: str, names: tuple[str, ...]) -> None:
    assert md.author_of(text) == names


@pytest.mark.parametrize(
    ("text", "source"),
    [
        ("2015-07-04 19:25:26 来源: 网易财经责任编辑：NF042", "网易财经"),  # glued spans
        ("来源 | 综合抖音黑板报、南方都市报", "综合抖音黑板报、南方都市报"),
        ("来源：新华社 2023-12-01 14:43", "新华社"),
        ("来源：中国新闻网 作者：张三", "中国新闻网"),
    ],
)
def test_source_lines(text: str, source: str) -> None:
    assert md.parse_source(text) == source


@pytest.mark.parametrize(
    ("text", "editor"),
    [
        ("责任编辑：李曦_NN2587", "李曦"),
        ("编辑/倪家宁", "倪家宁"),
        ("[责任编辑：杜智 PX209]", "杜智"),
        ("编辑：倪仕轩 责任编辑：杨格", "杨格"),
        ("责任编辑：NF042", None),
    ],
)
def test_editor_lines(text: str, editor: str | None) -> None:
    parsed = md.parse_editor(text)
    assert (parsed[1] if parsed else None) == editor


@pytest.mark.parametrize(
    ("lines", "dateline"),
    [
        (["TNW中文站 10月14日报道", "正文"], "TNW中文站 10月14日报道"),
        (["21世纪经济报道记者 张三 南京报道", "正文。"], "南京报道"),
        (["标题一", "标题二", "标题三", "李强蔡奇出席", "新华社上海11月30日电 正文"], "新华社上海11月30日电"),
        (["据新华社报道，某地发生一件事。"], None),
    ],
)
def test_datelines(lines: list[str], dateline: str | None) -> None:
    assert md.find_dateline(lines) == dateline


def test_label_only_lines_are_credits() -> None:
    html = (
        "<div><p>正文一段，介绍了外贸企业在红海危机下的处境和应对，内容较长。</p>"
        "<p>作者</p><p>王之言 高孜然</p><p>编辑</p><p>排版</p><p>周褶褶</p></div>"
    )
    art = clean_article(html, url="https://x.example-local.cn/a.html")
    assert art.reporters == ("王之言", "高孜然")
    assert art.text == "正文一段，介绍了外贸企业在红海危机下的处境和应对，内容较长。"


def test_byline_and_source_in_one_line() -> None:
    html = "<div><p>正文一段，内容较长，讲述事情的经过。</p><p>中青报·中青网记者 魏其濛 来源：中国青年报</p></div>"
    art = clean_article(html, url="https://x.example-local.cn/a.html")
    assert (art.reporters, art.source, art.text) == (
        ("魏其濛",),
        "中国青年报",
        "正文一段，内容较长，讲述事情的经过。",
    )


def test_byline_outlet_is_the_source_of_last_resort() -> None:
    html = "<div><p>新华社记者邹多为、唐诗凝</p><p>正文一段，内容较长，讲述事情的经过。</p></div>"
    art = clean_article(html, url="https://x.example-local.cn/a.html")
    assert art.source == "新华社"
    html = "<div><p>新华社记者邹多为</p><p>正文一段，内容较长。</p><p>来源：经济参考报</p></div>"
    assert clean_article(html, url="https://x.example-local.cn/a.html").source == "经济参考报"


def test_formatting_is_kept() -> None:
    html = (
        "<div><p><font cms-style='strong-Bold'>一、小标题</font></p>"
        "<p>面积120m<sup>2</sup>，排放CO<sub>2</sub>。</p><p><span style='font-weight: 700'>加粗</span>文字</p>"
        "<table><tr><td><b>指标</b></td><td><strong>数值</strong></td></tr><tr><td>GDP</td><td>5.0%</td></tr></table>"
        "<blockquote>引用一段话。</blockquote>"
        "<figure><img src='https://x.example-local.cn/a.jpg'><figcaption>图说明</figcaption></figure></div>"
    )
    out = clean_article(html, url="https://x.example-local.cn/a.html").html
    for piece in (
        "<strong>一、小标题</strong>",
        "m<sup>2</sup>",
        "CO<sub>2</sub>",
        "<strong>加粗</strong>文字",
        "<th><b>指标</b></th>",
        "<td>GDP</td>",
        "<blockquote>引用一段话。</blockquote>",
        "<figcaption>图说明</figcaption>",
    ):
        assert piece in out
    assert "cms-style" not in out and "style=" not in out


@pytest.mark.parametrize(
    "line",
    [
        "阅读 12.8万",
        "返回搜狐，查看更多",
        "正文已结束",
        "收藏本文 扫一扫",
        "不感兴趣 投诉",
        "打开观察者网APP阅读全文",
    ],
)
def test_furniture_lines_go(line: str) -> None:
    html = f"<div><p>正文一段，内容较长，讲述事情的经过。</p><p>{line}</p></div>"
    assert (
        clean_article(html, url="https://x.example-local.cn/a.html").text
        == "正文一段，内容较长，讲述事情的经过。"
    )


def test_body_embedded_as_script_data_beats_density() -> None:
    # Tencent's pages carry the article in window.DATA.originContent.text (RSSHub reads it there).
    import json

    body = (
        "<p>国家统计局今日发布数据，前四个月社会消费品零售总额同比增长。</p>"
        "<p>其中，网上零售额增长较快，实物商品网上零售额占比继续提高。</p>"
    )
    side = "".join(
        f"<div class='r{i}'>推荐阅读：第{i}条，市场、政策、资金、情绪，都在变化，值得关注。</div>"
        for i in range(30)
    )
    data = json.dumps({"originContent": {"text": body}}, ensure_ascii=False)
    html = (
        f"<html><head><script>window.DATA = {data};</script></head>"
        f"<body><div class='a'>{body}</div><div class='side'>{side}</div></body></html>"
    )
    root = guard.parse(html)
    assert _classes(extract.density_main(root)) in {"side"} | {f"r{i}" for i in range(30)}
    art = clean_article(html, url="https://new.qq.com/rain/a/20240508A00000")
    assert art.profile == "tencent"
    assert art.text.split("\n") == [
        "国家统计局今日发布数据，前四个月社会消费品零售总额同比增长。",
        "其中，网上零售额增长较快，实物商品网上零售额占比继续提高。",
    ]


def test_a_nextjs_pages_body_comes_from_its_next_data() -> None:
    # 上海证券报's article pages are a Next.js app (a page of our own, modelled on the public record
    # in profiles/cnstock.py): the article HTML sits in __NEXT_DATA__'s props, beside other HTML
    # strings (a shorter summary); the rendered page has a longer related-articles column.
    import json

    paragraphs = [
        "上证报讯 多家上市公司今日披露半年度业绩预告，制造业企业盈利明显改善。",
        "分析人士表示，随着稳增长政策持续发力，下半年企业盈利有望进一步修复。",
    ]
    body = "<body>" + "".join(f"<p>{p}</p>" for p in paragraphs) + "</body>"
    side = "".join(
        f"<div class='r{i}'>相关阅读：第{i}条，市场、政策、资金、情绪，都在变化，值得关注。</div>"
        for i in range(30)
    )
    data = {
        "props": {
            "pageProps": {
                "data": {
                    "title": "上市公司半年度业绩预告密集披露",
                    "pubTime": "2026-07-10 08:30",
                    "author": "作者：王小明",
                    "summary": "<p>业绩预告密集披露。</p>",
                    "textInfo": {"content": body},
                }
            }
        },
        "buildId": "b1",
    }
    script = json.dumps(data, ensure_ascii=False)
    html = (
        "<html><head><title>上市公司半年度业绩预告密集披露_中国证券网</title></head><body>"
        "<nav><a href='/'>首页</a><a href='/yw'>要闻</a></nav>"
        f"<div class='detail'><h1>上市公司半年度业绩预告密集披露</h1>"
        f"<div class='a'>{''.join(f'<p>{p}</p>' for p in paragraphs)}</div></div>"
        f"<div class='side'>{side}</div>"
        f'<script id="__NEXT_DATA__" type="application/json">{script}</script>'
        "</body></html>"
    )
    root = guard.parse(html)
    # Density alone takes the related column.
    assert _classes(extract.density_main(root)) in {"side"} | {f"r{i}" for i in range(30)}
    embedded = signals.embedded_body(root)
    assert embedded is not None and "".join(embedded.split()) == "".join("".join(paragraphs).split())
    art = clean_article(html, url="https://www.cnstock.com/commonDetail/754022")
    assert art.profile == "cnstock"
    assert art.text.split("\n") == paragraphs
    # Broken script data is passed over, not an error: the page is cleaned from its markup alone.
    broken = html.replace('"props"', "props")
    assert signals.embedded_body(guard.parse(broken)) is None
    assert clean_article(broken, url="https://www.cnstock.com/commonDetail/754022").profile == "cnstock"
