"""Helpers shared by every storage backend (no SQL here)."""

from __future__ import annotations

from datetime import datetime

from ..models import format_time

__all__ = ["format_time", "parse_time"]


def parse_time(text: str | None) -> datetime | None:
    if text is None:
        return None
    # fromisoformat reads our fixed format (trailing Z included) ~50× faster than strptime.
    return datetime.fromisoformat(text)


def week_of(when: datetime) -> str:
    """The week (Monday to Sunday, UTC) of `when`, named by its Monday: YYYY-MM-DD."""
    from datetime import timedelta

    day = when.date()
    return (day - timedelta(days=day.weekday())).isoformat()
