"""The JSON API under `/api/v1`: entries with each reader's state, the feed tree, search,
story clusters, the caller (`/me`) and browser sessions. The feed catalogue's routes are in
`feeds_api.py`. Every route but `POST /session` needs a token or a session (`auth.py`).

Times in query strings are ISO 8601; one without a zone is Beijing time, as on the command
line. Answers give every time in UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

import orjson
from fastapi import APIRouter, Body, Path, Query, Request
from starlette.responses import Response

from ..dates import SHANGHAI
from ..entry_json import cluster_dict, cluster_member_dicts, entry_dict
from ..errors import StoreError
from ..models import ClusterRef, EntryQuery, ReaderEntry, User
from ..store import Store
from . import searching
from .auth import SESSION_COOKIE, LoginThrottle, desk_of, in_thread, login, on_loop
from .errors import ApiError, JSONBytes, documented
from .schemas import (
    ClusterDetail,
    ClusterList,
    EntriesQuery,
    EntryFilters,
    EntryFull,
    EntryPage,
    EntryStateIn,
    LoginIn,
    MarkedOut,
    MarkReadIn,
    SearchOut,
    SearchQuery,
    SessionOut,
    TreeOut,
    UserOut,
    query_parameters,
    read_query,
)

if TYPE_CHECKING:
    pass

# Documented on every route: the envelope for what can go wrong anywhere.
_COMMON = documented(400, 401, 422, 503)
_ID = Annotated[str, Path(min_length=1, max_length=200, description="an entry id")]
# Search hits a text filter of the entry list draws from (newest first, one per story).
Q_HITS = 1000


def utc(value: datetime | None, what: str) -> datetime | None:
    """A time from a request in UTC (without a zone: Beijing time); 422 when out of range."""
    if value is None:
        return None
    try:
        return (value if value.tzinfo else value.replace(tzinfo=SHANGHAI)).astimezone(UTC)
    except (OverflowError, ValueError) as e:
        raise ApiError(422, f"{what}: {value.isoformat()} is out of range") from e


def user_dict(user: User) -> dict[str, Any]:
    return {"id": user.id, "name": user.name, "admin": user.admin, "created": user.created}


def ref_dict(ref: ClusterRef | None) -> dict[str, Any] | None:
    if ref is None:
        return None
    return {"id": ref.id, "size": ref.size, "sources": ref.sources, "canonical": ref.canonical}


def reader_dict(r: ReaderEntry, ref: ClusterRef | None, *, full: bool = False) -> dict[str, Any]:
    d = entry_dict(r.entry, full)
    d["read"] = r.read
    d["starred"] = r.starred
    d["cluster"] = ref_dict(ref)
    return d


def full_entry(store: Store, user: User, entry_id: str) -> dict[str, Any]:
    """One entry in full with the reader's state; 404 when there is none."""
    r = store.reader_entry(user.id, entry_id)
    if r is None:
        raise ApiError(404, f"no entry with id {entry_id!r}")
    return reader_dict(r, store.cluster_refs([entry_id]).get(entry_id), full=True)


def router(throttle: LoginThrottle | None = None) -> APIRouter:
    api = APIRouter(
        tags=["reader"],
        responses=_COMMON,
    )
    throttle = throttle or LoginThrottle()

    def query_of(request: Request, store: Store, f: EntryFilters) -> EntryQuery:
        since, until = utc(f.since, "since"), utc(f.until, "until")
        uids = None
        if f.q is not None:
            from ..search.query import Filters

            filters = Filters(group=f.group, site=f.site, feed=f.feed, since=since, until=until)
            hits = searching.search(desk_of(request), store, f.q, filters, sort="date", limit=Q_HITS)
            uids = tuple(h.uid for h in hits)
        return EntryQuery(
            group=f.group,
            site=f.site,
            feed=f.feed,
            status=f.status,
            starred=f.starred,
            since=since,
            until=until,
            uids=uids,
        )

    @api.get(
        "/entries",
        response_model=EntryPage,
        summary="List entries, newest first",
        openapi_extra=query_parameters(EntriesQuery),
    )
    async def list_entries(request: Request) -> Response:
        params = read_query(request, EntriesQuery)
        utc(params.since, "since"), utc(params.until, "until")  # out of range: 422 before any work

        def work(store: Store, user: User) -> bytes:
            query = query_of(request, store, params)
            try:
                rows, following = store.reader_entries_json(
                    user.id, query, limit=params.limit, after=params.cursor
                )
            except StoreError as e:
                if params.cursor is not None and type(e) is StoreError:  # the cursor was not one of ours
                    raise ApiError(422, str(e), code="bad_cursor") from e
                raise
            # The entries come as JSON texts from the archive: only the envelope is made here.
            return b'{"entries":[%s],"next":%s}' % (",".join(rows).encode(), orjson.dumps(following))

        # A page is a short read: on the event loop itself, but a text filter (a search first).
        body = await in_thread(request, work) if params.q is not None else on_loop(request, work)
        return Response(body, media_type="application/json")

    @api.get(
        "/entries/{entry_id}",
        response_model=EntryFull,
        summary="One entry in full",
        responses=documented(404),
    )
    async def get_entry(request: Request, entry_id: _ID) -> Response:
        return JSONBytes(on_loop(request, lambda store, user: full_entry(store, user, entry_id)))

    @api.patch(
        "/entries/{entry_id}",
        response_model=EntryFull,
        summary="Mark an entry read or unread, starred or not",
        responses=documented(404),
    )
    async def patch_entry(request: Request, entry_id: _ID, state: EntryStateIn) -> Response:
        def work(store: Store, user: User) -> dict[str, Any]:
            now = desk_of(request).clock()
            store.set_entry_state(user.id, [entry_id], read=state.read, starred=state.starred, now=now)
            return full_entry(store, user, entry_id)

        return JSONBytes(await in_thread(request, work))

    @api.post(
        "/entries/mark-read",
        response_model=MarkedOut,
        summary="Mark entries read: by id, or every entry the filters list that arrived before `before`",
    )
    async def mark_read(request: Request, body: MarkReadIn) -> Response:
        if body.ids is None and body.before is None:
            raise ApiError(422, "give `ids`, or the list's filters with `before` (when you looked at it)")
        before = utc(body.before, "before")
        utc(body.since, "since"), utc(body.until, "until")  # out of range: 422 before any work

        def work(store: Store, user: User) -> dict[str, Any]:
            now = desk_of(request).clock()
            if body.ids is not None:
                return {"marked": store.set_entry_state(user.id, body.ids, read=True, now=now)}
            query = query_of(request, store, body)
            assert before is not None
            return {"marked": store.mark_read(user.id, query, before=before, now=now)}

        return JSONBytes(await in_thread(request, work))

    @api.get("/tree", response_model=TreeOut, summary="Group → site → feed, with unread counts")
    async def tree(request: Request) -> Response:
        from .catalogue import feed_tree

        return JSONBytes(await in_thread(request, lambda store, user: feed_tree(store, user)))

    @api.get(
        "/search",
        response_model=SearchOut,
        summary="Search the archive (one hit per story)",
        openapi_extra=query_parameters(SearchQuery),
    )
    async def search(request: Request) -> Response:
        from ..search.query import Filters

        p = read_query(request, SearchQuery)
        filters = Filters(p.group, p.site, p.feed, p.source, utc(p.since, "since"), utc(p.until, "until"))
        q, sort, limit = p.q, p.sort, p.limit

        def work(store: Store, user: User) -> dict[str, Any]:
            hits = searching.search(desk_of(request), store, q, filters, sort=sort, limit=limit)
            return {"hits": [h.as_dict() for h in hits]}

        return JSONBytes(await in_thread(request, work))

    @api.get(
        "/clusters", response_model=ClusterList, summary="Stories carried by several sources, latest first"
    )
    async def clusters(
        request: Request,
        limit: Annotated[int, Query(ge=1, le=500)] = 20,
        offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    ) -> Response:
        def work(store: Store, user: User) -> dict[str, Any]:
            return {"clusters": [cluster_dict(c) for c in store.list_clusters(limit=limit, offset=offset)]}

        return JSONBytes(await in_thread(request, work))

    @api.get(
        "/clusters/{cluster_id}",
        response_model=ClusterDetail,
        summary="A story and every entry carrying it (by cluster id or a member's entry id)",
        responses=documented(404),
    )
    async def cluster(
        request: Request, cluster_id: Annotated[str, Path(min_length=1, max_length=200)]
    ) -> Response:
        def work(store: Store, user: User) -> dict[str, Any]:
            found = store.get_cluster(cluster_id)
            if found is None:
                raise ApiError(404, f"no cluster or entry with id {cluster_id!r}")
            summary, members = found
            data = cluster_dict(summary)
            data["members"] = cluster_member_dicts(summary, members)
            return data

        return JSONBytes(await in_thread(request, work))

    @api.get("/me", response_model=UserOut, summary="Who the token or session belongs to")
    async def me(request: Request) -> Response:
        return JSONBytes(await in_thread(request, lambda store, user: user_dict(user)))

    @api.post(
        "/session",
        response_model=SessionOut,
        summary="Log in: sets the session cookie (HttpOnly, SameSite=Lax; Secure over https)",
        responses=documented(429),
    )
    async def open_session(request: Request, body: Annotated[LoginIn, Body()]) -> Response:
        desk = desk_of(request)
        client = request.client.host if request.client else "unknown"
        user, session, expires = await desk.run(
            lambda: login(desk, throttle, client, body.name, body.password)
        )
        response = JSONBytes({"user": user_dict(user), "expires": expires})
        response.set_cookie(
            SESSION_COOKIE,
            session,
            max_age=desk.config.serve.session_days * 86400,
            path=(desk.config.serve.base_path or "") + "/",
            httponly=True,
            samesite="lax",
            secure=desk.secure_cookies or request.url.scheme == "https",
        )
        return response

    @api.delete("/session", status_code=204, summary="Log out: ends this browser session")
    async def close_session(request: Request) -> Response:
        desk = desk_of(request)
        session = request.cookies.get(SESSION_COOKIE)

        def work(store: Store, user: User) -> None:
            if session is not None:
                from ..accounts import secret_hash

                store.remove_session(secret_hash(session))

        await in_thread(request, work)
        if session is not None:
            request.app.state.user_cache.forget_session(session)
        response = Response(status_code=204)
        response.delete_cookie(
            SESSION_COOKIE, path=(desk.config.serve.base_path or "") + "/", httponly=True, samesite="lax"
        )
        return response

    return api
