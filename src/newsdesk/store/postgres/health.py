"""Integrity checks on PostgreSQL. The server guards its own files (WAL, checksums when the
cluster has them); a page-level check needs the amcheck extension, which newsdesk does not ask
for. What newsdesk checks is what the database does not enforce by itself: the counts and due
times its triggers keep, the change counter, and the declared foreign keys (enforced, unless someone
turned triggers off, e.g. a restore with `session_replication_role = replica`)."""

from __future__ import annotations

import threading

from ...errors import StoreCorruptError, StoreError
from ..common import mask_url
from ..sqlite.base import SQLiteBase

# (what is wrong, the query that lists rows where it is): consistency the triggers keep.
_KEPT = [
    (
        "feed_counts of {0} says {1} entries, the archive holds {2}",
        "SELECT COALESCE(c.feed_key, n.feed_key), COALESCE(c.entries, 0), COALESCE(n.count, 0)"
        " FROM feed_counts c FULL JOIN (SELECT feed_key, COUNT(*) AS count FROM entries GROUP BY feed_key) n"
        " ON n.feed_key=c.feed_key WHERE COALESCE(c.entries, 0) <> COALESCE(n.count, 0)",
    ),
    (
        "reader {0} has read {2} entries of {1}, reader_feed_counts says {3}",
        "SELECT COALESCE(r.user_id, s.user_id), COALESCE(r.feed_key, s.feed_key), COALESCE(s.count, 0),"
        " COALESCE(r.read, 0) FROM reader_feed_counts r FULL JOIN"
        " (SELECT user_id, feed_key, COUNT(*) AS count FROM entry_state WHERE read=1"
        " GROUP BY user_id, feed_key) s"
        " ON s.user_id=r.user_id AND s.feed_key=r.feed_key WHERE COALESCE(r.read, 0) <> COALESCE(s.count, 0)",
    ),
    (
        "reader {0} has state of entry {1}, which is not in the archive",
        "SELECT s.user_id, s.uid FROM entry_state s"
        " WHERE NOT EXISTS (SELECT 1 FROM entries e WHERE e.uid=s.uid)",
    ),
    (
        "the lease row of feed {0} says it is due {1}, the catalogue says {2}",
        "SELECT f.key, COALESCE(l.due, 'never'), COALESCE(d.due, 'never') FROM feeds f"
        " CROSS JOIN LATERAL (SELECT CASE WHEN f.enabled = 1 AND f.paused IS NULL"
        " THEN f.next_check END AS due) d"
        " LEFT JOIN feed_leases l ON l.feed_key = f.key"
        " WHERE l.feed_key IS NULL OR l.due IS DISTINCT FROM d.due",
    ),
    (
        "the change counter ({0}) is behind a committed rev ({1})",
        "SELECT c.rev, m.rev FROM rev_counter c, (SELECT GREATEST((SELECT MAX(rev) FROM entries),"
        " (SELECT MAX(rev) FROM removed_entries)) AS rev) m WHERE m.rev > c.rev",
    ),
]


class PgHealthMixin(SQLiteBase):
    url: str

    def integrity_problems(self, limit: int = 20) -> list[str]:
        out: list[str] = []
        for text, sql in _KEPT:
            for row in self._db.execute(f"{sql} LIMIT ?", (limit,)):
                out.append(text.format(*row))
        return out[:limit] + self.foreign_key_problems(limit)[: max(0, limit - len(out))]

    def foreign_key_problems(self, limit: int = 20) -> list[str]:
        keys = self._db.execute(
            "SELECT c.conrelid::regclass::text, a.attname, c.confrelid::regclass::text, f.attname"
            " FROM pg_constraint c"
            " JOIN pg_attribute a ON a.attrelid=c.conrelid AND a.attnum=c.conkey[1]"
            " JOIN pg_attribute f ON f.attrelid=c.confrelid AND f.attnum=c.confkey[1]"
            " WHERE c.contype='f' AND cardinality(c.conkey)=1"
            " AND c.connamespace=current_schema()::regnamespace ORDER BY 1, 2"
        ).fetchall()
        out: list[str] = []
        for table, column, parent, key in keys:
            rows = self._db.execute(
                f"SELECT t.{column} FROM {table} t WHERE t.{column} IS NOT NULL AND NOT EXISTS"
                f" (SELECT 1 FROM {parent} p WHERE p.{key}=t.{column}) LIMIT ?",
                (limit - len(out),),
            )
            out.extend(f"{table} row {column}={v} refers to a missing row of {parent}" for (v,) in rows)
            if len(out) >= limit:
                break
        return out[:limit]

    def start_quick_check(self) -> PgQuickCheck:
        return PgQuickCheck(self)


class PgQuickCheck:
    """`integrity_problems` in a thread of its own (its statements borrow their own pooled
    connections) beside the caller's work; `problems()` waits for it."""

    def __init__(self, store: PgHealthMixin) -> None:
        self._store = store
        self._found: list[str] = []
        self._error: StoreError | None = None
        self._thread = threading.Thread(target=self._run, name="newsdesk-quick-check", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self._found = self._store.integrity_problems()
        except StoreError as e:  # the check could not run (a lock, the server gone): not damage
            self._error = e

    def problems(self) -> list[str]:
        self._thread.join()
        return list(self._found)

    def damage(self) -> StoreError | None:
        found = self.problems()
        if not found:
            return None
        more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
        where = mask_url(getattr(self._store, "url", "postgresql"))
        return StoreCorruptError(
            f"{where}: the archive is inconsistent: {found[0]}{more}; `newsdesk check` lists it"
        )

    def cancel(self) -> None:
        self._thread.join()
