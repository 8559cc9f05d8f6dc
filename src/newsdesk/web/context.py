"""What every route shares: the config, the archive (one connection per worker thread), the
clock, the metrics and the hooks into the scheduler that `serve` provides.

A SQLite connection must not cross threads. The routes' archive work runs on the desk's own
pool of worker threads (`Desk.run`), which live as long as the server, so each of those threads
opens its archive connection (and its search index) once, on its first request, and keeps it:
no request opens a store. (anyio's thread pool, which FastAPI's sync routes use, ends a thread
idle for 10 s: the next one would open a connection and an index again, and the ended thread's
connection would stay open until the server stops.)
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TypeVar

from ..config import Config
from ..errors import NewsdeskError
from ..store import Store, open_store
from .metrics import Metrics

T = TypeVar("T")

# More threads than this only add contention: a page of entries holds the GIL for most of its
# time (the SQLite steps that release it are short), so threads that take turns on it wait
# for each other (the GIL's switch interval) rather than overlap; two keep a slow request
# (a big mark-read, a search) from holding up the rest. More throughput comes from more
# processes (`serve.workers`); measured: docs/benchmarks.md.
WORKER_THREADS = 2
CLOSE_WITHIN = 2.0  # seconds `Desk.close` waits for a busy worker thread


def utcnow() -> datetime:
    return datetime.now(UTC)


class ThreadStores:
    """One open archive per thread, opened on first use."""

    def __init__(self, database_url: str, opener: Callable[[str], Store] = open_store) -> None:
        self._url = database_url
        self._opener = opener
        self._local = threading.local()
        self._lock = threading.Lock()
        self._opened: list[Store] = []

    def get(self) -> Store:
        store: Store | None = getattr(self._local, "store", None)
        if store is None:
            store = self._opener(self._url)
            self._local.store = store
            with self._lock:
                self._opened.append(store)
        return store

    def drop(self) -> None:
        """Forget this thread's store (after an error that may have left it unusable)."""
        store: Store | None = getattr(self._local, "store", None)
        if store is not None:
            self._local.store = None
            with self._lock:
                if store in self._opened:
                    self._opened.remove(store)
            with contextlib.suppress(Exception):
                store.close()

    def close_all(self) -> None:
        """At shutdown: close what can be closed (a connection made by another thread may refuse;
        the process ends right after)."""
        with self._lock:
            opened, self._opened = self._opened, []
        for store in opened:
            with contextlib.suppress(Exception):
                store.close()


@dataclass
class Hooks:
    """What the app may ask of the running service (none in tests of the app alone)."""

    # Check this feed now (the scheduler's `refresh`); raises NewsdeskError for an unknown feed.
    refresh: Callable[[str], None] | None = None
    # The catalogue changed through the API: the scheduler looks at it again.
    catalogue_changed: Callable[[], None] | None = None
    # What keeps the desk from working besides the archive (a scheduler that stopped), else None:
    # /readyz answers 503 with it.
    problem: Callable[[], str | None] | None = None


@dataclass
class Desk:
    config: Config
    stores: ThreadStores
    metrics: Metrics = field(default_factory=Metrics)
    clock: Callable[[], datetime] = utcnow
    hooks: Hooks = field(default_factory=Hooks)
    # Session cookies get `Secure` when the request came over https (directly, or as a trusted
    # proxy's X-Forwarded-Proto says); this forces it on.
    secure_cookies: bool = False
    # Worker threads the routes' archive work runs on (`run`).
    threads: int = WORKER_THREADS
    _pool: ThreadPoolExecutor | None = field(default=None, init=False, repr=False)
    _threads: list[threading.Thread] = field(default_factory=list, init=False, repr=False)

    def store(self) -> Store:
        return self.stores.get()

    async def run(self, fn: Callable[[], T]) -> T:
        """`fn()` on one of the desk's worker threads (each with its archive connection), in
        the caller's context (as `asyncio.to_thread`). A plain executor: the hop costs less
        CPU than anyio's (its limiter, cancel scope and idle-thread upkeep per call)."""
        if self._pool is None:  # made on the event loop, at the first request
            self._pool = ThreadPoolExecutor(
                self.threads, thread_name_prefix="newsdesk-archive", initializer=self._started
            )
        context = contextvars.copy_context()
        return await asyncio.get_running_loop().run_in_executor(self._pool, context.run, fn)

    def _started(self) -> None:
        self._threads.append(threading.current_thread())

    def close(self, within: float = CLOSE_WITHIN) -> None:
        """At shutdown: the worker threads end (those still busy are waited for `within`
        seconds at most, so a stuck archive call cannot hold up a stop), then the stores are
        closed (`ThreadStores.close_all`)."""
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
            deadline = time.monotonic() + within
            for thread in self._threads:
                thread.join(max(0.0, deadline - time.monotonic()))
            self._threads.clear()
        self.stores.close_all()

    def refresh(self, key: str) -> None:
        if self.hooks.refresh is None:
            raise NewsdeskError("the scheduler is not running in this process")
        self.hooks.refresh(key)
