"""The desk's Prometheus metrics, in a registry of their own (`/metrics` shows only these).

The scheduler and the publisher report into a `Reporter` (what `serve` hands them); the feed
counts by status are read from the archive at scrape time (`Metrics.feed_status`), so they
are never stale. Every name starts with `newsdesk_`:

| metric | type | labels |
| --- | --- | --- |
| newsdesk_feeds | gauge | status: ok, failing, paused |
| newsdesk_fetch_duration_seconds | histogram | outcome: ok, not_modified, failed, deferred |
| newsdesk_entries_ingested_total | counter | kind: new, updated |
| newsdesk_errors_total | counter | kind: fetch, publish, index, api, scheduler |
| newsdesk_scheduler_lag_seconds | histogram | (how late a feed's check started after it was due) |
| newsdesk_scheduler_overdue_seconds | gauge | (the most overdue feed now; 0 when none) |
| newsdesk_publish_duration_seconds | histogram | publisher, outcome: ok, failed |
| newsdesk_publish_runs_total | counter | outcome: ok, failed |
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Mapping
from typing import Protocol

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

log = logging.getLogger("newsdesk.web")

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# Fetches take from milliseconds (a 304 on loopback) to the fetch deadline (90 s by default).
_FETCH_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 90, float("inf"))
_LAG_BUCKETS = (0.1, 0.5, 1, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, float("inf"))
_PUBLISH_BUCKETS = (0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, float("inf"))


class Reporter(Protocol):
    """What the scheduler and the publisher tell the metrics (and nothing else of them)."""

    def fetched(self, outcome: str, seconds: float, *, new: int = 0, updated: int = 0) -> None:
        """One feed checked: its outcome (a `FeedReport.outcome`), how long it took and what it
        stored."""

    def lagged(self, seconds: float) -> None:
        """How late after its due time one feed's check started."""

    def error(self, kind: str) -> None:
        """Something failed: fetch, publish, index, api, scheduler."""

    def published(self, publisher: str, seconds: float, ok: bool) -> None:
        """One publisher ran (in the publish process) for this long."""


class Metrics:
    """The registry and the reporter in one. `feed_status` and `overdue` are read at scrape
    time (on the thread answering /metrics); until serve sets them they report nothing."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.feed_status: Callable[[], Mapping[str, int]] | None = None
        self.overdue: Callable[[], float] | None = None
        self._fetch = Histogram(
            "newsdesk_fetch_duration_seconds",
            "How long checking one feed took (fetch, parse, clean, store), by outcome.",
            ["outcome"],
            buckets=_FETCH_BUCKETS,
            registry=self.registry,
        )
        self._ingested = Counter(
            "newsdesk_entries_ingested",
            "Entries stored: new ones and updated ones.",
            ["kind"],
            registry=self.registry,
        )
        self._errors = Counter("newsdesk_errors", "Failures, by kind.", ["kind"], registry=self.registry)
        self._lag = Histogram(
            "newsdesk_scheduler_lag_seconds",
            "How late after its due time a feed's check started.",
            buckets=_LAG_BUCKETS,
            registry=self.registry,
        )
        self._publish = Histogram(
            "newsdesk_publish_duration_seconds",
            "How long one publisher's incremental run took, by outcome.",
            ["publisher", "outcome"],
            buckets=_PUBLISH_BUCKETS,
            registry=self.registry,
        )
        self._publish_runs = Counter(
            "newsdesk_publish_runs",
            "Publish runs (index and every publisher), by outcome.",
            ["outcome"],
            registry=self.registry,
        )
        for kind in ("new", "updated"):
            self._ingested.labels(kind)
        for kind in ("fetch", "publish", "index", "api", "scheduler"):
            self._errors.labels(kind)
        self.registry.register(_Scraped(self))
        self._lock = threading.Lock()

    # Reporter -----------------------------------------------------------------------------
    def fetched(self, outcome: str, seconds: float, *, new: int = 0, updated: int = 0) -> None:
        self._fetch.labels(outcome).observe(max(0.0, seconds))
        if new:
            self._ingested.labels("new").inc(new)
        if updated:
            self._ingested.labels("updated").inc(updated)
        if outcome == "failed":
            self._errors.labels("fetch").inc()

    def lagged(self, seconds: float) -> None:
        self._lag.observe(max(0.0, seconds))

    def error(self, kind: str) -> None:
        self._errors.labels(kind).inc()

    def published(self, publisher: str, seconds: float, ok: bool) -> None:
        self._publish.labels(publisher, "ok" if ok else "failed").observe(max(0.0, seconds))
        if not ok:
            self._errors.labels("publish").inc()

    def publish_run(self, ok: bool) -> None:
        self._publish_runs.labels("ok" if ok else "failed").inc()

    # exposition ---------------------------------------------------------------------------
    def exposition(self) -> bytes:
        with self._lock:  # one scrape at a time: the scraped callbacks read the archive
            return generate_latest(self.registry)


class _Scraped(Collector):
    """The gauges read from the archive when /metrics is asked."""

    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics

    def describe(self) -> list[Metric]:
        # Described without reading the archive (registration happens before serve wires it).
        return [
            GaugeMetricFamily("newsdesk_feeds", "Feeds in the catalogue, by status.", labels=["status"]),
            GaugeMetricFamily(
                "newsdesk_scheduler_overdue_seconds", "How long the most overdue feed has been due (0: none)."
            ),
        ]

    def collect(self) -> Iterator[Metric]:
        feeds = GaugeMetricFamily("newsdesk_feeds", "Feeds in the catalogue, by status.", labels=["status"])
        overdue = GaugeMetricFamily(
            "newsdesk_scheduler_overdue_seconds", "How long the most overdue feed has been due (0: none)."
        )
        m = self._metrics
        try:
            counts = m.feed_status() if m.feed_status else {}
            for status in ("ok", "failing", "paused"):
                feeds.add_metric([status], counts.get(status, 0))
            overdue.add_metric([], m.overdue() if m.overdue else 0.0)
        except Exception as e:  # a scrape must answer even when the archive cannot be read
            log.warning("metrics: cannot read the archive: %s", e)
            m.error("api")
        yield feeds
        yield overdue
