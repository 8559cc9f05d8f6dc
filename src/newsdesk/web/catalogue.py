"""The feed catalogue as the API shows it: feeds with their schedule and health, the reader's
group → site → feed tree with unread counts, and the counts `/metrics` reports."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from fastapi import Request
from starlette.responses import Response

from ..errors import NewsdeskError
from ..models import CatalogueFeed, FeedSpec, User
from ..sources import ImportedFeed, write_opml
from ..store import Store
from .auth import desk_of


def feed_dict(f: CatalogueFeed) -> dict[str, Any]:
    s, st, sch = f.spec, f.state, f.schedule
    return {
        "key": f.key,
        "group": s.group,
        "site": s.site,
        "name": s.name,
        "url": s.url,
        "route": s.route,
        "clean": s.clean,
        "enabled": s.enabled,
        "full_text": s.full_text,
        "origin": f.origin,
        "title": f.title,
        "paused": sch.paused,
        "next_check": sch.next_check,
        "interval": sch.interval,
        "reason": sch.reason,
        "errors": sch.errors,
        "last_success": st.last_success,
        "last_attempt": st.last_attempt,
        "last_error": st.last_error,
        "min_interval": f.min_interval,
        "max_interval": f.max_interval,
    }


def feed_status(f: CatalogueFeed) -> str:
    """ok, failing (its last check failed) or paused (paused or disabled: not checked)."""
    if f.paused is not None or not f.spec.enabled:
        return "paused"
    if f.state.consecutive_failures > 0:
        return "failing"
    return "ok"


def status_counts(store: Store) -> dict[str, int]:
    counts = {"ok": 0, "failing": 0, "paused": 0}
    for f in store.catalogue():
        counts[feed_status(f)] += 1
    return counts


def overdue_seconds(store: Store, now: datetime) -> float:
    """How long the most overdue feed has been due; 0 when none is."""
    first = store.next_check_time()
    return max(0.0, (now - first).total_seconds()) if first is not None else 0.0


def feed_tree(store: Store, user: User) -> dict[str, Any]:
    """Group → site → feed in catalogue order, each with the reader's unread and total counts.
    Feeds of the archive that the catalogue no longer lists are left out."""
    counts = store.unread_counts(user.id)
    groups: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for f in store.catalogue():
        unread, total = counts.get(f.key, (0, 0))
        groups.setdefault(f.spec.group, {}).setdefault(f.spec.site, []).append(
            {"key": f.key, "name": f.spec.name, "unread": unread, "total": total, "paused": f.paused}
        )
    out_groups = []
    for group, sites in groups.items():
        out_sites = [
            {
                "name": site,
                "unread": sum(x["unread"] for x in feeds),
                "total": sum(x["total"] for x in feeds),
                "feeds": feeds,
            }
            for site, feeds in sites.items()
        ]
        out_groups.append(
            {
                "name": group,
                "unread": sum(s["unread"] for s in out_sites),
                "total": sum(s["total"] for s in out_sites),
                "sites": out_sites,
            }
        )
    return {
        "unread": sum(g["unread"] for g in out_groups),
        "total": sum(g["total"] for g in out_groups),
        "groups": out_groups,
    }


def add_imported(store: Store, feeds: Sequence[ImportedFeed], now: datetime) -> tuple[list[str], int]:
    """Add an OPML file's feeds to the catalogue: (the keys added, how many were skipped
    because their key is taken or the outline is not a feed the desk can add)."""
    added: list[str] = []
    skipped = 0
    for f in feeds:
        try:
            spec = FeedSpec(group=f.group, site=f.site, name=f.name, url=f.url, route=f.route)
            store.add_feed(spec, now)
            added.append(spec.key)
        except NewsdeskError:
            skipped += 1
    return added, skipped


def catalogue_opml(store: Store, rsshub: list[str]) -> str:
    """The feed tree as OPML 2.0 (group → site → feed outlines), every feed of the catalogue."""
    return write_opml([f.spec for f in store.catalogue()], rsshub=rsshub, title="newsdesk")


async def opml_download(request: Request) -> Response:
    """The feed tree as an OPML file to download (the API's, the app's and the feeds page's)."""
    desk = desk_of(request)
    text = await desk.run(lambda: catalogue_opml(desk.store(), desk.config.rsshub))
    return Response(
        text.encode("utf-8"),
        media_type="text/x-opml; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="newsdesk.opml"'},
    )
