"""Moving an archive between backends (`newsdesk migrate --to URL`): SQLite to PostgreSQL and
back, every table (`store/copy.py` copies whatever tables the source has, by column name),
in batches, resumable after an interruption, verified at the end by each table's row count and
content hash on both sides."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from .errors import StoreError
from .store import open_store
from .store.common import is_postgres_url, mask_url
from .store.copy import Batches, TableCheck, copy_all, count, open_side, resuming


@dataclass(frozen=True)
class CopySummary:
    source: str  # passwords masked
    target: str
    tables: list[TableCheck] = field(default_factory=list)
    resumed: bool = False
    seconds: float = 0.0

    @property
    def rows(self) -> int:
        return sum(t.source_rows for t in self.tables)

    @property
    def mismatched(self) -> list[TableCheck]:
        return [t for t in self.tables if not t.ok]

    def as_dict(self) -> dict[str, object]:
        return {
            "source": self.source,
            "target": self.target,
            "resumed": self.resumed,
            "seconds": round(self.seconds, 3),
            "rows": self.rows,
            "ok": not self.mismatched,
            "tables": {
                t.name: {
                    "rows": t.source_rows,
                    "target_rows": t.target_rows,
                    "hash": t.source_hash,
                    "target_hash": t.target_hash,
                    "ok": t.ok,
                }
                for t in self.tables
            },
        }


def _same(a: str, b: str) -> bool:
    return a.removeprefix("sqlite:///").rstrip("/") == b.removeprefix("sqlite:///").rstrip("/")


def migrate_archive(
    source_db: str, target_db: str, *, batch: int = 2000, on_batch: Batches | None = None
) -> CopySummary:
    """Copy the archive at `source_db` into `target_db` (made and migrated if new; an earlier,
    interrupted copy into it goes on where it stopped); the tables compared on both sides."""
    if _same(source_db, target_db):
        raise StoreError(f"{mask_url(target_db)}: is the archive itself: name another database to copy to")
    if batch < 1:
        raise StoreError(f"--batch {batch}: must be at least 1")
    if not is_postgres_url(source_db) and "://" not in source_db:
        from pathlib import Path

        if not Path(source_db).is_file():
            raise StoreError(f"{source_db}: no archive to copy (`newsdesk run` makes one)")
    started = time.monotonic()
    for db in (source_db, target_db):  # both at their backend's newest schema
        open_store(db).close()
    source = open_side(source_db)
    try:
        target = open_side(target_db)
        try:
            resumed = resuming(target)
            if not resumed and any(count(target, t) for t in ("feeds", "users")):
                raise StoreError(
                    f"{target.where}: already holds an archive (feeds or users): copy into a new, empty one"
                )
            checks = copy_all(source, target, batch=batch, on_batch=on_batch, verify=True)
        finally:
            target.close()
    finally:
        source.close()
    return CopySummary(
        mask_url(source_db), mask_url(target_db), checks, resumed, time.monotonic() - started
    )
