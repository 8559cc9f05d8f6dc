"""`serve.workers`: HTTP worker processes beside serve's own, on the same port.

End to end through the real `newsdesk serve` (one process for the whole module's checks): the
worker listens on serve's socket and answers every connection by itself (serve's own process
stopped meanwhile), keep-alive clients are spread evenly over the two, the main process's metrics, readiness and login limit are the same from either process, a
worker that dies is started again, SIGTERM stops them all. The worker's questions to the main
process over a real pipe: every kind, an unknown one, and a main process that is gone."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from newsdesk import httpworkers, procs
from newsdesk.errors import NewsdeskError, ServeError
from newsdesk.httpworkers import (
    HookServer,
    Spread,
    _Channel,
    _RemoteMetrics,
    _RemoteThrottle,
    accept_in_turn,
    bind,
)
from newsdesk.web import Hooks, Metrics
from newsdesk.web.auth import LoginThrottle
from serve_helpers import ServeProcess, add_user, desk_config, listeners, poll, sockets_by_pid


def fresh_get(url: str, token: str | None = None, timeout: float = 10.0) -> httpx.Response:
    """One request on a connection of its own (the kernel picks the listening socket per
    connection)."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    with httpx.Client(timeout=timeout, headers=headers) as c:
        return c.get(url)


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServeProcess, str, str]]:
    tmp = tmp_path_factory.mktemp("workers")
    config = desk_config(tmp, [], extra=["  workers: 2"])
    password, token = add_user(tmp / "archive.db", "admin", admin=True)
    serve = ServeProcess(config)
    try:
        serve.wait_healthy()
        yield serve, token, password
    finally:
        if serve.proc.poll() is None:
            serve.kill()


def _port(serve: ServeProcess) -> int:
    return int(serve.url.rsplit(":", 1)[1].split("/")[0])


def _worker(serve: ServeProcess, not_this: int | None = None) -> int:
    def found() -> int | None:
        others = listeners(_port(serve)) - {serve.proc.pid, not_this or -1}
        return next(iter(others)) if len(others) == 1 else None

    return poll(found, "an HTTP worker listening on serve's port")


def test_the_worker_answers_by_itself_on_serves_port(desk: tuple[ServeProcess, str, str]) -> None:
    serve, token, _ = desk
    _worker(serve)
    # Serve's own process stopped: only the worker can answer. Every one of 24 connections is
    # answered: it is not serve's turn that the worker waits for, only a moment (`_GATE_WAIT`).
    os.kill(serve.proc.pid, signal.SIGSTOP)
    try:
        with ThreadPoolExecutor(24) as pool:
            futures = [pool.submit(fresh_get, f"{serve.url}/api/v1/me", token, 4.0) for _ in range(24)]
            answered = []
            for f in futures:
                with contextlib.suppress(httpx.TimeoutException):
                    answered.append(f.result())
    finally:
        os.kill(serve.proc.pid, signal.SIGCONT)
    assert len(answered) == 24, f"{24 - len(answered)} of 24 requests waited for the stopped process"
    assert all(r.status_code == 200 and r.json()["name"] == "admin" for r in answered)


def _established(port: int) -> dict[int, int]:
    """Open connections to `port` by the pid of the process holding their server side."""
    return sockets_by_pid(port, "01")


def test_keep_alive_clients_are_spread_evenly(desk: tuple[ServeProcess, str, str]) -> None:
    serve, token, _ = desk
    worker = _worker(serve)
    # 16 clients that keep their connections, one after another: the kernel's choice among
    # sockets by address (SO_REUSEPORT) would split them 8/8 only one time in five.
    clients = [httpx.Client(timeout=10.0, headers={"Authorization": f"Bearer {token}"}) for _ in range(16)]
    try:
        for client in clients:
            assert client.get(f"{serve.url}/api/v1/me").status_code == 200
        held = _established(_port(serve))
        assert held == {serve.proc.pid: 8, worker: 8}, held
    finally:
        for client in clients:
            client.close()


def test_the_turn_is_whoever_holds_fewest() -> None:
    spread = Spread(3)
    assert spread.counts() == [-1, -1, -1]
    assert spread.may_accept(0, 5)  # alone
    assert not spread.may_accept(1, 6) and spread.may_accept(1, 5)  # 5 held by slot 0
    assert spread.may_accept(2, 0) and not spread.may_accept(0, 5)
    spread.leave(2)  # ended: no one's measure any more
    assert spread.may_accept(0, 5) and spread.counts() == [5, 5, -1]


class _Counted(Spread):
    """A spread that counts each process's looks at whose turn it is."""

    def __init__(self, processes: int) -> None:
        super().__init__(processes)
        self.looks = [0] * processes

    def may_accept(self, slot: int, count: int) -> bool:
        self.looks[slot] += 1
        return super().may_accept(slot, count)


class _Served(asyncio.Protocol):
    def __init__(self, slot: int, served: list[int]) -> None:
        self.slot, self.served = slot, served

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.served.append(self.slot)
        transport.close()


def test_a_connection_goes_to_the_process_whose_turn_it_is_and_the_other_stops_looking(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Two acceptors on one listening socket (each its own descriptor of it, as two processes
    # have), slot 0 holding 5 connections and slot 1 none: every connection is slot 1's, and
    # slot 0 looks at the turn again only until the connection is taken, then waits for the
    # next one (not for the whole `_GATE_WAIT`: 50 looks a connection).
    waiting = [False, False]  # each acceptor: waiting for a connection now
    readable = httpworkers._readable

    async def counted(loop: asyncio.AbstractEventLoop, sock: socket.socket) -> None:
        slot = 0 if sock is listener else 1
        waiting[slot] = True
        try:
            await readable(loop, sock)
        finally:
            waiting[slot] = False

    monkeypatch.setattr(httpworkers, "_readable", counted)
    listener = bind("127.0.0.1", 0)
    listener.setblocking(False)
    other = listener.dup()

    async def until(done: Callable[[], bool], what: str) -> None:
        deadline = time.monotonic() + 10
        while not done():
            assert time.monotonic() < deadline, what
            await asyncio.sleep(0.001)

    async def scenario() -> tuple[list[int], list[int]]:
        spread = _Counted(2)
        spread.record(0, 5)  # as each records at its first look
        spread.record(1, 0)
        served: list[int] = []
        tasks = [
            asyncio.create_task(
                accept_in_turn(sock, spread, slot, lambda h=held: h, lambda s=slot: _Served(s, served))
            )
            for slot, (sock, held) in enumerate([(listener, 5), (other, 0)])
        ]
        try:
            for n in range(1, 6):
                with socket.create_connection(listener.getsockname(), timeout=10):
                    await until(lambda n=n: len(served) == n, "the connection to be served")
            await until(lambda: waiting[0], "slot 0 to wait for the next connection")
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        return served, spread.looks

    try:
        served, looks = asyncio.run(scenario())
    finally:
        listener.close()
        other.close()
    assert served == [1, 1, 1, 1, 1]
    assert looks[0] <= 5 * 3, looks


def test_metrics_readiness_and_the_login_limit_are_the_desks(desk: tuple[ServeProcess, str, str]) -> None:
    serve, _token, password = desk
    for _ in range(6):
        ready = fresh_get(f"{serve.url}/readyz")
        assert ready.status_code == 200 and ready.json() == {"status": "ready"}
        metrics = fresh_get(f"{serve.url}/metrics")
        assert metrics.status_code == 200 and "newsdesk_feeds" in metrics.text
    # Ten failed logins, each on its own connection (so on either process): the eleventh is
    # refused from both, as the limit is counted in one place.
    for _ in range(10):
        with httpx.Client(timeout=30) as c:
            r = c.post(f"{serve.url}/api/v1/session", json={"name": "admin", "password": "wrong"})
            assert r.status_code == 401
    for _ in range(6):
        with httpx.Client(timeout=30) as c:
            r = c.post(f"{serve.url}/api/v1/session", json={"name": "admin", "password": password})
            assert r.status_code == 429 and r.json()["error"]["code"] == "too_many_requests"


def test_a_dead_worker_is_started_again_and_sigterm_stops_all(desk: tuple[ServeProcess, str, str]) -> None:
    serve, token, _ = desk
    first = _worker(serve)
    os.kill(first, signal.SIGKILL)
    second = _worker(serve, not_this=first)
    assert second != first
    for _ in range(8):
        assert fresh_get(f"{serve.url}/api/v1/me", token).status_code == 200
    port = _port(serve)
    code, _seconds = serve.stop(signal.SIGTERM, within=10.0)
    assert code == 0, serve.log_text()
    assert poll(lambda: not listeners(port), "every process to let go of the port", deadline=10.0)
    with pytest.raises(ProcessLookupError):
        os.kill(second, 0)
    assert "Traceback" not in serve.log_text()


def test_a_port_taken_by_another_desk_is_refused() -> None:
    own = bind("127.0.0.1", 0)
    try:
        with pytest.raises(ServeError, match="address already in use"):
            bind("127.0.0.1", own.getsockname()[1]).close()
    finally:
        own.close()


# the questions over the pipe ---------------------------------------------------------------
@pytest.fixture
def channel() -> Iterator[tuple[_Channel, dict[str, list[object]], LoginThrottle]]:
    told: dict[str, list[object]] = {"refresh": [], "wake": []}
    state = {"problem": None}

    def refresh(key: str) -> None:
        if key == "unknown":
            raise NewsdeskError("no feed 'unknown'")
        told["refresh"].append(key)

    hooks = Hooks(
        refresh=refresh,
        catalogue_changed=lambda: told["wake"].append(True),
        problem=lambda: state["problem"],
    )
    throttle = LoginThrottle(attempts=2, window=60.0)
    ours, theirs = procs.context().Pipe()
    server = threading.Thread(target=HookServer(hooks, Metrics(), throttle).serve, args=(ours,), daemon=True)
    server.start()
    try:
        yield _Channel(theirs), told, throttle
    finally:
        theirs.close()
        server.join(5)
        ours.close()
    assert not server.is_alive()


def test_every_question_reaches_the_main_process(
    channel: tuple[_Channel, dict[str, list[object]], LoginThrottle],
) -> None:
    ask, told, throttle = channel
    ask.tell("refresh", "源1")
    ask.tell("catalogue_changed")
    assert ask.ask("problem") is None  # answered in order: the two above were handled first
    assert told == {"refresh": ["源1"], "wake": [True]}
    body = _RemoteMetrics(ask).exposition()
    assert b"newsdesk_feeds" in body
    remote = _RemoteThrottle(ask)
    assert remote.wait_seconds("10.0.0.1") is None
    remote.failed("10.0.0.1")
    remote.failed("10.0.0.1")
    wait = remote.wait_seconds("10.0.0.1")
    assert wait is not None and 0 < wait <= 61
    assert throttle.wait_seconds("10.0.0.1") == wait  # counted in the main process
    with pytest.raises(ServeError, match="unknown question"):
        ask.ask("what")
    ask.tell("refresh", "unknown")  # an error there is not the worker's: nothing comes back
    assert ask.ask("problem") is None


def test_a_worker_whose_main_process_is_gone_gets_a_clear_error() -> None:
    ours, theirs = procs.context().Pipe()
    ours.close()
    lonely = _Channel(theirs)
    with pytest.raises(ServeError, match="main process is gone"):
        lonely.ask("problem")
    with pytest.raises(ServeError, match="main process is gone"):
        lonely.tell("refresh", "源1")
    theirs.close()


def test_serve_workers_is_checked_as_config() -> None:
    from pydantic import ValidationError

    from newsdesk.config import ServeConfig

    assert ServeConfig().workers == 1
    with pytest.raises(ValidationError):
        ServeConfig(workers=0)
