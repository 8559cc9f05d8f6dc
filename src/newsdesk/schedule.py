"""When to check a feed next: pure policy, no I/O (the scheduler and `run` apply it).

`next_schedule(previous, check, config, now, rng)` turns what the last check found into the
feed's next `FeedSchedule`, with a reason people can read:

- A feed whose publishing rate is not known yet is checked every `schedule.new_feed` (30 min).
- Then the interval follows the rate: half the median spacing of its newest entries' times
  (published, else first seen), so a feed publishing every few minutes is checked every
  `min_interval` (5 min) and a weekly one every `max_interval` (1 day). A feed that has gone
  quiet for much longer than its spacing slows down too (an eighth of its silence).
- What the feed and its server say are lower bounds: RSS `<ttl>`, `sy:updatePeriod` /
  `sy:updateFrequency`, `Cache-Control: max-age` or `Expires` (checking sooner would only get
  the same document). Everything is clamped to [min_interval, max_interval].
- Consecutive failures back off exponentially (the normal interval × 2^errors), capped at
  `max_backoff` (or the normal interval when that is longer); a host that asked to wait
  (`Retry-After`) is not checked before then. A feed is never given up on, except one that
  answers 410 Gone: it is paused with that reason until an admin resumes it.
- The next check is spread by ±`jitter` (10 %) of the interval, so feeds added together do not
  stay in lockstep.
"""

from __future__ import annotations

import itertools
import random
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from .config import ScheduleConfig
from .models import CatalogueFeed, FeedSchedule

__all__ = [
    "GONE_REASON",
    "Check",
    "CheckOutcome",
    "Hints",
    "duration_text",
    "feed_bounds",
    "next_schedule",
    "publishing_spacing",
]

# What a check of a feed came to: entries (new or not), 304, a failure, 410 Gone, or not asked
# because its host asked to wait.
CheckOutcome = Literal["ok", "not_modified", "failed", "gone", "deferred"]

GONE_REASON = "HTTP 410 Gone: the feed was removed (resume it once it is back)"
# Entries whose spacing is looked at, and how many distinct times make a rate.
RATE_SAMPLE = 20
RATE_MIN_TIMES = 3
# A feed quiet for longer than this many of its intervals is checked at this share of its silence.
QUIET_SHARE = 8
# How the reasons that come from the document itself begin (kept across a 304).
_DOCUMENT_HINTS = ("feed ttl", "feed updates every")


@dataclass(frozen=True)
class Hints:
    """What a feed and its server say about how often it changes, in seconds."""

    ttl: float | None = None  # RSS <ttl> (given in minutes)
    update_period: float | None = None  # sy:updatePeriod / sy:updateFrequency
    max_age: float | None = None  # Cache-Control max-age
    expires: datetime | None = None  # Expires, when there was no max-age

    def bounds(self, now: datetime) -> list[tuple[float, str]]:
        """(seconds, why) of every hint given."""
        out: list[tuple[float, str]] = []
        if self.ttl:
            out.append((self.ttl, f"{_DOCUMENT_HINTS[0]} {duration_text(self.ttl)}"))
        if self.update_period:
            out.append(
                (self.update_period, f"{_DOCUMENT_HINTS[1]} {duration_text(self.update_period)} (sy:)")
            )
        if self.max_age:
            out.append((self.max_age, f"Cache-Control max-age {duration_text(self.max_age)}"))
        elif self.expires is not None:
            left = (self.expires - now).total_seconds()
            if left > 0:
                out.append((left, f"Expires in {duration_text(left)}"))
        return out


@dataclass(frozen=True)
class Check:
    """What one check of a feed found.

    `times`: the sort times (published, else first seen) of the feed's newest entries, any
    order; `hints`: from the response and the document; `until`: when a host that asked to wait
    (`Retry-After`, the feed's own answer or a hold on its host) may be asked again."""

    outcome: CheckOutcome
    times: Sequence[datetime] = ()
    hints: Hints = Hints()
    until: datetime | None = None
    error: str | None = None


def publishing_spacing(times: Sequence[datetime], now: datetime) -> float | None:
    """The median spacing in seconds of the newest entries' times (future times ignored); None
    when fewer than RATE_MIN_TIMES distinct times are known."""
    distinct = sorted({t for t in times if t <= now}, reverse=True)[:RATE_SAMPLE]
    if len(distinct) < RATE_MIN_TIMES:
        return None
    gaps = [(a - b).total_seconds() for a, b in itertools.pairwise(distinct)]
    return float(statistics.median(gaps))


def _normal_interval(
    previous: FeedSchedule | None, check: Check, config: ScheduleConfig, now: datetime
) -> tuple[float, str]:
    """The interval the feed's rate and hints call for (before backoff and jitter), and why."""
    spacing = publishing_spacing(check.times, now)
    if spacing is None:
        interval = config.new_feed
        reason = "new feed" if previous is None or previous.interval == 0 else "publishing rate not known yet"
    else:
        interval = spacing / 2
        reason = f"publishes about every {duration_text(spacing)}"
        newest = max(t for t in check.times if t <= now)
        quiet = (now - newest).total_seconds()
        if quiet / QUIET_SHARE > interval:
            interval = quiet / QUIET_SHARE
            reason = f"quiet for {duration_text(quiet)} (usually every {duration_text(spacing)})"
    bounds = check.hints.bounds(now)
    if (
        check.outcome == "not_modified"
        and previous is not None
        and previous.reason.startswith(_DOCUMENT_HINTS)
    ):
        # A 304 has no document to read <ttl> or sy: from: the one read last still holds.
        bounds.append((previous.interval, previous.reason))
    for bound, why in bounds:
        if bound > interval:
            interval, reason = bound, why
    if interval < config.min_interval:
        interval, reason = (
            config.min_interval,
            f"{reason}; at most every {duration_text(config.min_interval)}",
        )
    elif interval > config.max_interval:
        interval, reason = (
            config.max_interval,
            f"{reason}; at least every {duration_text(config.max_interval)}",
        )
    return interval, reason


def next_schedule(
    key: str,
    previous: FeedSchedule | None,
    check: Check,
    config: ScheduleConfig,
    now: datetime,
    rng: random.Random,
) -> FeedSchedule:
    """The feed's schedule after `check` (see the module docstring). `previous` is None for a
    feed never scheduled; `rng` spreads the next check by the jitter."""
    errors = previous.errors if previous is not None else 0
    if check.outcome == "gone":
        interval = previous.interval if previous is not None else config.new_feed
        return FeedSchedule(key, now, interval, GONE_REASON, errors + 1, paused=GONE_REASON)
    normal, reason = _normal_interval(previous, check, config, now)
    if check.outcome == "deferred":
        # Not asked: no error, and the feed goes again as soon as its host allows.
        until = check.until or now + timedelta(seconds=normal)
        delay = max((until - now).total_seconds(), 0.0)
        wait = delay + delay * rng.uniform(0, config.jitter)
        return FeedSchedule(
            key, now + timedelta(seconds=wait), normal, f"host asked to wait ({reason})", errors
        )
    if check.outcome == "failed":
        errors += 1
        cap = max(config.max_backoff, normal)
        interval = min(normal * 2.0**errors, cap)
        reason = f"{errors} failed check{'s' if errors > 1 else ''} in a row: backing off"
        if interval == cap:
            reason += f" (at most {duration_text(cap)})"
    else:
        errors = 0
        interval = normal
    wait = interval * (1 + rng.uniform(-config.jitter, config.jitter))
    next_check = now + timedelta(seconds=wait)
    if check.until is not None and check.until > next_check:
        next_check = check.until
        reason += f"; the host asked to wait until {check.until:%H:%M:%S}"
    return FeedSchedule(key, next_check, interval, reason, errors)


def duration_text(seconds: float) -> str:
    """3600 → "1 h", 90 → "1.5 min", 172800 → "2 d"."""
    for unit, size in (("d", 86400.0), ("h", 3600.0), ("min", 60.0)):
        if seconds >= size:
            return f"{seconds / size:.1f}".removesuffix(".0") + f" {unit}"
    return f"{seconds:.0f} s"


def feed_bounds(config: ScheduleConfig, feed: CatalogueFeed | None) -> ScheduleConfig:
    """The config's bounds narrowed by an admin's bounds on this feed (kept in the catalogue):
    a feed's own bounds apply within the config's, never beyond them."""
    if feed is None or (feed.min_interval is None and feed.max_interval is None):
        return config
    low = max(config.min_interval, feed.min_interval or 0.0)
    high = min(config.max_interval, feed.max_interval or config.max_interval)
    low = min(low, high)  # an admin's minimum above the config's maximum: the maximum
    return config.model_copy(update={"min_interval": low, "max_interval": high})
