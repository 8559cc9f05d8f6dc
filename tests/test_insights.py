"""The insights stage: the reference article, each rule on its own, and bad input."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from lxml import etree

from newsdesk.clean import clean_article
from newsdesk.insights import extract
from newsdesk.models import Official

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
