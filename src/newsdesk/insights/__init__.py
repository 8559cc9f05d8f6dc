"""The insights stage: tasks, targets, figures, bodies and terms read out of a cleaned article.

A pure function over typed records: `extract(article, published)` returns an `Insights`; no I/O.
"""

from __future__ import annotations

from datetime import datetime

from ..models import Article, Insights

__all__ = ["extract"]


def extract(article: Article, title: str, published: datetime | None) -> Insights:
    """What `article` commits to and reports; `published` (UTC) resolves 今年/明年 and periods."""
    raise NotImplementedError("the insights stage is being built (issue 18)")
