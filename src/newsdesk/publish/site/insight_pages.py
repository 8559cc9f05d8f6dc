"""The site's insight pages (issue 18): the targets tracker, a page per recurring metric with
its chart, keyword trend pages, and a daily brief with its feed. Each page is planned from
small query results (the store's insight tables and weekly aggregates, never the articles) and
rendered only when its inputs' key changed, like every other page of the site.

    insights/index.html                        要点 overview: links to all of the below
    insights/targets.html                      targets overdue or due within a year (status marked)
    insights/targets/YYYY.html, none.html      targets due in a year, or without a deadline
    insights/targets-by-body.html              issuing bodies with their counts
    insights/targets/body/<slug>.html          one body's targets by deadline
    insights/metrics/index.html                recurring metrics
    insights/metrics/<slug>.html               one metric: chart + table of its values by period
    insights/trends/index.html                 top terms of the last weeks, rising terms
    insights/trends/<slug>.html                one term: articles per week, chart + table
    insights/brief/index.html                  the daily briefs
    insights/brief/YYYY-MM-DD.html             one day: biggest stories, new targets, figures, rising terms
    brief.xml                                  RSS of the daily briefs
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from markupsafe import Markup, escape

from ...models import ReportedFigure, TrackedTarget
from ...store import Store
from ..insights_view import (
    STATUS_LABELS,
    brief_summary,
    change_text,
    clusters_since,
    day_start,
    monday,
    number_text,
    series,
    target_status,
    weeks_ending,
)
from .charts import chart
from .feed_formats import FeedInfo, FeedItem, render_rss
from .model import EntryRecord, article_path, local_time, slug
from .output import Output, digest
from .render import Renderer

ROOT = "insights/"
METRIC_PAGES = 200  # recurring metrics with a page of their own, most reported first
TREND_WEEKS = 12  # weeks on the trends overview
TERM_WEEKS = 26  # weeks on a term's page
TOP_TERMS = 30  # terms with a page: the most frequent of the overview's weeks ...
RISING_TERMS = 20  # ... and the rising ones of the newest week
BRIEF_DAYS = 30  # days with a brief: the newest days that have entries
BRIEF_STORIES = 10
TRACKER_ROWS = 1000  # targets on one tracker page (the rest: a count, and the year pages)
METRIC_REPORTS = 200  # reports listed on a metric's page (the chart covers all its periods)


def target_year_path(year: str) -> str:
    """Targets due in `year` (YYYY), or without a deadline ("none")."""
    return f"{ROOT}targets/{year}.html"


def target_body_path(body: str) -> str:
    return f"{ROOT}targets/body/{slug(body)}.html"


def metric_path(metric: str) -> str:
    return f"{ROOT}metrics/{slug(metric)}.html"


def term_path(term: str) -> str:
    return f"{ROOT}trends/{slug(term)}.html"


def brief_path(day: str) -> str:
    return f"{ROOT}brief/{day}.html"


def target_anchor(uid: str, index: int) -> str:
    """The target's row in its article's 要点 box (index 0-based; the anchor is 1-based)."""
    return f"{article_path(uid)}#target-{index + 1}"


def _target_row(t: TrackedTarget, today: date) -> tuple[Any, ...]:
    g = t.target
    status = target_status(g.deadline, today)
    return (
        target_anchor(t.ref.uid, t.ref.index),
        t.ref.title,
        t.ref.site,
        int(t.ref.when.timestamp()),
        g.metric,
        g.comparator,
        number_text(g.value),
        g.unit,
        g.deadline,
        g.body,
        g.sentence,
        status,
        STATUS_LABELS[status],
    )


def _figure_row(f: ReportedFigure) -> tuple[Any, ...]:
    x = f.figure
    change = change_text(x.change)
    return (
        f"{article_path(f.ref.uid)}#figure-{f.ref.index + 1}",
        f.ref.title,
        int(f.ref.when.timestamp()),
        x.metric,
        x.scope or "",
        x.period or "",
        number_text(x.value),
        x.unit,
        change,
    )


@dataclass
class InsightPages:
    store: Store
    out: Output
    renderer: Renderer
    global_key: str
    today: date  # the build's clock, in Beijing: what is overdue and due soon
    base_url: str | None
    site_title: str

    def write(self, records: Iterable[EntryRecord]) -> None:
        links = [
            ("目标追踪（按期限）", f"{ROOT}targets.html"),
            ("目标追踪（按机构）", f"{ROOT}targets-by-body.html"),
            ("经济数据", f"{ROOT}metrics/"),
            ("关键词趋势", f"{ROOT}trends/"),
            ("每日简报", f"{ROOT}brief/"),
        ]
        self._page(f"{ROOT}index.html", "insights_index.html", "要点", links=links)
        self._targets()
        self._metrics()
        rising = self._trends()
        self._briefs(records, rising)

    def _page(
        self, path: str, template: str, title: str, crumbs: Sequence[tuple[str, str]] = (), **ctx: Any
    ) -> None:
        key = digest(self.global_key, path, template, title, list(crumbs), ctx)
        if self.out.fresh(path, key):
            return
        trail = [("首页", ""), *(crumbs or ([("要点", ROOT)] if path != f"{ROOT}index.html" else []))]
        data = self.renderer.render(template, path, crumbs=trail, page_title=title, **ctx)
        self.out.put(path, key, data)

    # -- targets -------------------------------------------------------------------------
    def _targets(self) -> None:
        """The tracker: its front page (what is overdue or due within a year of the build's
        day), a page per deadline year and per body, so no page lists the whole archive."""
        rows = [_target_row(t, self.today) for t in self.store.list_targets()]
        counts = Counter(r[11] for r in rows)
        summary = [
            (STATUS_LABELS[s], counts.get(s, 0)) for s in ("overdue", "due-soon", "open", "no-deadline")
        ]
        low, high = (
            (self.today - timedelta(days=365)).isoformat(),
            (self.today + timedelta(days=365)).isoformat(),
        )
        current = [r for r in rows if r[8] is not None and low <= r[8] <= high]
        by_year: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
        by_body: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
        for r in rows:
            by_year[r[8][:4] if r[8] else "none"].append(r)
            by_body[r[9] or "未注明机构"].append(r)
        years = [(y, target_year_path(y), len(by_year[y])) for y in sorted(by_year)]
        crumbs = [("要点", ROOT), ("目标追踪", f"{ROOT}targets.html")]
        self._tracker(f"{ROOT}targets.html", "目标追踪", [], current, summary=summary, years=years)
        for year, path, _ in years:
            title = f"目标追踪：{year}年到期" if year != "none" else "目标追踪：未定期限"
            self._tracker(path, title, crumbs, by_year[year])
        groups = sorted(by_body.items(), key=lambda kv: (-len(kv[1]), kv[0]))
        bodies = []
        for body, listed in groups:
            status = Counter(r[11] for r in listed)
            path = target_body_path(body)
            bodies.append((body, path, len(listed), status.get("overdue", 0), status.get("due-soon", 0)))
            self._tracker(
                path, f"目标追踪：{body}", [*crumbs, ("按机构", f"{ROOT}targets-by-body.html")], listed
            )
        self._tracker(f"{ROOT}targets-by-body.html", "目标追踪（按机构）", crumbs, [], bodies=bodies)

    def _tracker(
        self,
        path: str,
        title: str,
        crumbs: list[tuple[str, str]],
        rows: list[tuple[Any, ...]],
        *,
        summary: Sequence[tuple[str, int]] = (),
        years: Sequence[tuple[str, str, int]] = (),
        bodies: Sequence[tuple[str, str, int, int, int]] = (),
    ) -> None:
        """One page of the tracker: at most TRACKER_ROWS of `rows`, the rest counted."""
        self._page(
            path,
            "insights_targets.html",
            title,
            crumbs=crumbs,
            rows=rows[:TRACKER_ROWS],
            more=max(0, len(rows) - TRACKER_ROWS),
            summary=list(summary),
            years=list(years),
            bodies=list(bodies),
            today=self.today.isoformat(),
        )

    # -- metrics -------------------------------------------------------------------------
    def _metrics(self) -> None:
        listed: list[tuple[str, str, int]] = []
        for metric, n in self.store.figure_metrics()[:METRIC_PAGES]:
            figures = self.store.list_figures(metric=metric)
            listed.append((metric, metric_path(metric), n))
            labels, values, y_label = _metric_series(figures)
            svg = (
                chart(f"{metric}（{y_label}）", labels, values, x_label="时期", y_label=y_label)
                if labels
                else None
            )
            self._page(
                metric_path(metric),
                "insights_metric.html",
                metric,
                crumbs=[("要点", ROOT), ("经济数据", f"{ROOT}metrics/")],
                metric=metric,
                svg=svg,
                points=list(zip(labels, [number_text(v) for v in values], strict=True)),
                y_label=y_label,
                rows=[_figure_row(f) for f in figures[-METRIC_REPORTS:]][::-1],
                more=max(0, len(figures) - METRIC_REPORTS),
            )
        self._page(f"{ROOT}metrics/index.html", "insights_metrics.html", "经济数据", metrics=listed)

    # -- trends --------------------------------------------------------------------------
    def _trends(self) -> dict[str, list[tuple[str, int, float]]]:
        """Writes the trend pages; the rising terms of each week seen (for the briefs)."""
        latest = self.store.latest_insight_week()
        rising_of: dict[str, list[tuple[str, int, float]]] = {}
        if latest is None:
            self._page(
                f"{ROOT}trends/index.html",
                "insights_trends.html",
                "关键词趋势",
                weeks=[],
                top=[],
                rising=[],
                svg=None,
            )
            return rising_of
        span = weeks_ending(latest, TREND_WEEKS)
        top = self.store.top_terms(span, limit=TOP_TERMS)
        rising = [
            (r.term, r.docs, round(r.before, 2))
            for r in self.store.rising_terms(latest, span[-5:-1], limit=RISING_TERMS)
        ]
        rising_of[latest] = rising
        long_span = weeks_ending(latest, TERM_WEEKS)
        terms = list(dict.fromkeys([t for t, _ in top] + [t for t, _, _ in rising]))
        counts = series(self.store.term_weeks(terms, since_week=long_span[0]), long_span)
        labels = [w[5:] for w in span]
        overview = [(t, term_path(t), n, counts.get(t, [0] * len(long_span))[-len(span) :]) for t, n in top]
        lead = top[0][0] if top else None
        svg = (
            chart(
                f"“{lead}”每周文章数",
                labels,
                [float(v) for v in overview[0][3]],
                x_label="周（周一）",
                y_label="文章数",
                kind="bar",
            )
            if lead
            else None
        )
        self._page(
            f"{ROOT}trends/index.html",
            "insights_trends.html",
            "关键词趋势",
            weeks=labels,
            top=overview,
            rising=[(t, term_path(t), d, b) for t, d, b in rising],
            svg=svg,
        )
        for t in terms:
            values = counts.get(t, [0] * len(long_span))
            self._page(
                term_path(t),
                "insights_term.html",
                f"关键词：{t}",
                crumbs=[("要点", ROOT), ("关键词趋势", f"{ROOT}trends/")],
                term=t,
                svg=chart(
                    f"“{t}”每周文章数",
                    [w[5:] for w in long_span],
                    [float(v) for v in values],
                    x_label="周（周一）",
                    y_label="文章数",
                    kind="bar",
                ),
                points=list(zip(long_span, values, strict=True)),
            )
        return rising_of

    # -- daily brief ---------------------------------------------------------------------
    def _briefs(
        self, records: Iterable[EntryRecord], rising_of: dict[str, list[tuple[str, int, float]]]
    ) -> None:
        days = sorted({local_time(m.ts).date() for m in records}, reverse=True)[:BRIEF_DAYS]
        if not days:
            self._page(f"{ROOT}brief/index.html", "insights_briefs.html", "每日简报", days=[])
            self.out.put("brief.xml", digest(self.global_key, "brief.xml", []), self._brief_feed([]))
            return
        start = day_start(days[-1])
        targets: dict[date, list[tuple[Any, ...]]] = defaultdict(list)
        for t in self.store.list_targets(since=start):
            targets[local_time(int(t.ref.when.timestamp())).date()].append(_target_row(t, self.today))
        figures: dict[date, list[tuple[Any, ...]]] = defaultdict(list)
        for f in self.store.list_figures(since=start):
            figures[local_time(int(f.ref.when.timestamp())).date()].append(_figure_row(f))
        stories = self._stories(start)
        briefs = []
        for day in days:
            week = monday(day).isoformat()
            if week not in rising_of:
                prev = weeks_ending(week, 5)[:4]
                rising_of[week] = [
                    (r.term, r.docs, round(r.before, 2))
                    for r in self.store.rising_terms(week, prev, limit=RISING_TERMS)
                ]
            brief: dict[str, Any] = {
                "day": day.isoformat(),
                "stories": stories.get(day, [])[:BRIEF_STORIES],
                "targets": targets.get(day, []),
                "figures": figures.get(day, []),
                "rising": [(t, term_path(t), d, b) for t, d, b in rising_of[week][:10]],
            }
            briefs.append(brief)
            self._page(
                brief_path(brief["day"]),
                "insights_brief.html",
                f"每日简报 {brief['day']}",
                crumbs=[("要点", ROOT), ("每日简报", f"{ROOT}brief/")],
                brief=brief,
            )
        self._page(
            f"{ROOT}brief/index.html",
            "insights_briefs.html",
            "每日简报",
            days=[
                (b["day"], brief_path(b["day"]), len(b["stories"]), len(b["targets"]), len(b["figures"]))
                for b in briefs
            ],
        )
        key = digest(self.global_key, "brief.xml", self.base_url, briefs)
        if not self.out.fresh("brief.xml", key):
            self.out.put("brief.xml", key, self._brief_feed(briefs))

    def _stories(self, start: datetime) -> dict[date, list[tuple[str, str, int, int]]]:
        """Day → its stories told by more than one outlet: (title, page, outlets, copies),
        most outlets first; a story belongs to the day it first appeared."""
        out: dict[date, list[tuple[str, str, int, int]]] = defaultdict(list)
        for c in clusters_since(self.store, start):
            if c.first >= start:
                out[c.first.astimezone(local_time(0).tzinfo).date()].append(
                    (c.title, article_path(c.canonical), c.sources, c.size)
                )
        for stories in out.values():
            stories.sort(key=lambda s: (-s[2], -s[3], s[1]))
        return out

    def _brief_feed(self, briefs: list[dict[str, Any]]) -> bytes:
        base = self.base_url or ""
        items = []
        for b in briefs[:14]:
            when = day_start(date.fromisoformat(b["day"]))
            items.append(
                FeedItem(
                    uid=f"brief:{b['day']}",
                    title=f"每日简报 {b['day']}",
                    url=base + brief_path(b["day"]),
                    external_url=None,
                    content_html=str(_brief_html(b, base)),
                    summary=brief_summary(len(b["stories"]), len(b["targets"]), len(b["figures"])),
                    published=when,
                    updated=when,
                )
            )
        info = FeedInfo(
            key="brief",
            title=f"{self.site_title} · 每日简报",
            home_url=base + f"{ROOT}brief/index.html",
            description="每天多家媒体报道的事件、新目标、新数据和上升关键词",
            rss_url=base + "brief.xml",
            atom_url=base + "brief.xml",
            json_url=base + "brief.xml",
        )
        return render_rss(info, items)


def _brief_html(b: dict[str, Any], base: str) -> Markup:
    parts = ["<h3>多家媒体报道</h3><ul>"]
    parts += [
        f'<li><a href="{escape(base + p)}">{escape(t)}</a>（{n} 家媒体）</li>' for t, p, n, _ in b["stories"]
    ]
    parts.append("</ul><h3>新目标</h3><ul>")
    parts += [
        f"<li>{escape(r[4])} {escape(r[5])} {escape(r[6])}{escape(r[7])}（{escape(r[8] or '未定期限')}）</li>"
        for r in b["targets"]
    ]
    parts.append("</ul><h3>新数据</h3><ul>")
    parts += [
        f"<li>{escape(r[3])} {escape(r[5])} {escape(r[6])}{escape(r[7])} {escape(r[8])}</li>"
        for r in b["figures"]
    ]
    parts.append("</ul>")
    return Markup("".join(parts))


def _metric_series(figures: Sequence[ReportedFigure]) -> tuple[list[str], list[float | None], str]:
    """Labels (periods), values and the y axis label of a metric's chart: its 同比 change by
    period when most reports give one (房地产开发投资 同比 by month), else its value; of its
    most reported scope; a period reported twice keeps its latest report."""
    scopes = Counter(f.figure.scope for f in figures)
    scope = scopes.most_common(1)[0][0] if scopes else None
    mine = [f for f in figures if f.figure.scope == scope and f.figure.period]
    changes = Counter(
        (f.figure.change.kind, f.figure.change.unit) for f in mine if f.figure.change is not None
    )
    use_change = bool(changes) and sum(changes.values()) * 2 >= len(mine)
    by_period: dict[str, tuple[datetime, float | None]] = {}
    if use_change:
        kind, unit = changes.most_common(1)[0][0]
        label = f"{kind}（{unit}）"
        for f in mine:
            c = f.figure.change
            if c is not None and (c.kind, c.unit) == (kind, unit) and c.value is not None:
                v = -c.value if c.direction == "down" else c.value
                _keep_latest(by_period, f.figure.period or "", f.ref.when, v)
    else:
        units = Counter(f.figure.unit for f in mine)
        unit = units.most_common(1)[0][0] if units else ""
        label = f"数值（{unit}）" if unit else "数值"
        for f in mine:
            if f.figure.unit == unit:
                _keep_latest(by_period, f.figure.period or "", f.ref.when, f.figure.value)
    periods = sorted(by_period)
    return periods, [by_period[p][1] for p in periods], label


def _keep_latest(
    into: dict[str, tuple[datetime, float | None]], period: str, when: datetime, value: float | None
) -> None:
    old = into.get(period)
    if old is None or when >= old[0]:
        into[period] = (when, value)
