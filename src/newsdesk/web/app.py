"""`create_app`: the desk's ASGI app (FastAPI), every route under `serve.base_path`:

{base}/api/v1/...              the JSON API (api.py, feeds_api.py), token or session
{base}/api/v1/openapi.json     its OpenAPI document; {base}/api/v1/docs the browsable one
{base}/api/greader/...         the Google Reader API for reader apps (greader.py), app passwords
{base}/api/fever/?api          the Fever API for older reader apps (fever.py), app passwords
{base}/out/...                 RSS/Atom/JSON Feed of any view, OPML (viewfeeds.py); feed tokens
{base}/healthz, /readyz        without auth (ops.py)
{base}/metrics                 Prometheus, to `serve.metrics_allow` only
{base}/site/...                the static site the desk publishes (`site_dir`), as published:
                               public, like the site itself, under a strict CSP
{base}/, /entry/…, /search …   the reader's pages (`pages/`), session login; {base}/static/…
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .. import __version__
from ..config import Config
from ..store import open_store
from . import api, errors, feeds_api, fever, greader, ops, pages, viewfeeds
from .auth import SECURITY, SECURITY_SCHEMES, AuthMiddleware, LoginThrottle, UserCache
from .context import Desk, Hooks, ThreadStores, utcnow
from .metrics import Metrics

API_PREFIX = "/api/v1"
SITE_PREFIX = "/site"
# The static site's pages load only their own scripts, styles and images (article images from
# any https host, as published); nothing may frame them.
SITE_CSP = (
    "default-src 'self'; img-src 'self' https: http: data:; script-src 'self'; style-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


def create_app(
    config: Config,
    *,
    metrics: Metrics | None = None,
    hooks: Hooks | None = None,
    clock: Callable[[], datetime] = utcnow,
    stores: ThreadStores | None = None,
    base_path: str | None = None,
    throttle: LoginThrottle | None = None,
) -> FastAPI:
    """The app over `config`'s archive. `base_path` (else `serve.base_path`) is the prefix a
    reverse proxy serves it under, e.g. `/news`: routes answer under it, and only there.
    `throttle` counts failed logins (`serve`'s HTTP workers pass the main process's)."""
    base = (config.serve.base_path if base_path is None else base_path).rstrip("/")
    desk = Desk(
        config=config,
        stores=stores
        or ThreadStores(
            config.database_url, opener=functools.partial(open_store, mmap_mb=config.serve.sqlite_mmap_mb)
        ),
        metrics=metrics or Metrics(),
        clock=clock,
        hooks=hooks or Hooks(),
    )
    app = FastAPI(
        title="newsdesk",
        version=__version__,
        summary="The always-on news desk: entries with each reader's state, feeds, search, stories.",
        openapi_url=f"{base}{API_PREFIX}/openapi.json",
        docs_url=f"{base}{API_PREFIX}/docs",
        redoc_url=None,
        default_response_class=errors.JSONBytes,
    )
    app.state.desk = desk
    app.state.user_cache = cache = UserCache()
    app.state.login_throttle = throttle = throttle or LoginThrottle()
    errors.install(app)
    api_root = f"{base}{API_PREFIX}"
    open_routes = {
        ("POST", f"{api_root}/session"),
        ("GET", f"{api_root}/openapi.json"),
        ("GET", f"{api_root}/docs"),
        ("GET", f"{api_root}/docs/oauth2-redirect"),
    }
    app.add_middleware(AuthMiddleware, desk=desk, prefix=api_root, open_routes=open_routes, cache=cache)
    app.include_router(api.router(throttle), prefix=api_root)
    app.include_router(feeds_api.router(), prefix=api_root)
    app.include_router(ops.router(desk), prefix=base)
    app.include_router(greader.router(throttle), prefix=f"{base}{greader.PREFIX}")
    app.include_router(fever.router(throttle), prefix=base)
    app.include_router(viewfeeds.router(), prefix=base)
    folder = config.path(config.site_dir)
    site = StaticFiles(directory=folder, html=True, check_dir=False)
    app.mount(f"{base}{SITE_PREFIX}", _Secured(site, folder), name="site")
    pages.mount(app, base, throttle, skip=(f"{api_root}/", f"{base}{SITE_PREFIX}/"))
    app.openapi = lambda: _document(app, api_root, open_routes)  # type: ignore[method-assign]
    return app


def _document(app: FastAPI, api_root: str, open_routes: set[tuple[str, str]]) -> dict[str, Any]:
    """The OpenAPI document, saying which operations need a token or a session (the auth
    middleware's, so it lists every API route but the open ones)."""
    if app.openapi_schema is None:
        doc = get_openapi(title=app.title, version=app.version, summary=app.summary, routes=app.routes)
        doc.setdefault("components", {})["securitySchemes"] = SECURITY_SCHEMES
        for path, operations in doc["paths"].items():
            for method, operation in operations.items():
                if path.startswith(api_root + "/") and (method.upper(), path) not in open_routes:
                    operation["security"] = SECURITY
        app.openapi_schema = doc
    return app.openapi_schema


class _Secured:
    """The site's files with its CSP and no content sniffing; 404 until the first build made
    the folder (StaticFiles would fail on a missing one)."""

    def __init__(self, app: ASGIApp, folder: Path) -> None:
        self.app = app
        self.folder = folder

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self.folder.is_dir():
            body = b'{"error":{"code":"not_found","message":"the site has not been built yet"}}'
            await send(
                {
                    "type": "http.response.start",
                    "status": 404,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-length", b"%d" % len(body)),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body})
            return

        async def send_secured(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.append((b"content-security-policy", SITE_CSP.encode()))
                headers.append((b"x-content-type-options", b"nosniff"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_secured)
