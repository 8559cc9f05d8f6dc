"""The storage interface, split by role as each caller needs it (SQLite now, PostgreSQL later).

Small Protocols, one per domain: the archive (feeds, entries, articles), the change feed
(`rev`), publishers' marks, story clusters, host holds and integrity checks; `Store` is all of
them, for code that needs the whole archive. All SQL lives in the backends; the rest of
newsdesk sees these Protocols and the records in `newsdesk.models`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Literal, Protocol

from ..errors import StoreError
from ..models import (
    AppPassword,
    Article,
    CachedImage,
    CatalogueChanges,
    CatalogueFeed,
    Cleaned,
    ClusterLookup,
    ClusterMember,
    ClusterRef,
    ClusterSummary,
    DocQuery,
    EntryHead,
    EntryQuery,
    EntryText,
    Favicon,
    FeedPlace,
    FeedSchedule,
    FeedSpec,
    FeedState,
    FetchResult,
    FullText,
    Insights,
    InsightsOf,
    KeywordRule,
    ListedEntry,
    ParsedEntry,
    ReaderEntry,
    ReportedFigure,
    RuleAction,
    SearchDoc,
    SitePlace,
    SkipRule,
    StoredEntry,
    StoryCopy,
    TermRise,
    TermWeek,
    TrackedTarget,
    UpsertCounts,
    User,
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


class UserStore(Protocol):
    """People, their API tokens and browser sessions. Secrets arrive hashed: passwords by argon2
    (`newsdesk.accounts`), tokens and session ids (random, 256 bits) by SHA-256; the store never
    sees a secret itself. Names are unique; adding a taken name raises `UserExistsError`."""

    def add_user(self, name: str, password_hash: str, *, admin: bool, now: datetime) -> User: ...

    def get_user(self, name: str) -> User | None: ...

    def user_by_id(self, user_id: int) -> User | None: ...

    def list_users(self) -> list[User]:
        """Every user, by name."""

    def password_hash(self, name: str) -> str | None: ...

    def set_password(self, name: str, password_hash: str) -> bool:
        """False when there is no such user. Ends the user's browser sessions."""

    def remove_user(self, name: str) -> bool:
        """Remove the user with their tokens, sessions and read state; False when there is none."""

    def add_token(self, user_id: int, token_hash: str, *, label: str, now: datetime) -> None: ...

    def user_for_token(self, token_hash: str, now: datetime) -> User | None:
        """The token's user (and note when the token was last used, at most once a minute: a
        write per request would queue every reader behind the archive's one writer)."""

    def add_session(self, user_id: int, session_hash: str, *, expires: datetime, now: datetime) -> None:
        """Start a session (and forget the sessions that expired by `now`)."""

    def user_for_session(self, session_hash: str, now: datetime) -> User | None:
        """The session's user while it has not expired."""

    def remove_session(self, session_hash: str) -> None: ...


class ReadingStore(Protocol):
    """Each reader's read and starred state over the one shared archive. An entry is unread
    and unstarred until its reader says otherwise; an entry removed from the archive takes
    every reader's state of it along."""

    def reader_entries(
        self,
        user_id: int,
        query: EntryQuery,
        *,
        limit: int,
        after: str | None = None,
        bodies: bool = False,
    ) -> tuple[list[ReaderEntry], str | None]:
        """One page of entries, newest first (sort time, then uid), and the cursor of the next
        page (None on the last). `after` is a cursor this method returned (an opaque string,
        safe in a URL); a malformed one raises `StoreError`, as does a `limit` below 1. Pages
        are keyset pages: entries that arrive while a reader pages (newer than the cursor)
        never shift or repeat the pages that follow.

        Without `bodies` (a list's case) the entries come without their bodies: `content` is
        "", `page` None and their article's `html` and `text` are ""; every other field is
        there. `reader_entry` gives an entry whole."""

    def reader_list(
        self, user_id: int, query: EntryQuery, *, limit: int, after: str | None = None
    ) -> tuple[list[ListedEntry], str | None]:
        """The page `reader_entries` gives (same order, same cursors), each entry with only
        what a list's row shows and its story (`cluster_refs`'): the web app's lists."""

    def reader_entries_json(
        self, user_id: int, query: EntryQuery, *, limit: int, after: str | None = None
    ) -> tuple[list[str], str | None]:
        """The page `reader_entries` gives (same order, same cursors), each entry as the API's
        JSON text, rendered by the database: `entry_json.entry_dict`'s keys (no bodies) plus
        `read`, `starred` and `cluster` (`{"id", "size", "sources", "canonical"}` of its story
        when it has other members, else null); times as ISO 8601 with `+00:00`."""

    def reader_entry(self, user_id: int, uid: str) -> ReaderEntry | None:
        """The entry, whole, with the reader's state; None when the archive has no such entry."""

    def set_entry_state(
        self,
        user_id: int,
        uids: Sequence[str],
        *,
        read: bool | None = None,
        starred: bool | None = None,
        now: datetime,
    ) -> int:
        """Set read and/or starred (None leaves it) on these entries; how many exist (unknown
        uids are skipped)."""

    def mark_read(self, user_id: int, query: EntryQuery, *, before: datetime, now: datetime) -> int:
        """Mark read every entry the query lists whose first-seen time is before `before`
        (entries that arrived after the reader looked stay unread); how many changed (entries
        already read do not count). One statement, however many entries."""

    def unread_counts(self, user_id: int) -> dict[str, tuple[int, int]]:
        """feed key → (unread, all) entries of every feed in the archive."""


class AppPasswordStore(Protocol):
    """App passwords of reader apps (the Google Reader API's ClientLogin): SHA-256 hashes of
    each password and of the Auth token derived from it (`accounts.app_auth_token`); removing
    a user removes theirs."""

    def add_app_password(
        self, user_id: int, password_hash: str, auth_hash: str, *, label: str, now: datetime
    ) -> None: ...

    def user_for_app_password(self, name: str, password_hash: str) -> User | None:
        """The user named `name` when the password is one of theirs, else None."""

    def user_for_app_auth(self, auth_hash: str) -> User | None:
        """The user of the app password whose Auth token hashes to `auth_hash`, else None."""

    def remove_app_passwords(self, user_id: int) -> int:
        """Revoke every app password of the user (and so their apps' Auth tokens); how many."""

    def app_passwords(self, user_id: int) -> list[AppPassword]:
        """The user's app passwords, oldest first."""

    def remove_app_password(self, user_id: int, password_id: str) -> bool:
        """Revoke the user's app password of that id (`AppPassword.id`), with its Auth token
        and Fever key; False when the user has none of that id."""

    def app_password_used(
        self, now: datetime, *, password_hash: str = "", auth_hash: str = "", fever_key_hash: str = ""
    ) -> None:
        """Note that the app password (named by its hash, its Auth token's or its Fever key's)
        was used now."""

    def label_entries(
        self, user_id: int, uids: Sequence[str], label: str, now: datetime, *, add: bool
    ) -> int:
        """Put the reader's label on these entries (`add`), or take it off; how many entries
        of the archive there were among `uids`."""

    def entry_labels(self, user_id: int, uids: Sequence[str]) -> dict[str, list[str]]:
        """The reader's labels on each of these entries that has any, sorted."""

    def labelled_uids(self, user_id: int, label: str) -> list[str]:
        """The entries the reader put `label` on."""

    def item_labels(self, user_id: int) -> list[str]:
        """Every label the reader has on some entry, sorted."""

    def rename_item_label(self, user_id: int, old: str, new: str) -> int:
        """The reader's label `old` becomes `new` on every entry (merged where both were);
        how many entries had `old`."""

    def remove_item_label(self, user_id: int, label: str) -> int:
        """Take the reader's label off every entry; how many had it."""

    def reader_ids_oldest_first(
        self, user_id: int, query: EntryQuery, *, limit: int, after: str | None = None
    ) -> tuple[list[tuple[str, datetime]], str | None]:
        """(uid, sort time) of a page of the query's entries oldest first, and the cursor of the
        next page (None on the last); a malformed cursor raises `StoreError`."""


class ReaderPagesStore(Protocol):
    """What the reader's pages read besides the roles above, each in one cheap query."""

    def site_places(self, user_id: int) -> list[SitePlace]:
        """Every site of the tree under its group, with the reader's unread count, in catalogue
        order (a site where its first feed is): the sidebar's skeleton in one read."""

    def feed_places(
        self, user_id: int, *, group: str | None = None, site: str | None = None, feed: str | None = None
    ) -> list[FeedPlace]:
        """Feeds' places in the tree (group, site, name), pause and the reader's unread count, in
        catalogue order: every feed, or those of one group, one site, or the site of `feed`."""

    def story_copies(self, uid: str, limit: int) -> list[StoryCopy]:
        """The other members of the entry's story cluster, earliest first, at most `limit`
        (a story can be carried by hundreds); [] when it has none."""


class RoleStore(Protocol):
    """What admins change about users beyond `UserStore`: their role."""

    def set_admin(self, name: str, admin: bool) -> bool:
        """Make the user an admin or a reader; False when there is no such user."""


class RuleStore(Protocol):
    """Each reader's keyword rules, and the rev up to which they were applied."""

    def add_rule(
        self,
        user_id: int,
        pattern: str,
        *,
        is_regex: bool,
        matching: bool,
        action: RuleAction,
        feed_key: str | None,
        now: datetime,
    ) -> KeywordRule:
        """A new rule; the reader's mark starts at today's rev if they had none (a rule judges
        entries that arrive from then on)."""

    def rules_of(self, user_id: int) -> list[KeywordRule]:
        """The reader's rules, oldest first."""

    def remove_rule(self, user_id: int, rule_id: int) -> bool:
        """False when the reader has no such rule."""

    def rules_mark(self, user_id: int) -> int | None:
        """The rev up to which the reader's rules were applied; None before their first rule."""

    def set_rules_mark(self, user_id: int, rev: int) -> None: ...


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


class FeverStore(Protocol):
    """The Fever API's stable integers and keys, and private view feeds' token nonces.

    Items are numbered when they arrive (never reused, growing with arrival, so `since_id`
    pages through everything once); feeds (by key) and groups (by name) when first listed."""

    def add_fever_key(self, password_hash: str, key_hash: str) -> None:
        """Keep a Fever key's hash beside its app password (revoking the password ends it)."""

    def user_for_fever_key(self, key_hash: str) -> User | None: ...

    def fever_feed_ids(self, keys: Sequence[str]) -> dict[str, int]:
        """Each feed key's number, numbering new ones in the order given."""

    def fever_group_ids(self, names: Sequence[str]) -> dict[str, int]:
        """Each group name's number, numbering new ones in the order given."""

    def fever_item_page(
        self,
        *,
        since_id: int | None = None,
        max_id: int | None = None,
        ids: Sequence[int] | None = None,
        limit: int = 50,
    ) -> list[tuple[int, str]]:
        """(number, uid) of at most `limit` items: those of `ids`, else numbered above
        `since_id` (ascending), else below `max_id` (descending), else the first ones."""

    def fever_item_count(self) -> int: ...

    def fever_last_arrival(self) -> datetime | None:
        """When the newest item arrived (first seen); None in an empty archive."""

    def fever_uids(self, ids: Sequence[int]) -> dict[int, str]:
        """number → uid of the items that exist."""

    def fever_ids_of(self, uids: Sequence[str]) -> dict[str, int]:
        """uid → number of the entries that exist."""

    def fever_state_ids(self, user_id: int, which: Literal["unread", "saved"]) -> list[int]:
        """Numbers of the reader's unread (or starred) items, ascending."""

    def reader_ids(
        self, user_id: int, query: EntryQuery, *, limit: int, after: str | None = None
    ) -> tuple[list[tuple[str, int]], str | None]:
        """(uid, sort time in microseconds since 1970) of the page `reader_entries` gives (same
        order, same cursors), read from the indexes alone: what reader apps' id lists need
        (`stream/items/ids`)."""

    def feed_token_nonce(self, user_id: int) -> str | None:
        """The nonce the reader's view-feed token is derived from; None when revoked."""

    def set_feed_token_nonce(self, user_id: int, nonce: str | None, now: datetime) -> None:
        """A new nonce (every earlier token stops working), or None to revoke."""


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


class MediaStore(Protocol):
    """Sites' icons and article images fetched once (newsdesk.media), marks of work following
    the archive's changes, and what the reader pages key their caches by."""

    def sites_needing_icons(self, retry_before: datetime, limit: int) -> list[tuple[str, str, str]]:
        """(group, site, page URL) of sites with no icon tried yet, or whose last try failed
        before `retry_before`; the page is the site's newest entry link, else a feed's URL."""

    def save_favicon(
        self,
        group: str,
        site: str,
        now: datetime,
        *,
        data: bytes | None = None,
        content_type: str | None = None,
        error: str | None = None,
    ) -> None:
        """Keep a site's icon (data and type), or why there is none (error)."""

    def site_favicon(self, group: str, site: str) -> Favicon | None:
        """The site's icon bytes and content type; None when it has none (yet)."""

    def favicon_sites(self) -> set[tuple[str, str]]:
        """(group, site) of every site that has an icon."""

    def site_favicons(self) -> list[Favicon]:
        """Every site's icon that there is (bytes and type), by group and site."""

    def image_urls(self, uids: Iterable[str]) -> list[str]:
        """The content images' URLs of these entries' cleaned articles."""

    def known_images(self, names: Iterable[str]) -> set[str]:
        """Which of these image names (SHA-256 of the URL) were tried already, kept or not."""

    def save_image(
        self,
        name: str,
        url: str,
        now: datetime,
        *,
        content_type: str | None = None,
        size: int = 0,
        error: str | None = None,
    ) -> None:
        """Record an image kept under `name` (its type and size), or why it could not be had."""

    def cached_image(self, name: str) -> CachedImage | None:
        """The kept image of that name; None when there is none (never tried, or failed)."""

    def referenced_image_urls(self) -> set[str]:
        """The URLs of every image a stored cleaned article refers to."""

    def cached_image_names(self, *, kept: bool = False) -> set[str]:
        """The name of every image tried, kept or not (`kept`: of those kept)."""

    def forget_images(self, names: Iterable[str]) -> int:
        """Forget these images (kept or not): how many were known."""

    def last_removal(self) -> int:
        """The rev of the latest entry removed from the archive; 0 when none ever was."""

    def change_mark(self, name: str) -> int | None:
        """The rev up to which the named background work got; None before its first run."""

    def set_change_mark(self, name: str, rev: int) -> None: ...

    def tree_version(self, user_id: int) -> tuple[int, int, int]:
        """Counters that change whenever the reader's sidebar would: the tree's (feeds added,
        moved or removed, icons kept), the reader's read state's, the archive's changes'."""


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
        self, holder: str, now: datetime, expires: datetime, *, limit: int, per_host: int
    ) -> list[CatalogueFeed]:
        """Lease up to `limit` feeds due at `now` to `holder` until `expires`, most overdue
        first, with at most `per_host` feeds of one host leased at once across all holders."""

    def renew_feeds(self, holder: str, keys: Sequence[str], expires: datetime) -> int:
        """Extend `holder`'s leases of `keys` to `expires`; how many it still held."""

    def release_feeds(self, holder: str, keys: Sequence[str]) -> int:
        """Give up `holder`'s leases of `keys`; how many it held."""

    def feed_leases(self, now: datetime) -> dict[str, str]:
        """feed key → holder of every lease live at `now`."""

    def lead(self, name: str) -> Leadership | None:
        """The one process doing `name`, or None while another process is."""
