"""The static site's insight pages over an archive whose insights were stored by hand: the
要点 box on article pages, the targets tracker, metric and trend pages with their SVG charts,
the daily brief and brief.xml; escaped, without inline script or style, stable, incremental."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import quote

import pytest

from insights_helpers import FEED, NOW, OTHER, REFERENCE, make_archive
from newsdesk.config import Config
from newsdesk.models import InsightsOf, Target, entry_uid
from newsdesk.publish.site import PoolOptions, build_site
from newsdesk.publish.site.insight_pages import metric_path, target_body_path, term_path
from newsdesk.store import SQLiteStore

SVG = "{http://www.w3.org/2000/svg}"
DAY = date(2026, 10, 20)  # the build's clock


@pytest.fixture
def built(tmp_path: Path) -> Iterator[tuple[SQLiteStore, Config, Path, list[str]]]:
    uids = make_archive(tmp_path / "archive.db")
    store = SQLiteStore(tmp_path / "archive.db")
    config = Config.model_validate(
        {"base_dir": tmp_path, "site_dir": "site", "base_url": "https://news.example.org/"}
    )
    build_site(store, config, day=DAY, pool=PoolOptions(parallel=False))
    yield store, config, tmp_path / "site", uids
    store.close()


def page(site: Path, path: str) -> str:
    return (site / path).read_text("utf-8")


def no_inline_code(html: str) -> None:
    assert not re.search(r"<script(?![^>]*\bsrc=)", html) and " style=" not in html and "<style" not in html


def test_article_page_has_the_box(built: tuple[SQLiteStore, Config, Path, list[str]]) -> None:
    _, _, site, uids = built
    html = page(site, f"a/{uids[0][:2]}/{uids[0]}.html")
    box = re.search(r'<aside class="insights".*?</aside>', html, re.S)
    assert box is not None
    leads = re.findall(
        r'<li value="(\d)" id="task-1-\d"><span class="marker">(.*?)</span> (.*?)</li>', box[0]
    )
    assert leads[0] == ("1", "一是", "着力提振工业经济，为稳定经济大盘提供有力支撑") and len(leads) == 3
    row = re.search(r'<tr id="target-1">(.*?)</tr>', box[0], re.S)
    assert (
        row is not None
        and "千兆光网覆盖家庭" in row[1]
        and "超过 400000000户" in row[1]
        and "2022-12-31" in row[1]
    )
    assert '<tr id="figure-1">' in box[0] and "同比增长35.4%" in box[0] and "481000000000元" in box[0]
    assert "部长 肖亚庆" in box[0] and "全国工业和信息化工作会议" in box[0] and "关键词" in box[0]
    # The box comes before the article's text, which is still the sanitiser's output.
    assert html.index('class="insights"') < html.index('<div class="body">')
    no_inline_code(html)
    assert 'class="insights"' in page(site, f"a/{uids[1][:2]}/{uids[1]}.html")  # figures alone
    # An entry without insights has no box.
    copy = entry_uid(OTHER.key, "copy")
    assert 'class="insights"' not in page(site, f"a/{copy[:2]}/{copy}.html")


def test_tracker_metric_trend_and_brief_pages(built: tuple[SQLiteStore, Config, Path, list[str]]) -> None:
    _, _, site, uids = built
    # Due 2022-12-31: overdue, and more than a year before the build's day, so on its year's
    # page and its body's, not on the tracker's front page (what is due or overdue within a year).
    tracker = page(site, "insights/targets.html")
    assert "状态以 2026-10-20" in tracker and '已到期 <span class="n">1</span>' in tracker
    assert 'href="../insights/targets/2022.html">2022年</a>' in tracker and "<tbody>" not in tracker
    for path in ("insights/targets/2022.html", target_body_path("工业和信息化部")):
        row = re.search(r'<tr class="status-overdue">(.*?)</tr>', page(site, path), re.S)
        assert row is not None and "已到期" in row[1] and "千兆光网覆盖家庭" in row[1], path
        assert f'a/{uids[0][:2]}/{uids[0]}.html#target-1"' in row[1]
    by_body = page(site, "insights/targets-by-body.html")
    assert re.search(
        r'<td><a href="../insights/targets/body/[^"]+">工业和信息化部</a></td><td class="num">1</td>', by_body
    )

    metric = page(site, metric_path("房地产开发投资"))
    svg = ET.fromstring(re.search(r"<svg.*?</svg>", metric, re.S)[0])  # type: ignore[index]
    assert svg.find(f"{SVG}title").text == "房地产开发投资（同比（%））"  # type: ignore[union-attr]
    texts = {t.text for t in svg.iter(f"{SVG}text")}
    assert {"时期", "同比（%）"} <= texts
    assert len(list(svg.iter(f"{SVG}circle"))) == 6
    table = re.findall(r"<tr><td>(2026-01\.\.2026-\d\d)</td><td class=\"num\">(.*?)</td></tr>", metric)
    assert table == [
        ("2026-01..2026-03", "-5"),
        ("2026-01..2026-04", "-6.2"),
        ("2026-01..2026-05", "-7.1"),
        ("2026-01..2026-06", "-7.9"),
        ("2026-01..2026-07", "-8.5"),
        ("2026-01..2026-08", "-8.8"),
    ]
    assert "房地产开发投资" in page(site, "insights/metrics/index.html")

    trends = page(site, "insights/trends/index.html")
    assert "关键词趋势" in trends and quote(term_path("工作").removeprefix("insights/trends/")) in trends
    term = page(site, term_path("碳达峰"))
    assert re.findall(r"<tr><td>(2026-10-\d\d)</td><td class=\"num\">(\d)</td></tr>", term)[-3:] == [
        ("2026-10-05", "0"),
        ("2026-10-12", "1"),
        ("2026-10-19", "1"),
    ]
    ET.fromstring(re.search(r"<svg.*?</svg>", term, re.S)[0])  # type: ignore[index]

    day = "2026-10-19"  # the reference article's day (10:00 in Beijing)
    brief = page(site, f"insights/brief/{day}.html")
    story = re.search(r'<ol class="stories">(.*?)</ol>', brief, re.S)
    assert story is not None and "工信部：2022年六项重点任务" in story[1] and "2 家媒体" in story[1]
    assert "千兆光网覆盖家庭" in brief
    assert day in page(site, "insights/brief/index.html")
    feed = ET.fromstring((site / "brief.xml").read_bytes())
    items = feed.findall("channel/item")
    assert items[0].findtext("title") == f"每日简报 {day}"
    assert items[0].findtext("link") == f"https://news.example.org/insights/brief/{day}.html"
    assert "千兆光网覆盖家庭" in (items[0].findtext("description") or "")
    for path in (site / "insights").rglob("*.html"):
        html = path.read_text("utf-8")
        no_inline_code(html)
        assert '<html lang="zh-CN">' in html


def test_builds_are_incremental_and_escape_the_data(
    built: tuple[SQLiteStore, Config, Path, list[str]],
) -> None:
    store, config, site, uids = built
    assert build_site(store, config, day=DAY, pool=PoolOptions(parallel=False)).written == 0
    # The next day: only the tracker's four pages (front, 2022, by body, the body's) say the day.
    next_day = build_site(store, config, day=DAY + timedelta(days=1), pool=PoolOptions(parallel=False))
    assert next_day.written == 4
    # New insights for the reference article (as `reinsight` stores them): its page, the tracker
    # and the pages listing its targets change, the others stay.
    evil = Target("<script>alert(1)</script>", "达到", 5.0, "%", "2027-06-30", "工业和信息化部", "<b>句</b>")
    e = store.get_entry(uids[0])
    assert e is not None
    store.save_insights(
        [
            InsightsOf(
                uids[0],
                e.content_hash,
                e.published or NOW,
                REFERENCE.__class__(**{**vars(REFERENCE), "targets": (evil,)}),
            )
        ],
        bump=True,
    )
    report = build_site(store, config, day=DAY + timedelta(days=1), pool=PoolOptions(parallel=False))
    assert 0 < report.written < 30
    tracker = page(site, "insights/targets.html")  # due 2027-06-30: within a year
    assert "<script>alert" not in tracker and "&lt;script&gt;alert(1)&lt;/script&gt;" in tracker
    article = page(site, f"a/{uids[0][:2]}/{uids[0]}.html")
    assert "&lt;script&gt;alert(1)" in article and "&lt;b&gt;句&lt;/b&gt;" in article
    # Worker processes render the same article pages, box included.
    config_p = config.model_copy(update={"site_dir": "site-p"})
    build_site(store, config_p, day=DAY + timedelta(days=1), pool=PoolOptions(parallel=True, workers=1))
    assert page(site.parent / "site-p", f"a/{uids[0][:2]}/{uids[0]}.html") == article
    assert FEED.key in store.get_entry(uids[0]).feed_key  # type: ignore[union-attr]


def test_publishing_catches_pending_insights_up_first(
    built: tuple[SQLiteStore, Config, Path, list[str]],
) -> None:
    from newsdesk.publish.base import get_publisher, run_publisher

    store, config, site, _ = built
    copy = entry_uid(OTHER.key, "copy")
    # Stored by hand without insights: pending, and its page was built without a box.
    assert store.pending_insights() == [copy]
    rev = store.get_entry(copy).rev  # type: ignore[union-attr]
    run_publisher(get_publisher("site"), store, config)
    assert store.pending_insights() == []
    # Moved on, so a page built before is built again (here, at once: the catch-up came first).
    assert store.get_entry(copy).rev > rev  # type: ignore[union-attr]
    assert 'class="insights"' in page(site, f"a/{copy[:2]}/{copy}.html")
