"""The API's request and response models: what the OpenAPI document says each route takes and
answers. Responses are written from plain dicts (`errors.JSONBytes`), so these models are the
contract, checked by the schema tests (schemathesis) rather than per request."""

from __future__ import annotations

import functools
import inspect
from datetime import datetime
from typing import Annotated, Any, Literal, TypeVar

from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field, ValidationError

# Requests refuse unknown keys: a misspelt "stared" must not be silently ignored.
_STRICT = ConfigDict(extra="forbid")


class ClusterRefOut(BaseModel):
    id: str
    size: int = Field(description="entries in the story")
    sources: int = Field(description="distinct feeds carrying it")
    canonical: str = Field(description="id of the earliest entry")


class EntryRefOut(BaseModel):
    """What every answer naming an entry says of it."""

    id: str
    title: str
    link: str | None
    group: str
    site: str
    feed: str
    published: datetime | None


class EntryOut(EntryRefOut):
    """An entry: the keys of `newsdesk entries list --json`, and the reader's state."""

    updated: datetime | None
    author: str | None
    first_seen: datetime
    last_changed: datetime
    entry_id: str
    source: str | None = Field(description="来源")
    editor: str | None = Field(description="责任编辑")
    reporters: list[str]
    dateline: str | None = Field(description="电头")
    keywords: list[str]
    images: list[str]
    header_image: str | None
    summary: str
    char_count: int | None
    profile: str | None
    clean_error: str | None
    read: bool
    starred: bool
    cluster: ClusterRefOut | None = Field(description="the story this entry belongs to, when others carry it")


class EntryFull(EntryOut):
    """One entry with its bodies (`newsdesk entries show --json`)."""

    text: str | None
    html: str | None = Field(description="the cleaned, sanitised article")
    feed_summary: str
    content: str = Field(description="the item's HTML as the feed served it (not sanitised)")
    page: str | None = Field(description="the article page as fetched (full-text feeds)")


class EntryPage(BaseModel):
    entries: list[EntryOut]
    next: str | None = Field(description="cursor of the next page (pass as `cursor`); null on the last")


class EntryStateIn(BaseModel):
    model_config = _STRICT

    read: bool | None = None
    starred: bool | None = None


class EntryFilters(BaseModel):
    """Which entries: what `GET /entries` lists and `POST /entries/mark-read` marks."""

    group: str | None = Field(default=None, max_length=200)
    site: str | None = Field(default=None, max_length=200)
    feed: str | None = Field(default=None, max_length=600, description="a feed key: group/site/name")
    status: Literal["unread", "read", "all"] = "all"
    starred: bool | None = None
    since: datetime | None = Field(
        default=None, description="sort time (published, else first seen) at or after"
    )
    until: datetime | None = Field(default=None, description="sort time before")
    q: str | None = Field(
        default=None, min_length=1, max_length=500, description="search query (the newest 1,000 matches)"
    )


class EntriesQuery(EntryFilters):
    """`GET /entries`'s query string (validated as one model: one call per request)."""

    limit: int = Field(default=50, ge=1, le=500)
    cursor: str | None = Field(default=None, max_length=500, description="`next` of the previous page")


class SearchQuery(BaseModel):
    """`GET /search`'s query string."""

    q: str = Field(min_length=1, max_length=500, description='words, "a phrase", -excluded, a OR b')
    group: str | None = Field(default=None, max_length=200)
    site: str | None = Field(default=None, max_length=200)
    feed: str | None = Field(default=None, max_length=600, description="a feed name or key")
    source: str | None = Field(default=None, max_length=200, description="来源, e.g. 中国新闻网")
    since: datetime | None = None
    until: datetime | None = None
    sort: Literal["relevance", "date"] = "relevance"
    limit: int = Field(default=20, ge=1, le=200)


M = TypeVar("M", bound=BaseModel)


def read_query(request: Request, model: type[M]) -> M:
    """`model` from the request's query string, validated as FastAPI validates a query model
    (unknown parameters ignored, the last of repeated ones taken, a 422 naming the parameter)
    in one call: FastAPI's own per-field work cost as much again as the validation, a tenth of
    a page of entries. The route documents the model with `query_parameters`."""
    try:
        return model.model_validate(dict(request.query_params))
    except ValidationError as e:
        raise RequestValidationError([{**err, "loc": ("query", *err["loc"])} for err in e.errors()]) from e


@functools.cache
def query_parameters(model: type[BaseModel]) -> dict[str, Any]:
    """The OpenAPI parameters FastAPI writes for `model` as a route's query (`openapi_extra` of
    a route that reads it with `read_query`), from a route of its own declaring it."""
    probe = FastAPI()

    async def route(**_: Any) -> None:
        return None

    query = inspect.Parameter("q", inspect.Parameter.KEYWORD_ONLY, annotation=Annotated[model, Query()])
    route.__signature__ = inspect.Signature([query])  # type: ignore[attr-defined]
    probe.get("/")(route)
    return {"parameters": probe.openapi()["paths"]["/"]["get"]["parameters"]}


class MarkReadIn(EntryFilters):
    """Either `ids`, or the list's filters and `before` (entries first seen before it: what the
    reader saw when they looked)."""

    model_config = _STRICT

    ids: list[str] | None = Field(default=None, max_length=10_000)
    status: Literal["unread", "read", "all"] = "unread"
    before: datetime | None = None


class MarkedOut(BaseModel):
    marked: int


class UserOut(BaseModel):
    id: int
    name: str
    admin: bool
    created: datetime


class LoginIn(BaseModel):
    model_config = _STRICT

    name: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)


class SessionOut(BaseModel):
    user: UserOut
    expires: datetime


class FeedOut(BaseModel):
    key: str = Field(description="group/site/name")
    group: str
    site: str
    name: str
    url: str | None
    route: str | None
    clean: bool
    enabled: bool
    full_text: bool | Literal["auto"]
    origin: str = Field(description="config (from the YAML's groups:) or api")
    title: str | None
    paused: str | None = Field(description="why the scheduler does not check it, when it does not")
    next_check: datetime | None
    interval: float | None = Field(description="seconds between checks")
    reason: str | None = Field(description="why this interval")
    errors: int = Field(description="consecutive failed checks")
    last_success: datetime | None
    last_attempt: datetime | None
    last_error: str | None
    min_interval: float | None = Field(
        default=None, description="an admin's shortest check interval for this feed (s); null: the config's"
    )
    max_interval: float | None = Field(
        default=None, description="an admin's longest check interval for this feed (s); null: the config's"
    )


class FeedIn(BaseModel):
    model_config = _STRICT

    group: str = Field(min_length=1, max_length=200)
    site: str = Field(min_length=1, max_length=200)
    name: str = Field(min_length=1, max_length=200)
    url: str | None = Field(default=None, max_length=4000)
    route: str | None = Field(default=None, max_length=4000)
    clean: bool = True
    enabled: bool = True
    full_text: bool | Literal["auto"] = False


MAX_BOUND = 30 * 86400.0  # the longest a feed's own interval bound may be


class FeedPatch(BaseModel):
    """Only the fields given change. `paused`: a reason pauses the feed, null resumes it."""

    model_config = _STRICT

    url: str | None = Field(default=None, max_length=4000)
    route: str | None = Field(default=None, max_length=4000)
    clean: bool | None = None
    enabled: bool | None = None
    full_text: bool | Literal["auto"] | None = None
    paused: str | None = Field(default=None, max_length=500)
    min_interval: float | None = Field(
        default=None, gt=0, le=MAX_BOUND, description="seconds; null: the config's `schedule:` bound"
    )
    max_interval: float | None = Field(
        default=None, gt=0, le=MAX_BOUND, description="seconds; null: the config's `schedule:` bound"
    )


class QueuedOut(BaseModel):
    key: str
    queued: bool


class TreeFeed(BaseModel):
    key: str
    name: str
    unread: int
    total: int
    paused: str | None


class TreeSite(BaseModel):
    name: str
    unread: int
    total: int
    feeds: list[TreeFeed]


class TreeGroup(BaseModel):
    name: str
    unread: int
    total: int
    sites: list[TreeSite]


class TreeOut(BaseModel):
    unread: int
    total: int
    groups: list[TreeGroup]


class SearchClusterOut(BaseModel):
    id: str
    size: int
    sources: int
    also_in: int = Field(description="other sources carrying the story")


class SearchHitOut(EntryRefOut):
    snippet: str = Field(description="HTML: the matched words in <mark>")
    score: float | None
    cluster: SearchClusterOut | None


class SearchOut(BaseModel):
    hits: list[SearchHitOut]


class ClusterOut(BaseModel):
    id: str
    size: int
    sources: int
    first: datetime
    last: datetime
    canonical: str
    title: str


class ClusterMemberOut(BaseModel):
    id: str
    feed: str = Field(description="feed key")
    published: datetime
    reason: str = Field(description="first, link, text or near")
    similarity: float
    canonical: bool


class ClusterDetail(ClusterOut):
    members: list[ClusterMemberOut]


class ClusterList(BaseModel):
    clusters: list[ClusterOut]


class FeedList(BaseModel):
    feeds: list[FeedOut]


class Status(BaseModel):
    status: str
