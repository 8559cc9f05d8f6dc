"""Sites' icons and cached article images, served by the app from the archive and the images
folder (newsdesk.media fetched them once), and an article's images pointed at them.

* `GET /icon?g=GROUP&s=SITE`: the site's icon, cached by the browser for 30 days (the URL is
  the site's, stable); a site without one answers a neutral placeholder, never cached (pages
  only link icons that exist, so this is a site whose icon went away).
* `GET /images/{name}` (`images: cache`): the image kept under that name (the SHA-256 of its
  URL), cached for a year (a name is one URL for good); one not kept (yet, or never: over the
  cap, not an image, the host refused) answers the placeholder, not cached, so it shows once
  fetched.

With `images: cache` the article page's `<img src>` point here (`local_images`), the rest of
the sanitiser's output unchanged, and the pages' CSP allows images from the desk alone.
"""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi import Path as PathParam
from starlette.responses import FileResponse, Response

from ...media import image_name, image_path
from ...models import CachedImage, Favicon
from ..auth import desk_of
from .guard import page_user

__all__ = ["PLACEHOLDER", "local_images", "router"]

ICON_CACHE = "private, max-age=2592000"
IMAGE_CACHE = "private, max-age=31536000, immutable"
PLACEHOLDER = Path(__file__).resolve().parent.parent / "static" / "placeholder.svg"
_IMG_SRC = re.compile(r'(<img\b[^>]*?\ssrc=")([^"]*)(")')
_NAME = Annotated[str, PathParam(pattern=r"^[0-9a-f]{64}$")]
_PLACE = Annotated[str, Query(min_length=1, max_length=300)]


def local_images(body: str, base: str) -> str:
    """The article's HTML with every `<img src>` pointing at the desk's copy of that image."""
    return _IMG_SRC.sub(lambda m: f"{m[1]}{base}/images/{image_name(html.unescape(m[2]))}{m[3]}", body)


def _placeholder() -> Response:
    return FileResponse(PLACEHOLDER, media_type="image/svg+xml", headers={"Cache-Control": "no-cache"})


def router() -> APIRouter:
    pages = APIRouter(include_in_schema=False)

    @pages.get("/icon")
    async def icon(request: Request, g: _PLACE, s: _PLACE) -> Response:
        if await page_user(request) is None:
            return Response(status_code=401)
        desk = desk_of(request)
        found: Favicon | None = await desk.run(lambda: desk.store().site_favicon(g, s))
        if found is None:
            return _placeholder()
        return Response(found.data, media_type=found.content_type, headers={"Cache-Control": ICON_CACHE})

    @pages.get("/images/{name}")
    async def image(request: Request, name: _NAME) -> Response:
        if await page_user(request) is None:
            return Response(status_code=401)
        desk = desk_of(request)
        kept: CachedImage | None = await desk.run(lambda: desk.store().cached_image(name))
        path = Path(image_path(desk.config, name))
        if kept is None or not path.is_file():
            return _placeholder()
        return FileResponse(path, media_type=kept.content_type, headers={"Cache-Control": IMAGE_CACHE})

    return pages
