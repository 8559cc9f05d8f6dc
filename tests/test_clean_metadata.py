"""Cleaning metadata: the reference item's exact values, and each metadata formula on its own."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from newsdesk.clean import clean_article
from newsdesk.clean import metadata as md

SHARED = Path(__file__).resolve().parents[2] / "shared"
REFERENCE_URL = "https://finance.sina.com.cn/china/gncj/2021-12-20/doc-example0001.shtml"

needs_shared = pytest.mark.skipif(
    not (SHARED / "reference" / "seed-feed.xml").is_file(),
    reason=f"shared reference data not found at {SHARED} (CI lays it beside the clone)",
)


def _reference_description() -> str:
    # The item's CDATA description exactly as RSSHub served it.
    root = etree.parse(str(SHARED / "reference" / "seed-feed.xml")).getroot()
    desc = root.findtext("channel/item/description")
    assert desc is not None
    return desc


@needs_shared
def test_reference_item_metadata_is_exact() -> None:
    art = clean_article(_reference_description(), url=REFERENCE_URL, title="工信部部署2022年六方面重点任务")
    assert art.profile == "sina"
    assert art.source == "中国新闻网"
    assert art.editor == "刘万里"
    assert art.reporters == ("刘育英",)
    assert art.dateline == "中新社北京12月20日电"
    # news_keyword_pub,stock, : "stock" is the market channel, and the ticker list is empty.
    assert art.keywords == ()
    # The only image is the 文末二维码 QR code: not content.
    assert art.images == ()
    assert art.header_image is None


@needs_shared
def test_reference_item_text() -> None:
    art = clean_article(_reference_description(), url=REFERENCE_URL)
    lines = art.text.split("\n")
    assert len(lines) == 7  # two opening paragraphs, then 二是 … 六是 (一是 opens paragraph two)
    assert lines[0].startswith(
        "中新社北京12月20日电 （记者 刘育英）全国工业和信息化工作会议20日在北京以视频形式召开。"
    )
    assert lines[1].startswith("会议总结2021年工作") and "一是着力提振工业经济" in lines[1]
    for i, ordinal in enumerate("二三四五六", start=2):
        assert lines[i].startswith(f"{ordinal}是"), lines[i]
    assert lines[-1].endswith("（完）")
    for bad in ("海量资讯", "责任编辑", "来源：", "appendQr", "文末二维码", "SF014", "\u3000"):
        assert bad not in art.text
        assert bad not in art.html
    assert art.html.count("<p>") == 7
    assert art.summary.startswith("中新社北京12月20日电") and art.summary.endswith("。")
    assert len(art.summary) <= 120
    assert art.char_count == len("".join(art.text.split()))


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("责任编辑：刘万里 SF014", "刘万里"),
        ("责任编辑：蒋晓桐 ", "蒋晓桐"),
        ("(责编：汤诗瑶、丁涛)", "汤诗瑶、丁涛"),
        ("【责任编辑:张樵苏\n】", "张樵苏"),
        ("【纠错】 责任编辑： 焦鹏", "焦鹏"),
        ("（编辑：严玉洁 王辉）", "严玉洁、王辉"),
        ("（责任编辑： HN666）", None),
    ],
)
def test_editor(line: str, expected: str | None) -> None:
    parsed = md.parse_editor(line)
    assert (parsed[1] if parsed else None) == expected


def test_editor_rank_prefers_responsible_editor() -> None:
    found = md.Found()
    found.offer_editor(md.parse_editor("（编辑：严玉洁 王辉）"))
    found.offer_editor(md.parse_editor("【责任编辑：严玉洁】"))
    assert found.editor == "严玉洁"


@pytest.mark.parametrize(
    ("text", "labelled", "expected"),
    [
        ("来源：中国新闻网", True, "中国新闻网"),
        ("来源：央视财经（ID：cctvyscj）", True, "央视财经"),
        ("来源：人民网-文化频道 原创稿", True, "人民网-文化频道"),
        ("原标题：西藏实现乡镇邮政网点全覆盖 来源：央视新闻客户端", True, "央视新闻客户端"),
        ("作者：李在山", True, None),
        ("新京报", False, "新京报"),
        ("石佳/中国青年报", False, "中国青年报"),
        ("104363", False, None),
        ("2023-11-17 15:13", False, None),
        ("澎湃新闻记者 周頔", False, None),
    ],
)
def test_source(text: str, labelled: bool, expected: str | None) -> None:
    assert md.parse_source(text, labelled=labelled) == expected


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (["中新社北京12月20日电 （记者 刘育英）全国工业和信息化工作会议20日召开。"], ("刘育英",)),
        (["新华社北京3月8日电 （记者 王建华 、李晓梅）国家统计局8日发布数据。"], ("王建华", "李晓梅")),
        (["财联社11月6日讯（记者：韩墨 王鹏 实习生 李想）据最新数据。"], ("韩墨", "王鹏", "李想")),
        (["【环球时报记者 赵觉珵 胡雨薇】中美“乒乓外交”50周年纪念活动24日举行。"], ("赵觉珵", "胡雨薇")),
        (["21世纪经济报道记者赵子健 北京报道 海关总署3月7日公布的数据显示"], ("赵子健",)),
        (["正文第一段。", "正文第二段。", "（深圳商报驻京记者 宋华）"], ("宋华",)),
        (["券商中国记者注意到，代销业务仍是诸券商重点关注的业务之一。"], ()),
        (["记者26日从交通运输部新闻发布会获悉，随着西藏交通运输事业的发展。"], ()),
        (["2月17日，护士蔡桃英在献血浆时拍照留念。新华社记者 才扬 摄"], ()),
    ],
)
def test_reporters(lines: list[str], expected: tuple[str, ...]) -> None:
    assert md.find_reporters(lines) == expected


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("本报记者 包兴安 见习记者 杨 洁", ("包兴安", "杨洁")),
        ("半月谈记者 史卫燕", ("史卫燕",)),
        ("记者：张三 李四", ("张三", "李四")),
        ("（记者 王五 、赵六 实习生 孙七）", ("王五", "赵六", "孙七")),
        ("（作者：赵子健）", ("赵子健",)),
        ("图表：张海彤", None),
        ("新华社记者 才扬 摄", None),
        ("券商中国记者注意到，代销业务仍是重点。", None),
    ],
)
def test_byline_only(line: str, expected: tuple[str, ...] | None) -> None:
    assert md.byline_only(line) == expected


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("中新社北京12月20日电 （记者 刘育英）全国工业", "中新社北京12月20日电"),
        ("新华社北京11月17日电 记者17日从国家卫生健康委获悉", "新华社北京11月17日电"),
        ("中新经纬客户端7月26日电 财政部网站26日公布数据", "中新经纬客户端7月26日电"),
        ("本报讯 长三角生态绿色一体化发展示范区执委会12日发布", "本报讯"),
        ("本报北京5月19日电 （记者 邱超奕）", "本报北京5月19日电"),
        ("财联社9月26日讯，今日", "财联社9月26日讯"),
        ("证券时报e公司讯，当升科技", "证券时报e公司讯"),
        ("新京报快讯（记者 裴剑飞）今日", "新京报快讯"),
        ("新浪科技讯 北京时间9月11日凌晨消息", "新浪科技讯"),
        ("据财联社9月26日消息，今日", None),
        ("1月24日，国务院发布方案", None),
        ("好消息，今天", None),
        ("国家电网公司今日宣布", None),
    ],
)
def test_dateline(line: str, expected: str | None) -> None:
    assert md.find_dateline([line]) == expected


def test_keywords_and_tickers() -> None:
    assert md.split_keywords("香港, 梁振英, 行政长官") == ["香港", "梁振英", "行政长官"]
    assert md.split_keywords("证券时报 天奇股份 午间公告") == ["证券时报", "天奇股份", "午间公告"]
    assert md.split_ticker_codes("sz000061&sh601818") == ["sz000061", "sh601818"]
    assert md.split_ticker_codes("") == []


def test_keywords_from_comment_and_meta() -> None:
    page = (
        '<html><head><meta name="keywords" content="苹果,新品"></head><body>'
        '<div id="artibody"><p>新浪科技讯 北京时间9月11日凌晨消息，苹果发布会开幕，新品亮相。</p>'
        "<!-- news_keyword_pub,usstock,AAPL&WB --></div></body></html>"
    )
    art = clean_article(page, url="https://tech.sina.com.cn/t/2019-09-11/doc-x.shtml")
    assert art.keywords == ("苹果", "新品", "AAPL", "WB")


def test_summary_cuts_at_sentence_end() -> None:
    lines = ["第一句话说明了事件的来龙去脉。" * 3, "第二段" + "很长的内容" * 30 + "。"]
    summary = md.make_summary(lines)
    assert summary.endswith("。") and len(summary) <= 120
    assert md.make_summary(["短文。"]) == "短文。"
    no_stop = md.make_summary(["没有句号的长文本" * 30])
    assert no_stop.endswith("…") and len(no_stop) == 121


def test_norm_line() -> None:
    assert md.norm_line("\u3000\u3000正文\n  内容 \xa0") == "正文内容"
    assert md.norm_line(" iPhone  11\n采用 ") == "iPhone 11 采用"
