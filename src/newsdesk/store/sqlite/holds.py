"""Hosts that asked not to be requested before a time (`Retry-After`)."""

from __future__ import annotations

from datetime import datetime

from ..common import format_time
from .base import SQLiteBase, utc


class HoldsMixin(SQLiteBase):
    def host_holds(self, now: datetime) -> dict[str, tuple[datetime, str]]:
        rows = self._db.execute(
            "SELECT host, not_before, reason FROM host_holds WHERE not_before>?", (format_time(now),)
        )
        return {host: (utc(until), reason) for host, until, reason in rows}

    def hold_host(self, host: str, until: datetime, reason: str) -> None:
        with self._tx():
            self._db.execute(
                "INSERT INTO host_holds (host, not_before, reason) VALUES (?,?,?) ON CONFLICT (host)"
                " DO UPDATE SET not_before=excluded.not_before, reason=excluded.reason",
                (host, format_time(until), reason),
            )
