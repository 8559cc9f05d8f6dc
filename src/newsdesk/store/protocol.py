"""The storage interface, split by role as each caller needs it (SQLite now, PostgreSQL later).

Small Protocols, one per domain: the archive (feeds, entries, articles), the change feed
(`rev`), publishers' marks, story clusters, host holds and integrity checks; `Store` is all of
them, for code that needs the whole archive. All SQL lives in the backends; the rest of
newsdesk sees these Protocols and the records in `newsdesk.models`.
The reader-facing roles (users, reading state, app passwords, pages, rules, Fever, media) are
in `reader_protocol` and re-exported here.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Literal, Protocol

from ..errors import StoreError
from ..models import (
    Article,
    CatalogueChanges,
    CatalogueFeed,
    Cleaned,
    ClusterLookup,
    ClusterMember,
    ClusterRef,
    ClusterSummary,
    DocQuery,
    EntryHead,
    EntryText,
    FeedSchedule,
    FeedSpec,
    FeedState,
    FetchResult,
    FullText,
    Insights,
    InsightsOf,
    ParsedEntry,
    ReportedFigure,
    SearchDoc,
    SkipRule,
    StoredEntry,
    TermRise,
    TermWeek,
    TrackedTarget,
    UpsertCounts,
)
from .reader_protocol import (
    AppPasswordStore,
    FeverStore,
    MediaStore,
    ReaderPagesStore,
    ReadingStore,
    RoleStore,
    RuleStore,
    UserStore,
)

__all__ = [
    "AppPasswordStore",
    "ArchiveStore",
    "BackgroundCheck",
    "BackupStore",
    "CatalogueStore",
    "ChangeFeed",
    "ClusterStore",
    "HostHoldStore",
    "InsightStore",
    "IntegrityChecks",
    "PublishMarkStore",
    "ReaderPagesStore",
    "ReadingStore",
    "RoleStore",
    "RuleStore",
    "ScheduleStore",
    "SearchDocStore",
    "StatsStore",
    "Store",
    "UserStore",
]


class BackgroundCheck(Protocol):
    def problems(self) -> list[str]:
        """Wait for the check: what it found wrong, [] when all holds."""

    def damage(self) -> StoreError | None:
        """Wait for the check: the error that says what it found wrong, None when all holds."""

    def cancel(self) -> None: ...


class ArchiveStore(Protocol):
    """Feeds, their entries and the entries' cleaned articles."""

    def sync_feeds(self, specs: Sequence[FeedSpec]) -> None:
        """Register configured feeds; a feed whose source changed starts a fresh fetch state."""

    def feed_states(self) -> dict[str, FeedState]: ...

    def save_fetch(
        self,
        spec: FeedSpec,
        result: FetchResult,
        entries: Sequence[ParsedEntry],
        now: datetime,
        *,
        feed_title: str | None = None,
        warning: str | None = None,
        articles: Mapping[str, Article | Cleaned] | None = None,
        pages: Mapping[str, str] | None = None,
    ) -> UpsertCounts:
        """Store a successful fetch: entries, their cleaned articles keyed by entry id (an
        Article, or a Cleaned that also says why cleaning failed: both are kept) and the feed's
        fetch state, in one transaction. An entry without one (clean: false) has no article."""

    def known_hashes(self, feed_key: str) -> dict[str, str]:
        """entry id → content hash of a feed's stored entries (to clean only what changed)."""

    def set_article(self, uid: str, article: Article | Cleaned, *, page: str | None = None) -> None:
        """Replace an entry's cleaned article (and its clean error: a Cleaned's, else none)."""

    def iter_uids(self, *, feed_key: str | None = None) -> Iterator[str]: ...

    def record_failure(self, key: str, error: str, now: datetime) -> None: ...

    def get_entry(self, uid: str) -> StoredEntry | None: ...

    def get_entries(self, uids: Iterable[str]) -> list[StoredEntry]: ...

    def get_entry_heads(self, uids: Iterable[str]) -> list[EntryHead]:
        """These entries (those that exist) without their bodies, cheaply."""

    def list_entries(
        self, *, feed_key: str | None = None, limit: int | None = None, offset: int = 0
    ) -> list[StoredEntry]:
        """Newest first (published, else first seen)."""

    def entry_hashes(self) -> Iterator[tuple[str, str]]:
        """(uid, content_hash) of every entry: cheap change detection for publishers."""

    def count_entries(self) -> int: ...

    def entry_texts(self, uids: Iterable[str]) -> list[EntryText]:
        """What search and clustering read of these entries (those that exist), cheaply."""


class ChangeFeed(Protocol):
    """Every write bumps the entry's `rev`, a store-wide counter; derived data (the search
    index, clusters, publishers) catches up from it."""

    def max_rev(self) -> int: ...

    def changes_since(self, rev: int, limit: int = 1000) -> list[tuple[int, str, bool]]:
        """(rev, uid, removed) of every change after `rev`, oldest first."""

    def entry_revs(self) -> Iterator[tuple[str, int]]:
        """(uid, rev) of every entry: rev changes with the entry or its cleaned article."""


class PublishMarkStore(Protocol):
    """Per-entry marks each publisher keeps of what it last wrote."""

    def publish_marks(self, publisher: str) -> dict[str, str]: ...

    def set_publish_marks(
        self, publisher: str, marks: Mapping[str, str], removed: Iterable[str] = ()
    ) -> None: ...

    def mark_summary(self) -> dict[str, tuple[int, int]]:
        """publisher → (its marks, those of entries no longer in the archive)."""


class ClusterStore(Protocol):
    """Story clusters (`newsdesk.search.cluster`): members, their LSH bands, the clusters of two
    or more entries and the rev up to which they are current."""

    def cluster_mark(self) -> int:
        """The store rev up to which clusters are current."""

    def cluster_lookup(
        self,
        *,
        links: Sequence[str],
        texts: Sequence[str],
        bands: Sequence[int],
        exclude: Sequence[str] = (),
    ) -> ClusterLookup:
        """Stored members matching any of these keys, except the uids in `exclude`:
        link key → (cluster id, uid), text key → (cluster id, uid), band → [(cluster id, uid)],
        and the MinHash signature of every member found by band."""

    def save_clusters(
        self,
        members: Sequence[ClusterMember],
        bands: Sequence[tuple[int, str]],
        *,
        detached: Sequence[str],
        mark: int,
        expect: int | None = None,
    ) -> bool:
        """In one transaction: drop the `detached` uids from their clusters, add `members` and
        their (band, uid) rows, refresh the affected clusters and set the mark to `mark`.
        With `expect`, only if the mark is still `expect` (else False, nothing written: another
        process clustered meanwhile), checked under the mark's row lock before anything else."""

    def reset_clusters(self) -> None:
        """Forget every cluster (the next update re-clusters the whole archive)."""

    def cluster_refs(self, uids: Iterable[str]) -> dict[str, ClusterRef]:
        """uid → its cluster, for the uids that are in a cluster of two or more."""

    def story_keys(self, uids: Iterable[str]) -> dict[str, str]:
        """uid → the id of the story cluster it is in, for the uids clustered so far (an entry
        alone in its story has a cluster id of its own): two uids with the same id are copies
        of one story. Cheaper than `cluster_refs` per uid, for deciding which of many ranked
        hits are copies of one story."""

    def list_clusters(self, *, limit: int = 20, offset: int = 0) -> list[ClusterSummary]:
        """Clusters of two or more entries, most recently grown first."""

    def get_cluster(self, cluster_id: str) -> tuple[ClusterSummary, list[ClusterMember]] | None:
        """A cluster (by its id or a member's uid) with its members, earliest first."""

    def cluster_member_uids(self) -> Iterator[tuple[str, str]]:
        """(cluster id, uid) of every member of a cluster of two or more, a cluster's rows
        together, earliest member first (the static site's "also reported by" lists)."""


class HostHoldStore(Protocol):
    """Hosts that asked not to be requested before a time (`Retry-After`)."""

    def host_holds(self, now: datetime) -> dict[str, tuple[datetime, str]]:
        """host → (not before, reason) of every host that asked not to be requested before a
        time still after `now`."""

    def hold_host(self, host: str, until: datetime, reason: str) -> None:
        """Record that `host` is not to be requested before `until` (replaces its earlier hold:
        the server's latest answer counts)."""


class IntegrityChecks(Protocol):
    """What `newsdesk check` and the build's background check ask of the backend."""

    def integrity_problems(self, limit: int = 20) -> list[str]:
        """What the backend's full consistency check finds wrong (at most `limit`); [] when all holds."""

    def foreign_key_problems(self, limit: int = 20) -> list[str]:
        """Rows that refer to rows that do not exist (at most `limit`)."""

    def start_quick_check(self) -> BackgroundCheck:
        """Start a quick structural check of the archive beside the caller's work."""


class CatalogueStore(Protocol):
    """The feed catalogue: every feed's definition (url or route, clean, full_text, enabled),
    where it came from (the config's `groups:`, applied at each start, or the API), its fetch
    state and schedule, and why it is paused. Keys are group/site/name."""

    def catalogue(self) -> list[CatalogueFeed]:
        """Every feed, paused and disabled ones included, in catalogue order (the config's
        order, then feeds added through the API)."""

    def catalogue_feed(self, key: str) -> CatalogueFeed | None: ...

    def apply_config(self, specs: Sequence[FeedSpec], now: datetime) -> CatalogueChanges:
        """Make the catalogue hold the config's feeds, in one transaction: new ones added (due
        `now`), changed ones updated (a new source drops the old validators and is due `now`),
        config feeds gone from `specs` paused (`REMOVED_FROM_CONFIG`; their entries stay) and
        resumed when they come back. Feeds added through the API are left alone, unless the
        config names the same key: then the config's definition wins."""

    def add_feed(self, spec: FeedSpec, now: datetime) -> CatalogueFeed:
        """Add a feed (origin "api"), due `now`; `FeedExistsError` when the key is taken."""

    def update_feed(
        self,
        key: str,
        *,
        now: datetime,
        group: str | None = None,
        site: str | None = None,
        name: str | None = None,
        url: str | None = None,
        route: str | None = None,
        clean: bool | None = None,
        full_text: FullText | None = None,
        enabled: bool | None = None,
    ) -> CatalogueFeed | None:
        """Change what is given (None leaves it; a url or route replaces the other); None when
        there is no such feed. A new source is due `now`. A new group, site or name is a new
        key: the entries move with it under new ids (the old ones recorded as removed, and each
        reader's state of them dropped); `FeedExistsError` when the new key is taken."""

    def delete_feed(self, key: str) -> int | None:
        """Remove a feed with its entries and their articles, recording the entries as removed
        (`changes_since`) so derived data drops them; how many entries went, None when there
        is no such feed."""

    def pause_feed(self, key: str, reason: str) -> bool:
        """Stop checking a feed, saying why; False when there is no such feed."""

    def resume_feed(self, key: str, now: datetime) -> bool:
        """Check a paused feed again, from `now`; False when there is no such feed."""

    def refresh_feed(self, key: str, now: datetime) -> bool:
        """Make a feed due `now`; False when there is no such feed."""


class ScheduleStore(Protocol):
    """When each feed is checked next (`newsdesk.schedule` decides; `newsdesk.scheduler` asks)."""

    def due_feeds(self, now: datetime, limit: int | None = None) -> list[CatalogueFeed]:
        """Enabled, unpaused feeds whose next check is at or before `now`, most overdue first."""

    def next_check_time(self) -> datetime | None:
        """The earliest next check of an enabled, unpaused feed; None when there is none."""

    def save_schedule(self, schedule: FeedSchedule) -> None:
        """Store a feed's next check, interval, reason, error count and pause (a schedule
        without one leaves a pause as it is: only `resume_feed` ends it)."""

    def entry_times(self, feed_key: str, limit: int = 20) -> list[datetime]:
        """Sort times (published, else first seen) of a feed's newest entries, newest first:
        what its publishing rate is estimated from."""


class BackupStore(Protocol):
    """Copies of the archive taken while other processes write to it (`newsdesk backup`)."""

    def backup_to(self, path: Path) -> dict[str, int]:
        """Write a consistent copy of the whole archive, as of one commit, to the new file
        `path` (complete or absent, never half-written), while writers carry on; what the copy
        holds: the counts of `StatsStore.archive_counts`."""


class StatsStore(Protocol):
    """What the archive holds in numbers (`newsdesk stats`)."""

    def archive_counts(self) -> dict[str, int]:
        """Rows per kind: feeds, entries, articles, clean_errors, clusters, users (when the
        archive has users), plus `rev` (the change counter) and `schema` (its version)."""

    def newest_entry_time(self) -> datetime | None:
        """When the newest entry was first seen; None in an empty archive."""


class InsightStore(Protocol):
    """What the insights stage read out of each entry (issue 18), kept with it, and the queries
    of the tracker, figures and trends over the whole archive."""

    def save_insights(self, items: Sequence[InsightsOf], *, bump: bool = False) -> None:
        """Store (replace) each entry's insights, in one transaction; the entry need not be
        stored yet (a fetch stores them just before its entries). `bump`: move the entries'
        `rev` on, so pages showing them follow (`reinsight`)."""

    def get_insights(self, uids: Iterable[str]) -> dict[str, Insights]:
        """uid → its stored insights (entries without any are left out)."""

    def insight_doc_freqs(self, terms: Iterable[str]) -> tuple[int, dict[str, int]]:
        """The number of entries with insights, and of those, per term, how many have it among
        their top terms (terms in none are left out): what keywords are ranked against."""

    def stale_insights(self, version: int, *, everything: bool = False) -> list[str]:
        """Uids (newest first) of entries with an article whose insights are missing, of an
        extractor older than `version`, or read from another content of the entry; with
        `everything`, of every entry with an article."""

    def pending_insights(self, since: int = 0) -> list[str]:
        """Uids, in rev order, of entries changed after rev `since` (0: every entry) with an
        article whose insights are missing or were read from another content of the entry:
        what ingest left for the insights catch-up (`newsdesk.insights_pending`). A failed
        extraction (version 0) is not pending: `reinsight` tries it again."""

    def prune_insights(self) -> int:
        """Remove insights of uids the archive has no entry for; how many."""

    def list_targets(
        self,
        *,
        body: str | None = None,
        due_before: str | None = None,
        since: datetime | None = None,
        limit: int | None = None,
    ) -> list[TrackedTarget]:
        """Targets by deadline (those without one last), then entry time; `body`: issued by
        that canonical body; `due_before`: deadline before YYYY-MM-DD; `since`: of entries at
        or after that sort time."""

    def list_figures(
        self, *, metric: str | None = None, since: datetime | None = None, limit: int | None = None
    ) -> list[ReportedFigure]:
        """Figures by metric, then period (none last), then entry time."""

    def figure_metrics(self, *, min_entries: int = 2) -> list[tuple[str, int]]:
        """(metric, entries reporting it) of metrics reported by at least `min_entries`
        entries, most reported first: the recurring ones."""

    def term_weeks(self, terms: Sequence[str], *, since_week: str | None = None) -> list[TermWeek]:
        """Per term and week (from `since_week`, a Monday), its articles and mentions; by
        term, then week."""

    def top_terms(self, weeks: Sequence[str], *, limit: int = 20) -> list[tuple[str, int]]:
        """(term, articles) most often among articles' top terms over `weeks` (Mondays)."""

    def rising_terms(
        self, week: str, previous: Sequence[str], *, min_docs: int = 2, limit: int = 20
    ) -> list[TermRise]:
        """Terms of `week` in at least `min_docs` articles and in more than their mean per
        week over `previous` weeks, steepest rise first."""

    def latest_insight_week(self) -> str | None:
        """The newest week (its Monday) any stored term counts belong to."""


class SkipRuleStore(Protocol):
    """Admins' skip rules (entries kept out of the archive for everyone), and the readers whose
    keyword rules are applied after each ingest batch (newsdesk.rules)."""

    def rule_readers(self) -> list[int]:
        """The ids of readers who ever made a keyword rule (those with a rules mark)."""

    def add_skip_rule(
        self, pattern: str, *, is_regex: bool, matching: bool, feed_key: str | None, by: str, now: datetime
    ) -> SkipRule: ...

    def skip_rules(self) -> list[SkipRule]:
        """Every skip rule, oldest first."""

    def remove_skip_rule(self, rule_id: int) -> bool:
        """False when there is no such rule."""


class FeedBoundsStore(Protocol):
    """An admin's per-feed bounds on its check interval (newsdesk.schedule.feed_bounds)."""

    def set_feed_bounds(
        self, key: str, min_interval: float | None, max_interval: float | None, now: datetime
    ) -> bool:
        """Keep the bounds (seconds; None: the config's); a next check later than `now` +
        `max_interval` comes at that time instead. False when there is no such feed."""


class Store(
    ArchiveStore,
    ChangeFeed,
    PublishMarkStore,
    ClusterStore,
    HostHoldStore,
    IntegrityChecks,
    CatalogueStore,
    ScheduleStore,
    BackupStore,
    StatsStore,
    UserStore,
    ReadingStore,
    AppPasswordStore,
    ReaderPagesStore,
    RuleStore,
    RoleStore,
    FeverStore,
    InsightStore,
    SkipRuleStore,
    FeedBoundsStore,
    MediaStore,
    Protocol,
):
    """The whole archive, for code that needs all of it (the pipeline, the CLI)."""

    def close(self) -> None: ...

    def reopen(self) -> Store:
        """A new connection to the same archive, e.g. for a forked worker process (a
        connection must not be shared across processes)."""


class SearchDocStore(Protocol):
    """The search index kept in the database itself (`search_backend: postgres`): documents of
    pre-cut tokens, the rev they are current to, and queries over them (PostgreSQL only)."""

    def search_mark(self) -> int: ...

    def search_count(self) -> int: ...

    def save_search_docs(
        self, docs: Sequence[SearchDoc], removed: Sequence[str], *, mark: int, expect: int
    ) -> bool:
        """Replace these documents and set the mark, if the mark is still `expect` (else False
        and nothing written: another process caught up meanwhile)."""

    def reset_search(self) -> None: ...

    def search_docs(
        self,
        q: DocQuery,
        *,
        sort: Literal["relevance", "date"],
        fetch: int,
        offset: int = 0,
        window: int = 1000,
    ) -> list[tuple[str, float | None]]:
        """(uid, score) of the best matches after `offset` (score None when sorted by date)."""


class Leadership(Protocol):
    """One process's turn at something only one may do at a time (`LeaseStore.lead`)."""

    def held(self) -> bool: ...

    def release(self) -> None: ...


class LeaseStore(Protocol):
    """Feeds leased to worker processes (PostgreSQL only; store/postgres/leases.py says how).
    Times are the caller's clock, never the server's."""

    def claim_feeds(
        self, holder: str, now: datetime, expires: datetime, *, limit: int, per_host: int, share: int = 1
    ) -> list[CatalogueFeed]:
        """Lease up to `limit` feeds due at `now` to `holder` until `expires`, most overdue
        first, with at most `per_host` feeds of one host leased at once across all holders;
        when fewer than `limit * share` are there to claim, a `share`-th of them (rounded up)."""

    def renew_feeds(self, holder: str, keys: Sequence[str], expires: datetime) -> int:
        """Extend `holder`'s leases of `keys` to `expires`; how many it still held."""

    def release_feeds(self, holder: str, keys: Sequence[str]) -> int:
        """Give up `holder`'s leases of `keys`; how many it held."""

    def feed_leases(self, now: datetime) -> dict[str, str]:
        """feed key → holder of every lease live at `now`."""

    def lead(self, name: str) -> Leadership | None:
        """The one process doing `name`, or None while another process is."""
