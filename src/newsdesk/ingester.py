"""The ingest side of `newsdesk serve`: its scheduler and the pipeline it drives (fetch, parse,
clean, store, the search index and story clusters after each batch), beside the HTTP side.

Two ways to run it (`serve.ingest`):

    process (default)  `IngestProcess`: a child process from `procs`' fork server (never forked
                       from the threaded server), at a lower CPU priority (`serve.ingest_nice`)
    thread             `IngestThread`: a thread of serve's own process, its own event loop and
                       archive connection

Why a process by default: one Python process runs one thread at a time (the GIL). On a thread,
each feed's parsing, cleaning and storing and each batch's index catch-up hold serve's GIL, and
the requests serve answers wait behind them (16 clients reading the entry list while the
scheduler ingested: p95 33 ms against 13.5 ms idle, docs/benchmarks.md). In a process of its
own the scheduler never holds the HTTP side's GIL, and its lower priority lets the kernel give
the readers' requests a core first; it catches up whenever the HTTP side leaves time.

Both tell serve the same things: each feed checked (one log line, written where the scheduler
runs, and the metrics), the lag of each check, failures by kind, and "publish now" after a
batch that stored something (`Ingests`, the `Reporter` serve's metrics implement). The process
sends them over a pipe, and takes "refresh this feed" and "the catalogue changed" the same
way; serve's process keeps the metrics, so `/metrics` and `/readyz` stay where they were.

Stopping: SIGTERM (what `stop` sends) sets the scheduler's stop event: the batch in flight is
cancelled at its next await, between feeds' transactions, so nothing is half-stored. A child
still running when serve's stop budget ends is killed: its open transaction, if any, is rolled
back by SQLite, and the search index's catch-up is applied again from its sidecar's rev at the
next start. A child that ends by itself (a crash, the OOM killer) is started again after a
pause that doubles while it keeps failing; `/readyz` answers 503 with why meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from . import procs
from .config import Config
from .errors import NewsdeskError, ServeError
from .httpworkers import received
from .models import FeedReport, FeedSpec
from .pipeline import RunReport, fetch_feeds
from .store import Store, open_store
from .web.metrics import Reporter

if TYPE_CHECKING:
    from multiprocessing.connection import Connection
    from multiprocessing.process import BaseProcess

    from .fetch import Fetcher
    from .scheduler import Scheduler

log = logging.getLogger("newsdesk.serve")
fetch_log = logging.getLogger("newsdesk.fetch")

RESTART_AFTER = 1.0  # seconds before an ingest process that ended by itself is started again,
RESTART_MAX = 60.0  # doubled while it keeps ending within STEADY seconds, up to this
STEADY = 60.0


def logfmt(**fields: object) -> str:
    """key=value pairs; values with spaces, quotes or '=' quoted."""
    parts = []
    for key, value in fields.items():
        if value is None:
            continue
        text = f"{value:.3f}" if isinstance(value, float) else str(value)
        if not text or any(c in text for c in ' "=\n'):
            text = '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
        parts.append(f"{key}={text}")
    return " ".join(parts)


class OwnFetchLines(logging.Filter):
    """Drops the scheduler's own line per fetch: `Ingests` writes one with timings instead."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (isinstance(record.msg, str) and record.msg.startswith("fetch feed="))


class Ingests:
    """What the scheduler reports after each feed: one structured log line, the metrics, and a
    publish request when something was stored."""

    def __init__(self, metrics: Reporter, publish: Callable[[], None]) -> None:
        self.metrics = metrics
        self.publish = publish

    def feed_done(self, report: FeedReport, seconds: float) -> None:
        fetch_log.info(
            "%s",
            logfmt(
                event="fetch",
                feed=report.key,
                outcome=report.outcome,
                new=report.new,
                updated=report.updated,
                skipped=report.skipped or None,  # by the admins' skip rules (newsdesk.rules)
                seconds=seconds,
                error=report.error,
                warning=report.warning,
            ),
        )
        self.metrics.fetched(report.outcome, seconds, new=report.new, updated=report.updated)

    def batch_done(self, report: RunReport, lags: Sequence[float]) -> None:
        """After a batch (its feeds stored, the search index caught up): the scheduler's lag
        for each of its feeds; publish if anything was stored."""
        for lag in lags:
            self.metrics.lagged(lag)
        for problem in report.publish_errors:
            log.warning("%s", logfmt(event="index", outcome="failed", error=problem))
            self.metrics.error("index")
        if any(f.new or f.updated for f in report.feeds):
            self.publish()


def metered_scheduler(config: Config, store: Store, ingests: Ingests) -> Scheduler:
    """The scheduler, reporting each feed's check to `ingests` as it finishes (an adapter:
    `Scheduler` tells only of whole batches, through `on_ingest`)."""
    from .scheduler import Scheduler

    class MeteredScheduler(Scheduler):
        async def _fetch(self, specs: list[FeedSpec], fetcher: Fetcher) -> list[FeedReport]:
            started = time.monotonic()

            def done(report: FeedReport) -> None:
                # From the batch's start to this feed's result stored (waiting for a per-host
                # slot included): the feeds of a batch are fetched side by side.
                ingests.feed_done(report, time.monotonic() - started)

            return await fetch_feeds(
                self.config,
                self.store,
                specs,
                done,
                clock=self.clock,
                rng=self.rng,
                fetcher=fetcher,
                register=False,
            )

    def batch_done(report: RunReport) -> None:
        ingests.batch_done(report, scheduler.last_lags)

    scheduler = MeteredScheduler(
        config, store, clock=_utcnow, rng=random.Random(), on_ingest=batch_done, icons=True
    )
    return scheduler


def _utcnow() -> datetime:
    return datetime.now(UTC)


# on a thread of serve's process ---------------------------------------------------------------
class IngestThread:
    """The scheduler on its own thread and event loop, with its own archive connection."""

    def __init__(self, config: Config, ingests: Ingests) -> None:
        self._config = config
        self._ingests = ingests
        self._scheduler: Scheduler | None = None
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._stopping = False
        self._started = threading.Event()
        self.failure: str | None = None  # why the scheduler ended, when it ended by itself
        self._thread = threading.Thread(target=self._main, name="newsdesk-scheduler", daemon=True)

    def start(self) -> None:
        self._thread.start()
        self._started.wait()

    def _main(self) -> None:
        try:
            store = open_store(self._config.database_url)
        except NewsdeskError as e:
            self.failure = f"the scheduler cannot open the archive: {e}"
            self._started.set()
            return
        try:
            asyncio.run(self._run(store))
        except Exception as e:
            self.failure = f"the scheduler stopped: {e}"
            log.exception("the scheduler stopped")
            self._ingests.metrics.error("scheduler")
        finally:
            self._started.set()
            with contextlib.suppress(NewsdeskError):
                store.close()

    async def _run(self, store: Store) -> None:
        self._scheduler = metered_scheduler(self._config, store, self._ingests)
        stop = asyncio.Event()
        with self._lock:
            self._loop, self._stop = asyncio.get_running_loop(), stop
            if self._stopping:
                return
        self._started.set()
        await self._scheduler.run(stop)

    def refresh(self, key: str) -> None:
        if self._scheduler is None:
            raise ServeError("the scheduler is not running")
        self._scheduler.refresh(key)

    def wake(self) -> None:
        if self._scheduler is not None:
            self._scheduler.wake()

    def stop(self) -> None:
        """Ask the scheduler to stop (thread-safe): the batch in flight is cancelled at its next
        await, between feeds' transactions."""
        with self._lock:
            self._stopping = True
            loop, stop = self._loop, self._stop
        if loop is not None and stop is not None:
            with contextlib.suppress(RuntimeError):  # the loop has just closed: it stopped anyway
                loop.call_soon_threadsafe(stop.set)

    def join(self, timeout: float) -> bool:
        self._thread.join(timeout)
        return not self._thread.is_alive()


# in a process of its own ----------------------------------------------------------------------
class IngestProcess:
    """The scheduler in a child process (see the module docstring), as `IngestThread` is used:
    `start`, `refresh`, `wake`, `failure`, `stop`, `join`. `ingests` is serve's side of the
    reports (its metrics and its publish request)."""

    def __init__(self, config: Config, ingests: Ingests, *, nice: int) -> None:
        self._config = config
        self._ingests = ingests
        self._nice = nice
        self._stopping = threading.Event()
        self._lock = threading.Lock()  # the child and the pipe's end
        self._sending = threading.Lock()  # one message at a time (never held with `_lock`)
        self._child: BaseProcess | None = None
        self._conn: Connection | None = None
        self.failure: str | None = None  # why the ingest process is not running, when it ended
        # The thread that starts each child lives as long as the loop (see procs).
        self._thread = threading.Thread(target=self._keep, name="newsdesk-ingest", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def pid(self) -> int | None:
        with self._lock:
            return self._child.pid if self._child is not None else None

    def refresh(self, key: str) -> None:
        # The API has already made the feed due in the archive: a child being restarted
        # finds it there, so nothing is lost when none runs now.
        self._tell("refresh", key)

    def wake(self) -> None:
        self._tell("wake", None)

    def stop(self) -> None:
        """Ask the child to stop (SIGTERM: the batch in flight is cancelled between feeds)."""
        self._stopping.set()
        with self._lock:
            child = self._child
        if child is not None:
            with contextlib.suppress(Exception):
                child.terminate()

    def join(self, timeout: float) -> bool:
        """Wait for the child to end; kill it if it has not within `timeout` (False then)."""
        self._thread.join(timeout)
        if not self._thread.is_alive():
            return True
        with self._lock:
            child = self._child
        if child is not None:
            child.kill()
        self._thread.join(1.0)
        return False

    def _tell(self, op: str, arg: Any) -> None:
        with self._lock:
            conn = self._conn
        if conn is None:
            return
        # Closed meanwhile, or ending: the keeper starts it again (and the archive has the refresh).
        with self._sending, contextlib.suppress(EOFError, OSError, ValueError):
            conn.send((op, arg))

    def _keep(self) -> None:
        """Start the child, take its reports until it ends, start it again unless stopping."""
        pause = RESTART_AFTER
        while not self._stopping.is_set():
            ours, theirs = procs.context().Pipe()
            try:
                child = procs.process(
                    ingest_child,
                    (self._config, theirs, logging.getLogger().level, self._nice),
                    name="newsdesk-ingest",
                )
            except (OSError, NewsdeskError) as e:
                self.failure = f"cannot start the ingest process: {e}"
                log.error("%s", self.failure)
                ours.close()
                return
            finally:
                theirs.close()
            started = time.monotonic()
            with self._lock:
                self._child, self._conn = child, ours
            if self._stopping.is_set():  # a stop came while it started: it missed the SIGTERM
                child.terminate()
            reported: list[str] = []
            try:
                self._listen(ours, reported)
                child.join()
            finally:
                with self._lock:
                    self._child = self._conn = None
                ours.close()
            if self._stopping.is_set():
                return
            self._ingests.metrics.error("scheduler")
            self.failure = reported[-1] if reported else f"the ingest process ended (exit {child.exitcode})"
            if time.monotonic() - started > STEADY:
                pause = RESTART_AFTER
            log.error("%s; starting it again in %g s", self.failure, pause)
            if self._stopping.wait(pause):
                return
            pause = min(pause * 2, RESTART_MAX)

    def _listen(self, conn: Connection, reported: list[str]) -> None:
        """The child's reports, until it closes its end (it ended)."""
        metrics = self._ingests.metrics
        for op, arg in received(conn):
            try:
                if op == "fetched":
                    outcome, seconds, new, updated = arg
                    metrics.fetched(outcome, seconds, new=new, updated=updated)
                elif op == "lagged":
                    for lag in arg:
                        metrics.lagged(lag)
                elif op == "error":
                    metrics.error(arg)
                elif op == "published":
                    metrics.published(*arg)
                elif op == "publish":
                    self._ingests.publish()
                elif op == "running":
                    self.failure = None
                elif op == "failed":
                    reported.append(arg)
            except Exception:  # a bug here must not stop the reports
                log.exception("taking the ingest process's %s failed", op)


class _PipeReporter:
    """The ingest process's reports, sent to serve's process (`IngestProcess._listen`)."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._lock = threading.Lock()
        self._lags: list[float] = []

    def tell(self, op: str, arg: Any = None) -> None:
        # Serve gone: this process ends with it (procs), nothing to tell.
        with self._lock, contextlib.suppress(EOFError, OSError):
            self._conn.send((op, arg))

    def fetched(self, outcome: str, seconds: float, *, new: int = 0, updated: int = 0) -> None:
        self.tell("fetched", (outcome, seconds, new, updated))

    def lagged(self, seconds: float) -> None:
        self._lags.append(seconds)  # sent with the batch's end, in one message

    def error(self, kind: str) -> None:
        self.tell("error", kind)

    def published(self, publisher: str, seconds: float, ok: bool) -> None:
        self.tell("published", (publisher, seconds, ok))  # (serve's own process publishes)

    def publish(self) -> None:
        self.tell("publish")

    def flush_lags(self) -> None:
        if self._lags:
            lags, self._lags = self._lags, []
            self.tell("lagged", lags)


class _ProcessIngests(Ingests):
    """`Ingests` in the ingest process: a batch's lags go to serve in one message."""

    def __init__(self, reporter: _PipeReporter) -> None:
        super().__init__(reporter, reporter.publish)
        self._reporter = reporter

    def batch_done(self, report: RunReport, lags: Sequence[float]) -> None:
        super().batch_done(report, lags)
        self._reporter.flush_lags()


def ingest_child(config: Config, conn: Connection, level: int, nice: int) -> None:
    """The ingest process (`procs.process`): the scheduler until SIGTERM or serve is gone."""
    with contextlib.suppress(OSError):
        os.nice(nice)
    procs.limit_malloc_arenas()  # as serve's own process
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(message)s", stream=sys.stderr)
    logging.getLogger("newsdesk.scheduler").addFilter(OwnFetchLines())
    reporter = _PipeReporter(conn)
    try:
        store = open_store(config.database_url)
    except NewsdeskError as e:
        reporter.tell("failed", f"the scheduler cannot open the archive: {e}")
        sys.exit(1)
    try:
        asyncio.run(_run_child(config, store, conn, reporter))
    except Exception as e:
        log.exception("the scheduler stopped")
        reporter.tell("failed", f"the scheduler stopped: {e}")
        store.close()
        sys.exit(1)
    store.close()


async def _run_child(config: Config, store: Store, conn: Connection, reporter: _PipeReporter) -> None:
    scheduler = metered_scheduler(config, store, _ProcessIngests(reporter))
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)

    def orders() -> None:
        """What serve asks, until it closes its end (then stop: it is gone or stopping)."""
        for op, arg in received(conn):
            if op == "refresh":
                scheduler.refresh(arg)
            elif op == "wake":
                scheduler.wake()
        with contextlib.suppress(RuntimeError):  # the loop has just closed
            loop.call_soon_threadsafe(stop.set)

    threading.Thread(target=orders, name="newsdesk-ingest-orders", daemon=True).start()
    log.info("%s", logfmt(event="ingest", outcome="started", pid=os.getpid(), nice=os.nice(0)))
    reporter.tell("running")
    await scheduler.run(stop)
