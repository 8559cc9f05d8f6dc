"""`newsdesk serve`: the always-on desk on the embedded SQLite archive.

    main thread        uvicorn serving the app (`web.create_app`), the signal handling
    ingest process     `Scheduler.run` in a child process at a lower CPU priority (or, with
                       `serve.ingest: thread`, on a thread of this process): each feed checked
                       when due (fetch, parse, clean, store); see `newsdesk.ingester`
    publish thread     after new entries, debounced (`serve.publish_debounce`): one child
                       process (started through `procs`' fork server, never forked from this threaded
                       process) runs the configured publishers, incrementally; never two at
                       once, and a request during a run makes one more run after it (the
                       scheduler keeps the search index and story clusters caught up itself)
    worker threads     the app's routes, each thread with its own archive connection

At start the config's `groups:` are applied to the archive's catalogue. SIGTERM or SIGINT:
the scheduler stops between feeds (each feed's fetch is one transaction: nothing half-stored),
the publish child is stopped, uvicorn closes its connections, all within `STOP_WITHIN`
seconds; the next start resumes from the archive (the schedule is stored there).
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from types import FrameType
from typing import TYPE_CHECKING, Any

import prometheus_client
from pydantic import ValidationError

from . import procs
from .config import Config, ServeConfig
from .errors import NewsdeskError, ServeError
from .httpworkers import HookServer, HttpWorkers, Spread, bind, server_class, uvicorn_config
from .ingester import IngestProcess, Ingests, IngestThread, OwnFetchLines, logfmt
from .store import open_store
from .web import Hooks, Metrics, create_app
from .web.catalogue import overdue_seconds, status_counts
from .web.context import Desk

if TYPE_CHECKING:
    from multiprocessing.process import BaseProcess
    from multiprocessing.queues import Queue

log = logging.getLogger("newsdesk.serve")

STOP_WITHIN = 10.0  # seconds from SIGTERM to exit, everything stopped
_CHILD_GRACE = 2.0  # and the publish child this long after SIGTERM before SIGKILL


@dataclass(frozen=True)
class Listen:
    host: str
    port: int
    base_path: str

    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}{self.base_path}/"


def serve_settings(
    config: Config, *, host: str | None = None, port: int | None = None, base_path: str | None = None
) -> Config:
    """`config` with the command's flags over its `serve:` settings (checked as the file's are)."""
    data = config.serve.model_dump()
    for key, value in (("host", host), ("port", port), ("base_path", base_path)):
        if value is not None:
            data[key] = value
    try:
        settings = ServeConfig.model_validate(data)
    except ValidationError as e:
        problems = "; ".join(f"{'.'.join(map(str, err['loc']))}: {err['msg']}" for err in e.errors())
        raise ServeError(f"serve settings: {problems.replace('Value error, ', '')}") from e
    return config.model_copy(update={"serve": settings})


# the publish process -------------------------------------------------------------------------
PublishResult = tuple[str, float, str | None]  # (publisher, seconds, error or None)


def publish_child(config: Config, results: Queue[PublishResult]) -> None:
    """The publish process: each configured publisher, incrementally (only what changed); one
    that fails is reported and the next one still runs. (The scheduler keeps the search index
    and story clusters caught up after each batch, before it asks for a publish.)"""
    from .publish.base import get_publisher, run_publisher

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", stream=sys.stderr)
    store = open_store(config.database_url)
    try:
        for name in config.publishers:
            started = time.monotonic()
            try:
                run_publisher(get_publisher(name), store, config)
                results.put((name, time.monotonic() - started, None))
            except NewsdeskError as e:
                results.put((name, time.monotonic() - started, str(e)))
    finally:
        store.close()


PublishTarget = Callable[[Config, "Queue[PublishResult]"], None]


class PublishLoop:
    """Runs `target` (`publish_child`) in a child process after ingests, debounced: the first
    request after a quiet spell starts a run `debounce` seconds later (later requests meanwhile
    join it); a request during a run makes exactly one more run after it. Runs one at a time."""

    def __init__(
        self, config: Config, metrics: Metrics, *, debounce: float, target: PublishTarget = publish_child
    ) -> None:
        self._target = target
        self._config = config
        self._metrics = metrics
        self._debounce = debounce
        self._cond = threading.Condition()
        self._due: float | None = None  # monotonic time of the next run, None: none requested
        self._stopping = False
        self._child: BaseProcess | None = None
        self.runs = 0
        # The thread that starts each child lives as long as the loop: a child's
        # PR_SET_PDEATHSIG fires when the thread that started it ends (see procs).
        self._thread = threading.Thread(target=self._main, name="newsdesk-publish", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def request(self) -> None:
        with self._cond:
            if self._due is None:
                self._due = time.monotonic() + self._debounce
                self._cond.notify()

    def stop(self) -> None:
        """Stop now: no new run; a running child gets SIGTERM (from the loop's own thread)."""
        with self._cond:
            self._stopping = True
            self._cond.notify()

    def join(self, timeout: float) -> None:
        self._thread.join(timeout)
        child = self._child
        if child is not None and child.is_alive():  # the loop could not: do it here
            child.kill()

    def _main(self) -> None:
        while True:
            with self._cond:
                while not self._stopping and (self._due is None or time.monotonic() < self._due):
                    self._cond.wait(None if self._due is None else max(0.0, self._due - time.monotonic()))
                if self._stopping:
                    return
                self._due = None
            try:
                self._run_once()
            except Exception:  # a bug in a run must not end publishing for good
                log.exception("publish run failed")
                self._metrics.error("publish")

    def _run_once(self) -> None:
        results: Queue[PublishResult] = procs.context().Queue()
        started = time.monotonic()
        child = procs.process(self._target, (self._config, results), name="newsdesk-publish")
        self._child = child
        try:
            stopped_at: float | None = None
            while child.is_alive():
                child.join(0.2)
                with self._cond:
                    stopping = self._stopping
                if stopping and stopped_at is None:
                    child.terminate()
                    stopped_at = time.monotonic()
                elif stopped_at is not None and time.monotonic() - stopped_at > _CHILD_GRACE:
                    child.kill()
            ok = child.exitcode == 0
            for step, seconds, error in _drain(results):
                self._metrics.published(step, seconds, error is None)
                if error:
                    ok = False
                    log.warning("%s", logfmt(event="publish", step=step, outcome="failed", error=error))
                else:
                    log.info("%s", logfmt(event="publish", step=step, outcome="ok", seconds=seconds))
            if child.exitcode not in (0, None) and not self._stopping:
                log.warning("%s", logfmt(event="publish", outcome="crashed", exitcode=child.exitcode))
            self._metrics.publish_run(ok)
            self.runs += 1
            log.debug("publish run took %.1f s", time.monotonic() - started)
        finally:
            self._child = None
            results.close()
            results.join_thread()


def _drain(results: Queue[PublishResult]) -> Iterator[PublishResult]:
    while True:
        try:
            yield results.get(timeout=0.5)
        except queue.Empty:
            return


def _utcnow() -> datetime:
    return datetime.now(UTC)


# the whole ----------------------------------------------------------------------------------
def serve(config: Config, *, announce: Callable[[str], None] = print, scheduler_on: bool = True) -> int:
    """Run the desk until SIGTERM or SIGINT; 0 after a clean stop. `scheduler_on=False`: the
    web front of a cluster, beside `newsdesk worker`s that fetch and publish (a refresh asked
    for here makes the feed due now in the archive, for the next worker's claim). `config.serve` holds the
    host, port and base path (flags applied: `serve_settings`). Raises ServeError when the
    address cannot be had, NewsdeskError for an archive that cannot be opened."""

    settings = config.serve
    procs.limit_malloc_arenas()  # before any thread starts
    logging.getLogger("newsdesk.scheduler").addFilter(OwnFetchLines())
    logging.getLogger("uvicorn.error").setLevel(logging.WARNING)  # its start and stop chatter
    # The `_created` series only repeat the start time.
    prometheus_client.disable_created_metrics()  # type: ignore[no-untyped-call]
    sock = bind(settings.host, settings.port)
    listen = Listen(settings.host, sock.getsockname()[1], settings.base_path)
    with contextlib.closing(sock):
        store = open_store(config.database_url)
        try:
            changes = store.apply_config(config.feeds(), _utcnow())
        finally:
            store.close()
        log.info(
            "%s",
            logfmt(
                event="catalogue",
                added=len(changes.added),
                updated=len(changes.updated),
                paused=len(changes.paused),
                resumed=len(changes.resumed),
            ),
        )
        metrics = Metrics()
        publisher = PublishLoop(config, metrics, debounce=settings.publish_debounce)
        ingests = Ingests(metrics, publisher.request)
        scheduler: IngestThread | IngestProcess
        if settings.ingest == "process" and procs.available():
            scheduler = IngestProcess(config, ingests, nice=settings.ingest_nice)
        else:
            scheduler = IngestThread(config, ingests)
        hooks = Hooks(
            refresh=scheduler.refresh, catalogue_changed=scheduler.wake, problem=lambda: scheduler.failure
        )
        if not scheduler_on:
            hooks = Hooks(refresh=lambda key: _due_now(desk, key), problem=lambda: None)
        app = create_app(config, metrics=metrics, hooks=hooks)
        desk: Desk = app.state.desk
        metrics.feed_status = lambda: _status_counts(desk)
        metrics.overdue = lambda: _overdue(desk)

        stopping: list[int] = []

        workers = spread = None
        if settings.workers > 1:
            answers = HookServer(hooks, metrics, app.state.login_throttle)
            spread = Spread(settings.workers)
            workers = HttpWorkers(config, sock, spread, settings.workers - 1, answers)

        def stop_all() -> None:
            scheduler.stop()
            publisher.stop()
            if workers is not None:
                workers.stop()

        server = _Server(uvicorn_config(app), on_exit=stop_all, spread=spread)

        def later_signal(signum: int, frame: FrameType | None) -> None:
            # Outside uvicorn's own handling: before it runs (it stops at once, then), and
            # after it let go of the signals (it raises the one it caught again, expected);
            # a further signal during the clean-up means "now".
            if stopping:
                os._exit(128 + signum)
            stopping.append(signum)
            server.handle_exit(signum, frame)

        previous = {sig: signal.signal(sig, later_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
        started = time.monotonic()
        try:
            if scheduler_on:
                publisher.request()  # what arrived while the desk was down is published on start
                publisher.start()
                scheduler.start()
            if workers is not None:
                workers.start()
            announce(f"newsdesk serving on {listen.url()} (API: {listen.url()}api/v1/)")
            if not stopping:
                server.run(sockets=[sock])
        finally:
            stop_all()
            budget = STOP_WITHIN - 1.0 - (time.monotonic() - server.exit_requested_at(started))
            if scheduler_on and not scheduler.join(max(0.5, budget - _CHILD_GRACE)):
                log.warning("the scheduler did not stop in time: its open transaction is rolled back")
            if scheduler_on:
                publisher.join(max(0.5, _CHILD_GRACE + 0.5))
            if workers is not None:
                left = STOP_WITHIN - 1.0 - (time.monotonic() - server.exit_requested_at(started))
                workers.join(max(0.5, left))
            desk.close()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
    if scheduler.failure:
        raise ServeError(scheduler.failure)
    log.info("stopped")
    return 0


def _due_now(desk: Desk, key: str) -> None:
    if not desk.store().refresh_feed(key, _utcnow()):
        raise ServeError(f"{key}: no such feed")


def _status_counts(desk: Desk) -> dict[str, int]:
    return status_counts(desk.store())


def _overdue(desk: Desk) -> float:
    return overdue_seconds(desk.store(), _utcnow())


class _Server:
    """uvicorn's server, stopping the scheduler and the publisher the moment a signal
    arrives (not only after the HTTP side has shut down)."""

    def __init__(self, config: Any, *, on_exit: Callable[[], None], spread: Spread | None) -> None:
        on_exit_first = on_exit
        requested: list[float] = []
        self._requested = requested

        class Server(server_class()):  # type: ignore[misc]  # (uvicorn's, made on first use)
            def handle_exit(self, sig: int, frame: FrameType | None) -> None:
                if not requested:
                    requested.append(time.monotonic())
                    on_exit_first()
                super().handle_exit(sig, frame)

        self._server = Server(config)
        self._server.spread = spread  # slot 0: serve's own process

    def run(self, sockets: list[socket.socket]) -> None:
        self._server.run(sockets=sockets)

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        self._server.handle_exit(sig, frame)

    def exit_requested_at(self, default: float) -> float:
        return self._requested[0] if self._requested else default
