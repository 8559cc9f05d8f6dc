"""The feed catalogue's routes: readers may list it, admins change it.

A feed's key is `group/site/name`, so it holds slashes: `/api/v1/feeds/{key}` takes the rest
of the path as the key (a path converter), slashes and all; other reserved characters are
percent-encoded as usual (`金融/新浪财经/新浪财经－国內` is sent as its UTF-8 percent-encoding,
`%2F` for a slash inside a name works too). `POST /feeds/{key}/refresh` is matched first, so a
feed whose own name is `refresh` is edited through its key without that last segment confusion
only when the key has its three parts.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from pydantic import ValidationError
from starlette.responses import Response

from ..config import FeedConfig
from ..models import FeedSpec, User
from ..store import Store
from .auth import desk_of, in_thread
from .catalogue import feed_dict, opml_download
from .errors import ApiError, JSONBytes, documented
from .schemas import FeedIn, FeedList, FeedOut, FeedPatch, QueuedOut

_KEY = Annotated[
    str, Path(min_length=1, max_length=1000, description="group/site/name (slashes as they are)")
]


def _spec(body: FeedIn) -> FeedSpec:
    """The feed as the config would take it: one source, a route starting with '/', names on
    one line. Through the API a URL must be http(s): reading local files stays the YAML's."""
    for what, value in (("group", body.group), ("site", body.site)):
        if value != value.strip() or not value.isprintable():
            raise ApiError(422, f"{what} {value!r}: one line of printable characters, no spaces at the ends")
    if body.url is not None and not body.url.startswith(("http://", "https://")):
        raise ApiError(422, f"url {body.url!r}: give an http:// or https:// URL (or a route)")
    try:
        FeedConfig(name=body.name, url=body.url, route=body.route)
    except ValidationError as e:
        message = "; ".join(err["msg"].removeprefix("Value error, ") for err in e.errors())
        raise ApiError(422, f"feed {body.group}/{body.site}/{body.name}: {message}") from e
    return FeedSpec(
        group=body.group,
        site=body.site,
        name=body.name,
        url=body.url,
        route=body.route,
        clean=body.clean,
        enabled=body.enabled,
        full_text=body.full_text,
    )


def router() -> APIRouter:
    feeds = APIRouter(
        tags=["feeds"],
        responses=documented(400, 401, 422, 503),
    )

    def changed(request: Request, key: str) -> None:
        hook = desk_of(request).hooks.catalogue_changed
        if hook is not None:
            hook()

    @feeds.get(
        "/feeds", response_model=FeedList, summary="The feed catalogue with each feed's schedule and health"
    )
    async def list_feeds(request: Request) -> Response:
        return JSONBytes(
            await in_thread(request, lambda store, user: {"feeds": [feed_dict(f) for f in store.catalogue()]})
        )

    @feeds.get(
        "/opml",
        summary="The feed tree as OPML 2.0 (group → site → feed outlines)",
        response_class=Response,
        responses={200: {"content": {"text/x-opml": {}}}},
    )
    async def export_opml(request: Request) -> Response:
        return await opml_download(request)

    @feeds.post(
        "/feeds",
        response_model=FeedOut,
        status_code=201,
        summary="Add a feed (admins); it is checked at once",
        responses=documented(403, 409),
    )
    async def add_feed(request: Request, body: FeedIn) -> Response:
        spec = _spec(body)

        def work(store: Store, user: User) -> dict[str, Any]:
            return feed_dict(store.add_feed(spec, desk_of(request).clock()))

        data = await in_thread(request, work, admin=True)
        changed(request, spec.key)
        return JSONBytes(data, status_code=201)

    @feeds.post(
        "/feeds/{key:path}/refresh",
        response_model=QueuedOut,
        status_code=202,
        summary="Check a feed now (admins)",
        responses=documented(403, 404),
    )
    async def refresh_feed(request: Request, key: _KEY) -> Response:
        def work(store: Store, user: User) -> None:
            if not store.refresh_feed(key, desk_of(request).clock()):
                raise ApiError(404, f"no feed {key!r}")

        await in_thread(request, work, admin=True)
        desk = desk_of(request)
        if desk.hooks.refresh is not None:
            desk.hooks.refresh(key)
        return JSONBytes({"key": key, "queued": True}, status_code=202)

    @feeds.get("/feeds/{key:path}", response_model=FeedOut, summary="One feed", responses=documented(404))
    async def get_feed(request: Request, key: _KEY) -> Response:
        def work(store: Store, user: User) -> dict[str, Any]:
            f = store.catalogue_feed(key)
            if f is None:
                raise ApiError(404, f"no feed {key!r}")
            return feed_dict(f)

        return JSONBytes(await in_thread(request, work))

    @feeds.patch(
        "/feeds/{key:path}",
        response_model=FeedOut,
        summary="Change a feed (admins); `paused`: a reason pauses it, null resumes it",
        responses=documented(403, 404, 409),
    )
    async def patch_feed(request: Request, key: _KEY, body: FeedPatch) -> Response:
        given = body.model_fields_set
        if body.url is not None and not body.url.startswith(("http://", "https://")):
            raise ApiError(422, f"url {body.url!r}: give an http:// or https:// URL (or a route)")
        if body.route is not None and not body.route.startswith("/"):
            raise ApiError(422, f"route {body.route!r} must start with '/'")
        if body.url is not None and body.route is not None:
            raise ApiError(422, "give url or route, not both")

        def work(store: Store, user: User) -> dict[str, Any]:
            now = desk_of(request).clock()
            if store.catalogue_feed(key) is None:
                raise ApiError(404, f"no feed {key!r}")
            if given & {"url", "route", "clean", "full_text", "enabled"}:
                store.update_feed(
                    key,
                    now=now,
                    url=body.url,
                    route=body.route,
                    clean=body.clean,
                    full_text=body.full_text,
                    enabled=body.enabled,
                )
            if given & {"min_interval", "max_interval"}:
                old = store.catalogue_feed(key)
                assert old is not None
                low = body.min_interval if "min_interval" in given else old.min_interval
                high = body.max_interval if "max_interval" in given else old.max_interval
                if low is not None and high is not None and low > high:
                    raise ApiError(422, "min_interval must not exceed max_interval")
                store.set_feed_bounds(key, low, high, now)
            if "paused" in given:
                if body.paused is None:
                    store.resume_feed(key, now)
                else:
                    store.pause_feed(key, body.paused or "paused by an admin")
            f = store.catalogue_feed(key)
            if f is None:
                raise ApiError(404, f"no feed {key!r}")
            return feed_dict(f)

        data = await in_thread(request, work, admin=True)
        changed(request, key)
        return JSONBytes(data)

    @feeds.delete(
        "/feeds/{key:path}",
        status_code=204,
        summary="Delete a feed added through the API, with its entries (admins)",
        responses=documented(403, 404, 409),
    )
    async def delete_feed(request: Request, key: _KEY) -> Response:
        def work(store: Store, user: User) -> None:
            f = store.catalogue_feed(key)
            if f is None:
                raise ApiError(404, f"no feed {key!r}")
            if f.origin == "config":
                # The next start would add it again: the YAML is where it goes (removed there,
                # it is paused with its archive kept).
                raise ApiError(
                    409,
                    f"feed {key} comes from the config file: remove it there, or pause it",
                    code="in_config",
                )
            store.delete_feed(key)

        await in_thread(request, work, admin=True)
        changed(request, key)
        return Response(status_code=204)

    return feeds
