"""Each reader's read and starred state over the one shared archive, and the lists they page.

State is one `entry_state` row per reader and entry that is read or starred (a new entry costs
no rows). Lists page by keyset on (sort_time DESC, uid): a page is one index range from the
cursor on, however deep, and entries that arrive meanwhile (newer, so before the cursor) never
shift the pages that follow.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from ...errors import StoreError
from ...models import ClusterRef, EntryQuery, ListedEntry, ReaderEntry
from ..common import format_time

# The archive's own entry columns and row reader: a reader's entry is the archive's entry.
from .archive import _ENTRY_COLUMNS as ENTRY_COLUMNS
from .archive import _row_to_entry as row_to_entry
from .base import ENTRY_FROM, SQLiteBase, chunks


def _without_bodies(columns: str) -> str:
    """ENTRY_COLUMNS with the bodies (raw content, page, cleaned html and text) left empty: a
    list shows none of them, and reading and copying them is a third of a page's cost."""
    for body, empty in (("e.content,", "'',"), ("e.page,", "NULL,"), ("a.html,", "'',"), ("a.text,", "'',")):
        if body not in columns:
            raise RuntimeError(f"archive columns changed: {body} is gone; update reading.py")
        columns = columns.replace(body, empty)
    return columns


LIST_COLUMNS = _without_bodies(ENTRY_COLUMNS)
# The reader's state of the entry `e`: NULLs when the entry has none (unread, unstarred).
_STATE_JOIN = "LEFT JOIN entry_state s ON s.user_id=:user AND s.feed_key=e.feed_key AND s.uid=e.uid"
# A group or site filter walks the time index and skips other feeds' entries when that reads
# fewer rows than taking all the feeds' entries from the feed index and sorting them (a sorted
# row costs about this many skipped ones).
_SORT_COST = 2
# Rows an unread list may walk without first asking which feeds have anything unread (that
# question costs about as much as walking this many).
_WALK_ENOUGH = 2000
# Each feed with its entries and the reader's read count (`c`, `r`; the feed itself is `f`).
_FEED_UNREAD = (
    "feed_counts c JOIN feeds f ON f.key=c.feed_key"
    " LEFT JOIN reader_feed_counts r ON r.user_id=:user AND r.feed_key=c.feed_key"
)
_UNREAD = "(c.entries-COALESCE(r.read, 0))"
_FEEDS_OF_UIDS = "SELECT DISTINCT feed_key FROM entries WHERE uid IN (SELECT value FROM json_each(:uids))"


def _iso(column: str) -> str:
    """SQL: a stored time (`TIME_FORMAT`, `….ffffffZ`) as the API's JSON writes a datetime
    (orjson: `+00:00`, the microseconds only when there are some)."""
    return (
        f"CASE WHEN {column} IS NULL THEN NULL WHEN substr({column}, 20, 7)='.000000'"
        f" THEN substr({column}, 1, 19)||'+00:00' ELSE substr({column}, 1, 26)||'+00:00' END"
    )


def _flag(column: str) -> str:
    return f"json(CASE WHEN {column} THEN 'true' ELSE 'false' END)"


# An entry of a list as the API answers it, built by SQLite: `entry_json.entry_dict` without the
# bodies, then the reader's `read` and `starred` and the story cluster (`api.ref_dict`), over
# `e`, `f`, `a` (ENTRY_FROM), the reader's state `s`, the entry's cluster membership `m` and
# cluster `c`. In Python the same page costs about 25 µs an entry (records, then dicts, then
# JSON); tests/test_store.py checks that the two agree on every entry of its archive.
_ENTRY_JSON = (
    "json_object('id', e.uid, 'title', e.title, 'link', e.link, 'group', f.grp, 'site', f.site,"
    f" 'feed', f.name, 'published', {_iso('e.published')}, 'updated', {_iso('e.updated')},"
    f" 'author', e.author, 'first_seen', {_iso('e.first_seen')},"
    f" 'last_changed', {_iso('e.last_changed')}, 'entry_id', e.entry_id,"
    " 'source', a.source, 'editor', a.editor, 'reporters', json(COALESCE(a.reporters, '[]')),"
    " 'dateline', a.dateline, 'keywords', json(COALESCE(a.keywords, '[]')),"
    " 'images', json(COALESCE(a.images, '[]')), 'header_image', a.header_image,"
    " 'summary', CASE WHEN a.uid IS NULL THEN e.summary ELSE a.summary END,"
    " 'char_count', a.char_count, 'profile', a.profile, 'clean_error', e.clean_error,"
    f" 'read', {_flag('s.read')}, 'starred', {_flag('s.starred')},"
    " 'cluster', CASE WHEN c.id IS NOT NULL THEN json_object('id', c.id, 'size', c.size,"
    " 'sources', c.sources, 'canonical', c.canonical) END)"
)

# The entry's story: its cluster membership `m` and cluster `c` (NULLs for an entry in none).
_CLUSTER_JOIN = " LEFT JOIN cluster_members m ON m.uid=e.uid LEFT JOIN clusters c ON c.id=m.cluster_id"
# A list's row (`ListedEntry`), over `e`, `f`, `a`, `s` and the story `c`: what the row shows
# and no more (no bodies, no metadata lists to parse), its sort time from the page itself.
_LISTED = (
    "e.uid, f.grp, f.site, f.name, e.title, e.link,"
    " CASE WHEN a.uid IS NULL THEN e.summary ELSE a.summary END, a.uid IS NULL, a.source,"
    " s.read, s.starred, c.id, c.size, c.sources, c.canonical"
)


class ReadingMixin(SQLiteBase):
    def reader_entries(
        self,
        user_id: int,
        query: EntryQuery,
        *,
        limit: int,
        after: str | None = None,
        bodies: bool = False,
    ) -> tuple[list[ReaderEntry], str | None]:
        columns = f"{ENTRY_COLUMNS if bodies else LIST_COLUMNS}, s.read, s.starred"
        rows, following = self._page_rows(user_id, query, limit, after, columns)
        return [_reader_entry(r) for r in rows], following

    def reader_ids(
        self, user_id: int, query: EntryQuery, *, limit: int, after: str | None = None
    ) -> tuple[list[tuple[str, int]], str | None]:
        # Microseconds computed by SQLite from the fixed format (…SS.ffffffZ): a thousand
        # datetimes parsed in Python would cost more than the query. `{t}`: the page's table.
        micros = "unixepoch({t}.sort_time)*1000000+CAST(substr({t}.sort_time, 21, 6) AS INTEGER)"
        rows, following = self._page_rows(user_id, query, limit, after, micros, bare=True)
        return [(uid, us) for us, uid, _ in rows], following

    def reader_list(
        self, user_id: int, query: EntryQuery, *, limit: int, after: str | None = None
    ) -> tuple[list[ListedEntry], str | None]:
        rows, following = self._page_rows(user_id, query, limit, after, _LISTED, _CLUSTER_JOIN)
        return [_listed(r) for r in rows], following

    def reader_entries_json(
        self, user_id: int, query: EntryQuery, *, limit: int, after: str | None = None
    ) -> tuple[list[str], str | None]:
        rows, following = self._page_rows(user_id, query, limit, after, _ENTRY_JSON, _CLUSTER_JOIN)
        return [r[0] for r in rows], following

    def _page_rows(
        self,
        user_id: int,
        query: EntryQuery,
        limit: int,
        after: str | None,
        columns: str,
        joins: str = "",
        *,
        bare: bool = False,
    ) -> tuple[list[Any], str | None]:
        """The page's rows (`columns` over ENTRY_FROM, the reader's state `s` and `joins`, then
        the entry's uid and sort time) and the next page's cursor (None on the last). `bare`:
        `columns` over the page's own table (named `{t}` in them: its uid and sort time), no
        entry rows read: the page's query itself, in its index order (no second sort)."""
        plan = self._page(user_id, query, limit, after, columns if bare else None)
        if plan is None:
            return [], None
        page, params = plan
        if bare:
            rows = self._db.execute(page, params).fetchall()
        else:
            rows = self._db.execute(
                f"WITH page AS MATERIALIZED ({page}) SELECT {columns}, p.uid, p.sort_time"
                # CROSS JOIN: SQLite keeps the page as the outer loop.
                f" FROM page p CROSS JOIN {ENTRY_FROM} {_STATE_JOIN}{joins} WHERE e.uid=p.uid"
                " ORDER BY p.sort_time DESC, p.uid",
                params,
            ).fetchall()
        if len(rows) <= limit:
            return rows, None
        last = rows[limit - 1]
        return rows[:limit], _encode_cursor(last[-1], last[-2])

    def _page(
        self, user_id: int, query: EntryQuery, limit: int, after: str | None, columns: str | None = None
    ) -> tuple[str, dict[str, Any]] | None:
        """The SELECT of a page's uids and sort times (one more than `limit`: is there a next
        page; `columns` over the page's table `{t}` before them), from the indexes alone, and
        its parameters; None when the page is sure to be empty. The page's rows are read only
        then: the filters never read an entry's bodies, which sit in the same table row."""
        if limit < 1:
            raise StoreError(f"limit must be at least 1, not {limit}")
        if query.uids is not None and not query.uids:
            return None
        params: dict[str, Any] = {"user": user_id, "n": limit + 1}
        if query.starred:
            # Starred entries are few: their own index, in list order, drives the page.
            where = self._where(query, "s", params, limit)
            if where is not None:
                where += ["s.user_id=:user", "s.starred=1"]
            source, t = "entry_state s", "s"
        else:
            where = self._where(query, "e", params, limit)
            source, t = f"entries e {_STATE_JOIN}", "e"
        if where is None:
            return None
        if after is not None:
            when, uid = _decode_cursor(after)
            # Written so the index seeks to the cursor: `sort_time <= t` bounds the range, the
            # rest drops the cursor's own entry and those before it at the same time.
            where.append(f"{t}.sort_time<=:at AND ({t}.sort_time<:at OR {t}.uid>:auid)")
            params.update(at=when, auid=uid)
        first = columns.format(t=t) + ", " if columns else ""
        page = (
            f"SELECT {first}{t}.uid, {t}.sort_time FROM {source} WHERE {' AND '.join(where) or '1'}"
            f" ORDER BY {t}.sort_time DESC, {t}.uid LIMIT :n"
        )
        return page, params

    def reader_entry(self, user_id: int, uid: str) -> ReaderEntry | None:
        row = self._db.execute(
            f"SELECT {ENTRY_COLUMNS}, s.read, s.starred, e.uid, e.sort_time FROM {ENTRY_FROM} {_STATE_JOIN}"
            " WHERE e.uid=:uid",
            {"user": user_id, "uid": uid},
        ).fetchone()
        return None if row is None else _reader_entry(row)

    def set_entry_state(
        self,
        user_id: int,
        uids: Sequence[str],
        *,
        read: bool | None = None,
        starred: bool | None = None,
        now: datetime,
    ) -> int:
        ids = list(dict.fromkeys(uids))  # each once: a repeated uid is still one entry
        found = 0
        with self._tx():
            for chunk in chunks(ids):
                params = {
                    "user": user_id,
                    "uids": json.dumps(list(chunk)),
                    "read": None if read is None else int(read),
                    "starred": None if starred is None else int(starred),
                    "now": format_time(now),
                }
                found += self._db.execute(
                    "SELECT COUNT(*) FROM entries WHERE uid IN (SELECT value FROM json_each(:uids))", params
                ).fetchone()[0]
                if read is None and starred is None:
                    continue
                # A time is kept while its flag stays set, so marking again keeps the first.
                self._db.execute(
                    "INSERT INTO entry_state"
                    " (user_id, feed_key, uid, sort_time, read, starred, read_at, starred_at)"
                    " SELECT :user, e.feed_key, e.uid, e.sort_time, COALESCE(:read, 0),"
                    " COALESCE(:starred, 0), CASE WHEN :read THEN :now END,"
                    " CASE WHEN :starred THEN :now END FROM entries e"
                    " WHERE e.uid IN (SELECT value FROM json_each(:uids)) ORDER BY e.feed_key, e.uid"
                    " ON CONFLICT (user_id, feed_key, uid) DO UPDATE"
                    " SET read=COALESCE(:read, read), starred=COALESCE(:starred, starred),"
                    " read_at=CASE WHEN NOT COALESCE(:read, read) THEN NULL ELSE COALESCE(read_at, :now) END,"
                    " starred_at=CASE WHEN NOT COALESCE(:starred, starred) THEN NULL"
                    " ELSE COALESCE(starred_at, :now) END",
                    params,
                )
                # Back at the default (unread, unstarred): no row, as for an entry never touched.
                self._db.execute(
                    "DELETE FROM entry_state WHERE user_id=:user AND read=0 AND starred=0"
                    " AND (feed_key, uid) IN (SELECT feed_key, uid FROM entries"
                    " WHERE uid IN (SELECT value FROM json_each(:uids)))",
                    params,
                )
                if read is not None:
                    self._count_read(user_id, _FEEDS_OF_UIDS, params)
        return int(found)

    def mark_read(self, user_id: int, query: EntryQuery, *, before: datetime, now: datetime) -> int:
        if query.status == "read" or (query.uids is not None and not query.uids):
            return 0
        params: dict[str, Any] = {"user": user_id, "before": format_time(before), "now": format_time(now)}
        # Only the starred filter needs the reader's state; without it the statement reads
        # entries alone (no join of the table it writes, which SQLite would copy first).
        where = self._where(replace(query, status="all"), "e", params, None)
        assert where is not None  # only a page's plan (a limit) knows a list empty beforehand
        where.append("e.first_seen<:before")
        source = f"entries e {_STATE_JOIN}" if query.starred is not None else "entries e"
        if query.starred:
            where.append("s.starred=1")
        with self._tx():
            # The upsert's WHERE leaves rows already read untouched, so they are not counted.
            cur = self._db.execute(
                "INSERT INTO entry_state (user_id, feed_key, uid, sort_time, read, read_at)"
                f" SELECT :user, e.feed_key, e.uid, e.sort_time, 1, :now FROM {source}"
                # In feed order, the order of the table's key (and of the feed index, which holds
                # all it reads): each row lands beside the last one instead of anywhere in the
                # table (several times faster at 100,000 rows).
                f" WHERE {' AND '.join(where)} ORDER BY e.feed_key"
                " ON CONFLICT (user_id, feed_key, uid) DO UPDATE SET read=1, read_at=excluded.read_at"
                " WHERE read=0",
                params,
            )
            if cur.rowcount:
                chosen = _chosen_feeds(query, params)
                self._count_read(user_id, f"SELECT f.key AS feed_key FROM feeds f WHERE {chosen}", params)
            return cur.rowcount

    def unread_counts(self, user_id: int) -> dict[str, tuple[int, int]]:
        rows = self._db.execute(
            "SELECT f.key, COALESCE(c.entries, 0), COALESCE(r.read, 0) FROM feeds f"
            " LEFT JOIN feed_counts c ON c.feed_key=f.key"
            " LEFT JOIN reader_feed_counts r ON r.user_id=? AND r.feed_key=f.key",
            (user_id,),
        )
        return {key: (total - read, total) for key, total, read in rows}

    def _count_read(self, user_id: int, feeds: str, params: dict[str, Any]) -> None:
        """Count again what the reader has read of the feeds `feeds` selects (in the
        transaction that changed their state): one key range of entry_state per feed."""
        self._db.execute(
            "INSERT INTO reader_feed_counts (user_id, feed_key, read)"
            " SELECT :user, k.feed_key, (SELECT COUNT(*) FROM entry_state s"
            " WHERE s.user_id=:user AND s.feed_key=k.feed_key AND s.read=1)"
            f" FROM ({feeds}) k WHERE 1"
            " ON CONFLICT (user_id, feed_key) DO UPDATE SET read=excluded.read",
            {**params, "user": user_id},
        )

    def _where(
        self, query: EntryQuery, t: str, params: dict[str, Any], limit: int | None
    ) -> list[str] | None:
        """The WHERE terms over `t` (`e`: entries, with the reader's state `s` joined as
        `_STATE_JOIN` does; `s`: entry_state alone; both have uid, feed_key and sort_time) that
        pick the query's entries, their parameters put in `params`; None when a page of
        `limit` (None: every match) is sure to be empty. The starred=True filter is the
        caller's."""
        feeds = self._feed_terms(query, t, params, limit)
        if feeds is None:
            return None
        where = feeds
        if query.status == "unread":
            where.append("s.read IS NOT 1")
        elif query.status == "read":
            # IS, not `=`: an `=` on the joined state would let SQLite start from the reader's
            # read rows and sort them all; walking the time index finds a page sooner.
            where.append("s.read IS 1")
        if query.starred is False:
            where.append("s.starred IS NOT 1")
        if query.since is not None:
            where.append(f"{t}.sort_time>=:since")
            params["since"] = format_time(query.since)
        if query.until is not None:
            where.append(f"{t}.sort_time<:until")
            params["until"] = format_time(query.until)
        if query.uids is not None:
            where.append(f"{t}.uid IN (SELECT value FROM json_each(:only))")
            params["only"] = json.dumps(list(query.uids))
        return where

    def _feed_terms(
        self, query: EntryQuery, t: str, params: dict[str, Any], limit: int | None
    ) -> list[str] | None:
        """The terms of the feed, group and site filters, written for the cheaper of two ways to
        a page of entries: walking the time index and skipping what does not match, or taking
        the feeds' entries from the feed index and sorting them. An unread list also leaves
        out the feeds with nothing unread (for a reader who keeps up: nearly all of them), and
        is known empty when none is left. None: nothing can match."""
        chosen = _chosen_feeds(query, params)
        where = []
        if query.feed is not None:
            where.append(f"{t}.feed_key=:feed")  # one feed: its index range is in list order
        planned = limit is not None and t == "e"
        if planned and query.status == "unread":
            assert limit is not None
            if chosen == "1":  # every feed: two sums, without looking at each feed
                unread, archive = self._db.execute(
                    "SELECT (SELECT SUM(entries) FROM feed_counts)"
                    " - COALESCE((SELECT SUM(read) FROM reader_feed_counts WHERE user_id=:user), 0),"
                    " (SELECT MAX(rowid) FROM entries)",
                    params,
                ).fetchone()
                spread = None
            else:
                unread, spread, archive = self._db.execute(
                    f"SELECT SUM({_UNREAD}), SUM(CASE WHEN {_UNREAD}>0 THEN c.entries END),"
                    f" (SELECT MAX(rowid) FROM entries) FROM {_FEED_UNREAD} WHERE {chosen}",
                    params,
                ).fetchone()
            if not unread or unread <= 0:
                return None
            walk_rows = limit * archive / unread  # unread entries spread evenly over the archive
            if spread is None and walk_rows > _WALK_ENOUGH:
                spread = self._db.execute(
                    f"SELECT SUM(c.entries) FROM {_FEED_UNREAD} WHERE {_UNREAD}>0", params
                ).fetchone()[0]
            if query.feed is None and spread is not None and _SORT_COST * spread < walk_rows:
                where.append(
                    f"e.feed_key IN (SELECT c.feed_key FROM {_FEED_UNREAD} WHERE {chosen} AND {_UNREAD}>0)"
                )
                return where
            walk = True
        else:
            some = query.feed is None and (query.group is not None or query.site is not None)
            walk = planned and some and self._walk_time_index(chosen, params, limit or 0)
        if query.group is not None or query.site is not None:
            # `+` keeps SQLite off the feed index: the list walks the time index instead.
            where.append(f"{'+' if walk else ''}{t}.feed_key IN (SELECT f.key FROM feeds f WHERE {chosen})")
        return where

    def _walk_time_index(self, chosen: str, params: dict[str, Any], limit: int) -> bool:
        """Whether a page of `limit` entries of the `chosen` feeds is found sooner by walking the
        archive newest first (about limit × all feeds / these feeds rows) than by sorting
        these feeds' entries (about entries × these feeds / all feeds), entries spread evenly."""
        count, every, entries = self._db.execute(
            f"SELECT (SELECT COUNT(*) FROM feeds f WHERE {chosen}), (SELECT COUNT(*) FROM feeds),"
            " (SELECT MAX(rowid) FROM entries)",  # the rowid: the number of entries, near enough
            params,
        ).fetchone()
        if not count or not entries:
            return False
        return bool(limit * every / count < _SORT_COST * entries * count / every)


def _chosen_feeds(query: EntryQuery, params: dict[str, Any]) -> str:
    """The condition on `feeds f` of the query's feed, group and site filters ("1": every
    feed), its parameters put in `params`."""
    terms = []
    for term, name, value in (
        ("f.key=:feed", "feed", query.feed),
        ("f.grp=:group", "group", query.group),
        ("f.site=:site", "site", query.site),
    ):
        if value is not None:
            terms.append(term)
            params[name] = value
    return " AND ".join(terms) or "1"


def _reader_entry(row: Any) -> ReaderEntry:
    """An ENTRY_COLUMNS row followed by the reader's read and starred, the entry's uid and its
    sort time."""
    return ReaderEntry(entry=row_to_entry(row), read=bool(row[-4]), starred=bool(row[-3]))


def _listed(r: Any) -> ListedEntry:
    """A `_LISTED` row followed by the entry's uid and sort time."""
    # Our fixed time format (…Z), read by fromisoformat.
    cluster = None if r[11] is None else ClusterRef(r[11], r[12], r[13], r[14])
    when = datetime.fromisoformat(r[-1])
    return ListedEntry(
        r[0], r[1], r[2], r[3], r[4], r[5], when, r[6], bool(r[7]), r[8], bool(r[9]), bool(r[10]), cluster
    )


def _encode_cursor(sort_time: str, uid: str) -> str:
    raw = json.dumps([sort_time, uid], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[str, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        when, uid = json.loads(raw)
        if not (isinstance(when, str) and isinstance(uid, str)):
            raise ValueError(cursor)
        datetime.fromisoformat(when)
    except (binascii.Error, ValueError, TypeError) as e:  # JSONDecodeError is a ValueError
        raise StoreError(f"malformed cursor {cursor[:40]!r}: pass back a `next` this list returned") from e
    return when, uid
