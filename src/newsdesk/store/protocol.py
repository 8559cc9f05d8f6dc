"""The storage interface every archive backend satisfies (SQLite now, PostgreSQL later).

All SQL lives in the backend modules; the rest of newsdesk only sees this Protocol and
the records from `newsdesk.models`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Protocol

from ..models import Article, FeedSpec, FeedState, FetchResult, ParsedEntry, StoredEntry, UpsertCounts


class Store(Protocol):
    def close(self) -> None: ...

    # feeds -----------------------------------------------------------------
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
        articles: Mapping[str, Article | str] | None = None,
        pages: Mapping[str, str] | None = None,
    ) -> UpsertCounts:
        """Store a successful fetch: entries, their cleaned articles (or why cleaning failed,
        keyed by entry id) and the feed's fetch state, in one transaction."""

    def known_hashes(self, feed_key: str) -> dict[str, str]:
        """entry id → content hash of a feed's stored entries (to clean only what changed)."""

    def set_article(self, uid: str, article: Article | str, *, page: str | None = None) -> None:
        """Replace an entry's cleaned article (or record why cleaning failed)."""

    def iter_uids(self, *, feed_key: str | None = None) -> Iterator[str]: ...

    def max_rev(self) -> int: ...

    def changes_since(self, rev: int, limit: int = 1000) -> list[tuple[int, str, bool]]:
        """(rev, uid, removed) of every change after `rev`, oldest first."""

    def record_failure(self, key: str, error: str, now: datetime) -> None: ...

    # entries ---------------------------------------------------------------
    def get_entry(self, uid: str) -> StoredEntry | None: ...

    def get_entries(self, uids: Iterable[str]) -> list[StoredEntry]: ...

    def list_entries(
        self, *, feed_key: str | None = None, limit: int | None = None, offset: int = 0
    ) -> list[StoredEntry]:
        """Newest first (published, else first seen)."""

    def entry_hashes(self) -> Iterator[tuple[str, str]]:
        """(uid, content_hash) of every entry: cheap change detection for publishers."""

    def entry_revs(self) -> Iterator[tuple[str, int]]:
        """(uid, rev) of every entry: rev changes with the entry or its cleaned article."""

    def count_entries(self) -> int: ...

    # publishers' bookkeeping -------------------------------------------------
    def publish_marks(self, publisher: str) -> dict[str, str]: ...

    def set_publish_marks(
        self, publisher: str, marks: Mapping[str, str], removed: Iterable[str] = ()
    ) -> None: ...
