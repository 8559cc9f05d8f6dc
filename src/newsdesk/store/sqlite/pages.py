"""What the reader's pages read besides the other roles: the feed tree with unread counts, and
the other copies of a story."""

from __future__ import annotations

from ...models import FeedPlace, SitePlace, StoryCopy
from .base import SQLiteBase, utc

# Each feed with the reader's (`?`) counts: the counts `unread_counts` reads (reading.py), a
# feed's entries less the reader's read ones. Orders follow the catalogue's (catalogue.py: the
# config's, then the API's).
_FEEDS_COUNTED = (
    "feeds f LEFT JOIN feed_counts c ON c.feed_key=f.key"
    " LEFT JOIN reader_feed_counts r ON r.user_id=? AND r.feed_key=f.key"
)
_UNREAD = "COALESCE(c.entries, 0) - COALESCE(r.read, 0)"


class PagesMixin(SQLiteBase):
    def site_places(self, user_id: int) -> list[SitePlace]:
        rows = self._db.execute(
            f"SELECT f.grp, f.site, SUM({_UNREAD}) FROM {_FEEDS_COUNTED}"
            " GROUP BY f.grp, f.site ORDER BY MIN((f.origin = 'api') * 1000000000000 + f.position)",
            (user_id,),
        )
        return [SitePlace(*r) for r in rows]

    def feed_places(
        self, user_id: int, *, group: str | None = None, site: str | None = None, feed: str | None = None
    ) -> list[FeedPlace]:
        where: list[str] = ["1"]
        params: list[object] = [user_id]
        if group is not None:
            where.append("f.grp=?")
            params.append(group)
        if site is not None:
            where.append("f.site=?")
            params.append(site)
        if feed is not None:
            where.append("(f.grp, f.site) = (SELECT grp, site FROM feeds WHERE key=?)")
            params.append(feed)
        rows = self._db.execute(
            f"SELECT f.key, f.grp, f.site, f.name, f.paused, {_UNREAD} FROM {_FEEDS_COUNTED}"
            f" WHERE {' AND '.join(where)} ORDER BY f.origin = 'api', f.position, f.rowid",
            params,
        )
        return [FeedPlace(*r) for r in rows]

    def story_copies(self, uid: str, limit: int) -> list[StoryCopy]:
        # The cluster's members in time order from its index (cluster_id, sort_time, uid),
        # stopping after `limit`: a big story costs no more than a small one.
        rows = self._db.execute(
            "SELECT e.uid, e.title, f.site, f.name, a.source, m.sort_time"
            " FROM cluster_members c CROSS JOIN cluster_members m ON m.cluster_id=c.cluster_id"
            " JOIN entries e ON e.uid=m.uid JOIN feeds f ON f.key=e.feed_key"
            " LEFT JOIN articles a ON a.uid=e.uid"
            " WHERE c.uid=? AND m.uid!=c.uid ORDER BY m.sort_time, m.uid LIMIT ?",
            (uid, limit),
        )
        return [StoryCopy(r[0], r[1], r[2], r[3], r[4], utc(r[5])) for r in rows]
