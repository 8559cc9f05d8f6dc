"""The storage backends the store suite runs against, and what each needs for its tests.

A second backend (PostgreSQL) joins `BACKENDS` and gives each function below its branch; every
test of `tests/test_store.py` and the locked-archive test of `tests/test_store_errors.py` then
run against it too.
"""

from __future__ import annotations

import inspect
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from newsdesk.store import SQLiteStore, Store, protocol

BACKENDS = ["sqlite"]


def open_backend(name: str, folder: Path, *, lock_wait: float | None = None) -> Store:
    """A new, empty archive of backend `name` in `folder`; `lock_wait`: seconds to wait for
    another connection's lock (the backend's default when None)."""
    if name == "sqlite":
        path = folder / "archive.db"
        return SQLiteStore(path) if lock_wait is None else SQLiteStore(path, busy_timeout=lock_wait)
    raise ValueError(f"unknown backend {name!r}")


def backend_class(name: str) -> type:
    if name == "sqlite":
        return SQLiteStore
    raise ValueError(f"unknown backend {name!r}")


def let_locks_stop_reads(name: str, store: Store) -> None:
    """Make `locked_out` stop reads as well as writes (call once, before anything is locked)."""
    if name != "sqlite":
        raise ValueError(f"unknown backend {name!r}")
    assert isinstance(store, SQLiteStore)
    # In WAL mode readers never wait for a writer: the lock would only stop the writing methods.
    # In rollback-journal mode an exclusive lock stops every access, reads included.
    store._db.execute("PRAGMA journal_mode=DELETE")


@contextmanager
def locked_out(name: str, store: Store) -> Iterator[None]:
    """Another connection holds an exclusive lock on `store`'s archive until the block ends."""
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
    assert name == "sqlite" and isinstance(store, SQLiteStore)
    return str(store.path) in message and "locked" in message and "\n" not in message


def driver_lock_error(name: str) -> type[BaseException]:
    """The driver's own error for a lock held too long (what a StoreLockedError wraps)."""
    if name == "sqlite":
        return sqlite3.OperationalError
    raise ValueError(f"unknown backend {name!r}")


def protocol_methods() -> set[str]:
    """Every method of the `Store` Protocol (its role Protocols' included)."""
    return {
        name for name, _ in inspect.getmembers(protocol.Store, inspect.isfunction) if not name.startswith("_")
    }


def public_methods(name: str) -> set[str]:
    """Every public method of backend `name`'s class."""
    return {
        n for n, _ in inspect.getmembers(backend_class(name), inspect.isfunction) if not n.startswith("_")
    }
