"""An entry as JSON: the keys `newsdesk entries list --json` prints and the API's
`GET /api/v1/entries` answers (which adds the reader's `read`, `starred` and `cluster`).
One function, so the command and the API never drift apart."""

from __future__ import annotations

from typing import Any

from .models import StoredEntry


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
