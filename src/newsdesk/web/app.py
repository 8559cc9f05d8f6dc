"""`create_app`: the desk's ASGI app (FastAPI), every route under `serve.base_path`:

{base}/api/v1/...              the JSON API (api.py, feeds_api.py), token or session
{base}/api/v1/openapi.json     its OpenAPI document; {base}/api/v1/docs the browsable one
{base}/healthz, /readyz        without auth (ops.py)
{base}/metrics                 Prometheus, to `serve.metrics_allow` only
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from .. import __version__
from ..config import Config
from . import api, errors, feeds_api, ops
from .auth import SECURITY, SECURITY_SCHEMES, AuthMiddleware, LoginThrottle, UserCache
from .context import Desk, Hooks, ThreadStores, utcnow
from .metrics import Metrics

API_PREFIX = "/api/v1"


def create_app(
    config: Config,
    *,
    metrics: Metrics | None = None,
    hooks: Hooks | None = None,
    clock: Callable[[], datetime] = utcnow,
    stores: ThreadStores | None = None,
    base_path: str | None = None,
) -> FastAPI:
    """The app over `config`'s archive. `base_path` (else `serve.base_path`) is the prefix a
    reverse proxy serves it under, e.g. `/news`: routes answer under it, and only there."""
    base = (config.serve.base_path if base_path is None else base_path).rstrip("/")
    desk = Desk(
        config=config,
        stores=stores or ThreadStores(config.database_url),
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
    errors.install(app)
    api_root = f"{base}{API_PREFIX}"
    open_routes = {
        ("POST", f"{api_root}/session"),
        ("GET", f"{api_root}/openapi.json"),
        ("GET", f"{api_root}/docs"),
        ("GET", f"{api_root}/docs/oauth2-redirect"),
    }
    app.add_middleware(AuthMiddleware, desk=desk, prefix=api_root, open_routes=open_routes, cache=cache)
    app.include_router(api.router(LoginThrottle()), prefix=api_root)
    app.include_router(feeds_api.router(), prefix=api_root)
    app.include_router(ops.router(desk), prefix=base)
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
