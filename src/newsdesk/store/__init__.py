"""The archive: `open_store(url)` returns a backend that satisfies `Store`."""

from __future__ import annotations

from ..errors import StoreError
from .common import is_postgres_url
from .protocol import (
    ArchiveStore,
    BackgroundCheck,
    BackupStore,
    ChangeFeed,
    ClusterStore,
    HostHoldStore,
    IntegrityChecks,
    PublishMarkStore,
    ReadingStore,
    StatsStore,
    Store,
    UserStore,
)
from .sqlite import SQLiteStore

__all__ = [
    "ArchiveStore",
    "BackgroundCheck",
    "BackupStore",
    "ChangeFeed",
    "ClusterStore",
    "HostHoldStore",
    "IntegrityChecks",
    "PublishMarkStore",
    "ReadingStore",
    "SQLiteStore",
    "StatsStore",
    "Store",
    "UserStore",
    "open_store",
]


def open_store(database: str, *, mmap_mb: int = 0) -> Store:
    """A SQLite file path (or sqlite:///path), or a postgresql:// URL. `mmap_mb`: how much of a
    SQLite file to read through a memory map (`serve.sqlite_mmap_mb`)."""
    if is_postgres_url(database):
        from .postgres import PostgresStore  # psycopg is loaded only by those who use it

        return PostgresStore(database)
    if database.startswith("sqlite:///"):
        database = database.removeprefix("sqlite:///")
    elif "://" in database:
        raise StoreError(f"{database}: unsupported database URL (use a file path or postgresql://…)")
    return SQLiteStore(database, mmap_bytes=mmap_mb << 20)
