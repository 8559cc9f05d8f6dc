"""The feed catalogue as the API shows it: feeds with their schedule and health, the reader's
group → site → feed tree with unread counts, and the counts `/metrics` reports."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ..models import CatalogueFeed, User
from ..store import Store


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
