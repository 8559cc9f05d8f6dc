"""The Fever API (`{base}/api/fever/?api`, also `{base}/api/fever.php?api`), for the older
reader apps that sync with it (Reeder 3, Unread, FeedMe, Fiery Feeds, ReadKit …).

An app sends `api_key` = md5("user:app password") (an app password from `newsdesk users
app-password NAME` or the keys page) in a POST form on every request; the archive keeps only
its HMAC under the server's secret (`readerkeys`), made with the app password. A wrong key
answers `{"api_version": 3, "auth": 0}`, as Fever does.

Fever names things by integers: items by their arrival number (`fever_items`, growing with
arrival, so `since_id` pages through everything once), feeds by key and groups (one per
`group/site`, as the Google Reader API's labels, so each feed is in exactly one) numbered when
first listed. Items carry the same sanitised HTML as the Google Reader API's.
"""

from __future__ import annotations

import base64
import urllib.parse
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from .. import accounts
from ..models import EntryQuery, ReaderEntry, User
from ..publish.insights_view import clusters_since
from ..store import Store
from .auth import LoginThrottle, desk_of
from .errors import ApiError, JSONBytes, bounded_body
from .greader import MAX_BODY, entries_of, entry_html, feed_title, label_of, users_of
from .readerkeys import server_secret

PREFIXES = ("/api/fever", "/api/fever/", "/api/fever.php")
API_VERSION = 3
PAGE = 50  # items an `items` answer holds, as Fever's
MAX_IDS = 50  # ids `with_ids` may name
FAVICON_ID = 1
# A 1×1 transparent GIF: the favicon of the feeds whose site has no icon (yet).
FAVICON = "image/gif;base64,R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7"
LINKS_PAGE = 50  # hot links an answer holds
_MARKS = {"item": ("read", "unread", "saved", "unsaved"), "feed": ("read",), "group": ("read",)}


class Form:
    """The request's parameters: the query string (`api`, `items`, `since_id` …) and the
    POST form (`api_key`, `mark`, …), urlencoded or multipart, as apps send either."""

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        self.values: dict[str, str] = {}
        for key, value in pairs:
            self.values.setdefault(key, value)

    def has(self, name: str) -> bool:
        return name in self.values

    def get(self, name: str) -> str | None:
        return self.values.get(name)

    def number(self, name: str) -> int | None:
        value = self.values.get(name)
        if value is None or value == "":
            return None
        if not value.isdigit() or len(value) > 18:
            raise ApiError(400, f"parameter {name}={value[:40]!r}: give a whole number")
        return int(value)


async def form_of(request: Request) -> Form:
    pairs = list(request.query_params.multi_items())
    if request.method != "POST":
        return Form(pairs)
    kind = request.headers.get("content-type", "")
    if kind.startswith("multipart/form-data"):
        size = request.headers.get("content-length")
        if size is not None and size.isdigit() and int(size) > MAX_BODY:
            raise ApiError(413, f"the form is larger than {MAX_BODY} bytes")
        async with request.form(max_files=0, max_fields=100, max_part_size=MAX_BODY) as fields:
            pairs += [(k, v) for k, v in fields.multi_items() if isinstance(v, str)]
        return Form(pairs)
    body = await bounded_body(request, MAX_BODY)
    if body:
        if kind and not kind.startswith("application/x-www-form-urlencoded"):
            raise ApiError(415, f"send the parameters as a form, not {kind[:60]!r}")
        try:
            pairs += urllib.parse.parse_qsl(body.decode("utf-8"), keep_blank_values=True)
        except UnicodeDecodeError:
            raise ApiError(400, "the form is not UTF-8") from None
    return Form(pairs)


def _ids_param(form: Form, name: str) -> list[int]:
    text = form.get(name) or ""
    parts = [p.strip() for p in text.split(",") if p.strip()]
    if not parts:
        raise ApiError(400, f"{name}: give item ids separated by commas")
    if len(parts) > MAX_IDS:
        raise ApiError(413, f"{name}: {len(parts)} ids, at most {MAX_IDS} a request")
    if not all(p.isdigit() and len(p) <= 18 for p in parts):
        bad = next(p for p in parts if not (p.isdigit() and len(p) <= 18))
        raise ApiError(400, f"{name}: {bad[:40]!r} is not an item id")
    return [int(p) for p in parts]


def _seconds(when: datetime | None) -> int:
    return int(when.timestamp()) if when is not None else 0


def _item(number: int, r: ReaderEntry, feed_ids: dict[str, int]) -> dict[str, Any]:
    e = r.entry
    return {
        "id": number,
        "feed_id": feed_ids.get(e.feed_key, 0),
        "title": e.title,
        "author": e.author or "",
        "html": entry_html(r),
        "url": e.link or "",
        "is_saved": int(r.starred),
        "is_read": int(r.read),
        "created_on_time": _seconds(e.published or e.first_seen),
    }


def _icon_id(group_id: int) -> int:
    """The favicon id of a site's icon: its group's id (a group is one site) plus one, so the
    placeholder keeps id 1 and a site's icon keeps its id for good."""
    return group_id + 1


def _favicons(store: Store) -> list[dict[str, Any]]:
    """The placeholder, then every site's own icon (what the web app's /icon serves)."""
    icons = store.site_favicons()
    group_ids = store.fever_group_ids([label_of(i.group, i.site) for i in icons])
    out = [{"id": FAVICON_ID, "data": FAVICON}]
    for i in icons:
        data = base64.b64encode(i.data).decode("ascii")
        out.append(
            {"id": _icon_id(group_ids[label_of(i.group, i.site)]), "data": f"{i.content_type};base64,{data}"}
        )
    return out


def _tree(store: Store) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """(groups, feeds, feeds_groups) of the catalogue; a feed's `favicon_id` is its site's
    icon, else the placeholder."""
    feeds = store.catalogue()
    labels = [label_of(f.spec.group, f.spec.site) for f in feeds]
    group_ids = store.fever_group_ids(list(dict.fromkeys(labels)))
    with_icons = {label_of(g, s) for g, s in store.favicon_sites()}
    feed_ids = store.fever_feed_ids([f.key for f in feeds])
    groups = [{"id": gid, "title": label} for label, gid in group_ids.items()]
    members: dict[int, list[int]] = {}
    out_feeds = []
    for f, label in zip(feeds, labels, strict=True):
        members.setdefault(group_ids[label], []).append(feed_ids[f.key])
        out_feeds.append(
            {
                "id": feed_ids[f.key],
                "favicon_id": _icon_id(group_ids[label]) if label in with_icons else FAVICON_ID,
                "title": feed_title(f),
                "url": f.spec.url or f"rsshub:{f.spec.route}",
                "site_url": f.spec.url or "",
                "is_spark": 0,
                "last_updated_on_time": _seconds(f.state.last_success),
            }
        )
    feeds_groups = [{"group_id": g, "feed_ids": ",".join(map(str, ids))} for g, ids in members.items()]
    return groups, out_feeds, feeds_groups


def _mark(store: Store, user: User, form: Form, now: datetime) -> dict[str, Any]:
    what, how = form.get("mark") or "", form.get("as") or ""
    if how not in _MARKS.get(what, ()):
        raise ApiError(
            400, f"mark={what[:20]!r} as={how[:20]!r}: item read/unread/saved/unsaved, feed or group read"
        )
    target = form.number("id")
    if target is None:
        raise ApiError(400, f"mark={what}: give the id")
    if what == "item":
        uid = store.fever_uids([target]).get(target)
        if uid is None:
            raise ApiError(404, f"no item {target}")
        read = {"read": True, "unread": False}.get(how)
        starred = {"saved": True, "unsaved": False}.get(how)
        store.set_entry_state(user.id, [uid], read=read, starred=starred, now=now)
        if starred is not None:
            return {"saved_item_ids": ",".join(map(str, store.fever_state_ids(user.id, "saved")))}
        return {"unread_item_ids": ",".join(map(str, store.fever_state_ids(user.id, "unread")))}
    before_s = form.number("before")
    before = datetime.fromtimestamp(min(before_s, 253402300799), UTC) if before_s is not None else now
    query: EntryQuery | None
    if what == "feed":
        by_id = {v: k for k, v in store.fever_feed_ids([f.key for f in store.catalogue()]).items()}
        if target not in by_id:
            raise ApiError(404, f"no feed {target}")
        query = EntryQuery(feed=by_id[target])
    elif target == 0:  # Fever's "Kindling": every item
        query = EntryQuery()
    else:
        feeds = store.catalogue()
        labels = {label_of(f.spec.group, f.spec.site): f for f in feeds}
        by_label = {v: k for k, v in store.fever_group_ids(list(labels)).items()}
        if target not in by_label:
            raise ApiError(404, f"no group {target}")
        f = labels[by_label[target]]
        query = EntryQuery(group=f.spec.group, site=f.spec.site)
    store.mark_read(user.id, query, before=before, now=now)
    return {"unread_item_ids": ",".join(map(str, store.fever_state_ids(user.id, "unread")))}


def _links(store: Store, user: User, form: Form, now: datetime) -> list[dict[str, Any]]:
    """Fever's hot links from the story clusters: the stories carried by the most outlets
    among those that grew in the `range` days (default 7) ending `offset` days ago, a `page`
    (from 1) of LINKS_PAGE. A link is the story's first article (its id that item's Fever id),
    `temperature` its outlets, `item_ids` every copy's."""
    days, back, number = form.number("range") or 7, form.number("offset") or 0, form.number("page") or 1
    if not 1 <= days <= 365 or back > 3650:
        raise ApiError(400, f"range={days}, offset={back}: a range of 1 to 365 days, up to 3,650 days back")
    end = now - timedelta(days=back)
    start = end - timedelta(days=days)
    hot = [c for c in clusters_since(store, start) if c.first < end and c.sources > 1]
    hot.sort(key=lambda c: (-c.sources, -c.size, -c.last.timestamp(), c.id))
    chosen = hot[(number - 1) * LINKS_PAGE : number * LINKS_PAGE]
    members = {c.id: [m.uid for m in (store.get_cluster(c.id) or (c, []))[1]] for c in chosen}
    numbers = store.fever_ids_of([u for uids in members.values() for u in uids])
    firsts = {r.entry.uid: r for r in entries_of(store, user, [c.canonical for c in chosen])}
    feed_ids = store.fever_feed_ids(list(dict.fromkeys(r.entry.feed_key for r in firsts.values())))
    out = []
    for c in chosen:
        first = firsts.get(c.canonical)
        if first is None or c.canonical not in numbers:
            continue
        out.append(
            {
                "id": numbers[c.canonical],
                "feed_id": feed_ids.get(first.entry.feed_key, 0),
                "item_id": numbers[c.canonical],
                "temperature": float(c.sources),
                "is_item": 1,
                "is_local": 1,
                "is_saved": int(first.starred),
                "title": c.title or first.entry.title,
                "url": first.entry.link or "",
                "item_ids": ",".join(str(numbers[u]) for u in members[c.id] if u in numbers),
            }
        )
    return out


def answer(store: Store, user: User, form: Form, now: datetime) -> dict[str, Any]:
    """What the request asks for, each part under its Fever name."""
    out: dict[str, Any] = {}
    if form.has("mark"):
        out.update(_mark(store, user, form, now))
    if form.has("groups") or form.has("feeds"):
        groups, feeds, feeds_groups = _tree(store)
        if form.has("groups"):
            out["groups"] = groups
        if form.has("feeds"):
            out["feeds"] = feeds
        out["feeds_groups"] = feeds_groups
    if form.has("favicons"):
        out["favicons"] = _favicons(store)
    if form.has("items"):
        if form.get("with_ids") is not None:
            rows = store.fever_item_page(ids=_ids_param(form, "with_ids"), limit=MAX_IDS)
        else:
            rows = store.fever_item_page(
                since_id=form.number("since_id"), max_id=form.number("max_id"), limit=PAGE
            )
        entries = {r.entry.uid: r for r in entries_of(store, user, [uid for _, uid in rows])}
        feed_ids = store.fever_feed_ids(list(dict.fromkeys(r.entry.feed_key for r in entries.values())))
        out["items"] = [_item(n, entries[uid], feed_ids) for n, uid in rows if uid in entries]
        out["total_items"] = store.fever_item_count()
    if form.has("links"):
        out["links"] = _links(store, user, form, now)
    if form.has("unread_item_ids"):
        out["unread_item_ids"] = ",".join(map(str, store.fever_state_ids(user.id, "unread")))
    if form.has("saved_item_ids"):
        out["saved_item_ids"] = ",".join(map(str, store.fever_state_ids(user.id, "saved")))
    return out


def fever_user(store: Store, key_hash: str, now: datetime) -> User | None:
    """The user of a Fever key (by its HMAC), its app password noted as used (when a process
    first meets the key, then every few seconds: the user cache)."""
    user = store.user_for_fever_key(key_hash)
    if user is not None:
        store.app_password_used(now, fever_key_hash=key_hash)
    return user


def router(throttle: LoginThrottle | None = None) -> APIRouter:
    """The Fever API's routes, to mount under `{base}`."""
    api = APIRouter(include_in_schema=False)
    throttle = throttle or LoginThrottle()
    secrets: list[bytes] = []

    async def fever(request: Request) -> Response:
        form = await form_of(request)
        if not form.has("api"):
            raise ApiError(400, "not a Fever API request: add ?api to the URL")
        if (form.get("api") or "json") != "json":
            raise ApiError(400, "only JSON answers: ?api or ?api=json")
        desk = desk_of(request)
        key = (form.get("api_key") or "").strip().lower()
        client = request.client.host if request.client else "unknown"
        user = users_of(request).get((key, "fever")) if key else None
        if user is None and key:
            throttle.check(client)
            if not secrets:
                secrets.append(await desk.run(lambda: server_secret(desk.config)))
            hashed = accounts.fever_key_hash(secrets[0], key)
            user = await desk.run(lambda: fever_user(desk.store(), hashed, desk.clock()))
            if user is None:
                throttle.failed(client)
            else:
                users_of(request).put((key, "fever"), user)
        if user is None:
            return JSONBytes({"api_version": API_VERSION, "auth": 0})
        found = user

        def work() -> dict[str, Any]:
            store = desk.store()
            now = desk.clock()
            body = answer(store, found, form, now)
            return {
                "api_version": API_VERSION,
                "auth": 1,
                "last_refreshed_on_time": _seconds(store.fever_last_arrival()),
                **body,
            }

        return JSONBytes(await desk.run(work))

    for path in PREFIXES:
        api.add_api_route(path, fever, methods=["GET", "POST"])
    return api
