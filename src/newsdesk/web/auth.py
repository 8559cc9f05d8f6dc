"""Who is asking: an API token (`Authorization: Bearer nd_…`) or a browser session cookie
(`POST /api/v1/session` with name and password), looked up by their SHA-256
(`accounts.secret_hash`) in the archive. No credential, or an unknown one: 401. A reader on an
admin's route: 403.

The check is an ASGI middleware in front of the API (`AuthMiddleware`), so an anonymous
request is refused before its parameters are even read. A checked credential is trusted for
`CACHE_SECONDS` (`UserCache`), so a client's following requests need no trip to the archive;
every route then does its store work through `in_thread`: one hop to a worker thread with
that thread's archive connection (a sync dependency per step would cost a hop each), so the
event loop never waits on a write. The entry list and one entry, short reads that never wait
for a writer, run on the loop itself (`on_loop`).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TypeVar

from fastapi import Request
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from .. import accounts
from ..errors import NewsdeskError
from ..models import User
from ..store import Store
from .context import Desk
from .errors import ApiError, error_response, newsdesk_error_status

T = TypeVar("T")

SESSION_COOKIE = "newsdesk_session"
CACHE_SECONDS = 10.0  # how long a checked token or session is trusted without asking the archive

# For the OpenAPI document (`app.py` puts them on every API operation but logging in): either
# credential will do. The middleware reads the headers itself, so no route pays for them.
SECURITY_SCHEMES = {
    "token": {
        "type": "http",
        "scheme": "bearer",
        "description": "An API token from `newsdesk users token NAME`.",
    },
    "session": {
        "type": "apiKey",
        "in": "cookie",
        "name": SESSION_COOKIE,
        "description": "The session cookie `POST /api/v1/session` sets.",
    },
}
SECURITY: list[dict[str, list[str]]] = [{"token": []}, {"session": []}]

_UNAUTHORIZED = {"WWW-Authenticate": 'Bearer realm="newsdesk"'}


def desk_of(request: Request) -> Desk:
    desk: Desk = request.app.state.desk
    return desk


def credentials(headers: Headers) -> tuple[str | None, str | None]:
    """(bearer token, session id) as sent; either may be None."""
    token = None
    header = headers.get("authorization")
    if header:
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise ApiError(401, "the Authorization header must be 'Bearer <token>'", headers=_UNAUTHORIZED)
        token = value.strip()
    session = None
    for part in headers.getlist("cookie"):
        for item in part.split(";"):
            name, _, value = item.strip().partition("=")
            if name == SESSION_COOKIE and value:
                session = value
    return token, session


def authenticate(store: Store, token: str | None, session: str | None, now: datetime) -> User:
    if token is not None:
        user = store.user_for_token(accounts.secret_hash(token), now)
        if user is None:
            raise ApiError(401, "unknown or revoked API token", headers=_UNAUTHORIZED)
        return user
    if session is not None:
        user = store.user_for_session(accounts.secret_hash(session), now)
        if user is None:
            raise ApiError(401, "the session has ended: log in again", headers=_UNAUTHORIZED)
        return user
    raise ApiError(
        401, "log in (POST /api/v1/session) or send 'Authorization: Bearer <token>'", headers=_UNAUTHORIZED
    )


class UserCache:
    """Who a token or session id belonged to, for `ttl` seconds: a client's requests after its
    first are checked without a trip to the archive. A revoked token or ended session (from
    the command line, another process) is refused at most `ttl` seconds later; logging out
    through the API forgets the session here at once."""

    def __init__(self, ttl: float = CACHE_SECONDS, size: int = 10_000) -> None:
        self.ttl = ttl
        self.size = size
        self._users: dict[tuple[str | None, str | None], tuple[User, float]] = {}

    def get(self, key: tuple[str | None, str | None]) -> User | None:
        found = self._users.get(key)
        if found is None or found[1] < time.monotonic():
            return None
        return found[0]

    def put(self, key: tuple[str | None, str | None], user: User) -> None:
        if len(self._users) >= self.size:
            self._users.clear()
        self._users[key] = (user, time.monotonic() + self.ttl)

    def forget_session(self, session: str) -> None:
        for key in [k for k in self._users if k[1] == session]:
            del self._users[key]

    def forget_user(self, user_id: int) -> None:
        """Every token and session of a user removed or demoted: refused at once."""
        for key in [k for k, (u, _) in self._users.items() if u.id == user_id]:
            del self._users[key]


class AuthMiddleware:
    """Every request under the API's prefix but the open ones (logging in, the OpenAPI
    document) needs a known token or session, checked before anything else (routing, body
    validation): 401 otherwise. The user is left in `request.state.user`."""

    def __init__(
        self, app: ASGIApp, *, desk: Desk, prefix: str, open_routes: set[tuple[str, str]], cache: UserCache
    ) -> None:
        self.app = app
        self.desk = desk
        self.prefix = prefix + "/"
        self.open_routes = open_routes
        self.cache = cache

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or not scope["path"].startswith(self.prefix)
            or (scope["method"], scope["path"]) in self.open_routes
        ):
            await self.app(scope, receive, send)
            return
        try:
            user = await self._user(Headers(scope=scope))
        except ApiError as e:
            await error_response(e.status, e.message, e.code, e.headers)(scope, receive, send)
            return
        except NewsdeskError as e:  # the archive cannot be read
            status, code = newsdesk_error_status(e)
            await error_response(status, str(e), code)(scope, receive, send)
            return
        scope.setdefault("state", {})["user"] = user
        await self.app(scope, receive, send)

    async def _user(self, headers: Headers) -> User:
        token, session = credentials(headers)
        key = (token, None) if token is not None else (None, session)
        user = self.cache.get(key)
        if user is None:
            desk = self.desk
            user = await desk.run(lambda: authenticate(desk.store(), token, session, desk.clock()))
            self.cache.put(key, user)
        return user


def current_user(request: Request) -> User:
    user: User | None = getattr(request.state, "user", None)
    if user is None:  # a route outside the middleware's prefix: a bug
        raise ApiError(401, "not logged in", headers=_UNAUTHORIZED)
    return user


async def in_thread(request: Request, work: Callable[[Store, User], T], *, admin: bool = False) -> T:
    """`work(store, user)` on a worker thread with its own archive, for the caller the
    middleware let in (403 for a reader when `admin`)."""
    desk = desk_of(request)
    user = current_user(request)
    if admin and not user.admin:
        raise ApiError(403, f"{user.name} is a reader: only admins may do this")
    return await desk.run(lambda: work(desk.store(), user))


def on_loop(request: Request, work: Callable[[Store, User], T]) -> T:
    """`work(store, user)` on the event loop's own thread and archive connection, for short
    reads only: a read of the WAL archive never waits for a writer, and for a page of entries
    the hop to a worker thread and back cost as much as the read (serve took a third more
    requests a second without it: docs/serve.md). Writes and long work go through `in_thread`."""
    desk = desk_of(request)
    return work(desk.store(), current_user(request))


class LoginThrottle:
    """At most `attempts` failed logins per client address in `window` seconds; then 429 until
    the oldest failure leaves the window (argon2 makes each guess slow; this bounds the count)."""

    def __init__(
        self, attempts: int = 10, window: float = 300.0, clock: Callable[[], float] = time.monotonic
    ):
        self.attempts = attempts
        self.window = window
        self._clock = clock
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def check(self, client: str) -> None:
        """429 when `client` has used up its failed logins."""
        wait = self.wait_seconds(client)
        if wait is not None:
            raise ApiError(
                429,
                f"too many failed logins from {client}: try again in {wait} s",
                headers={"Retry-After": str(wait)},
            )

    def wait_seconds(self, client: str) -> int | None:
        """Seconds until `client` may try again; None: it may now."""
        with self._lock:
            now = self._clock()
            failures = self._failures.get(client)
            if failures is None:
                return None
            while failures and failures[0] <= now - self.window:
                failures.popleft()
            if not failures:
                del self._failures[client]
                return None
            if len(failures) >= self.attempts:
                return int(failures[0] + self.window - now) + 1
            return None

    def failed(self, client: str) -> None:
        with self._lock:
            self._failures.setdefault(client, deque()).append(self._clock())
            if len(self._failures) > 10_000:  # an address sweep must not grow this without end
                self._failures.pop(next(iter(self._failures)))


def login(
    desk: Desk, throttle: LoginThrottle, client: str, name: str, password: str
) -> tuple[User, str, datetime]:
    """(user, new session id, expiry) for a right name and password; 401 otherwise. Runs on a
    worker thread (argon2 takes a tenth of a second on purpose)."""
    throttle.check(client)
    store = desk.store()
    stored = store.password_hash(name)
    if not accounts.verify_password(stored, password):
        throttle.failed(client)
        raise ApiError(401, "wrong user name or password")
    user = store.get_user(name)
    if user is None:  # removed between the two reads
        raise ApiError(401, "wrong user name or password")
    if stored is not None and accounts.needs_rehash(stored):
        store.set_password(name, accounts.hash_password(password))
    now = desk.clock()
    session = accounts.new_session_id()
    expires = now + timedelta(days=desk.config.serve.session_days)
    store.add_session(user.id, accounts.secret_hash(session), expires=expires, now=now)
    return user, session, expires
