"""Records as JSON, for the command line's `--json` and the API alike, so the two never drift
apart: an entry (the keys `newsdesk entries list --json` prints and `GET /api/v1/entries`
answers, which adds the reader's `read`, `starred` and `cluster`) and a story cluster."""

from __future__ import annotations

from typing import Any

from .models import ClusterMember, ClusterSummary, StoredEntry


def entry_dict(e: StoredEntry, full: bool = False) -> dict[str, Any]:
    """The entry's fields, with its cleaned article's metadata; `full` adds the bodies (text,
    cleaned HTML, the feed's summary and content, the fetched page). Datetimes stay datetimes:
    each caller's JSON encoder writes them as ISO 8601."""
    d: dict[str, Any] = {
        "id": e.uid,
        "title": e.title,
        "link": e.link,
        "group": e.group,
        "site": e.site,
        "feed": e.feed,
        "published": e.published,
        "updated": e.updated,
        "author": e.author,
        "first_seen": e.first_seen,
        "last_changed": e.last_changed,
        "entry_id": e.entry_id,
    }
    a = e.article
    d.update(
        {
            "source": a.source if a else None,
            "editor": a.editor if a else None,
            "reporters": list(a.reporters) if a else [],
            "dateline": a.dateline if a else None,
            "keywords": list(a.keywords) if a else [],
            "images": list(a.images) if a else [],
            "header_image": a.header_image if a else None,
            "summary": a.summary if a else e.summary,
            "char_count": a.char_count if a else None,
            "profile": a.profile if a else None,
            "clean_error": e.clean_error,
        }
    )
    if full:
        d["text"] = a.text if a else None
        d["html"] = a.html if a else None
        d["feed_summary"] = e.summary
        d["content"] = e.content
        d["page"] = e.page
    return d


def cluster_dict(c: ClusterSummary) -> dict[str, Any]:
    """A story cluster (`clusters list --json`, `GET /api/v1/clusters`)."""
    return {
        "id": c.id,
        "size": c.size,
        "sources": c.sources,
        "first": c.first,
        "last": c.last,
        "canonical": c.canonical,
        "title": c.title,
    }


def cluster_member_dicts(summary: ClusterSummary, members: list[ClusterMember]) -> list[dict[str, Any]]:
    """A cluster's members, earliest first (`clusters show --json`, `GET /api/v1/clusters/{id}`)."""
    return [
        {
            "id": m.uid,
            "feed": m.feed_key,
            "published": m.sort_time,
            "reason": m.reason,
            "similarity": round(m.similarity, 3),
            "canonical": m.uid == summary.canonical,
        }
        for m in members
    ]
