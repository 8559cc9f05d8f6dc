"""The change feed: every write bumps an entry's `rev`; derived data catches up from it."""

from __future__ import annotations

from collections.abc import Iterator

from .base import SQLiteBase


class ChangesMixin(SQLiteBase):
    def max_rev(self) -> int:
        return self._max_rev()

    def changes_since(self, rev: int, limit: int = 1000) -> list[tuple[int, str, bool]]:
        rows = self._db.execute(
            "SELECT rev, uid, 0 FROM entries WHERE rev>? UNION ALL SELECT rev, uid, 1 FROM removed_entries"
            " WHERE rev>? ORDER BY 1 LIMIT ?",
            (rev, rev, limit),
        )
        return [(r, u, bool(d)) for r, u, d in rows]

    def entry_revs(self) -> Iterator[tuple[str, int]]:
        yield from self._db.execute("SELECT uid, rev FROM entries")
