"""What every domain module of the PostgreSQL backend shares: the pool (`connection.py`), its
transactions, the change counter, and the numbered migrations (`migrations/`) run once however
many processes start together.

The change counter (`rev`). Derived data (search index, clusters, publishers, reader rules)
catches up by asking for changes after the last rev it saw, so a rev must never become visible
after a higher one has been read: with concurrent writers a sequence would allow that (writer A
takes 11, B takes 12 and commits first; a reader sees 12, moves its mark past 11, and A's entry
is never seen). Here a transaction that gives out revs first locks the one row of `rev_counter`
(`SELECT … FOR UPDATE`, which returns the value the previous holder committed) and moves it to
its highest rev just before COMMIT: writers of revs take turns from their first rev to their
commit, so revs are committed in order, without gaps a reader could skip. Writers that give out
no rev (marks, holds, schedules, reader state) never touch the row and run side by side.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any, cast
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import orjson
import psycopg
from psycopg_pool import ConnectionPool

from ...errors import StoreError
from ..common import mask_url, numbered_migrations
from ..sqlite.base import SQLiteBase, Transaction
from .connection import PgConnection, configure
from .errors import DRIVER_ERRORS, driver_error, is_bug

# Seconds a statement waits for another connection's lock before StoreLockedError (SQLite's
# busy timeout, the same default).
LOCK_WAIT = 60.0
# Our own URL parameters (the rest go to libpq): the pool's size per process.
POOL_MIN = 1
POOL_MAX = 8
# Any constant: the advisory lock migrating processes take turns on.
_MIGRATION_LOCK = 0x6E657773  # "news"


_FLOATING = frozenset({"float8", "float4", "real", "double precision", "numeric"})


def rows_source(types: Sequence[str], rows: Sequence[Sequence[Any]]) -> tuple[str, list[str]]:
    """`rows` as a FROM item (`r`, typed columns c1, c2, …; in the rows' order) and its one
    parameter: a batch in one statement instead of one per row (each statement a round of the
    protocol, parsed, bound and run by the server, and by psycopg). The rows travel as one JSON
    array of arrays: psycopg dumps the elements of an array parameter one by one in Python,
    which cost more than the statements it saved. `jsonb`, parsed once: a `json` value is
    parsed again by every `->>` (17 times an entry, its content included)."""
    # JSON has no NaN or infinity (orjson would send null): the floating columns' values are
    # checked (a look at every value of every row was three times the cost of the dump).
    floating = [i for i, t in enumerate(types) if t in _FLOATING]
    for row in rows if floating else ():
        for i in floating:
            value = row[i]
            if isinstance(value, float) and not math.isfinite(value):
                raise ValueError(f"rows_source: {value} cannot be sent as JSON")
    picks = ", ".join(f"CAST(v->>{i} AS {t}) AS c{i + 1}" for i, t in enumerate(types))
    source = f"(SELECT {picks} FROM jsonb_array_elements(CAST(? AS jsonb)) AS j(v)) AS r"
    return source, [orjson.dumps(rows).decode()]


def split_url(url: str) -> tuple[str, dict[str, int]]:
    """libpq's URL, and our parameters (`pool_min`, `pool_max`) taken out of it."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    ours = {k: v for k, v in query if k in ("pool_min", "pool_max")}
    rest = [(k, v) for k, v in query if k not in ours]
    try:
        sizes = {k: int(v) for k, v in ours.items()}
    except ValueError as e:
        raise StoreError(f"{mask_url(url)}: pool_min and pool_max must be whole numbers") from e
    scheme = "postgresql" if parts.scheme == "postgres" else parts.scheme
    return urlunsplit(parts._replace(scheme=scheme, query=urlencode(rest))), sizes


class PostgresBase(SQLiteBase):
    """A pool of connections to the archive in a PostgreSQL database, migrated on first use.

    `lock_wait`: seconds a statement waits for another connection's lock before giving up."""

    def __init__(self, url: str, *, lock_wait: float = LOCK_WAIT) -> None:
        self.url = url
        self.busy_timeout = lock_wait
        conninfo, sizes = split_url(url)
        self._conninfo = conninfo
        self._local = threading.local()
        self._idle_leads: list[psycopg.Connection[Any]] = []  # LeasesMixin.lead's
        self._idle_claims: list[psycopg.Connection[Any]] = []  # LeasesMixin.claim_feeds'
        self._idle_lock = threading.Lock()
        try:
            # One plain connection first: an unreachable server fails here, at once and clearly.
            with psycopg.connect(conninfo, autocommit=True, connect_timeout=10) as conn:
                configure(conn, lock_timeout=lock_wait)
                migrate(conn, mask_url(url))
            pool = ConnectionPool(
                conninfo,
                min_size=sizes.get("pool_min", POOL_MIN),
                max_size=max(sizes.get("pool_max", POOL_MAX), sizes.get("pool_min", POOL_MIN)),
                kwargs={"autocommit": True},
                configure=partial(configure, lock_timeout=lock_wait),
                check=ConnectionPool.check_connection,
                timeout=max(lock_wait, 10.0),
                open=True,
                name=mask_url(url),
            )
        except DRIVER_ERRORS as e:
            if is_bug(e):
                raise
            raise self._driver_error(e) from e
        self._pg = PgConnection(pool)
        # The domain modules' SQL is SQLite's, run through an adapter with sqlite3's API.
        self._db = cast(Any, self._pg)

    def _driver_error(self, e: Any) -> StoreError:
        return driver_error(e, self.url, lock_wait=self.busy_timeout)

    def _tx(self) -> Transaction:
        return PgTransaction(self)

    def _max_rev(self) -> int:
        if self._pg._pinned() is None or getattr(self._local, "revs_unused", False):
            row = self._db.execute("SELECT rev FROM rev_counter WHERE id=1").fetchone()
            return int(row[0])
        # In a transaction that gives out revs: take the counter's turn (see the module doc).
        # One that reads the rev only (`revs_unused`: insights stored without moving revs) does
        # not, so feeds stored meanwhile do not wait for it.
        self._local.rev_taken = True
        row = self._db.execute("SELECT rev FROM rev_counter WHERE id=1 FOR UPDATE").fetchone()
        return int(row[0])

    def _advance_counter(self) -> None:
        if getattr(self._local, "rev_taken", False):
            self._db.execute(
                "UPDATE rev_counter SET rev=GREATEST(rev, (SELECT COALESCE(MAX(rev), 0) FROM entries),"
                " (SELECT COALESCE(MAX(rev), 0) FROM removed_entries)) WHERE id=1"
            )


class PgTransaction(Transaction):
    """BEGIN … COMMIT on one pooled connection, ROLLBACK on any error: nothing half-written."""

    def __init__(self, store: PostgresBase) -> None:  # not super's: no SQLite connection here
        self._store = store
        self._cm: Any = None

    def __enter__(self) -> None:
        store = self._store
        store._local.rev_taken = False
        self._cm = store._pg.transaction()
        try:
            self._cm.__enter__()
        except DRIVER_ERRORS as e:
            raise store._driver_error(e) from e

    def __exit__(self, exc_type: object, exc: BaseException | None, tb: object) -> None:
        store = self._store
        try:
            if exc is None:
                try:
                    store._advance_counter()
                except BaseException as e:  # roll back and unpin the connection, or the next
                    self._cm.__exit__(type(e), e, e.__traceback__)  # transaction is "nested"
                    raise
                self._cm.__exit__(None, None, None)
            else:
                self._cm.__exit__(type(exc), exc, exc.__traceback__)
        except DRIVER_ERRORS as e:
            if exc is None:  # else the body's error is the one to report
                if is_bug(e):
                    raise
                raise store._driver_error(e) from e
        finally:
            store._local.rev_taken = False
        if isinstance(exc, DRIVER_ERRORS) and not is_bug(exc):
            raise store._driver_error(exc) from exc


def migrations() -> list[tuple[int, str, str]]:
    """(number, name, sql) of every numbered migration, in order."""
    return numbered_migrations("newsdesk.store.postgres")


def applied_versions(conn: psycopg.Connection[Any]) -> set[int]:
    exists = conn.execute("SELECT to_regclass('schema_migrations')").fetchone()
    if exists is None or exists[0] is None:
        return set()
    return {int(r[0]) for r in conn.execute("SELECT version FROM schema_migrations")}


def migrate(
    conn: psycopg.Connection[Any], where: str, *, steps: Callable[[], list[tuple[int, str, str]]] = migrations
) -> None:
    """Apply the migrations not applied yet, each in its own transaction. Processes starting at
    once take turns on an advisory lock, and each looks again once it has the lock: the
    migrations run once."""
    pending = [m for m in steps() if m[0] not in applied_versions(conn)]
    if not pending:
        return
    conn.execute("SELECT pg_advisory_lock(%s)", (_MIGRATION_LOCK,))
    try:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY,"
            " name text NOT NULL, applied timestamptz NOT NULL DEFAULT now())"
        )
        done = applied_versions(conn)
        for number, name, sql in steps():
            if number in done:
                continue
            try:
                with conn.transaction():
                    conn.execute(cast(Any, sql))
                    conn.execute(
                        "INSERT INTO schema_migrations (version, name) VALUES (%s, %s)", (number, name)
                    )
            except psycopg.Error as e:
                if getattr(e, "sqlstate", "") in ("55P03", "40P01"):
                    raise
                raise StoreError(f"{where}: migration {name} failed: {' '.join(str(e).split())}") from e
    finally:
        if not conn.broken:
            conn.execute("SELECT pg_advisory_unlock(%s)", (_MIGRATION_LOCK,))
