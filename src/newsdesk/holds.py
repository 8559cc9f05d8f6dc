"""Host holds: a server that answered 429 or 503 with `Retry-After` is not asked again before then.

The fetcher records a hold in the archive and skips the host in this run and later ones
until the time has passed; `feeds list` shows the holds. No aiohttp here, so `feeds list`
reads holds without loading the fetch stage.
"""

from __future__ import annotations

import contextlib
import email.utils
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

__all__ = ["MAX_HOLD", "Hold", "feed_hold", "host_key", "retry_after_seconds", "until_text"]

# A server asking for more than a day is taken to mean a day: a typo or a broken proxy must not
# silence a feed for months.
MAX_HOLD = 86400.0
_DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True)
class Hold:
    host: str
    until: datetime  # UTC
    reason: str  # what the server answered, e.g. "HTTP 429 Too Many Requests"

    def __str__(self) -> str:
        return f"{self.host} asked to wait until {until_text(self.until)} ({self.reason})"


def host_key(url: str) -> str | None:
    """The host a hold applies to: "example.com", or "example.com:8080" for a port other than
    the scheme's default (another port is another server). None for URLs without a host."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
        port = parts.port
    except ValueError:
        return None
    if not host:
        return None
    if not host.isascii():
        # The fetcher sees the punycode form (例子.cn → xn--fsqu00a.cn); config may hold either.
        with contextlib.suppress(UnicodeError):
            host = host.encode("idna").decode("ascii")
    if ":" in host:
        host = f"[{host}]"
    if port is not None and port != _DEFAULT_PORTS.get(parts.scheme.lower()):
        return f"{host}:{port}"
    return host


def retry_after_seconds(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date), between 0
    and MAX_HOLD; None when there is no usable value."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return min(float(value), MAX_HOLD)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # "-0000" dates: RFC 5322 says UTC
        when = when.replace(tzinfo=UTC)
    return min(max((when - now).total_seconds(), 0.0), MAX_HOLD)


def until_text(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def feed_hold(
    url: str | None, route: str | None, rsshub: Sequence[str], holds: Mapping[str, tuple[datetime, str]]
) -> Hold | None:
    """The hold that keeps a feed from being fetched: its URL's host's, or for an RSSHub route
    the earliest-ending one when every instance is held (one free instance serves the route)."""
    urls = [url] if url else [i.rstrip("/") + route for i in rsshub if route]
    found: list[Hold] = []
    for u in urls:
        host = host_key(u)
        held = holds.get(host) if host else None
        if held is None:
            return None
        found.append(Hold(host or "", held[0], held[1]))
    return min(found, key=lambda h: h.until) if found else None
