"""The feed schedule: when each feed is checked next, and the entry times its rate comes from."""

from __future__ import annotations

from datetime import datetime

from ...models import CatalogueFeed, FeedSchedule
from ..common import format_time
from .base import SQLiteBase, utc
from .catalogue import CATALOGUE_COLUMNS, row_to_feed

_CHECKED = "enabled=1 AND paused IS NULL"


class ScheduleMixin(SQLiteBase):
    def due_feeds(self, now: datetime, limit: int | None = None) -> list[CatalogueFeed]:
        rows = self._db.execute(
            f"SELECT {CATALOGUE_COLUMNS} FROM feeds WHERE {_CHECKED} AND next_check<=?"
            " ORDER BY next_check, position LIMIT ?",
            (format_time(now), -1 if limit is None else limit),
        )
        return [row_to_feed(r) for r in rows]

    def next_check_time(self) -> datetime | None:
        row = self._db.execute(f"SELECT MIN(next_check) FROM feeds WHERE {_CHECKED}").fetchone()
        return None if row[0] is None else utc(row[0])

    def save_schedule(self, schedule: FeedSchedule) -> None:
        with self._tx():
            self._db.execute(
                "UPDATE feeds SET next_check=?, check_interval=?, schedule_reason=?, consecutive_failures=?,"
                " paused=COALESCE(?, paused) WHERE key=?",
                (
                    format_time(schedule.next_check),
                    schedule.interval,
                    schedule.reason,
                    schedule.errors,
                    schedule.paused,
                    schedule.key,
                ),
            )

    def entry_times(self, feed_key: str, limit: int = 20) -> list[datetime]:
        rows = self._db.execute(
            "SELECT sort_time FROM entries WHERE feed_key=? ORDER BY sort_time DESC LIMIT ?",
            (feed_key, limit),
        )
        return [utc(t) for (t,) in rows]


__all__ = ["ScheduleMixin"]
