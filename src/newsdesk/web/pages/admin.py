"""The feed health page (every reader: failing feeds first, with why and the next retry) and
the admins' pages: add a feed by URL or RSSHub route, edit it (its place in the tree, source,
cleaning), pause, resume, refresh, remove; add and remove users."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import ValidationError
from starlette.responses import RedirectResponse, Response

from ... import accounts
from ...errors import NewsdeskError
from ...models import CatalogueFeed, FeedSpec, User
from ...store import Store
from ..auth import desk_of
from ..catalogue import feed_status, opml_download
from ..errors import ApiError
from ..feeds_api import _spec as feed_spec
from ..schemas import FeedIn
from .guard import base_of, page_user, to_login
from .render import page, posted

_ORDER = {"failing": 0, "paused": 1, "ok": 2}


def health_order(feeds: list[CatalogueFeed]) -> list[CatalogueFeed]:
    """Failing feeds first (most consecutive failures first), then paused ones, then the rest
    by key."""
    return sorted(feeds, key=lambda f: (_ORDER[feed_status(f)], -f.state.consecutive_failures, f.key))


def _on(value: str | None) -> bool:
    return value in ("1", "on", "true")


async def admin_of(request: Request, post: bool) -> tuple[User, dict[str, str]] | Response:
    """The admin asking (and the form they sent with its token, when `post`), or the
    answer for anyone else (log in; 403)."""
    if post:
        sent = await posted(request)
        if isinstance(sent, Response):
            return sent
        user, form = sent
    else:
        found = await page_user(request)
        if found is None:
            return to_login(request)
        user, form = found, {}
    if not user.admin:
        return page(request, "message.html", user, status=403, message_key="只有管理员可以这样做")
    return user, form


MAX_BOUND_MINUTES = 30 * 24 * 60


def interval_bounds(low: str, high: str) -> tuple[float | None, float | None] | None:
    """A feed's check interval bounds from the edit form (minutes, empty: the config's) in
    seconds; None when they are not positive numbers of minutes up to 30 days, in order."""
    out: list[float | None] = []
    for text in (low, high):
        text = text.strip()
        if not text:
            out.append(None)
            continue
        try:
            minutes = float(text)
        except ValueError:
            return None
        if not 0 < minutes <= MAX_BOUND_MINUTES:  # NaN fails too
            return None
        out.append(minutes * 60)
    if out[0] is not None and out[1] is not None and out[0] > out[1]:
        return None
    return out[0], out[1]


def feed_from_form(form: dict[str, str]) -> FeedSpec | str:
    """The feed the add form describes (a source starting with '/' is an RSSHub route), checked
    as the API checks it; else what is wrong, in one line."""
    source = form.get("source", "").strip()
    try:
        body = FeedIn(
            group=form.get("group", "").strip(),
            site=form.get("site", "").strip(),
            name=form.get("name", "").strip(),
            url=source if source and not source.startswith("/") else None,
            route=source if source.startswith("/") else None,
            clean=_on(form.get("clean")),
            full_text=_on(form.get("full_text")),
        )
        return feed_spec(body)
    except ValidationError as e:
        return "; ".join(str(err["msg"]) for err in e.errors())
    except ApiError as e:
        return e.message


def router() -> APIRouter:
    pages = APIRouter(include_in_schema=False)

    def changed(request: Request, check: str | None = None) -> None:
        """Tell the scheduler: the catalogue changed, and (`check`) this feed is to be checked now.
        A refresh wakes the scheduler itself; waking it first as well could start a batch that
        fetches the feed before the refresh arrives, which then fetches it a second time."""
        hooks = desk_of(request).hooks
        if check is not None and hooks.refresh is not None:
            hooks.refresh(check)
        elif hooks.catalogue_changed is not None:
            hooks.catalogue_changed()

    async def feeds_page(request: Request, user: User, status: int = 200, error: str = "") -> Response:
        desk = desk_of(request)
        feeds = await desk.run(lambda: health_order(desk.store().catalogue()))
        rows = [{"feed": f, "status": feed_status(f)} for f in feeds]
        return page(request, "feeds.html", user, status=status, rows=rows, error=error, now=desk.clock())

    @pages.get("/feeds")
    async def health(request: Request) -> Response:
        user = await page_user(request)
        if user is None:
            return to_login(request)
        return await feeds_page(request, user)

    @pages.get("/feeds/export.opml")
    async def export_opml(request: Request) -> Response:
        """The feed tree as OPML, for any reader (the JSON API has it at /api/v1/opml)."""
        user = await page_user(request)
        if user is None:
            return to_login(request)
        return await opml_download(request)

    @pages.post("/feeds/add")
    async def add(request: Request) -> Response:
        sent = await admin_of(request, post=True)
        if isinstance(sent, Response):
            return sent
        user, form = sent
        spec = feed_from_form(form)
        if isinstance(spec, str):
            return await feeds_page(request, user, 422, spec)
        desk = desk_of(request)
        try:
            await desk.run(lambda: desk.store().add_feed(spec, desk.clock()))
        except NewsdeskError as e:  # the key is taken
            return await feeds_page(request, user, 409, str(e))
        changed(request, check=spec.key)
        return RedirectResponse(f"{base_of(request)}/feeds", status_code=303)

    @pages.post("/feeds/action")
    async def action(request: Request) -> Response:
        """refresh, pause, resume or remove the feed `key`."""
        sent = await admin_of(request, post=True)
        if isinstance(sent, Response):
            return sent
        user, form = sent
        desk = desk_of(request)
        key, what = form.get("key", ""), form.get("action", "")

        def work() -> str:
            store = desk.store()
            feed = store.catalogue_feed(key)
            if feed is None:
                return "没有这个订阅"
            now = desk.clock()
            if what == "refresh":
                store.refresh_feed(key, now)
            elif what == "pause":
                store.pause_feed(key, f"paused by {user.name}")
            elif what == "resume":
                store.resume_feed(key, now)
            elif what == "remove":
                if feed.origin == "config":
                    return "这个订阅来自配置文件：请在配置文件中删除，或暂停它"
                store.delete_feed(key)
            else:
                return "没有这个操作"
            return ""

        error = await desk.run(work)
        if error:
            return await feeds_page(request, user, 409, error)
        changed(request, check=key if what == "refresh" else None)
        return RedirectResponse(f"{base_of(request)}/feeds", status_code=303)

    @pages.get("/feeds/edit")
    async def edit_form(request: Request, key: Annotated[str, Query(max_length=1000)]) -> Response:
        sent = await admin_of(request, post=False)
        if isinstance(sent, Response):
            return sent
        user, _ = sent
        desk = desk_of(request)
        feed = await desk.run(lambda: desk.store().catalogue_feed(key))
        if feed is None:
            return page(request, "message.html", user, status=404, message_key="没有这个订阅")
        return page(request, "feed_edit.html", user, feed=feed, error="", schedule=desk.config.schedule)

    @pages.post("/feeds/edit")
    async def edit(request: Request) -> Response:
        sent = await admin_of(request, post=True)
        if isinstance(sent, Response):
            return sent
        user, form = sent
        desk = desk_of(request)
        key = form.get("key", "")
        source = form.get("source", "").strip()
        changes: dict[str, Any] = {
            "group": form.get("group", "").strip() or None,
            "site": form.get("site", "").strip() or None,
            "name": form.get("name", "").strip() or None,
            "url": source if source and not source.startswith("/") else None,
            "route": source if source.startswith("/") else None,
            "clean": _on(form.get("clean")),
            "full_text": _on(form.get("full_text")),
        }
        if changes["url"] is not None and not changes["url"].startswith(("http://", "https://")):
            return await _edit_again(
                request, user, key, "请填写 http:// 或 https:// 网址，或以 / 开头的 RSSHub 路由"
            )
        bounds = interval_bounds(form.get("min_interval", ""), form.get("max_interval", ""))
        if bounds is None:
            return await _edit_again(request, user, key, "间隔须为正数（分钟），且最短不超过最长")

        def work() -> CatalogueFeed | None:
            store, now = desk.store(), desk.clock()
            feed = store.update_feed(key, now=now, **changes)
            if feed is not None and (feed.min_interval, feed.max_interval) != bounds:
                store.set_feed_bounds(feed.key, *bounds, now)
            return feed

        try:
            feed = await desk.run(work)
        except NewsdeskError as e:  # the new key is taken
            return await _edit_again(request, user, key, str(e))
        if feed is None:
            return page(request, "message.html", user, status=404, message_key="没有这个订阅")
        changed(request)
        return RedirectResponse(f"{base_of(request)}/feeds", status_code=303)

    async def _edit_again(request: Request, user: User, key: str, error: str) -> Response:
        desk = desk_of(request)
        feed = await desk.run(lambda: desk.store().catalogue_feed(key))
        if feed is None:
            return page(request, "message.html", user, status=404, message_key="没有这个订阅")
        return page(
            request, "feed_edit.html", user, status=422, feed=feed, error=error, schedule=desk.config.schedule
        )

    async def users_page(request: Request, user: User, status: int = 200, error: str = "") -> Response:
        desk = desk_of(request)
        users = await desk.run(lambda: desk.store().list_users())
        return page(request, "users.html", user, status=status, users=users, error=error)

    @pages.get("/users")
    async def users(request: Request) -> Response:
        sent = await admin_of(request, post=False)
        if isinstance(sent, Response):
            return sent
        user, _ = sent
        return await users_page(request, user)

    @pages.post("/users/add")
    async def add_user(request: Request) -> Response:
        sent = await admin_of(request, post=True)
        if isinstance(sent, Response):
            return sent
        user, form = sent
        desk = desk_of(request)

        def work() -> None:
            name = accounts.validate_name(form.get("name", ""))
            hashed = accounts.hash_password(form.get("password", ""))
            desk.store().add_user(name, hashed, admin=_on(form.get("admin")), now=desk.clock())

        try:
            await desk.run(work)
        except NewsdeskError as e:  # a bad name or password, or the name is taken
            return await users_page(request, user, 422, str(e))
        return RedirectResponse(f"{base_of(request)}/users", status_code=303)

    async def change_user(
        request: Request, refuse_own: str, change: Callable[[Store, str, dict[str, str]], object]
    ) -> Response:
        """`change(store, name, form)` for the user the form names, never the admin asking;
        that user's sessions and tokens are looked up again at once (a role counts now, a
        removed user is out now, not when the cache forgets)."""
        sent = await admin_of(request, post=True)
        if isinstance(sent, Response):
            return sent
        user, form = sent
        name = form.get("name", "")
        if name == user.name:
            return await users_page(request, user, 409, refuse_own)
        desk = desk_of(request)

        def work() -> User | None:
            store = desk.store()
            found = store.get_user(name)
            if found is not None:
                change(store, name, form)
            return found

        found = await desk.run(work)
        if found is None:
            return await users_page(request, user, 404, "没有这个用户")
        request.app.state.user_cache.forget_user(found.id)
        return RedirectResponse(f"{base_of(request)}/users", status_code=303)

    @pages.post("/users/role")
    async def set_role(request: Request) -> Response:
        """admin=1 makes the user an admin, admin=0 a reader (not oneself: a desk keeps an admin)."""
        return await change_user(
            request,
            "不能修改自己的角色",
            lambda store, name, form: store.set_admin(name, form.get("admin") == "1"),
        )

    @pages.post("/users/remove")
    async def remove_user(request: Request) -> Response:
        """The user goes with their tokens, sessions and state (the store's cascade)."""
        return await change_user(request, "不能删除自己", lambda store, name, form: store.remove_user(name))

    return pages
