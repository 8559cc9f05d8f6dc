"""SQLite archive (WAL): the default, embedded backend."""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import StoreError, StoreIOError
from ..models import (
    Article,
    Cleaned,
    EntryHead,
    FeedSpec,
    FeedState,
    FetchResult,
    ParsedEntry,
    StoredEntry,
    UpsertCounts,
    entry_uid,
)
from .common import content_hash, format_time, migrations, parse_time
from .sqlite_guard import (
    QuickCheck,
    connect_uri,
    create_archive,
    driver_error,
    empty_file_error,
    guard_driver_errors,
    is_bug,
)

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


# Generous: the search catch-up may write from a second process while posts are published.
BUSY_TIMEOUT = 60.0


@guard_driver_errors  # every public method: driver errors become one-line StoreErrors
class SQLiteStore:
    """The archive in one SQLite file. One instance per process; not shared across threads.

    `busy_timeout`: seconds to wait for another process's lock before giving up."""

    def __init__(self, path: str | Path, *, busy_timeout: float = BUSY_TIMEOUT) -> None:
        self.path = Path(path)
        self.busy_timeout = busy_timeout
        db: sqlite3.Connection | None = None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if not self.path.exists():
                create_archive(self.path, lambda con: _migrate(con, self.path, self._driver_error))
            elif self.path.is_file() and self.path.stat().st_size == 0:
                raise empty_file_error(self.path)
            # mode=rw: never create a file here (only `create_archive` does, complete).
            # isolation_level=None: we issue BEGIN/COMMIT ourselves so each fetch is one transaction.
            db = sqlite3.connect(connect_uri(self.path, "rw"), uri=True, isolation_level=None)
            db.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")  # first: the next may wait
            db.execute("PRAGMA journal_mode=WAL")
            # NORMAL is crash-safe for the application in WAL mode; only a power cut may drop the
            # last commits, and never leaves a half-written one.
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("PRAGMA foreign_keys=ON")
            _migrate(db, self.path, self._driver_error)
        except sqlite3.Error as e:
            if db is not None:
                db.close()
            if is_bug(e):
                raise
            raise self._driver_error(e) from e
        except StoreError:
            if db is not None:
                db.close()
            raise
        except OSError as e:
            raise StoreIOError(f"{self.path}: cannot open database: {e.strerror or e}") from e
        self._db = db

    def _driver_error(self, e: sqlite3.Error) -> StoreError:
        return driver_error(e, self.path, busy_timeout=self.busy_timeout)

    # lifecycle -------------------------------------------------------------
    def close(self) -> None:
        self._db.close()

    def reopen(self) -> SQLiteStore:
        return SQLiteStore(self.path, busy_timeout=self.busy_timeout)

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
        articles: Mapping[str, Article | Cleaned] | None = None,
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
                    outcome.error if isinstance(outcome, Cleaned) else None,
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

    def _write_article(self, uid: str, outcome: Article | Cleaned | None) -> None:
        if outcome is not None:
            a = outcome.article if isinstance(outcome, Cleaned) else outcome
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
            # No article (clean: false): a stale article must not linger.
            self._db.execute("DELETE FROM articles WHERE uid=?", (uid,))

    def record_failure(self, key: str, error: str, now: datetime) -> None:
        with self._tx():
            self._db.execute(
                "UPDATE feeds SET last_attempt=?, last_error=?, consecutive_failures=consecutive_failures+1"
                " WHERE key=?",
                (format_time(now), error, key),
            )

    def host_holds(self, now: datetime) -> dict[str, tuple[datetime, str]]:
        rows = self._db.execute(
            "SELECT host, not_before, reason FROM host_holds WHERE not_before>?", (format_time(now),)
        )
        return {host: (_utc(until), reason) for host, until, reason in rows}

    def hold_host(self, host: str, until: datetime, reason: str) -> None:
        with self._tx():
            self._db.execute(
                "INSERT INTO host_holds (host, not_before, reason) VALUES (?,?,?) ON CONFLICT (host)"
                " DO UPDATE SET not_before=excluded.not_before, reason=excluded.reason",
                (host, format_time(until), reason),
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

    def get_entry_heads(self, uids: Iterable[str]) -> list[EntryHead]:
        out: list[EntryHead] = []
        ids = list(uids)
        for i in range(0, len(ids), 500):
            chunk = ids[i : i + 500]
            rows = self._db.execute(
                "SELECT e.uid, f.grp, f.site, f.name, e.title, e.published, e.first_seen, e.rev,"
                " e.content_hash, CASE WHEN a.summary != '' THEN a.summary WHEN e.summary != ''"
                " THEN e.summary ELSE e.content END, COALESCE(a.summary, '') = '', a.header_image,"
                f" a.source FROM {_ENTRY_FROM} WHERE e.uid IN ({','.join('?' * len(chunk))})",
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

    # health (newsdesk check) -------------------------------------------------
    def integrity_problems(self, limit: int = 20) -> list[str]:
        rows = self._db.execute(f"PRAGMA integrity_check({int(limit)})").fetchall()
        # Problems come one per line, under a "*** in database main ***" heading.
        found = [ln for (text,) in rows for ln in str(text).splitlines() if not ln.startswith("***")]
        return [] if found == ["ok"] else found[:limit]

    def foreign_key_problems(self, limit: int = 20) -> list[str]:
        out = []
        for table, rowid, parent, _ in self._db.execute("PRAGMA foreign_key_check"):
            out.append(f"{table} row {rowid} refers to a missing row of {parent}")
            if len(out) == limit:
                break
        return out

    def mark_summary(self) -> dict[str, tuple[int, int]]:
        rows = self._db.execute(
            "SELECT p.publisher, COUNT(*), SUM(e.uid IS NULL) FROM publish_marks p"
            " LEFT JOIN entries e ON e.uid=p.uid GROUP BY p.publisher ORDER BY p.publisher"
        )
        return {publisher: (int(n), int(gone or 0)) for publisher, n, gone in rows}

    def start_quick_check(self) -> QuickCheck:
        return QuickCheck(self.path, busy_timeout=self.busy_timeout)

    # plumbing ----------------------------------------------------------------
    def _tx(self) -> _Transaction:
        return _Transaction(self._db, self._driver_error)

    # --- search & clusters ---------------------------------------------------------------------
    # Story clusters (newsdesk.cluster, migration 0003). Kept together so the block can move
    # as one piece; nothing outside it depends on these tables.
    def cluster_mark(self) -> int:
        return int(self._db.execute("SELECT rev FROM cluster_state WHERE id=1").fetchone()[0])

    def cluster_lookup(
        self,
        *,
        links: Sequence[str],
        texts: Sequence[str],
        bands: Sequence[int],
        exclude: Sequence[str] = (),
    ) -> ClusterLookup:
        skip = set(exclude)
        by_link: dict[str, tuple[str, str]] = {}
        by_text: dict[str, tuple[str, str]] = {}
        by_band: dict[int, list[tuple[str, str]]] = {}
        members = int(self._db.execute("SELECT COUNT(*) FROM cluster_members").fetchone()[0])
        if members == 0:
            return by_link, by_text, by_band, {}
        for sql, keys, out in (
            ("SELECT link_key, cluster_id, uid FROM cluster_members WHERE link_key IN ({})", links, by_link),
            ("SELECT text_key, cluster_id, uid FROM cluster_members WHERE text_key IN ({})", texts, by_text),
        ):
            for chunk in _chunks(sorted(set(keys))):
                for key, cid, uid in self._db.execute(sql.format(",".join("?" * len(chunk))), chunk):
                    if uid not in skip:
                        out.setdefault(key, (cid, uid))
        wanted = set(bands)
        if len(wanted) > members:  # a bulk batch: one scan beats a probe per band
            rows: Iterable[tuple[int, str, str]] = self._db.execute(
                "SELECT b.band, m.cluster_id, b.uid FROM cluster_bands b"
                " JOIN cluster_members m ON m.uid=b.uid"
            )
            rows = [r for r in rows if r[0] in wanted]
        else:
            rows = []
            for chunk in _chunks(sorted(wanted)):
                rows += self._db.execute(
                    "SELECT b.band, m.cluster_id, b.uid FROM cluster_bands b JOIN cluster_members m"
                    f" ON m.uid=b.uid WHERE b.band IN ({','.join('?' * len(chunk))})",
                    chunk,
                ).fetchall()
        for band, cid, uid in rows:
            if uid not in skip:
                by_band.setdefault(band, []).append((cid, uid))
        signatures: dict[str, bytes] = {}
        for chunk in _chunks(sorted({uid for v in by_band.values() for _, uid in v})):
            signatures.update(
                self._db.execute(
                    "SELECT uid, signature FROM cluster_members WHERE signature IS NOT NULL"
                    f" AND uid IN ({','.join('?' * len(chunk))})",
                    chunk,
                )
            )
        return by_link, by_text, by_band, signatures

    def save_clusters(
        self,
        members: Sequence[ClusterMember],
        bands: Sequence[tuple[int, str]],
        *,
        detached: Sequence[str],
        mark: int,
    ) -> None:
        with self._tx():
            affected: set[str] = set()
            for chunk in _chunks(list(detached)):
                marks = ",".join("?" * len(chunk))
                affected.update(
                    r[0]
                    for r in self._db.execute(
                        f"SELECT cluster_id FROM cluster_members WHERE uid IN ({marks})", chunk
                    )
                )
                self._db.execute(f"DELETE FROM cluster_members WHERE uid IN ({marks})", chunk)
                self._db.execute(f"DELETE FROM cluster_bands WHERE uid IN ({marks})", chunk)
            self._db.executemany(
                "INSERT INTO cluster_members (uid, cluster_id, feed_key, sort_time, reason, similarity,"
                " link_key, text_key, signature) VALUES (?,?,?,?,?,?,?,?,?)",
                [
                    (
                        m.uid,
                        m.cluster_id,
                        m.feed_key,
                        format_time(m.sort_time),
                        m.reason,
                        m.similarity,
                        m.link,
                        m.text,
                        m.signature if m.reason in ("first", "link") else None,  # only these hold bands
                    )
                    for m in members
                ],
            )
            self._db.executemany("INSERT OR IGNORE INTO cluster_bands (band, uid) VALUES (?,?)", bands)
            # A member that founded its cluster alone changes no multi-member cluster.
            affected.update(m.cluster_id for m in members if m.reason != "first")
            for chunk in _chunks(sorted(affected)):
                marks = ",".join("?" * len(chunk))
                self._db.execute(f"DELETE FROM clusters WHERE id IN ({marks})", chunk)
                self._db.execute(
                    "INSERT INTO clusters (id, size, sources, first_time, last_time)"
                    " SELECT cluster_id, COUNT(*), COUNT(DISTINCT feed_key), MIN(sort_time), MAX(sort_time)"
                    f" FROM cluster_members WHERE cluster_id IN ({marks})"
                    " GROUP BY cluster_id HAVING COUNT(*) > 1",
                    chunk,
                )
            self._db.execute("UPDATE cluster_state SET rev=? WHERE id=1", (mark,))

    def reset_clusters(self) -> None:
        with self._tx():
            for table in ("cluster_members", "cluster_bands", "clusters"):
                self._db.execute(f"DELETE FROM {table}")
            self._db.execute("UPDATE cluster_state SET rev=0 WHERE id=1")

    def cluster_refs(self, uids: Iterable[str]) -> dict[str, ClusterRef]:
        from ..cluster import ClusterRef

        out: dict[str, ClusterRef] = {}
        for chunk in _chunks(list(uids)):
            rows = self._db.execute(
                "SELECT m.uid, c.id, c.size, c.sources, (SELECT uid FROM cluster_members"
                " WHERE cluster_id=c.id ORDER BY sort_time, uid LIMIT 1) FROM cluster_members m"
                f" JOIN clusters c ON c.id=m.cluster_id WHERE m.uid IN ({','.join('?' * len(chunk))})",
                chunk,
            )
            out.update((r[0], ClusterRef(r[1], r[2], r[3], r[4])) for r in rows)
        return out

    def list_clusters(self, *, limit: int = 20, offset: int = 0) -> list[ClusterSummary]:
        return self._cluster_summaries("ORDER BY c.last_time DESC, c.id LIMIT ? OFFSET ?", (limit, offset))

    def get_cluster(self, cluster_id: str) -> tuple[ClusterSummary, list[ClusterMember]] | None:
        """A cluster by its id, or by the uid of any member (even of a one-entry 'cluster')."""
        from ..cluster import ClusterMember, ClusterSummary

        row = self._db.execute(
            "SELECT cluster_id FROM cluster_members WHERE uid=? OR cluster_id=? LIMIT 1",
            (cluster_id, cluster_id),
        ).fetchone()
        if row is None:
            return None
        rows = self._db.execute(
            "SELECT m.uid, m.cluster_id, m.feed_key, m.sort_time, m.reason, m.similarity, m.link_key,"
            " m.text_key, e.title FROM cluster_members m JOIN entries e ON e.uid=m.uid"
            " WHERE m.cluster_id=? ORDER BY m.sort_time, m.uid",
            (row[0],),
        ).fetchall()
        if not rows:
            return None
        members = [ClusterMember(r[0], r[1], r[2], _utc(r[3]), r[4], r[5], r[6], r[7]) for r in rows]
        times = [m.sort_time for m in members]
        summary = ClusterSummary(
            id=row[0],
            size=len(members),
            sources=len({m.feed_key for m in members}),
            first=min(times),
            last=max(times),
            canonical=members[0].uid,
            title=rows[0][8],
        )
        return summary, members

    def cluster_member_uids(self) -> Iterator[tuple[str, str]]:
        yield from self._db.execute(
            "SELECT m.cluster_id, m.uid FROM cluster_members m JOIN clusters c ON c.id=m.cluster_id"
            " ORDER BY m.cluster_id, m.sort_time, m.uid"
        )

    def _cluster_summaries(self, tail: str, params: Sequence[object]) -> list[ClusterSummary]:
        from ..cluster import ClusterSummary

        rows = self._db.execute(
            "SELECT c.id, c.size, c.sources, c.first_time, c.last_time, m.uid, e.title FROM clusters c"
            " JOIN cluster_members m ON m.uid=(SELECT uid FROM cluster_members WHERE cluster_id=c.id"
            " ORDER BY sort_time, uid LIMIT 1) JOIN entries e ON e.uid=m.uid " + tail,
            params,
        )
        return [ClusterSummary(r[0], r[1], r[2], _utc(r[3]), _utc(r[4]), r[5], r[6]) for r in rows]

    def entry_texts(self, uids: Iterable[str]) -> list[EntryText]:
        from ..search.text import EntryText

        out: list[EntryText] = []
        for chunk in _chunks(list(uids)):
            rows = self._db.execute(
                "SELECT e.uid, e.feed_key, f.grp, f.site, f.name, e.title, e.link,"
                " COALESCE(e.published, e.first_seen), a.text,"
                " CASE WHEN e.content != '' THEN e.content ELSE e.summary END, a.source"
                f" FROM {_ENTRY_FROM} WHERE e.uid IN ({','.join('?' * len(chunk))})",
                chunk,
            )
            # fromisoformat reads our fixed format (…Z) about 50 times faster than strptime.
            for uid, key, grp, site, name, title, link, when, cleaned, html, source in rows:
                when_utc = datetime.fromisoformat(when)
                out.append(EntryText(uid, key, grp, site, name, title, link, when_utc, cleaned, html, source))
        return out

    # --- end search & clusters -----------------------------------------------------------------


class _Transaction:
    """BEGIN IMMEDIATE … COMMIT, rolled back on any error so nothing is half-written."""

    def __init__(self, db: sqlite3.Connection, error: Callable[[sqlite3.Error], StoreError]) -> None:
        self._db = db
        self._error = error

    def __enter__(self) -> None:
        try:
            self._db.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as e:  # e.g. another writer held the lock past busy_timeout
            raise self._error(e) from e

    def __exit__(self, exc_type: object, exc: BaseException | None, tb: object) -> None:
        if exc is None:
            try:
                self._db.execute("COMMIT")
            except sqlite3.Error as e:
                self._rollback()
                raise self._error(e) from e
        else:
            self._rollback()
            if isinstance(exc, sqlite3.Error) and not is_bug(exc):
                raise self._error(exc) from exc

    def _rollback(self) -> None:
        # SQLite may already have rolled back by itself (disk full, I/O error): the original
        # error is the one to report, not "no transaction is active".
        with contextlib.suppress(sqlite3.Error):
            self._db.execute("ROLLBACK")


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


def _migrate(db: sqlite3.Connection, path: Path, error: Callable[[sqlite3.Error], StoreError]) -> None:
    current = db.execute("PRAGMA user_version").fetchone()[0]
    for number, name, sql in migrations():
        if number <= current:
            continue
        try:
            db.execute("BEGIN IMMEDIATE")
            for statement in _split_sql(sql):
                db.execute(statement)
            db.execute(f"PRAGMA user_version={number:d}")
            db.execute("COMMIT")
        except sqlite3.Error as e:
            with contextlib.suppress(sqlite3.Error):  # SQLite may have rolled back by itself
                db.execute("ROLLBACK")
            failed = error(e)
            if type(failed) is StoreError:  # not a damaged, locked or full archive: say which step
                failed = StoreError(f"{path}: migration {name} failed: {e}")
            raise failed from e


def _split_sql(script: str) -> list[str]:
    """Split a migration into statements (our migrations contain no ';' inside literals)."""
    lines = [ln for ln in script.splitlines() if not ln.strip().startswith("--")]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]


# --- search & clusters (module helpers) ----------------------------------------------------------
if TYPE_CHECKING:
    from ..cluster import ClusterLookup, ClusterMember, ClusterRef, ClusterSummary
    from ..search.text import EntryText


def _chunks(items: Sequence[Any], size: int = 500) -> Iterator[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _utc(text: str) -> datetime:
    value = parse_time(text)
    assert value is not None
    return value


# --- end search & clusters ---------------------------------------------------------------------
