"""The desk's worker threads (`web.context.Desk.run`): the routes' archive work runs on the
same threads for the server's life, each opening its archive connection once."""

from __future__ import annotations

import asyncio
import contextvars
import threading
from typing import Any, cast

import anyio._backends._asyncio
import pytest

from newsdesk.config import Config
from newsdesk.store import Store
from newsdesk.web.context import Desk, ThreadStores


def test_the_threads_and_their_archives_last_through_quiet_spells(monkeypatch: pytest.MonkeyPatch) -> None:
    # anyio's thread pool ends a worker thread idle for MAX_IDLE_TIME (10 s) when it hands out
    # the next job; zero stands for such a quiet spell here (the desk's threads must not care).
    monkeypatch.setattr(anyio._backends._asyncio.WorkerThread, "MAX_IDLE_TIME", 0.0)
    opened: list[int] = []

    def opener(url: str) -> Store:
        opened.append(threading.get_ident())
        return cast(Store, object())

    desk = Desk(config=Config(), stores=ThreadStores("unused", opener=opener))
    barrier = threading.Barrier(2, timeout=10)  # two jobs at once: both threads busy

    def both() -> int:
        desk.store()
        barrier.wait()
        return threading.get_ident()

    async def spells() -> set[int]:
        first = set(await asyncio.gather(desk.run(both), desk.run(both)))
        await desk.run(desk.store)  # one alone, after which the other thread sat idle
        barrier.reset()
        return first | set(await asyncio.gather(desk.run(both), desk.run(both)))

    threads = asyncio.run(spells())
    assert len(opened) == 2, "an archive was opened again after a quiet spell"
    assert set(opened) == threads and len(threads) == 2


def test_the_work_runs_in_the_callers_context() -> None:
    seen: contextvars.ContextVar[str] = contextvars.ContextVar("seen", default="none")
    desk = Desk(config=Config(), stores=ThreadStores("unused", opener=lambda url: cast(Any, object())))

    async def call() -> str:
        seen.set("the request's")
        return await desk.run(seen.get)

    assert asyncio.run(call()) == "the request's"
