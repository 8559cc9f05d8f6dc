"""The sidebar: group → site → feed with the reader's unread counts. Every group and site is
listed; a site's feeds only when it is the one being read (a desk of a thousand feeds would
otherwise send a thousand rows with every page)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any
from urllib.parse import quote

from ...models import FeedPlace, SitePlace


@lru_cache(maxsize=8192)
def _q(value: str) -> str:
    # The same hundred names in every page's links: each quoted once.
    return quote(value, safe="")


def sidebar(sites: list[SitePlace], feeds: list[FeedPlace]) -> dict[str, Any]:
    """The tree of `sites`, with `feeds` (those of the site being read) under their sites."""
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
            }
        )
    out = [
        {"name": g, "unread": sum(s["unread"] for s in nodes), "sites": nodes, "query": f"group={_q(g)}"}
        for g, nodes in groups.items()
    ]
    return {"unread": sum(g["unread"] for g in out), "groups": out}
