"""The connection every domain module of the SQLite backend shares, its transactions and its
numbered migrations (`migrations/`)."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from ...errors import StoreError, StoreIOError
from ..common import numbered_migrations, parse_time
from .guard import connect_uri, create_archive, driver_error, empty_file_error, is_bug
from .snapshot import backup_before_migrating

# Generous: the search catch-up may write from a second process while posts are published.
BUSY_TIMEOUT = 60.0

# Entries with their feed's names and their cleaned article (archive reads, search texts).
ENTRY_FROM = "entries e JOIN feeds f ON f.key=e.feed_key LEFT JOIN articles a ON a.uid=e.uid"


class SQLiteBase:
    """One connection to the archive file, opened (and the file made and migrated) once.

    `busy_timeout`: seconds to wait for another process's lock before giving up; `mmap_bytes`:
    how much of the file to read through a memory map (0: none)."""

    def __init__(self, path: str | Path, *, busy_timeout: float = BUSY_TIMEOUT, mmap_bytes: int = 0) -> None:
        self.path = Path(path)
        self.busy_timeout = busy_timeout
        db: sqlite3.Connection | None = None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if not self.path.exists():
                create_archive(self.path, lambda con: migrate(con, self.path, self._driver_error))
            elif self.path.is_file() and self.path.stat().st_size == 0:
                raise empty_file_error(self.path)
            # mode=rw: never create a file here (only `create_archive` does, complete).
            # isolation_level=None: we issue BEGIN/COMMIT ourselves so each fetch is one transaction.
            db = sqlite3.connect(connect_uri(self.path, "rw"), uri=True, isolation_level=None)
            db.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")  # first: the next may wait
            db.execute("PRAGMA journal_mode=WAL")
            # NORMAL is crash-safe for the application in WAL mode; only a power cut may drop the
            # last commits, and never leaves a half-written one.
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("PRAGMA foreign_keys=ON")
            # 8 MB of pages per connection (SQLite's default is 2 MB): an API page of 50 entries
            # with their clusters reads from memory, 293 → 380 requests/s at one client on the
            # bench archive; 32 MB gained no more and cost 45 MB of serve's memory.
            db.execute("PRAGMA cache_size=-8000")
            if mmap_bytes:
                # Pages read through a memory map: a writer's commit empties every other
                # connection's page cache, and the next read refills it with a system call and a
                # copy per page. The price: an I/O error reading the file ends the process
                # (SIGBUS) instead of raising, so it is serve's option, off by default.
                db.execute(f"PRAGMA mmap_size={int(mmap_bytes):d}")
            backup_before_migrating(db, self.path, migrations()[-1][0], busy_timeout=busy_timeout)
            migrate(db, self.path, self._driver_error)
        except sqlite3.Error as e:
            if db is not None:
                db.close()
            if is_bug(e):
                raise
            raise self._driver_error(e) from e
        except StoreError:
            if db is not None:
                db.close()
            raise
        except OSError as e:
            raise StoreIOError(f"{self.path}: cannot open database: {e.strerror or e}") from e
        self._db = db

    def _driver_error(self, e: sqlite3.Error) -> StoreError:
        return driver_error(e, self.path, busy_timeout=self.busy_timeout)

    def _tx(self) -> Transaction:
        return Transaction(self._db, self._driver_error)

    def _max_rev(self) -> int:
        row = self._db.execute(
            "SELECT MAX(m) FROM (SELECT MAX(rev) AS m FROM entries"
            " UNION ALL SELECT MAX(rev) FROM removed_entries)"
        ).fetchone()
        return int(row[0] or 0)


class Transaction:
    """BEGIN IMMEDIATE … COMMIT, rolled back on any error so nothing is half-written."""

    def __init__(self, db: sqlite3.Connection, error: Callable[[sqlite3.Error], StoreError]) -> None:
        self._db = db
        self._error = error

    def __enter__(self) -> None:
        try:
            self._db.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as e:  # e.g. another writer held the lock past busy_timeout
            raise self._error(e) from e

    def __exit__(self, exc_type: object, exc: BaseException | None, tb: object) -> None:
        if exc is None:
            try:
                self._db.execute("COMMIT")
            except sqlite3.Error as e:
                self._rollback()
                raise self._error(e) from e
        else:
            self._rollback()
            if isinstance(exc, sqlite3.Error) and not is_bug(exc):
                raise self._error(exc) from exc

    def _rollback(self) -> None:
        # SQLite may already have rolled back by itself (disk full, I/O error): the original
        # error is the one to report, not "no transaction is active".
        with contextlib.suppress(sqlite3.Error):
            self._db.execute("ROLLBACK")


def migrations() -> list[tuple[int, str, str]]:
    """(number, name, sql) of every numbered migration, in order."""
    return numbered_migrations("newsdesk.store.sqlite")


def migrate(db: sqlite3.Connection, path: Path, error: Callable[[sqlite3.Error], StoreError]) -> None:
    current = db.execute("PRAGMA user_version").fetchone()[0]
    for number, name, sql in migrations():
        if number <= current:
            continue
        try:
            db.execute("BEGIN IMMEDIATE")
            for statement in _split_sql(sql):
                db.execute(statement)
            db.execute(f"PRAGMA user_version={number:d}")
            db.execute("COMMIT")
        except sqlite3.Error as e:
            with contextlib.suppress(sqlite3.Error):  # SQLite may have rolled back by itself
                db.execute("ROLLBACK")
            failed = error(e)
            if type(failed) is StoreError:  # not a damaged, locked or full archive: say which step
                failed = StoreError(f"{path}: migration {name} failed: {e}")
            raise failed from e


def _split_sql(script: str) -> list[str]:
    """Split a migration into statements (our migrations contain no ';' inside literals; a
    trigger's body, BEGIN … END, holds several and stays one statement)."""
    lines = [ln for ln in script.splitlines() if not ln.strip().startswith("--")]
    out: list[str] = []
    pending = ""
    for piece in "\n".join(lines).split(";"):
        pending += piece + ";"
        if sqlite3.complete_statement(pending):
            out.append(pending.strip().removesuffix(";").strip())
            pending = ""
    return [s for s in out if s]


def chunks(items: Sequence[Any], size: int = 500) -> Iterator[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def utc(text: str) -> datetime:
    value = parse_time(text)
    assert value is not None
    return value
