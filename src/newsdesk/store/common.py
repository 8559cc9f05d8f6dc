"""Helpers shared by every storage backend (no SQL here)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from importlib import resources

from ..models import ParsedEntry

_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def format_time(dt: datetime | None) -> str | None:
    """UTC timestamps in one fixed-width format, so text order is time order."""
    if dt is None:
        return None
    if dt.tzinfo is None:
        raise ValueError("naive datetime reached the store")
    return dt.astimezone(UTC).strftime(_TIME_FORMAT)


def parse_time(text: str | None) -> datetime | None:
    if text is None:
        return None
    # fromisoformat reads our fixed format (trailing Z included) ~50× faster than strptime.
    return datetime.fromisoformat(text)


def content_hash(entry: ParsedEntry) -> str:
    """Hash of everything that, when changed, makes an entry 'updated'."""
    h = hashlib.sha1()
    for part in (
        entry.title,
        entry.link or "",
        format_time(entry.published) or "",
        format_time(entry.updated) or "",
        entry.author or "",
        entry.content,
        entry.summary,
    ):
        h.update(part.encode("utf-8", "surrogatepass"))
        h.update(b"\x00")
    return h.hexdigest()


def migrations() -> list[tuple[int, str, str]]:
    """(number, name, sql) of every numbered migration, in order."""
    out = []
    folder = resources.files("newsdesk.store") / "migrations"
    for item in folder.iterdir():
        name = item.name
        if name.endswith(".sql") and name[:4].isdigit():
            out.append((int(name[:4]), name, item.read_text(encoding="utf-8")))
    return sorted(out)
