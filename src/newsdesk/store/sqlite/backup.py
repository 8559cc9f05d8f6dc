"""Backups and counts of the archive (`BackupStore`, `StatsStore`); the copying is `snapshot`."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from pathlib import Path

from .base import SQLiteBase, utc
from .guard import connect_uri
from .snapshot import count_rows, online_copy


class BackupMixin(SQLiteBase):
    def backup_to(self, path: Path) -> dict[str, int]:
        target = Path(path)
        online_copy(self._db, self.path, target, busy_timeout=self.busy_timeout)
        copy = sqlite3.connect(connect_uri(target, "ro"), uri=True)
        try:
            return count_rows(copy)
        finally:
            copy.close()

    def archive_counts(self) -> dict[str, int]:
        return count_rows(self._db)

    def newest_entry_time(self) -> datetime | None:
        row = self._db.execute("SELECT MAX(first_seen) FROM entries").fetchone()
        return utc(row[0]) if row and row[0] else None
