"""A small CSS-selector → XPath translator for the profiles.

Profiles are data, and CSS is the notation people copy out of a browser's inspector, but
lxml's own ``cssselect`` needs an extra package. The subset here is what portal rules need:
type, ``#id``, ``.class``, ``[attr]``, ``[attr=v]``, ``[attr^=v]``, ``[attr*=v]``,
``[attr$=v]``, descendant (space) and child (``>``) combinators, and ``,`` groups.
Selectors are compiled once per profile into one ``etree.XPath`` (a union), so matching a
whole rule list costs one libxml2 call instead of a Python loop.
"""

from __future__ import annotations

import re
from functools import lru_cache

from lxml import etree

_TOKEN = re.compile(
    r"""
    (?P<ws>\s*>\s*|\s+)                                  # combinator
  | (?P<tag>\*|[A-Za-z][A-Za-z0-9-]*)                    # type selector
  | \#(?P<id>[^\s.#\[>,:]+)                              # id
  | \.(?P<cls>[^\s.#\[>,:]+)                             # class
  | \[\s*(?P<attr>[A-Za-z_:][-A-Za-z0-9_:.]*)\s*
        (?:(?P<op>[\^*$]?=)\s*(?P<val>"[^"]*"|'[^']*'|[^\]\s]+)\s*)?\]
    """,
    re.VERBOSE,
)


class SelectorError(ValueError):
    """A profile selector uses syntax outside the supported subset."""


def _literal(value: str) -> str:
    # XPath 1.0 has no escape character: pick the quote the value does not contain.
    if '"' not in value:
        return f'"{value}"'
    if "'" not in value:
        return f"'{value}'"
    parts = value.split('"')
    return "concat(" + ", '\"', ".join(f'"{p}"' for p in parts) + ")"


def _condition(attr: str, op: str | None, val: str | None) -> str:
    if op is None or val is None:
        return f"@{attr}"
    if val[:1] in "\"'":
        val = val[1:-1]
    lit = _literal(val)
    if op == "=":
        return f"@{attr}={lit}"
    if op == "^=":
        return f"starts-with(@{attr}, {lit})"
    if op == "*=":
        return f"contains(@{attr}, {lit})"
    # $= : XPath 1.0 has no ends-with.
    return f"substring(@{attr}, string-length(@{attr}) - {len(val) - 1}) = {lit}"


def _one(selector: str) -> str:
    return "/".join(axis + step for axis, step in _steps(selector))


def _steps(selector: str) -> list[tuple[str, str]]:
    """(axis, ``tag[cond]…``) per compound selector of one complex selector."""
    steps: list[tuple[str, str]] = []
    axis = "descendant-or-self::"
    tag = "*"
    conds: list[str] = []
    have_step = False
    pos = 0
    sel = selector.strip()
    while pos < len(sel):
        m = _TOKEN.match(sel, pos)
        if m is None:
            raise SelectorError(f"unsupported selector syntax at {sel[pos:]!r} in {selector!r}")
        pos = m.end()
        if m.group("ws") is not None:
            if not have_step:
                raise SelectorError(f"selector starts with a combinator: {selector!r}")
            steps.append((axis, tag + "".join(f"[{c}]" for c in conds)))
            axis = "child::" if ">" in m.group("ws") else "descendant::"
            tag, conds, have_step = "*", [], False
            continue
        have_step = True
        if m.group("tag") is not None:
            tag = m.group("tag").lower()
        elif m.group("id") is not None:
            conds.append(f"@id={_literal(m.group('id'))}")
        elif m.group("cls") is not None:
            conds.append(f"contains(concat(' ', normalize-space(@class), ' '), ' {m.group('cls')} ')")
        else:
            conds.append(_condition(m.group("attr"), m.group("op"), m.group("val")))
    if not have_step:
        raise SelectorError(f"empty selector step in {selector!r}")
    steps.append((axis, tag + "".join(f"[{c}]" for c in conds)))
    return steps


def _predicate(step: str) -> str:
    # "p[c1][c2]" → "self::p and (c1) and (c2)": a test on the current node.
    tag, _, rest = step.partition("[")
    conds = [f"({c})" for c in ("[" + rest)[1:-1].split("][")] if rest else []
    if tag != "*":
        conds.insert(0, f"self::{tag}")
    return " and ".join(conds) or "true()"


def css_to_xpath(selectors: str | list[str] | tuple[str, ...]) -> str:
    """Translate a selector group to one XPath expression, relative to the context node."""
    groups = [selectors] if isinstance(selectors, str) else list(selectors)
    simple: list[str] = []
    complex_: list[str] = []
    for sel in (s for g in groups for s in g.split(",") if s.strip()):
        steps = _steps(sel)
        if len(steps) == 1:
            simple.append(_predicate(steps[0][1]))
        else:
            complex_.append("/".join(axis + step for axis, step in steps))
    if not simple and not complex_:
        raise SelectorError("no selectors given")
    # Single-step selectors share one traversal with an or-ed predicate; a union of N
    # paths would walk the tree N times.
    parts = ([f"descendant-or-self::*[{' or '.join(f'({p})' for p in simple)}]"] if simple else []) + complex_
    return " | ".join(parts)


@lru_cache(maxsize=256)
def compile_selectors(selectors: tuple[str, ...]) -> etree.XPath:
    """Compiled union XPath for a tuple of selectors (cached: profiles are immutable)."""
    return etree.XPath(css_to_xpath(selectors))
