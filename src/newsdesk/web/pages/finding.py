"""Search with the archive's query language, and today's stories: clusters ranked by how many
outlets carry them."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from markupsafe import Markup
from starlette.responses import Response

from ...dates import SHANGHAI
from ...models import ClusterSummary
from ...publish.insights_view import clusters_since
from ...search.query import Filters
from ..auth import desk_of
from ..errors import ApiError
from ..searching import search
from ..viewfeeds import view_links
from .guard import base_of, page_user, to_login
from .render import page

SEARCH_LIMIT = 50
_DAY = r"^(\d{4}-\d{2}-\d{2})?$"
TODAY_LIMIT = 100


def _day_start(day: str, days: int = 0) -> datetime | None:
    """The start of a Beijing day (`days` later), or None for none."""
    if not day:
        return None
    try:
        when = date.fromisoformat(day) + timedelta(days=days)
    except ValueError:
        return None
    return datetime(when.year, when.month, when.day, tzinfo=SHANGHAI)


def stories_of_day(clusters: list[ClusterSummary], start: datetime, end: datetime) -> list[ClusterSummary]:
    """The clusters with members in [start, end), most outlets first (then most copies, then
    the latest)."""
    day = [c for c in clusters if c.last >= start and c.first < end]
    day.sort(key=lambda c: (-c.sources, -c.size, -c.last.timestamp(), c.id))
    return day[:TODAY_LIMIT]


def router() -> APIRouter:
    pages = APIRouter(include_in_schema=False)

    @pages.get("/search")
    async def search_page(
        request: Request,
        q: Annotated[str, Query(max_length=500)] = "",
        sort: Literal["relevance", "date"] = "relevance",
        group: Annotated[str, Query(max_length=200)] = "",
        site: Annotated[str, Query(max_length=200)] = "",
        source: Annotated[str, Query(max_length=200)] = "",
        since: Annotated[str, Query(pattern=_DAY)] = "",
        until: Annotated[str, Query(pattern=_DAY)] = "",
    ) -> Response:
        user = await page_user(request)
        if user is None:
            return to_login(request)
        desk = desk_of(request)
        hits: list[dict[str, Any]] = []
        error = ""
        if q.strip():

            def work() -> list[dict[str, Any]]:
                store = desk.store()
                filters = Filters(
                    group=group or None,
                    site=site or None,
                    source=source or None,
                    since=_day_start(since),
                    until=_day_start(until, days=1),
                )
                found = search(desk, store, q, filters, sort=sort, limit=SEARCH_LIMIT)
                return [
                    {"hit": h, "snippet": Markup(h.snippet.to_html())}  # escaped text, <mark> ours
                    for h in found
                ]

            try:
                hits = await desk.run(work)
            except ApiError as e:
                error = "搜索索引正在建立，请稍后再试" if e.status == 503 else e.message
        shown = {"group": group, "site": site, "source": source, "since": since, "until": until}
        links = (
            view_links(base_of(request), "search", q=q.strip(), group=group, site=site) if q.strip() else {}
        )
        return page(
            request,
            "search.html",
            user,
            q=q,
            sort=sort,
            hits=hits,
            error=error,
            filters=shown,
            feed_links=links,
        )

    @pages.get("/today")
    async def today(request: Request, day: Annotated[str, Query(pattern=_DAY)] = "") -> Response:
        user = await page_user(request)
        if user is None:
            return to_login(request)
        desk = desk_of(request)
        try:
            chosen = date.fromisoformat(day) if day else desk.clock().astimezone(SHANGHAI).date()
        except ValueError:
            chosen = desk.clock().astimezone(SHANGHAI).date()
        start = datetime(chosen.year, chosen.month, chosen.day, tzinfo=SHANGHAI)
        end = start + timedelta(days=1)

        def work() -> list[ClusterSummary]:
            return stories_of_day(clusters_since(desk.store(), start), start, end)

        stories = await desk.run(work)
        return page(
            request,
            "today.html",
            user,
            day=chosen,
            stories=stories,
            previous=(chosen - timedelta(days=1)).isoformat(),
            following=(chosen + timedelta(days=1)).isoformat(),
        )

    return pages
