"""Dates in policy text: deadlines of targets and periods of reported figures.

Deadlines are the last day of the named period (到2022年底, 到2022年, 2022年前 → 2022-12-31;
"十四五"末 → 2025-12-31; 一季度末 → 03-31; 今年/明年 against the article's date). Periods of figures
are normalised to "2022-01..2022-05" (1-5月), "2022-11" (11月), "2022-Q3", "2022-H1", "2021".
A date that does not exist (2月30日) is not guessed at: it gives a note.
"""

from __future__ import annotations

import calendar
import re
from datetime import date
from typing import NamedTuple

__all__ = ["Deadline", "deadlines", "figure_period", "periods"]


_CN_MONTH = {c: i for i, c in enumerate("一二三四五六七八九", start=1)} | {"十": 10, "十一": 11, "十二": 12}
_QUARTER = {"一": 1, "二": 2, "三": 3, "四": 4, "1": 1, "2": 2, "3": 3, "4": 4}
# Five-year plans: the 十四五 period ends in 2025.
_PLAN_END = {"十一五": 2010, "十二五": 2015, "十三五": 2020, "十四五": 2025, "十五五": 2030}

_YEAR = r"(?P<year>(?:19|20)\d{2})年"
# A deadline: 到/至/在/力争到 + a year (with month, day, 底/末/前) or a plan's end, or
# "2025年前", "2025年底前"; weak ones name the year without saying "by": 今年, 明年, 全年, 年底前.
# 今年 followed by a period (今年以来, 今年前11个月, 今年1-10月) names a figure's period instead.
_DEADLINE = re.compile(
    r"(?=[到至截在于\d今明本年当全上下第一二三四“\"十])"  # a cheap first test: most places start nothing
    r"(?:(?P<to>到|至|截至|截止到|截止|在|于)\s{0,2})?"
    r"(?:" + _YEAR + r"(?:(?P<month>1[0-2]|0?[1-9])月(?:份)?(?:(?P<day>[0-3]?\d)日)?)?"
    r"(?:(?:第)?(?P<q>[一二三四1-4])季度)?(?P<half>上半年|下半年)?"
    r"|(?P<rel>今年|明年|本年度|年内|当年|全年|年底|年末)"
    r"(?!以来|前[\d一二三四五六七八九十]|\d{1,2}-|\d{1,2}月份?(?![底末前])|[一二三四五六七八九十]{1,2}月|[一二三四五六七八九十]{1,2}至)"
    r"(?:(?:第)?(?P<rq>[一二三四])季度)?(?P<rhalf>上半年|下半年)?(?:(?P<rmonth>1[0-2]|0?[1-9])月)?"
    r"|(?P<bare>上半年|下半年|(?:第)?[一二三四]季度)(?!以来)"
    r"|[“\"]?(?P<plan>十[一二三四五]五)[”\"]?(?P<planperiod>时期|期间)?"
    r")(?P<end>底|末|年底|年末|期末|前|以前|之前|内)?(?P<end2>前)?"
)


class Deadline(NamedTuple):
    date: str  # YYYY-MM-DD
    start: int
    end: int
    strong: bool  # says "by" (到2025年, 2025年前, "十四五"末); weak: names the year only (今年, 全年)
    status: bool = False  # 截至: the state reached by then, a report rather than a commitment


def _last_day(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def _quarter_end(year: int, q: str) -> date:
    return _last_day(year, 3 * _QUARTER[q])


def _deadline(
    m: re.Match[str], today: date | None, year_now: int | None, notes: list[str]
) -> tuple[date, bool] | None:
    """(date, strong) of one match, or None when it names no deadline."""
    explicit = m.group("to") is not None or m.group("end") is not None or m.group("end2") is not None
    if m.group("plan"):
        if not (m.group("end") or m.group("to") or m.group("planperiod")):
            return None  # "十四五"规划 names the plan, not a date
        return date(_PLAN_END[m.group("plan")], 12, 31), True
    if m.group("rel") or m.group("bare"):
        if year_now is None:
            return None
        rel = m.group("rel") or ""
        year = year_now + (1 if rel == "明年" else 0)
        q = m.group("rq") or (m.group("bare") or "").lstrip("第")[:1] if not m.group("rhalf") else None
        half = m.group("rhalf") or (m.group("bare") if (m.group("bare") or "").endswith("半年") else None)
        if m.group("rmonth"):
            return _last_day(year, int(m.group("rmonth"))), explicit
        if half:
            return (date(year, 6, 30) if half == "上半年" else date(year, 12, 31)), explicit
        if q and q in _QUARTER:
            return _quarter_end(year, q), explicit
        return date(year, 12, 31), explicit or rel in ("年底", "年末")
    if not explicit:
        return None
    year = int(m.group("year"))
    if m.group("q"):
        return _quarter_end(year, m.group("q")), True
    if m.group("half"):
        return (date(year, 6, 30) if m.group("half") == "上半年" else date(year, 12, 31)), True
    if m.group("month") is None:
        return date(year, 12, 31), True
    month = int(m.group("month"))
    if m.group("day") is None:
        return _last_day(year, month), True
    try:
        return date(year, month, int(m.group("day"))), True
    except ValueError:
        notes.append(f"no such date: {m.group().strip()}")
        return None


def deadlines(text: str, today: date | None, notes: list[str], year_now: int | None = None) -> list[Deadline]:
    """Every deadline stated in `text`, in order. `year_now` is the year 今年 means (the
    article's, or that of a deadline said before: 明年…全年)."""
    out = []
    base = today.year if today else None
    year = year_now if year_now is not None else base
    for m in _DEADLINE.finditer(text):
        if not m.group().strip() or m.group() in ("至", "到", "在", "于", "截至", "截止"):
            continue
        found = _deadline(m, today, base if m.group("rel") == "明年" else year, notes)
        if found is not None:
            d, strong = found
            status = (m.group("to") or "").startswith("截")
            out.append(Deadline(d.isoformat(), m.start(), m.end(), strong, status))
            if m.group("rel") == "明年":
                year = d.year  # 明年…全年: the same year
    return out


# Periods of figures. Order matters: ranges before single months.
_PERIOD_YEAR = r"(?:(?P<year>(?:19|20)\d{2})年(?:全年|度)?|(?P<rel>今年|去年|上年|前年))"
_PERIOD_PART = (
    r"(?:(?P<m1>1[0-2]|0?[1-9])(?:月份?)?\s{0,2}[-至到]\s{0,2}(?P<m2>1[0-2]|0?[1-9])月份?"
    r"|前(?P<nq>[一二三])季度|前(?P<nm>[1-9]|1[01]|[一二三四五六七八九十]|十一)个月"
    r"|(?:第)?(?P<q>[一二三四1-4])季度|(?P<half>上半年|下半年)"
    r"|(?P<month>1[0-2]|0?[1-9]|十[一二]?|[一二三四五六七八九])月份?(?!\d{0,2}日)"
    r"|(?P<cn>[一二三四五六七八九十]{1,3})月份?(?:至|到|-)(?P<cn2>[一二三四五六七八九十]{1,3})月份?)"
)
# A period: a year (2021年, 今年) with or without a part of it, or a part alone (1-5月, 三季度).
# Every period ends in 年, 度, 月 or 份: the closing look-behind turns away most of the empty
# matches both optional parts allow (one at nearly every digit), which cost a match object each.
_PERIOD = re.compile(
    f"(?=[\\d今去上前下第一二三四五六七八九十]){_PERIOD_YEAR}?{_PERIOD_PART}?(?<=[年度月份])"
)


def periods(text: str, today: date | None) -> list[tuple[str, int, int]]:
    """(normalised period, start, end) of every period named in `text`, in order."""
    out = []
    for m in _PERIOD.finditer(text):
        if m.end() == m.start():
            continue
        value = _period(m, today)
        if value is not None:
            out.append((value, m.start(), m.end()))
    return out


def figure_period(found: list[tuple[str, int, int]], before: int) -> tuple[str | None, int, int]:
    """The last of `found` (from `periods`) that ends by offset `before`, or (None, 0, 0)."""
    last: tuple[str | None, int, int] = (None, 0, 0)
    for item in found:
        if item[2] > before:
            break
        last = item
    return last


def _period(m: re.Match[str], today: date | None) -> str | None:
    year: int | None = int(m.group("year")) if m.group("year") else None
    rel = m.group("rel")
    if rel and today is not None:
        year = today.year - {"今年": 0, "去年": 1, "上年": 1, "前年": 2}[rel]
    month_named = m.group("m1") or m.group("nq") or m.group("nm") or m.group("q") or m.group("half")
    month_named = month_named or m.group("month") or m.group("cn")
    if year is None and today is not None and month_named:
        year = today.year
        last = _last_month(m)
        if last is not None and last > today.month:
            year -= 1  # "11月" in an article of January: last year's November
    if year is None:
        return None
    if not month_named:
        return f"{year}" if m.group("year") or rel else None
    if m.group("m1"):
        a, b = int(m.group("m1")), int(m.group("m2"))
        return f"{year}-{a:02d}..{year}-{b:02d}" if a < b else None
    if m.group("cn"):
        a, b = _CN_MONTH.get(m.group("cn"), 0), _CN_MONTH.get(m.group("cn2"), 0)
        return f"{year}-{a:02d}..{year}-{b:02d}" if 0 < a < b else None
    if m.group("nq"):
        return f"{year}-Q1..{year}-Q{_QUARTER[m.group('nq')]}"
    if m.group("nm"):
        n = m.group("nm")
        months = int(n) if n.isdigit() else _CN_MONTH.get(n, 0)
        return f"{year}-01..{year}-{months:02d}" if months > 1 else f"{year}-01"
    if m.group("q"):
        return f"{year}-Q{_QUARTER[m.group('q')]}"
    if m.group("half"):
        return f"{year}-H1" if m.group("half") == "上半年" else f"{year}-H2"
    month = m.group("month")
    number = int(month) if month.isdigit() else _CN_MONTH.get(month, 0)
    return f"{year}-{number:02d}" if number else None


def _last_month(m: re.Match[str]) -> int | None:
    if m.group("m2"):
        return int(m.group("m2"))
    if m.group("month") and m.group("month").isdigit():
        return int(m.group("month"))
    if m.group("q"):
        return 3 * _QUARTER[m.group("q")] - 2
    if m.group("nq"):
        return 3 * _QUARTER[m.group("nq")] - 2
    if m.group("nm"):
        n = m.group("nm")
        return int(n) if n.isdigit() else _CN_MONTH.get(n)
    if m.group("half"):
        return 1 if m.group("half") == "上半年" else 7
    return None
