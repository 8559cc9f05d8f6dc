"""Who is asking: an API token (`Authorization: Bearer nd_…`) or a browser session cookie
(`POST /api/v1/session` with name and password), looked up by their SHA-256
(`accounts.secret_hash`) in the archive. No credential, or an unknown one: 401. A reader on an
admin's route: 403.

Every API route runs its work through `in_thread`: one hop to a worker thread that checks the
caller and then does the route's store work with that thread's archive connection, so a request
costs one thread hand-off (a separate sync dependency would cost a second one) and the event
loop never waits on SQLite.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TypeVar

from fastapi import Request
from fastapi.security import APIKeyCookie, HTTPBearer
from starlette.concurrency import run_in_threadpool

from .. import accounts
from ..models import User
from ..store import Store
from .context import Desk
from .errors import ApiError

T = TypeVar("T")

SESSION_COOKIE = "newsdesk_session"

# For the OpenAPI document only (both optional there: either one will do); `in_thread` reads
# the headers itself.
bearer_scheme = HTTPBearer(auto_error=False, description="An API token from `newsdesk users token NAME`.")
cookie_scheme = APIKeyCookie(
    name=SESSION_COOKIE, auto_error=False, description="The session `POST /api/v1/session` sets."
)

_UNAUTHORIZED = {"WWW-Authenticate": 'Bearer realm="newsdesk"'}


def desk_of(request: Request) -> Desk:
    desk: Desk = request.app.state.desk
    return desk


def credentials(request: Request) -> tuple[str | None, str | None]:
    """(bearer token, session id) as sent; either may be None."""
    token = None
    header = request.headers.get("authorization")
    if header:
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise ApiError(401, "the Authorization header must be 'Bearer <token>'", headers=_UNAUTHORIZED)
        token = value.strip()
    return token, request.cookies.get(SESSION_COOKIE)


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


async def in_thread(request: Request, work: Callable[[Store, User], T], *, admin: bool = False) -> T:
    """Check the caller, then `work(store, user)`, on a worker thread with its own archive."""
    desk = desk_of(request)
    token, session = credentials(request)

    def run() -> T:
        store = desk.store()
        user = authenticate(store, token, session, desk.clock())
        if admin and not user.admin:
            raise ApiError(403, f"{user.name} is a reader: only admins may do this")
        return work(store, user)

    return await run_in_threadpool(run)


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
        with self._lock:
            now = self._clock()
            failures = self._failures.get(client)
            if failures is None:
                return
            while failures and failures[0] <= now - self.window:
                failures.popleft()
            if not failures:
                del self._failures[client]
                return
            if len(failures) >= self.attempts:
                wait = int(failures[0] + self.window - now) + 1
                raise ApiError(
                    429,
                    f"too many failed logins from {client}: try again in {wait} s",
                    headers={"Retry-After": str(wait)},
                )

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
