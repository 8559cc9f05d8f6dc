"""What the static site knows about each entry between builds, and where every page lives.

`EntryRecord` is the small per-entry record kept in the build manifest: list pages, feeds' item
lists, the sitemap and the search result table are all made from it, so an incremental
build never reads the bodies of entries that did not change. Bodies are only read (from
the store, in batches) to render article pages, feeds' full content and search tokens.

Paths are relative to the site root, '/'-separated, and never contain `..`, so every page
can link to every other one with a relative URL (the site works from `file://`).
"""

from __future__ import annotations

import hashlib
import html
import re
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any
from urllib.parse import quote

from ...dates import SHANGHAI
from ...models import EntryHead, StoredEntry

# Anything a file name on Linux, macOS or Windows, or a URL path segment, could trip over.
_UNSAFE = re.compile(r"[^\w\u00b7-]+|_+")
_TAGS = re.compile(r"<[^>]*>")
_SPACE = re.compile(r"\s+")
# C0 controls (but tab, newline, return), DEL, C1 controls, surrogates and non-characters:
# none is allowed in XML 1.0, and none belongs in a page either.
CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")

UNTITLED = "（无标题）"
SUMMARY_CHARS = 120


def slug(name: str) -> str:
    """A folder name for a group, site or feed name: readable, unique, safe on any filesystem.

    Word characters (CJK included) are kept; anything else (`/`, `..`, `&`, `<`, spaces) becomes
    '-'. When that changed the name, or the name has capitals (case-insensitive filesystems
    would merge `A` and `a`), a short hash of the original keeps distinct names apart.
    """
    base = _UNSAFE.sub("-", name).strip("-")[:60].strip("-")
    if base == name and name == name.lower() and name:
        return base
    digest = hashlib.sha1(name.encode("utf-8", "surrogatepass")).hexdigest()[:6]
    return f"{base}-{digest}" if base else digest


def clean_text(text: str) -> str:
    """Text without control characters (XML-safe) and with runs of whitespace collapsed."""
    return _SPACE.sub(" ", CONTROL.sub("", text)).strip()


def plain(html_text: str) -> str:
    """Visible text of an HTML fragment on one line, for the summaries of uncleaned entries
    shown on list pages and in feeds: the text of the sanitiser's output, so script and style
    sources never pass for text. (What both searches index is `search.text.entry_text`.)"""
    from ...clean.sanitise import allow_list  # the cleaning stage: only raw bodies need it

    return clean_text(html.unescape(_TAGS.sub(" ", allow_list(CONTROL.sub("", html_text)))))


def shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


@dataclass(frozen=True, slots=True)
class EntryRecord:
    """One entry as list pages, feeds and search results know it between builds: small (the
    build holds one per entry of the archive). A list item's summary and image are read from
    the store when the item is rendered (`item_details`)."""

    uid: str
    mark: str  # changes whenever the entry (or its cleaned article) changes
    title: str
    group: str
    site: str
    feed: str
    ts: int  # sort time: published, else first seen (seconds since the epoch, UTC)
    published: bool  # whether `ts` is a real publication time
    source: str | None  # 来源 of the cleaned article

    @classmethod
    def from_entry(cls, e: StoredEntry) -> EntryRecord:
        a = e.article
        return cls._make(
            e.uid,
            e.rev,
            e.content_hash,
            e.title,
            e.group,
            e.site,
            e.feed,
            e.published or e.first_seen,
            e.published is not None,
            a.source if a is not None else None,
        )

    @classmethod
    def from_head(cls, h: EntryHead) -> EntryRecord:
        """`from_entry` from an entry read without its bodies (the same record)."""
        return cls._make(
            h.uid,
            h.rev,
            h.content_hash,
            h.title,
            h.group,
            h.site,
            h.feed,
            h.published or h.first_seen,
            h.published is not None,
            h.source,
        )

    @classmethod
    def _make(
        cls,
        uid: str,
        rev: int,
        content_hash: str,
        title: str,
        group: str,
        site: str,
        feed: str,
        when: datetime,
        published: bool,
        source: str | None,
    ) -> EntryRecord:
        return cls(
            uid=uid,
            mark=mark_of(rev, content_hash),
            title=clean_text(title),
            # Interned: 100,000 records share a few hundred names instead of holding copies.
            group=sys.intern(group),
            site=sys.intern(site),
            feed=sys.intern(feed),
            ts=int(when.timestamp()),
            published=published,
            source=sys.intern(clean_text(source)) if source else None,
        )

    def __reduce__(self) -> tuple[type[EntryRecord], tuple[Any, ...]]:
        # Sent to the page workers by the thousand: a dataclass with slots is pickled through
        # `fields()` per record by default, five times slower than this tuple.
        return (
            EntryRecord,
            (
                self.uid,
                self.mark,
                self.title,
                self.group,
                self.site,
                self.feed,
                self.ts,
                self.published,
                self.source,
            ),
        )

    def to_row(self, names: dict[str, int]) -> list[Any]:
        """The record in the manifest: its group, site, feed and source as indexes into the
        manifest's list of names (`names` maps each to its index), so that reading 100,000
        records makes no string per name (a fifth of the records' size when parsed)."""
        return [
            self.uid,
            self.mark,
            self.title,
            names[self.group],
            names[self.site],
            names[self.feed],
            self.ts,
            self.published,
            names[self.source] if self.source is not None else -1,
        ]

    @classmethod
    def from_row(cls, row: list[Any], names: list[str]) -> EntryRecord:
        """`to_row` reversed (`names`: the manifest's list of names, interned)."""
        uid, mark, title, g, s, f, ts, published, source = row
        n = len(names)
        if not (0 <= g < n and 0 <= s < n and 0 <= f < n and -1 <= source < n):
            raise ValueError(f"{uid}: a name index out of range")  # a damaged manifest
        return cls(
            uid,
            mark,
            title,
            names[g],
            names[s],
            names[f],
            ts,
            published,
            names[source] if source >= 0 else None,
        )

    @property
    def display_title(self) -> str:
        return self.title or UNTITLED

    @property
    def when(self) -> datetime:
        return datetime.fromtimestamp(self.ts, UTC)

    @property
    def path(self) -> str:
        return article_path(self.uid)

    @property
    def folders(self) -> tuple[str, str, str]:
        """The group, site and feed folders the entry is listed in."""
        return category_paths(self.group, self.site, self.feed)

    @property
    def sort_key(self) -> tuple[int, str]:
        return (self.ts, self.uid)


# What a list item shows beyond its EntryRecord: summary and header image.
ItemDetails = tuple[str, "str | None"]


def item_details(h: EntryHead) -> ItemDetails:
    summary = plain(h.summary) if h.summary_is_html else h.summary
    return shorten(clean_text(summary), SUMMARY_CHARS), h.header_image


def entry_summary(e: StoredEntry) -> str:
    """`item_details`' summary, from a whole entry."""
    a = e.article
    summary = a.summary if a is not None and a.summary else plain(e.summary or e.content)
    return shorten(clean_text(summary), SUMMARY_CHARS)


def entry_mark(e: StoredEntry) -> str:
    return mark_of(e.rev, e.content_hash)


def mark_of(rev: int, content_hash: str) -> str:
    # rev moves on every change the store records (content, cleaning); the hash guards
    # against a store whose revision counter was reset.
    return f"{rev}:{content_hash[:12]}"


def article_path(uid: str) -> str:
    # By uid, not by date: an article whose date is corrected keeps its address.
    return f"a/{uid[:2]}/{uid}.html"


@lru_cache(maxsize=4096)
def category_paths(group: str, site: str, feed: str) -> tuple[str, str, str]:
    g = f"c/{slug(group)}/"
    s = f"{g}{slug(site)}/"
    return g, s, f"{s}{slug(feed)}/"


def local_time(ts: int) -> datetime:
    return datetime.fromtimestamp(ts, SHANGHAI)


def day_path(ts: int) -> str:
    return local_time(ts).strftime("archive/%Y/%m/%d/")


def month_path(ts: int) -> str:
    return local_time(ts).strftime("archive/%Y/%m/")


def href(from_path: str, to_path: str) -> str:
    """A relative, percent-encoded link from page `from_path` to `to_path` (both site-relative).

    A folder (ending in '/') is linked as its index.html: file:// has no directory index.
    """
    return "../" * from_path.count("/") + _quoted(to_path)


@lru_cache(maxsize=4096)
def _quoted(to_path: str) -> str:
    # Pages link to the same few targets over and over (navigation, categories): quote once.
    # Small: article paths, unique, would fill a large cache in every process for nothing.
    if to_path == "" or to_path.endswith("/"):
        to_path += "index.html"
    return quote(to_path, safe="/#")
