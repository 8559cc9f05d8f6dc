"""The reading pages: the feed tree beside the unread / all / starred lists (a story's copies
folded into one row), an article, and the forms that change a reader's state (read, star,
mark a list or everything above an entry read)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from markupsafe import Markup
from starlette.responses import RedirectResponse, Response

from ...errors import StoreError
from ...models import EntryQuery, FeedPlace
from ...publish.insights_view import boxes
from ...publish.site.render import article_body, safe_body
from ...rules import apply_rules
from ...store import Store
from ..auth import desk_of
from ..readerkeys import server_secret, view_feed_token
from ..viewfeeds import view_links
from .guard import base_of, local_next, page_user, to_login
from .media import local_images
from .messages import translator
from .render import environment, language, page, posted, wants_json
from .rows import fold, rows_html
from .tree import ICONS, SIDEBARS, icon_query, sidebar

PAGE_SIZE = 50
COPIES_SHOWN = 20  # other outlets an article page lists (a story can have hundreds)
View = Literal["unread", "all", "starred"]
_UID = Annotated[str, Path(pattern=r"^[0-9a-f]{16}$")]
_FILTER = Annotated[str | None, Query(max_length=600)]


def router() -> APIRouter:
    pages = APIRouter(include_in_schema=False)

    async def listing(
        request: Request,
        view: View,
        group: str | None,
        site: str | None,
        feed: str | None,
        cursor: str | None,
        limit: int,
    ) -> Response:
        user = await page_user(request)
        if user is None:
            return to_login(request)
        desk = desk_of(request)
        query = EntryQuery(
            group=group or None,
            site=site or None,
            feed=feed or None,
            status="unread" if view == "unread" else "all",
            starred=True if view == "starred" else None,
        )

        base, lang = base_of(request), language(request)
        filters = {"group": group or "", "site": site or "", "feed": feed or ""}

        def work(catch_up: bool) -> dict[str, Any]:
            store = desk.store()
            if catch_up:
                apply_rules(store, user.id, desk.clock())  # what a rule hides is never listed
            try:
                items, following = store.reader_list(user.id, query, limit=limit, after=cursor)
            except StoreError as e:
                if cursor is not None and type(e) is StoreError:
                    return {"error": str(e)}
                raise
            version = store.tree_version(user.id)
            icons = ICONS.get(version[0])
            if icons is None:
                icons = {place: icon_query(*place) for place in store.favicon_sites()}
                ICONS.put(version[0], icons)
            key = (user.id, version, view, group, site, feed, lang, base)
            markup = SIDEBARS.get(key)
            tree = None
            if markup is None:
                tree = sidebar(store.site_places(user.id), open_feeds(store, user.id, query), icons)
            token = None
            if view in ("unread", "starred"):  # a reader's own list: its feed carries their token
                token = view_feed_token(store, user, server_secret(desk.config), desk.clock())
            return {
                "feed_links": view_links(base_of(request), view, token, group=group, site=site, feed=feed),
                "rows": fold(items),
                "next": following,
                "icons": icons,
                "tree_key": key,
                "sidebar": markup,
                "tree": tree,
                "loaded": desk.clock(),
            }

        # The scheduler applies every reader's rules after each batch: a list has to catch them
        # up itself (a write, on a worker thread) only when a batch has not yet. Otherwise the
        # page's reads are short and run on the event loop with its own archive connection, as
        # the API's list does (the hop to a thread and back costs as much as the reads).
        if rules_behind(desk.store(), user.id):
            found = await desk.run(lambda: work(True))
        else:
            found = work(False)
        if "error" in found:
            return page(request, "message.html", user, status=422, message=found["error"])
        if found["sidebar"] is None:
            found["sidebar"] = Markup(
                environment()
                .get_template("_tree.html")
                .render(base=base, _=translator(lang), view=view, filters=filters, tree=found["tree"])
            )
            SIDEBARS.put(found["tree_key"], found["sidebar"])
        found["rows_html"] = rows_html(
            found["rows"], base=base, view=view, icons=found["icons"], _=translator(lang)
        )
        return page(
            request,
            "list.html",
            user,
            view=view,
            view_title={"unread": "未读", "all": "全部", "starred": "星标"}[view],
            filters=filters,
            limit="" if limit == PAGE_SIZE else str(limit),
            **found,
        )

    def view_route(view: View) -> Callable[..., Awaitable[Response]]:
        async def route(
            request: Request,
            group: _FILTER = None,
            site: _FILTER = None,
            feed: _FILTER = None,
            cursor: _FILTER = None,
            limit: Annotated[int, Query(ge=1, le=200)] = PAGE_SIZE,
        ) -> Response:
            return await listing(request, view, group, site, feed, cursor, limit)

        return route

    for path, view in (("/", "unread"), ("/all", "all"), ("/starred", "starred")):
        pages.add_api_route(path, view_route(view), methods=["GET"])  # type: ignore[arg-type]

    @pages.get("/entry/{uid}")
    async def article(request: Request, uid: _UID) -> Response:
        user = await page_user(request)
        if user is None:
            return to_login(request)
        desk = desk_of(request)

        # The reads on the event loop's own connection (short, and a read of the WAL archive
        # never waits for a writer); the write, when opening the article reads it, on a worker
        # thread (it may wait for the scheduler's transaction).
        store = desk.store()
        item = store.reader_entry(user.id, uid)
        if item is None:
            return page(request, "message.html", user, status=404, message_key="找不到这篇文章")
        others = store.story_copies(uid, COPIES_SHOWN + 1)
        if not item.read:  # opening an article reads it, and the copies of its story shown
            uids = [uid, *(o.uid for o in others)]
            await desk.run(lambda: desk.store().set_entry_state(user.id, uids, read=True, now=desk.clock()))
        e = item.entry
        body = article_body(e.article.html) if e.article is not None else safe_body(e.content or e.summary)
        if desk.config.images == "cache":
            body = local_images(body, base_of(request))
        return page(
            request,
            "article.html",
            user,
            body=Markup(body),
            item=item,
            others=others[:COPIES_SHOWN],
            more=len(others) > COPIES_SHOWN,
            insights=boxes(store, [uid]).get(uid),  # its 要点 box: data, escaped by the template
        )

    @pages.post("/entry/{uid}/state")
    async def state(request: Request, uid: _UID) -> Response:
        """read=0|1 and/or starred=0|1; back to `next` (204 for the page's own script)."""
        sent = await posted(request)
        if isinstance(sent, Response):
            return sent
        user, form = sent
        desk = desk_of(request)
        read = _flag(form.get("read"))
        star = _flag(form.get("starred"))

        def work() -> int:
            return desk.store().set_entry_state(user.id, [uid], read=read, starred=star, now=desk.clock())

        found = await desk.run(work)
        if wants_json(request):
            return Response(status_code=204 if found else 404)
        return RedirectResponse(local_next(request, form.get("next")), status_code=303)

    @pages.post("/mark-read")
    async def mark_read(request: Request) -> Response:
        """The list's entries (its filters; `above`: only those at or after that sort time)
        first seen before `before`, when the list was shown, marked read."""
        sent = await posted(request)
        if isinstance(sent, Response):
            return sent
        user, form = sent
        desk = desk_of(request)
        before = _time(form.get("before")) or desk.clock()
        query = EntryQuery(
            group=form.get("group") or None,
            site=form.get("site") or None,
            feed=form.get("feed") or None,
            status="unread",
            starred=True if form.get("view") == "starred" else None,
            since=_time(form.get("above")),
        )

        def work() -> int:
            return desk.store().mark_read(user.id, query, before=before, now=desk.clock())

        await desk.run(work)
        return RedirectResponse(local_next(request, form.get("next")), status_code=303)

    return pages


def rules_behind(store: Store, user_id: int) -> bool:
    """Whether the reader has rules that have not judged everything stored yet."""
    mark = store.rules_mark(user_id)
    return mark is not None and bool(store.changes_since(mark, limit=1))


def open_feeds(store: Store, user_id: int, query: EntryQuery) -> list[FeedPlace]:
    """The feeds the sidebar lists: those of the site being read, if one is."""
    if query.feed is not None:
        return store.feed_places(user_id, feed=query.feed)
    if query.site is not None:
        return store.feed_places(user_id, group=query.group, site=query.site)
    return []


def _flag(value: str | None) -> bool | None:
    return None if value is None or value == "" else value == "1"


def _time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)
