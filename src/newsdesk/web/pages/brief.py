"""The daily brief in the web app (Chinese, like the site's `insights/brief/` pages): `/brief`
lists the days of the last month that have one (stories told by several outlets, new targets,
new figures: `web/briefs.py`) with the links of its feed (`/out/brief.{rss,atom,json}`);
`/brief?until=YYYY-MM-DD` the month up to that day; `/brief/YYYY-MM-DD` shows one day, its
stories linking to their articles in the app."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi import Path as PathParam
from starlette.responses import Response

from ...publish.insights_view import number_text
from ..auth import desk_of
from ..briefs import brief_day, brief_of, daily_briefs
from ..errors import ApiError
from ..viewfeeds import view_links
from .guard import base_of, page_user, to_login
from .render import page

_PATTERN = r"^\d{4}-\d{2}-\d{2}$"
_DAY = Annotated[str, PathParam(pattern=_PATTERN)]


def router() -> APIRouter:
    pages = APIRouter(include_in_schema=False)

    @pages.get("/brief")
    async def briefs(request: Request, until: Annotated[str, Query(pattern=_PATTERN)] = "") -> Response:
        user = await page_user(request)
        if user is None:
            return to_login(request)
        desk = desk_of(request)
        try:
            last = brief_day(until, desk.clock())
        except ApiError:
            return page(request, "briefs.html", user, status=404, briefs=[], feed_links={}, missing=until)
        found = await desk.run(lambda: daily_briefs(desk.store(), last))
        origin = f"{request.url.scheme}://{request.url.netloc}{base_of(request)}"
        links = view_links(origin, "brief", until=until)
        return page(request, "briefs.html", user, briefs=found, feed_links=links, missing="")

    @pages.get("/brief/{day}")
    async def brief(request: Request, day: _DAY) -> Response:
        user = await page_user(request)
        if user is None:
            return to_login(request)
        try:
            chosen = date.fromisoformat(day)
        except ValueError:
            return page(request, "briefs.html", user, status=404, briefs=[], feed_links={}, missing=day)
        desk = desk_of(request)
        found = await desk.run(lambda: brief_of(desk.store(), chosen))
        return page(request, "brief.html", user, brief=found, number=number_text)

    return pages
