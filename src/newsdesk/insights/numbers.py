"""Quantities in text: a number (Arabic or Chinese numerals), a magnitude (万, 亿, 万亿) and a unit.

4亿户 → (400000000, "户"); 4810亿元人民币 → (481000000000, "元"); 35.4% → (35.4, "%");
0.6个百分点 → (0.6, "个百分点"); 四亿 → 400000000 (Chinese numerals through cn2an).
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import NamedTuple

from ._cn2an import chinese_to_number

__all__ = ["MAX_VALUE", "QUANTITY", "Quantity", "quantities", "to_number"]

# Values beyond this are not believed (a run of digits, not a statistic): dropped with a note.
MAX_VALUE = 1e20
_MAX_DECIMAL = Decimal(10**20)

_MAGNITUDES = {
    "万亿": Decimal(10**12),
    "亿": Decimal(10**8),
    "万": Decimal(10**4),
    "千": Decimal(1000),
    "百": Decimal(100),
}
# Units after a number, longest first where one is the start of another.
UNITS = (
    "个百分点",
    "百分点",
    "个基点",
    "基点",
    "%",
    "‰",
    "倍",
    "成",
    "千瓦时",
    "万千瓦",
    "千瓦",
    "兆瓦",
    "吉瓦",
    "瓦",
    "GW",
    "MW",
    "kW",
    "度",
    "吨标准煤",
    "吨公里",
    "人公里",
    "吨",
    "千克",
    "公斤",
    "克",
    "斤",
    "标准箱",
    "TEU",
    "平方公里",
    "平方米",
    "立方米",
    "公里",
    "千米",
    "米",
    "公顷",
    "亩",
    "美元",
    "欧元",
    "日元",
    "港元",
    "港币",
    "元人民币",
    "元",
    "人次",
    "人",
    "户",
    "家",
    "个",
    "件",
    "辆",
    "台",
    "套",
    "项",
    "座",
    "所",
    "张",
    "次",
    "只",
    "头",
    "种",
    "剂",
    "场",
    "架",
    "艘",
    "列",
    "条",
    "部",
    "本",
    "册",
    "篇",
    "份",
    "批",
    "处",
    "间",
    "床",
    "名",
    "岁",
    "天",
    "小时",
    "分钟",
    "年",
    "月",
)
_UNIT_ALT = "|".join(re.escape(u) for u in UNITS)
_CN_DIGITS = "零〇一二两三四五六七八九十百千"
# One quantity: a number (with thousands separators and decimals, or Chinese numerals that
# include a 十/百/千 or 万/亿 so that 一 alone is not a number), a magnitude, a unit.
QUANTITY = re.compile(
    rf"(?=[\d{_CN_DIGITS}])"  # a cheap first test
    r"(?P<num>(?<![\d.])\d{1,60}(?:,\d{3}){0,8}(?:\.\d{1,12})?(?![\d.]\d)"
    rf"|[{_CN_DIGITS}]{{0,8}}[十百千][{_CN_DIGITS}]{{0,8}}(?:点[{_CN_DIGITS}]{{1,6}})?"
    rf"|[{_CN_DIGITS}]{{1,8}}(?=[万亿]))"
    r"(?:多|余)?(?P<mag>万亿|亿|万|千(?!瓦|克|米)|百(?!分))?(?:多|余)?"
    rf"(?P<unit>{_UNIT_ALT})?"
    r"(?P<per>/(?:日|天|年|月|平方米|人|吨|千瓦时)|每日|每天|每年)?"
)
_LONG_DIGITS = re.compile(r"\d{61}")


class Quantity(NamedTuple):  # a tuple: made for every number read, so cheap to make
    value: float
    unit: str
    start: int
    end: int
    text: str


def to_number(num: str) -> Decimal | None:
    """A number as written (4810, 1,234.5, 四, 三十五, 一千二百) → Decimal; None when unreadable."""
    if num[:1].isdigit():
        try:
            return Decimal(num.replace(",", ""))
        except InvalidOperation:
            return None
    value = chinese_to_number(num)
    return None if value is None else Decimal(repr(value))


# A Latin letter right before a number, or with a space between: a name (iPhone 11, A13).
_LATIN = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
_UNIT_AS = {"元人民币": "元", "百分点": "个百分点", "港币": "港元"}  # units written two ways
_TIME_UNITS = frozenset({"年", "月", "天", "小时", "分钟"})
_DURATION_UNITS = frozenset({"年", "天", "小时"})


def quantities(text: str, notes: list[str]) -> list[Quantity]:
    """Every quantity in `text` with a unit or a magnitude (bare integers such as years are not
    quantities); values beyond MAX_VALUE are dropped with a note."""
    out: list[Quantity] = []
    if _LONG_DIGITS.search(text):
        notes.append("a run of more than 60 digits is not read as a number")
    for m in QUANTITY.finditer(text):
        num, mag, unit, per = m.groups()
        if mag is None and unit is None:
            continue
        if unit in _TIME_UNITS and mag is None and not ("." in num and unit in _DURATION_UNITS):
            continue  # dates and durations are read by the period rules; 12.2年, 51.6天 are values
        start, end = m.span()
        if unit == "个" and text[end : end + 1] == "月":
            continue  # 前11个月: a period
        before = text[start - 1 : start]
        if before in _LATIN or (before == " " and text[start - 2 : start - 1] in _LATIN and unit != "%"):
            continue  # part of a name: iPhone 11处理器, A13芯片 (but PMI 49.6% is a value)
        number = to_number(num)
        if number is None:
            continue
        if mag is not None:
            number *= _MAGNITUDES[mag]
        if not number < _MAX_DECIMAL:
            notes.append(f"number beyond 10^20 dropped: {m.group()[:40]}")
            continue
        if start >= 1 and text[start - 1] == "-" and (start < 2 or text[start - 2] in "为是：:（(于 "):
            number = -number  # 涨幅为-10.8%
        written = _UNIT_AS.get(unit, unit) if unit else ""
        if per and unit:
            written += "/日" if per in ("每日", "每天") else "/年" if per == "每年" else per
        out.append(Quantity(float(number), written, start, end, m.group()))
    return _listed_bare_numbers(text, out) if out and _BARE_LISTED.search(text) else out


# A number written bare in a list whose last member has the unit: 分别扩大21.3、20.4个百分点,
# 24.0和4.4个百分点 (each bare member takes the unit and magnitude of the one after it).
_BARE_LISTED = re.compile(r"(?<![\d.])(\d{1,12}(?:\.\d{1,6})?)(、|和|及)(?=\d)")


def _listed_bare_numbers(text: str, found: list[Quantity]) -> list[Quantity]:
    by_start = {q.start: (q, _scale_of(q)) for q in found}
    extra: list[Quantity] = []
    for m in reversed(list(_BARE_LISTED.finditer(text))):  # from the end: chains of bare numbers
        nxt, factor = by_start.get(m.end(), (None, None))
        if nxt is None or factor is None:
            continue
        q = Quantity(float(Decimal(m.group(1)) * factor), nxt.unit, m.start(), m.end(1), m.group(1))
        by_start[q.start] = (q, factor)
        extra.append(q)
    return sorted([*found, *extra], key=lambda q: q.start) if extra else found


def _scale_of(q: Quantity) -> Decimal | None:
    """The magnitude `q` was written with (1 for 20.4个百分点, 10^8 for 2254.4亿元)."""
    m = QUANTITY.match(q.text)
    if m is None:
        return None
    return _MAGNITUDES[m.group("mag")] if m.group("mag") else Decimal(1)
