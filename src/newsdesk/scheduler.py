"""The scheduler: the loop `newsdesk serve` runs, fetching each feed when it is due.

    scheduler = Scheduler(config, store, clock=clock, rng=random.Random(seed), on_ingest=publish)
    await scheduler.run(stop)          # until `stop` (an asyncio.Event of the running loop) is set
    scheduler.refresh("金融/新浪/国内")   # from any thread: make the feed due now, wake the loop

Each turn of `run` is one batch (`run_once`): the feeds whose stored `next_check` has come
(`Store.due_feeds`) go through the pipeline's own fetch → parse → clean → store path
(`pipeline.fetch_feeds`, one transaction per feed) and each gets its next check from
`newsdesk.schedule` right after its fetch; then the search index and story clusters catch up
(`search.update_index`) and `on_ingest(report)` is told (serve publishes from it). Between
batches the loop waits until the earliest stored next check, a `refresh`/`wake`, or the stop,
whichever comes first; the wait is `sleep(seconds)`, injectable with the clock, so tests run
on a simulated clock and never sleep.

Sharing: one `Fetcher` serves the loop's whole life, so the per-host limits (and the host
holds servers asked for) hold across batches. The archive's fetch lock (`locks`) is taken
per batch, not for the scheduler's life, so `newsdesk run` from cron still works beside it: a
batch that finds the lock held tries again after `LOCK_RETRY` seconds.

Threads: the scheduler runs on its own event loop in its own thread with its own store
connection (a SQLite connection stays in the thread that opened it): `SchedulerThread` does
that. Nothing asyncio is made before `run` starts, and only `refresh`, `wake` and
`request_stop` may be called from other threads.

Stopping: setting `stop` cancels a batch in flight at its next await; every feed is stored in
one transaction and its schedule right after, so nothing is half-stored, and a restart
resumes from the stored next checks (nothing is fetched before it is due).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import threading
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from . import locks
from .config import Config
from .errors import NewsdeskError
from .fetch import Fetcher
from .insights_pending import catch_up_insights
from .media import cache_media
from .models import CatalogueChanges, FeedReport, FeedSpec
from .pipeline import RunReport, fetch_feeds, open_fetcher
from .rules import apply_all_rules
from .search import update_index
from .store import Store

__all__ = ["LOCK_RETRY", "MAX_WAIT", "Scheduler", "SchedulerThread"]

log = logging.getLogger("newsdesk.scheduler")

MAX_WAIT = 300.0  # the loop looks at the catalogue at least this often (another process may change it)
LOCK_RETRY = 30.0  # seconds before a batch that found the fetch lock held tries again
ERROR_WAIT = 30.0  # seconds before trying again after the archive failed
BATCH = 500  # feeds fetched in one batch at most (the rest are due still, and go next)


def _utcnow() -> datetime:
    return datetime.now(UTC)


class Scheduler:
    """Fetches each feed of the catalogue when it is due (see the module docstring).

    `clock`: the time (UTC); `rng`: spreads next checks (jitter); `on_ingest(report)`: called
    after each batch that fetched anything; `sleep(seconds)`: how the loop waits (default
    `asyncio.sleep`; a test's advances its clock); `lock_wait`: seconds a batch waits for the
    archive's fetch lock before trying again later; `icons`: fetch the sites' icons the reader
    web app shows after each batch (serve does)."""

    def __init__(
        self,
        config: Config,
        store: Store,
        *,
        clock: Callable[[], datetime] = _utcnow,
        rng: random.Random | None = None,
        on_ingest: Callable[[RunReport], None] | None = None,
        sleep: Callable[[float], Awaitable[None]] | None = None,
        lock_wait: float = 0.0,
        icons: bool = False,
    ) -> None:
        self.config = config
        self.icons = icons
        self.store = store
        self.clock = clock
        self.rng = rng if rng is not None else random.Random()
        self.on_ingest = on_ingest
        self.lock_wait = lock_wait
        self._sleep = sleep or asyncio.sleep
        self._lock = threading.Lock()
        self._refreshes: dict[str, datetime] = {}  # key -> when the refresh was asked for
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self._stop: asyncio.Event | None = None
        self._fetcher: Fetcher | None = None
        self.batches = 0  # batches run (that fetched anything)
        self._insights_mark = 0  # the rev up to which pending insights were caught up
        # Seconds each feed of the last batch was fetched after its next check (scheduler lag).
        self.last_lags: list[float] = []

    # from any thread ----------------------------------------------------------------------
    def refresh(self, key: str) -> None:
        """Make the feed `key` due now and wake the loop (thread-safe; the loop's own store
        connection records it)."""
        asked = self.clock()
        with self._lock:
            self._refreshes.setdefault(key, asked)
        self.wake()

    def wake(self) -> None:
        """Look at the catalogue again now (thread-safe): a feed was added or changed."""
        with self._lock:
            loop, wake = self._loop, self._wake
        if loop is not None and wake is not None:
            with contextlib.suppress(RuntimeError):  # the loop has just closed
                loop.call_soon_threadsafe(wake.set)

    def request_stop(self) -> None:
        """Stop the loop (thread-safe): the batch in flight is cancelled at its next await."""
        with self._lock:
            loop, stop = self._loop, self._stop
        if loop is not None and stop is not None:
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(stop.set)

    # on the scheduler's loop --------------------------------------------------------------
    def apply_config(self) -> CatalogueChanges:
        """Apply the config's feeds to the catalogue (serve does it at start)."""
        return self.store.apply_config(self.config.feeds(), self.clock())

    def due(self, now: datetime | None = None) -> list[FeedSpec]:
        """The feeds due at `now` (default: the clock's now), most overdue first."""
        when = now if now is not None else self.clock()
        return [f.spec for f in self.store.due_feeds(when, limit=BATCH)]

    def next_wait(self) -> float:
        """Seconds until the earliest next check (0 when one is due), at most MAX_WAIT."""
        first = self.store.next_check_time()
        if first is None:
            return MAX_WAIT
        return min(max((first - self.clock()).total_seconds(), 0.0), MAX_WAIT)

    async def run_once(self) -> RunReport:
        """One batch: fetch the due feeds, schedule each again, catch up the search index.
        A batch that finds the fetch lock held fetches nothing (`report.busy`)."""
        self._take_refreshes()
        report = RunReport()
        now = self.clock()
        due = self.store.due_feeds(now, limit=BATCH)
        if not due:
            return report
        specs = [f.spec for f in due]
        try:
            with (
                locks.waiting(self.lock_wait),
                locks.hold(locks.fetch_lock_path(self.config.database_url), "fetching (scheduler)"),
            ):
                if self._fetcher is not None:
                    report.feeds = await self._fetch(specs, self._fetcher)
                else:
                    async with open_fetcher(self.config, self.store, self.clock) as fetcher:
                        report.feeds = await self._fetch(specs, fetcher)
                # Every reader's keyword rules over what the batch stored, so readers of the
                # API and reader apps get them too.
                apply_all_rules(self.store, self.clock())
                self._insights(report)
                if self.config.search_index:
                    try:
                        report.indexed = update_index(self.config, self.store)
                    except NewsdeskError as e:
                        report.publish_errors.append(f"search index: {e}")
                await self._media()
        except locks.LockBusy as e:
            log.info("scheduler: %s; trying again in %g s", e, LOCK_RETRY)
            report.busy = True
            return report
        self.batches += 1
        # New feeds (never checked) are due from when they were added, which is no lag of ours.
        self.last_lags = [
            max((now - f.schedule.next_check).total_seconds(), 0.0) for f in due if f.schedule.interval > 0
        ]
        for f in report.feeds:
            log.info(
                "fetch feed=%s outcome=%s new=%d updated=%d skipped=%d error=%s",
                f.key,
                f.outcome,
                f.new,
                f.updated,
                f.skipped,
                f.error,
            )
        if self.on_ingest is not None:
            try:
                self.on_ingest(report)
            except Exception:  # a failing publisher never stops fetching
                log.exception("scheduler: on_ingest failed")
        return report

    def _insights(self, report: RunReport) -> None:
        """The insights the batch left pending (newsdesk.insights_pending), after fetching and
        before the index and `on_ingest`'s publishing. The first call (`run` makes it at start)
        looks at every entry: what a process stopped before its catch-up left."""
        if not self.config.insights:
            return
        try:
            done, self._insights_mark = catch_up_insights(self.store, since=self._insights_mark)
        except NewsdeskError as e:  # still pending: the next batch tries again
            report.publish_errors.append(f"insights: {e}")
            return
        report.insights += done

    async def _fetch(self, specs: list[FeedSpec], fetcher: Fetcher) -> list[FeedReport]:
        return await fetch_feeds(
            self.config, self.store, specs, clock=self.clock, rng=self.rng, fetcher=fetcher, register=False
        )

    async def _media(self) -> None:
        """The icons and images the reader web app shows (newsdesk.media), last in a batch:
        a slow host of theirs holds up nothing else."""
        if not self.icons and self.config.images != "cache":
            return
        if self._fetcher is not None:
            await cache_media(self.config, self.store, self._fetcher, self.clock(), icons=self.icons)
            return
        async with open_fetcher(self.config, self.store, self.clock) as fetcher:
            await cache_media(self.config, self.store, fetcher, self.clock(), icons=self.icons)

    async def run(self, stop: asyncio.Event) -> None:
        """Run batches until `stop` is set (an Event of the running loop)."""
        loop = asyncio.get_running_loop()
        with self._lock:
            self._loop, self._wake, self._stop = loop, asyncio.Event(), stop
        try:
            self._insights(RunReport())
            async with open_fetcher(self.config, self.store, self.clock) as fetcher:
                self._fetcher = fetcher
                while not stop.is_set():
                    wait = await self._turn(stop)
                    if stop.is_set():
                        break
                    await self._wait(wait, stop)
        finally:
            self._fetcher = None
            with self._lock:
                self._loop = self._wake = self._stop = None

    async def _turn(self, stop: asyncio.Event) -> float:
        """One batch, cancelled when `stop` is set meanwhile; the seconds to wait after it."""
        batch = asyncio.ensure_future(self.run_once())
        stopping = asyncio.ensure_future(stop.wait())
        try:
            await asyncio.wait({batch, stopping}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()
        if not batch.done():
            batch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await batch
            return 0.0
        try:
            report = batch.result()
            return LOCK_RETRY if report.busy else self.next_wait()
        except NewsdeskError as e:
            log.warning("scheduler: %s; trying again in %g s", e, ERROR_WAIT)
            return ERROR_WAIT

    async def _wait(self, seconds: float, stop: asyncio.Event) -> None:
        """Wait `seconds` (through the injected sleep), or until woken or stopped."""
        wake = self._wake
        assert wake is not None
        if seconds <= 0 or wake.is_set():
            wake.clear()
            return
        waiters = {
            asyncio.ensure_future(self._sleep(seconds)),
            asyncio.ensure_future(wake.wait()),
            asyncio.ensure_future(stop.wait()),
        }
        try:
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for w in waiters:
                w.cancel()
            await asyncio.gather(*waiters, return_exceptions=True)
        wake.clear()

    def _take_refreshes(self) -> None:
        with self._lock:
            asked, self._refreshes = self._refreshes, {}
        now = self.clock()
        for key, when in asked.items():
            feed = self.store.catalogue_feed(key)
            last = feed.state.last_attempt if feed is not None else None
            # Checked since it was asked for (a batch in flight took it): that was the check.
            if last is not None and last > when:
                continue
            self.store.refresh_feed(key, now)


class SchedulerThread:
    """A `Scheduler` on its own thread, event loop and store connection (what serve runs).

    `open_store()` is called in the thread; `start()` applies the config's feeds to the
    catalogue there first. `stop(timeout)` asks it to stop and waits; False when it did not end
    in time."""

    def __init__(
        self,
        config: Config,
        open_store: Callable[[], Store],
        *,
        clock: Callable[[], datetime] = _utcnow,
        rng: random.Random | None = None,
        on_ingest: Callable[[RunReport], None] | None = None,
        sleep: Callable[[float], Awaitable[None]] | None = None,
        apply_config: bool = True,
        icons: bool = False,
    ) -> None:
        self._icons = icons
        self._config = config
        self._sleep = sleep
        self._open_store = open_store
        self._clock = clock
        self._rng = rng
        self._on_ingest = on_ingest
        self._apply = apply_config
        self._ready = threading.Event()
        self.scheduler: Scheduler | None = None
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._main, name="newsdesk-scheduler", daemon=True)

    def start(self) -> None:
        self._thread.start()
        self._ready.wait()
        if self.error is not None:
            raise self.error

    def refresh(self, key: str) -> None:
        if self.scheduler is not None:
            self.scheduler.refresh(key)

    def wake(self) -> None:
        if self.scheduler is not None:
            self.scheduler.wake()

    def stop(self, timeout: float = 10.0) -> bool:
        if self.scheduler is not None:
            self.scheduler.request_stop()
        if self._thread.ident is None:  # never started
            return True
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def _main(self) -> None:
        try:
            store = self._open_store()
        except BaseException as e:
            self.error = e
            self._ready.set()
            return
        try:
            scheduler = Scheduler(
                self._config,
                store,
                clock=self._clock,
                rng=self._rng,
                on_ingest=self._on_ingest,
                sleep=self._sleep,
                icons=self._icons,
            )
            if self._apply:
                scheduler.apply_config()
            self.scheduler = scheduler
            asyncio.run(self._loop_main(scheduler))
        except BaseException as e:  # reported to whoever stops or starts the thread
            self.error = e
            self._ready.set()
            log.exception("scheduler stopped")
        finally:
            store.close()

    async def _loop_main(self, scheduler: Scheduler) -> None:
        stop = asyncio.Event()
        with scheduler._lock:
            scheduler._loop, scheduler._stop = asyncio.get_running_loop(), stop
        self._ready.set()
        await scheduler.run(stop)
