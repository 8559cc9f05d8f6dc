"""Archives with insights made by hand, for the tests of the layers around the insights stage
(store, command line, pages): those test storage and presentation, not extraction."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from newsdesk.models import (
    Article,
    Change,
    ClusterMember,
    FeedSpec,
    FetchResult,
    Figure,
    Insights,
    InsightsOf,
    Official,
    ParsedEntry,
    Target,
    TaskItem,
    content_hash,
    entry_uid,
)
from newsdesk.store import SQLiteStore

FEED = FeedSpec(group="政策", site="新浪财经", name="部委", url="http://127.0.0.1:9/feed.xml")
OTHER = FeedSpec(group="政策", site="中国新闻网", name="财经", url="http://127.0.0.1:9/other.xml")
OK = FetchResult(url="http://127.0.0.1:9/feed.xml", status=200, text="")
NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
START = datetime(2026, 9, 7, 2, 0, tzinfo=UTC)  # a Monday, 10:00 in Beijing

REFERENCE = Insights(
    tasks=(
        TaskItem(
            1,
            "一是",
            "着力提振工业经济，为稳定经济大盘提供有力支撑",
            "一是着力提振工业经济，为稳定经济大盘提供有力支撑。",
        ),
        TaskItem(2, "二是", "加快推进基础和关键领域创新突破", "二是加快推进基础和关键领域创新突破。"),
        TaskItem(
            3, "三是", "实施工业领域碳达峰行动，稳步推进产业绿色低碳转型", "三是实施工业领域碳达峰行动。"
        ),
    ),
    targets=(
        Target(
            "千兆光网覆盖家庭",
            "超过",
            400000000.0,
            "户",
            "2022-12-31",
            "工业和信息化部",
            "到2022年底千兆光网具备覆盖超过4亿户家庭的能力。",
        ),
    ),
    figures=(
        Figure(
            "吸收外资",
            "全国",
            "2022-01..2022-05",
            481000000000.0,
            "元",
            Change("同比", 35.4, "%", "up"),
            "1-5月全国吸收外资4810亿元人民币，同比增长35.4%。",
        ),
    ),
    bodies=("工业和信息化部",),
    meetings=("全国工业和信息化工作会议",),
    officials=(Official("肖亚庆", "部长"),),
    terms=(("工业", 9), ("碳达峰", 3), ("工作", 3), ("光网", 2)),
    version=1,
)


def monthly(n: int, value: float) -> Insights:
    """A monthly statistics report: 房地产开发投资 of month `n` of 2026, 同比 `value` %."""
    return Insights(
        figures=(
            Figure(
                "房地产开发投资",
                "全国",
                f"2026-01..2026-{n:02d}",
                1.0e12 * n,
                "元",
                Change("同比", abs(value), "%", "down" if value < 0 else "up"),
                f"1-{n}月，全国房地产开发投资同比{'下降' if value < 0 else '增长'}{abs(value)}%。",
            ),
        ),
        terms=(("房地产", 4), ("投资", 3), ("工作", 2), *((("碳达峰", 1),) if n >= 8 else ())),
        version=1,
    )


def article(text: str) -> Article:
    return Article(
        html=f"<p>{text}</p>",
        text=text,
        summary=text[:50],
        char_count=len(text),
        images=(),
        header_image=None,
        source="新浪财经",
        editor=None,
        reporters=(),
        dateline=None,
        keywords=("门户标签",),
        profile="sina",
    )


def make_archive(path: Path) -> list[str]:
    """An archive of one reference-like article and six monthly reports a week apart, with their
    insights; their uids, reference first."""
    entries = [
        ParsedEntry(
            id="ref",
            title="工信部：2022年六项重点任务",
            link="https://finance.sina.com.cn/ref.shtml",
            published=START + timedelta(weeks=6),
            content="<p>一是着力提振工业经济</p>",
        )
    ]
    entries += [
        ParsedEntry(
            id=f"m{n}",
            title=f"国家统计局：1-{n}月全国房地产开发投资",
            link=f"https://finance.sina.com.cn/m{n}.shtml",
            published=START + timedelta(weeks=n - 3),
            content=f"<p>月报{n}</p>",
        )
        for n in range(3, 9)
    ]
    values = {3: -5.0, 4: -6.2, 5: -7.1, 6: -7.9, 7: -8.5, 8: -8.8}
    store = SQLiteStore(path)
    try:
        items = [
            InsightsOf(
                entry_uid(FEED.key, entries[0].id),
                content_hash(entries[0]),
                entries[0].published or NOW,
                REFERENCE,
            )
        ]
        items += [
            InsightsOf(entry_uid(FEED.key, e.id), content_hash(e), e.published or NOW, monthly(n, values[n]))
            for n, e in zip(range(3, 9), entries[1:], strict=True)
        ]
        store.save_insights(items)
        store.save_fetch(FEED, OK, entries, NOW, articles={e.id: article(e.title) for e in entries})
        # Another outlet republishes the reference story: a story of two outlets that day.
        copy = replace(entries[0], id="copy", link="https://www.chinanews.com.cn/copy.shtml")
        store.save_fetch(OTHER, OK, [copy], NOW, articles={"copy": article(copy.title)})
        ref, other = entry_uid(FEED.key, "ref"), entry_uid(OTHER.key, "copy")
        when = entries[0].published or NOW
        store.save_clusters(
            [
                ClusterMember(ref, "story-1", FEED.key, when, "first", 1.0),
                ClusterMember(other, "story-1", OTHER.key, when + timedelta(hours=1), "link", 1.0),
            ],
            [],
            detached=[],
            mark=store.max_rev(),
        )
    finally:
        store.close()
    return [entry_uid(FEED.key, e.id) for e in entries]
