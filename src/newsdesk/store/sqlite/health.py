"""Integrity checks (`newsdesk check`, the build's background quick check)."""

from __future__ import annotations

from .base import SQLiteBase
from .guard import QuickCheck


class HealthMixin(SQLiteBase):
    def integrity_problems(self, limit: int = 20) -> list[str]:
        rows = self._db.execute(f"PRAGMA integrity_check({int(limit)})").fetchall()
        # Problems come one per line, under a "*** in database main ***" heading.
        found = [ln for (text,) in rows for ln in str(text).splitlines() if not ln.startswith("***")]
        return [] if found == ["ok"] else found[:limit]

    def foreign_key_problems(self, limit: int = 20) -> list[str]:
        out = []
        for table, rowid, parent, _ in self._db.execute("PRAGMA foreign_key_check"):
            out.append(f"{table} row {rowid} refers to a missing row of {parent}")
            if len(out) == limit:
                break
        return out

    def start_quick_check(self) -> QuickCheck:
        return QuickCheck(self.path, busy_timeout=self.busy_timeout)
