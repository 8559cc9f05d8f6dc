"""The storage backends the store suite runs against, and what each needs for its tests.

Every test of `tests/test_store.py` and the locked-archive test of `tests/test_store_errors.py`
runs against each backend: SQLite files, and PostgreSQL on 127.0.0.1:5432 (a database per test).
"""

from __future__ import annotations

import atexit
import inspect
import itertools
import os
import secrets
import sqlite3
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

from newsdesk.store import SQLiteStore, Store, protocol
from newsdesk.store.postgres import PostgresStore

BACKENDS = ["sqlite", "postgresql"]

# The machine's PostgreSQL (trust auth). Each test gets a database of its own, made from a
# template migrated once per test process (48 ms a test against 73 ms for a schema each, made
# and migrated: tests/store_backends.py's measurement in docs/postgresql.md), dropped at exit.
PG_SERVER = os.environ.get("NEWSDESK_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432")
# The pid and a random part: test processes of other worktrees (other pid namespaces too) share
# the server.
_PG_PREFIX = f"newsdesk_test_{os.getpid()}_{secrets.token_hex(3)}"
_pg_serial = itertools.count()
_pg_made: list[str] = []
_pg_locks_stop_reads: set[str] = set()


def pg_admin() -> psycopg.Connection[tuple[object, ...]]:
    return psycopg.connect(f"{PG_SERVER}/test", autocommit=True)


def new_pg_database(*, migrated: bool = True) -> str:
    """The URL of a new database of this test process's own (migrated: from the template)."""
    with pg_admin() as admin:
        template = f"{_PG_PREFIX}_template"
        if migrated and template not in _pg_made:
            admin.execute(f"CREATE DATABASE {template}")
            _pg_made.append(template)
            PostgresStore(f"{PG_SERVER}/{template}").close()
        name = f"{_PG_PREFIX}_{next(_pg_serial)}"
        admin.execute(f"CREATE DATABASE {name}" + (f" TEMPLATE {template}" if migrated else ""))
        _pg_made.insert(0, name)  # dropped before the template
    return f"{PG_SERVER}/{name}"


_pg_owner = os.getpid()


@atexit.register
def _drop_pg_databases() -> None:
    # Only by the test process that made them: a child forked from it exits through here too.
    if not _pg_made or os.getpid() != _pg_owner:
        return
    with pg_admin() as admin:
        for name in _pg_made:
            try:
                admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            except psycopg.Error as e:  # the others still go; this one is named
                print(f"store_backends: could not drop {name}: {e}", file=sys.stderr)


def open_backend(name: str, folder: Path, *, lock_wait: float | None = None) -> Store:
    """A new, empty archive of backend `name` in `folder`; `lock_wait`: seconds to wait for
    another connection's lock (the backend's default when None)."""
    if name == "sqlite":
        path = folder / "archive.db"
        return SQLiteStore(path) if lock_wait is None else SQLiteStore(path, busy_timeout=lock_wait)
    if name == "postgresql":
        url = new_pg_database()
        return PostgresStore(url) if lock_wait is None else PostgresStore(url, lock_wait=lock_wait)
    raise ValueError(f"unknown backend {name!r}")


def backend_class(name: str) -> type:
    if name == "sqlite":
        return SQLiteStore
    if name == "postgresql":
        return PostgresStore
    raise ValueError(f"unknown backend {name!r}")


def let_locks_stop_reads(name: str, store: Store) -> None:
    """Make `locked_out` stop reads as well as writes (call once, before anything is locked)."""
    if name == "postgresql":
        assert isinstance(store, PostgresStore)
        _pg_locks_stop_reads.add(store.url)  # ACCESS EXCLUSIVE rather than EXCLUSIVE
        return
    if name != "sqlite":
        raise ValueError(f"unknown backend {name!r}")
    assert isinstance(store, SQLiteStore)
    # In WAL mode readers never wait for a writer: the lock would only stop the writing methods.
    # In rollback-journal mode an exclusive lock stops every access, reads included.
    store._db.execute("PRAGMA journal_mode=DELETE")


@contextmanager
def locked_out(name: str, store: Store) -> Iterator[None]:
    """Another connection holds an exclusive lock on `store`'s archive until the block ends."""
    if name == "postgresql":
        assert isinstance(store, PostgresStore)
        with psycopg.connect(store.url) as other:  # a transaction until the block ends
            tables = [r[0] for r in other.execute("SELECT tablename FROM pg_tables WHERE schemaname='public'")]
            # EXCLUSIVE stops writers, not readers (as a SQLite writer in WAL mode does).
            mode = "ACCESS EXCLUSIVE" if store.url in _pg_locks_stop_reads else "EXCLUSIVE"
            other.execute(f"LOCK TABLE {', '.join(tables)} IN {mode} MODE")
            yield
            other.rollback()
        return
    if name != "sqlite":
        raise ValueError(f"unknown backend {name!r}")
    assert isinstance(store, SQLiteStore)
    other = sqlite3.connect(store.path, isolation_level=None)
    try:
        other.execute("BEGIN EXCLUSIVE")
        try:
            yield
        finally:
            other.execute("ROLLBACK")
    finally:
        other.close()


def locked_message_ok(name: str, store: Store, message: str) -> bool:
    """The one-line message names the archive and the lock."""
    if name == "postgresql":
        assert isinstance(store, PostgresStore)
        return store.url in message and "locked" in message and "\n" not in message
    assert name == "sqlite" and isinstance(store, SQLiteStore)
    return str(store.path) in message and "locked" in message and "\n" not in message


def driver_lock_error(name: str) -> type[BaseException]:
    """The driver's own error for a lock held too long (what a StoreLockedError wraps)."""
    if name == "sqlite":
        return sqlite3.OperationalError
    if name == "postgresql":
        return psycopg.errors.LockNotAvailable
    raise ValueError(f"unknown backend {name!r}")


def protocol_methods() -> set[str]:
    """Every method of the `Store` Protocol (its role Protocols' included)."""
    return {
        name for name, _ in inspect.getmembers(protocol.Store, inspect.isfunction) if not name.startswith("_")
    }


def public_methods(name: str) -> set[str]:
    """Every public method of backend `name`'s class (but those of roles only it has)."""
    return {
        n for n, _ in inspect.getmembers(backend_class(name), inspect.isfunction) if not n.startswith("_")
    } - backend_only_methods(name)


# Roles only one backend has, outside `Store` (their own tests exercise them under a lock):
# PostgreSQL's search index in the database, the workers' leases (tests/test_leases.py).
BACKEND_ONLY_ROLES: dict[str, tuple[type, ...]] = {
    "postgresql": (protocol.SearchDocStore, protocol.LeaseStore)
}
# Methods only the benchmarks call (synthetic archives).
BACKEND_ONLY_EXTRA: dict[str, set[str]] = {"postgresql": {"fill_synthetic"}}


def role_methods(role: type) -> set[str]:
    """The public methods of one role Protocol."""
    return {n for n, _ in inspect.getmembers(role, inspect.isfunction) if not n.startswith("_")}


def backend_only_methods(name: str) -> set[str]:
    found = BACKEND_ONLY_EXTRA.get(name, set()).copy()
    for role in BACKEND_ONLY_ROLES.get(name, ()):
        found |= role_methods(role)
    return found
