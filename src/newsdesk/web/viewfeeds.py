"""Feeds of any view of the web app (RSS 2.0, Atom 1.0, JSON Feed 1.1, written by the static
site's own writers, `publish/site/feed_formats.py`), and the catalogue as OPML.

    {base}/out/all.{rss,atom,json}[?group=G[&site=S] | ?feed=G/S/N]   everything, a group, a site, a feed
    {base}/out/search.{rss,atom,json}?q=QUERY                         a search (newest first)
    {base}/out/cluster.{rss,atom,json}?id=CLUSTER                     a story's copies
    {base}/out/starred.{rss,atom,json}?token=T                        a reader's starred entries
    {base}/out/unread.{rss,atom,json}?token=T[&group=…|&feed=…]      a reader's unread entries
    {base}/out/brief.{rss,atom,json}[?until=YYYY-MM-DD]               the daily briefs, one item a day

The public ones hold what the desk's static site publishes anyway (every entry, sanitised), so
a feed reader takes them without logging in; the per-reader ones (starred, unread) need the
reader's feed token (`readerkeys.view_feed_token`, on the keys page, where it is renewed or
revoked). The feed tree as OPML: `{base}/feeds/export.opml` (the feeds page's link, logged
in) and `GET /api/v1/opml` (the JSON API). Each view answers the newest 50 entries (`limit`
up to 200); items link to the original article, with the sanitised article as content.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from markupsafe import Markup
from starlette.responses import Response

from ..errors import StoreError
from ..models import EntryQuery, ReaderEntry, User
from ..publish.insights_view import day_start, number_text
from ..publish.site import feed_formats as formats
from ..store import Store
from .auth import desk_of
from .briefs import Brief, brief_day, daily_briefs
from .context import Desk
from .errors import ApiError
from .greader import entry_html
from .readerkeys import server_secret, user_of_feed_token

PREFIX = "/out"
DEFAULT_LIMIT = 50
Format = Literal["rss", "atom", "json"]
View = Literal["all", "unread", "starred", "search", "cluster", "brief"]
PRIVATE = ("unread", "starred")
MEDIA = {
    "rss": "application/rss+xml; charset=utf-8",
    "atom": "application/atom+xml; charset=utf-8",
    "json": "application/feed+json; charset=utf-8",
}
TITLES = {
    "all": "全部",
    "unread": "未读",
    "starred": "星标",
    "search": "搜索",
    "cluster": "同一新闻",
    "brief": "每日简报",
}
BRIEF_ITEMS = 14  # days in the brief's feed, as the site's brief.xml
_TEXT = Annotated[str | None, Query(max_length=600)]


def view_links(base: str, view: str, token: str | None = None, **params: str | None) -> dict[str, str]:
    """format → the URL (under `base`) of the feed of a view with these parameters; None and
    empty parameters are left out, so the same view always has the same URL."""
    query = {k: v for k, v in params.items() if v}
    if view in PRIVATE and token:
        query["token"] = token
    tail = f"?{urlencode(query)}" if query else ""
    return {fmt: f"{base}{PREFIX}/{view}.{fmt}{tail}" for fmt in ("rss", "atom", "json")}


def _items(entries: list[ReaderEntry], page_url: str) -> list[formats.FeedItem]:
    out = []
    for r in entries:
        e = r.entry
        when = e.published or e.first_seen
        summary = e.article.summary if e.article is not None else ""
        out.append(
            formats.FeedItem(
                uid=e.uid,
                title=e.title,
                url=e.link or f"{page_url}/entry/{e.uid}",
                external_url=e.link,
                content_html=entry_html(r),
                summary=summary,
                published=when,
                updated=max(e.updated or when, when),
                author=e.author,
                tags=(e.group, e.site),
            )
        )
    return out


def _brief_items(briefs: list[Brief], base: str) -> list[formats.FeedItem]:
    """One item a day: its stories, new targets and figures, linking into the web app."""
    items = []
    for b in briefs[:BRIEF_ITEMS]:
        parts = [Markup("<h3>多家媒体报道</h3><ul>")]
        parts += [
            Markup('<li><a href="{}">{}</a>（{} 家媒体）</li>').format(
                f"{base}/entry/{c.canonical}", c.title, c.sources
            )
            for c in b.stories
        ]
        parts.append(Markup("</ul><h3>新目标</h3><ul>"))
        parts += [
            Markup("<li>{} {} {}{}（{}）</li>").format(
                t.target.metric,
                t.target.comparator,
                number_text(t.target.value),
                t.target.unit,
                t.target.deadline or "未定期限",
            )
            for t in b.targets
        ]
        parts.append(Markup("</ul><h3>新数据</h3><ul>"))
        parts += [Markup("<li>{}</li>").format(f.figure.sentence) for f in b.figures]
        parts.append(Markup("</ul>"))
        when = day_start(b.day)
        items.append(
            formats.FeedItem(
                uid=f"brief:{b.day.isoformat()}",
                title=f"每日简报 {b.day.isoformat()}",
                url=f"{base}/brief/{b.day.isoformat()}",
                external_url=None,
                content_html=str(Markup("").join(parts)),
                summary=b.summary(),
                published=when,
                updated=when,
            )
        )
    return items


def _entries(
    store: Store, desk: Desk, user: User | None, view: View, params: dict[str, str | None], limit: int
) -> tuple[list[ReaderEntry], str]:
    """The view's newest entries and its title."""
    user_id = user.id if user is not None else 0  # no reader: every entry unread, unstarred
    group, site, feed = params.get("group"), params.get("site"), params.get("feed")
    if view == "search":
        from ..search.query import Filters
        from .searching import search

        q = (params.get("q") or "").strip()
        if not q:
            raise ApiError(400, "search feed: give the query as q=")
        hits = search(desk, store, q, Filters(group=group, site=site), sort="date", limit=limit)
        return _with_state(store, user_id, [h.uid for h in hits]), f"搜索：{q}"
    if view == "cluster":
        cluster = params.get("id") or ""
        found = store.get_cluster(cluster)
        if found is None:
            raise ApiError(404, f"no story {cluster[:80]!r}")
        summary, members = found
        uids = [m.uid for m in sorted(members, key=lambda m: m.sort_time, reverse=True)][:limit]
        return _with_state(store, user_id, uids), summary.title
    if feed and store.catalogue_feed(feed) is None:
        raise ApiError(404, f"no feed {feed[:200]!r}")
    query = EntryQuery(
        group=group,
        site=site,
        feed=feed,
        status="unread" if view == "unread" else "all",
        starred=True if view == "starred" else None,
    )
    entries, _ = store.reader_entries(user_id, query, limit=limit, bodies=True)
    return entries, "/".join(x for x in (feed or group, None if feed else site) if x) or TITLES[view]


def _with_state(store: Store, user_id: int, uids: list[str]) -> list[ReaderEntry]:
    """The entries of `uids`, whole, in that order, with the reader's state."""
    if not uids:
        return []
    page, _ = store.reader_entries(user_id, EntryQuery(uids=tuple(uids)), limit=len(uids), bodies=True)
    found = {r.entry.uid: r for r in page}
    return [found[u] for u in uids if u in found]


def router() -> APIRouter:
    out = APIRouter(include_in_schema=False)

    @out.get(PREFIX + "/{view}.{fmt}")
    async def view_feed(
        request: Request,
        view: View,
        fmt: Format,
        group: _TEXT = None,
        site: _TEXT = None,
        feed: _TEXT = None,
        q: _TEXT = None,
        id: _TEXT = None,
        token: _TEXT = None,
        until: Annotated[str | None, Query(pattern=r"^\d{4}-\d{2}-\d{2}$")] = None,
        limit: Annotated[int, Query(ge=1, le=200)] = DEFAULT_LIMIT,
    ) -> Response:
        desk = desk_of(request)
        params = {"group": group, "site": site, "feed": feed, "q": q, "id": id}
        base = f"{request.url.scheme}://{request.url.netloc}{_base(request)}"

        if view == "brief":  # the briefs of the month up to today, or to `until`
            last = brief_day(until, desk.clock())
            briefs = await desk.run(lambda: daily_briefs(desk.store(), last))
            return feed_answer(
                view, fmt, TITLES[view], {"until": until}, _brief_items(briefs, base), base, None, "/brief"
            )

        def work() -> tuple[list[ReaderEntry], str, datetime]:
            store = desk.store()
            user = None
            if view in PRIVATE:
                if not token:
                    raise ApiError(401, f"the {view} feed is a reader's own: add its token=… (keys page)")
                user = user_of_feed_token(store, token, server_secret(desk.config))
                if user is None:
                    raise ApiError(
                        403, "unknown or revoked feed token: copy the link again from the keys page"
                    )
            try:
                entries, title = _entries(store, desk, user, view, params, limit)
            except StoreError as e:
                raise ApiError(400, str(e)) from e
            return entries, title, desk.clock()

        entries, title, _ = await desk.run(work)
        page = {"starred": "/starred", "unread": "/"}.get(view, "/all")
        return feed_answer(view, fmt, title, params, _items(entries, base), base, token, page)

    return out


def feed_answer(
    view: View,
    fmt: Format,
    title: str,
    params: dict[str, str | None],
    items: list[formats.FeedItem],
    base: str,
    token: str | None,
    page: str,
) -> Response:
    """The feed of a view in `fmt`, its links (self, home: `page`) under `base`."""
    links = view_links(base, view, token, **params)
    page_url = base + page
    info = formats.FeedInfo(
        key=f"view:{view}:{urlencode({k: v for k, v in params.items() if v})}",
        title=f"{title} - 新闻台",
        home_url=page_url,
        description=f"newsdesk {TITLES[view]}",
        rss_url=links["rss"],
        atom_url=links["atom"],
        json_url=links["json"],
    )
    render = {"rss": formats.render_rss, "atom": formats.render_atom, "json": formats.render_json_feed}[fmt]
    headers = {"Cache-Control": "private, no-cache" if view in PRIVATE else "public, max-age=60"}
    return Response(render(info, items), media_type=MEDIA[fmt], headers=headers)


def _base(request: Request) -> str:
    path = request.url.path
    return path[: path.rindex(PREFIX + "/")]
