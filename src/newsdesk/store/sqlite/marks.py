"""Publishers' per-entry marks (what each publisher last wrote of an entry)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from .base import SQLiteBase


class MarksMixin(SQLiteBase):
    def publish_marks(self, publisher: str) -> dict[str, str]:
        return dict(self._db.execute("SELECT uid, mark FROM publish_marks WHERE publisher=?", (publisher,)))

    def set_publish_marks(
        self, publisher: str, marks: Mapping[str, str], removed: Iterable[str] = ()
    ) -> None:
        with self._tx():
            self._db.executemany(
                "INSERT INTO publish_marks (publisher, uid, mark) VALUES (?,?,?)"
                " ON CONFLICT (publisher, uid) DO UPDATE SET mark=excluded.mark",
                [(publisher, uid, m) for uid, m in marks.items()],
            )
            self._db.executemany(
                "DELETE FROM publish_marks WHERE publisher=? AND uid=?", [(publisher, u) for u in removed]
            )

    def mark_summary(self) -> dict[str, tuple[int, int]]:
        rows = self._db.execute(
            "SELECT p.publisher, COUNT(*), SUM(e.uid IS NULL) FROM publish_marks p"
            " LEFT JOIN entries e ON e.uid=p.uid GROUP BY p.publisher ORDER BY p.publisher"
        )
        return {publisher: (int(n), int(gone or 0)) for publisher, n, gone in rows}
