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


def test_closing_the_desk_ends_its_threads_then_closes_their_stores() -> None:
    closed: list[tuple[int, bool]] = []  # (the store's thread, whether it still ran at close)
    threads: dict[int, threading.Thread] = {}

    class Opened:
        def __init__(self) -> None:
            self.thread = threading.current_thread()
            threads[self.thread.ident or 0] = self.thread

        def close(self) -> None:
            closed.append((self.thread.ident or 0, self.thread.is_alive()))

    desk = Desk(config=Config(), stores=ThreadStores("unused", opener=lambda url: cast(Any, Opened())))
    barrier = threading.Barrier(2, timeout=10)

    def both() -> None:
        desk.store()
        barrier.wait()

    async def work() -> None:
        await asyncio.gather(desk.run(both), desk.run(both))

    asyncio.run(work())
    assert len(threads) == 2 and all(t.is_alive() for t in threads.values())
    desk.close()
    assert sorted(closed) == sorted((ident, False) for ident in threads)
    desk.close()  # twice: nothing left to do
    assert len(closed) == 2


def test_closing_does_not_wait_for_ever_on_a_stuck_archive_call() -> None:
    desk = Desk(config=Config(), stores=ThreadStores("unused", opener=lambda url: cast(Any, object())))
    release, running = threading.Event(), threading.Event()

    def stuck() -> None:
        running.set()
        release.wait(30)

    async def start() -> None:
        job = asyncio.ensure_future(desk.run(stuck))
        await asyncio.to_thread(running.wait, 10)
        job.cancel()

    asyncio.run(start())
    closer = threading.Thread(target=desk.close, kwargs={"within": 0.05})
    closer.start()
    closer.join(10)
    try:
        assert not closer.is_alive(), "close waited for the stuck call"
    finally:
        release.set()
