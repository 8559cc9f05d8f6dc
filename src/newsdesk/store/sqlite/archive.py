"""Feeds, entries and their cleaned articles: the archive itself."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

import orjson

from ...models import (
    Article,
    Cleaned,
    EntryHead,
    EntryText,
    FeedSpec,
    FeedState,
    FetchResult,
    ParsedEntry,
    StoredEntry,
    UpsertCounts,
    content_hash,
    entry_uid,
)
from ..common import format_time, parse_time
from .base import ENTRY_FROM, SQLiteBase, chunks
from .catalogue import STATE_COLUMNS, feed_definition, row_to_state

_ENTRY_COLUMNS = (
    "e.uid, e.feed_key, f.grp, f.site, f.name, e.entry_id, e.title, e.link, e.published, e.updated,"
    " e.author, e.content, e.summary, e.first_seen, e.last_changed, e.content_hash,"
    " e.clean_error, e.page, e.rev,"
    " a.uid, a.html, a.text, a.summary, a.char_count, a.images, a.header_image, a.source, a.editor,"
    " a.reporters, a.dateline, a.keywords, a.profile"
)
_ARTICLE_INSERT = (
    "INSERT INTO articles (uid, html, text, summary, char_count, images, header_image, source, editor,"
    " reporters, dateline, keywords, profile) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)"
    " ON CONFLICT (uid) DO UPDATE SET html=excluded.html, text=excluded.text, summary=excluded.summary,"
    " char_count=excluded.char_count, images=excluded.images, header_image=excluded.header_image,"
    " source=excluded.source, editor=excluded.editor, reporters=excluded.reporters,"
    " dateline=excluded.dateline, keywords=excluded.keywords, profile=excluded.profile"
)


_ENTRY_INSERT = (
    "INSERT INTO entries (title, link, published, updated, author, content, summary,"
    " last_changed, content_hash, rev, clean_error, page, uid, feed_key, entry_id,"
    " first_seen, sort_time) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
)
# A stored entry changed: its new listing's values, then (published, feed key, entry id).
ENTRY_UPDATE = (
    "UPDATE entries SET title=?, link=?, published=?, updated=?, author=?, content=?,"
    " summary=?, last_changed=?, content_hash=?, rev=?, clean_error=?, page=?,"
    " sort_time=COALESCE(?, first_seen) WHERE feed_key=? AND entry_id=?"
)


def article_row(uid: str, outcome: Article | Cleaned) -> tuple[Any, ...]:
    """`_ARTICLE_INSERT`'s values for an entry's article."""
    a = outcome.article if isinstance(outcome, Cleaned) else outcome
    return (
        uid,
        a.html,
        a.text,
        a.summary,
        a.char_count,
        json.dumps(list(a.images), ensure_ascii=False),
        a.header_image,
        a.source,
        a.editor,
        json.dumps(list(a.reporters), ensure_ascii=False),
        a.dateline,
        json.dumps(list(a.keywords), ensure_ascii=False),
        a.profile,
    )


class ArchiveMixin(SQLiteBase):
    # feeds -----------------------------------------------------------------
    def sync_feeds(self, specs: Sequence[FeedSpec]) -> None:
        with self._tx():
            for s in specs:
                row = self._db.execute("SELECT source FROM feeds WHERE key=?", (s.key,)).fetchone()
                if row is None:  # registered on purpose: a feed removed earlier comes back
                    self._db.execute("DELETE FROM feed_tombstones WHERE key=?", (s.key,))
                    self._ensure_feed(s)
                elif row[0] != s.source:
                    # A new source means the old validators and redirect target no longer apply.
                    self._db.execute(
                        "UPDATE feeds SET source=?, url=?, spec_url=?, route=?, etag=NULL, last_modified=NULL"
                        " WHERE key=?",
                        (s.source, s.url, s.url, s.route, s.key),
                    )

    def feed_states(self) -> dict[str, FeedState]:
        return {r[0]: row_to_state(r) for r in self._db.execute(f"SELECT {STATE_COLUMNS} FROM feeds")}

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
        new = updated = unchanged = 0
        articles = articles or {}
        pages = pages or {}
        with self._tx():
            rev = self._max_rev()
            if not self._ensure_feed(spec):
                return UpsertCounts()
            existing = dict(
                self._db.execute(
                    "SELECT entry_id, content_hash FROM entries WHERE feed_key=?", (spec.key,)
                ).fetchall()
            )
            # New entries go in after the loop, in one call (`_insert_entries`), their articles
            # after them, in the order met; an entry listed twice in one fetch is stored as its
            # last listing, as an insert followed by an update would leave it.
            inserts: dict[str, tuple[Any, ...]] = {}
            written: list[tuple[str, Article | Cleaned | None]] = []
            for e in entries:
                h = content_hash(e)
                old = existing.get(e.id)
                if old == h:
                    unchanged += 1
                    continue
                published = format_time(e.published)
                rev += 1
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
                    rev,
                    outcome.error if isinstance(outcome, Cleaned) else None,
                    pages.get(e.id),
                )
                if old is None or e.id in inserts:
                    inserts[e.id] = (*values, uid, spec.key, e.id, stamp, published or stamp)
                    if old is None:
                        new += 1
                    else:
                        updated += 1
                else:
                    self._db.execute(ENTRY_UPDATE, (*values, published, spec.key, e.id))
                    updated += 1
                written.append((uid, outcome))
                existing[e.id] = h
            self._insert_entries(list(inserts.values()))
            self._write_articles(written)
            self._record_fetched(spec, result, stamp, self._current_url(spec), warning, feed_title)
        return UpsertCounts(new=new, updated=updated, unchanged=unchanged)

    def _record_fetched(
        self,
        spec: FeedSpec,
        result: FetchResult,
        stamp: str | None,
        url: str | None,
        warning: str | None,
        feed_title: str | None,
    ) -> None:
        """The feed's row after a fetch that was stored: its validators, times and title."""
        self._db.execute(
            "UPDATE feeds SET url=?, etag=?, last_modified=?, last_attempt=?, last_success=?,"
            " last_error=NULL, last_warning=?, consecutive_failures=0, title=COALESCE(?, title)"
            " WHERE key=?",
            (
                result.permanent_url or url,
                result.etag,
                result.last_modified,
                stamp,
                stamp,
                warning,
                feed_title,
                spec.key,
            ),
        )

    def known_hashes(self, feed_key: str) -> dict[str, str]:
        return dict(
            self._db.execute("SELECT entry_id, content_hash FROM entries WHERE feed_key=?", (feed_key,))
        )

    def set_article(self, uid: str, article: Article | Cleaned, *, page: str | None = None) -> None:
        with self._tx():
            rev = self._max_rev() + 1
            self._db.execute(
                "UPDATE entries SET rev=?, clean_error=?, page=COALESCE(?, page) WHERE uid=?",
                (rev, article.error if isinstance(article, Cleaned) else None, page, uid),
            )
            self._write_article(uid, article)

    def iter_uids(self, *, feed_key: str | None = None) -> Iterator[str]:
        if feed_key is None:
            rows = self._db.execute("SELECT uid FROM entries ORDER BY sort_time DESC")
        else:
            rows = self._db.execute(
                "SELECT uid FROM entries WHERE feed_key=? ORDER BY sort_time DESC", (feed_key,)
            )
        for (uid,) in rows.fetchall():
            yield uid

    def _insert_entries(self, rows: list[tuple[Any, ...]]) -> None:
        """New entries, each row `_ENTRY_INSERT`'s values."""
        self._db.executemany(_ENTRY_INSERT, rows)

    def _write_article(self, uid: str, outcome: Article | Cleaned | None) -> None:
        self._write_articles([(uid, outcome)])

    def _write_articles(self, items: Sequence[tuple[str, Article | Cleaned | None]]) -> None:
        """Each entry's article stored, in order, or removed where it has none (clean: false:
        a stale article must not linger)."""
        for uid, outcome in items:
            if outcome is not None:
                self._db.execute(_ARTICLE_INSERT, article_row(uid, outcome))
            else:
                self._db.execute("DELETE FROM articles WHERE uid=?", (uid,))

    def record_failure(self, key: str, error: str, now: datetime) -> None:
        with self._tx():
            self._db.execute(
                "UPDATE feeds SET last_attempt=?, last_error=?, consecutive_failures=consecutive_failures+1"
                " WHERE key=?",
                (format_time(now), error, key),
            )

    def _ensure_feed(self, spec: FeedSpec) -> bool:
        """Register a feed saved before the catalogue knew it; False when the feed was removed
        from the catalogue (deleted or renamed) meanwhile: then nothing of it is stored."""
        self._db.execute(
            "INSERT OR IGNORE INTO feeds (key, source, url, grp, site, name, spec_url, route, clean,"
            " full_text, enabled, position) SELECT ?,?,?,?,?,?,?,?,?,?,?,"
            " (SELECT COALESCE(MAX(position), -1) + 1 FROM feeds)"
            " WHERE NOT EXISTS (SELECT 1 FROM feed_tombstones WHERE key=?)",
            (spec.key, spec.source, spec.url, *feed_definition(spec), spec.key),
        )
        return self._db.execute("SELECT 1 FROM feeds WHERE key=?", (spec.key,)).fetchone() is not None

    def _current_url(self, spec: FeedSpec) -> str | None:
        row = self._db.execute("SELECT url FROM feeds WHERE key=?", (spec.key,)).fetchone()
        return row[0] if row else spec.url

    # entries ---------------------------------------------------------------
    def get_entry(self, uid: str) -> StoredEntry | None:
        rows = self.get_entries([uid])
        return rows[0] if rows else None

    def get_entries(self, uids: Iterable[str]) -> list[StoredEntry]:
        out: list[StoredEntry] = []
        ids = list(uids)
        for i in range(0, len(ids), 500):
            chunk = ids[i : i + 500]
            marks = ",".join("?" * len(chunk))
            rows = self._db.execute(
                f"SELECT {_ENTRY_COLUMNS} FROM {ENTRY_FROM} WHERE e.uid IN ({marks})",
                chunk,
            )
            out.extend(_row_to_entry(r) for r in rows)
        return out

    def get_entry_heads(self, uids: Iterable[str]) -> list[EntryHead]:
        out: list[EntryHead] = []
        ids = list(uids)
        for i in range(0, len(ids), 500):
            chunk = ids[i : i + 500]
            rows = self._db.execute(
                "SELECT e.uid, f.grp, f.site, f.name, e.title, e.published, e.first_seen, e.rev,"
                " e.content_hash, CASE WHEN a.summary != '' THEN a.summary WHEN e.summary != ''"
                " THEN e.summary ELSE e.content END, COALESCE(a.summary, '') = '', a.header_image,"
                f" a.source FROM {ENTRY_FROM} WHERE e.uid IN ({','.join('?' * len(chunk))})",
                chunk,
            )
            for r in rows:
                first_seen = parse_time(r[6])
                assert first_seen is not None
                out.append(
                    EntryHead(
                        r[0],
                        r[1],
                        r[2],
                        r[3],
                        r[4],
                        parse_time(r[5]),
                        first_seen,
                        r[7],
                        r[8],
                        r[9],
                        bool(r[10]),
                        r[11],
                        r[12],
                    )
                )
        return out

    def list_entries(
        self, *, feed_key: str | None = None, limit: int | None = None, offset: int = 0
    ) -> list[StoredEntry]:
        sql = f"SELECT {_ENTRY_COLUMNS} FROM {ENTRY_FROM}"
        params: list[object] = []
        if feed_key is not None:
            sql += " WHERE e.feed_key=?"
            params.append(feed_key)
        sql += " ORDER BY e.sort_time DESC, e.uid LIMIT ? OFFSET ?"
        params += [-1 if limit is None else limit, offset]
        return [_row_to_entry(r) for r in self._db.execute(sql, params)]

    def entry_hashes(self) -> Iterator[tuple[str, str]]:
        yield from self._db.execute("SELECT uid, content_hash FROM entries")

    def count_entries(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM entries").fetchone()[0])

    def entry_texts(self, uids: Iterable[str]) -> list[EntryText]:
        out: list[EntryText] = []
        for chunk in chunks(list(uids)):
            rows = self._db.execute(
                "SELECT e.uid, e.feed_key, f.grp, f.site, f.name, e.title, e.link,"
                " COALESCE(e.published, e.first_seen), a.text,"
                # The entry's own HTML only where there is no cleaned text: every reader takes
                # that first, and an article's HTML is many times its text (read page by page).
                " CASE WHEN a.text != '' THEN '' WHEN e.content != '' THEN e.content ELSE e.summary END,"
                " a.source"
                f" FROM {ENTRY_FROM} WHERE e.uid IN ({','.join('?' * len(chunk))})",
                chunk,
            )
            # fromisoformat reads our fixed format (…Z) about 50 times faster than strptime.
            for uid, key, grp, site, name, title, link, when, cleaned, html, source in rows:
                when_utc = datetime.fromisoformat(when)
                out.append(EntryText(uid, key, grp, site, name, title, link, when_utc, cleaned, html, source))
        return out


def _strings(text: str) -> tuple[str, ...]:
    """A JSON list of strings as a tuple (most are empty: no parse for those)."""
    return () if text == "[]" else tuple(orjson.loads(text))


def _row_to_entry(r: Any) -> StoredEntry:
    first_seen = parse_time(r[13])
    last_changed = parse_time(r[14])
    assert first_seen is not None and last_changed is not None
    return StoredEntry(
        uid=r[0],
        feed_key=r[1],
        group=r[2],
        site=r[3],
        feed=r[4],
        entry_id=r[5],
        title=r[6],
        link=r[7],
        published=parse_time(r[8]),
        updated=parse_time(r[9]),
        author=r[10],
        content=r[11],
        summary=r[12],
        first_seen=first_seen,
        last_changed=last_changed,
        content_hash=r[15],
        clean_error=r[16],
        page=r[17],
        rev=r[18],
        article=None
        if r[19] is None
        else Article(
            html=r[20],
            text=r[21],
            summary=r[22],
            char_count=r[23],
            images=_strings(r[24]),
            header_image=r[25],
            source=r[26],
            editor=r[27],
            reporters=_strings(r[28]),
            dateline=r[29],
            keywords=_strings(r[30]),
            profile=r[31],
        ),
    )
