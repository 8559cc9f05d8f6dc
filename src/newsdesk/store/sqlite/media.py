"""Sites' icons and article images kept beside the archive (newsdesk.media), the marks of work
that follows the archive's changes, and the counters the reader pages key their caches by."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime

from ...models import CachedImage, Favicon
from ..common import format_time
from .base import SQLiteBase, chunks

# The page a site's icon is looked for on: a feed's own http(s) URL (its host is the site's,
# usually), else, for RSSHub routes, the site's newest entry's link (to the portal).
_SITE_PAGES = (
    "SELECT f.grp, f.site, COALESCE(MAX(CASE WHEN f.url LIKE 'http%' THEN f.url END),"
    " (SELECT e.link FROM entries e JOIN feeds g ON g.key=e.feed_key"
    "  WHERE g.grp=f.grp AND g.site=f.site AND e.link LIKE 'http%' ORDER BY e.sort_time DESC LIMIT 1))"
    " FROM feeds f LEFT JOIN favicons i ON i.grp=f.grp AND i.site=f.site"
    " WHERE i.grp IS NULL OR (i.data IS NULL AND i.fetched < ?)"
    " GROUP BY f.grp, f.site"
)


class MediaMixin(SQLiteBase):
    # favicons ---------------------------------------------------------------------------------
    def sites_needing_icons(self, retry_before: datetime, limit: int) -> list[tuple[str, str, str]]:
        rows = self._db.execute(f"{_SITE_PAGES} LIMIT ?", (format_time(retry_before), limit))
        return [(g, s, page) for g, s, page in rows if page]

    def save_favicon(
        self,
        group: str,
        site: str,
        now: datetime,
        *,
        data: bytes | None = None,
        content_type: str | None = None,
        error: str | None = None,
    ) -> None:
        with self._tx():
            self._db.execute(
                "INSERT INTO favicons (grp, site, content_type, data, fetched, error) VALUES (?,?,?,?,?,?)"
                " ON CONFLICT (grp, site) DO UPDATE SET content_type=excluded.content_type,"
                " data=excluded.data, fetched=excluded.fetched, error=excluded.error",
                (group, site, content_type, data, format_time(now), error),
            )

    def site_favicon(self, group: str, site: str) -> Favicon | None:
        row = self._db.execute(
            "SELECT data, content_type FROM favicons WHERE grp=? AND site=? AND data IS NOT NULL",
            (group, site),
        ).fetchone()
        return None if row is None else Favicon(group, site, bytes(row[0]), row[1])

    def favicon_sites(self) -> set[tuple[str, str]]:
        return {(g, s) for g, s in self._db.execute("SELECT grp, site FROM favicons WHERE data IS NOT NULL")}

    def site_favicons(self) -> list[Favicon]:
        rows = self._db.execute(
            "SELECT grp, site, data, content_type FROM favicons WHERE data IS NOT NULL ORDER BY grp, site"
        )
        return [Favicon(g, s, bytes(data), kind) for g, s, data, kind in rows]

    # cached images ----------------------------------------------------------------------------
    def image_urls(self, uids: Iterable[str]) -> list[str]:
        out: list[str] = []
        for chunk in chunks(list(uids)):
            rows = self._db.execute(
                f"SELECT images FROM articles WHERE uid IN ({','.join('?' * len(chunk))}) AND images != '[]'",
                chunk,
            )
            for (images,) in rows:
                out.extend(u for u in json.loads(images) if isinstance(u, str))
        return out

    def known_images(self, names: Iterable[str]) -> set[str]:
        found: set[str] = set()
        for chunk in chunks(list(names)):
            rows = self._db.execute(
                f"SELECT name FROM cached_images WHERE name IN ({','.join('?' * len(chunk))})", chunk
            )
            found.update(n for (n,) in rows)
        return found

    def save_image(
        self,
        name: str,
        url: str,
        now: datetime,
        *,
        content_type: str | None = None,
        size: int = 0,
        error: str | None = None,
    ) -> None:
        with self._tx():
            self._db.execute(
                "INSERT INTO cached_images (name, url, content_type, size, fetched, error)"
                " VALUES (?,?,?,?,?,?)"
                " ON CONFLICT (name) DO UPDATE SET url=excluded.url, content_type=excluded.content_type,"
                " size=excluded.size, fetched=excluded.fetched, error=excluded.error",
                (name, url, content_type, size, format_time(now), error),
            )

    def cached_image(self, name: str) -> CachedImage | None:
        row = self._db.execute(
            "SELECT url, content_type, size FROM cached_images WHERE name=? AND error IS NULL", (name,)
        ).fetchone()
        return None if row is None else CachedImage(row[0], name, row[1], row[2])

    def referenced_image_urls(self) -> set[str]:
        out: set[str] = set()
        for (images,) in self._db.execute("SELECT images FROM articles WHERE images != '[]'"):
            out.update(u for u in json.loads(images) if isinstance(u, str))
        return out

    def cached_image_names(self, *, kept: bool = False) -> set[str]:
        where = " WHERE error IS NULL" if kept else ""
        return {n for (n,) in self._db.execute(f"SELECT name FROM cached_images{where}")}

    def forget_images(self, names: Iterable[str]) -> int:
        gone = 0
        with self._tx():
            for chunk in chunks(list(names)):
                cur = self._db.execute(
                    f"DELETE FROM cached_images WHERE name IN ({','.join('?' * len(chunk))})", chunk
                )
                gone += cur.rowcount
        return gone

    def last_removal(self) -> int:
        return int(self._db.execute("SELECT COALESCE(MAX(rev), 0) FROM removed_entries").fetchone()[0])

    # marks and versions -----------------------------------------------------------------------
    def change_mark(self, name: str) -> int | None:
        row = self._db.execute("SELECT rev FROM change_marks WHERE name=?", (name,)).fetchone()
        return None if row is None else int(row[0])

    def set_change_mark(self, name: str, rev: int) -> None:
        with self._tx():
            self._db.execute(
                "INSERT INTO change_marks (name, rev) VALUES (?,?)"
                " ON CONFLICT (name) DO UPDATE SET rev=excluded.rev",
                (name, rev),
            )

    def tree_version(self, user_id: int) -> tuple[int, int, int]:
        row = self._db.execute(
            "SELECT (SELECT version FROM tree_version WHERE id=1),"
            " COALESCE((SELECT version FROM reader_versions WHERE user_id=?), 0),"
            " COALESCE((SELECT MAX(rev) FROM entries), 0)"
            " + COALESCE((SELECT MAX(rev) FROM removed_entries), 0)",
            (user_id,),
        ).fetchone()
        return int(row[0]), int(row[1]), int(row[2])
