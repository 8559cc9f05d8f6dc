"""`run`: fetch every enabled feed, parse, store, then publish; errors recorded per feed."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import TypeVar

from . import locks, procs
from .clean import clean_article, fallback_article
from .config import Config
from .errors import CleanError, FeedGone, FetchDeferred, NewsdeskError
from .fetch import Fetcher, fetch_feed
from .followers import Follower
from .holds import Hold, feed_hold
from .insights import VERSION as INSIGHTS_VERSION
from .insights_pending import InsightsFollower, compute, entry_insights, insights_process
from .locks import LockBusy
from .media import cache_media
from .models import (
    CatalogueFeed,
    Cleaned,
    FeedReport,
    FeedSpec,
    FeedState,
    InsightsOf,
    ParsedEntry,
    StoredEntry,
    content_hash,
)
from .parse import parse_feed
from .publish.base import Need, Publisher, PublishReport, get_publisher, run_publisher
from .rules import apply_all_rules, skip_entries
from .schedule import Check, Hints, feed_bounds, next_schedule
from .search import changes_behind, update_index
from .store import Store

log = logging.getLogger("newsdesk")

EXIT_OK = 0
EXIT_FATAL = 1  # config, database: nothing ran
EXIT_FEEDS_FAILED = 3  # some feeds failed; the others were fetched, stored and published
EXIT_PUBLISH_FAILED = 4  # fetching went fine but a publisher could not write
EXIT_LOCKED = locks.EXIT_LOCKED  # 5: another process held a lock (fetch, or a publisher's folder)

FeedProgress = Callable[[FeedReport], None]


@dataclass
class RunReport:
    feeds: list[FeedReport] = field(default_factory=list)
    published: list[PublishReport] = field(default_factory=list)
    publish_errors: list[str] = field(default_factory=list)
    indexed: int = 0  # entries the search index took in
    insights: int = 0  # entries whose pending insights were computed (newsdesk.insights_pending)
    busy: bool = False  # a publisher's folder was locked by another process past the wait

    @property
    def failed(self) -> list[FeedReport]:
        return [f for f in self.feeds if f.outcome == "failed"]

    @property
    def deferred(self) -> list[FeedReport]:
        """Feeds not requested because their host asked to wait: not failures (the feed that
        got the 429 or 503 is the failed one)."""
        return [f for f in self.feeds if f.outcome == "deferred"]

    @property
    def exit_code(self) -> int:
        if self.failed:
            return EXIT_FEEDS_FAILED
        if self.busy:
            return EXIT_LOCKED
        if self.publish_errors:
            return EXIT_PUBLISH_FAILED
        return EXIT_OK

    def totals(self) -> dict[str, int]:
        return {
            "feeds": len(self.feeds),
            "failed": len(self.failed),
            "deferred": len(self.deferred),
            "new": sum(f.new for f in self.feeds),
            "updated": sum(f.updated for f in self.feeds),
            "unchanged": sum(f.unchanged for f in self.feeds),
            "skipped": sum(f.skipped for f in self.feeds),
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
    fetcher: Fetcher,
    store: Store,
    config: Config,
    spec: FeedSpec,
    state: FeedState | None,
    clock: Callable[[], datetime],
) -> tuple[FeedReport, Check]:
    """Fetch, parse, clean and store one feed: what happened, and what the check found for
    its schedule (`newsdesk.schedule`)."""
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
        now = clock()
        cache = Hints(max_age=result.max_age, expires=result.expires)
        if result.not_modified:
            store.save_fetch(spec, result, (), now)
            return FeedReport(spec.key, "not_modified"), Check("not_modified", hints=cache)
        parsed = parse_feed(result.text or "", base_url=result.url)
        entries, skipped = skip_entries(store, spec.key, _unique(parsed.entries))
        articles, pages = await _prepare_articles(fetcher, store, spec, entries)
        # The insights stage is not run here: its records are caught up off the ingest path
        # (newsdesk.insights_pending), from the entries this leaves pending.
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
        report = FeedReport(
            spec.key,
            "ok",
            counts.new,
            counts.updated,
            counts.unchanged,
            warning=parsed.warning,
            skipped=skipped,
        )
        return report, Check("ok", hints=replace(cache, ttl=parsed.ttl, update_period=parsed.update_period))
    except FetchDeferred as e:
        # Not tried, so not a failure of the feed: its fetch state stays as it was.
        return FeedReport(spec.key, "deferred", error=str(e)), Check("deferred", until=e.until)
    except NewsdeskError as e:
        message = str(e)
        try:
            store.record_failure(spec.key, message, clock())
        except NewsdeskError as e2:
            message += f" (and recording the failure failed: {e2})"
        # A host that asked to wait (this feed's answer, or every RSSHub instance's) is not
        # checked before then.
        hold = feed_hold(spec.url, spec.route, config.rsshub, fetcher.holds())
        check = Check("gone" if isinstance(e, FeedGone) else "failed", until=hold.until if hold else None)
        return FeedReport(spec.key, "failed", error=message), check


# Feed text shorter than this (in characters, after cleaning) makes `full_text: auto` fetch the page.
AUTO_FULL_TEXT_CHARS = 200
_TRUNCATED = re.compile(r"(…|\.\.\.|阅读全文|查看全文|点击查看|\[更多\]|未完)\W{0,3}$")


def _clean(html: str, url: str | None, title: str) -> Cleaned:
    """The cleaned article; when cleaning fails, the sanitised fallback and why (recorded,
    never raised): a failed clean must never leave the raw HTML to be published."""
    try:
        return Cleaned(clean_article(html, url=url, title=title))
    except CleanError as e:
        return Cleaned(fallback_article(html, url=url), f"clean: {e}")


def clean_entry(entry: ParsedEntry) -> Cleaned:
    return _clean(entry.content, entry.link, entry.title)


def reclean_entry(entry: StoredEntry, spec: FeedSpec) -> Cleaned | None:
    """Clean a stored entry again from its raw HTML (the fetched page when there is one).

    None when the feed is not cleaned (clean: false)."""
    if not spec.clean:
        return None
    return _clean(entry.page or entry.content, entry.link, entry.title)


@dataclass
class RecleanCounts:
    cleaned: int = 0
    failed: int = 0  # cleaning failed: the sanitised fallback was stored, and why
    skipped: int = 0  # feeds with clean: false


RECLEAN_BATCH = 200  # entries read from the store at a time


def reclean(
    config: Config,
    store: Store,
    feeds: Sequence[FeedSpec],
    progress: Callable[[int, int], None] | None = None,
) -> RecleanCounts:
    """Clean the stored entries of `feeds` again and store the new articles; `progress` is
    called with (done, total). Holds the archive's fetch lock: a run storing the same entries
    meanwhile would race it. Stopped by a signal, the counts so far are a note on `Stopped`."""
    specs = {f.key: f for f in feeds}
    counts = RecleanCounts()
    with locks.hold(locks.fetch_lock_path(config.database_url), "recleaning"):
        uids = [u for key in specs for u in store.iter_uids(feed_key=key)]
        done = 0
        try:
            for start in range(0, len(uids), RECLEAN_BATCH):
                for entry in store.get_entries(uids[start : start + RECLEAN_BATCH]):
                    outcome = reclean_entry(entry, specs[entry.feed_key])
                    if outcome is None:
                        counts.skipped += 1
                        continue
                    if config.insights:  # before the article: its rev bump covers both
                        store.save_insights([entry_insights(entry, outcome.article)])
                    store.set_article(entry.uid, outcome)
                    if outcome.error is None:
                        counts.cleaned += 1
                    else:
                        counts.failed += 1
                    done += 1
                    if progress:
                        progress(done, len(uids))
        except procs.Stopped as e:
            e.add_note(f"reclean: {counts.cleaned} cleaned, {counts.failed} failed, then stopped")
            raise
    return counts


@dataclass
class ReinsightCounts:
    done: int = 0  # entries whose insights were computed and stored
    noted: int = 0  # ... of which the stage left a note (something not extracted, or a failure)
    pruned: int = 0  # insights of entries no longer in the archive, removed


def reinsight(
    config: Config,
    store: Store,
    *,
    everything: bool = False,
    version: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> ReinsightCounts:
    """Run the insights stage again over stored articles: those whose insights are missing,
    older than `version` (the stage's current one by default) or read from an older content of
    the entry, or all of them (`everything`); each batch one transaction that moves the
    entries' rev on, so pages showing insights follow. Holds the archive's fetch lock."""
    current = version if version is not None else insights_version()
    counts = ReinsightCounts()
    with locks.hold(locks.fetch_lock_path(config.database_url), "reinsighting"):
        counts.pruned = store.prune_insights()
        uids = store.stale_insights(current, everything=everything)

        def stored(batch: list[InsightsOf], position: int) -> None:
            counts.done += len(batch)
            counts.noted += sum(1 for b in batch if b.insights.notes)
            if progress:
                progress(position, len(uids))

        try:
            compute(store, uids, bump=True, batch=RECLEAN_BATCH, stored=stored)
        except procs.Stopped as e:
            e.add_note(f"reinsight: {counts.done} entries done, then stopped")
            raise
    return counts


def insights_version() -> int:
    """The version of the insights stage's records: stored rows below it are stale."""
    return INSIGHTS_VERSION


def _wants_page(spec: FeedSpec, entry: ParsedEntry, cleaned: Cleaned) -> bool:
    if not entry.link or spec.full_text is False:
        return False
    if spec.full_text is True:
        return True
    # auto: the feed carries only a summary or a visibly cut article.
    text = cleaned.article.text if cleaned.error is None else entry.content
    return len(text) < AUTO_FULL_TEXT_CHARS or bool(_TRUNCATED.search(text.strip()))


async def _prepare_articles(
    fetcher: Fetcher, store: Store, spec: FeedSpec, entries: Sequence[ParsedEntry]
) -> tuple[dict[str, Cleaned], dict[str, str]]:
    """Clean (and for full-text feeds, fetch the page of) only the entries that are new or changed."""
    articles: dict[str, Cleaned] = {}
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
            if feed_article.error is None:
                log.info("%s: full text of %s failed: %s", spec.key, e.link, err)
            else:
                articles[e.id] = replace(feed_article, error=f"{feed_article.error}; full text: {err}")
            return
        current = articles[e.id]
        # A page whose extraction found less than the feed carried is not an improvement.
        if article.char_count >= (current.article.char_count if current.error is None else 0):
            articles[e.id] = Cleaned(article)
            pages[e.id] = page.text or ""

    await asyncio.gather(*(full_text(e) for e in todo))
    return articles, pages


def _utcnow() -> datetime:
    return datetime.now(UTC)


async def fetch_feeds(
    config: Config,
    store: Store,
    specs: Sequence[FeedSpec],
    progress: FeedProgress | None = None,
    *,
    clock: Callable[[], datetime] = _utcnow,
    rng: random.Random | None = None,
    fetcher: Fetcher | None = None,
    register: bool = True,
    catalogue: Mapping[str, CatalogueFeed | None] | None = None,
) -> list[FeedReport]:
    """Fetch, parse and store these feeds concurrently, and after each its next check
    (`newsdesk.schedule`, spread by `rng`). Hosts on hold (newsdesk.holds) are not requested;
    holds that servers ask for are kept in the archive as they come. `fetcher`: an open one to
    share (the scheduler keeps one for its life, so its per-host limits hold across batches);
    by default one for this call.

    `register`: the specs are the config's, to be (re)registered in the catalogue, a feed
    removed earlier included. Specs read from the catalogue (the scheduler, workers) are not:
    a feed removed while its batch was on the way must stay removed, not come back with it.

    `catalogue`: the specs' catalogue rows, when the caller has just read them (a worker's
    claim returns them), instead of a read of each here."""
    if register:
        store.sync_feeds(specs)
    if catalogue is None:
        catalogue = {s.key: store.catalogue_feed(s.key) for s in specs}
    rng = rng if rng is not None else random.Random()
    reports: dict[str, FeedReport] = {}

    async def one(spec: FeedSpec, fetcher: Fetcher) -> None:
        known = catalogue.get(spec.key)
        report, check = await _update_feed(
            fetcher, store, config, spec, known.state if known else None, clock
        )
        reports[spec.key] = report
        try:
            times = store.entry_times(spec.key)
            now = clock()
            previous = known.schedule if known else None
            store.save_schedule(
                next_schedule(
                    spec.key,
                    previous,
                    replace(check, times=times),
                    feed_bounds(config.schedule, known),
                    now,
                    rng,
                )
            )
        except NewsdeskError as e:
            # The feed is stored; it is only checked again sooner or later than it might be.
            log.warning("%s: cannot record its next check: %s", spec.key, e)
        if progress:
            progress(report)

    if fetcher is not None:
        await asyncio.gather(*(one(s, fetcher) for s in specs))
    else:
        async with open_fetcher(config, store, clock) as own:
            await asyncio.gather(*(one(s, own) for s in specs))
    return [reports[s.key] for s in specs]


def open_fetcher(config: Config, store: Store, clock: Callable[[], datetime] = _utcnow) -> Fetcher:
    """A Fetcher (use as `async with`) that starts from the holds the archive keeps and keeps
    the ones servers ask for there."""

    def keep(hold: Hold) -> None:
        try:
            store.hold_host(hold.host, hold.until, hold.reason)
        except NewsdeskError as e:
            # Not worth failing the run for: the hold still applies for the rest of this one.
            log.warning("cannot record that %s: %s", hold, e)

    return Fetcher(config.fetch, holds=store.host_holds(clock()), on_hold=keep, clock=clock)


def select_feeds(
    config: Config,
    names: Sequence[str] = (),
    *,
    store: Store | None = None,
    due: datetime | None = None,
) -> list[FeedSpec]:
    """Enabled feeds, or only those whose name, site, group or key is given. With `store`,
    from the archive's catalogue: the config applied to it first, paused feeds left out, and
    with `due` only those whose next check is at or before that time."""
    if store is None:
        feeds = [f for f in config.feeds() if f.enabled]
    else:
        now = due or _utcnow()
        store.apply_config(config.feeds(), now)
        listed = store.due_feeds(due) if due is not None else store.catalogue()
        feeds = [f.spec for f in listed if f.spec.enabled and f.paused is None]
    if names:
        wanted = set(names)
        feeds = [f for f in feeds if wanted & {f.name, f.site, f.group, f.key}]
    return feeds


# Changes (stored but not yet indexed) from which indexing gets its own process during the
# run; fewer are indexed in this process after fetching, cheaper than starting Python again.
FOLLOW_FROM = 1000
# Stored changes from which the fork server is started, without waiting for it: its preload
# (most of a second) then runs on the idle core while the run stores up to FOLLOW_FROM, and the
# following processes start at once with their modules loaded instead of after it.
WARM_FROM = FOLLOW_FROM // 4


def run(
    config: Config,
    store: Store,
    *,
    feeds: Sequence[FeedSpec] | None = None,
    publishers: Sequence[str] = ("hexo",),
    progress: FeedProgress | None = None,
    report: RunReport | None = None,
    settings: Callable[[str], contextlib.AbstractContextManager[object]] | None = None,
) -> RunReport:
    """Fetch, store, index, publish. Holds the archive's fetch lock while it fetches and
    indexes (`locks`; `LockBusy` when another process holds it past the wait), and each
    publisher its output folder's lock. `report` (returned) is filled in as feeds finish, so
    a caller stopped by a signal (`procs.Stopped`) can say what was done. `settings(name)`:
    the process-wide settings the caller's process holds while publisher `name` runs (set
    by the process's entry, which owns them, e.g. `cli.publish.publisher_settings`)."""
    report = report if report is not None else RunReport()
    specs = list(feeds) if feeds is not None else select_feeds(config, store=store)
    # Story clusters and the search index catch up from the store's change counter. When there
    # is much to do, a second process follows the store while feeds are fetched and stored
    # (the two cores both work); it finishes once fetching has ended and it has caught up.
    # Publishers that need clusters (`Publisher.needs`) wait for it; the others run beside it.
    # The insights stage's records are caught up the same way, by a process of their own
    # (newsdesk.insights_pending): publishers that show them wait for it.
    follower: Follower | None = None
    insighter: InsightsFollower | None = None
    stored = 0

    def on_feed(feed: FeedReport) -> None:
        nonlocal follower, insighter, stored
        report.feeds.append(feed)
        stored += feed.new + feed.updated
        warm = follower is None and insighter is None and (config.search_index or config.insights)
        if warm and stored >= WARM_FROM:
            procs.start_server()  # a no-op once it runs
        if follower is None and config.search_index and stored >= FOLLOW_FROM:
            follower = _index_process(config)
        if insighter is None and config.insights and stored >= FOLLOW_FROM:
            insighter = insights_process(config)
        if progress:
            progress(feed)

    with contextlib.ExitStack() as fetching:
        fetching.enter_context(locks.hold(locks.fetch_lock_path(config.database_url), "fetching"))
        try:
            if config.search_index and changes_behind(config, store) >= FOLLOW_FROM:
                follower = _index_process(config)
            # One look at every entry per run (what an earlier process left pending); after
            # fetching, only the entries changed since are looked at.
            head, pending = 0, []
            if config.insights:
                try:
                    head, pending = store.max_rev(), store.pending_insights()
                except NewsdeskError as e:  # a damaged archive: the feeds still say what they can
                    report.publish_errors.append(f"insights: {e}")
            if len(pending) >= FOLLOW_FROM:
                insighter = insights_process(config)
            report.feeds = asyncio.run(fetch_feeds(config, store, specs, on_feed))
            after_ingest(config, store)
            chosen = _publishers(publishers, report)
            for following in (follower, insighter):
                if following is not None:
                    following.fetching_done()  # each catches up and ends, whatever this does next
            if insighter is not None:
                if any("insights" in publisher.needs for _, publisher in chosen):
                    _share_insights(insighter, store, report)  # rather than wait for them
                insighter = _fetching_done(insighter, "insights", chosen, lambda r: _insights_done(r, report))
            elif config.insights:
                _catch_up_insights(store, report, pending, head)  # little to do: here, no second process
            if follower is not None:
                follower = _fetching_done(follower, "clusters", chosen, lambda r: _index_done(r, report))
            elif config.search_index:
                _update_index(config, store, report)  # little to do: here, no second process
            if follower is None and insighter is None:
                fetching.close()  # the next fetch may start while this run publishes
            for name, publisher in chosen:
                try:
                    with settings(name) if settings is not None else contextlib.nullcontext():
                        report.published.append(run_publisher(publisher, store, config))
                except LockBusy as e:
                    report.publish_errors.append(f"publish {name}: {e}")
                    report.busy = True
                except NewsdeskError as e:
                    report.publish_errors.append(f"publish {name}: {e}")
            if insighter is not None:
                _share_insights(insighter, store, report)  # its part, rather than wait for the process
        except BaseException:
            # Stopped (a signal) or a bug: the indexing process is stopped, not waited for
            # (it would catch up first); what it committed stays, the next run does the rest.
            if follower is not None:
                follower.stop()
                follower = None
            if insighter is not None:
                insighter.stop()  # what it did not store stays pending for the next catch-up
                insighter = None
            raise
        finally:
            # Hexo posts were written beside the following processes: they are told that
            # fetching is over and waited for (the fetch lock is held until they end).
            if follower is not None:
                _index_done(follower.finish(), report)
            if insighter is not None:
                _insights_done(insighter.finish(), report)
    return report


def _catch_up_insights(store: Store, report: RunReport, pending: list[str], head: int) -> None:
    """Pending insights: `pending` (found at the run's start, at rev `head`) and what was
    stored since."""
    try:
        fresh = store.pending_insights(head)
        report.insights += compute(store, list(dict.fromkeys([*pending, *fresh])), bump=False)
    except NewsdeskError as e:  # the entries stay pending: the next catch-up does them
        report.publish_errors.append(f"insights: {e}")


def _share_insights(insighter: InsightsFollower, store: Store, report: RunReport) -> None:
    try:
        report.insights += insighter.share(store)
    except NewsdeskError as e:  # what this process left stays pending: the next catch-up does it
        report.publish_errors.append(f"insights: {e}")


def _insights_done(outcome: int | str, report: RunReport) -> None:
    if isinstance(outcome, int):
        report.insights += outcome
    else:
        report.publish_errors.append(f"insights: {outcome}")


def after_ingest(config: Config, store: Store) -> None:
    """What follows each ingest batch of `run` (the scheduler does the same): every reader's
    keyword rules over what arrived; with `images: cache`, the new articles' images fetched once
    (newsdesk.media; the sites' icons are the reader web app's: `serve` fetches them)."""
    try:
        apply_all_rules(store, _utcnow())
    except NewsdeskError as e:  # the run's entries are stored; a list catches the rules up later
        log.warning("keyword rules: %s", e)
    if config.images != "cache":
        return

    async def media() -> None:
        async with open_fetcher(config, store) as fetcher:
            await cache_media(config, store, fetcher, _utcnow(), icons=False)

    asyncio.run(media())


def _publishers(names: Sequence[str], report: RunReport) -> list[tuple[str, Publisher]]:
    """The publishers named, from the registry; one that cannot be had is a publish error."""
    chosen = []
    for name in names:
        try:
            chosen.append((name, get_publisher(name)))
        except NewsdeskError as e:
            report.publish_errors.append(f"publish {name}: {e}")
    return chosen


def _update_index(config: Config, store: Store, report: RunReport) -> None:
    try:
        report.indexed = update_index(config, store)
    except NewsdeskError as e:
        report.publish_errors.append(f"search index: {e}")


_F = TypeVar("_F", bound=Follower)


def _fetching_done(
    follower: _F, need: Need, chosen: list[tuple[str, Publisher]], done: Callable[[int | str], None]
) -> _F | None:
    """Tell `follower` that fetching is over; when a chosen publisher needs what it catches up,
    wait for it (`done` gets its outcome) and return None, else return it to wait for later."""
    follower.fetching_done()
    if any(need in publisher.needs for _, publisher in chosen):
        done(follower.finish())
        return None
    return follower


def _index_done(outcome: int | str, report: RunReport) -> None:
    if isinstance(outcome, int):
        report.indexed = outcome
    else:
        report.publish_errors.append(f"search index: {outcome}")


def _index_process(config: Config) -> Follower:
    """`update_index` following the store in a second process while this one fetches."""
    return Follower(_index_work, config, name="newsdesk-index", what="indexing")


def _index_work(config: Config, store: Store, follow: Callable[[float], bool]) -> int:
    return update_index(config, store, follow=follow)
