"""The Google Reader API's catalogue routes: `subscription/edit` (subscribe, unsubscribe, edit
title and label), `subscription/quickadd`, `subscription/export` and `subscription/import`
(OPML), `rename-tag` and `disable-tag`.

They change the archive's feed catalogue the way the web app's feeds admin does (the same
checks, `feeds_api`'s spec and `catalogue.add_imported`; the scheduler told at once), and only
for admins: a reader gets 403 saying so. A feed's stream id is its key `group/site/name`; a
label is `group/site`, so a feed's title is its name and its label its group and site, and
editing either gives the feed a new key (its entries move with it, as in the web app).
Subscribing without a label puts the feed under `未分类/<host>`.
"""

from __future__ import annotations

import contextlib
import re
import urllib.parse
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import PlainTextResponse, Response

from ..errors import NewsdeskError
from ..models import CatalogueFeed, FeedSpec, User
from ..sources import read_opml
from ..store import Store
from .auth import desk_of
from .catalogue import add_imported, opml_download
from .errors import ApiError, JSONBytes, bounded_body
from .feeds_api import _spec as feed_spec
from .greader_labels import is_folder, item_label, label_of_tag
from .schemas import FeedIn

UNFILED = "未分类"
MAX_OPML = 1024 * 1024
_LABEL = re.compile(r"^user/[^/]*/label/")


def _label(tag: str) -> tuple[str, str | None]:
    """(group, site) a `user/-/label/…` tag names; 400 for anything else."""
    if not _LABEL.match(tag):
        raise ApiError(400, f"tag {tag[:100]!r}: give a label, user/-/label/<group>/<site>")
    label = _LABEL.sub("", tag).strip("/")
    if not label:
        raise ApiError(400, "an empty label")
    group, _, site = label.partition("/")
    return group, (site or None)


def _feed_url(stream: str) -> str:
    url = stream[len("feed/") :] if stream.startswith("feed/") else stream
    if not url.startswith(("http://", "https://")):
        raise ApiError(400, f"stream {stream[:100]!r}: subscribe to feed/<http(s) URL>")
    return url


def _find(store: Store, stream: str) -> CatalogueFeed:
    key = stream[len("feed/") :] if stream.startswith("feed/") else stream
    found = store.catalogue_feed(key)
    if found is None:
        found = next((f for f in store.catalogue() if f.spec.url == key), None)
    if found is None:
        raise ApiError(404, f"no feed {key[:200]!r}: see subscription/list")
    return found


def _new_spec(url: str, title: str | None, label: tuple[str, str | None] | None) -> FeedSpec:
    host = urllib.parse.urlsplit(url).hostname or "feed"
    group, site = label if label is not None else (UNFILED, None)
    body = FeedIn.model_construct(
        group=group,
        site=site or host,
        name=(title or "").strip() or host,
        url=url,
        route=None,
        clean=True,
        enabled=True,
        full_text=False,
    )
    if not (0 < len(body.group) <= 200 and 0 < len(body.site) <= 200 and 0 < len(body.name) <= 200):
        raise ApiError(422, "group, site and title: 1 to 200 characters each")
    return feed_spec(body)


def add_routes(api: APIRouter, user_of: Callable[[Request], Awaitable[User]], params_of: Any) -> None:
    """The routes, on the Google Reader API's router (its auth: `user_of`, its parameters:
    `params_of`)."""

    async def admin(request: Request) -> User:
        user = await user_of(request)
        if not user.admin:
            raise ApiError(403, f"{user.name} is not an admin: only admins change the feed catalogue")
        return user

    def changed(request: Request, refresh: list[str]) -> None:
        hooks = desk_of(request).hooks
        # A refresh wakes the scheduler itself: waking it first could fetch a feed twice.
        if hooks.catalogue_changed is not None and not (refresh and hooks.refresh is not None):
            hooks.catalogue_changed()
        for key in refresh:
            if hooks.refresh is not None:
                # A feed gone again meanwhile: the scheduler finds the rest on its own.
                with contextlib.suppress(NewsdeskError):
                    hooks.refresh(key)

    def subscribe(store: Store, request: Request, url: str, title: str | None, label: Any) -> CatalogueFeed:
        for f in store.catalogue():
            if f.spec.url == url:
                return f  # already subscribed: as the apps expect, not an error
        spec = _new_spec(url, title, label)
        try:
            return store.add_feed(spec, desk_of(request).clock())
        except NewsdeskError as e:
            raise ApiError(409, str(e)) from e

    @api.post("/reader/api/0/subscription/edit")
    async def subscription_edit(request: Request) -> Response:
        await admin(request)
        params = await params_of(request)
        action = params.get("ac") or "edit"
        streams = params.all("s")
        if not streams:
            raise ApiError(400, "no stream: give s=feed/<url or key>")
        if action not in ("subscribe", "unsubscribe", "edit"):
            raise ApiError(400, f"ac={action[:40]!r}: subscribe, unsubscribe or edit")
        title = params.get("t")
        adds = params.all("a")
        label = _label(adds[0]) if adds else None
        for removed in params.all("r"):
            _label(removed)  # checked; a feed always keeps one label, so nothing to remove

        def work(store: Store) -> list[str]:
            now = desk_of(request).clock()
            touched: list[str] = []
            for stream in streams:
                if action == "subscribe":
                    touched.append(subscribe(store, request, _feed_url(stream), title, label).key)
                    continue
                f = _find(store, stream)
                if action == "unsubscribe":
                    if f.origin == "config":
                        raise ApiError(
                            409, f"feed {f.key} comes from the config file: remove it there, or pause it"
                        )
                    store.delete_feed(f.key)
                    continue
                group, site = label if label is not None else (f.spec.group, f.spec.site)
                try:
                    moved = store.update_feed(
                        f.key,
                        now=now,
                        group=group,
                        site=site or f.spec.site,
                        name=(title or "").strip() or None,
                    )
                except NewsdeskError as e:
                    raise ApiError(409, str(e)) from e
                if moved is not None:
                    touched.append(moved.key)
            return touched

        desk = desk_of(request)
        touched = await desk.run(lambda: work(desk.store()))
        changed(request, touched if action == "subscribe" else [])
        return PlainTextResponse("OK")

    @api.post("/reader/api/0/subscription/quickadd")
    async def quickadd(request: Request) -> Response:
        await admin(request)
        params = await params_of(request)
        url = _feed_url(params.get("quickadd") or "")
        desk = desk_of(request)
        f = await desk.run(lambda: subscribe(desk.store(), request, url, None, None))
        changed(request, [f.key])
        return JSONBytes(
            {
                "query": url,
                "numResults": 1,
                "streamId": f"feed/{f.key}",
                "streamName": f"{f.spec.site}·{f.spec.name}",
            }
        )

    @api.get("/reader/api/0/subscription/export")
    async def export(request: Request) -> Response:
        await user_of(request)
        return await opml_download(request)

    @api.post("/reader/api/0/subscription/import")
    async def import_opml(request: Request) -> Response:
        await admin(request)
        body = await bounded_body(request, MAX_OPML, "the OPML file")
        if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            # An app that posts the file as a form field (`opml=`, or the body's only field).
            fields = urllib.parse.parse_qs(body.decode("utf-8", "replace"))
            body = (fields.get("opml") or next(iter(fields.values()), [""]))[0].encode("utf-8")
        if not body.strip():
            raise ApiError(400, "no OPML: post the file as the request body")
        desk = desk_of(request)
        try:
            feeds = read_opml(body, source="the posted OPML", rsshub=desk.config.rsshub)
        except NewsdeskError as e:
            raise ApiError(400, str(e)) from e
        added, skipped = await desk.run(lambda: add_imported(desk.store(), feeds, desk.clock()))
        changed(request, added)
        return JSONBytes({"added": len(added), "skipped": skipped, "streamIds": [f"feed/{k}" for k in added]})

    async def relabel(request: Request, to: Callable[[CatalogueFeed], tuple[str, str]], source: str) -> int:
        """Move every feed under the label `source` (a group/site, or a group alone) to `to(feed)`."""
        group, site = _label(source)
        desk = desk_of(request)

        def work(store: Store) -> int:
            now = desk.clock()
            feeds = [f for f in store.catalogue() if f.spec.group == group and site in (None, f.spec.site)]
            if not feeds:
                raise ApiError(404, f"no label {source[:100]!r}: see tag/list")
            for f in feeds:
                new_group, new_site = to(f)
                try:
                    store.update_feed(f.key, now=now, group=new_group, site=new_site)
                except NewsdeskError as e:
                    raise ApiError(409, str(e)) from e
            return len(feeds)

        count = await desk.run(lambda: work(desk.store()))
        changed(request, [])
        return count

    async def own_label(request: Request, source: str, dest: str | None) -> bool:
        """A reader's own item label `source` (greader_labels) renamed to `dest`, or removed
        (None), for this reader alone; False when `source` is none of theirs (a folder, or
        unknown): the catalogue's routes then."""
        user = await user_of(request)
        old = label_of_tag(source)
        desk = desk_of(request)

        def work(store: Store) -> bool:
            if not old or is_folder(store, old) or old not in store.item_labels(user.id):
                return False
            if dest is None:
                store.remove_item_label(user.id, old)
            else:
                store.rename_item_label(user.id, old, item_label(store, dest))
            return True

        return await desk.run(lambda: work(desk.store()))

    @api.post("/reader/api/0/rename-tag")
    async def rename_tag(request: Request) -> Response:
        params = await params_of(request)
        source = params.get("s") or ("user/-/label/" + (params.get("t") or ""))
        dest = params.get("dest") or ""
        if await own_label(request, source, dest):
            return PlainTextResponse("OK")
        await admin(request)
        new_group, new_site = _label(dest)
        _, old_site = _label(source)
        if (old_site is None) != (new_site is None):
            raise ApiError(400, "rename a group/site label to a group/site, or a group to a group")
        await relabel(request, lambda f: (new_group, new_site or f.spec.site), source)
        return PlainTextResponse("OK")

    @api.post("/reader/api/0/disable-tag")
    async def disable_tag(request: Request) -> Response:
        """A reader's own item label: removed from their items. A folder: a feed is always
        under one, so its feeds move to 未分类 (their site kept)."""
        params = await params_of(request)
        source = params.get("s") or ("user/-/label/" + (params.get("t") or ""))
        if await own_label(request, source, None):
            return PlainTextResponse("OK")
        await admin(request)
        await relabel(request, lambda f: (UNFILED, f.spec.site), source)
        return PlainTextResponse("OK")
