"""SQLite archive (WAL): the default, embedded backend."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from ..errors import StoreError
from ..models import (
    Article,
    FeedSpec,
    FeedState,
    FetchResult,
    ParsedEntry,
    StoredEntry,
    UpsertCounts,
    entry_uid,
)
from .common import content_hash, format_time, migrations, parse_time

_ENTRY_COLUMNS = (
    "e.uid, e.feed_key, f.grp, f.site, f.name, e.entry_id, e.title, e.link, e.published, e.updated,"
    " e.author, e.content, e.summary, e.first_seen, e.last_changed, e.content_hash,"
    " e.clean_error, e.page, e.rev,"
    " a.uid, a.html, a.text, a.summary, a.char_count, a.images, a.header_image, a.source, a.editor,"
    " a.reporters, a.dateline, a.keywords, a.profile"
)
_ENTRY_FROM = "entries e JOIN feeds f ON f.key=e.feed_key LEFT JOIN articles a ON a.uid=e.uid"
_ARTICLE_INSERT = (
    "INSERT INTO articles (uid, html, text, summary, char_count, images, header_image, source, editor,"
    " reporters, dateline, keywords, profile) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)"
    " ON CONFLICT (uid) DO UPDATE SET html=excluded.html, text=excluded.text, summary=excluded.summary,"
    " char_count=excluded.char_count, images=excluded.images, header_image=excluded.header_image,"
    " source=excluded.source, editor=excluded.editor, reporters=excluded.reporters,"
    " dateline=excluded.dateline, keywords=excluded.keywords, profile=excluded.profile"
)


class SQLiteStore:
    """The archive in one SQLite file. One instance per process; not shared across threads."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # isolation_level=None: we issue BEGIN/COMMIT ourselves so each fetch is one transaction.
            self._db = sqlite3.connect(self.path, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            # NORMAL is crash-safe for the application in WAL mode; only a power cut may drop the
            # last commits, and never leaves a half-written one.
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._db.execute("PRAGMA busy_timeout=10000")
            self._migrate()
        except (sqlite3.Error, OSError) as e:
            raise StoreError(f"{self.path}: cannot open database: {e}") from e

    # lifecycle -------------------------------------------------------------
    def close(self) -> None:
        self._db.close()

    def _migrate(self) -> None:
        current = self._db.execute("PRAGMA user_version").fetchone()[0]
        for number, name, sql in migrations():
            if number <= current:
                continue
            try:
                self._db.execute("BEGIN IMMEDIATE")
                for statement in _split_sql(sql):
                    self._db.execute(statement)
                self._db.execute(f"PRAGMA user_version={number:d}")
                self._db.execute("COMMIT")
            except sqlite3.Error as e:
                self._db.execute("ROLLBACK")
                raise StoreError(f"{self.path}: migration {name} failed: {e}") from e

    # feeds -----------------------------------------------------------------
    def sync_feeds(self, specs: Sequence[FeedSpec]) -> None:
        with self._tx():
            for s in specs:
                row = self._db.execute("SELECT source FROM feeds WHERE key=?", (s.key,)).fetchone()
                if row is None:
                    self._db.execute(
                        "INSERT INTO feeds (key, grp, site, name, source, url) VALUES (?,?,?,?,?,?)",
                        (s.key, s.group, s.site, s.name, s.source, s.url),
                    )
                elif row[0] != s.source:
                    # A new source means the old validators and redirect target no longer apply.
                    self._db.execute(
                        "UPDATE feeds SET source=?, url=?, etag=NULL, last_modified=NULL WHERE key=?",
                        (s.source, s.url, s.key),
                    )

    def feed_states(self) -> dict[str, FeedState]:
        rows = self._db.execute(
            "SELECT key, url, etag, last_modified, last_success, last_error, last_attempt,"
            " consecutive_failures FROM feeds"
        )
        return {
            r[0]: FeedState(
                key=r[0],
                url=r[1],
                etag=r[2],
                last_modified=r[3],
                last_success=parse_time(r[4]),
                last_error=r[5],
                last_attempt=parse_time(r[6]),
                consecutive_failures=r[7],
            )
            for r in rows
        }

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
        stamp = format_time(now)
        new = updated = unchanged = 0
        articles = articles or {}
        pages = pages or {}
        with self._tx():
            rev = self._max_rev()
            self._ensure_feed(spec)
            existing = dict(
                self._db.execute(
                    "SELECT entry_id, content_hash FROM entries WHERE feed_key=?", (spec.key,)
                ).fetchall()
            )
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
                    outcome if isinstance(outcome, str) else None,
                    pages.get(e.id),
                )
                if old is None:
                    self._db.execute(
                        "INSERT INTO entries (title, link, published, updated, author, content, summary,"
                        " last_changed, content_hash, rev, clean_error, page, uid, feed_key, entry_id,"
                        " first_seen, sort_time) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                        (*values, uid, spec.key, e.id, stamp, published or stamp),
                    )
                    new += 1
                else:
                    self._db.execute(
                        "UPDATE entries SET title=?, link=?, published=?, updated=?, author=?, content=?,"
                        " summary=?, last_changed=?, content_hash=?, rev=?, clean_error=?, page=?,"
                        " sort_time=COALESCE(?, first_seen) WHERE feed_key=? AND entry_id=?",
                        (*values, published, spec.key, e.id),
                    )
                    updated += 1
                self._write_article(uid, outcome)
                existing[e.id] = h
            self._db.execute(
                "UPDATE feeds SET url=?, etag=?, last_modified=?, last_attempt=?, last_success=?,"
                " last_error=NULL, last_warning=?, consecutive_failures=0, title=COALESCE(?, title)"
                " WHERE key=?",
                (
                    result.permanent_url or self._current_url(spec),
                    result.etag,
                    result.last_modified,
                    stamp,
                    stamp,
                    warning,
                    feed_title,
                    spec.key,
                ),
            )
        return UpsertCounts(new=new, updated=updated, unchanged=unchanged)

    def known_hashes(self, feed_key: str) -> dict[str, str]:
        return dict(
            self._db.execute("SELECT entry_id, content_hash FROM entries WHERE feed_key=?", (feed_key,))
        )

    def set_article(self, uid: str, article: Article | str, *, page: str | None = None) -> None:
        with self._tx():
            rev = self._max_rev() + 1
            self._db.execute(
                "UPDATE entries SET rev=?, clean_error=?, page=COALESCE(?, page) WHERE uid=?",
                (rev, article if isinstance(article, str) else None, page, uid),
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

    def max_rev(self) -> int:
        return self._max_rev()

    def changes_since(self, rev: int, limit: int = 1000) -> list[tuple[int, str, bool]]:
        rows = self._db.execute(
            "SELECT rev, uid, 0 FROM entries WHERE rev>? UNION ALL SELECT rev, uid, 1 FROM removed_entries"
            " WHERE rev>? ORDER BY 1 LIMIT ?",
            (rev, rev, limit),
        )
        return [(r, u, bool(d)) for r, u, d in rows]

    def _max_rev(self) -> int:
        row = self._db.execute(
            "SELECT MAX(m) FROM (SELECT MAX(rev) AS m FROM entries"
            " UNION ALL SELECT MAX(rev) FROM removed_entries)"
        ).fetchone()
        return int(row[0] or 0)

    def _write_article(self, uid: str, outcome: Article | str | None) -> None:
        if isinstance(outcome, Article):
            a = outcome
            self._db.execute(
                _ARTICLE_INSERT,
                (
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
                ),
            )
        else:
            # No article (clean: false) or a failed clean: a stale article must not linger.
            self._db.execute("DELETE FROM articles WHERE uid=?", (uid,))

    def record_failure(self, key: str, error: str, now: datetime) -> None:
        with self._tx():
            self._db.execute(
                "UPDATE feeds SET last_attempt=?, last_error=?, consecutive_failures=consecutive_failures+1"
                " WHERE key=?",
                (format_time(now), error, key),
            )

    def _ensure_feed(self, spec: FeedSpec) -> None:
        self._db.execute(
            "INSERT OR IGNORE INTO feeds (key, grp, site, name, source, url) VALUES (?,?,?,?,?,?)",
            (spec.key, spec.group, spec.site, spec.name, spec.source, spec.url),
        )

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
                f"SELECT {_ENTRY_COLUMNS} FROM {_ENTRY_FROM} WHERE e.uid IN ({marks})",
                chunk,
            )
            out.extend(_row_to_entry(r) for r in rows)
        return out

    def list_entries(
        self, *, feed_key: str | None = None, limit: int | None = None, offset: int = 0
    ) -> list[StoredEntry]:
        sql = f"SELECT {_ENTRY_COLUMNS} FROM {_ENTRY_FROM}"
        params: list[object] = []
        if feed_key is not None:
            sql += " WHERE e.feed_key=?"
            params.append(feed_key)
        sql += " ORDER BY e.sort_time DESC, e.uid LIMIT ? OFFSET ?"
        params += [-1 if limit is None else limit, offset]
        return [_row_to_entry(r) for r in self._db.execute(sql, params)]

    def entry_hashes(self) -> Iterator[tuple[str, str]]:
        yield from self._db.execute("SELECT uid, content_hash FROM entries")

    def entry_revs(self) -> Iterator[tuple[str, int]]:
        yield from self._db.execute("SELECT uid, rev FROM entries")

    def count_entries(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM entries").fetchone()[0])

    # publishers --------------------------------------------------------------
    def publish_marks(self, publisher: str) -> dict[str, str]:
        return dict(self._db.execute("SELECT uid, mark FROM publish_marks WHERE publisher=?", (publisher,)))

    def set_publish_marks(
        self, publisher: str, marks: Mapping[str, str], removed: Iterable[str] = ()
    ) -> None:
        with self._tx():
            self._db.executemany(
                "INSERT INTO publish_marks (publisher, uid, mark) VALUES (?,?,?)"
                " ON CONFLICT (publisher, uid) DO UPDATE SET mark=excluded.mark",
                [(publisher, uid, m) for uid, m in marks.items()],
            )
            self._db.executemany(
                "DELETE FROM publish_marks WHERE publisher=? AND uid=?", [(publisher, u) for u in removed]
            )

    # plumbing ----------------------------------------------------------------
    def _tx(self) -> _Transaction:
        return _Transaction(self._db, self.path)


class _Transaction:
    """BEGIN IMMEDIATE … COMMIT, rolled back on any error so nothing is half-written."""

    def __init__(self, db: sqlite3.Connection, path: Path) -> None:
        self._db = db
        self._path = path

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, exc: BaseException | None, tb: object) -> None:
        if exc is None:
            try:
                self._db.execute("COMMIT")
            except sqlite3.Error as e:
                self._db.execute("ROLLBACK")
                raise StoreError(f"{self._path}: commit failed: {e}") from e
        else:
            self._db.execute("ROLLBACK")
            if isinstance(exc, sqlite3.Error):
                raise StoreError(f"{self._path}: {exc}") from exc


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
            images=tuple(json.loads(r[24])),
            header_image=r[25],
            source=r[26],
            editor=r[27],
            reporters=tuple(json.loads(r[28])),
            dateline=r[29],
            keywords=tuple(json.loads(r[30])),
            profile=r[31],
        ),
    )


def _split_sql(script: str) -> list[str]:
    """Split a migration into statements (our migrations contain no ';' inside literals)."""
    lines = [ln for ln in script.splitlines() if not ln.strip().startswith("--")]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]
