"""The scheduler (`newsdesk.scheduler`) through real parts: local HTTP servers, a real SQLite
archive, the pipeline's fetch path. Time is an injected clock and the loop's waits an injected
sleep that moves it, so nothing here sleeps; randomness is seeded."""

from __future__ import annotations

import asyncio
import email.utils
import itertools
import random
import time
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from newsdesk.config import Config, load_config
from newsdesk.fetch import Fetcher
from newsdesk.models import REMOVED_FROM_CONFIG, CatalogueFeed, FeedSpec
from newsdesk.pipeline import FeedReport, RunReport
from newsdesk.schedule import GONE_REASON
from newsdesk.scheduler import MAX_WAIT, Scheduler, SchedulerThread
from newsdesk.store import open_store
from serve_helpers import poll
from server import FeedServer, Reply

NOW = datetime(2026, 12, 6, 8, 0, tzinfo=UTC)
MIN = 60.0
HOUR = 3600.0
DAY = 86400.0
SEED = 14


class Clock:
    """The injected clock: moves only when told."""

    def __init__(self, now: datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def rss(spacing: float, n: int = 20, *, last: datetime = NOW, channel: str = "") -> str:
    """A feed of n items `spacing` seconds apart, the newest published at `last`."""
    items = "".join(
        f"<item><title>标题{i}</title><link>https://news.example.cn/{i}.html</link><guid>{i}</guid>"
        f"<pubDate>{email.utils.format_datetime(last - timedelta(seconds=spacing * i), usegmt=True)}</pubDate>"
        f"<description>正文{i}</description></item>"
        for i in range(n)
    )
    return f'<rss version="2.0"><channel><title>测试</title>{channel}{items}</channel></rss>'


def write_config(tmp: Path, feeds: dict[str, str], *head: str) -> Config:
    """A config of feeds name → url (or /route), all under g/s, no search index."""
    lines = [
        "database: archive.db",
        "search_index: false",
        "fetch:",
        "  retries: 0",
        "  backoff: 0.01",
        *head,
    ]
    lines.append("groups:\n  g:\n    s:")
    for name, where in feeds.items():
        key = "route" if where.startswith("/") else "url"
        lines += [f"      - name: {name}", f"        {key}: {where}", "        clean: false"]
    path = tmp / "newsdesk.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return load_config(path)


@pytest.fixture
def clock() -> Clock:
    return Clock()


def scheduler(
    config: Config,
    clock: Clock,
    *,
    on_ingest: Callable[[RunReport], None] | None = None,
    sleep: Callable[[float], Awaitable[None]] | None = None,
) -> Scheduler:
    """A scheduler on its own store connection, the config applied to the catalogue."""
    store = open_store(config.database_url)
    s = Scheduler(config, store, clock=clock, rng=random.Random(SEED), on_ingest=on_ingest, sleep=sleep)
    s.apply_config()
    return s


def feed(s: Scheduler, name: str) -> CatalogueFeed:
    found = s.store.catalogue_feed(f"g/s/{name}")
    assert found is not None
    return found


def within_jitter(f: CatalogueFeed, now: datetime) -> bool:
    wait = (f.schedule.next_check - now).total_seconds()
    return 0.9 * f.schedule.interval <= wait <= 1.1 * f.schedule.interval


@pytest.fixture
def servers() -> Iterator[tuple[FeedServer, FeedServer]]:
    with FeedServer() as a, FeedServer() as b:
        yield a, b


def test_intervals_follow_the_rate_and_the_feeds_hints(
    tmp_path: Path, feed_server: FeedServer, clock: Clock
) -> None:
    fast = rss(2 * MIN)
    routes = {
        "fast": feed_server.route("/fast", fast),
        "weekly": feed_server.route("/weekly", rss(7 * DAY, 5)),
        "ttl": feed_server.route("/ttl", rss(2 * MIN, channel="<ttl>120</ttl>")),
        "sy": feed_server.route(
            "/sy",
            rss(2 * MIN, channel="<sy:updatePeriod>hourly</sy:updatePeriod>").replace(
                "<rss ", '<rss xmlns:sy="http://purl.org/rss/1.0/modules/syndication/" '
            ),
        ),
        "cache": feed_server.route("/cache", Reply(fast, headers={"Cache-Control": "max-age=5400"})),
        "expires": feed_server.route(
            "/expires",
            Reply(
                fast, headers={"Expires": email.utils.format_datetime(NOW + timedelta(hours=3), usegmt=True)}
            ),
        ),
        "new": feed_server.route(
            "/new", "<rss><channel><item><guid>1</guid><title>无日期</title></item></channel></rss>"
        ),
    }
    s = scheduler(write_config(tmp_path, routes), clock)
    assert {f.key for f in s.store.catalogue()} == {f"g/s/{n}" for n in routes}
    report = asyncio.run(s.run_once())
    assert [f.outcome for f in report.feeds] == ["ok"] * len(routes)
    want = {
        "fast": (5 * MIN, "publishes about every 2 min; at most every 5 min"),
        "weekly": (DAY, "publishes about every 7 d; at least every 1 d"),
        "ttl": (2 * HOUR, "feed ttl 2 h"),
        "sy": (HOUR, "feed updates every 1 h (sy:)"),
        "cache": (90 * MIN, "Cache-Control max-age 1.5 h"),
        "expires": (3 * HOUR, "Expires in 3 h"),
        "new": (30 * MIN, "new feed"),
    }
    for name, (interval, reason) in want.items():
        f = feed(s, name)
        assert (f.schedule.interval, f.schedule.reason) == (interval, reason), name
        assert within_jitter(f, NOW), name
    # Six minutes on, only the fast feed is due; a day on, all of them.
    assert [f.name for f in s.due(NOW + timedelta(minutes=6))] == ["fast"]
    assert len(s.due(NOW + timedelta(days=1, hours=3))) == len(routes)
    s.store.close()


def test_the_loop_waits_on_the_clock_until_each_feed_is_due(
    tmp_path: Path, feed_server: FeedServer, clock: Clock
) -> None:
    config = write_config(
        tmp_path,
        {
            "fast": feed_server.route("/fast", rss(2 * MIN)),
            "slow": feed_server.route("/slow", rss(7 * DAY, 5)),
        },
    )
    waits: list[float] = []
    reports: list[RunReport] = []
    times: list[datetime] = []
    lags: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        clock.advance(seconds)

    async def main() -> None:
        stop = asyncio.Event()

        def ingested(report: RunReport) -> None:
            reports.append(report)
            times.append(clock())
            lags.extend(s.last_lags)
            if len(reports) == 6:
                stop.set()

        s = scheduler(config, clock, on_ingest=ingested, sleep=sleep)
        try:
            await asyncio.wait_for(s.run(stop), 30)
        finally:
            s.store.close()

    asyncio.run(main())
    # The slow feed once, the fast one every ~5 minutes (±10 %), with nothing fetched in between.
    assert [[f.key for f in r.feeds] for r in reports] == [["g/s/fast", "g/s/slow"]] + [["g/s/fast"]] * 5
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(times)]
    assert all(4.5 * MIN <= g <= 5.5 * MIN for g in gaps) and len(set(gaps)) > 1, gaps  # jittered
    # The loop only waited (never fetched early), and at most MAX_WAIT at a time.
    assert sum(waits) == (times[-1] - times[0]).total_seconds() and max(waits) <= MAX_WAIT
    assert feed_server.hits("/fast") == 6 and feed_server.hits("/slow") == 1
    # Each check of the fast feed went out exactly when it was due (no lag on this clock).
    assert lags == [0.0] * 5


def test_refresh_from_another_thread_wakes_the_loop(
    tmp_path: Path, feed_server: FeedServer, clock: Clock
) -> None:
    config = write_config(
        tmp_path, {"a": feed_server.route("/a", rss(HOUR)), "b": feed_server.route("/b", rss(HOUR))}
    )
    batches: list[list[str]] = []

    async def forever(seconds: float) -> None:
        await asyncio.Event().wait()  # only a wake or the stop ends the wait

    thread = SchedulerThread(
        config,
        lambda: open_store(config.database_url),
        clock=clock,
        rng=random.Random(SEED),
        on_ingest=lambda r: batches.append([f.key for f in r.feeds]),
        sleep=forever,
    )
    thread.start()
    try:
        poll(lambda: len(batches) == 1, "the first batch")
        thread.refresh("g/s/b")
        poll(lambda: len(batches) == 2, "the second batch")
        assert batches == [["g/s/a", "g/s/b"], ["g/s/b"]]
        assert feed_server.hits("/a") == 1 and feed_server.hits("/b") == 2
    finally:
        assert thread.stop(timeout=10)
    assert thread.error is None


def test_a_refresh_that_a_batch_in_flight_answered_is_not_fetched_again(
    tmp_path: Path, feed_server: FeedServer, clock: Clock
) -> None:
    body = rss(HOUR)
    asks: list[int] = []

    def answer(_req: object) -> str:
        if asks:  # a refresh asked for while this fetch is in flight; the fetch ends a second later
            s.refresh("g/s/a")
            clock.advance(1)
            asks.pop()
        return body

    config = write_config(tmp_path, {"a": feed_server.route("/a", answer)})
    s = scheduler(config, clock)
    asks.append(1)
    asyncio.run(s.run_once())
    assert feed_server.hits("/a") == 1
    # The fetch recorded after the ask answered it: the next batch fetches nothing.
    report = asyncio.run(s.run_once())
    assert feed_server.hits("/a") == 1 and report.feeds == []
    # Asked for after the last check: fetched now.
    clock.advance(MIN)
    s.refresh("g/s/a")
    asyncio.run(s.run_once())
    assert feed_server.hits("/a") == 2


def test_a_feed_removed_while_its_batch_starts_stays_removed(
    tmp_path: Path, feed_server: FeedServer, clock: Clock
) -> None:
    config = write_config(tmp_path, {"a": feed_server.route("/a", rss(HOUR)), "b": feed_server.route("/b", rss(HOUR))})

    class Removing(Scheduler):
        """Someone removes feed a (the web app, another connection) once the batch has chosen
        it and before its fetch begins."""

        async def _fetch(self, specs: list[FeedSpec], fetcher: Fetcher) -> list[FeedReport]:
            assert [s.key for s in specs] == ["g/s/a", "g/s/b"]
            other = open_store(config.database_url)
            try:
                assert other.delete_feed("g/s/a") is not None
            finally:
                other.close()
            return await super()._fetch(specs, fetcher)

    s = Removing(config, open_store(config.database_url), clock=clock, rng=random.Random(SEED))
    s.apply_config()
    asyncio.run(s.run_once())
    # Whatever the batch did with it, the removed feed is not back in the catalogue, nor its entries.
    assert s.store.catalogue_feed("g/s/a") is None and s.store.catalogue_feed("g/s/b") is not None
    assert {e.feed_key for e in s.store.list_entries(limit=100)} == {"g/s/b"}


def test_retry_after_holds_every_route_of_the_instance_and_another_serves(
    tmp_path: Path, servers: tuple[FeedServer, FeedServer], clock: Clock
) -> None:
    a, b = servers
    routes = ["/r1", "/r2", "/r3"]
    for r in routes:
        a.route(r, Reply("slow down", 429, {"Retry-After": "3600"}))
        b.route(r, rss(HOUR))
    config = write_config(
        tmp_path, {r.strip("/"): r for r in routes}, "  per_host: 1", f"rsshub: [{a.url()}, {b.url()}]"
    )
    s = scheduler(config, clock)
    report = asyncio.run(s.run_once())
    # The first route asked got the 429; the host is held, so no other route asks it again, and
    # every route is fetched from the other instance.
    assert [f.outcome for f in report.feeds] == ["ok"] * 3 and len(a.requests) == 1
    assert b.hits("/r1") == b.hits("/r2") == b.hits("/r3") == 1
    until, reason = s.store.host_holds(clock())[f"127.0.0.1:{a.port}"]
    assert until == NOW + timedelta(hours=1) and reason == "HTTP 429 Too Many Requests"

    # Later batches (each its own fetcher, reading the holds from the archive) skip it too.
    clock.advance(10 * MIN)
    for r in routes:
        s.store.refresh_feed("g/s" + r, clock())
    report = asyncio.run(s.run_once())
    assert [f.outcome for f in report.feeds] == ["ok"] * 3 and len(a.requests) == 1

    # Both instances held: the routes are deferred (no error counted) until the first hold ends.
    s.store.hold_host(f"127.0.0.1:{b.port}", NOW + timedelta(hours=2), "HTTP 503 Service Unavailable")
    for r in routes:
        s.store.refresh_feed("g/s" + r, clock())
    report = asyncio.run(s.run_once())
    assert [f.outcome for f in report.feeds] == ["deferred"] * 3 and len(a.requests) == 1
    for r in routes:
        f = feed(s, r.strip("/"))
        assert f.schedule.errors == 0 and NOW + timedelta(
            hours=1
        ) <= f.schedule.next_check <= NOW + timedelta(hours=1, minutes=6)

    # Once its hold has passed, the first instance is asked again.
    for r in routes:
        a.route(r, rss(HOUR))
    clock.now = NOW + timedelta(hours=1, minutes=7)
    report = asyncio.run(s.run_once())
    assert [f.outcome for f in report.feeds] == ["ok"] * 3
    assert len(a.requests) == 4 and len(b.requests) == 6
    s.store.close()


def test_failures_back_off_and_410_pauses(tmp_path: Path, feed_server: FeedServer, clock: Clock) -> None:
    config = write_config(
        tmp_path,
        {
            "broken": feed_server.route("/broken", Reply("oops", 500)),
            "gone": feed_server.route("/gone", Reply(b"", 410)),
        },
        "schedule:",
        "  jitter: 0",
        "  max_backoff: 14400",
    )
    s = scheduler(config, clock)
    intervals = []
    for _ in range(5):
        asyncio.run(s.run_once())
        broken = feed(s, "broken")
        intervals.append(broken.schedule.interval)
        clock.now = broken.schedule.next_check
    # New feed (30 min) × 2^errors, capped at max_backoff (4 h); never given up on.
    assert intervals == [HOUR, 2 * HOUR, 4 * HOUR, 4 * HOUR, 4 * HOUR]
    assert broken.schedule.errors == broken.state.consecutive_failures == 5 and broken.paused is None
    assert "HTTP 500" in (broken.state.last_error or "")
    assert feed_server.hits("/broken") == 5

    gone = feed(s, "gone")
    assert gone.paused == GONE_REASON and feed_server.hits("/gone") == 1
    assert s.due(clock.now + timedelta(days=30)) == [feed(s, "broken").spec]
    # An admin resumes it: due at once.
    s.store.resume_feed("g/s/gone", clock())
    feed_server.route("/gone", rss(HOUR))
    report = asyncio.run(s.run_once())
    assert {f.key: f.outcome for f in report.feeds}["g/s/gone"] == "ok"
    s.store.close()


def test_a_feed_removed_from_the_config_is_paused_with_its_archive(
    tmp_path: Path, feed_server: FeedServer, clock: Clock
) -> None:
    feeds = {"a": feed_server.route("/a", rss(HOUR)), "b": feed_server.route("/b", rss(HOUR))}
    s = scheduler(write_config(tmp_path, feeds), clock)
    asyncio.run(s.run_once())
    s.store.close()
    clock.advance(DAY)
    s = scheduler(write_config(tmp_path, {"a": feeds["a"]}), clock)
    assert feed(s, "b").paused == REMOVED_FROM_CONFIG
    assert len(s.store.list_entries(feed_key="g/s/b")) == 20
    assert [f.name for f in s.due()] == ["a"]
    s.store.close()


def test_a_stop_mid_batch_stores_nothing_half_and_a_restart_resumes(
    tmp_path: Path, feed_server: FeedServer, clock: Clock
) -> None:
    routes = {
        "quick": feed_server.route("/quick", rss(2 * MIN)),
        "slow": feed_server.route("/slow", Reply(rss(HOUR), delay=60)),
    }
    config = write_config(tmp_path, routes, "  timeout: 120", "  deadline: 120")
    config = config.model_copy(update={"search_index": True})

    async def main() -> None:
        s = scheduler(config, clock)
        stop = asyncio.Event()
        task = asyncio.ensure_future(s.run(stop))
        deadline = time.monotonic() + 20
        while feed(s, "quick").state.last_success is None:
            assert time.monotonic() < deadline and not task.done()
            await asyncio.sleep(0.01)
        stop.set()  # what serve does on SIGTERM
        await asyncio.wait_for(task, 5)
        s.store.close()

    asyncio.run(main())
    store = open_store(config.database_url)
    try:
        assert len(store.list_entries(feed_key="g/s/quick")) == 20
        assert store.list_entries(feed_key="g/s/slow") == []
        slow = store.catalogue_feed("g/s/slow")
        assert slow is not None and slow.state.last_attempt is None and slow.schedule.next_check <= NOW
        assert store.foreign_key_problems() == []
    finally:
        store.close()

    # Restarted a minute later: only the feed not done is due; the other waits for its time.
    clock.advance(MIN)
    feed_server.route("/slow", rss(HOUR))
    s = scheduler(config, clock)
    assert [f.name for f in s.due()] == ["slow"]
    report = asyncio.run(s.run_once())
    assert [f.key for f in report.feeds] == ["g/s/slow"] and feed_server.hits("/quick") == 1
    assert report.indexed == 40  # the search index caught up with both feeds' entries
    quick = feed(s, "quick")
    assert s.due(quick.schedule.next_check) and [f.name for f in s.due(quick.schedule.next_check)] == [
        "quick"
    ]
    s.store.close()


def test_a_batch_waits_for_cron_holding_the_fetch_lock(
    tmp_path: Path, feed_server: FeedServer, clock: Clock
) -> None:
    from newsdesk import locks

    s = scheduler(write_config(tmp_path, {"a": feed_server.route("/a", rss(HOUR))}), clock)
    with locks.hold(locks.fetch_lock_path(s.config.database_url), "fetching"):
        report = asyncio.run(s.run_once())
    assert report.busy and report.feeds == [] and feed_server.hits("/a") == 0
    report = asyncio.run(s.run_once())  # the lock is free again: the feed is still due
    assert [f.outcome for f in report.feeds] == ["ok"]
    s.store.close()


def test_a_batch_catches_up_the_insights_it_left_pending(
    tmp_path: Path, feed_server: FeedServer, clock: Clock
) -> None:
    body = "<p>会议要求，一是稳增长；二是保就业。到2025年，全省数字经济核心产业增加值占比达到10%。</p>"
    text = rss(HOUR, 3).replace("<description>正文", f"<description><![CDATA[{body}]]>正文")
    write_config(tmp_path, {"a": feed_server.route("/a", text)})
    path = tmp_path / "newsdesk.yaml"
    path.write_text(path.read_text("utf-8").replace("clean: false", "clean: true"), "utf-8")
    config = load_config(path)
    seen: list[int] = []
    s = scheduler(config, clock, on_ingest=lambda r: seen.append(len(s.store.pending_insights())))
    try:
        report = asyncio.run(s.run_once())
        # Stored by the batch, caught up after it and before on_ingest (serve publishes there).
        assert (report.feeds[0].new, report.insights, seen) == (3, 3, [0])
        assert all(len(i.tasks) == 2 for i in s.store.get_insights(s.store.iter_uids()).values())
    finally:
        s.store.close()
