"""Who is reading, and what keeps the pages safe: the session cookie (the one the API's
`POST /session` sets; `auth.py` looks it up), a CSRF token on every form, and the security
headers of every page.

CSRF: a logged-in form carries HMAC-SHA256(session id, "newsdesk-csrf"). The session id is an
HttpOnly cookie another site can neither read nor guess, so neither can it make the token, and
the token (in the page) tells nothing of the session id. The login form, before any session,
is a double submit: a random `newsdesk_login` cookie (SameSite=Strict) whose value the form
must repeat.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from urllib.parse import parse_qs, quote

from fastapi import Request
from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ...errors import NewsdeskError
from ...models import User
from ..auth import SESSION_COOKIE, UserCache, authenticate, credentials, desk_of
from ..errors import ApiError

LOGIN_COOKIE = "newsdesk_login"
MAX_FORM = 64 * 1024  # bytes of a form body; ours are a few hundred

# No inline script or style anywhere: scripts and styles are the app's own files. Article
# images come from the portals (http or https), sent without a referrer (the <img>'s
# referrerpolicy and this page's policy), so hotlink-protected portals still serve them.
PAGE_CSP = (
    "default-src 'none'; img-src 'self' https: http: data:; script-src 'self'; style-src 'self'; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
# With `images: cache` articles' images are the desk's own copies (web/pages/media.py): no
# page asks another host for anything.
CACHED_IMAGES_CSP = PAGE_CSP.replace("img-src 'self' https: http: data:", "img-src 'self' data:")
_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (b"cross-origin-opener-policy", b"same-origin"),
]


class SecurityHeaders:
    """The pages' headers on every response outside `skip` (the API and the published site,
    which have their own), 404s and errors included."""

    def __init__(self, app: ASGIApp, *, skip: tuple[str, ...], csp: str = PAGE_CSP) -> None:
        self.app = app
        self.skip = skip
        self.headers = [(b"content-security-policy", csp.encode()), *_HEADERS]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(self.skip):
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in self.headers:
                    if name.decode() not in headers:
                        headers.raw.append((name, value))
            await send(message)

        await self.app(scope, receive, send_with_headers)


def base_of(request: Request) -> str:
    return desk_of(request).config.serve.base_path.rstrip("/")


def session_id(request: Request) -> str | None:
    return request.cookies.get(SESSION_COOKIE) or None


async def page_user(request: Request) -> User | None:
    """The logged-in reader of this request, else None (no session, or one that has ended)."""
    try:
        _, session = credentials(Headers(scope=request.scope))
    except ApiError:
        return None
    if session is None:
        return None
    cache: UserCache = request.app.state.user_cache
    key = (None, session)
    user = cache.get(key)
    if user is None:
        desk = desk_of(request)
        try:
            user = await desk.run(lambda: authenticate(desk.store(), None, session, desk.clock()))
        except (ApiError, NewsdeskError):
            return None
        cache.put(key, user)
    return user


def to_login(request: Request) -> Response:
    """303 to the login page, coming back here afterwards."""
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"{base_of(request)}/login?next={quote(here, safe='')}", status_code=303)


def csrf_token(session: str) -> str:
    return hmac.new(session.encode(), b"newsdesk-csrf", hashlib.sha256).hexdigest()


def csrf_ok(request: Request, form: dict[str, str]) -> bool:
    session = session_id(request)
    sent = form.get("csrf", "")
    return session is not None and hmac.compare_digest(sent.encode(), csrf_token(session).encode())


def new_login_token() -> str:
    return secrets.token_urlsafe(24)


def login_csrf_ok(request: Request, form: dict[str, str]) -> bool:
    cookie = request.cookies.get(LOGIN_COOKIE, "")
    sent = form.get("csrf", "")
    return bool(cookie) and hmac.compare_digest(sent.encode(), cookie.encode())


async def read_form(request: Request) -> dict[str, str]:
    """An urlencoded form body's fields (the last of each name); {} for anything else or a
    body over `MAX_FORM` bytes."""
    if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        return {}
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM:
            return {}
    try:
        fields = parse_qs(body.decode("utf-8"), keep_blank_values=True, max_num_fields=200)
    except (UnicodeDecodeError, ValueError):
        return {}
    return {k: v[-1] for k, v in fields.items()}


def local_next(request: Request, value: str | None, default: str = "/") -> str:
    """Where to go after a form: `value` when it is a path of this desk (never another site:
    no scheme, no `//host`, no backslash), else `default` under the base path."""
    base = base_of(request)
    if (
        value
        and value.startswith(base + "/")
        and not value.startswith("//")
        and "\\" not in value
        and "://" not in value.split("?", 1)[0]
    ):
        return value
    return base + default
