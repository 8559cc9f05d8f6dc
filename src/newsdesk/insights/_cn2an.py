"""The one place cn2an is imported: it ships no type information."""

from __future__ import annotations

from functools import lru_cache

import cn2an  # type: ignore[import-untyped]

__all__ = ["chinese_to_number"]


@lru_cache(maxsize=4096)
def chinese_to_number(text: str) -> float | None:
    """三十五 → 35.0, 四亿 → 400000000.0, 一千二百 → 1200.0; None when cn2an cannot read it."""
    try:
        value = cn2an.cn2an(text, "smart")
    except (ValueError, KeyError, IndexError, TypeError):
        return None
    return float(value)
