"""Counts of the archive (`StatsStore`) and its copy to a SQLite file (`BackupStore`)."""

from __future__ import annotations

from pathlib import Path

from ..sqlite.backup import BackupMixin

_COUNTS = {
    "feeds": "SELECT COUNT(*) FROM feeds",
    "entries": "SELECT COUNT(*) FROM entries",
    "articles": "SELECT COUNT(*) FROM articles",
    "clean_errors": "SELECT COUNT(*) FROM entries WHERE clean_error IS NOT NULL",
    "clusters": "SELECT COUNT(*) FROM clusters",
    "users": "SELECT COUNT(*) FROM users",
}


class PgBackupMixin(BackupMixin):
    url: str

    def archive_counts(self) -> dict[str, int]:
        out = {name: int(self._db.execute(sql).fetchone()[0]) for name, sql in _COUNTS.items()}
        out["rev"] = self._max_rev()
        out["schema"] = int(self._db.execute("SELECT MAX(version) FROM schema_migrations").fetchone()[0])
        return out

    def backup_to(self, path: Path) -> dict[str, int]:
        """A SQLite archive file: what `newsdesk migrate --to postgresql://…` restores from."""
        from ..copy import backup_to_sqlite

        return backup_to_sqlite(self.url, Path(path), lock_wait=self.busy_timeout)
