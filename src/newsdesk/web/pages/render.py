"""The pages' Jinja2 environment and the one way a page is answered: a template with what
every page shares (who reads, the language and theme, the CSRF token, the base path)."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2
from fastapi import Request
from starlette.responses import HTMLResponse, Response

from ... import __version__
from ...dates import SHANGHAI
from ...models import User
from .guard import base_of, csrf_ok, csrf_token, page_user, read_form, session_id, to_login
from .messages import pick_language, translator

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
LANG_COOKIE = "newsdesk_lang"
THEME_COOKIE = "newsdesk_theme"
THEMES = ("auto", "light", "dark")
SCROLL_COOKIE = "newsdesk_scroll_read"  # "1": rows scrolled past are marked read


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        # The static site's templates under "site/": the 要点 box is one template for both.
        loader=jinja2.ChoiceLoader(
            [
                jinja2.FileSystemLoader(TEMPLATES),
                jinja2.PrefixLoader({"site": jinja2.PackageLoader("newsdesk.publish", "templates")}),
            ]
        ),
        autoescape=True,
        # The templates are the installed package's: no stat of three files every page.
        auto_reload=False,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["bj"] = beijing
    env.filters["web_url"] = web_url
    return env


MINUTE = "%Y-%m-%d %H:%M"


def beijing(value: datetime | None, pattern: str = MINUTE) -> str:
    """A time in Asia/Shanghai (Beijing time), whatever the server's zone."""
    if value is None:
        return ""
    if pattern == MINUTE:  # every row of a list: isoformat makes it in half strftime's time
        return value.astimezone(SHANGHAI).isoformat(" ", "minutes")[:16]
    return value.astimezone(SHANGHAI).strftime(pattern)


def web_url(value: str | None) -> str:
    """An http(s) URL as given, else "" (a feed's `javascript:` or `data:` link is no link)."""
    return value if value and value.lower().startswith(("http://", "https://")) else ""


def language(request: Request) -> str:
    return pick_language(request.cookies.get(LANG_COOKIE), request.headers.get("accept-language"))


def theme(request: Request) -> str:
    chosen = request.cookies.get(THEME_COOKIE, "auto")
    return chosen if chosen in THEMES else "auto"


def page(
    request: Request,
    template: str,
    user: User | None,
    status: int = 200,
    **values: Any,
) -> HTMLResponse:
    base = base_of(request)
    lang = language(request)
    session = session_id(request)
    login_csrf = values.pop("login_csrf", "")
    html = (
        environment()
        .get_template(template)
        .render(
            base=base,
            user=user,
            lang=lang,
            _=translator(lang),
            theme=theme(request),
            scroll_read=request.cookies.get(SCROLL_COOKIE) == "1",
            csrf=csrf_token(session) if session and user else login_csrf,
            static=lambda name: f"{base}/static/{name}?v={__version__}",
            here=request.url.path + (f"?{request.url.query}" if request.url.query else ""),
            **values,
        )
    )
    # Pages hold one reader's state: no shared cache keeps them, and Back shows them fresh.
    return HTMLResponse(html, status_code=status, headers={"Cache-Control": "private, no-cache"})


def wants_json(request: Request) -> bool:
    return "application/json" in request.headers.get("accept", "")


def refused(request: Request, user: User | None) -> Response:
    """A form without a session, or without its CSRF token: nothing done."""
    if user is None and not wants_json(request):
        return to_login(request)
    if wants_json(request):
        return Response(status_code=403)
    return page(request, "message.html", user, status=403, message_key="表单已过期，请重试")


async def posted(request: Request) -> tuple[User, dict[str, str]] | Response:
    """The logged-in reader and the form they sent with its CSRF token; else the answer that
    does nothing (to the login page, or 403)."""
    user = await page_user(request)
    form = await read_form(request)
    if user is None or not csrf_ok(request, form):
        return refused(request, user)
    return user, form
