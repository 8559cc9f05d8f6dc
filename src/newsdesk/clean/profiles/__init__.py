"""Site profiles: per-host cleaning rules, kept as data.

Each portal has one module here holding a plain ``PROFILE`` dict (no code), so adding a
site means writing data, not logic. The dicts live in ``.py`` files rather than YAML/TOML
so they ship inside the package without any package-data configuration. They are
validated and compiled once at import: selector lists become one XPath union each, text
rules one alternation regex, so applying a profile costs a handful of libxml2/regex calls.

Every profile is merged with ``generic`` (widgets and boilerplate lines that look the same
on every portal); ``generic`` alone is the profile for unknown hosts. A profile states only
the keys it needs: a missing list is empty, a missing regex None. Which portals have one, and
where their markup was read (RSSHub's route code for most finance portals), is docs/cleaning.md.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import ModuleType
from urllib.parse import urlsplit

from lxml import etree

from newsdesk.clean.profiles import (
    banyuetan,
    caixin,
    chinadaily,
    cls,
    cnstock,
    cs,
    eastmoney,
    eeo,
    generic,
    govcn,
    hexun,
    ifeng,
    jiemian,
    jingji21,
    nbd,
    netease,
    people,
    sina,
    stcn,
    tencent,
    thepaper,
    wallstreetcn,
    xinhua,
    yicai,
)
from newsdesk.clean.selectors import Matcher, compile_selectors, shared_candidates

_MODULES: tuple[ModuleType, ...] = (
    *(sina, people, xinhua, thepaper, stcn, hexun, chinadaily, banyuetan),
    # Finance portals (issue 17); most built from RSSHub's route code, see docs/cleaning.md.
    *(yicai, caixin, wallstreetcn, cls, eastmoney, jingji21, jiemian, eeo, cs, cnstock, nbd, govcn),
    *(netease, tencent, ifeng),
)

_KEYS = {
    "name",
    "hosts",
    "markers",
    "body",
    "drop_between",
    "drop",
    "unwrap",
    "figures",
    "drop_text",
    "image_block",
    "editor",
    "source",
    "reporters",
    "comment_source",
    "comment_keywords",
}


class TextRules:
    """Regex rules over a block's whole text, split by anchoring.

    An alternation of ``^…`` branches is not anchored as a whole, so ``re.search`` would try
    every branch at every position of a long paragraph; the anchored branches are therefore
    compiled into one ``match`` (position 0 only) and only the rest into a ``search``.
    """

    __slots__ = ("anchored", "floating")

    def __init__(self, patterns: tuple[str, ...]) -> None:
        starts = [p[1:] for p in patterns if p.startswith("^")]
        rest = [p for p in patterns if not p.startswith("^")]
        self.anchored = re.compile("|".join(f"(?:{p})" for p in starts)) if starts else None
        self.floating = re.compile("|".join(f"(?:{p})" for p in rest)) if rest else None

    def search(self, text: str) -> bool:
        return bool(
            (self.anchored is not None and self.anchored.match(text))
            or (self.floating is not None and self.floating.search(text))
        )


@dataclass(frozen=True)
class Profile:
    """Compiled cleaning rules for one portal (already merged with the generic rules)."""

    name: str
    hosts: tuple[str, ...]
    markers: tuple[str, ...]
    body: tuple[str, ...]  # selectors tried in order to find the article in a full page
    own_body: int  # how many of ``body`` are the portal's own (the rest are generic CMS markers)
    drop_between: tuple[tuple[str, str], ...]  # comment text pairs whose content goes
    drop: Matcher | None
    unwrap: Matcher | None
    figures: tuple[tuple[Matcher, Matcher], ...]  # (wrapper, caption inside it)
    drop_text: TextRules | None  # a block whose text matches is removed
    image_block: re.Pattern[str] | None  # an image whose URL matches is not content
    editor: Matcher | None
    source: tuple[Matcher, ...]  # in priority order (a union would be document order)
    reporters: Matcher | None
    comment_source: re.Pattern[str] | None
    comment_keywords: re.Pattern[str] | None
    any_figure: Matcher | None  # all figure wrappers at once: most articles have none
    scan: etree.XPath | None  # candidates of drop, unwrap, any_figure and editor in one walk


def _strs(data: Mapping[str, object], key: str) -> tuple[str, ...]:
    value = data.get(key) or []
    if not isinstance(value, Sequence) or isinstance(value, str):
        raise TypeError(f"profile {data.get('name')!r}: {key} must be a list of strings")
    out = tuple(value)
    if not all(isinstance(v, str) for v in out):
        raise TypeError(f"profile {data.get('name')!r}: {key} must be a list of strings")
    return out


def _pairs(data: Mapping[str, object], key: str) -> tuple[tuple[str, str], ...]:
    value = data.get(key) or []
    if not isinstance(value, Sequence):
        raise TypeError(f"profile {data.get('name')!r}: {key} must be a list of pairs")
    out: list[tuple[str, str]] = []
    for pair in value:
        if not (isinstance(pair, Sequence) and len(pair) == 2 and all(isinstance(p, str) for p in pair)):
            raise TypeError(f"profile {data.get('name')!r}: {key} entries must be [str, str]")
        out.append((pair[0], pair[1]))
    return tuple(out)


def _xpath(selectors: tuple[str, ...]) -> Matcher | None:
    return compile_selectors(selectors) if selectors else None


def _regex(patterns: tuple[str, ...], *, lowercase: bool = False) -> re.Pattern[str] | None:
    # One alternation: a single C-level search per block instead of a loop over rules.
    # No re.IGNORECASE: it makes such an alternation three times slower. Rules matched
    # against lowercased text (image URLs) must themselves be written in lowercase.
    if lowercase:
        upper = [p for p in patterns if re.sub(r"\\.", "", p) != re.sub(r"\\.", "", p).lower()]
        if upper:
            raise ValueError(f"image_block patterns must be lowercase: {upper}")
    return re.compile("|".join(f"(?:{p})" for p in patterns)) if patterns else None


def _optional_regex(data: Mapping[str, object], key: str) -> re.Pattern[str] | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise TypeError(f"profile {data.get('name')!r}: {key} must be a regex string or None")
    return re.compile(value, re.S)


def build(data: Mapping[str, object], base: Mapping[str, object] | None = None) -> Profile:
    """Validate one profile dict and compile it, merged with ``base`` (the generic rules)."""
    unknown = set(data) - _KEYS
    if unknown:
        raise KeyError(f"profile {data.get('name')!r}: unknown keys {sorted(unknown)}")
    name = data.get("name")
    if not isinstance(name, str) or not name:
        raise TypeError("profile name must be a non-empty string")

    def merged(key: str) -> tuple[str, ...]:
        own = _strs(data, key)
        return own + tuple(v for v in (_strs(base, key) if base else ()) if v not in own)

    figures = _pairs(data, "figures") + (_pairs(base, "figures") if base else ())
    drop, unwrap, editor = _xpath(merged("drop")), _xpath(merged("unwrap")), _xpath(merged("editor"))
    any_figure = _xpath(tuple(w for w, _ in figures))
    return Profile(
        name=name,
        hosts=tuple(h.lower().lstrip(".") for h in _strs(data, "hosts")),
        markers=_strs(data, "markers"),
        body=merged("body"),
        own_body=len(_strs(data, "body")),
        drop_between=_pairs(data, "drop_between"),
        drop=drop,
        unwrap=unwrap,
        figures=tuple((compile_selectors((w,)), compile_selectors((c,))) for w, c in figures),
        drop_text=TextRules(merged("drop_text")) if merged("drop_text") else None,
        image_block=_regex(merged("image_block"), lowercase=True),
        editor=editor,
        source=tuple(compile_selectors((s,)) for s in merged("source")),
        reporters=_xpath(merged("reporters")),
        comment_source=_optional_regex(data, "comment_source"),
        comment_keywords=_optional_regex(data, "comment_keywords"),
        any_figure=any_figure,
        scan=shared_candidates((drop, unwrap, any_figure, editor)),
    )


GENERIC: Profile = build(generic.PROFILE)
PROFILES: tuple[Profile, ...] = tuple(build(m.PROFILE, generic.PROFILE) for m in _MODULES)
_BY_NAME = {p.name: p for p in (*PROFILES, GENERIC)}


def get_profile(name: str) -> Profile:
    """The profile called ``name`` (KeyError if there is none)."""
    return _BY_NAME[name]


def host_of(url: str | None) -> str:
    if not url:
        return ""
    try:
        return (urlsplit(url.strip()).hostname or "").lower()
    except ValueError:
        return ""


def profile_for(url: str | None, html: str = "") -> Profile:
    """Pick the profile by host suffix; without a usable host, by body markers; else generic."""
    host = host_of(url)
    if host:
        for prof in PROFILES:
            if any(host == h or host.endswith("." + h) for h in prof.hosts):
                return prof
    if html:
        head = html[:200_000]  # markers sit in the body; no need to scan a 10 MB page
        for prof in PROFILES:
            if any(m in head for m in prof.markers):
                return prof
    return GENERIC
