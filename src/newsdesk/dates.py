"""Feed date strings → timezone-aware UTC datetimes.

Feeds write dates in RFC 822 (RSS), ISO 8601 / RFC 3339 (Atom, JSON Feed, dc:date) and, in Chinese
feeds, forms such as ``2021年12月20日 23:00``. Only the standard library is used.

Time-zone rules (the choices are ours; feeds are often vague):

* An explicit offset or zone name always wins (``GMT``, ``UT``, ``Z``, ``+0800``, ``+08:00`` …).
* A date without any zone is read in the feed's *local zone*: Asia/Shanghai for Chinese feeds
  (language ``zh*`` **or not declared**, since newsdesk reads Chinese-language news and Chinese CMSs
  write local time), UTC for feeds that declare another language. RFC 2822's ``-0000`` means UTC.
* ``CST`` is China Standard Time (+08:00) in Chinese feeds — that is what Chinese servers (Java's
  ``Date.toString``, Go, PHP with ``Asia/Shanghai``) mean by it — and US Central Standard Time
  (-06:00, the RFC 822 reading) in feeds that declare another language.
* Chinese forms (``年月日``) are always Asia/Shanghai.
* Anything unparseable gives ``None``; a bad date never fails a feed.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from email.utils import parsedate_to_datetime
from zoneinfo import ZoneInfo

__all__ = ["SHANGHAI", "parse_date"]

SHANGHAI = ZoneInfo("Asia/Shanghai")

# 2021年12月20日 23:00, 2021年12月20日23:00:05, 2021年12月20日 23时05分, 2021年12月20日
_CHINESE = re.compile(
    r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*[日号]"
    r"(?:\s*(?:[上下]午)?\s*(\d{1,2})\s*[:：时點点]\s*(\d{1,2})\s*分?(?:\s*[:：]?\s*(\d{1,2})\s*秒?)?)?"
)
# Loose numeric forms that datetime.fromisoformat rejects: 2021/12/20 23:00, 2021-1-5 8:00:00 +0800.
_NUMERIC = re.compile(
    r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})"
    r"(?:[T\s]+(\d{1,2}):(\d{1,2})(?::(\d{1,2})(?:[.,](\d+))?)?)?"
    r"\s*(Z|UTC|GMT|[+-]\d{2}:?\d{2})?$",
    re.IGNORECASE,
)
_CST = re.compile(r"\bCST\b")
# "+08:00" at the end of an RFC 822 date (a common mistake) → "+0800", which email.utils reads.
_COLON_OFFSET = re.compile(r"([+-]\d{2}):(\d{2})$")


def parse_date(value: str | None, *, chinese: bool = True) -> datetime | None:
    """Parse a feed date; return an aware UTC datetime or None.

    ``chinese`` says whether the feed is Chinese-language (or of unknown language): it decides the
    zone of zone-less dates and the meaning of ``CST`` (see the module docstring).
    """
    if not value:
        return None
    text = " ".join(value.split())
    if not text:
        return None
    local: tzinfo = SHANGHAI if chinese else UTC
    try:
        if "年" in text:
            return _chinese(text)
        if text[:4].isdigit():
            iso = _iso(text, local)
            if iso is not None:
                return iso
        return _rfc822(text, local, chinese)
    except (ValueError, OverflowError, TypeError, IndexError):
        return None


def _chinese(text: str) -> datetime | None:
    m = _CHINESE.search(text)
    if m is None:
        return None
    year, month, day, hour, minute, second = (int(g) if g else 0 for g in m.groups())
    if hour < 12 and "下午" in text:
        hour += 12
    return datetime(year, month, day, hour, minute, second, tzinfo=SHANGHAI).astimezone(UTC)


def _iso(text: str, local: tzinfo) -> datetime | None:
    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        m = _NUMERIC.match(text)
        if m is None:
            return None
        year, month, day, hour, minute, second = (int(g) if g else 0 for g in m.groups()[:6])
        micro = int((m.group(7) or "0")[:6].ljust(6, "0"))
        dt = datetime(year, month, day, hour, minute, second, micro, tzinfo=_zone(m.group(8)))
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=local)
    return dt.astimezone(UTC)


def _zone(token: str | None) -> tzinfo | None:
    if token is None:
        return None
    if token.upper() in ("Z", "UTC", "GMT"):
        return UTC
    sign = -1 if token[0] == "-" else 1
    digits = token[1:].replace(":", "")
    return timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))


def _rfc822(text: str, local: tzinfo, chinese: bool) -> datetime | None:
    text = _COLON_OFFSET.sub(r"\1\2", text)
    if chinese:
        text = _CST.sub("+0800", text)
    dt = parsedate_to_datetime(text)
    if dt.tzinfo is None:
        # email.utils returns a naive datetime both for "-0000" (UTC per RFC 2822) and for a
        # missing or unknown zone; only the former is UTC.
        dt = dt.replace(tzinfo=UTC if text.endswith("-0000") else local)
    return dt.astimezone(UTC)
