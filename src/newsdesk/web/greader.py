"""The Google Reader API under `/api/greader` (what Reeder, NetNewsWire, FeedMe, Read You,
FocusReader, Fluent Reader, Liferea and friends sync with): the base URL a user types into an
app is `http://HOST:PORT[/base_path]/api/greader` (docs/greader.md).

Apps log in with `accounts/ClientLogin` (the user name and an app password from `newsdesk
users app-password NAME`, never the login password) and send the Auth token it answers as
`Authorization: GoogleLogin auth=…` on every request; this module checks it itself (the JSON
API's bearer middleware does not cover this prefix). The edit token (`T`) guards against
cross-site requests made with a browser's cookies; this API takes no cookies, so any token
or none is accepted (Reeder sends "x", FeedMe nothing).

Streams: `user/-/state/com.google/{reading-list,read,starred,kept-unread}`,
`user/-/label/<group>/<site>` (each feed sits under exactly one label, its group and site),
`feed/<key>` (the feed's key, stable when its URL changes; `feed/<url>` is accepted too).
An item id is the entry's uid read as a 64-bit number: answered as the long form
`tag:google.com,2005:reader/item/<16 hex>` in contents and as decimal in `stream/items/ids`;
every form clients send back is accepted (long, bare 16 hex, decimal, signed decimal).
Items carry the cleaned article's HTML (the sanitiser's output), never the feed's own HTML.
"""

from __future__ import annotations

import re
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, TypeVar

import orjson
from fastapi import APIRouter, Request
from starlette.responses import PlainTextResponse, Response

from .. import accounts
from ..errors import StoreError
from ..models import CatalogueFeed, EntryQuery, ReaderEntry, User
from ..store import Store
from . import greader_subs
from .auth import LoginThrottle, UserCache, desk_of
from .errors import ApiError, JSONBytes, bounded_body
from .greader_labels import item_label, label_of_tag

T = TypeVar("T")

PREFIX = "/api/greader"
LONG_ID = "tag:google.com,2005:reader/item/"
STATE = "user/-/state/com.google/"
READING_LIST = STATE + "reading-list"
READ = STATE + "read"
STARRED = STATE + "starred"
KEPT_UNREAD = STATE + "kept-unread"
LABEL = "user/-/label/"
# Ids one request may name (stream/items/contents, edit-tag): more is refused (413), not cut.
MAX_CONTENT_IDS = 1000
MAX_EDIT_IDS = 5000
# Items a page of ids or contents holds at most; continuation pages on through the whole
# archive, so a larger `n` is answered in several pages, never silently cut.
MAX_IDS_PAGE = 10_000
MAX_CONTENTS_PAGE = 1000
# Pages of ids up to this size are read on the event loop (short reads); larger ones on a
# worker thread, so a page of 10,000 never holds up the other requests.
ON_LOOP_IDS = 1000
MAX_BODY = 1 << 20  # a form body larger than this is refused (413)

_UNAUTHORIZED = {"X-Reader-Google-Bad-Token": "true", "WWW-Authenticate": "GoogleLogin"}
_HEX16 = re.compile(r"[0-9a-fA-F]{16}")
_DECIMAL = re.compile(r"-?[0-9]{1,20}")


class Params:
    """A request's parameters, from the query string and a urlencoded form body alike (apps
    send either), each name possibly repeated (`i`, `a`, `r`)."""

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        self.pairs = pairs

    def get(self, name: str) -> str | None:
        for key, value in self.pairs:
            if key == name:
                return value
        return None

    def all(self, name: str) -> list[str]:
        return [value for key, value in self.pairs if key == name]

    def integer(self, name: str, default: int | None = None) -> int | None:
        value = self.get(name)
        if value is None or value == "":
            return default
        try:
            return int(value)
        except ValueError:
            raise ApiError(400, f"parameter {name}={value[:40]!r} is not an integer") from None


async def params_of(request: Request) -> Params:
    pairs = list(request.query_params.multi_items())
    if request.method == "POST":
        body = await bounded_body(request, MAX_BODY)
        kind = request.headers.get("content-type", "")
        if body and (not kind or kind.startswith("application/x-www-form-urlencoded")):
            try:
                text = body.decode("utf-8")
            except UnicodeDecodeError:
                raise ApiError(400, "the form is not UTF-8") from None
            pairs += urllib.parse.parse_qsl(text, keep_blank_values=True)
        elif body:
            raise ApiError(415, f"send the parameters as a urlencoded form, not {kind[:60]!r}")
    return Params(pairs)


def uid_candidates(raw: str) -> list[str]:
    """The entry uids an item id may name: one, or for 16 decimal digits two (it reads as hex,
    as NetNewsWire and Reeder send it, and as decimal, as Liferea does; only one of them is
    in the archive, but for a chance of 2^-64). 400 for anything else."""
    text = raw.strip()
    if text.startswith(LONG_ID):
        tail = text[len(LONG_ID) :]
        if 1 <= len(tail) <= 16 and all(c in "0123456789abcdefABCDEF" for c in tail):
            return [tail.lower().zfill(16)]
    elif _HEX16.fullmatch(text):
        found = [text.lower()]
        if text.isdigit():
            found.append(f"{int(text):016x}")
        return found
    elif _DECIMAL.fullmatch(text):
        value = int(text)
        if value < 0:  # a client that keeps ids as signed 64-bit numbers
            value += 1 << 64
        if 0 <= value < 1 << 64:
            return [f"{value:016x}"]
    raise ApiError(400, f"malformed item id {raw[:60]!r}: give a long, 16-hex or decimal item id")


def item_uids(ids: list[str], limit: int) -> list[str]:
    if not ids:
        raise ApiError(400, "no item ids: give one or more `i`")
    if len(ids) > limit:
        raise ApiError(413, f"{len(ids)} item ids in one request: at most {limit}")
    out: list[str] = []
    for raw in ids:
        out += uid_candidates(raw)
    return list(dict.fromkeys(out))


def long_id(uid: str) -> str:
    return LONG_ID + uid


def usec(when: datetime) -> int:
    return int(when.timestamp()) * 1_000_000 + when.microsecond


def label_of(group: str, site: str) -> str:
    return f"{group}/{site}"


def feed_title(f: CatalogueFeed) -> str:
    return f"{f.spec.site}·{f.spec.name}"


def stream_query(stream: str | None, store: Store, user_id: int | None = None) -> EntryQuery:
    """The entries a stream id names; 400 for a malformed one, 404 for an unknown feed or label.
    Only a label or feed stream reads the catalogue (the reading list and states need not).
    A label that is no folder is the reader's own (`user_id`'s) on the items they put it on."""
    if not stream:
        raise ApiError(400, "no stream: give `s`, e.g. user/-/state/com.google/reading-list")
    s = re.sub(r"^user/[^/]*/", "user/-/", stream)
    if s == READING_LIST:
        return EntryQuery()
    if s == READ:
        return EntryQuery(status="read")
    if s == STARRED:
        return EntryQuery(starred=True)
    if s == KEPT_UNREAD:
        return EntryQuery(status="unread")
    if s.startswith(LABEL):
        label = s[len(LABEL) :]
        feeds = store.catalogue()
        for f in feeds:
            if label_of(f.spec.group, f.spec.site) == label:
                return EntryQuery(group=f.spec.group, site=f.spec.site)
        for f in feeds:  # a group's name alone: the whole group
            if f.spec.group == label:
                return EntryQuery(group=label)
        uids = store.labelled_uids(user_id, label) if user_id is not None else []
        if uids:
            return EntryQuery(uids=tuple(uids))
        raise ApiError(404, f"no label {label[:100]!r}: see tag/list")
    if s.startswith("feed/"):
        key = s[len("feed/") :]
        if store.catalogue_feed(key) is not None:
            return EntryQuery(feed=key)
        for f in store.catalogue():  # by its URL
            if key == f.spec.url:
                return EntryQuery(feed=f.key)
        raise ApiError(404, f"no feed {key[:200]!r}: see subscription/list")
    raise ApiError(400, f"unknown stream {stream[:100]!r}")


def filtered(query: EntryQuery, params: Params) -> EntryQuery:
    """The stream's query narrowed by `xt` (exclude), `it` (include), `ot`/`nt` (seconds)."""
    for target in params.all("xt"):
        t = re.sub(r"^user/[^/]*/", "user/-/", target)
        if t == READ:
            query = replace(query, uids=()) if query.status == "read" else replace(query, status="unread")
        elif t == STARRED:
            query = replace(query, uids=()) if query.starred else replace(query, starred=False)
        elif t not in (KEPT_UNREAD,):
            raise ApiError(400, f"unsupported xt {target[:100]!r}: read or starred")
    for target in params.all("it"):
        t = re.sub(r"^user/[^/]*/", "user/-/", target)
        if t == READ:
            query = replace(query, uids=()) if query.status == "unread" else replace(query, status="read")
        elif t == STARRED:
            query = replace(query, uids=()) if query.starred is False else replace(query, starred=True)
        elif t != READING_LIST:
            raise ApiError(400, f"unsupported it {target[:100]!r}: read or starred")
    since = seconds(params, "ot")
    until = seconds(params, "nt")
    if since is not None:
        query = replace(query, since=since)
    if until is not None:
        query = replace(query, until=until)
    return query


def seconds(params: Params, name: str) -> datetime | None:
    value = params.integer(name)
    if value is None:
        return None
    try:
        return datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError, ValueError):
        raise ApiError(400, f"parameter {name}={value}: not a time in seconds") from None


def page_size(params: Params, default: int, largest: int) -> int:
    n = params.integer("n", default)
    assert n is not None
    if n < 1:
        raise ApiError(400, f"n={n}: ask for at least one item")
    return min(n, largest)


def entry_html(r: ReaderEntry) -> str:
    """What apps show of an entry: the cleaned article's HTML, else (a `clean: false` feed, or
    cleaned before fallbacks) the sanitiser's output of the feed's HTML, as the site shows it."""
    e = r.entry
    if e.article is not None:
        return e.article.html
    from ..clean.sanitise import allow_list

    return allow_list(e.content)


class FeedUrls:
    """Each feed's URL by key (an item's origin), from the whole catalogue at most every
    `ttl` seconds: one catalogue read instead of one lookup per feed of every answer. A feed
    added since is looked up on its own; a changed URL shows within `ttl`."""

    def __init__(self, ttl: float = 30.0) -> None:
        self.ttl = ttl
        self._urls: dict[str, str] = {}
        self._read = -ttl
        self._lock = threading.Lock()

    def of(self, store: Store, keys: Iterable[str]) -> dict[str, str]:
        with self._lock:
            if time.monotonic() - self._read > self.ttl:
                self._urls = {f.key: f.spec.url or "" for f in store.catalogue()}
                self._read = time.monotonic()
            urls = self._urls
        out: dict[str, str] = {}
        for key in keys:
            if key not in urls:
                f = store.catalogue_feed(key)
                urls[key] = (f.spec.url or "") if f is not None else ""
            out[key] = urls[key]
        return out


def item_dict(r: ReaderEntry, urls: dict[str, str], labels: list[str] | None = None) -> dict[str, Any]:
    """An item as contents answer it; `labels`: the reader's own labels on it."""
    e = r.entry
    html = entry_html(r)
    when = e.published or e.first_seen
    categories = [READING_LIST, LABEL + label_of(e.group, e.site), *(LABEL + x for x in labels or ())]
    if r.read:
        categories.append(READ)
    if r.starred:
        categories.append(STARRED)
    link = [{"href": e.link, "type": "text/html"}] if e.link else []
    return {
        "id": long_id(e.uid),
        "crawlTimeMsec": str(usec(e.first_seen) // 1000),
        "timestampUsec": str(usec(when)),
        "published": int(when.timestamp()),
        "updated": int((e.updated or when).timestamp()),
        "title": e.title,
        "author": e.author or "",
        "canonical": link,
        "alternate": link,
        "categories": categories,
        "origin": {
            "streamId": f"feed/{e.feed_key}",
            "title": f"{e.site}·{e.feed}",  # as `feed_title`: the entry carries its feed's place
            "htmlUrl": urls.get(e.feed_key, ""),
        },
        "summary": {"direction": "ltr", "content": html},
    }


_REF = '{"id":"%d","directStreamIds":[],"timestampUsec":"%d"}'


def id_refs(rows: list[ReaderEntry] | list[tuple[str, int]], following: str | None) -> bytes:
    """The answer of `stream/items/ids`: each (uid, µs) as an item ref with its decimal id.
    Written out, not dumped from dicts (twice the time): a page is up to 10,000 refs of three
    fields, and this is most of its cost after the query."""
    refs = ",".join([_REF % (int(row[0], 16), row[1]) for row in rows if not isinstance(row, ReaderEntry)])
    tail = ',"continuation":' + orjson.dumps(following).decode() if following is not None else ""
    return ('{"itemRefs":[' + refs + "]" + tail + "}").encode()


def entries_of(store: Store, user: User, uids: list[str]) -> list[ReaderEntry]:
    """The archive's entries of `uids`, whole, in that order (unknown uids left out)."""
    if not uids:
        return []
    page, _ = store.reader_entries(user.id, EntryQuery(uids=tuple(uids)), limit=len(uids), bodies=True)
    found = {r.entry.uid: r for r in page}
    return [found[u] for u in uids if u in found]


def app_user(store: Store, auth_hash: str, now: datetime) -> User | None:
    """The user of an Auth token (by its hash), its app password noted as used: asked when a
    process first meets the token and then every few seconds (the user cache), not per request."""
    user = store.user_for_app_auth(auth_hash)
    if user is not None:
        store.app_password_used(now, auth_hash=auth_hash)
    return user


def router(throttle: LoginThrottle | None = None) -> APIRouter:
    """The Google Reader API's routes, to mount under `{base}/api/greader`."""
    api = APIRouter(include_in_schema=False)
    throttle = throttle or LoginThrottle()
    feed_urls = FeedUrls()

    async def user_of(request: Request) -> User:
        header = request.headers.get("authorization", "")
        scheme, _, rest = header.partition(" ")
        key, _, auth = rest.strip().partition("=")
        if scheme != "GoogleLogin" or key.strip().lower() != "auth" or not auth.strip():
            raise ApiError(
                401,
                "log in with accounts/ClientLogin and send 'Authorization: GoogleLogin auth=<Auth>'",
                headers=_UNAUTHORIZED,
            )
        auth = auth.strip()
        user = users_of(request).get((auth, None))
        if user is None:
            desk = desk_of(request)
            user = await desk.run(lambda: app_user(desk.store(), accounts.secret_hash(auth), desk.clock()))
            if user is None:
                raise ApiError(401, "unknown or revoked Auth token: log in again", headers=_UNAUTHORIZED)
            users_of(request).put((auth, None), user)
        return user

    async def work(request: Request, fn: Callable[[Store, User], T]) -> T:
        user = await user_of(request)
        desk = desk_of(request)
        return await desk.run(lambda: fn(desk.store(), user))

    @api.api_route("/accounts/ClientLogin", methods=["GET", "POST"])
    async def client_login(request: Request) -> Response:
        params = await params_of(request)
        name, password = params.get("Email") or "", params.get("Passwd") or ""
        client = request.client.host if request.client else "unknown"
        throttle.check(client)
        desk = desk_of(request)

        def check() -> User | None:
            if not (name and password):
                return None
            store, hashed = desk.store(), accounts.secret_hash(password)
            found = store.user_for_app_password(name, hashed)
            if found is not None:
                store.app_password_used(desk.clock(), password_hash=hashed)
            return found

        user = await desk.run(check)
        if user is None:
            throttle.failed(client)
            return PlainTextResponse("Error=BadAuthentication\n", status_code=401)
        auth = accounts.app_auth_token(password)
        if params.get("output") == "json":
            return JSONBytes({"SID": auth, "LSID": auth, "Auth": auth, "expires_in": 604800})
        return PlainTextResponse(f"SID={auth}\nLSID={auth}\nAuth={auth}\n")

    @api.api_route("/reader/api/0/token", methods=["GET", "POST"])
    async def token(request: Request) -> Response:
        user = await user_of(request)
        # Any token is accepted back (see the module's notes); this one is of the usual length.
        return PlainTextResponse(f"newsdesk{user.id:049d}")

    @api.get("/reader/api/0/user-info")
    async def user_info(request: Request) -> Response:
        user = await user_of(request)
        return JSONBytes(
            {
                "userId": str(user.id),
                "userName": user.name,
                "userProfileId": str(user.id),
                "userEmail": user.name,
                "isBloggerUser": False,
                "signupTimeSec": int(user.created.timestamp()),
            }
        )

    @api.get("/reader/api/0/tag/list")
    async def tag_list(request: Request) -> Response:
        def labels(store: Store, user: User) -> dict[str, Any]:
            tags: list[dict[str, str]] = [{"id": STARRED}]
            for label in dict.fromkeys(label_of(f.spec.group, f.spec.site) for f in store.catalogue()):
                tags.append({"id": LABEL + label, "type": "folder"})
            tags += [{"id": LABEL + label, "type": "tag"} for label in store.item_labels(user.id)]
            return {"tags": tags}

        return JSONBytes(await work(request, labels))

    @api.get("/reader/api/0/subscription/list")
    async def subscription_list(request: Request) -> Response:
        def subscriptions(store: Store, user: User) -> dict[str, Any]:
            out = []
            for f in store.catalogue():
                label = label_of(f.spec.group, f.spec.site)
                out.append(
                    {
                        "id": f"feed/{f.key}",
                        "title": feed_title(f),
                        "categories": [{"id": LABEL + label, "label": label}],
                        "url": f.spec.url or f"rsshub:{f.spec.route}",
                        "htmlUrl": f.spec.url or "",
                        "iconUrl": "",
                    }
                )
            return {"subscriptions": out}

        return JSONBytes(await work(request, subscriptions))

    @api.get("/reader/api/0/unread-count")
    async def unread_count(request: Request) -> Response:
        def counts(store: Store, user: User) -> dict[str, Any]:
            unread = store.unread_counts(user.id)
            newest = usec(desk_of(request).clock())
            rows: list[dict[str, Any]] = []
            labels: dict[str, int] = {}
            total = 0
            for f in store.catalogue():
                n = unread.get(f.key, (0, 0))[0]
                rows.append({"id": f"feed/{f.key}", "count": n, "newestItemTimestampUsec": str(newest)})
                label = LABEL + label_of(f.spec.group, f.spec.site)
                labels[label] = labels.get(label, 0) + n
                total += n
            rows += [{"id": k, "count": v, "newestItemTimestampUsec": str(newest)} for k, v in labels.items()]
            rows.append({"id": READING_LIST, "count": total, "newestItemTimestampUsec": str(newest)})
            return {"max": total, "unreadcounts": rows}

        return JSONBytes(await work(request, counts))

    def stream_page(
        store: Store, user: User, params: Params, stream: str | None, *, n: int, bodies: bool
    ) -> tuple[list[ReaderEntry] | list[tuple[str, int]], str | None]:
        """A page of the stream: its entries, or with `bodies` False (uid, sort time in µs)."""
        query = filtered(stream_query(stream, store, user.id), params)
        after = params.get("c") or None
        try:
            if params.get("r") == "o":
                ids, following = store.reader_ids_oldest_first(user.id, query, limit=n, after=after)
                if not bodies:
                    return [(uid, usec(when)) for uid, when in ids], following
                return entries_of(store, user, [uid for uid, _ in ids]), following
            if not bodies:  # ids only: from the indexes, no entry rows read
                return store.reader_ids(user.id, query, limit=n, after=after)
            return store.reader_entries(user.id, query, limit=n, after=after, bodies=bodies)
        except StoreError as e:
            if after is not None and type(e) is StoreError:
                raise ApiError(
                    400, f"continuation c={after[:40]!r}: pass back one this stream returned"
                ) from e
            raise

    @api.get("/reader/api/0/stream/items/ids")
    async def stream_ids(request: Request) -> Response:
        params = await params_of(request)
        n = page_size(params, 20, MAX_IDS_PAGE)

        def ids(store: Store, user: User) -> bytes:
            rows, following = stream_page(store, user, params, params.get("s"), n=n, bodies=False)
            return id_refs(rows, following)

        if n > ON_LOOP_IDS:
            return Response(await work(request, ids), media_type="application/json")
        # A page of ids is a short read of the indexes (about a millisecond for 1,000), which
        # never waits for a writer: answered on the event loop's own thread, as the JSON API's
        # entry lists, since the hop to a worker thread and back costs a good part of it.
        user = await user_of(request)
        return Response(ids(desk_of(request).store(), user), media_type="application/json")

    def contents_answer(
        store: Store,
        user: User,
        entries: list[ReaderEntry],
        stream: str,
        following: str | None,
        now: datetime,
    ) -> dict[str, Any]:
        urls = feed_urls.of(store, dict.fromkeys(r.entry.feed_key for r in entries))
        labels = store.entry_labels(user.id, [r.entry.uid for r in entries])
        out: dict[str, Any] = {
            "id": stream,
            "updated": int(now.timestamp()),
            "items": [item_dict(r, urls, labels.get(r.entry.uid)) for r in entries],
        }
        if following is not None:
            out["continuation"] = following
        return out

    @api.api_route("/reader/api/0/stream/items/contents", methods=["GET", "POST"])
    async def items_contents(request: Request) -> Response:
        params = await params_of(request)
        uids = item_uids(params.all("i"), MAX_CONTENT_IDS)

        def contents(store: Store, user: User) -> dict[str, Any]:
            entries = entries_of(store, user, uids)
            return contents_answer(store, user, entries, READING_LIST, None, desk_of(request).clock())

        return JSONBytes(await work(request, contents))

    @api.get("/reader/api/0/stream/contents/{stream:path}")
    @api.get("/reader/api/0/stream/contents")
    async def stream_contents(request: Request, stream: str | None = None) -> Response:
        params = await params_of(request)
        s = stream or params.get("s") or READING_LIST
        n = page_size(params, 20, MAX_CONTENTS_PAGE)

        def contents(store: Store, user: User) -> dict[str, Any]:
            rows, following = stream_page(store, user, params, s, n=n, bodies=True)
            entries = [r for r in rows if isinstance(r, ReaderEntry)]
            return contents_answer(store, user, entries, s, following, desk_of(request).clock())

        return JSONBytes(await work(request, contents))

    @api.post("/reader/api/0/edit-tag")
    async def edit_tag(request: Request) -> Response:
        params = await params_of(request)
        uids = item_uids(params.all("i"), MAX_EDIT_IDS)
        read: bool | None = None
        starred: bool | None = None
        labels: list[tuple[str, bool]] = []  # (tag, add) of the reader's own labels
        for add, tags in ((True, params.all("a")), (False, params.all("r"))):
            for tag in tags:
                t = re.sub(r"^user/[^/]*/", "user/-/", tag)
                if t == READ:
                    read = add
                elif t == STARRED:
                    starred = add
                elif t == KEPT_UNREAD:
                    if add:
                        read = False
                elif t.startswith(STATE + "tracking-") or t == STATE + "fresh":
                    continue  # bookkeeping some apps send along; nothing to store
                elif label_of_tag(t) is not None:
                    labels.append((t, add))
                else:
                    raise ApiError(
                        400, f"unsupported tag {tag[:100]!r}: read, starred, kept-unread or a label"
                    )
        if read is None and starred is None and not labels:
            raise ApiError(400, "nothing to change: give `a` or `r` (read, starred, a label)")

        def change(store: Store, user: User) -> None:
            now = desk_of(request).clock()
            checked = [(item_label(store, tag), add) for tag, add in labels]  # all, before any change
            if read is not None or starred is not None:
                store.set_entry_state(user.id, uids, read=read, starred=starred, now=now)
            for label, add in checked:
                store.label_entries(user.id, uids, label, now, add=add)

        await work(request, change)
        return PlainTextResponse("OK")

    @api.post("/reader/api/0/mark-all-as-read")
    async def mark_all_as_read(request: Request) -> Response:
        params = await params_of(request)
        ts = params.integer("ts")
        before: datetime | None = None
        if ts is not None:
            # Microseconds, as the API says; a number of ten digits or fewer is seconds.
            micros = ts if ts >= 10**11 else ts * 1_000_000
            try:
                before = datetime.fromtimestamp(micros / 1_000_000, UTC)
            except (OverflowError, OSError, ValueError):
                raise ApiError(400, f"ts={ts}: not a time in microseconds") from None

        def mark(store: Store, user: User) -> None:
            query = stream_query(params.get("s"), store, user.id)
            now = desk_of(request).clock()
            store.mark_read(user.id, query, before=before or now, now=now)

        await work(request, mark)
        return PlainTextResponse("OK")

    greader_subs.add_routes(api, user_of, params_of)
    return api


def users_of(request: Request) -> UserCache:
    """The app's cache of who a credential belongs to: the keys page's revocations make it
    forget a user at once (other processes forget within its few seconds)."""
    cache: UserCache = request.app.state.user_cache
    return cache
