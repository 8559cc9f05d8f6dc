"""Quantities in text: a number (Arabic or Chinese numerals), a magnitude (万, 亿, 万亿) and a unit.

4亿户 → (400000000, "户"); 4810亿元人民币 → (481000000000, "元"); 35.4% → (35.4, "%");
0.6个百分点 → (0.6, "个百分点"); 四亿 → 400000000 (Chinese numerals through cn2an).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ._cn2an import chinese_to_number

__all__ = ["MAX_VALUE", "QUANTITY", "Quantity", "quantities", "to_number"]

# Values beyond this are not believed (a run of digits, not a statistic): dropped with a note.
MAX_VALUE = 1e20

_MAGNITUDES = {"万亿": 1e12, "亿": 1e8, "万": 1e4, "千": 1e3, "百": 1e2}
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
    r"(?P<num>(?<![\d.])\d{1,60}(?:,\d{3}){0,8}(?:\.\d{1,12})?(?![\d.]\d)"
    rf"|[{_CN_DIGITS}]{{0,8}}[十百千][{_CN_DIGITS}]{{0,8}}(?:点[{_CN_DIGITS}]{{1,6}})?"
    rf"|[{_CN_DIGITS}]{{1,8}}(?=[万亿]))"
    r"(?P<mag>万亿|亿|万|千(?!瓦|克|米)|百(?!分))?"
    rf"(?P<unit>{_UNIT_ALT})?"
)
_LONG_DIGITS = re.compile(r"\d{61}")


@dataclass(frozen=True)
class Quantity:
    value: float
    unit: str
    start: int
    end: int
    text: str


def to_number(num: str) -> float | None:
    """A number as written (4810, 1,234.5, 四, 三十五, 一千二百) → float; None when unreadable."""
    if num[:1].isdigit():
        try:
            return float(num.replace(",", ""))
        except ValueError:
            return None
    return chinese_to_number(num)


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
        if unit in ("年", "月", "天", "小时", "分钟") and mag is None:
            continue  # dates and durations are read by the period rules
        value = to_number(m.group("num"))
        if value is None:
            continue
        if mag is not None:
            value *= _MAGNITUDES[mag]
        if not value < MAX_VALUE:
            notes.append(f"number beyond 10^20 dropped: {m.group()[:40]}")
            continue
        if value == int(value):
            value = float(int(value))
        out.append(
            Quantity(round(value, 10) if value < 1e15 else value, _unit(unit), m.start(), m.end(), m.group())
        )
    return out
