"""`newsdesk worker`: one of any number of fetching processes sharing a PostgreSQL archive.

    worker = Worker(config, store, holder="host-a:4242", clock=clock, publish=True)
    await worker.run(stop)             # until `stop` (an asyncio.Event of the running loop) is set

Each turn claims a batch of due feeds (`LeaseStore.claim_feeds`: leases until now + `lease`,
at most `fetch.per_host` feeds of one host leased across all workers), fetches, parses, cleans
and stores them through the pipeline's own path (`pipeline.fetch_feeds`: one transaction per
feed, then its next check), and releases the leases. While a batch runs its leases are renewed
every third of their length, so a slow batch keeps them and a dead worker's run out: any
other worker then claims those feeds (still due, since their next check was never stored).
A feed is therefore stored whole or not at all, and fetched again only when its lease ran out
before its next check was stored.

A fetcher is opened per batch, from the host holds the archive keeps (`Retry-After` answers
any worker got), so a held host is not requested by any worker until its hold ends.

Publishing (`publish=True`): the workers started with it take turns on one leadership
(`LeaseStore.lead("publish")`); the one holding it catches the search index and story clusters
up and runs the configured publishers, incrementally from their rev marks, after each change of
the archive's rev, in a thread beside its fetching. Its output goes to its own machine's folders
(`site_dir`, `hexo_dir`). When it dies, the server frees the leadership and the next one takes
over at its next turn.

Time comes from `clock` (injectable: a test moves it past a lease); waits between turns are
real seconds (`poll`), so a test's workers look again soon after it moved the clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import socket
import zlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import cast

from . import procs
from .config import Config
from .errors import NewsdeskError
from .insights_pending import compute as compute_insights
from .pipeline import RunReport, fetch_feeds, open_fetcher
from .publish.base import get_publisher, run_publisher
from .search import update_index
from .slots import SLOT_TURN, SLOT_WAIT, SLOTS_ENV, default_slots, file_clock, slot_names
from .store import Store
from .store.protocol import Leadership, LeaseStore

__all__ = [
    "BATCH",
    "INSIGHTS_BATCH",
    "INSIGHTS_SHARES",
    "INSIGHTS_TURN",
    "LEASE",
    "POLL",
    "SLOTS_ENV",
    "SLOT_TURN",
    "SLOT_WAIT",
    "TAIL_SHARE",
    "Worker",
    "default_slots",
    "file_clock",
    "holder_name",
    "lease_store",
]

log = logging.getLogger("newsdesk.worker")

LEASE = 600.0  # seconds a claimed feed stays this worker's (renewed while its batch runs)
BATCH = 100  # feeds claimed per turn
# Fewer than BATCH * TAIL_SHARE feeds due: a claim takes 1/TAIL_SHARE of them (LeaseStore.claim_feeds),
# so a round's last feeds are spread over the workers, not one batch left to one of them.
TAIL_SHARE = 2
POLL = 5.0  # seconds between turns when nothing was due (and after an archive error)
INSIGHTS_TURN = "insights"  # the turn a worker holds while it catches a share of insights up
INSIGHTS_SHARES = 8  # pending insights split by uid, so workers catch up side by side
# Entries a catch-up stores per transaction: the term aggregates take one upsert row per distinct
# (term) and (week, term) of a transaction, and the more articles share one, the fewer rows: ~12.6
# term rows an article at 100, ~2.8 at 500 (bench/articles.py's text); with bench/feed_site.py's
# articles, df and week rows together, 5.7 at 500, 3.0 at 1,000, 1.7 at 2,000. A look of a busy
# worker finds ~1,250-2,500 entries in its shares: one transaction at 2,000 where 500 made three
# (pg_stat_statements, 300 feeds: 6.5 aggregate rows an entry, ~15 % of the server's CPU). A
# transaction stored without moving revs holds only the aggregates' turn
# (store/postgres/insights.py), not the counter's, so its length keeps no feed from being stored.
INSIGHTS_BATCH = 2000


class _NoSlot:
    """The slot of a worker with no limit (`slots=0`): nothing to give back."""

    def held(self) -> bool:
        return True

    def release(self) -> None:
        pass


def insights_share(uid: str) -> int:
    """The share of pending insights an entry's belong to (stable across processes)."""
    return zlib.crc32(uid.encode()) % INSIGHTS_SHARES


def _utcnow() -> datetime:
    return datetime.now(UTC)


def holder_name() -> str:
    """This process's name in the leases: machine, pid and a random tail (pids repeat)."""
    return f"{socket.gethostname()}:{os.getpid()}:{random.getrandbits(32):08x}"


def lease_store(store: Store, url: str) -> LeaseStore:
    """`store` as a LeaseStore, or a clear error: leases need PostgreSQL."""
    if not hasattr(store, "claim_feeds"):
        raise NewsdeskError(
            f"{url}: newsdesk worker needs a PostgreSQL archive (database: postgresql://…);"
            " with SQLite run one `newsdesk serve` or `newsdesk run`"
        )
    return cast(LeaseStore, store)


class Worker:
    """Claims, fetches and stores due feeds until stopped (see the module docstring)."""

    def __init__(
        self,
        config: Config,
        store: Store,
        *,
        holder: str | None = None,
        lease: float = LEASE,
        batch: int = BATCH,
        poll: float = POLL,
        clock: Callable[[], datetime] | None = None,
        rng: random.Random | None = None,
        publish: bool = False,
        slots: int | None = None,
        machine: str | None = None,
    ) -> None:
        self.config = config
        self.store = store
        self.leases = lease_store(store, config.database_url)
        self.holder = holder or holder_name()
        self.lease = timedelta(seconds=lease)
        self.batch = batch
        self.poll = poll
        self.clock = clock or _utcnow
        self.rng = rng if rng is not None else random.Random()
        self.publish = publish
        self.slots = slots if slots is not None else default_slots()  # see `_slot`
        self.machine = machine or socket.gethostname()
        self._no_slot = _NoSlot()
        self.fetched = 0  # feeds this worker fetched
        self._leader: Leadership | None = None
        self._published_rev = -1
        self._publishing: asyncio.Task[None] | None = None
        self._insights_marks = [0] * INSIGHTS_SHARES  # each share's rev caught up to (`_insights`)
        self._unreleased: list[str] = []  # leases a failed release left: let go at the next turn

    async def run_once(self) -> RunReport:
        """One turn: claim due feeds, fetch and store them, release their leases."""
        report = RunReport()
        if self._unreleased:
            self.leases.release_feeds(self.holder, self._unreleased)
            self._unreleased = []
        now = self.clock()
        claimed = self.leases.claim_feeds(
            self.holder,
            now,
            now + self.lease,
            limit=self.batch,
            per_host=self.config.fetch.per_host,
            share=TAIL_SHARE,
        )
        if not claimed:
            self._insights(report)  # the first turn's: what a stopped process left pending
            return report
        keys = [f.key for f in claimed]
        renewing = asyncio.ensure_future(self._renew(keys))
        try:
            async with open_fetcher(self.config, self.store, self.clock) as fetcher:
                report.feeds = await fetch_feeds(
                    self.config,
                    self.store,
                    [f.spec for f in claimed],
                    clock=self.clock,
                    rng=self.rng,
                    fetcher=fetcher,
                    register=False,
                    catalogue={f.key: f for f in claimed},  # as the claim read them
                )
        finally:
            renewing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewing
            # Stored feeds have their next check by now; the others are due still and go to
            # whoever claims next. A release that fails (the server restarting) is tried again
            # at the next turn, and should this process die first, the leases run out.
            try:
                self.leases.release_feeds(self.holder, keys)
            except NewsdeskError as e:
                log.warning("worker: cannot release %d leases yet: %s", len(keys), e)
                self._unreleased = keys
        self.fetched += len(report.feeds)
        self._insights(report)  # with the leases released: others fetch meanwhile
        totals = report.totals()
        log.info(
            "batch feeds=%d new=%d failed=%d deferred=%d",
            totals["feeds"],
            totals["new"],
            totals["failed"],
            totals["deferred"],
        )
        return report

    def _insights(self, report: RunReport) -> None:
        """The insights that batches left pending (newsdesk.insights_pending). Every worker
        looks, so they are caught up with publishing off too; a worker's first look covers
        every entry (what a process stopped before its catch-up left), later ones the entries
        changed since the rev the previous look read.

        The pending entries are everyone's: two workers catching up at once read the same list
        and computed every record twice (the second replacing the first). So they are split
        into `INSIGHTS_SHARES` shares by uid, each caught up by one worker at a time (a turn,
        `LeaseStore.lead`); a share keeps its own mark, the rev up to which this worker caught
        it up, and one whose mark is the archive's rev already has nothing new: no turn is
        taken. A look takes the turns of half the shares behind (rounded up; from a random one,
        passing over those another holds), so two workers catching up at once share the work
        and neither waits on the other; the rest wait for the next look, their marks kept. The
        pending list is read once a look, once its turns are held (a list read before a turn
        could hold entries another worker computed meanwhile), and the held shares' entries are
        computed together, `INSIGHTS_BATCH` a transaction."""
        if not self.config.insights:
            return
        try:
            head = self.store.max_rev()
            first = self.rng.randrange(INSIGHTS_SHARES)
            order = [(first + step) % INSIGHTS_SHARES for step in range(INSIGHTS_SHARES)]
            behind = [share for share in order if self._insights_marks[share] < head]
            turns: dict[int, Leadership] = {}
            try:
                for share in behind:
                    if len(turns) * 2 >= len(behind):
                        break
                    turn = self.leases.lead(f"{INSIGHTS_TURN}/{share}")
                    if turn is not None:
                        turns[share] = turn
                if not turns:
                    return
                since = min(self._insights_marks[share] for share in turns)
                uids = [u for u in self.store.pending_insights(since) if insights_share(u) in turns]
                if uids:
                    report.insights += compute_insights(self.store, uids, bump=False, batch=INSIGHTS_BATCH)
                for share in turns:
                    self._insights_marks[share] = head
            finally:
                for turn in turns.values():
                    turn.release()
        except NewsdeskError as e:  # still pending: the next turn tries again
            log.warning("worker: insights: %s", e)

    async def _renew(self, keys: list[str]) -> None:
        every = self.lease.total_seconds() / 3
        while True:
            await asyncio.sleep(every)
            try:
                self.leases.renew_feeds(self.holder, keys, self.clock() + self.lease)
            except NewsdeskError as e:
                log.warning("worker: cannot renew leases: %s", e)

    def publish_once(self) -> RunReport | None:
        """If this process leads publishing (or can become the leader), catch the search index
        up and run the publishers when the archive changed since; None when another leads."""
        if self._leader is not None and not self._leader.held():
            self._leader.release()
            self._leader = None
        if self._leader is None:
            self._leader = self.leases.lead("publish")
            if self._leader is None:
                return None
            log.info("worker: leading publishing")
        report = RunReport()
        rev = self.store.max_rev()
        if rev == self._published_rev:
            return report
        if self.config.search_index:
            try:
                report.indexed = update_index(self.config, self.store)
            except NewsdeskError as e:
                report.publish_errors.append(f"search index: {e}")
        for name in self.config.publishers:
            try:
                report.published.append(run_publisher(get_publisher(name), self.store, self.config))
            except NewsdeskError as e:
                report.publish_errors.append(f"publish {name}: {e}")
        for problem in report.publish_errors:
            log.warning("worker: %s", problem)
        if not report.publish_errors:
            self._published_rev = rev
        return report

    async def _publish_turn(self) -> None:
        if not self.publish or (self._publishing is not None and not self._publishing.done()):
            return

        async def publish() -> None:
            try:
                await asyncio.to_thread(self.publish_once)
            except NewsdeskError as e:
                log.warning("worker: publishing: %s", e)

        self._publishing = asyncio.ensure_future(publish())

    def _slot(self) -> Leadership | None:
        """One of this machine's `slots` (`default_slots`: its cores), held while this worker is
        busy (`run`): None while other workers of this machine hold them all. A turn is CPU
        work (parsing, cleaning, insights) and PostgreSQL's beside it, so workers beyond the
        cores would only take time slices from the others, and more workers ran slower than
        fewer (4 on 2 cores: 32 % slower than 2); they wait instead, at a try-lock each `poll`,
        and take over a slot when its worker goes idle or dies."""
        if self.slots <= 0:  # no limit
            return self._no_slot
        for name in slot_names(self.machine, self.slots, self.rng):
            slot = self.leases.lead(name)
            if slot is not None:
                return slot
        return None

    async def run(self, stop: asyncio.Event, *, slot: Leadership | None = None) -> None:
        """Turns until `stop` is set, holding one of the machine's slots (`_slot`) from the
        turn that takes it until a turn finds nothing due or the archive fails: a waiting
        worker takes over when one goes idle or dies, not between two batches of a busy one
        (each takeover is a process warming up: its first insights look, its caches). After a
        turn that found nothing due, no free slot, or an archive error (e.g. the server
        restarting) wait `poll` seconds. `slot`: one already held (`newsdesk worker` waits for
        its first before it loads the pipeline), given back here like the others."""
        try:
            while not stop.is_set():
                wait = 0.0
                try:
                    await self._publish_turn()
                    if slot is None:
                        slot = self._slot()
                    if slot is None:  # this machine's cores are all taken by other workers
                        wait = max(self.poll, SLOT_WAIT)
                    else:
                        report = await self.run_once()
                        if not report.feeds:
                            wait = self.poll
                            slot.release()
                            slot = None
                except NewsdeskError as e:
                    log.warning("worker: %s; trying again in %g s", e, self.poll)
                    wait = self.poll
                    if slot is not None:  # its connection may be gone with the server
                        slot.release()
                        slot = None
                stopped = procs.stop_requested()
                if stopped is not None:  # a signal whose Stopped a clean-up turned into an error
                    raise stopped
                if wait > 0:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), wait)
        finally:
            if slot is not None:
                slot.release()
            if self._publishing is not None:
                with contextlib.suppress(Exception):
                    await self._publishing
            if self._leader is not None:
                self._leader.release()
                self._leader = None
