"""Leases: how any number of worker processes, on any number of machines, share the feeds.

A worker claims due feeds (`claim_feeds`) in one short transaction: it takes the claim lock,
then one statement picks the due, unleased feeds, most overdue first, at most what `per_host`
leaves per host across all workers, writes the worker in as their holder until `expires`, and
returns their catalogue rows. The worker fetches, stores each feed and its next check, then
releases the lease (`release_feeds`); a worker that dies keeps its leases until they expire,
and then any other claims the feeds again (their next check is still due).

Time is always the caller's (`now`, `expires`), never the server's `now()`: a test moves its
clock past a lease without waiting, and the servers' clocks do not matter.

The claim lock: one transaction-scoped advisory lock for every claim, so claims of all workers
run one after another. That is what makes both guarantees simple to prove:
- two workers never hold one feed: a claim reads (its statement starts after the previous
  claim committed, and a commit is visible before its locks are freed) only leases expired at
  `now`, and the lease rows it takes are also locked `FOR UPDATE SKIP LOCKED`, so a row being
  renewed or released at that moment is passed over, never waited for or taken twice;
- at most `per_host` live leases per host: the live leases counted per host are exactly those
  of committed claims (releases and expiry only lower them while a claim runs), and the claim's
  own picks are ranked per host on top of those counts.
Serialising costs little: a claim holds the lock for one statement and its commit (~4 ms for
100 feeds at 100,000 due, docs/benchmarks.md), once per batch (tens of feeds, seconds of
fetching): the lock allows ~200 claims a second, 20,000 feeds a second at batches of 100, where
100,000 feeds checked every 30 minutes need ~56. The per-host advisory locks it replaces (one
per candidate host, hundreds a claim) cost more than the waits they saved.

A claim's round trips: it runs on a connection of its own kept between claims (the pool checks
each connection it lends with a round trip of its own), its statements are pipelined (BEGIN,
the lock, the claim and COMMIT are sent together: one round trip), its plan is made once, and its
commit does not wait for the WAL to reach the disk (`synchronous_commit = off`, for this
transaction alone). What that risks: a server crash within the WAL writer's delay (200 ms) can
forget a claim its worker was told of, and another worker may then claim and fetch those feeds
too; the storing of a fetch checks the stored hashes under the change counter's lock, so
nothing is stored twice. The next synchronous commit of anyone (a stored feed) makes the claim
durable with it, and a clean shutdown or restart of the server loses nothing.

Sharing the last feeds (`share`): when fewer than `limit * share` due feeds are left, a claim
takes a `share`-th of them, so the last ones due are spread over the workers looking instead of
one batch going to the first to ask while the others find nothing (workers pass 2: at the end
of a round each claim takes half of what is left, the last batches shrink, and no worker
fetches a whole batch alone while the others are idle).

What keeps the statement small: `feed_leases.host` holds each feed's lease host for as long as
its URL and route stay the same (PG 0026: a change forgets it), computed here in Python by the
fetcher's own `host_key` and filled in after a claim that saw feeds without one, which then
claims again for the room it has left (a new archive's first claim fills all of them once).
`feed_leases.due` holds each feed's next check while it is checked at all (PG 0032: the
catalogue's triggers keep it in the transaction that changes the feed), so the candidates are
read from one index of the narrow lease table, keys and hosts only, with no lookup per
candidate; full catalogue rows only for the chosen ones. The catalogue itself has no index on
`next_check` any more: a check's update of its wide row then stays on its page (HOT), and
`feeds` needs no vacuum of its pages and indexes every few thousand checks (those vacuums took
the second core from the claims). Host holds (`Retry-After`) need nothing here: they are in the
archive, and the fetcher each batch opens starts from them (a held feed is deferred to the end
of the hold).

Leadership (`lead`): one process at a time does what must not run twice (publishing, a share
of the insights catch-up, a CPU slot): a session advisory lock on a connection of its own, freed
by the server when the process or its connection dies. A worker asks for turns many times a
batch, so a released leadership's connection (its lock given back) waits in the store for the
next `lead` instead of being closed: a new connection is a server process started and
authenticated, and one per turn cost more than the turns' work.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import psycopg

from ...holds import host_key
from ...models import CatalogueFeed
from ..common import format_time
from ..sqlite.base import utc
from ..sqlite.catalogue import CATALOGUE_COLUMNS, row_to_feed
from .base import split_url
from .connection import PgConnection, configure

# Feeds looked at per claim for each one wanted: room for feeds of hosts at their limit.
SCAN_FACTOR = 4
_LEAD_SPACE = 0x6E6C  # "nl": the first key of leadership locks (the second: the name's hash)
_CLAIM_LOCK = (_LEAD_SPACE, 0x636C61)  # "cla": the claim lock, taken by every claim
_IDLE_LEADS = 4  # released leaderships' connections kept for the next `lead`

_FEED_COLUMNS = ", ".join(f"feeds.{c.strip()}" for c in CATALOGUE_COLUMNS.split(","))

# Candidates: the first `scan` due feeds whose lease has run out, by due time (the
# feed_leases_due index), keys and hosts only. Ranked per host after the live leases already
# counted there; the first `limit` that fit are locked (`FOR UPDATE SKIP LOCKED`: a row being
# renewed or released just then is passed over, and one changed since the statement began is
# checked again against `expires`), leased, and their catalogue rows returned, most overdue
# first. Only the chosen rows are locked: a row lock is a write (and a WAL record), the
# candidates are 4× as many.
_CLAIM = f"""
WITH cand AS (
    SELECT l.feed_key, l.host, l.due
    FROM feed_leases l
    WHERE l.due <= %(now)s AND l.expires <= %(now)s AND l.host IS NOT NULL
    ORDER BY l.due LIMIT %(scan)s
), live AS (
    SELECT host, COUNT(*) AS n FROM feed_leases
    WHERE holder IS NOT NULL AND expires > %(now)s AND host IN (SELECT host FROM cand)
    GROUP BY host
), ranked AS (
    SELECT c.feed_key, c.due, COALESCE(live.n, 0)
        + ROW_NUMBER() OVER (PARTITION BY c.host ORDER BY c.due, c.feed_key) AS slot
    FROM cand c LEFT JOIN live ON live.host = c.host
), chosen AS (
    SELECT feed_key FROM ranked WHERE slot <= %(per_host)s
    ORDER BY due, feed_key
    LIMIT CAST(LEAST(%(limit)s, CEIL((SELECT COUNT(*) FROM cand) / CAST(%(share)s AS numeric))) AS bigint)
), locked AS (
    SELECT l.feed_key FROM feed_leases l
    WHERE l.feed_key IN (SELECT feed_key FROM chosen) AND l.expires <= %(now)s
    FOR UPDATE SKIP LOCKED
), leased AS (
    UPDATE feed_leases AS l SET holder = %(holder)s, expires = %(expires)s
    FROM locked WHERE l.feed_key = locked.feed_key
    RETURNING l.feed_key
)
SELECT {_FEED_COLUMNS} FROM feeds JOIN leased ON leased.feed_key = feeds.key
ORDER BY feeds.next_check, feeds.key
"""


# The scheduler's due feeds from the lease table's copy of their next checks (PG 0032: the
# catalogue has no index of its own on `next_check`), in SQLite's order.
_DUE = (
    f"SELECT {_FEED_COLUMNS} FROM feed_leases l JOIN feeds ON feeds.key = l.feed_key"
    " WHERE l.due <= ? ORDER BY l.due, feeds.position LIMIT ?"
)


class DueMixin:
    """Due feeds for a scheduler that claims no leases (`serve` or `run --due` on PostgreSQL),
    read like the claims read them: from `feed_leases.due`."""

    _pg: PgConnection  # PostgresBase's

    def due_feeds(self, now: datetime, limit: int | None = None) -> list[CatalogueFeed]:
        rows = self._pg.execute(_DUE, (format_time(now), -1 if limit is None else limit))
        return [row_to_feed(r) for r in rows]

    def next_check_time(self) -> datetime | None:
        row = self._pg.execute("SELECT MIN(due) FROM feed_leases").fetchone()
        return None if row is None or row[0] is None else utc(row[0])


def lease_host(url: str | None, route: str | None) -> str:
    """The host a feed's lease counts against: its URL's, or "rsshub" for a route (served by
    whichever instance is free)."""
    return (host_key(url) if url else None) or ("rsshub" if route else "")


def fill_lease_hosts(conn: psycopg.Connection[Any]) -> int:
    """Give every lease row without a host (a feed added, or its URL or route changed, since
    the last claim) its feed's lease host; how many. Nothing to do is one index probe."""
    rows = conn.execute(
        "SELECT l.feed_key, f.spec_url, f.route FROM feed_leases l"
        " JOIN feeds f ON f.key = l.feed_key WHERE l.host IS NULL"
    ).fetchall()
    if not rows:
        return 0
    # Only if the feed still has the URL and route read: a change made meanwhile reset
    # the host to NULL again, and the next claim computes it from the new ones.
    cur = conn.execute(
        "UPDATE feed_leases AS l SET host = v.host"
        " FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[]) AS v(key, url, route, host),"
        " feeds AS f WHERE l.feed_key = v.key AND f.key = v.key AND l.host IS NULL"
        " AND f.spec_url IS NOT DISTINCT FROM v.url AND f.route IS NOT DISTINCT FROM v.route",
        (
            [r[0] for r in rows],
            [r[1] for r in rows],
            [r[2] for r in rows],
            [lease_host(r[1], r[2]) for r in rows],
        ),
    )
    return cur.rowcount


def _claim(conn: psycopg.Connection[Any], params: dict[str, Any]) -> tuple[list[tuple[Any, ...]], bool]:
    """One claim's transaction on `conn` (autocommit, no transaction open), in one round trip:
    its rows, and whether some lease lacked its host (read in the statement's snapshot, taken
    before the lock): such a feed is not claimed until `fill_hosts` has given it one."""
    with conn.pipeline():
        conn.execute("BEGIN")
        conn.execute("SET LOCAL synchronous_commit = off")
        # Once psycopg prepares the claim (from its fifth run on a connection), it is planned
        # once for all: planning it for each claim's parameters took 0.5–1.5 ms, as long as
        # running its join, and chose the same plan.
        conn.execute("SET LOCAL plan_cache_mode = force_generic_plan")
        lock = conn.execute(
            "SELECT pg_advisory_xact_lock(%s, %s) IS NULL,"
            " EXISTS (SELECT 1 FROM feed_leases WHERE host IS NULL)",
            _CLAIM_LOCK,
        )
        cur = conn.execute(_CLAIM, params)
        conn.execute("COMMIT")
        row = lock.fetchone()
        return cur.fetchall(), bool(row is not None and row[1])


def fill_hosts(conn: psycopg.Connection[Any]) -> int:
    """`fill_lease_hosts` in a transaction of its own under the claim lock (`conn` in
    autocommit); how many it filled."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s, %s)", _CLAIM_LOCK)
        return fill_lease_hosts(conn)


class LeasesMixin:
    _pg: PgConnection  # PostgresBase's
    _conninfo: str
    _idle_leads: list[psycopg.Connection[Any]]  # connections of released leaderships (`lead`)
    _idle_claims: list[psycopg.Connection[Any]]  # connections kept for the next claim
    busy_timeout: float  # seconds a statement waits for a lock (PostgresBase's)
    _idle_lock: threading.Lock

    def claim_feeds(
        self, holder: str, now: datetime, expires: datetime, *, limit: int, per_host: int, share: int = 1
    ) -> list[CatalogueFeed]:
        """Lease up to `limit` feeds due at `now` to `holder` until `expires`, most overdue
        first, at most `per_host` leased per host across all holders; when fewer than
        `limit * share` are there to claim, a `share`-th of them (rounded up)."""
        if share < 1:
            raise ValueError(f"claim_feeds: share={share}, at least 1")
        params = {
            "now": format_time(now),
            "expires": format_time(expires),
            "holder": holder,
            "scan": limit * SCAN_FACTOR,
            "limit": limit,
            "share": share,
            "per_host": per_host,
        }
        conn, kept = self._claim_connection()
        try:
            rows, unhosted = _claim(conn, params)
        except psycopg.OperationalError:
            dropped = conn.broken
            conn.close()
            if not (kept and dropped):
                raise
            # A kept connection the server dropped meanwhile (a restart): nothing of this
            # claim reached it, so once more on a new one.
            conn, _ = self._claim_connection(fresh=True)
            try:
                rows, unhosted = _claim(conn, params)
            except BaseException:
                conn.close()
                raise
        except BaseException:
            conn.close()  # whatever state its transaction is in, it is not reused
            raise
        try:
            if unhosted:  # feeds new or moved since the last claim: their hosts, then them too
                fill_hosts(conn)
                if len(rows) < limit:
                    more = params | {"limit": limit - len(rows), "scan": (limit - len(rows)) * SCAN_FACTOR}
                    rows += _claim(conn, more)[0]
        except BaseException:
            conn.close()
            raise
        self._idle_claim(conn)
        return [row_to_feed(r) for r in rows]

    def _claim_connection(self, *, fresh: bool = False) -> tuple[psycopg.Connection[Any], bool]:
        """A connection for a claim, and whether it was kept from an earlier one."""
        kept = None if fresh else self._kept(self._idle_claims)
        if kept is not None:
            return kept, True
        conn = psycopg.connect(self._conninfo, autocommit=True, connect_timeout=10)
        try:
            configure(conn, lock_timeout=self.busy_timeout)
        except BaseException:
            conn.close()
            raise
        return conn, False

    def _idle_claim(self, conn: psycopg.Connection[Any]) -> None:
        self._keep(self._idle_claims, conn)

    def _kept(self, idle: list[psycopg.Connection[Any]]) -> psycopg.Connection[Any] | None:
        """A live connection from `idle` (the kept ones of leaderships or claims), or None."""
        with self._idle_lock:
            while idle:
                conn = idle.pop()
                if not conn.closed and not conn.broken:
                    return conn
                conn.close()
        return None

    def _keep(self, idle: list[psycopg.Connection[Any]], conn: psycopg.Connection[Any]) -> None:
        """`conn` kept in `idle` for the next use (a few at most), or closed."""
        with self._idle_lock:
            if len(idle) < _IDLE_LEADS and not conn.closed and not conn.broken:
                idle.append(conn)
                return
        conn.close()

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
                "UPDATE feed_leases SET holder=NULL, expires=DEFAULT WHERE holder=%s AND feed_key = ANY(%s)",
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
        conn = self._lead_connection()
        try:
            row = self._try_lead(conn, name)
        except psycopg.OperationalError:
            # A kept connection the server dropped meanwhile (a restart): once more, on a new one.
            conn = self._lead_connection(fresh=True)
            row = self._try_lead(conn, name)
        if row is None or not row[0]:
            self._idle_lead(conn)
            return None
        return Leadership(conn, name, self._idle_lead)

    def _try_lead(self, conn: psycopg.Connection[Any], name: str) -> tuple[Any, ...] | None:
        try:
            return conn.execute(
                "SELECT pg_try_advisory_lock(%s, hashtext(%s))", (_LEAD_SPACE, name)
            ).fetchone()
        except BaseException:
            conn.close()
            raise

    def _lead_connection(self, *, fresh: bool = False) -> psycopg.Connection[Any]:
        kept = None if fresh else self._kept(self._idle_leads)
        return kept or psycopg.connect(self._conninfo, autocommit=True, connect_timeout=10)

    def _idle_lead(self, conn: psycopg.Connection[Any]) -> None:
        """A connection holding no leadership lock: kept for the next `lead` (a few at most)."""
        self._keep(self._idle_leads, conn)

    def _close_leads(self) -> None:
        """Close the connections kept for leaderships and claims (`PostgresStore.close`)."""
        with self._idle_lock:
            idle, self._idle_leads, self._idle_claims = self._idle_leads + self._idle_claims, [], []
        for conn in idle:
            conn.close()


class SlotLooker:
    """Looks for the first free of some leaderships, and whether any feed waits to be claimed,
    on a connection of its own kept between looks: what a worker waiting for one of its
    machine's slots asks, about once a second, before it opens the archive (`newsdesk worker`)."""

    def __init__(self, url: str) -> None:
        self._conninfo = split_url(url)[0]
        self._conn: psycopg.Connection[Any] | None = None

    def take(self, names: Sequence[str]) -> Leadership | None:
        """The first free of `names`, held from now on (its connection goes with it, closed when
        it is given back), or None while all are held. psycopg.Error when the server cannot be
        reached."""
        conn = self._connection()
        for name in names:
            row = conn.execute(
                "SELECT pg_try_advisory_lock(%s, hashtext(%s))", (_LEAD_SPACE, name)
            ).fetchone()
            if row is not None and row[0]:
                self._conn = None
                return Leadership(conn, name, _close)
        return None

    def claimable(self, now: datetime) -> bool:
        """Whether any feed is due at `now` with its lease run out (one probe of the due index);
        psycopg.Error when the server cannot be reached."""
        conn = self._connection()
        row = conn.execute(
            "SELECT EXISTS (SELECT 1 FROM feed_leases WHERE due <= %s AND expires <= %s)",
            (format_time(now), format_time(now)),
        ).fetchone()
        return bool(row is not None and row[0])

    def _connection(self) -> psycopg.Connection[Any]:
        conn = self._conn
        if conn is None or conn.closed or conn.broken:
            conn = self._conn = psycopg.connect(self._conninfo, autocommit=True, connect_timeout=10)
        return conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def _close(conn: psycopg.Connection[Any]) -> None:
    conn.close()


class Leadership:
    """The leadership `LeasesMixin.lead` gave: its own connection, holding the lock."""

    def __init__(
        self, conn: psycopg.Connection[Any], name: str, give_back: Callable[[psycopg.Connection[Any]], None]
    ) -> None:
        self._conn = conn
        self._name = name
        self._give_back = give_back
        self._released = False

    def held(self) -> bool:
        """Whether it still holds (its connection lives: a server restart ends it)."""
        if self._released or self._conn.closed or self._conn.broken:
            return False
        try:
            self._conn.execute("SELECT 1")
        except psycopg.Error:
            return False
        return True

    def release(self) -> None:
        """Give the lock back; its connection goes back to the store for the next `lead` (or is
        closed, which frees a session's advisory locks too)."""
        if self._released:  # the connection may be another leadership's by now
            return
        self._released = True
        if self._conn.closed:
            return
        try:
            row = self._conn.execute(
                "SELECT pg_advisory_unlock(%s, hashtext(%s))", (_LEAD_SPACE, self._name)
            ).fetchone()
        except psycopg.Error:
            self._conn.close()
            return
        if row is None or not row[0]:  # not held after all: no lock may stay behind
            self._conn.close()
            return
        self._give_back(self._conn)


__all__ = ["DueMixin", "Leadership", "LeasesMixin", "SlotLooker", "fill_lease_hosts", "lease_host"]
