"""The sidebar: group → site → feed with the reader's unread counts and each site's icon.
Every group and site is listed; a site's feeds only when it is the one being read (a desk of a
thousand feeds would otherwise send a thousand rows with every page).

The sidebar's markup is kept per process (`SIDEBARS`), keyed by what it shows: the reader, the
archive's counters that change whenever it would (`MediaStore.tree_version`: the tree's, the
reader's read state's, the archive's changes'), the list, its filters, the language and the
base path. A reader paging through a list, or coming back to it, gets it from there: the
query of every site's counts and a hundred sites' rendering are done once per change."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Container, Hashable
from functools import lru_cache
from typing import Any
from urllib.parse import quote

from ...models import FeedPlace, SitePlace


@lru_cache(maxsize=8192)
def _q(value: str) -> str:
    # The same hundred names in every page's links: each quoted once.
    return quote(value, safe="")


def icon_query(group: str, site: str) -> str:
    """The query of a site's icon URL (`{base}/icon?…`, web/pages/media.py)."""
    return f"g={_q(group)}&s={_q(site)}"


def sidebar(
    sites: list[SitePlace], feeds: list[FeedPlace], icons: Container[tuple[str, str]] = ()
) -> dict[str, Any]:
    """The tree of `sites`, with `feeds` (those of the site being read) under their sites;
    `icons`: the (group, site) that have an icon."""
    under: dict[tuple[str, str], list[FeedPlace]] = {}
    for f in feeds:
        under.setdefault((f.group, f.site), []).append(f)
    groups: dict[str, list[dict[str, Any]]] = {}
    for s in sites:
        shown = under.get((s.group, s.site), [])
        groups.setdefault(s.group, []).append(
            {
                "name": s.site,
                "unread": s.unread,
                "feeds": [{"place": f, "query": f"feed={_q(f.key)}"} for f in shown],
                "open": bool(shown),
                "query": f"group={_q(s.group)}&site={_q(s.site)}",
                "icon": icon_query(s.group, s.site) if (s.group, s.site) in icons else "",
            }
        )
    out = [
        {"name": g, "unread": sum(s["unread"] for s in nodes), "sites": nodes, "query": f"group={_q(g)}"}
        for g, nodes in groups.items()
    ]
    return {"unread": sum(g["unread"] for g in out), "groups": out}


class Kept:
    """A small least-recently-used map shared by a process's threads."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> Any | None:
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key: Hashable, value: Any) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)


SIDEBARS = Kept(512)  # the sidebar's markup, by what it shows (see the module docstring)
ICONS = Kept(4)  # the tree's version → {(group, site): its icon's query} of sites with one
