"""The word lists of the stage (`data/insights_words.yaml`), read once."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

import yaml

__all__ = ["words"]


@lru_cache(maxsize=1)
def _table() -> dict[str, str]:
    raw = yaml.safe_load(resources.files("newsdesk").joinpath("data/insights_words.yaml").read_text("utf-8"))
    return {str(k): str(v) for k, v in raw.items()}


def words(key: str) -> tuple[str, ...]:
    """The list under `key`, split on whitespace."""
    return tuple(_table()[key].split())
