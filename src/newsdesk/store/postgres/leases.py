"""Leases: how any number of worker processes, on any number of machines, share the feeds.

A worker claims due feeds (`claim_feeds`): in one transaction it locks the lease rows of due,
unleased feeds with `FOR UPDATE SKIP LOCKED` (a row another claimer holds is passed over, not
waited for), keeps as many per host as the per-host limit leaves across all workers, and writes
itself in as their holder until `expires`. A row another claimer leased and committed while this
one scanned is re-read under the lock (PostgreSQL's re-check of the WHERE clause in READ
COMMITTED) and dropped: two workers never hold one feed. The worker fetches, stores the feed and
its next check, then releases the lease (`release_feeds`); a worker that dies keeps its leases
until they expire, and then any other claims the feeds again (their next check is still due).

Time is always the caller's (`now`, `expires`), never the server's `now()`: a test moves its
clock past a lease without waiting, and the servers' clocks do not matter.

Per-host limit: the claimer takes a transaction-scoped advisory lock per host it wants (in
host order, so two claimers never deadlock), counts that host's live leases, and takes only what
is left of `per_host`; a second claimer of the same host waits for the first's commit, a few
milliseconds. Host holds (`Retry-After`) need nothing here: they are in the archive, and the
fetcher each batch opens starts from them (a held feed is deferred to the end of the hold).

Leadership (`lead`): one process at a time does what must not run twice (publishing): a
session advisory lock on a connection of its own, freed by the server when the process or its
connection dies.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import psycopg

from ...holds import host_key
from ...models import CatalogueFeed
from ..common import format_time
from ..sqlite.catalogue import CATALOGUE_COLUMNS, row_to_feed
from .connection import PgConnection

# Feeds looked at per claim for each one wanted: room for feeds of hosts at their limit.
SCAN_FACTOR = 4
_LEAD_SPACE = 0x6E6C  # "nl": the first key of leadership locks (the second: the name's hash)

_CANDIDATES = (
    "SELECT {cols} FROM feed_leases l JOIN feeds ON feeds.key = l.feed_key"
    " WHERE feeds.enabled = 1 AND feeds.paused IS NULL AND feeds.next_check <= %(now)s"
    " AND l.expires <= %(now)s"
    " ORDER BY feeds.next_check LIMIT %(scan)s"
    " FOR UPDATE OF l SKIP LOCKED"
).format(cols=", ".join(f"feeds.{c.strip()}" for c in CATALOGUE_COLUMNS.split(",")))


def lease_host(url: str | None, route: str | None) -> str:
    """The host a feed's lease counts against: its URL's, or "rsshub" for a route (served by
    whichever instance is free)."""
    return (host_key(url) if url else None) or ("rsshub" if route else "")


class LeasesMixin:
    _pg: PgConnection  # PostgresBase's
    _conninfo: str

    def claim_feeds(
        self, holder: str, now: datetime, expires: datetime, *, limit: int, per_host: int
    ) -> list[CatalogueFeed]:
        """Lease up to `limit` feeds due at `now` to `holder` until `expires`, most overdue
        first, at most `per_host` leased per host across all holders."""
        stamp = format_time(now)
        with self._pg.transaction() as conn:
            rows = conn.execute(_CANDIDATES, {"now": stamp, "scan": limit * SCAN_FACTOR}).fetchall()
            if not rows:
                return []
            feeds = [row_to_feed(r) for r in rows]
            hosts = sorted({lease_host(f.spec.url, f.spec.route) for f in feeds})
            # One statement, the array in host order (unnest keeps it): no round trip per host.
            conn.execute(
                "SELECT pg_advisory_xact_lock(hashtext('newsdesk-host:' || h)) FROM unnest(%s::text[]) AS h",
                (hosts,),
            )
            busy = dict(
                conn.execute(
                    "SELECT host, COUNT(*) FROM feed_leases WHERE holder IS NOT NULL AND expires > %s"
                    " AND host = ANY(%s) GROUP BY host",
                    (stamp, hosts),
                ).fetchall()
            )
            chosen: list[tuple[CatalogueFeed, str]] = []
            for feed in feeds:
                host = lease_host(feed.spec.url, feed.spec.route)
                if busy.get(host, 0) < per_host:
                    busy[host] = busy.get(host, 0) + 1
                    chosen.append((feed, host))
                    if len(chosen) == limit:
                        break
            if chosen:
                conn.execute(
                    "UPDATE feed_leases AS l SET holder=%s, host=v.host, expires=%s"
                    " FROM unnest(%s::text[], %s::text[]) AS v(key, host) WHERE l.feed_key = v.key",
                    (holder, format_time(expires), [f.key for f, _ in chosen], [h for _, h in chosen]),
                )
        return [f for f, _ in chosen]

    def renew_feeds(self, holder: str, keys: Sequence[str], expires: datetime) -> int:
        """Move `holder`'s leases of `keys` on to `expires`; how many it still held."""
        with self._pg.pool.connection() as conn:
            cur = conn.execute(
                "UPDATE feed_leases SET expires=%s WHERE holder=%s AND feed_key = ANY(%s)",
                (format_time(expires), holder, list(keys)),
            )
            return cur.rowcount

    def release_feeds(self, holder: str, keys: Sequence[str]) -> int:
        """Give up `holder`'s leases of `keys` (those another has taken since stay his)."""
        with self._pg.pool.connection() as conn:
            cur = conn.execute(
                "UPDATE feed_leases SET holder=NULL, host=NULL, expires=DEFAULT"
                " WHERE holder=%s AND feed_key = ANY(%s)",
                (holder, list(keys)),
            )
            return cur.rowcount

    def feed_leases(self, now: datetime) -> dict[str, str]:
        """feed key → holder of every lease live at `now`."""
        with self._pg.pool.connection() as conn:
            rows = conn.execute(
                "SELECT feed_key, holder FROM feed_leases WHERE holder IS NOT NULL AND expires > %s",
                (format_time(now),),
            ).fetchall()
        return {k: h for k, h in rows}

    def lead(self, name: str) -> Leadership | None:
        """Become the one process doing `name` (e.g. "publish"), or None while another is:
        held until `release()` or this process's connection ends."""
        conn = psycopg.connect(self._conninfo, autocommit=True, connect_timeout=10)
        try:
            row = conn.execute(
                "SELECT pg_try_advisory_lock(%s, hashtext(%s))", (_LEAD_SPACE, name)
            ).fetchone()
        except BaseException:
            conn.close()
            raise
        if row is None or not row[0]:
            conn.close()
            return None
        return Leadership(conn)


class Leadership:
    """The leadership `LeasesMixin.lead` gave: its own connection, holding the lock."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self._conn = conn

    def held(self) -> bool:
        """Whether it still holds (its connection lives: a server restart ends it)."""
        if self._conn.closed or self._conn.broken:
            return False
        try:
            self._conn.execute("SELECT 1")
        except psycopg.Error:
            return False
        return True

    def release(self) -> None:
        self._conn.close()  # the server frees a session's advisory locks with it


__all__ = ["Leadership", "LeasesMixin", "lease_host"]
