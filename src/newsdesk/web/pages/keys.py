"""The keys page: a reader's app passwords for reader apps (Google Reader API and Fever: make
one, shown once; each listed with its label, when it was made and last used; revoke one, or
all) and the token of their private view feeds (the starred and
unread feed links: renew it, or revoke it so every link made with it stops working)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from ...models import AppPassword, User
from ..auth import desk_of
from ..readerkeys import make_app_password, revoke_app_password, server_secret, view_feed_token
from ..viewfeeds import view_links
from .guard import base_of, page_user, to_login
from .render import page, posted


def router() -> APIRouter:
    pages = APIRouter(include_in_schema=False)

    async def keys_page(request: Request, user: User, **extra: Any) -> Response:
        desk = desk_of(request)

        def work() -> tuple[str | None, list[AppPassword]]:
            apps = desk.store().app_passwords(user.id)
            nonce = desk.store().feed_token_nonce(user.id)
            if nonce is None:
                return None, apps
            return view_feed_token(desk.store(), user, server_secret(desk.config), desk.clock()), apps

        token, apps = await desk.run(work)
        origin = f"{request.url.scheme}://{request.url.netloc}{base_of(request)}"
        links = {v: view_links(origin, v, token) for v in ("starred", "unread")} if token else {}
        return page(
            request,
            "keys.html",
            user,
            links=links,
            greader=f"{origin}/api/greader",
            fever=f"{origin}/api/fever/",
            password=extra.get("password"),
            apps=apps,
        )

    @pages.get("/keys")
    async def keys(request: Request) -> Response:
        user = await page_user(request)
        if user is None:
            return to_login(request)
        return await keys_page(request, user)

    @pages.post("/keys/app-password")
    async def new_app_password(request: Request) -> Response:
        """A new app password, shown on this answer only."""
        sent = await posted(request)
        if isinstance(sent, Response):
            return sent
        user, form = sent
        desk = desk_of(request)
        label = "".join(c for c in form.get("label", "") if c.isprintable())[:100]

        def work() -> str:
            return make_app_password(
                desk.store(), user, label=label, secret=server_secret(desk.config), now=desk.clock()
            )

        password = await desk.run(work)
        return await keys_page(request, user, password=password)

    @pages.post("/keys/action")
    async def action(request: Request) -> Response:
        """revoke-app (the app password `id`), revoke-apps (every one), feed-token (make or
        renew), revoke-feed-token."""
        sent = await posted(request)
        if isinstance(sent, Response):
            return sent
        user, form = sent
        desk = desk_of(request)
        what = form.get("action", "")

        def work() -> None:
            store = desk.store()
            if what == "revoke-apps":
                store.remove_app_passwords(user.id)
            elif what == "revoke-app":
                revoke_app_password(store, user, form.get("id", "")[:8] or "-")
            elif what == "feed-token":
                view_feed_token(store, user, server_secret(desk.config), desk.clock(), renew=True)
            elif what == "revoke-feed-token":
                store.set_feed_token_nonce(user.id, None, desk.clock())

        await desk.run(work)
        if what in ("revoke-apps", "revoke-app"):  # refused now, not when the cache lets go
            request.app.state.user_cache.forget_user(user.id)
        return RedirectResponse(f"{base_of(request)}/keys", status_code=303)

    return pages
