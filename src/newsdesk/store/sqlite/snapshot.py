"""Copies of the archive taken while other processes write to it (`backup_to`, and the backup
`base.py` takes before migrating an archive), and what an archive holds in numbers.

SQLite's online backup API runs in one step: the whole copy is read inside one read transaction,
so it is the archive as of one commit, while writers (in WAL mode) carry on.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
from glob import escape as glob_escape
from pathlib import Path

from ... import atomic
from ...errors import StoreCorruptError, StoreError, StoreFullError, StoreLockedError
from .guard import connect_uri, driver_error, is_bug

log = logging.getLogger("newsdesk.store")

KEEP_PRE_MIGRATION = 3  # backups taken before migrations kept beside the archive (the newest)


def online_copy(db: sqlite3.Connection, source: Path, target: Path, *, busy_timeout: float) -> None:
    """Copy the archive `source`, open on `db` (no transaction open), into a new single-file
    database at `target` (written under a temporary name beside it, then renamed, so `target`
    is complete or absent)."""
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    _unlink(tmp)
    try:
        # The read transaction first, waiting up to the busy timeout like any read: the backup
        # API itself would retry a lock forever. It also fixes the state the copy is of.
        db.execute("BEGIN")
        try:
            db.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
        except sqlite3.Error as e:
            with contextlib.suppress(sqlite3.Error):
                db.execute("ROLLBACK")
            if is_bug(e):
                raise
            raise driver_error(e, source, busy_timeout=busy_timeout) from e
        try:
            copy = sqlite3.connect(tmp, isolation_level=None)
            try:
                # pages=-1: every page in one step, inside the read transaction above; the
                # copy's commit syncs it (a new connection's synchronous=FULL).
                db.backup(copy)
                # The copy is one file: no -wal beside it to lose when it is moved or copied.
                copy.execute("PRAGMA journal_mode=DELETE")
            finally:
                copy.close()
        finally:
            with contextlib.suppress(sqlite3.Error):
                db.execute("ROLLBACK")  # a read: nothing to undo
        os.replace(tmp, target)
        atomic.sync_folder(target.parent)
    except sqlite3.Error as e:
        if is_bug(e):
            raise
        raise _copy_error(e, source, target, busy_timeout) from e
    except OSError as e:
        raise StoreError(f"{target}: cannot write the backup: {e.strerror or e}") from e
    finally:
        _unlink(tmp)
        _unlink(tmp.with_name(tmp.name + "-journal"))


def _copy_error(e: sqlite3.Error, source: Path, target: Path, busy_timeout: float) -> StoreError:
    """The copy is a new file of this process's, so a lock or damage is the archive's."""
    failed = driver_error(e, target, busy_timeout=busy_timeout)
    if isinstance(failed, StoreFullError):
        return StoreFullError(f"{target}: the disk is full ({e}): free space there, or copy elsewhere")
    if isinstance(failed, StoreLockedError | StoreCorruptError):
        return driver_error(e, source, busy_timeout=busy_timeout)
    return StoreError(f"{target}: cannot write the backup ({e})")


def _unlink(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


def count_rows(db: sqlite3.Connection) -> dict[str, int]:
    """Rows per kind of record, the store rev and the schema version of the archive on `db`."""
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    queries = {
        "feeds": "SELECT COUNT(*) FROM feeds",
        "entries": "SELECT COUNT(*) FROM entries",
        "articles": "SELECT COUNT(*) FROM articles",
        "clean_errors": "SELECT COUNT(*) FROM entries WHERE clean_error IS NOT NULL",
        "clusters": "SELECT COUNT(*) FROM clusters",
        "users": "SELECT COUNT(*) FROM users",  # from migration 0006 on
    }
    needs = {"clean_errors": "articles"}  # clean_error came with the articles (0002)
    out: dict[str, int] = {}
    for name, sql in queries.items():
        table = needs.get(name, name)
        if table in tables:
            out[name] = int(db.execute(sql).fetchone()[0])
    out["rev"] = int(
        db.execute(
            "SELECT MAX(m) FROM (SELECT MAX(rev) AS m FROM entries"
            " UNION ALL SELECT MAX(rev) FROM removed_entries)"
        ).fetchone()[0]
        or 0
        if "removed_entries" in tables
        else 0
    )
    out["schema"] = int(db.execute("PRAGMA user_version").fetchone()[0])
    return out


def kept_images(path: Path) -> list[str]:
    """The names of the images the archive file at `path` (a backup's copy, read only) records
    as kept (`images: cache`) and some stored article still refers to: what a backup of it
    takes along."""
    db = sqlite3.connect(connect_uri(path, "ro"), uri=True)
    try:
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if "cached_images" not in tables:
            return []
        # The referenced URLs once, as a set SQLite builds for IN, not a scan per image.
        rows = db.execute(
            "SELECT name FROM cached_images WHERE error IS NULL AND url IN"
            " (SELECT j.value FROM articles a, json_each(a.images) j WHERE a.images != '[]')"
            " ORDER BY name"
        )
        return [name for (name,) in rows]
    except sqlite3.Error as e:
        if is_bug(e):
            raise
        raise driver_error(e, path, busy_timeout=0) from e
    finally:
        db.close()


def pre_migration_path(path: Path, old: int, new: int) -> Path:
    return path.with_name(f"{path.name}.pre-migration-{old:04d}-to-{new:04d}.bak")


def backup_before_migrating(db: sqlite3.Connection, path: Path, latest: int, *, busy_timeout: float) -> None:
    """Before an archive that holds something is migrated to schema `latest`, copy it beside
    itself (`<db>.pre-migration-<from>-to-<to>.bak`, the last `KEEP_PRE_MIGRATION` kept): a
    migration that goes wrong, or a downgrade, can start from that copy."""
    current = int(db.execute("PRAGMA user_version").fetchone()[0])
    if current == 0 or current >= latest:
        return  # a new archive, or one already current
    if not db.execute("SELECT EXISTS(SELECT 1 FROM feeds) OR EXISTS(SELECT 1 FROM entries)").fetchone()[0]:
        return  # nothing in it to lose
    target = pre_migration_path(path, current, latest)
    online_copy(db, path, target, busy_timeout=busy_timeout)
    log.warning(
        "%s: schema %d is older than %d: backed up to %s before migrating", path, current, latest, target
    )
    older = sorted(
        path.parent.glob(f"{glob_escape(path.name)}.pre-migration-*.bak"),
        key=lambda p: (p.stat().st_mtime_ns, p.name),
    )
    for stale in older[:-KEEP_PRE_MIGRATION]:
        _unlink(stale)


def open_elsewhere(path: Path) -> bool | None:
    """Whether another connection has the archive at `path` open: its write-ahead log is
    folded into the file and SQLite removes the log when the last connection closes, so a log
    still there afterwards has another user. None when that cannot be told (a damaged file)."""
    try:
        con = sqlite3.connect(connect_uri(path, "rw"), uri=True, isolation_level=None)
        try:
            con.execute("PRAGMA busy_timeout=2000")
            con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            con.close()
    except sqlite3.Error:
        return None
    return path.with_name(path.name + "-wal").exists()
