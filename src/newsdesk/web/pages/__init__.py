"""The reader's pages (server-rendered Jinja2 under `serve.base_path`): log in, the feed tree
and lists, articles, search, today's stories, settings. `mount` puts them on the app.

Modules: `guard` (the session, CSRF, security headers), `render` (Jinja2, the language and
theme), `messages` (zh-CN and English), `reading` (lists, articles, read and star), `finding`
(search, today's stories), `account` (log in and out, password, settings), `admin` (feed
health; the admins' feeds and users pages), `discover` (preview, autodiscovery, OPML),
`rules` (keyword rules), `tree` (the sidebar), `keys` (app passwords, view-feed tokens), `media`
(sites' icons, cached images), `brief` (the daily briefs).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from starlette.staticfiles import StaticFiles

from ..auth import LoginThrottle
from . import account, admin, brief, discover, finding, keys, media, reading, rules
from .guard import CACHED_IMAGES_CSP, PAGE_CSP, SecurityHeaders

STATIC = Path(__file__).resolve().parent.parent / "static"


def mount(app: FastAPI, base: str, throttle: LoginThrottle, *, skip: tuple[str, ...]) -> None:
    """The pages and their static files under `base`; every response outside `skip` (path
    prefixes with headers of their own) gets the pages' security headers."""
    routers = (
        reading.router(),
        finding.router(),
        account.router(throttle),
        admin.router(),
        discover.router(),
        rules.router(),
        keys.router(),
        media.router(),
        brief.router(),
    )
    for router in routers:
        app.include_router(router, prefix=base)
    # The app's own files, and the static site's stylesheet from where the site takes it.
    static = StaticFiles(directory=STATIC, packages=[("newsdesk.publish", "static")])
    app.mount(f"{base}/static", static, name="pages-static")
    cached = app.state.desk.config.images == "cache"
    app.add_middleware(SecurityHeaders, skip=skip, csp=CACHED_IMAGES_CSP if cached else PAGE_CSP)


__all__ = ["mount"]
