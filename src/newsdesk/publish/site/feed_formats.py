"""Outgoing feeds: RSS 2.0, Atom 1.0 and JSON Feed 1.1, from one list of items.

Pure functions from `FeedInfo` + `FeedItem`s to bytes; the site publisher decides where the
files go (site root, and every group, site and feed folder) and when they are rewritten.

* GUIDs are `urn:uuid:` UUIDv5s of the entry's uid, so they never change when the site is
  rebuilt, moved to another host or given another base URL.
* Every text is made XML-safe: characters XML 1.0 forbids (C0/C1 controls, lone surrogates,
  U+FFFE/U+FFFF) are removed, then `& < > "` are escaped. Nothing is put in CDATA, so a
  body containing `]]>` cannot break out.
* The feed's own dates are the newest item's, never the build time: building twice
  gives the same bytes.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache

import orjson

from ..hexo_format import rfc822_gmt
from .model import CONTROL

# A fixed namespace: the GUID of an entry depends on its uid alone.
GUID_NAMESPACE = uuid.UUID("6f1c2a43-3f59-5a0e-9a4e-5e1e2f0b6d11")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
GENERATOR = "newsdesk"


@lru_cache(maxsize=4096)
def guid(uid: str) -> str:
    # Cached: an entry is in up to four folders' feeds, each in three formats.
    return f"urn:uuid:{uuid.uuid5(GUID_NAMESPACE, uid)}"


def xml_text(text: str | None) -> str:
    """XML-safe text: forbidden characters removed, markup characters escaped."""
    if not text:
        return ""
    if len(text) > 200:
        return _escape_xml_cached(text)
    return _escape_xml(text)


def _escape_xml(text: str) -> str:
    return (
        CONTROL.sub("", text)
        .replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&quot;")
    )


# Bodies: the same article is in the site's, its group's, site's and feed's RSS and Atom
# files, so each body is escaped once per build, not eight times.
_escape_xml_cached = lru_cache(maxsize=1024)(_escape_xml)


def _iso(dt: datetime) -> str:
    return dt.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _safe(text: str | None) -> str:
    return CONTROL.sub("", text) if text else ""


@dataclass(frozen=True)
class FeedItem:
    uid: str
    title: str
    url: str  # the item's page on this site (absolute when a base URL is configured)
    external_url: str | None  # the original article
    content_html: str
    summary: str
    published: datetime
    updated: datetime
    author: str | None = None
    tags: tuple[str, ...] = ()
    image: str | None = None


@dataclass(frozen=True)
class FeedInfo:
    key: str  # the folder the feed describes ("" for the whole site): its stable identity
    title: str
    home_url: str
    description: str
    rss_url: str
    atom_url: str
    json_url: str


def _updated(items: Sequence[FeedItem]) -> datetime:
    return max((i.updated for i in items), default=EPOCH)


def render_rss(info: FeedInfo, items: Sequence[FeedItem]) -> bytes:
    out = [
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom">\n<channel>\n',
        f"<title>{xml_text(info.title)}</title>\n<link>{xml_text(info.home_url)}</link>\n",
        f"<description>{xml_text(info.description)}</description>\n<language>zh-cn</language>\n",
        f"<generator>{GENERATOR}</generator>\n",
        f'<atom:link href="{xml_text(info.rss_url)}" rel="self" type="application/rss+xml"/>\n',
        f"<lastBuildDate>{rfc822_gmt(_updated(items))}</lastBuildDate>\n",
    ]
    for i in items:
        out.append(
            f"<item>\n<title>{xml_text(i.title)}</title>\n<link>{xml_text(i.url)}</link>\n"
            f'<guid isPermaLink="false">{guid(i.uid)}</guid>\n'
            f"<pubDate>{rfc822_gmt(i.published)}</pubDate>\n"
        )
        out.extend(f"<category>{xml_text(t)}</category>\n" for t in i.tags)
        out.append(f"<description>{xml_text(i.content_html)}</description>\n</item>\n")
    out.append("</channel>\n</rss>\n")
    return "".join(out).encode("utf-8")


def render_atom(info: FeedInfo, items: Sequence[FeedItem]) -> bytes:
    out = [
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="zh-CN">\n',
        f"<id>{guid('feed:' + info.key)}</id>\n<title>{xml_text(info.title)}</title>\n",
        f"<subtitle>{xml_text(info.description)}</subtitle>\n<updated>{_iso(_updated(items))}</updated>\n",
        f'<link rel="alternate" type="text/html" href="{xml_text(info.home_url)}"/>\n',
        f'<link rel="self" type="application/atom+xml" href="{xml_text(info.atom_url)}"/>\n',
        f"<author><name>{xml_text(info.title)}</name></author>\n<generator>{GENERATOR}</generator>\n",
    ]
    for i in items:
        out.append(
            f"<entry>\n<id>{guid(i.uid)}</id>\n<title>{xml_text(i.title)}</title>\n"
            f"<published>{_iso(i.published)}</published>\n<updated>{_iso(i.updated)}</updated>\n"
            f'<link rel="alternate" type="text/html" href="{xml_text(i.url)}"/>\n'
        )
        if i.external_url:
            out.append(f'<link rel="related" type="text/html" href="{xml_text(i.external_url)}"/>\n')
        if i.author:
            out.append(f"<author><name>{xml_text(i.author)}</name></author>\n")
        out.extend(f'<category term="{xml_text(t)}"/>\n' for t in i.tags)
        out.append(
            f'<summary type="text">{xml_text(i.summary)}</summary>\n'
            f'<content type="html">{xml_text(i.content_html)}</content>\n</entry>\n'
        )
    out.append("</feed>\n")
    return "".join(out).encode("utf-8")


def render_json_feed(info: FeedInfo, items: Sequence[FeedItem]) -> bytes:
    doc: dict[str, object] = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": _safe(info.title),
        "home_page_url": info.home_url,
        "feed_url": info.json_url,
        "description": _safe(info.description),
        "language": "zh-CN",
        "items": [_json_item(i) for i in items],
    }
    try:
        # orjson: json's indented output runs in Python, a third of an incremental build's feeds.
        return orjson.dumps(doc, option=orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE)
    except TypeError:  # a lone surrogate, which only json writes (escaped)
        return (json.dumps(doc, indent=2) + "\n").encode("utf-8")


def _json_item(i: FeedItem) -> dict[str, object]:
    item: dict[str, object] = {
        "id": guid(i.uid),
        "url": i.url,
        "title": _safe(i.title),
        "content_html": _safe(i.content_html),
        "summary": _safe(i.summary),
        "date_published": _iso(i.published),
        "date_modified": _iso(i.updated),
    }
    if i.external_url:
        item["external_url"] = i.external_url
    if i.image:
        item["image"] = i.image
    if i.author:
        item["authors"] = [{"name": _safe(i.author)}]
    if i.tags:
        item["tags"] = [_safe(t) for t in i.tags]
    return item
