"""Search queries: the user's text parsed into a typed AST that every index backend compiles.

Syntax (what a reader types; no field prefixes, no parentheses):

    央行 降准                  both words must match (AND is implicit)
    "千兆光网 建设"            an exact phrase (ASCII quotes or Chinese “ ” quotes)
    -房地产  -"专项债"         exclude a word or a phrase
    央行 OR 人民银行            either (OR binds tighter than the implicit AND: `a b OR c` is a AND (b OR c));
                               `|` works too

A bare word that segmentation cuts into several tokens (千兆光网 → 千兆 + 光网) is matched as a
phrase of those tokens, never as loose tokens: that is how a Chinese reader means it.
Words are normalised with `segment.tokenize`, so Traditional input finds Simplified text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from .segment import tokenize

__all__ = ["AnyOf", "Filters", "Match", "ParsedQuery", "QuerySyntaxError", "Sort", "parse_query"]

Sort = Literal["relevance", "date"]


class QuerySyntaxError(ValueError):
    """The query cannot be understood (turned into a SearchError for the user)."""


@dataclass(frozen=True)
class Match:
    """One word or quoted phrase. `tokens` is what the index must hold at consecutive positions."""

    text: str  # as typed (without quotes), for highlighting
    tokens: tuple[str, ...]
    quoted: bool = False


@dataclass(frozen=True)
class AnyOf:
    """At least one of the options must match."""

    options: tuple[Match, ...]


@dataclass(frozen=True)
class ParsedQuery:
    required: tuple[Match | AnyOf, ...]  # every one must match
    excluded: tuple[Match, ...] = ()  # none may match

    def positive_matches(self) -> list[Match]:
        """Every word or phrase that can be highlighted in a hit."""
        out: list[Match] = []
        for r in self.required:
            out.extend(r.options if isinstance(r, AnyOf) else (r,))
        return out


@dataclass(frozen=True)
class Filters:
    """Restrictions besides the text. Feed matches a feed name or its group/site/name key."""

    group: str | None = None
    site: str | None = None
    feed: str | None = None
    source: str | None = None  # 来源 of the cleaned article, e.g. 中国新闻网
    since: datetime | None = None  # inclusive, UTC-aware
    until: datetime | None = None  # exclusive, UTC-aware


# A quoted phrase ("…" or “…”), an OR operator, or a run of non-space characters.
_LEX = re.compile(r'(-?)(?:"([^"]*)"?|“([^”]*)”?)|(\S+)')


def parse_query(text: str) -> ParsedQuery:
    """Parse `text` (see the module doc). Raises QuerySyntaxError when nothing is left to search."""
    items: list[tuple[bool, Match] | Literal["OR"]] = []
    for m in _LEX.finditer(text):
        neg, dq, cq, bare = m.group(1), m.group(2), m.group(3), m.group(4)
        if bare is not None:
            if bare in ("OR", "|"):
                items.append("OR")
                continue
            negated = bare.startswith("-") and len(bare) > 1
            word = bare[1:] if negated else bare
            tokens = tuple(tokenize(word))
            if tokens:
                items.append((negated, Match(word, tokens)))
            continue
        phrase = dq if dq is not None else cq or ""
        tokens = tuple(tokenize(phrase))
        if tokens:
            items.append((bool(neg), Match(phrase.strip(), tokens, quoted=True)))

    required: list[Match | AnyOf] = []
    excluded: list[Match] = []
    join_next = False
    for item in items:
        if item == "OR":
            join_next = bool(required)  # a leading or doubled OR is ignored
            continue
        negated, match = item
        if negated:
            excluded.append(match)
            join_next = False
            continue
        if join_next:
            prev = required.pop()
            options = prev.options if isinstance(prev, AnyOf) else (prev,)
            required.append(AnyOf((*options, match)))
        else:
            required.append(match)
        join_next = False
    if not required:
        if excluded:
            raise QuerySyntaxError("a query needs at least one word to look for besides the -excluded ones")
        raise QuerySyntaxError("the query has no words to look for")
    return ParsedQuery(tuple(required), tuple(excluded))
