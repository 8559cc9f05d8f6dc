"""Entries and articles on PostgreSQL: SQLite's module, with a feed's new entries and their
articles stored in one statement each instead of one per entry, and prepared before the change
counter's turn is taken.

A statement per entry cost the server a round of the protocol each, and fired the statement
triggers of `entries` (PG 0027: an entry's Fever number and its feed's count, kept from the
statement's transition table) once per entry: ~0.1 ms of server time an entry, as much as the
insert itself. Rows go in in the order given, so identities and Fever numbers follow it.

The counter's turn (store/postgres/base.py) is held from the transaction's first rev to its
commit, and every other writer of revs (another worker storing a feed) waits for it meanwhile,
its own process idle. So `save_fetch` reads the feed's stored hashes and builds its rows (the
content hashes, the rows as JSON: most of its own CPU) before taking the turn, with revs
relative to the counter's value, which the statements add once it is read. Under the turn the
hashes are read again: a change made meanwhile by another writer of the feed (a `fetch` beside
the workers; leased feeds have none) makes it build the rows again, so what it stores is
decided on what is committed, as before. A fetch that changed no entry gives out no rev and
does not take the turn at all.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from ...models import (
    Article,
    Cleaned,
    FeedSpec,
    FetchResult,
    ParsedEntry,
    UpsertCounts,
    content_hash,
    entry_uid,
)
from ..common import format_time
from ..sqlite.archive import ENTRY_UPDATE, ArchiveMixin, article_row
from .base import rows_source

_ENTRY_COLUMNS = (
    "title, link, published, updated, author, content, summary, last_changed, content_hash, rev,"
    " clean_error, page, uid, feed_key, entry_id, first_seen, sort_time"
)
_ENTRY_TYPES = ("text",) * 9 + ("bigint",) + ("text",) * 7
_REV = 9  # the rev's place in an entry row
# The rows' own revs plus a base (a parameter before the rows'): the counter's value once read.
_ENTRY_PICKS = ", ".join(f"c{i + 1} + CAST(? AS bigint)" if i == _REV else f"c{i + 1}" for i in range(17))
_ARTICLE_COLUMNS = (
    "uid, html, text, summary, char_count, images, header_image, source, editor, reporters, dateline,"
    " keywords, profile"
)
_ARTICLE_TYPES = ("text",) * 4 + ("bigint",) + ("text",) * 8
_ARTICLE_UPDATES = ", ".join(f"{c}=excluded.{c}" for c in _ARTICLE_COLUMNS.replace(" ", "").split(",")[1:])

Statement = tuple[str, list[Any]]


class _Plan:
    """What one fetch writes, built from the stored hashes it was read against; revs 1, 2, …
    in the order of the entries met, to be added to the counter's value."""

    def __init__(
        self,
        spec: FeedSpec,
        entries: Sequence[ParsedEntry],
        existing: dict[str, str],
        stamp: str | None,
        articles: Mapping[str, Article | Cleaned],
        pages: Mapping[str, str],
    ) -> None:
        self.existing = dict(existing)
        self.new = self.updated = self.unchanged = 0
        self.revs = 0
        inserts: dict[str, tuple[Any, ...]] = {}
        self.updates: list[tuple[int, tuple[Any, ...]]] = []  # (relative rev, ENTRY_UPDATE's values)
        written: list[tuple[str, Article | Cleaned | None]] = []
        known = dict(existing)
        for e in entries:
            h = content_hash(e)
            old = known.get(e.id)
            if old == h:
                self.unchanged += 1
                continue
            published = format_time(e.published)
            self.revs += 1
            uid = entry_uid(spec.key, e.id)
            outcome = articles.get(e.id)
            values = (
                e.title,
                e.link,
                published,
                format_time(e.updated),
                e.author,
                e.content,
                e.summary,
                stamp,
                h,
                self.revs,
                outcome.error if isinstance(outcome, Cleaned) else None,
                pages.get(e.id),
            )
            # An entry listed twice in one fetch is stored as its last listing, as an insert
            # followed by an update would leave it.
            if old is None or e.id in inserts:
                inserts[e.id] = (*values, uid, spec.key, e.id, stamp, published or stamp)
                if old is None:
                    self.new += 1
                else:
                    self.updated += 1
            else:
                self.updates.append((self.revs, (*values, published, spec.key, e.id)))
                self.updated += 1
            written.append((uid, outcome))
            known[e.id] = h
        self.entries: Statement | None = None
        if inserts:
            source, params = rows_source(_ENTRY_TYPES, list(inserts.values()))
            self.entries = (
                f"INSERT INTO entries ({_ENTRY_COLUMNS}) SELECT {_ENTRY_PICKS} FROM {source}",
                params,
            )
        self.articles = article_statements(written)


def article_statements(items: Sequence[tuple[str, Article | Cleaned | None]]) -> list[Statement]:
    """The statements writing entries' articles (None: the entry has none any more)."""
    # An upsert may not touch one row twice: each entry's last article is what stays.
    last = dict(items)
    gone = [uid for uid, outcome in last.items() if outcome is None]
    rows = [article_row(uid, outcome) for uid, outcome in last.items() if outcome is not None]
    out: list[Statement] = []
    if gone:
        out.append(("DELETE FROM articles WHERE uid = ANY(CAST(? AS text[]))", [gone]))
    if rows:
        source, params = rows_source(_ARTICLE_TYPES, rows)
        out.append(
            (
                f"INSERT INTO articles ({_ARTICLE_COLUMNS}) SELECT * FROM {source}"
                f" ON CONFLICT (uid) DO UPDATE SET {_ARTICLE_UPDATES}",
                params,
            )
        )
    return out


class PgArchiveMixin(ArchiveMixin):
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
        stamp = format_time(now)
        with self._tx():
            found, url = self._stored_url(spec)
            if not found:  # removed from the catalogue meanwhile: nothing of it is stored
                return UpsertCounts()
            plan = _Plan(spec, entries, self._stored_hashes(spec), stamp, articles or {}, pages or {})
            if plan.revs:
                base = self._max_rev()  # the counter's turn, to COMMIT (see the module doc)
                stored = self._stored_hashes(spec)
                if stored != plan.existing:  # another writer stored this feed meanwhile
                    plan = _Plan(spec, entries, stored, stamp, articles or {}, pages or {})
                if plan.entries is not None:
                    sql, params = plan.entries
                    self._db.execute(sql, [base, *params])
                for rev, values in plan.updates:
                    self._db.execute(ENTRY_UPDATE, (*values[:_REV], base + rev, *values[_REV + 1 :]))
                for sql, params in plan.articles:
                    self._db.execute(sql, params)
            self._record_fetched(spec, result, stamp, url, warning, feed_title)
        return UpsertCounts(new=plan.new, updated=plan.updated, unchanged=plan.unchanged)

    def _stored_url(self, spec: FeedSpec) -> tuple[bool, str | None]:
        """Whether the catalogue has the feed (registered now if it did not know it yet; False
        when it was removed), and its current URL. One statement when it is there."""
        row = self._db.execute("SELECT url FROM feeds WHERE key=?", (spec.key,)).fetchone()
        if row is not None:
            return True, row[0]
        if not self._ensure_feed(spec):
            return False, None
        return True, self._current_url(spec)

    def _stored_hashes(self, spec: FeedSpec) -> dict[str, str]:
        return dict(
            self._db.execute(
                "SELECT entry_id, content_hash FROM entries WHERE feed_key=?", (spec.key,)
            ).fetchall()
        )

    def _insert_entries(self, rows: list[tuple[Any, ...]]) -> None:
        if rows:
            source, params = rows_source(_ENTRY_TYPES, rows)
            self._db.execute(f"INSERT INTO entries ({_ENTRY_COLUMNS}) SELECT * FROM {source}", params)

    def _write_articles(self, items: Sequence[tuple[str, Article | Cleaned | None]]) -> None:
        for sql, params in article_statements(items):
            self._db.execute(sql, params)
