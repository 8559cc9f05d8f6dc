"""The schedule policy (`newsdesk.schedule`): pure, so every case runs on fixed times and a
seeded random generator (the seed is in every failure message)."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from newsdesk.config import ScheduleConfig
from newsdesk.models import FeedSchedule
from newsdesk.schedule import GONE_REASON, Check, Hints, next_schedule, publishing_spacing

NOW = datetime(2026, 12, 6, 8, 0, tzinfo=UTC)
CONFIG = ScheduleConfig()  # new feed 30 min, 5 min … 1 day, backoff cap 1 day, ±10 %
NO_JITTER = ScheduleConfig(jitter=0)
SEED = 20261206
MIN = 60.0
HOUR = 3600.0
DAY = 86400.0


def every(seconds: float, n: int = 20, *, last: datetime = NOW) -> list[datetime]:
    """n entry times `seconds` apart, the newest at `last`."""
    return [last - timedelta(seconds=seconds * i) for i in range(n)]


def schedule(
    check: Check, previous: FeedSchedule | None = None, config: ScheduleConfig = NO_JITTER
) -> FeedSchedule:
    return next_schedule("g/s/f", previous, check, config, NOW, random.Random(SEED))


def test_a_new_feed_is_checked_every_30_minutes() -> None:
    got = schedule(Check("ok", times=[NOW, NOW]))  # one fetch: every entry first seen together
    assert (got.interval, got.reason, got.errors, got.paused) == (30 * MIN, "new feed", 0, None)
    assert got.next_check == NOW + timedelta(minutes=30)
    again = schedule(Check("not_modified"), got)
    assert (again.interval, again.reason) == (30 * MIN, "publishing rate not known yet")


@pytest.mark.parametrize(
    ("spacing", "interval", "reason"),
    [
        (2 * MIN, 5 * MIN, "publishes about every 2 min; at most every 5 min"),
        (20 * MIN, 10 * MIN, "publishes about every 20 min"),
        (HOUR, 30 * MIN, "publishes about every 1 h"),
        (7 * DAY, DAY, "publishes about every 7 d; at least every 1 d"),
    ],
)
def test_interval_follows_the_publishing_rate_within_bounds(
    spacing: float, interval: float, reason: str
) -> None:
    got = schedule(Check("ok", times=every(spacing)))
    assert (got.interval, got.reason) == (interval, reason)


def test_rate_ignores_future_times_and_needs_three_times() -> None:
    assert publishing_spacing([NOW, NOW - timedelta(hours=1)], NOW) is None
    future = [NOW + timedelta(days=1), *every(10 * MIN, 5)]
    assert publishing_spacing(future, NOW) == 10 * MIN


def test_a_feed_gone_quiet_slows_down() -> None:
    got = schedule(Check("ok", times=every(5 * MIN, last=NOW - timedelta(hours=16))))
    assert got.interval == 2 * HOUR and got.reason.startswith("quiet for 16 h")


@pytest.mark.parametrize(
    ("hints", "interval", "reason"),
    [
        (Hints(ttl=HOUR), HOUR, "feed ttl 1 h"),
        (Hints(update_period=2 * HOUR), 2 * HOUR, "feed updates every 2 h (sy:)"),
        (Hints(max_age=90 * MIN), 90 * MIN, "Cache-Control max-age 1.5 h"),
        (Hints(expires=NOW + timedelta(hours=3)), 3 * HOUR, "Expires in 3 h"),
        (
            Hints(expires=NOW - timedelta(hours=3)),
            5 * MIN,
            "publishes about every 2 min; at most every 5 min",
        ),
        (Hints(ttl=3 * DAY), DAY, "feed ttl 3 d; at least every 1 d"),
        (Hints(ttl=MIN), 5 * MIN, "publishes about every 2 min; at most every 5 min"),
    ],
)
def test_feed_and_cache_hints_are_lower_bounds(hints: Hints, interval: float, reason: str) -> None:
    got = schedule(Check("ok", times=every(2 * MIN), hints=hints))
    assert (got.interval, got.reason) == (interval, reason)


def test_a_304_keeps_the_documents_ttl() -> None:
    first = schedule(Check("ok", times=every(2 * MIN), hints=Hints(ttl=HOUR)))
    again = schedule(Check("not_modified", times=every(2 * MIN)), first)
    assert (again.interval, again.reason) == (HOUR, "feed ttl 1 h")


def test_backoff_doubles_per_failure_up_to_its_cap() -> None:
    config = ScheduleConfig(jitter=0, max_backoff=6 * HOUR)
    previous = None
    intervals = []
    for _ in range(6):
        previous = schedule(Check("failed", times=every(HOUR)), previous, config)
        intervals.append(previous.interval)
    # The normal interval (30 min for an hourly feed) × 2^errors, capped at max_backoff.
    assert intervals == [HOUR, 2 * HOUR, 4 * HOUR, 6 * HOUR, 6 * HOUR, 6 * HOUR]
    assert previous is not None and previous.errors == 6 and previous.paused is None
    assert previous.reason == "6 failed checks in a row: backing off (at most 6 h)"
    ok = schedule(Check("ok", times=every(HOUR)), previous, config)
    assert (ok.errors, ok.interval) == (0, 30 * MIN)


def test_backoff_never_checks_a_slow_feed_more_often_than_normal() -> None:
    got = schedule(Check("failed", times=every(7 * DAY)), None, ScheduleConfig(jitter=0, max_backoff=HOUR))
    assert got.interval == DAY and got.errors == 1


def test_retry_after_is_honoured_on_failure_and_deferral() -> None:
    until = NOW + timedelta(hours=2)
    failed = schedule(Check("failed", times=every(2 * MIN), until=until))
    assert failed.next_check == until and failed.errors == 1 and "asked to wait" in failed.reason
    previous = FeedSchedule("g/s/f", NOW, 5 * MIN, "x", errors=2)
    for seed in range(50):
        deferred = next_schedule(
            "g/s/f", previous, Check("deferred", until=until), CONFIG, NOW, random.Random(seed)
        )
        # Not a failure of the feed: no error counted; never before the host allows, at most +10 %.
        assert deferred.errors == 2, seed
        assert until <= deferred.next_check <= until + timedelta(hours=2 * 0.1), seed


def test_410_gone_pauses_the_feed() -> None:
    previous = FeedSchedule("g/s/f", NOW, HOUR, "publishes about every 2 h")
    got = schedule(Check("gone"), previous)
    assert got.paused == GONE_REASON and got.reason == GONE_REASON and got.errors == 1
    # Nothing else ever pauses a feed: a thousand failures still come back.
    failing = None
    for _ in range(1000):
        failing = schedule(Check("failed"), failing)
    assert failing is not None and failing.paused is None and failing.interval == DAY


def test_jitter_spreads_checks_within_ten_percent() -> None:
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    offsets = []
    for _ in range(2000):
        got = next_schedule("g/s/f", None, Check("ok", times=every(HOUR)), CONFIG, NOW, rng)
        offsets.append((got.next_check - NOW).total_seconds() / got.interval - 1)
    assert all(-0.1 <= o <= 0.1 for o in offsets), f"seed {seed}"
    # Spread over the whole range, not bunched: both tails reached, centred on the interval.
    assert min(offsets) < -0.09 and max(offsets) > 0.09, f"seed {seed}"
    assert abs(sum(offsets) / len(offsets)) < 0.01, f"seed {seed}"
    assert sum(1 for o in offsets if o < 0) in range(900, 1100), f"seed {seed}"


def test_a_feeds_own_bounds_narrow_the_configs_never_widen_them() -> None:
    from newsdesk.models import CatalogueFeed, FeedSpec, FeedState
    from newsdesk.schedule import feed_bounds

    spec = FeedSpec("金融", "新浪财经", "国内", url="http://127.0.0.1:9/f.xml")
    plain = CatalogueFeed(spec, "config", FeedState(spec.key, spec.url), FeedSchedule(spec.key, NOW, 0.0, "new"))
    assert feed_bounds(NO_JITTER, plain) is NO_JITTER and feed_bounds(NO_JITTER, None) is NO_JITTER

    def bounds(low: float | None, high: float | None) -> tuple[float, float]:
        got = feed_bounds(NO_JITTER, replace(plain, min_interval=low, max_interval=high))
        return got.min_interval, got.max_interval

    assert bounds(HOUR, 2 * HOUR) == (HOUR, 2 * HOUR)
    assert bounds(60.0, None) == (NO_JITTER.min_interval, NO_JITTER.max_interval)  # not below the config's
    assert bounds(None, 10 * DAY) == (NO_JITTER.min_interval, NO_JITTER.max_interval)  # nor above
    assert bounds(10 * DAY, None) == (NO_JITTER.max_interval, NO_JITTER.max_interval)
    # A quiet feed bounded to an hour is checked hourly, and says why.
    quiet = Check("ok", times=every(7 * DAY))
    got = next_schedule("k", None, quiet, feed_bounds(NO_JITTER, replace(plain, max_interval=HOUR)), NOW, random.Random(0))
    assert got.interval == HOUR and got.reason.endswith("at least every 1 h")
