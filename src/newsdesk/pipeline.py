"""`run`: fetch every enabled feed, parse, store, then publish; errors recorded per feed."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from .config import Config
from .errors import NewsdeskError
from .fetch import Fetcher, fetch_feed
from .models import FeedReport, FeedSpec, FeedState, ParsedEntry
from .parse import parse_feed
from .publish.base import PublishReport, get_publisher
from .store import Store

log = logging.getLogger("newsdesk")

EXIT_OK = 0
EXIT_FATAL = 1  # config, database: nothing ran
EXIT_FEEDS_FAILED = 3  # some feeds failed; the others were fetched, stored and published
EXIT_PUBLISH_FAILED = 4  # fetching went fine but a publisher could not write

FeedProgress = Callable[[FeedReport], None]


@dataclass
class RunReport:
    feeds: list[FeedReport] = field(default_factory=list)
    published: list[PublishReport] = field(default_factory=list)
    publish_errors: list[str] = field(default_factory=list)

    @property
    def failed(self) -> list[FeedReport]:
        return [f for f in self.feeds if f.outcome == "failed"]

    @property
    def exit_code(self) -> int:
        if self.failed:
            return EXIT_FEEDS_FAILED
        if self.publish_errors:
            return EXIT_PUBLISH_FAILED
        return EXIT_OK

    def totals(self) -> dict[str, int]:
        return {
            "feeds": len(self.feeds),
            "failed": len(self.failed),
            "new": sum(f.new for f in self.feeds),
            "updated": sum(f.updated for f in self.feeds),
            "unchanged": sum(f.unchanged for f in self.feeds),
        }


def _unique(entries: Sequence[ParsedEntry]) -> list[ParsedEntry]:
    """A feed listing the same id twice keeps the first: one entry, never two."""
    seen: set[str] = set()
    out = []
    for e in entries:
        if e.id not in seen:
            seen.add(e.id)
            out.append(e)
    return out


async def _update_feed(
    fetcher: Fetcher, store: Store, config: Config, spec: FeedSpec, state: FeedState | None
) -> FeedReport:
    # A permanent redirect recorded earlier replaces the configured URL.
    if spec.url and state and state.url and state.url != spec.url:
        spec = replace(spec, url=state.url)
    try:
        result = await fetch_feed(
            fetcher,
            spec,
            etag=state.etag if state else None,
            last_modified=state.last_modified if state else None,
            rsshub=config.rsshub,
        )
        now = datetime.now(UTC)
        if result.not_modified:
            store.save_fetch(spec, result, (), now)
            return FeedReport(spec.key, "not_modified")
        parsed = parse_feed(result.text or "", base_url=result.url)
        counts = store.save_fetch(
            spec, result, _unique(parsed.entries), now, feed_title=parsed.title, warning=parsed.warning
        )
        return FeedReport(
            spec.key, "ok", counts.new, counts.updated, counts.unchanged, warning=parsed.warning
        )
    except NewsdeskError as e:
        message = str(e)
        try:
            store.record_failure(spec.key, message, datetime.now(UTC))
        except NewsdeskError as e2:
            message += f" (and recording the failure failed: {e2})"
        return FeedReport(spec.key, "failed", error=message)


async def fetch_feeds(
    config: Config, store: Store, specs: Sequence[FeedSpec], progress: FeedProgress | None = None
) -> list[FeedReport]:
    store.sync_feeds(specs)
    states = store.feed_states()
    reports: dict[str, FeedReport] = {}
    async with Fetcher(config.fetch) as fetcher:

        async def one(spec: FeedSpec) -> None:
            report = await _update_feed(fetcher, store, config, spec, states.get(spec.key))
            reports[spec.key] = report
            if progress:
                progress(report)

        await asyncio.gather(*(one(s) for s in specs))
    return [reports[s.key] for s in specs]


def select_feeds(config: Config, names: Sequence[str] = ()) -> list[FeedSpec]:
    """Enabled feeds, or only those whose name, site, group or key is given."""
    feeds = [f for f in config.feeds() if f.enabled]
    if names:
        wanted = set(names)
        feeds = [f for f in feeds if wanted & {f.name, f.site, f.group, f.key}]
    return feeds


def run(
    config: Config,
    store: Store,
    *,
    feeds: Sequence[FeedSpec] | None = None,
    publishers: Sequence[str] = ("hexo",),
    progress: FeedProgress | None = None,
) -> RunReport:
    report = RunReport()
    specs = list(feeds) if feeds is not None else select_feeds(config)
    report.feeds = asyncio.run(fetch_feeds(config, store, specs, progress))
    for name in publishers:
        try:
            report.published.append(get_publisher(name).publish(store, config))
        except NewsdeskError as e:
            report.publish_errors.append(f"publish {name}: {e}")
    return report
