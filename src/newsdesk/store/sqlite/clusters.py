"""Story clusters (`search.cluster`, migration 0003): members, their LSH bands, the
multi-member clusters and the rev up to which they are current."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

from ...models import ClusterLookup, ClusterMember, ClusterRef, ClusterSummary
from ..common import format_time
from .base import SQLiteBase, chunks, utc


class ClustersMixin(SQLiteBase):
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
            for chunk in chunks(sorted(set(keys))):
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
            for chunk in chunks(sorted(wanted)):
                rows += self._db.execute(
                    "SELECT b.band, m.cluster_id, b.uid FROM cluster_bands b JOIN cluster_members m"
                    f" ON m.uid=b.uid WHERE b.band IN ({','.join('?' * len(chunk))})",
                    chunk,
                ).fetchall()
        for band, cid, uid in rows:
            if uid not in skip:
                by_band.setdefault(band, []).append((cid, uid))
        signatures: dict[str, bytes] = {}
        for chunk in chunks(sorted({uid for v in by_band.values() for _, uid in v})):
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
        expect: int | None = None,
    ) -> bool:
        with self._tx():
            # First, with the mark's row locked: a second process saving from the same mark
            # waits here, then finds it moved and writes nothing.
            if expect is not None and (
                self._db.execute(
                    "UPDATE cluster_state SET rev=? WHERE id=1 AND rev=?", (mark, expect)
                ).rowcount
                != 1
            ):
                return False
            affected: set[str] = set()
            for chunk in chunks(list(detached)):
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
            for chunk in chunks(sorted(affected)):
                marks = ",".join("?" * len(chunk))
                self._db.execute(f"DELETE FROM clusters WHERE id IN ({marks})", chunk)
                self._db.execute(
                    "INSERT INTO clusters (id, size, sources, first_time, last_time, canonical)"
                    " SELECT g.cluster_id, COUNT(*), COUNT(DISTINCT g.feed_key), MIN(g.sort_time),"
                    " MAX(g.sort_time), (SELECT uid FROM cluster_members WHERE cluster_id=g.cluster_id"
                    " ORDER BY sort_time, uid LIMIT 1)"
                    f" FROM cluster_members g WHERE g.cluster_id IN ({marks})"
                    " GROUP BY g.cluster_id HAVING COUNT(*) > 1",
                    chunk,
                )
            self._db.execute("UPDATE cluster_state SET rev=? WHERE id=1", (mark,))
        return True

    def reset_clusters(self) -> None:
        with self._tx():
            for table in ("cluster_members", "cluster_bands", "clusters"):
                self._db.execute(f"DELETE FROM {table}")
            self._db.execute("UPDATE cluster_state SET rev=0 WHERE id=1")

    def cluster_refs(self, uids: Iterable[str]) -> dict[str, ClusterRef]:
        out: dict[str, ClusterRef] = {}
        for chunk in chunks(list(uids)):
            rows = self._db.execute(
                "SELECT m.uid, c.id, c.size, c.sources, c.canonical"
                " FROM cluster_members m INDEXED BY cluster_members_story"  # not the rows (`story_keys`)
                f" JOIN clusters c ON c.id=m.cluster_id WHERE m.uid IN ({','.join('?' * len(chunk))})",
                chunk,
            )
            out.update((r[0], ClusterRef(r[1], r[2], r[3], r[4])) for r in rows)
        return out

    def story_keys(self, uids: Iterable[str]) -> dict[str, str]:
        # From the covering index (uid, cluster_id) alone (migration 0017), never the rows.
        out: dict[str, str] = {}
        for chunk in chunks(list(uids)):
            out.update(
                self._db.execute(
                    "SELECT uid, cluster_id FROM cluster_members INDEXED BY cluster_members_story"
                    f" WHERE uid IN ({','.join('?' * len(chunk))})",
                    chunk,
                )
            )
        return out

    def list_clusters(self, *, limit: int = 20, offset: int = 0) -> list[ClusterSummary]:
        return self._cluster_summaries("ORDER BY c.last_time DESC, c.id LIMIT ? OFFSET ?", (limit, offset))

    def get_cluster(self, cluster_id: str) -> tuple[ClusterSummary, list[ClusterMember]] | None:
        """A cluster by its id, or by the uid of any member (even of a one-entry 'cluster')."""
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
        members = [ClusterMember(r[0], r[1], r[2], utc(r[3]), r[4], r[5], r[6], r[7]) for r in rows]
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
        rows = self._db.execute(
            "SELECT c.id, c.size, c.sources, c.first_time, c.last_time, m.uid, e.title FROM clusters c"
            " JOIN cluster_members m ON m.uid=c.canonical JOIN entries e ON e.uid=m.uid " + tail,
            params,
        )
        return [ClusterSummary(r[0], r[1], r[2], utc(r[3]), utc(r[4]), r[5], r[6]) for r in rows]
