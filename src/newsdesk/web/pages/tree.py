"""The sidebar: group → site → feed with the reader's unread counts. Every group and site is
listed; a site's feeds only when it is the one being read (a desk of a thousand feeds would
otherwise send a thousand rows with every page)."""

from __future__ import annotations

from typing import Any

from ...models import FeedPlace


def sidebar(
    places: list[FeedPlace],
    *,
    group: str | None,
    site: str | None,
    feed: str | None,
) -> dict[str, Any]:
    groups: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for p in places:
        node = {"key": p.key, "name": p.name, "unread": p.unread, "paused": p.paused}
        groups.setdefault(p.group, {}).setdefault(p.site, []).append(node)
    out = []
    for g, sites in groups.items():
        site_nodes = []
        for s, feeds in sites.items():
            chosen = (site == s and group in (None, g)) or any(f["key"] == feed for f in feeds)
            site_nodes.append(
                {
                    "name": s,
                    "unread": sum(f["unread"] for f in feeds),
                    "feeds": feeds if chosen else [],
                    "open": chosen,
                }
            )
        out.append({"name": g, "unread": sum(s["unread"] for s in site_nodes), "sites": site_nodes})
    return {"unread": sum(g["unread"] for g in out), "groups": out}
