"""Quantities in text: a number (Arabic or Chinese numerals), a magnitude (万, 亿, 万亿) and a unit.

4亿户 → (400000000, "户"); 4810亿元人民币 → (481000000000, "元"); 35.4% → (35.4, "%");
0.6个百分点 → (0.6, "个百分点"); 四亿 → 400000000 (Chinese numerals through cn2an).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

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


@dataclass(frozen=True)
class Quantity:
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


def _unit(unit: str | None) -> str:
    if unit is None:
        return ""
    if unit in ("元人民币",):
        return "元"
    if unit == "百分点":
        return "个百分点"
    if unit == "港币":
        return "港元"
    return unit


def quantities(text: str, notes: list[str]) -> list[Quantity]:
    """Every quantity in `text` with a unit or a magnitude (bare integers such as years are not
    quantities); values beyond MAX_VALUE are dropped with a note."""
    out: list[Quantity] = []
    if _LONG_DIGITS.search(text):
        notes.append("a run of more than 60 digits is not read as a number")
    for m in QUANTITY.finditer(text):
        mag, unit = m.group("mag"), m.group("unit")
        if mag is None and unit is None:
            continue
        # Dates and durations are read by the period rules; a decimal (12.2年, 51.6天) is a value.
        duration = "." in m.group("num") and unit in ("年", "天", "小时")
        if unit in ("年", "月", "天", "小时", "分钟") and mag is None and not duration:
            continue
        if unit == "个" and text[m.end() : m.end() + 1] == "月":
            continue  # 前11个月: a period
        number = to_number(m.group("num"))
        if number is None:
            continue
        if mag is not None:
            number *= _MAGNITUDES[mag]
        if not number < _MAX_DECIMAL:
            notes.append(f"number beyond 10^20 dropped: {m.group()[:40]}")
            continue
        if (
            m.start() >= 1
            and text[m.start() - 1] == "-"
            and (m.start() < 2 or text[m.start() - 2] in "为是：:（(于 ")
        ):
            number = -number  # 涨幅为-10.8%
        per = m.group("per") or ""
        per = "/日" if per in ("每日", "每天") else "/年" if per == "每年" else per
        out.append(
            Quantity(float(number), _unit(unit) + (per if unit else ""), m.start(), m.end(), m.group())
        )
    return out
