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


_Cond = tuple[str, str, str]  # (attribute, operator, value); operator "" = attribute present


class _Rule:
    """One compound selector (``span[id^=stock_]``) checked in Python on a candidate."""

    __slots__ = ("conds", "tag")

    def __init__(self, tag: str, conds: list[_Cond]) -> None:
        self.tag = tag
        self.conds = conds

    def matches(self, el: etree._Element) -> bool:
        if self.tag != "*" and el.tag != self.tag:
            return False
        for attr, op, val in self.conds:
            have = el.get(attr)
            if have is None:
                return False
            if op == "~=":
                if val not in have.split():
                    return False
            elif op == "=":
                if have != val:
                    return False
            elif op == "^=":
                if not have.startswith(val):
                    return False
            elif op == "*=":
                if val not in have:
                    return False
            elif op == "$=" and not have.endswith(val):
                return False
        return True


_SIMPLE = re.compile(r"^(?P<tag>\*|[A-Za-z][A-Za-z0-9-]*)?(?P<rest>(?:[#.][^\s.#\[>,:]+|\[[^\]]+\])*)$")
_PART = re.compile(
    r"#(?P<id>[^\s.#\[]+)|\.(?P<cls>[^\s.#\[]+)|\[\s*(?P<attr>[^\s\]^*$=]+)\s*(?:(?P<op>[\^*$]?=)\s*(?P<val>\"[^\"]*\"|'[^']*'|[^\]\s]+)\s*)?\]"
)


def _rule(selector: str) -> _Rule | None:
    """A single compound selector as a rule, or None if it has combinators."""
    m = _SIMPLE.match(selector.strip())
    if m is None:
        return None
    conds: list[_Cond] = []
    for part in _PART.finditer(m.group("rest")):
        if part.group("id") is not None:
            conds.append(("id", "=", part.group("id")))
        elif part.group("cls") is not None:
            conds.append(("class", "~=", part.group("cls")))
        else:
            val = part.group("val") or ""
            if val[:1] in "\"'":
                val = val[1:-1]
            conds.append((part.group("attr").lower(), part.group("op") or "", val))
    return _Rule((m.group("tag") or "*").lower(), conds)


class Matcher:
    """Callable like an ``etree.XPath``: the elements under a node matching any selector,
    in document order.

    libxml2 evaluates an or-ed predicate of a few dozen ``contains(@class, …)`` tests at
    several microseconds per element, which made profile matching the most expensive step
    of cleaning. Here one cheap XPath (``[@class or @id or self::nav …]``, no string
    functions) picks the candidates and the rules are checked in Python, indexed by class
    token, id and tag so a candidate meets only the rules that could match it. Selectors
    with combinators (``.date-source .source``) fall back to a compiled XPath.
    """

    def __init__(self, selectors: tuple[str, ...]) -> None:
        self.by_class: dict[str, list[_Rule]] = {}
        self.by_id: dict[str, list[_Rule]] = {}
        self.by_tag: dict[str, list[_Rule]] = {}
        scan: dict[str, list[tuple[str, _Rule]]] = {}  # attribute → (regex part, rule)
        complex_: list[str] = []
        attrs: set[str] = set()
        for sel in (s.strip() for group in selectors for s in group.split(",") if s.strip()):
            css_to_xpath(sel)  # validates the syntax, raising SelectorError early
            rule = _rule(sel)
            if rule is None:
                complex_.append(sel)
                continue
            attrs.update(a for a, _, _ in rule.conds)
            key = next(
                ((a, op, v) for a, op, v in rule.conds if (a, op) in {("class", "~="), ("id", "=")}), None
            )
            if key is not None:
                index = self.by_class if key[0] == "class" else self.by_id
                index.setdefault(key[2], []).append(rule)
            elif rule.tag != "*" and not rule.conds:
                self.by_tag.setdefault(rule.tag, []).append(rule)
            elif rule.conds:
                attr, op, val = rule.conds[0]
                part = {
                    "": "",
                    "=": f"^{re.escape(val)}$",
                    "^=": f"^{re.escape(val)}",
                    "$=": f"{re.escape(val)}$",
                }
                scan.setdefault(attr, []).append((part.get(op, re.escape(val)), rule))
        # Substring/prefix rules: one regex per attribute finds the candidates worth checking.
        self.scan = {
            attr: (re.compile("|".join(p for p, _ in items)), [r for _, r in items])
            for attr, items in scan.items()
        }
        self.attrs = tuple(sorted(attrs))
        self.needles = _needles(selectors)
        # hit() depends only on the tag and these attributes, and pages repeat the same few
        # class/id values (img_wrapper, stock_…) many times: remember the answers.
        self._memo: dict[tuple[object, ...], bool] = {}
        tests = [f"@{a}" for a in self.attrs] + [f"self::{t}" for t in sorted(self.by_tag)]
        self.tests = tuple(tests)  # lets several matchers share one candidate walk
        self.candidates = etree.XPath(f"descendant-or-self::*[{' or '.join(tests)}]") if tests else None
        self.complex = etree.XPath(css_to_xpath(tuple(complex_))) if complex_ else None

    def hit(self, el: etree._Element) -> bool:
        """Whether ``el`` itself matches one of the selectors (simple selectors only)."""
        # Early returns in the order of likelihood; this runs for every candidate element.
        cls = el.get("class")
        if cls:
            for token in cls.split():
                for rule in self.by_class.get(token, ()):
                    if rule.matches(el):
                        return True
        ident = el.get("id")
        if ident:
            for rule in self.by_id.get(ident, ()):
                if rule.matches(el):
                    return True
        for rule in self.by_tag.get(el.tag, ()):
            if rule.matches(el):
                return True
        for attr, (pattern, rules) in self.scan.items():
            value = el.get(attr)
            if value is not None and pattern.search(value) and any(r.matches(el) for r in rules):
                return True
        return False

    def could_match(self, raw: str) -> bool:
        """False when the HTML source lacks every string a match would need (then skip the walk)."""
        return self.needles is None or any(n in raw for n in self.needles)

    def __call__(
        self, node: etree._Element, candidates: list[etree._Element] | None = None
    ) -> list[etree._Element]:
        """Matches under ``node``. ``candidates`` (from ``shared_candidates``) may stand in for
        this matcher's own candidate walk; they must be a superset, in document order."""
        found: list[etree._Element] = []
        if self.candidates is not None:
            memo = self._memo
            for el in self.candidates(node) if candidates is None else candidates:
                key = (el.tag, *[el.get(a) for a in self.attrs])
                hit = memo.get(key)
                if hit is None:
                    hit = self.hit(el)
                    if len(memo) >= 4096:  # bounded: a crawl meets endless distinct ids
                        memo.clear()
                    memo[key] = hit
                if hit:
                    found.append(el)
        if self.complex is not None:
            extra = [el for el in self.complex(node) if el not in found]
            if extra:
                order = {el: i for i, el in enumerate(node.iter())}
                found = sorted([*found, *extra], key=lambda el: order.get(el, 0))
        return found


def shared_candidates(matchers: tuple[Matcher | None, ...]) -> etree.XPath | None:
    """One XPath finding the candidates of all ``matchers``: libxml2 walks the tree once
    instead of once per matcher (the walk, not the rule checks, dominates on big bodies)."""
    tests = sorted({t for m in matchers if m is not None for t in m.tests})
    return etree.XPath(f"descendant-or-self::*[{' or '.join(tests)}]") if tests else None


def _needles(selectors: tuple[str, ...]) -> tuple[str, ...] | None:
    """Literal strings one of which must occur in the HTML for any selector to match: the
    class token, id or attribute value (prefix/substring) it names, or ``<tag``. None when
    some selector has no such string, or when there are so many that testing them would cost
    more than the tree walk they could save."""
    out: list[str] = []
    for sel in (s.strip() for group in selectors for s in group.split(",") if s.strip()):
        rule = _rule(sel)
        if rule is None:
            return None
        values = [v for _, op, v in rule.conds if op in ("~=", "=", "^=", "*=") and v]
        if values:
            out.append(max(values, key=len))
        elif rule.tag != "*" and not rule.conds:
            out.append("<" + rule.tag)
        else:
            return None
    unique = tuple(dict.fromkeys(out))
    return unique if len(unique) <= 8 else None


@lru_cache(maxsize=256)
def compile_selectors(selectors: tuple[str, ...]) -> Matcher:
    """Compiled matcher for a tuple of selectors (cached: profiles are immutable)."""
    return Matcher(selectors)
