"""More processes answering HTTP beside `serve`'s own (`serve.workers`), for throughput.

One Python process answers at most one request at a time (the GIL); a page of the entry list
costs about a millisecond, so one process tops out near a thousand requests a second with a
core to itself, and shares that core with the scheduler. With `serve.workers: N`, `serve`
starts N − 1 worker processes (from `procs`' fork server, never forked from the threaded
server), each given serve's own listening socket. Every process accepts from that one socket,
and a process takes a connection only while it holds no more open connections than any other
(`Spread`: the counts in shared memory), so keep-alive clients are spread evenly: with one
socket per process (SO_REUSEPORT) the kernel picks a socket by a hash of the client's address
and port, which splits 16 clients 9/7 or worse as often as 8/8, and the process with more of
them answers each later (at 16 clients, a tenth more on the p95). Without the counts, a process
that wakes for a connection would accept every one waiting, so a burst of clients would land on
one process and stay there. A process whose turn it is not takes a waiting connection anyway
after `_GATE_WAIT` (the others may be stopped or stuck in a long request).

Each worker runs the same app over its own archive connections. What only the main process
has reaches a worker through a pipe (`HookServer` answers in the main process, `_Channel`
asks from the worker): a feed's "refresh now" and a catalogue edit go to the scheduler,
`/readyz` asks whether the scheduler still runs, `/metrics` gets the main process's metrics
(the scheduler's and the publisher's: the workers record none), and failed logins are counted
in one place, so the login limit is the desk's, not each process's. A worker that dies is
started again; all of them stop with `serve` (SIGTERM, the same grace as the main process's
HTTP side).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import functools
import logging
import select
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from . import procs
from .config import Config
from .errors import NewsdeskError, ServeError
from .web import Hooks, Metrics, create_app
from .web.auth import LoginThrottle

if TYPE_CHECKING:
    from multiprocessing.connection import Connection
    from multiprocessing.process import BaseProcess

log = logging.getLogger("newsdesk.serve")

HTTP_GRACE = 3  # seconds open requests may take to finish once a stop is asked
_ANSWER_WITHIN = 10.0  # seconds a worker waits for the main process to answer
_RESTART_AFTER = 1.0  # seconds before a worker that died is started again


def bind(host: str, port: int) -> socket.socket:
    """A listening socket, bound now so that a taken address (another desk on it included) is
    one clear error; serve's HTTP workers are given this one (`Spread`)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as e:
        raise ServeError(f"cannot listen on {host}:{port}: {e.strerror}") from e
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        sock.bind(address)
        sock.listen(2048)
    except OSError as e:
        sock.close()
        if e.errno == errno.EADDRINUSE:
            raise ServeError(f"cannot listen on {host}:{port}: address already in use") from e
        raise ServeError(f"cannot listen on {host}:{port}: {e.strerror or e}") from e
    sock.set_inheritable(False)
    return sock


# Seconds a waiting connection is left to the processes holding fewer before this one takes it
# anyway, and how often it looks again meanwhile.
_GATE_WAIT = 0.05
_GATE_POLL = 0.001


class Spread:
    """How many connections each process answering on the desk's socket holds open, in shared
    memory (slot 0 serve's own process, slot n its worker n; -1: no process there now), and
    whose turn the next connection is: a process with no more than any other."""

    def __init__(self, processes: int) -> None:
        self._counts = procs.context().RawArray("i", [-1] * processes)

    def may_accept(self, slot: int, count: int) -> bool:
        """Whether the process in `slot`, holding `count` connections (recorded), takes the
        next one: no other process holds fewer."""
        counts = self._counts
        counts[slot] = count
        return all(c < 0 or count <= c for i, c in enumerate(counts) if i != slot)

    def record(self, slot: int, count: int) -> None:
        self._counts[slot] = count

    def leave(self, slot: int) -> None:
        """The process in `slot` ended (or stopped accepting): it is no one's measure."""
        self._counts[slot] = -1

    def counts(self) -> list[int]:
        return list(self._counts)


async def _readable(loop: asyncio.AbstractEventLoop, sock: socket.socket) -> None:
    ready = loop.create_future()

    def wake() -> None:
        if not ready.done():
            ready.set_result(None)

    loop.add_reader(sock.fileno(), wake)
    try:
        await ready
    finally:
        loop.remove_reader(sock.fileno())


async def accept_in_turn(
    sock: socket.socket,
    spread: Spread,
    slot: int,
    held: Callable[[], int],
    protocol: Callable[[], asyncio.Protocol],
) -> None:
    """Accept connections from the shared listening `sock` for the process in `slot` (holding
    `held()` open), in its turn (`Spread.may_accept`) or after `_GATE_WAIT`, each served by a
    new `protocol()`; until cancelled."""
    loop = asyncio.get_running_loop()
    waiting = select.poll()
    waiting.register(sock, select.POLLIN)
    while True:
        await _readable(loop, sock)  # every process wakes; one of them takes the connection
        since = loop.time()
        while not spread.may_accept(slot, held()) and loop.time() - since < _GATE_WAIT:
            await asyncio.sleep(_GATE_POLL)
            if not waiting.poll(0):
                break  # another process took it: wait for the next one
        try:
            conn, _ = sock.accept()
        except (BlockingIOError, InterruptedError, ConnectionAbortedError):
            continue  # another process took it, or its client gave up
        except OSError as e:  # out of file descriptors, say: the connection waits meanwhile
            log.warning("cannot accept a connection: %s", e)
            await asyncio.sleep(0.5)
            continue
        conn.setblocking(False)
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            await loop.connect_accepted_socket(protocol, conn)
        except OSError:  # the client went away meanwhile
            conn.close()
        except Exception:  # a bug here must not end this process's accepting
            log.exception("serving an accepted connection failed")
            conn.close()
        spread.record(slot, held())


@functools.cache
def server_class() -> Any:
    """uvicorn's server class, whose servers accept from the desk's shared socket in turn
    (`accept_in_turn`) when given a `spread` and their `slot`; as uvicorn's own without one.
    (Made on first use: uvicorn is imported only by a process that serves.)"""
    import uvicorn

    class Server(uvicorn.Server):
        spread: Spread | None = None
        slot = 0
        _acceptor: asyncio.Task[None] | None = None

        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            spread, slot = self.spread, self.slot
            if spread is None or not sockets:
                await super().startup(sockets=sockets)
                return
            await super().startup(sockets=[])  # uvicorn's protocols and state, no listening of its own
            config, state = self.config, self.server_state

            def protocol() -> asyncio.Protocol:
                made: asyncio.Protocol = config.http_protocol_class(  # type: ignore[call-arg]
                    config=config, server_state=state, app_state=self.lifespan.state
                )
                return made

            (sock,) = sockets
            sock.setblocking(False)
            self._acceptor = asyncio.create_task(
                accept_in_turn(sock, spread, slot, lambda: len(state.connections), protocol)
            )

        async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
            if self._acceptor is not None:
                self._acceptor.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._acceptor
            if self.spread is not None:
                self.spread.leave(self.slot)
            await super().shutdown(sockets=sockets)

    return Server


def uvicorn_config(app: Any) -> Any:
    """The uvicorn settings of every process that answers HTTP."""
    import uvicorn

    return uvicorn.Config(
        app,
        loop="uvloop",
        http="httptools",
        lifespan="off",
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=HTTP_GRACE,
        proxy_headers=True,
        server_header=False,
    )


def received(conn: Connection) -> Iterator[tuple[str, Any]]:
    """The (question, argument) pairs that come over a pipe, until its other end is closed."""
    while True:
        try:
            op, arg = conn.recv()
        except (EOFError, OSError):
            return
        yield op, arg


# the main process's side ---------------------------------------------------------------------
class HookServer:
    """Answers one worker's questions in the main process, from the main process's hooks, its
    metrics and its login throttle."""

    def __init__(self, hooks: Hooks, metrics: Metrics, throttle: LoginThrottle) -> None:
        self.hooks = hooks
        self.metrics = metrics
        self.throttle = throttle

    def serve(self, conn: Connection) -> None:
        """Until the worker closes its end (it ended)."""
        for op, arg in received(conn):
            try:
                answer = self._answer(op, arg)
            except NewsdeskError as e:
                answer = ("error", str(e))
                if op in _TOLD:
                    log.warning("an HTTP worker's %s: %s", op, e)
            except Exception as e:  # a bug here must not end the worker's channel
                log.exception("answering an HTTP worker's %s failed", op)
                answer = ("error", f"{op} failed: {e}")
            if op not in _TOLD:
                try:
                    conn.send(answer)
                except (EOFError, OSError):
                    return

    def _answer(self, op: str, arg: Any) -> tuple[str, Any]:
        if op == "refresh":
            if self.hooks.refresh is not None:
                self.hooks.refresh(arg)
        elif op == "catalogue_changed":
            if self.hooks.catalogue_changed is not None:
                self.hooks.catalogue_changed()
        elif op == "problem":
            return ("ok", self.hooks.problem() if self.hooks.problem else None)
        elif op == "metrics":
            return ("ok", self.metrics.exposition())
        elif op == "login_wait":
            return ("ok", self.throttle.wait_seconds(arg))
        elif op == "login_failed":
            self.throttle.failed(arg)
        else:
            raise NewsdeskError(f"unknown question {op!r}")
        return ("ok", None)


# What a worker tells without waiting for an answer (every other question is answered).
_TOLD = {"refresh", "catalogue_changed", "login_failed"}


class HttpWorkers:
    """`count` worker processes answering on the main process's listening `sock` (slots 1 to
    `count` of `spread`), each started again should it die, until `stop`."""

    def __init__(
        self, config: Config, sock: socket.socket, spread: Spread, count: int, answers: HookServer
    ) -> None:
        self._config = config
        self._sock = sock
        self._spread = spread
        self._answers = answers
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._children: list[BaseProcess] = []
        self._threads = [
            threading.Thread(target=self._keep, args=(i,), name=f"newsdesk-http-{i + 1}", daemon=True)
            for i in range(count)
        ]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        """Ask every worker to stop (SIGTERM: it finishes its open requests first)."""
        self._stopping.set()
        with self._lock:
            children = list(self._children)
        for child in children:
            with contextlib.suppress(Exception):
                child.terminate()

    def join(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        with self._lock:
            children = list(self._children)
        for child in children:
            child.join(max(0.0, deadline - time.monotonic()))
            if child.is_alive():
                child.kill()
                child.join(1.0)

    def pids(self) -> list[int]:
        with self._lock:
            return [c.pid for c in self._children if c.pid is not None and c.is_alive()]

    def _keep(self, number: int) -> None:
        """One worker: started, answered until it ends, started again unless stopping. (The
        thread that starts a worker lives as long as it: see `procs`.)"""
        while not self._stopping.is_set():
            ours, theirs = procs.context().Pipe()
            try:
                child = procs.process(
                    http_worker,
                    (self._config, self._sock, self._spread, number + 1, theirs),
                    name=f"newsdesk-http-{number + 1}",
                )
            except (OSError, NewsdeskError) as e:
                log.error("cannot start HTTP worker %d: %s", number + 1, e)
                ours.close()
                return
            finally:
                theirs.close()
            with self._lock:
                self._children.append(child)
            if self._stopping.is_set():  # a stop came while it started: it missed the SIGTERM
                child.terminate()
            try:
                self._answers.serve(ours)
                child.join()
            finally:
                ours.close()
                with self._lock:
                    self._children.remove(child)
                self._spread.leave(number + 1)  # killed, it could not say so itself
            if not self._stopping.is_set():
                log.warning("HTTP worker %d ended (exit %s); starting it again", number + 1, child.exitcode)
                self._stopping.wait(_RESTART_AFTER)


# the worker's side -------------------------------------------------------------------------
class _Channel:
    """The worker's end of its pipe to the main process, shared by its threads."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._lock = threading.Lock()

    def tell(self, op: str, arg: Any = None) -> None:
        with self._lock:
            try:
                self._conn.send((op, arg))
            except (EOFError, OSError) as e:
                raise ServeError("the desk's main process is gone") from e

    def ask(self, op: str, arg: Any = None) -> Any:
        with self._lock:
            try:
                self._conn.send((op, arg))
                if not self._conn.poll(_ANSWER_WITHIN):
                    raise ServeError(f"the desk's main process did not answer ({op})")
                status, value = self._conn.recv()
            except (EOFError, OSError) as e:
                raise ServeError("the desk's main process is gone") from e
        if status != "ok":
            raise ServeError(str(value))
        return value


class _RemoteMetrics(Metrics):
    """The main process's metrics (a worker records none of its own)."""

    def __init__(self, channel: _Channel) -> None:
        super().__init__()
        self._channel = channel

    def exposition(self) -> bytes:
        body: bytes = self._channel.ask("metrics")
        return body


class _RemoteThrottle(LoginThrottle):
    """The main process's count of failed logins."""

    def __init__(self, channel: _Channel) -> None:
        super().__init__()
        self._channel = channel

    def wait_seconds(self, client: str) -> int | None:
        wait: int | None = self._channel.ask("login_wait", client)
        return wait

    def failed(self, client: str) -> None:
        self._channel.tell("login_failed", client)


def _problem(channel: _Channel) -> Callable[[], str | None]:
    def problem() -> str | None:
        try:
            answer: str | None = channel.ask("problem")
        except ServeError as e:
            return str(e)
        return answer

    return problem


def http_worker(config: Config, sock: socket.socket, spread: Spread, slot: int, conn: Connection) -> None:
    """A worker process: the app on the main process's listening `sock`, taking connections in
    its turn (`slot` of `spread`), until SIGTERM (uvicorn's own handling: open requests finish
    first)."""
    procs.limit_malloc_arenas()  # as serve's own process
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", stream=sys.stderr)
    logging.getLogger("uvicorn.error").setLevel(logging.WARNING)
    channel = _Channel(conn)
    hooks = Hooks(
        refresh=lambda key: channel.tell("refresh", key),
        catalogue_changed=lambda: channel.tell("catalogue_changed"),
        problem=_problem(channel),
    )
    app = create_app(config, metrics=_RemoteMetrics(channel), hooks=hooks, throttle=_RemoteThrottle(channel))
    server = server_class()(uvicorn_config(app))
    server.spread, server.slot = spread, slot
    try:
        server.run(sockets=[sock])
    finally:
        spread.leave(slot)
        sock.close()
        app.state.desk.close()
