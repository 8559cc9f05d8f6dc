"""The Hexo post format: front matter in the reference style, then the article's HTML untouched.

Pure functions, except `write_atomic`, which is the only place that touches the disk.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from email.utils import format_datetime
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

from .. import atomic
from ..errors import PublishError
from ..models import StoredEntry
from .frontmatter import FMValue, Quoted, emit_front_matter

# Lazy-loading scripts keep the real address in one of these while `src` holds a placeholder.
_LAZY_ATTRS = ("data-src", "data-original", "data-lazy-src")

# File names lazy loaders use for the stand-in image (blank.gif, loading.png, lazy-load.svg, ...).
_PLACEHOLDER_NAME = re.compile(
    r"(?:blank|placeholder|loading|lazy|spacer|pixel|transparent|grey|gray|empty)(?:[-_.][\w.-]*)?"
    r"\.(?:gif|png|svg|jpe?g|webp)",
    re.IGNORECASE,
)

# Openers of Nunjucks variables, tags and comments; Hexo renders post bodies through Nunjucks.
_NUNJUCKS = re.compile(r"\{[{%#]")

_UID = re.compile(r"[0-9a-f]{16}")


def rfc822_gmt(dt: datetime) -> str:
    """``dt`` as RFC 822 in GMT, e.g. ``Mon, 20 Dec 2021 15:00:52 GMT`` (as RSS ``pubDate``).

    Day and month names are English whatever the locale (email.utils does not use strftime).
    """
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError(f"naive datetime {dt!r}: newsdesk datetimes must be timezone-aware")
    return format_datetime(dt.astimezone(UTC).replace(microsecond=0), usegmt=True)


def _absolute_http(url: str | None) -> str | None:
    """``url`` stripped when it is an absolute http(s) URL, else None."""
    if url is None:
        return None
    # Browsers strip surrounding whitespace from URL attributes; inner control characters mean junk.
    url = url.strip(" \t\n\r\f")
    if not url or any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. an unbalanced IPv6 bracket
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return url


def _is_placeholder(url: str) -> bool:
    name = urlsplit(url).path.rsplit("/", 1)[-1]
    return _PLACEHOLDER_NAME.fullmatch(name) is not None


def _pick_image(attrs: dict[str, str | None]) -> str | None:
    src = _absolute_http(attrs.get("src"))
    if src is not None and not _is_placeholder(src):
        return src
    for attr in _LAZY_ATTRS:
        lazy = _absolute_http(attrs.get(attr))
        if lazy is not None:
            return lazy
    # Only a placeholder (or nothing usable): not a picture of the article.
    return None


class _Found(Exception):
    """Stops the scan at the first usable image."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.url = url


class _ImageScanner(HTMLParser):
    # The standard library's tolerant tokenizer is enough here: it skips comments, treats
    # <script>/<style> as raw text, lowercases names and decodes entities in attribute values.
    # (It also needs no third-party type stubs, unlike lxml.)
    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag != "img":
            return
        first: dict[str, str | None] = {}
        for name, value in attrs:
            first.setdefault(name, value)  # HTML keeps the first of duplicated attributes
        url = _pick_image(first)
        if url is not None:
            raise _Found(url)


def first_image(html: str) -> str | None:
    """The address of the first image in ``html`` (document order), absolute http(s) only.

    When ``src`` is missing, a ``data:`` URI, relative, or a lazy-loading placeholder, the real
    address is taken from ``data-src``/``data-original``/``data-lazy-src``. Images inside comments,
    scripts or styles do not count.
    """
    if "<" not in html:
        return None
    scanner = _ImageScanner(convert_charrefs=True)
    try:
        scanner.feed(html)
        scanner.close()
    except _Found as found:
        return found.url
    return None


def needs_nunjucks_guard(body: str) -> bool:
    """True when ``body`` holds ``{{``, ``{%`` or ``{#``, which Hexo's Nunjucks pass would execute."""
    return _NUNJUCKS.search(body) is not None


def render_post(
    entry: StoredEntry,
    *,
    body: str | None = None,
    default_image: str | None = None,
    extra_front_matter: bool = False,
) -> str:
    """The whole Hexo post for ``entry``: front matter, a blank line, then the body unmodified.

    ``body`` defaults to the cleaned article's HTML when the entry has one (after a failed clean,
    the sanitised fallback), else the entry's raw content (feeds with ``clean: false``).
    ``headimg``/``thumbnail`` are the cleaned article's header image (the cleaner never
    picks QR codes, logos or pixels) or, without cleaning, the body's first image; else
    ``default_image``; else left out. ``disableNunjucks: true`` is added (last) only when the
    body contains Nunjucks syntax, so ordinary posts keep the reference's exact keys.
    ``extra_front_matter`` adds ``news_source``, ``original_link`` and ``editor`` after them when
    known (not ``source``/``link``: Hexo reserves those for the post's file path and link posts).
    The text always ends with a newline (added after the body when it lacks one).
    """
    article = entry.article
    if body is None:
        body = article.html if article is not None else entry.content
        if article is None and entry.clean_error is not None:
            # Cleaning failed before failed cleans kept a sanitised fallback: never publish the
            # raw HTML of such an entry (only `clean: false` posts are the feed's HTML as is).
            from ..clean import fallback_article

            article = fallback_article(entry.content, url=entry.link)
            body = article.html
    html = body
    found = article.header_image if article is not None else first_image(html)
    image = found or default_image or None
    published = entry.published if entry.published is not None else entry.first_seen
    items: list[tuple[str, FMValue]] = [
        ("title", Quoted(entry.title)),
        ("categories", [entry.group, entry.site, entry.feed]),
    ]
    if image:
        items.append(("headimg", Quoted(image)))
    items += [
        ("author", entry.site),
        ("comments", False),
        ("date", rfc822_gmt(published)),
    ]
    if image:
        items.append(("thumbnail", Quoted(image)))
    if extra_front_matter:
        if article is not None and article.source:
            items.append(("news_source", Quoted(article.source)))
        if entry.link:
            items.append(("original_link", Quoted(entry.link)))
        if article is not None and article.editor:
            items.append(("editor", Quoted(article.editor)))
    if needs_nunjucks_guard(html):
        items.append(("disableNunjucks", True))
    text = emit_front_matter(items) + "\n" + html
    return text if text.endswith("\n") else text + "\n"


def post_filename(entry: StoredEntry) -> str:
    """``<uid>.md``: stable, unique per feed and entry, and never a path (titles play no part)."""
    if not _UID.fullmatch(entry.uid):
        raise ValueError(f"entry uid {entry.uid!r} is not 16 lowercase hex digits")
    return f"{entry.uid}.md"


def write_atomic(path: Path, text: str, *, durable: bool = True) -> bool:
    """Write ``text`` as UTF-8 to ``path`` atomically; False (file untouched) when already identical.

    The data goes to a hidden temporary file in the same folder (so Hexo never sees half a post and
    the rename stays on one file system), is fsynced, then renamed over ``path``. With
    ``durable=False`` the fsyncs are left to the caller (one `os.sync()` per batch of posts costs a
    fraction of two fsyncs per post); the rename is atomic either way.
    Raises PublishError naming the path when it cannot be read, written or encoded.
    """
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError as e:  # lone surrogates cannot be stored as UTF-8
        raise PublishError(f"{path}: cannot encode the post as UTF-8: {e.reason}") from e
    try:
        if path.read_bytes() == data:
            return False
    except FileNotFoundError:
        pass
    except OSError as e:
        raise PublishError(f"{path}: cannot read the existing post: {e.strerror or e}") from e
    try:
        # A hidden temporary file (`atomic`), which Hexo ignores if it ever sees one.
        atomic.write_bytes(path, data, sync=durable)
    except OSError as e:
        raise PublishError(f"{path}: cannot write the post: {e.strerror or e}") from e
    return True
