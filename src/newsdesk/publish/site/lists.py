"""List pages of the static site: which lists exist and how they are cut into pages.

Every list (home, group, site, feed, month, day) is one folder. Its `index.html` shows the
newest `size` items; older items live on numbered pages cut *from the oldest end*: item i
(in chronological order) is always on `page-{i // size + 1}.html`. A new article therefore
changes the folder's index and its newest numbered page only, instead of shifting every
page of a 10,000-article feed by one item.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from .model import EntryRecord, day_path, local_time, month_path


@dataclass
class Listing:
    folder: str  # "" (home), "c/<group>/…", "archive/2021/12/" …; always ends in "/" or is ""
    kind: str  # home, group, site, feed, month, day
    title: str
    crumbs: list[tuple[str, str]]  # (label, folder) from the top down, this list excluded
    items: list[EntryRecord] = field(default_factory=list)  # oldest first
    children: list[tuple[str, str, int]] = field(default_factory=list)  # (label, folder, count)

    @property
    def has_feeds(self) -> bool:
        return self.kind in ("home", "group", "site", "feed")


@dataclass(frozen=True)
class Page:
    path: str
    number: int  # 0 for the folder's index
    items: list[EntryRecord]  # newest first
    older: str | None  # path of the page with older items
    newer: str | None  # path of the page with newer items


def plan(metas: Iterable[EntryRecord], home_title: str) -> dict[str, Listing]:
    """All lists, keyed by folder, from the entries in chronological order."""
    lists: dict[str, Listing] = {"": Listing("", "home", home_title, [])}
    home = lists[""]
    days = _Days()
    for m in metas:
        home.items.append(m)
        g, s, f = m.folders
        group = lists.get(g) or lists.setdefault(g, Listing(g, "group", m.group, [("首页", "")]))
        group.items.append(m)
        site = lists.get(s) or lists.setdefault(s, Listing(s, "site", m.site, [("首页", ""), (m.group, g)]))
        site.items.append(m)
        feed = lists.get(f) or lists.setdefault(
            f, Listing(f, "feed", m.feed, [("首页", ""), (m.group, g), (m.site, s)])
        )
        feed.items.append(m)
        mp, dp = days.paths(m.ts)
        month = lists.get(mp)
        if month is None:
            month = lists[mp] = Listing(
                mp, "month", local_time(m.ts).strftime("%Y年%m月"), [("首页", ""), ("归档", "archive/")]
            )
        month.items.append(m)
        day = lists.get(dp)
        if day is None:
            t = local_time(m.ts)
            day = lists[dp] = Listing(
                dp,
                "day",
                t.strftime("%Y年%m月%d日"),
                [("首页", ""), ("归档", "archive/"), (t.strftime("%Y年%m月"), mp)],
            )
        day.items.append(m)
    for lst in lists.values():
        parent = _parent(lst)
        if parent is not None and parent in lists:
            lists[parent].children.append((lst.title, lst.folder, len(lst.items)))
    for lst in lists.values():
        lst.children.sort(key=lambda c: c[1])
    return lists


class _Days:
    """Month and day folders of times that come mostly in order: one local-time conversion
    per day instead of two `strftime` calls per entry."""

    def __init__(self) -> None:
        self.lo = self.hi = 0
        self.found = ("", "")

    def paths(self, ts: int) -> tuple[str, str]:
        if not self.lo <= ts < self.hi:
            t = local_time(ts)
            start = t.replace(hour=0, minute=0, second=0, microsecond=0)
            nxt = datetime.combine(t.date() + timedelta(days=1), time(), t.tzinfo)
            self.lo, self.hi = int(start.timestamp()), int(nxt.timestamp())
            if not self.lo <= ts < self.hi:  # a day that does not start at midnight: no caching
                self.lo = self.hi = 0
            self.found = (month_path(ts), day_path(ts))
        return self.found


def _parent(lst: Listing) -> str | None:
    if lst.kind == "group":
        return ""
    if lst.kind in ("site", "feed", "day"):
        return lst.crumbs[-1][1]
    return None


def page_count(lst: Listing, size: int) -> int:
    """Pages of the list: its index, and numbered pages past one page of items."""
    n = len(lst.items)
    return (n - 1) // size + 2 if n > size else 1


def newest_on_page(lst: Listing, size: int, k: int) -> EntryRecord | None:
    """The newest item of page k (0: the index), without making the page."""
    n = len(lst.items)
    if not n:
        return None
    return lst.items[n - 1 if k == 0 else min(k * size, n) - 1]


def page_at(lst: Listing, size: int, k: int) -> Page:
    """Page k of the list (0: the index; see the module doc for the numbered pages)."""
    items = lst.items
    n = len(items)
    last = page_count(lst, size) - 1
    if k == 0:
        older_index = f"{lst.folder}page-{(n - size - 1) // size + 1}.html" if n > size else None
        return Page(f"{lst.folder}index.html", 0, items[-size:][::-1], older_index, None)
    chunk = items[(k - 1) * size : k * size][::-1]
    older = f"{lst.folder}page-{k - 1}.html" if k > 1 else None
    newer = f"{lst.folder}page-{k + 1}.html" if k < last else f"{lst.folder}index.html"
    return Page(f"{lst.folder}page-{k}.html", k, chunk, older, newer)
