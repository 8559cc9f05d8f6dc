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
from datetime import datetime
from typing import Any

from ...errors import StoreError
from ...models import EntryQuery, ReaderEntry
from ..common import format_time

# The archive's own entry columns and row reader: a reader's entry is the archive's entry.
from .archive import _ENTRY_COLUMNS as ENTRY_COLUMNS
from .archive import _row_to_entry as row_to_entry
from .base import ENTRY_FROM, SQLiteBase, chunks

# The reader's state of the entry `e`: NULLs when the entry has none (unread, unstarred).
_STATE_JOIN = "LEFT JOIN entry_state s ON s.user_id=:user AND s.uid=e.uid"


class ReadingMixin(SQLiteBase):
    def reader_entries(
        self, user_id: int, query: EntryQuery, *, limit: int, after: str | None = None
    ) -> tuple[list[ReaderEntry], str | None]:
        if limit < 1:
            raise StoreError(f"limit must be at least 1, not {limit}")
        where, params = _filters(query)
        params["user"] = user_id
        if after is not None:
            when, uid = _decode_cursor(after)
            # Written so the index seeks to the cursor: `sort_time <= t` bounds the range, the
            # rest drops the cursor's own entry and those before it at the same time.
            where.append("e.sort_time<=:at AND (e.sort_time<:at OR e.uid>:auid)")
            params.update(at=when, auid=uid)
        params["n"] = limit + 1  # one more says whether a next page exists
        # The page's uids first, from the indexes alone; only then its rows: the filters never
        # read an entry's bodies, which sit in the same table row.
        page = (
            f"SELECT e.uid, e.sort_time FROM entries e {_STATE_JOIN}"
            f" WHERE {' AND '.join(where) or '1'} ORDER BY e.sort_time DESC, e.uid LIMIT :n"
        )
        rows = self._db.execute(
            f"WITH page AS MATERIALIZED ({page}) SELECT {ENTRY_COLUMNS}, s.read, s.starred, p.sort_time"
            # CROSS JOIN: SQLite keeps the page as the outer loop.
            f" FROM page p CROSS JOIN {ENTRY_FROM} {_STATE_JOIN} WHERE e.uid=p.uid"
            " ORDER BY p.sort_time DESC, p.uid",
            params,
        ).fetchall()
        more = len(rows) > limit
        rows = rows[:limit]
        out = [_reader_entry(r) for r in rows]
        if not more:
            return out, None
        last = rows[-1]
        return out, _encode_cursor(last[-1], last[0])

    def reader_entry(self, user_id: int, uid: str) -> ReaderEntry | None:
        row = self._db.execute(
            f"SELECT {ENTRY_COLUMNS}, s.read, s.starred, e.sort_time FROM {ENTRY_FROM} {_STATE_JOIN}"
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
                    "INSERT INTO entry_state (user_id, uid, feed_key, read, starred, read_at, starred_at)"
                    " SELECT :user, e.uid, e.feed_key, COALESCE(:read, 0), COALESCE(:starred, 0),"
                    " CASE WHEN :read THEN :now END, CASE WHEN :starred THEN :now END FROM entries e"
                    " WHERE e.uid IN (SELECT value FROM json_each(:uids))"
                    " ON CONFLICT (user_id, uid) DO UPDATE"
                    " SET read=COALESCE(:read, read), starred=COALESCE(:starred, starred),"
                    " read_at=CASE WHEN NOT COALESCE(:read, read) THEN NULL ELSE COALESCE(read_at, :now) END,"
                    " starred_at=CASE WHEN NOT COALESCE(:starred, starred) THEN NULL"
                    " ELSE COALESCE(starred_at, :now) END",
                    params,
                )
                # Back at the default (unread, unstarred): no row, as for an entry never touched.
                self._db.execute(
                    "DELETE FROM entry_state WHERE user_id=:user AND NOT read AND NOT starred"
                    " AND uid IN (SELECT value FROM json_each(:uids))",
                    params,
                )
        return int(found)

    def mark_read(self, user_id: int, query: EntryQuery, *, before: datetime, now: datetime) -> int:
        where, params = _filters(query)
        where += ["e.first_seen<:before", "s.read IS NOT 1"]
        params.update(user=user_id, before=format_time(before), now=format_time(now))
        with self._tx():
            cur = self._db.execute(
                "INSERT INTO entry_state (user_id, uid, feed_key, read, read_at)"
                f" SELECT :user, e.uid, e.feed_key, 1, :now FROM entries e {_STATE_JOIN}"
                f" WHERE {' AND '.join(where)}"
                " ON CONFLICT (user_id, uid) DO UPDATE SET read=1, read_at=excluded.read_at",
                params,
            )
            return cur.rowcount

    def unread_counts(self, user_id: int) -> dict[str, tuple[int, int]]:
        rows = self._db.execute(
            "SELECT f.key, (SELECT COUNT(*) FROM entries e WHERE e.feed_key=f.key),"
            " (SELECT COUNT(*) FROM entry_state s WHERE s.user_id=? AND s.feed_key=f.key AND s.read)"
            " FROM feeds f",
            (user_id,),
        )
        return {key: (total - read, total) for key, total, read in rows}


def _filters(query: EntryQuery) -> tuple[list[str], dict[str, Any]]:
    """The WHERE terms over `entries e` and `entry_state s` (see `_STATE_JOIN`) that pick the
    query's entries, and their parameters."""
    where: list[str] = []
    params: dict[str, Any] = {}
    if query.feed is not None:
        where.append("e.feed_key=:feed")
        params["feed"] = query.feed
    if query.group is not None or query.site is not None:
        # A subquery, not a join: the list still walks the time index, feed keys from it.
        terms = []
        if query.group is not None:
            terms.append("grp=:group")
            params["group"] = query.group
        if query.site is not None:
            terms.append("site=:site")
            params["site"] = query.site
        where.append(f"e.feed_key IN (SELECT key FROM feeds WHERE {' AND '.join(terms)})")
    if query.status == "unread":
        where.append("s.read IS NOT 1")
    elif query.status == "read":
        where.append("s.read=1")
    if query.starred is not None:
        where.append("s.starred=1" if query.starred else "s.starred IS NOT 1")
    if query.since is not None:
        where.append("e.sort_time>=:since")
        params["since"] = format_time(query.since)
    if query.until is not None:
        where.append("e.sort_time<:until")
        params["until"] = format_time(query.until)
    if query.uids is not None:
        where.append("e.uid IN (SELECT value FROM json_each(:only))")
        params["only"] = json.dumps(list(query.uids))
    return where, params


def _reader_entry(row: Any) -> ReaderEntry:
    """An ENTRY_COLUMNS row followed by the reader's read, starred and the entry's sort time."""
    return ReaderEntry(entry=row_to_entry(row), read=bool(row[-3]), starred=bool(row[-2]))


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
