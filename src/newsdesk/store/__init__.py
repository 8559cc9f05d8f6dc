"""The archive: `open_store(url)` returns a backend that satisfies `Store`."""

from __future__ import annotations

from ..errors import StoreError
from .protocol import (
    ArchiveStore,
    BackgroundCheck,
    ChangeFeed,
    ClusterStore,
    HostHoldStore,
    IntegrityChecks,
    PublishMarkStore,
    ReadingStore,
    Store,
    UserStore,
)
from .sqlite import SQLiteStore

__all__ = [
    "ArchiveStore",
    "BackgroundCheck",
    "ChangeFeed",
    "ClusterStore",
    "HostHoldStore",
    "IntegrityChecks",
    "PublishMarkStore",
    "ReadingStore",
    "SQLiteStore",
    "Store",
    "UserStore",
    "open_store",
]


def open_store(database: str) -> Store:
    """A SQLite file path (or sqlite:///path), or a postgresql:// URL."""
    if database.startswith(("postgresql://", "postgres://")):
        raise StoreError(
            f"{database}: PostgreSQL storage is not available in this version; use a SQLite file"
        )
    if database.startswith("sqlite:///"):
        database = database.removeprefix("sqlite:///")
    elif "://" in database:
        raise StoreError(f"{database}: unsupported database URL (use a file path or postgresql://…)")
    return SQLiteStore(database)
