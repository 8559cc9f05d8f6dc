"""Entries and articles on PostgreSQL: SQLite's module, with a feed's new entries and their
articles stored in one statement each instead of one per entry.

A statement per entry cost the server a round of the protocol each, and fired the statement
triggers of `entries` (PG 0027: an entry's Fever number and its feed's count, kept from the
statement's transition table) once per entry: ~0.1 ms of server time an entry, as much as the
insert itself. Rows go in in the order given, so identities and Fever numbers follow it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ...models import Article, Cleaned
from ..sqlite.archive import ArchiveMixin, article_row
from .base import rows_source

_ENTRY_COLUMNS = (
    "title, link, published, updated, author, content, summary, last_changed, content_hash, rev,"
    " clean_error, page, uid, feed_key, entry_id, first_seen, sort_time"
)
_ENTRY_TYPES = ("text",) * 9 + ("bigint",) + ("text",) * 7
_ARTICLE_COLUMNS = (
    "uid, html, text, summary, char_count, images, header_image, source, editor, reporters, dateline,"
    " keywords, profile"
)
_ARTICLE_TYPES = ("text",) * 4 + ("bigint",) + ("text",) * 8


class PgArchiveMixin(ArchiveMixin):
    def _insert_entries(self, rows: list[tuple[Any, ...]]) -> None:
        if rows:
            source, params = rows_source(_ENTRY_TYPES, rows)
            self._db.execute(f"INSERT INTO entries ({_ENTRY_COLUMNS}) SELECT * FROM {source}", params)

    def _write_articles(self, items: Sequence[tuple[str, Article | Cleaned | None]]) -> None:
        # An upsert may not touch one row twice: each entry's last article is what stays.
        last = dict(items)
        gone = [uid for uid, outcome in last.items() if outcome is None]
        rows = [article_row(uid, outcome) for uid, outcome in last.items() if outcome is not None]
        if gone:
            self._db.execute("DELETE FROM articles WHERE uid = ANY(CAST(? AS text[]))", [gone])
        if rows:
            source, params = rows_source(_ARTICLE_TYPES, rows)
            updates = ", ".join(f"{c}=excluded.{c}" for c in _ARTICLE_COLUMNS.replace(" ", "").split(",")[1:])
            self._db.execute(
                f"INSERT INTO articles ({_ARTICLE_COLUMNS}) SELECT * FROM {source}"
                f" ON CONFLICT (uid) DO UPDATE SET {updates}",
                params,
            )
