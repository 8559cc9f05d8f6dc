"""The daily brief as the web app shows it (`pages/brief.py`) and feeds it (`/out/brief.*`,
viewfeeds.py): for each of the last `BRIEF_DAYS` days in Beijing that has any, the day's
biggest stories (story clusters first seen that day, told by more than one outlet, most
outlets first), the targets and figures the insights stage found in that day's articles,
and, on a day's own page, the rising terms of its week. The same contents as the static
site's `insights/brief/` pages and `brief.xml` (publish/site/insight_pages.py), read from the
archive on the request and linking into the web app.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from ..dates import SHANGHAI
from ..models import ClusterSummary, ReportedFigure, TermRise, TrackedTarget
from ..publish.insights_view import brief_summary, clusters_since, day_start, monday, weeks_ending
from ..publish.site.insight_pages import BRIEF_DAYS, BRIEF_STORIES, RISING_TERMS
from ..store import Store
from .errors import ApiError


@dataclass
class Brief:
    day: date
    stories: list[ClusterSummary] = field(default_factory=list)  # most outlets first
    targets: list[TrackedTarget] = field(default_factory=list)
    figures: list[ReportedFigure] = field(default_factory=list)
    rising: list[TermRise] = field(default_factory=list)  # read for one day's page only

    def summary(self) -> str:
        return brief_summary(len(self.stories), len(self.targets), len(self.figures))


def brief_day(until: str | None, now: datetime) -> date:
    """The last day of a list of briefs: `until` (YYYY-MM-DD), else today in Beijing; 422 for
    a day that does not exist."""
    if not until:
        return now.astimezone(SHANGHAI).date()
    try:
        return date.fromisoformat(until)
    except ValueError:
        raise ApiError(422, f"until={until[:20]!r}: not a day (YYYY-MM-DD)") from None


def daily_briefs(store: Store, today: date, *, days: int = BRIEF_DAYS) -> list[Brief]:
    """The briefs of the `days` days up to `today` (Beijing) that have a story, a target or a
    figure, newest first."""
    start = day_start(today - timedelta(days=days - 1))
    end = day_start(today + timedelta(days=1))
    briefs: dict[date, Brief] = defaultdict(lambda: Brief(date.min))

    def of(when: datetime) -> Brief | None:
        if not start <= when < end:
            return None
        day = when.astimezone(SHANGHAI).date()
        brief = briefs[day]
        brief.day = day
        return brief

    for t in store.list_targets(since=start):
        if (b := of(t.ref.when)) is not None:
            b.targets.append(t)
    for f in store.list_figures(since=start):
        if (b := of(f.ref.when)) is not None:
            b.figures.append(f)
    for c in clusters_since(store, start):
        if c.sources > 1 and (b := of(c.first)) is not None:
            b.stories.append(c)
    out = sorted(briefs.values(), key=lambda b: b.day, reverse=True)
    for b in out:
        b.stories.sort(key=lambda c: (-c.sources, -c.size, c.id))
        del b.stories[BRIEF_STORIES:]
    return out


def brief_of(store: Store, day: date) -> Brief:
    """One day's brief with the rising terms of its week (empty parts when it has none)."""
    found = next(iter(b for b in daily_briefs(store, day, days=1)), Brief(day))
    week = monday(day).isoformat()
    found.rising = store.rising_terms(week, weeks_ending(week, 5)[:4], limit=RISING_TERMS)[:10]
    return found
