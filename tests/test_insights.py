"""The insights stage: the reference article, each rule on its own, and bad input."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from newsdesk.clean import clean_article
from newsdesk.insights import extract, rank_keywords
from newsdesk.insights.entities import aliases
from newsdesk.insights.quantities import MAX_PER_ARTICLE
from newsdesk.insights.tasks import MAX_ITEMS
from newsdesk.insights.text import MAX_CHARS
from newsdesk.models import Article, Change, Figure, Insights, Official, Target, TaskItem

SHARED = Path(__file__).resolve().parents[2] / "shared"
REFERENCE_URL = "https://finance.sina.com.cn/china/gncj/2021-12-20/doc-example0001.shtml"
needs_shared = pytest.mark.skipif(
    not (SHARED / "reference" / "seed-feed.xml").is_file(),
    reason=f"shared reference data not found at {SHARED} (CI lays it beside the clone)",
)


@needs_shared
def test_reference_article() -> None:
    # The seed item through the real cleaning stage, then the insights stage.
    item = etree.parse(str(SHARED / "reference" / "seed-feed.xml")).getroot().find("channel/item")
    assert item is not None
    title, html = item.findtext("title"), item.findtext("description")
    assert title is not None and html is not None
    article = clean_article(html, url=REFERENCE_URL, title=title)
    found = extract(article, title, datetime(2021, 12, 20, 15, 0, 52, tzinfo=UTC))

    tasks = [t for t in found.tasks if t.kind == "tasks"]
    assert [(t.ordinal, t.marker) for t in tasks] == [
        (i, f"{c}是") for i, c in enumerate("一二三四五六", start=1)
    ]
    assert [t.lead for t in tasks] == [
        "着力提振工业经济，为稳定经济大盘提供有力支撑",
        "加快推进基础和关键领域创新突破，进一步增强产业链供应链韧性",
        "加大对中小企业的纾困帮扶，促进企业专精特新发展",
        "强化应用导向，提升信息通信服务供给能力",
        "推动制造业数字化转型向纵深拓展，增强产业发展新优势新动能",
        "实施工业领域碳达峰行动，稳步推进产业绿色低碳转型",
    ]
    assert tasks[3].text.startswith("强化应用导向") and "4亿户家庭" in tasks[3].text
    assert all(t.run == tasks[0].run for t in tasks)

    assert len(found.targets) == 1
    target = found.targets[0]
    assert (target.metric, target.comparator, target.value, target.unit, target.deadline) == (
        "千兆光网覆盖家庭",
        "超过",
        400000000,
        "户",
        "2022-12-31",
    )
    assert target.sentence.endswith("到2022年底千兆光网具备覆盖超过4亿户家庭的能力。")
    assert found.bodies == ("工业和信息化部",)
    assert found.meetings == ("全国工业和信息化工作会议",)
    assert found.officials == (Official("肖亚庆", "部长"),)
    assert found.figures == ()
    assert found.notes == ()
    terms = dict(found.terms)
    assert terms["制造业"] == 5 and "的" not in terms


# --- the rules, one by one ---------------------------------------------------------------------

PUBLISHED = datetime(2022, 6, 20, 2, 0, tzinfo=UTC)


def _article(text: str) -> Article:
    return replace(clean_article("<p>正文</p>", url=None), text=text)


def _extract(text: str, published: datetime | None = PUBLISHED, title: str = "") -> Insights:
    return extract(_article(text), title, published)


def test_issue_example_figure() -> None:
    found = _extract("1-5月全国吸收外资4810亿元人民币，同比增长35.4%。")
    assert found.figures == (
        Figure(
            "吸收外资",
            "全国",
            "2022-01..2022-05",
            481000000000,
            "元",
            Change("同比", 35.4, "%", "up"),
            "1-5月全国吸收外资4810亿元人民币，同比增长35.4%。",
        ),
    )
    assert found.targets == ()


@pytest.mark.parametrize(
    ("sentence", "deadline"),
    [
        ("到2022年底，全国5G基站超过200万个。", "2022-12-31"),
        ("到2022年，全国5G基站超过200万个。", "2022-12-31"),
        ("2022年前，全国5G基站超过200万个。", "2022-12-31"),
        ("到“十四五”末，全国5G基站超过200万个。", "2025-12-31"),
        ("今年全国5G基站力争超过200万个。", "2022-12-31"),
        ("明年全国5G基站超过200万个。", "2023-12-31"),
        ("力争明年一季度末全国5G基站超过200万个。", "2023-03-31"),
        ("到2023年6月底，全国5G基站超过200万个。", "2023-06-30"),
        ("力争全国5G基站超过200万个。", None),
    ],
)
def test_target_deadlines(sentence: str, deadline: str | None) -> None:
    found = _extract(sentence)
    assert [(t.value, t.unit, t.deadline) for t in found.targets] == [(2000000, "个", deadline)]
    assert found.figures == ()


@pytest.mark.parametrize(
    ("sentence", "comparator"),
    [
        ("到2025年，城镇化率达到65%。", "达到"),
        ("到2025年，城镇化率不低于65%。", "不低于"),
        ("到2025年，城镇化率65%以上。", "以上"),
        ("到2025年，城镇化率达到65%左右。", "左右"),
        ("到2025年，失业率控制在5.5%以内。", "以内"),
        ("到2025年，失业率控制在5.5%。", "控制在"),
    ],
)
def test_target_comparators(sentence: str, comparator: str) -> None:
    (target,) = _extract(sentence).targets
    assert target.comparator == comparator


def test_a_deadline_already_past_reports_a_figure() -> None:
    found = _extract("到2020年底，全国铁路营业里程达到14.6万公里。")
    assert found.targets == ()
    assert [(f.value, f.unit) for f in found.figures] == [(146000, "公里")]


@pytest.mark.parametrize(
    ("sentence", "period"),
    [
        ("1-5月，全国社会消费品零售总额1000亿元。", "2022-01..2022-05"),
        ("11月份，全国社会消费品零售总额1000亿元。", "2021-11"),
        ("三季度，全国社会消费品零售总额1000亿元。", "2021-Q3"),
        ("前三季度，全国社会消费品零售总额1000亿元。", "2021-Q1..2021-Q3"),
        ("上半年，全国社会消费品零售总额1000亿元。", "2022-H1"),
        ("2021年，全国社会消费品零售总额1000亿元。", "2021"),
        ("今年前5个月，全国社会消费品零售总额1000亿元。", "2022-01..2022-05"),
    ],
)
def test_figure_periods(sentence: str, period: str) -> None:
    (figure,) = _extract(sentence).figures
    assert figure.period == period  # a month later than the article's is last year's


@pytest.mark.parametrize(
    ("sentence", "change"),
    [
        ("CPI同比上涨2.1%。", Change("同比", 2.1, "%", "up")),
        ("CPI环比下降0.2%。", Change("环比", 0.2, "%", "down")),
        ("涨幅比上月回落0.6个百分点。", Change("环比", 0.6, "个百分点", "down")),
        ("利润两年平均增长18.9%。", Change("两年平均", 18.9, "%", "up")),
        ("利润比2019年同期增长31.1%。", Change("较基期", 31.1, "%", "up")),
        ("煤炭行业利润同比增长2.41倍。", Change("同比", 241.0, "%", "up")),
        ("LPR较上月下降15个基点。", Change("环比", 0.15, "个百分点", "down")),
    ],
)
def test_changes(sentence: str, change: Change) -> None:
    (figure,) = _extract(sentence).figures
    assert figure.change == change
    assert figure.value is None


def test_list_of_values_pairs_with_list_of_changes() -> None:
    found = _extract("机电产品、农产品分别进口1.11万亿元、2254.4亿元，增长6.7%、7.7%。")
    assert [(f.value, f.change and f.change.value) for f in found.figures] == [
        (1110000000000, 6.7),
        (225440000000, 7.7),
    ]


def test_chinese_numerals_and_magnitudes() -> None:
    found = _extract("上半年全国新增减税降费四千二百亿元，惠及市场主体一千五百万户，覆盖四亿户家庭。")
    assert [(f.value, f.unit) for f in found.figures] == [(4.2e11, "元"), (1.5e7, "户"), (4e8, "户")]


def test_numbered_run_forms() -> None:
    text = "\n".join(
        [
            "会议部署：（一）全力以赴优化营商环境；（二）持续加强质量强国建设。",
            "一、加快推进重大项目建设。各地要抓紧推进。",
            "二、用好地方政府专项债券。",
            "1. 稳定汽车消费。",
            "2. 支持家电以旧换新。",
            "要把握三点：首先，要坚持规划引领；其次，要坚持民生优先；最后，要坚持可持续。",
            "第一，坚持稳字当头；第二，坚持精准发力。",
        ]
    )
    runs: dict[int, list[TaskItem]] = {}
    for item in _extract(text).tasks:
        runs.setdefault(item.run, []).append(item)
    assert [[(t.marker, t.lead) for t in run] for run in runs.values()] == [
        [("（一）", "全力以赴优化营商环境"), ("（二）", "持续加强质量强国建设")],
        [("一、", "加快推进重大项目建设"), ("二、", "用好地方政府专项债券")],
        [("1.", "稳定汽车消费"), ("2.", "支持家电以旧换新")],
        [("首先", "要坚持规划引领"), ("其次", "要坚持民生优先"), ("最后", "要坚持可持续")],
        [("第一", "坚持稳字当头"), ("第二", "坚持精准发力")],
    ]
    assert all(t.kind == "tasks" for run in runs.values() for t in run)


def test_runs_that_are_not_tasks_are_kept_apart() -> None:
    qa = _extract("一、为什么要出台这项政策？\n答：为了稳增长。\n二、主要内容是什么？\n答：三方面。")
    assert {t.kind for t in qa.tasks} == {"headings"}
    stats = _extract(
        "一是经济总量再上新台阶。全年国内生产总值1210207亿元，比上年增长3.0%。"
        "二是居民收入继续增长。全国居民人均可支配收入36883元，比上年名义增长5.0%。"
    )
    assert {t.kind for t in stats.tasks} == {"figures"}
    steps = _extract("开户只需三步：第一步，开立账户；第二步，选择产品。")
    assert {t.kind for t in steps.tasks} == {"steps"}
    # 统一是 and 第一次 are not markers; one item alone is not a run.
    assert _extract("统一是关键。他第一次来。一是加强领导。").tasks == ()


@pytest.mark.parametrize(
    ("text", "bodies"),
    [
        ("工信部、央行、国家发改委联合发文。", ("工业和信息化部", "中国人民银行", "国家发展和改革委员会")),
        ("国务院办公厅印发通知。", ("国务院办公厅",)),
        (
            "中国证监会、银保监会、外汇局、上交所表示。",
            ("中国证券监督管理委员会", "中国银行保险监督管理委员会", "国家外汇管理局", "上海证券交易所"),
        ),
        ("各地财政部门要落实。四川省统计局发布数据。美国央行加息。", ()),
        ("新华社北京5月19日电 国务院印发纲要。", ("国务院",)),
    ],
)
def test_bodies(text: str, bodies: tuple[str, ...]) -> None:
    assert _extract(text).bodies == bodies


def test_every_body_alias_maps_to_one_canonical_name() -> None:
    table = aliases()
    assert len(set(table.values())) >= 100
    for canonical in (
        "工业和信息化部",
        "中国人民银行",
        "国家金融监督管理总局",
        "中国证券监督管理委员会",
        "国家外汇管理局",
        "上海证券交易所",
        "深圳证券交易所",
        "北京证券交易所",
    ):
        assert table[canonical] == canonical
    assert table["工信部"] == "工业和信息化部" and table["央行"] == "中国人民银行"


def test_meetings_and_officials() -> None:
    found = _extract(
        "国务院总理李克强主持召开国务院常务会议。财政部部长刘昆出席全国财政工作会议。行长易纲表示。"
    )
    assert found.meetings == ("国务院常务会议", "全国财政工作会议")
    assert found.officials == (
        Official("李克强", "国务院总理"),
        Official("刘昆", "部长"),
        Official("易纲", "行长"),
    )


def test_terms_and_keyword_ranking() -> None:
    found = _extract("推进碳达峰工作。碳达峰是重点工作，工作要扎实。碳达峰行动方案。")
    terms = dict(found.terms)
    assert terms["碳达峰"] == 3 and "的" not in terms and "工作" not in terms  # 工作 is a stop-word
    counts = [("工作", 3), ("碳达峰", 2), ("发展", 2)]
    # 工作 is in every document of the archive, 碳达峰 in few: it ranks first though rarer here.
    assert rank_keywords(counts, {"工作": 1000, "碳达峰": 3, "发展": 900}, 1000, 1) == ["碳达峰"]
    assert rank_keywords(counts, {}, 0, 5) == ["工作", "发展", "碳达峰"]  # ties: by count, then the term
    assert rank_keywords(counts, {"工作": 1}, 10, 0) == []


# --- bad input: no crash, bounded work, what was extracted plus notes --------------------------


def test_one_5_mb_paragraph() -> None:
    unit = "一是加快推进工业经济，1-5月全国规模以上工业增加值同比增长5.0%，到2025年底覆盖家庭达到4亿户；"
    text = unit * (5 * 1024 * 1024 // len(unit.encode()))
    assert len(text.encode()) > 5_000_000 and "\n" not in text
    found = _extract(text)
    assert len(found.targets) == MAX_PER_ARTICLE
    assert found.targets[0] == Target(
        "覆盖家庭", "达到", 400000000, "户", "2025-12-31", None, found.targets[0].sentence
    )
    assert f"more than {MAX_PER_ARTICLE} targets: the rest not kept" in found.notes
    assert f"text longer than {MAX_CHARS} characters: read the first {MAX_CHARS} only" in found.notes
    assert found.figures[0].change == Change("同比", 5.0, "%", "up")
    assert dict(found.terms)["工业"] > 10_000
    assert all(len(t.sentence) <= 100_001 for t in found.targets)


def test_500_numbered_items() -> None:
    text = "\n".join(f"{i}. 第{i}项任务，加快推进工作。" for i in range(1, 501))
    found = _extract(text)
    assert [t.ordinal for t in found.tasks] == list(range(1, MAX_ITEMS + 1))
    assert found.tasks[0].lead == "第1项任务，加快推进工作"
    assert f"more than {MAX_ITEMS} numbered items: the rest not kept" in found.notes


def test_numbers_beyond_1e20() -> None:
    found = _extract(
        "数据存储量达到123456789012345678901234亿条，常住人口为1200万人。另有" + "9" * 80 + "元。"
    )
    assert [(f.value, f.unit) for f in found.figures] == [(12000000, "人")]
    assert "number beyond 10^20 dropped: 123456789012345678901234亿条" in found.notes
    assert "a run of more than 60 digits is not read as a number" in found.notes


def test_a_date_that_does_not_exist() -> None:
    found = _extract("各单位须于2022年2月30日前报送材料。到2022年12月底，全市新建保障性租赁住房3万套。")
    assert [(t.value, t.deadline) for t in found.targets] == [(30000, "2022-12-31")]
    assert "no such date: 2月30日" in found.notes


def test_full_width_digits() -> None:
    found = _extract("２０２２年１－５月，全国吸收外资４８１０亿元，同比增长３５．４％。")
    (figure,) = found.figures
    assert (figure.period, figure.value, figure.unit, figure.change) == (
        "2022-01..2022-05",
        481000000000,
        "元",
        Change("同比", 35.4, "%", "up"),
    )
    assert "full-width digits or letters read as half-width" in found.notes


def test_no_date_and_no_text() -> None:
    assert _extract("", None) == Insights(version=found_version())
    found = _extract("今年全国5G基站力争超过200万个。", None)
    assert [(t.value, t.deadline) for t in found.targets] == [(2000000, None)]


def found_version() -> int:
    return extract(_article(""), "", None).version


@settings(max_examples=60, deadline=None)
@given(
    st.text(
        alphabet="一二三四五六七八九十是第、（）()1234567890.%亿万元年月日底前到至同比增长下降，。；：\n 部委局国务院工信央行",
        max_size=300,
    )
)
def test_any_text_is_read_without_failing(text: str) -> None:
    found = _extract(text)
    for item in found.tasks:
        assert item.ordinal >= 1 and item.kind in ("tasks", "figures", "headings", "steps")
    for value in [t.value for t in found.targets] + [f.value for f in found.figures]:
        assert value is None or abs(value) < 1e20


def test_bare_numbers_in_a_list_take_the_unit_of_the_last() -> None:
    found = _extract("涨幅比上月分别扩大7.3和7.4个百分点。煤炭、化工行业投资分别为1、2、3亿元。")
    assert [(f.value, f.unit, f.change and f.change.value) for f in found.figures] == [
        (None, "", 7.3),
        (None, "", 7.4),
        (100000000, "元", None),
        (200000000, "元", None),
        (300000000, "元", None),
    ]
