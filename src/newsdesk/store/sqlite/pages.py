"""What the reader's pages read besides the other roles: the feed tree with unread counts."""

from __future__ import annotations

from ...models import FeedPlace
from .base import SQLiteBase


class PagesMixin(SQLiteBase):
    def feed_places(self, user_id: int) -> list[FeedPlace]:
        # The counts `unread_counts` reads (reading.py): a feed's entries less the reader's read
        # ones; in the catalogue's order (catalogue.py: the config's, then the API's).
        rows = self._db.execute(
            "SELECT f.key, f.grp, f.site, f.name, f.paused, COALESCE(c.entries, 0) - COALESCE(r.read, 0)"
            " FROM feeds f LEFT JOIN feed_counts c ON c.feed_key=f.key"
            " LEFT JOIN reader_feed_counts r ON r.user_id=? AND r.feed_key=f.key"
            " ORDER BY f.origin = 'api', f.position, f.rowid",
            (user_id,),
        )
        return [FeedPlace(*r) for r in rows]
