"""More processes answering HTTP beside `serve`'s own (`serve.workers`), for throughput.

One Python process answers at most one request at a time (the GIL); a page of the entry list
costs about a millisecond, so one process tops out near a thousand requests a second with a
core to itself, and shares that core with the scheduler. With `serve.workers: N`, `serve`
starts N − 1 worker processes (from `procs`' fork server, never forked from the threaded
server), each listening on the same address with a socket of its own (SO_REUSEPORT): the
kernel spreads new connections over the sockets by their addresses and ports. (One socket
shared by every process would not spread them: a process that wakes for a connection accepts
every one waiting, so a burst of clients lands on one process and stays there.)

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

import contextlib
import errno
import logging
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, Literal

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


def bind(host: str, port: int, *, share: Literal["open", "join"] | None = None) -> socket.socket:
    """A listening socket, bound now so that a taken address is one clear error. `share`:
    "open" lets this user's other sockets listen on the address too (SO_REUSEPORT) once this
    one has it to itself (serve's own: the bind still fails while anything else listens
    there, another desk included); "join" listens beside such a socket (a worker's)."""
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
        if share == "join":
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(address)
        if share == "open":
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.listen(2048)
    except OSError as e:
        sock.close()
        if e.errno == errno.EADDRINUSE:
            raise ServeError(f"cannot listen on {host}:{port}: address already in use") from e
        raise ServeError(f"cannot listen on {host}:{port}: {e.strerror or e}") from e
    sock.set_inheritable(False)
    return sock


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
    """`count` worker processes answering on `host`:`port` (the main process's socket shares
    it: `bind(share="open")`), each started again should it die, until
    `stop`."""

    def __init__(self, config: Config, host: str, port: int, count: int, answers: HookServer) -> None:
        self._config = config
        self._address = (host, port)
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
                    http_worker, (self._config, *self._address, theirs), name=f"newsdesk-http-{number + 1}"
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


def http_worker(config: Config, host: str, port: int, conn: Connection) -> None:
    """A worker process: the app on `host`:`port` (a socket of its own beside the main
    process's) until SIGTERM (uvicorn's own handling: open requests finish first)."""
    import uvicorn

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
    try:
        sock = bind(host, port, share="join")
    except ServeError as e:
        log.error("%s", e)
        sys.exit(1)
    try:
        uvicorn.Server(uvicorn_config(app)).run(sockets=[sock])
    finally:
        sock.close()
        app.state.desk.stores.close_all()
