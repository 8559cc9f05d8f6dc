"""`run`: fetch every enabled feed, parse, store, then publish; errors recorded per feed."""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import queue
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from multiprocessing.process import BaseProcess
from multiprocessing.queues import Queue

from .clean import clean_article
from .config import Config
from .errors import CleanError, NewsdeskError
from .fetch import Fetcher, fetch_feed
from .models import Article, FeedReport, FeedSpec, FeedState, ParsedEntry, StoredEntry
from .parse import parse_feed
from .publish.base import PublishReport, get_publisher
from .search import index_is_behind, update_index
from .store import Store
from .store.common import content_hash

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
    indexed: int = 0  # entries the search index took in

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
        entries = _unique(parsed.entries)
        articles, pages = await _prepare_articles(fetcher, store, spec, entries)
        counts = store.save_fetch(
            spec,
            result,
            entries,
            now,
            feed_title=parsed.title,
            warning=parsed.warning,
            articles=articles,
            pages=pages,
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


# Feed text shorter than this (in characters, after cleaning) makes `full_text: auto` fetch the page.
AUTO_FULL_TEXT_CHARS = 200
_TRUNCATED = re.compile(r"(…|\.\.\.|阅读全文|查看全文|点击查看|\[更多\]|未完)\W{0,3}$")


def _clean(html: str, url: str | None, title: str) -> Article | str:
    """The cleaned article, or why cleaning failed (recorded, never raised)."""
    try:
        return clean_article(html, url=url, title=title)
    except CleanError as e:
        return f"clean: {e}"


def clean_entry(entry: ParsedEntry) -> Article | str:
    return _clean(entry.content, entry.link, entry.title)


def reclean_entry(entry: StoredEntry, spec: FeedSpec) -> Article | str | None:
    """Clean a stored entry again from its raw HTML (the fetched page when there is one).

    None when the feed is not cleaned (clean: false)."""
    if not spec.clean:
        return None
    return _clean(entry.page or entry.content, entry.link, entry.title)


def _wants_page(spec: FeedSpec, entry: ParsedEntry, article: Article | str | None) -> bool:
    if not entry.link or spec.full_text is False:
        return False
    if spec.full_text is True:
        return True
    # auto: the feed carries only a summary or a visibly cut article.
    text = article.text if isinstance(article, Article) else entry.content
    return len(text) < AUTO_FULL_TEXT_CHARS or bool(_TRUNCATED.search(text.strip()))


async def _prepare_articles(
    fetcher: Fetcher, store: Store, spec: FeedSpec, entries: Sequence[ParsedEntry]
) -> tuple[dict[str, Article | str], dict[str, str]]:
    """Clean (and for full-text feeds, fetch the page of) only the entries that are new or changed."""
    articles: dict[str, Article | str] = {}
    pages: dict[str, str] = {}
    if not spec.clean:
        return articles, pages
    known = store.known_hashes(spec.key)
    changed = [e for e in entries if known.get(e.id) != content_hash(e)]
    for e in changed:
        articles[e.id] = clean_entry(e)
    todo = [e for e in changed if _wants_page(spec, e, articles[e.id])]

    async def full_text(e: ParsedEntry) -> None:
        assert e.link is not None
        try:
            page = await fetcher.fetch(e.link)
            article = clean_article(page.text or "", url=page.url, title=e.title)
        except NewsdeskError as err:
            # The feed's own content stays; the reason is kept beside it.
            feed_article = articles[e.id]
            if isinstance(feed_article, Article):
                log.info("%s: full text of %s failed: %s", spec.key, e.link, err)
            else:
                articles[e.id] = f"{feed_article}; full text: {err}"
            return
        current = articles[e.id]
        # A page whose extraction found less than the feed carried is not an improvement.
        if article.char_count >= (current.char_count if isinstance(current, Article) else 0):
            articles[e.id] = article
            pages[e.id] = page.text or ""

    await asyncio.gather(*(full_text(e) for e in todo))
    return articles, pages


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
    # Story clusters and the search index catch up from the store's change counter (cheap when
    # nothing changed). The site shows clusters, so it waits for them; Hexo posts do not, so a
    # large catch-up runs in a second process beside them and the two cores both work.
    background = None
    if not config.search_index:
        pass
    elif "site" in publishers or "feeds" in publishers or not index_is_behind(config, store):
        _update_index(config, store, report)
    else:
        background = _start_index_process(config)
    try:
        for name in publishers:
            try:
                report.published.append(get_publisher(name).publish(store, config))
            except NewsdeskError as e:
                report.publish_errors.append(f"publish {name}: {e}")
    finally:
        # Whatever happened to the publishers, the indexing process is waited for, never orphaned.
        if background is not None:
            _finish_index_process(*background, report)
    return report


def _update_index(config: Config, store: Store, report: RunReport) -> None:
    try:
        report.indexed = update_index(config, store)
    except NewsdeskError as e:
        report.publish_errors.append(f"search index: {e}")


def _finish_index_process(process: BaseProcess, results: Queue[int | str], report: RunReport) -> None:
    process.join()
    try:
        outcome: int | str = results.get(timeout=5)
    except queue.Empty:
        outcome = f"indexing process exited with code {process.exitcode}"
    results.close()
    if isinstance(outcome, int):
        report.indexed = outcome
    else:
        report.publish_errors.append(f"search index: {outcome}")


def _index_worker(config: Config, results: Queue[int | str]) -> None:
    from .store import open_store

    try:
        store = open_store(config.database_url)
        try:
            results.put(update_index(config, store))
        finally:
            store.close()
    except NewsdeskError as e:
        results.put(str(e))


def _start_index_process(config: Config) -> tuple[BaseProcess, Queue[int | str]]:
    # spawn, not fork: the parent may run threads (a progress bar) and holds an open SQLite
    # connection, neither of which a forked child may inherit safely. The child opens its own.
    ctx = multiprocessing.get_context("spawn")
    results: Queue[int | str] = ctx.Queue()
    process = ctx.Process(target=_index_worker, args=(config, results), name="newsdesk-index")
    process.start()
    return process, results
