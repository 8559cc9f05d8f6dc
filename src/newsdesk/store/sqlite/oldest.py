"""A reader's list oldest first, ids and sort times only: what reader apps ask for with the
Google Reader API's `r=o` (catching up from where they were). Pages by keyset on
(sort_time ASC, uid DESC): exactly the newest-first lists' order reversed, on the same index."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime
from typing import Any

from ...errors import StoreError
from ...models import EntryQuery
from ..common import format_time
from .base import SQLiteBase, utc

# The feed, group and site filters as the newest-first lists write them.
from .reading import _chosen_feeds as chosen_feeds


class OldestFirstMixin(SQLiteBase):
    def reader_ids_oldest_first(
        self, user_id: int, query: EntryQuery, *, limit: int, after: str | None = None
    ) -> tuple[list[tuple[str, datetime]], str | None]:
        if limit < 1:
            raise StoreError(f"limit must be at least 1, not {limit}")
        params: dict[str, Any] = {"user": user_id, "n": limit + 1}
        where = []
        chosen = chosen_feeds(query, params)
        if chosen != "1":
            where.append(f"e.feed_key IN (SELECT f.key FROM feeds f WHERE {chosen})")
        if query.status == "unread":
            where.append("s.read IS NOT 1")
        elif query.status == "read":
            where.append("s.read IS 1")
        if query.starred is True:
            where.append("s.starred IS 1")
        elif query.starred is False:
            where.append("s.starred IS NOT 1")
        if query.since is not None:
            where.append("e.sort_time>=:since")
            params["since"] = format_time(query.since)
        if query.until is not None:
            where.append("e.sort_time<:until")
            params["until"] = format_time(query.until)
        if query.uids is not None:
            where.append("e.uid IN (SELECT value FROM json_each(:only))")
            params["only"] = json.dumps(list(query.uids))
        if after is not None:
            params["at"], params["auid"] = _decode(after)
            where.append("e.sort_time>=:at AND (e.sort_time>:at OR e.uid<:auid)")
        rows = self._db.execute(
            "SELECT e.uid, e.sort_time FROM entries e LEFT JOIN entry_state s"
            " ON s.user_id=:user AND s.feed_key=e.feed_key AND s.uid=e.uid"
            f" WHERE {' AND '.join(where) or '1'} ORDER BY e.sort_time, e.uid DESC LIMIT :n",
            params,
        ).fetchall()
        page = [(str(uid), utc(when)) for uid, when in rows[:limit]]
        if len(rows) <= limit:
            return page, None
        last = rows[limit - 1]
        return page, _encode(last[1], last[0])


def _encode(sort_time: str, uid: str) -> str:
    raw = json.dumps(["o", sort_time, uid], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(cursor: str) -> tuple[str, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        kind, when, uid = json.loads(raw)
        if kind != "o" or not (isinstance(when, str) and isinstance(uid, str)):
            raise ValueError(cursor)
        datetime.fromisoformat(when)
    except (binascii.Error, ValueError, TypeError) as e:
        raise StoreError(f"malformed continuation {cursor[:40]!r}: pass back one this list returned") from e
    return when, uid
