"""Sites' icons and article images, fetched once by the desk and kept beside the archive.

* **Icons** (`fetch_favicons`): per site of the tree, from the site's home page (the host of
  a feed's own URL, else, for RSSHub routes, of its newest entry's link): the `<link
  rel="icon">` it names, else `/favicon.ico`. Tried once; a site without one is tried again
  after `ICON_RETRY`. Kept in the archive; `MediaStore.site_favicon(group, site)` gives the
  bytes and content type.
* **Images** (`cache_images`, with `images: cache`): the content images of the cleaned articles
  that arrived since the last pass (the store's change counter), each URL once, written under
  `config.images_dir` as the SHA-256 of its URL (`image_name`), recorded in the archive with its
  content type (or why it could not be had). The reader web app serves them and rewrites an
  article's `<img src>` to them when it renders the page.

Both go through the desk's own `Fetcher` (its per-host limits, deadline, retries, redirects and
host holds), with a size cap of their own (`ICON_MAX_BYTES`, `IMAGE_MAX_BYTES`, never above
`fetch.max_bytes`), and keep only what is an image: the declared content type must be one of
`IMAGE_TYPES` and the bytes must begin as that format does (no SVG: it can carry script).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import lxml.html
from lxml.etree import ParserError

from .atomic import is_temp, write_bytes
from .config import Config
from .errors import NewsdeskError
from .fetch import Deadline, Fetcher
from .store import Store

__all__ = [
    "ICON_MAX_BYTES",
    "IMAGE_MAX_BYTES",
    "IMAGE_TYPES",
    "ImagesPruned",
    "cache_images",
    "cache_media",
    "fetch_favicons",
    "image_name",
    "image_path",
    "image_type",
    "prune_after_removals",
    "prune_images",
    "settle_images",
]

log = logging.getLogger(__name__)

ICON_MAX_BYTES = 256 * 1024
IMAGE_MAX_BYTES = 5 * 1024 * 1024
DEADLINE = 15.0  # seconds for one image or icon, retries included (never the feed's 90)
ICON_RETRY = timedelta(days=7)  # a site whose icon could not be had is tried again after this
ICONS_PER_PASS = 50  # sites tried in one pass (the rest next time)
IMAGES_PER_PASS = 500  # images fetched in one pass (the rest next time)
CHANGES_PER_PASS = 2000  # archive changes one pass of images looks at
IMAGES_MARK = "images"
PRUNE_MARK = "images-prune"  # the removal (rev) up to which kept images were pruned
_NAME = re.compile(r"[0-9a-f]{64}")  # an image's file: the SHA-256 of its URL, under its first two
_SHARD = re.compile(r"[0-9a-f]{2}")

# Content type → how the bytes begin.
IMAGE_TYPES: dict[str, tuple[bytes, ...]] = {
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/gif": (b"GIF87a", b"GIF89a"),
    "image/webp": (b"RIFF",),
    "image/x-icon": (b"\x00\x00\x01\x00", b"\x89PNG\r\n\x1a\n"),
    "image/vnd.microsoft.icon": (b"\x00\x00\x01\x00", b"\x89PNG\r\n\x1a\n"),
    "image/bmp": (b"BM",),
    "image/avif": (b"\x00\x00\x00",),
}


def image_type(declared: str | None, data: bytes) -> str | None:
    """The image's content type when the declared one is an image type we keep and the bytes
    begin as that format does; else None. A server that says only "some bytes"
    (`application/octet-stream`, or nothing: common for /favicon.ico) gets the type its bytes
    show, among PNG, ICO, GIF and JPEG."""
    kind = (declared or "").split(";")[0].strip().lower()
    if kind == "image/jpg":
        kind = "image/jpeg"
    if kind in ("", "application/octet-stream"):
        for sniffed in ("image/png", "image/x-icon", "image/gif", "image/jpeg"):
            if any(data.startswith(m) for m in IMAGE_TYPES[sniffed]):
                return sniffed
        return None
    magic = IMAGE_TYPES.get(kind)
    if magic is None or not any(data.startswith(m) for m in magic):
        return None
    if kind == "image/webp" and data[8:12] != b"WEBP":
        return None
    if kind == "image/avif" and data[4:8] != b"ftyp":
        return None
    return kind


def image_name(url: str) -> str:
    """The stable name an image is kept and served under: the SHA-256 of its URL, hex."""
    return hashlib.sha256(url.encode("utf-8", "surrogatepass")).hexdigest()


def image_path(config: Config, name: str) -> str:
    return str(config.images_dir / name[:2] / name)


async def _fetch_image(fetcher: Fetcher, url: str, limit: int) -> tuple[bytes, str]:
    """The image at `url` and its content type; NewsdeskError saying why not."""
    result = await fetcher.fetch(
        url,
        raw=True,
        max_bytes=limit,
        may_wait=False,
        deadline=Deadline(min(DEADLINE, fetcher.config.deadline)),
    )
    data = result.body or b""
    kind = image_type(result.content_type, data)
    if kind is None:
        raise NewsdeskError(f"{url}: not an image we keep ({result.content_type or 'no content type'})")
    return data, kind


def _icon_links(page: str, base: str) -> list[str]:
    """The icons a page names, best first: `rel="icon"` (and "shortcut icon"), then
    apple-touch-icon; SVG ones left out."""
    try:
        doc = lxml.html.fromstring(page)
    except (ParserError, ValueError):
        return []
    found: list[tuple[int, str]] = []
    for link in doc.iter("link"):
        rel = (link.get("rel") or "").lower().split()
        href = (link.get("href") or "").strip()
        if not href or "svg" in (link.get("type") or "") or href.lower().endswith(".svg"):
            continue
        if "icon" in rel:
            found.append((0, href))
        elif "apple-touch-icon" in rel:
            found.append((1, href))
    out = []
    for _, href in sorted(found, key=lambda f: f[0]):
        url = urljoin(base, href)
        if urlsplit(url).scheme in ("http", "https"):
            out.append(url)
    return out


async def _site_icon(fetcher: Fetcher, page_url: str) -> tuple[bytes, str]:
    parts = urlsplit(page_url)
    home = f"{parts.scheme}://{parts.netloc}/"
    candidates: list[str] = []
    try:
        page = await fetcher.fetch(
            home, may_wait=False, deadline=Deadline(min(DEADLINE, fetcher.config.deadline))
        )
        candidates = _icon_links(page.text or "", page.url)
    except NewsdeskError as e:
        log.info("event=favicon page=%s outcome=no_page error=%s", home, e)
    candidates.append(urljoin(home, "/favicon.ico"))
    failure: NewsdeskError | None = None
    for url in dict.fromkeys(candidates):
        try:
            return await _fetch_image(fetcher, url, ICON_MAX_BYTES)
        except NewsdeskError as e:
            failure = e
    raise failure or NewsdeskError(f"{home}: no icon")


async def fetch_favicons(store: Store, fetcher: Fetcher, now: datetime) -> int:
    """Fetch the icons of the sites that have none yet (see the module docstring); how many
    were kept."""
    sites = store.sites_needing_icons(now - ICON_RETRY, ICONS_PER_PASS)

    async def one(group: str, site: str, page_url: str) -> bool:
        try:
            data, kind = await _site_icon(fetcher, page_url)
        except NewsdeskError as e:
            store.save_favicon(group, site, now, error=str(e))
            return False
        store.save_favicon(group, site, now, data=data, content_type=kind)
        return True

    kept = await asyncio.gather(*(one(*s) for s in sites))
    return sum(kept)


async def cache_images(config: Config, store: Store, fetcher: Fetcher, now: datetime) -> int:
    """Fetch the images of the articles that arrived since the last pass (see the module
    docstring); how many were kept."""
    mark = store.change_mark(IMAGES_MARK)
    if mark is None:
        mark = 0
    changes = store.changes_since(mark, limit=CHANGES_PER_PASS)
    if not changes:
        return 0
    urls = [u for u in dict.fromkeys(store.image_urls(uid for _, uid, gone in changes if not gone))]
    urls = [u for u in urls if urlsplit(u).scheme in ("http", "https")]
    names = {image_name(u): u for u in urls}
    todo = [(n, u) for n, u in names.items() if n not in store.known_images(names)]
    limit = min(IMAGE_MAX_BYTES, config.fetch.max_bytes)
    folder = config.images_dir

    async def one(name: str, url: str) -> bool:
        try:
            data, kind = await _fetch_image(fetcher, url, limit)
        except NewsdeskError as e:
            store.save_image(name, url, now, error=str(e))
            return False
        try:
            (folder / name[:2]).mkdir(parents=True, exist_ok=True)
            write_bytes(folder / name[:2] / name, data)
        except OSError as e:
            log.warning("event=image url=%s outcome=failed error=%s", url, e)
            return False  # not recorded: tried again when the disk allows
        store.save_image(name, url, now, content_type=kind, size=len(data))
        return True

    kept = await asyncio.gather(*(one(n, u) for n, u in todo[:IMAGES_PER_PASS]))
    if len(todo) <= IMAGES_PER_PASS:
        store.set_change_mark(IMAGES_MARK, changes[-1][0])
    return sum(kept)


@dataclass(frozen=True)
class ImagesPruned:
    """What `prune_images` removed: records of images no stored article refers to any more,
    files (theirs, and files no record names), and the bytes those files held."""

    records: int = 0
    files: int = 0
    bytes: int = 0


def prune_images(config: Config, store: Store) -> ImagesPruned:
    """Forget the images no stored article refers to any more (their entries were removed,
    or their articles cleaned again without them), and delete their files; also delete the
    files of the images folder that no record names (an interrupted pass's, or kept before a
    restore) and its half-written temporary files. Call it holding the archive's fetch lock:
    then no article arrives, and no image is written, meanwhile."""
    referenced = {image_name(u) for u in store.referenced_image_urls()}
    gone = store.cached_image_names() - referenced
    records = store.forget_images(gone) if gone else 0
    kept = store.cached_image_names()
    files = size = 0
    folder = config.images_dir
    for sub in _listing(folder):
        if not (sub.is_dir(follow_symlinks=False) and _SHARD.fullmatch(sub.name)):
            continue  # not ours: left alone
        for entry in _listing(Path(sub.path)):
            name = entry.name
            ours = (_NAME.fullmatch(name) and name[:2] == sub.name and name not in kept) or is_temp(name)
            if ours and entry.is_file(follow_symlinks=False):
                with contextlib.suppress(FileNotFoundError):
                    length = entry.stat(follow_symlinks=False).st_size
                    os.unlink(entry.path)
                    files += 1
                    size += length
        with contextlib.suppress(OSError):  # only when empty
            os.rmdir(sub.path)
    if records or files:
        log.info("event=images_pruned records=%d files=%d bytes=%d", records, files, size)
    return ImagesPruned(records, files, size)


def prune_after_removals(config: Config, store: Store) -> ImagesPruned | None:
    """`prune_images` when entries were removed from the archive since it last ran (the
    archive keeps entries until their feed is removed with them: that is when images go
    unreferenced); None when none were."""
    removed = store.last_removal()
    if removed <= (store.change_mark(PRUNE_MARK) or 0):
        return None
    pruned = prune_images(config, store)
    store.set_change_mark(PRUNE_MARK, removed)
    return pruned


def settle_images(config: Config, store: Store) -> int:
    """After a restore: forget the kept images whose files the images folder lacks (a backup
    without them, or one pruned while it was taken) and start the image pass over from the
    archive's first change, so that `serve` or `run` fetch again what the articles refer to;
    how many were forgotten."""
    folder = config.images_dir
    missing = [n for n in store.cached_image_names(kept=True) if not (folder / n[:2] / n).is_file()]
    if missing:
        store.forget_images(missing)
        store.set_change_mark(IMAGES_MARK, 0)
    return len(missing)


def _listing(folder: Path) -> list[os.DirEntry[str]]:
    try:
        with os.scandir(folder) as it:
            return list(it)
    except FileNotFoundError:
        return []


async def cache_media(config: Config, store: Store, fetcher: Fetcher, now: datetime, *, icons: bool) -> None:
    """After an ingest batch: with `images: cache` the new articles' images, and (`icons`) the
    sites' icons not had yet. A failure of the archive is logged, never raised: fetching
    feeds goes on."""
    try:
        if icons:
            await fetch_favicons(store, fetcher, now)
        if config.images == "cache":
            await cache_images(config, store, fetcher, now)
            prune_after_removals(config, store)
    except NewsdeskError as e:
        log.warning("event=media outcome=failed error=%s", e)
