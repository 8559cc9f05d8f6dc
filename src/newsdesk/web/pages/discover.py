"""Adding feeds, the admins' way in: a preview fetch before saving (the feed's title and newest
items, through the desk's own fetcher and parser), feed autodiscovery when the URL is a page
(its `<link rel="alternate">` feeds), and an OPML upload."""

from __future__ import annotations

from typing import Any
from urllib.parse import urljoin

from fastapi import APIRouter, Request
from lxml import html as lxml_html
from starlette.responses import Response

from ...errors import NewsdeskError, ParseError
from ...fetch import Fetcher, fetch_feed
from ...models import FeedSpec, User
from ...parse import parse_feed
from ...sources import read_opml
from ..auth import desk_of
from ..catalogue import add_imported
from .admin import admin_of, feed_from_form
from .guard import csrf_ok
from .messages import translator
from .render import language, page, refused

PREVIEW_ITEMS = 10
MAX_OPML = 1024 * 1024
_FEED_TYPES = ("application/rss+xml", "application/atom+xml", "application/feed+json", "application/json")


def discovered(page_html: str, base: str) -> list[str]:
    """The feeds a page names in its `<link rel="alternate">`, absolute, in page order."""
    try:
        doc = lxml_html.fromstring(page_html)
    except (ValueError, lxml_html.etree.ParserError):
        return []
    out = []
    for link in doc.iter("link"):
        rel = (link.get("rel") or "").lower().split()
        kind = (link.get("type") or "").lower().split(";")[0].strip()
        href = (link.get("href") or "").strip()
        if "alternate" in rel and kind in _FEED_TYPES and href:
            url = urljoin(base, href)
            if url.startswith(("http://", "https://")) and url not in out:
                out.append(url)
    return out


async def preview(request: Request, spec: FeedSpec) -> dict[str, Any]:
    """What the feed holds now: its title and newest items; a page's first discovered feed in
    its place (`source` then says which URL that was)."""
    config = desk_of(request).config
    async with Fetcher(config.fetch) as fetcher:
        result = await fetch_feed(fetcher, spec, rsshub=config.rsshub)
        found: list[str] = []
        try:
            parsed = parse_feed(result.text or "", base_url=result.url)
        except ParseError:  # a page, not a feed: the feeds it names, the first one read
            found = discovered(result.text or "", result.url)
            if not found:
                raise
            result = await fetcher.fetch(found[0])
            parsed = parse_feed(result.text or "", base_url=result.url)
    return {
        "title": parsed.title,
        "items": [(e.title, e.published) for e in parsed.entries[:PREVIEW_ITEMS]],
        "count": len(parsed.entries),
        "source": found[0] if found else (spec.url or spec.route),
        "discovered": found,
    }


def router() -> APIRouter:
    pages = APIRouter(include_in_schema=False)

    @pages.post("/feeds/preview")
    async def preview_page(request: Request) -> Response:
        sent = await admin_of(request, post=True)
        if isinstance(sent, Response):
            return sent
        user, form = sent
        spec = feed_from_form(form)
        if isinstance(spec, str):
            return page(request, "feed_preview.html", user, status=422, form=form, error=spec, found=None)
        try:
            found = await preview(request, spec)
        except NewsdeskError as e:  # it cannot be fetched or read: one line saying why
            return page(request, "feed_preview.html", user, status=422, form=form, error=str(e), found=None)
        form = {**form, "source": found["source"]}
        return page(request, "feed_preview.html", user, form=form, error="", found=found)

    @pages.post("/feeds/opml")
    async def opml(request: Request) -> Response:
        user = await admin_user(request)
        if not isinstance(user, User):
            return user
        desk = desk_of(request)
        async with request.form(max_files=1, max_fields=10, max_part_size=MAX_OPML) as fields:
            token = fields.get("csrf")
            upload = fields.get("opml")
            if not isinstance(token, str) or not csrf_ok(request, {"csrf": token}):
                return refused(request, user)
            if upload is None or isinstance(upload, str):
                return page(request, "message.html", user, status=422, message_key="没有收到 OPML 文件")
            data = await upload.read(MAX_OPML + 1)
        if len(data) > MAX_OPML:
            return page(request, "message.html", user, status=413, message_key="OPML 文件超过 1 MB")
        try:
            feeds = read_opml(data, source=upload.filename or "OPML", rsshub=desk.config.rsshub)
        except NewsdeskError as e:
            return page(request, "message.html", user, status=422, message=str(e))

        def work() -> tuple[int, int]:
            added, skipped = add_imported(desk.store(), feeds, desk.clock())
            return len(added), skipped

        added, skipped = await desk.run(work)
        hook = desk.hooks.catalogue_changed
        if hook is not None:
            hook()
        _ = translator(language(request))
        done = _("OPML：新增 %(a)s 个订阅，%(s)s 个未添加（已存在或无效）", a=added, s=skipped)
        return page(request, "message.html", user, message=done)

    return pages


async def admin_user(request: Request) -> User | Response:
    """The admin asking (a multipart form's token is checked by its route), else the answer."""
    sent = await admin_of(request, post=False)
    if isinstance(sent, Response):
        return sent
    return sent[0]
