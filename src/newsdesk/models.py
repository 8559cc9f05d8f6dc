"""Typed records passed between pipeline stages.

Every record is a frozen dataclass; every datetime is timezone-aware UTC.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal, NamedTuple

FullText = Literal["auto"] | bool


@dataclass(frozen=True)
class FeedSpec:
    """One feed as configured: where it sits in group → site → feed and where it comes from."""

    group: str
    site: str
    name: str
    url: str | None = None  # absolute http(s) URL, file:// URL or local path
    route: str | None = None  # RSSHub route such as /sina/finance/china
    clean: bool = True
    enabled: bool = True
    full_text: FullText = False

    @property
    def key(self) -> str:
        """Stable identity of the feed in the archive."""
        return f"{self.group}/{self.site}/{self.name}"

    @property
    def source(self) -> str:
        """Human-readable origin (URL or route)."""
        return self.url or f"rsshub:{self.route}"


@dataclass(frozen=True)
class FetchResult:
    """What the fetcher got for one feed."""

    url: str  # the URL finally answered (after redirects)
    status: int  # 200, or 304 when the feed is unchanged
    text: str | None = None  # decoded body (None for 304)
    encoding: str | None = None  # encoding the body was decoded with
    etag: str | None = None
    last_modified: str | None = None
    permanent_url: str | None = None  # set when a permanent redirect moved the feed
    content_type: str | None = None
    # Cache hints the server sent (newsdesk.schedule checks no sooner): Cache-Control max-age
    # in seconds, and the Expires time (UTC) when there was no max-age.
    max_age: float | None = None
    expires: datetime | None = None
    body: bytes | None = None  # the body undecoded, when asked for (`Fetcher.fetch(raw=True)`): images, icons

    @property
    def not_modified(self) -> bool:
        return self.status == 304


@dataclass(frozen=True)
class ParsedEntry:
    """One feed item after parsing, before cleaning."""

    id: str
    title: str
    link: str | None
    published: datetime | None  # UTC-aware
    updated: datetime | None = None
    author: str | None = None
    content: str = ""  # the item's HTML exactly as served
    summary: str = ""


@dataclass(frozen=True)
class ParsedFeed:
    """A parsed feed document."""

    title: str | None
    link: str | None
    entries: tuple[ParsedEntry, ...]
    # Set when the document was broken but some entries could still be read.
    warning: str | None = None
    # How often the feed says it changes, in seconds: RSS <ttl>, and the syndication module's
    # sy:updatePeriod / sy:updateFrequency (newsdesk.schedule checks no more often).
    ttl: float | None = None
    update_period: float | None = None


@dataclass(frozen=True)
class Article:
    """A cleaned article: what the cleaning stage makes of an entry's HTML."""

    html: str  # sanitised, cleaned HTML fragment
    text: str  # plain text, one paragraph per line, indentation stripped
    summary: str  # first ~120 characters of text, cut at a sentence end where possible
    char_count: int  # characters of text that are not whitespace (字数)
    images: tuple[str, ...]  # absolute content-image URLs in document order
    header_image: str | None  # images[0], or None
    source: str | None  # 来源, e.g. 中国新闻网
    editor: str | None  # 责任编辑 without staff code, e.g. 刘万里
    reporters: tuple[str, ...]  # 记者 names, e.g. ("刘育英",)
    dateline: str | None  # 电头, e.g. 中新社北京12月20日电
    keywords: tuple[str, ...]
    profile: str  # the profile that cleaned it: "sina", "people", …, "generic"; "fallback" (see Cleaned)


@dataclass(frozen=True)
class Cleaned:
    """What the cleaning stage made of an entry: always an article to show, and why cleaning
    failed when it did. A failed clean's article is the sanitiser's output of the whole item
    (profile "fallback", no metadata), so a failure never leaves only the raw HTML to publish."""

    article: Article
    error: str | None = None


def entry_uid(feed_key: str, entry_id: str) -> str:
    """Short, stable public id of an entry: 16 hex digits of SHA-1 over feed and entry id."""
    return hashlib.sha1(f"{feed_key}\x00{entry_id}".encode()).hexdigest()[:16]


@dataclass(frozen=True)
class StoredEntry:
    """An entry as the archive holds it."""

    uid: str
    feed_key: str
    group: str
    site: str
    feed: str
    entry_id: str
    title: str
    link: str | None
    published: datetime | None
    updated: datetime | None
    author: str | None
    content: str  # raw HTML as served
    summary: str
    first_seen: datetime
    last_changed: datetime
    content_hash: str
    # The cleaned article (None when the feed has clean: false). When cleaning failed it is the
    # sanitised fallback (profile "fallback") and clean_error says why; entries stored before
    # fallbacks existed may have clean_error and no article: publishers sanitise their content.
    article: Article | None = None
    clean_error: str | None = None  # why cleaning failed, when it did
    page: str | None = None  # the full article page as fetched (full_text feeds), kept for reclean
    rev: int = 0  # store-wide change counter: search indexes and publishers catch up from it


@dataclass(frozen=True, slots=True)
class EntryHead:
    """An entry without its bodies: what list pages show of it (the static site reads this
    for every entry of the archive, and the whole entry only for pages it renders)."""

    uid: str
    group: str
    site: str
    feed: str
    title: str
    published: datetime | None
    first_seen: datetime
    rev: int
    content_hash: str
    summary: str  # the cleaned article's summary, else the entry's summary (or content) as HTML
    summary_is_html: bool
    header_image: str | None
    source: str | None  # 来源, from the cleaned article


@dataclass(frozen=True)
class FeedState:
    """Fetch bookkeeping for one feed."""

    key: str
    url: str | None
    etag: str | None = None
    last_modified: str | None = None
    last_success: datetime | None = None
    last_error: str | None = None
    last_attempt: datetime | None = None
    consecutive_failures: int = 0


@dataclass(frozen=True)
class UpsertCounts:
    new: int = 0
    updated: int = 0
    unchanged: int = 0


# deferred: not requested, because the host asked to wait (see newsdesk.holds).
Outcome = Literal["ok", "not_modified", "failed", "deferred"]


@dataclass(frozen=True)
class FeedReport:
    """What `run` did with one feed."""

    key: str
    outcome: Outcome
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    error: str | None = None
    warning: str | None = None
    skipped: int = 0  # new items the admins' skip rules kept out of the archive (newsdesk.rules)


# content identity ----------------------------------------------------------------------------
# UTC timestamps in one fixed-width format, so text order is time order (the store keeps times
# in it; an entry's content hash covers them in it).
TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def content_hash(entry: ParsedEntry) -> str:
    """Hash of everything that, when changed, makes an entry 'updated'."""
    h = hashlib.sha1()
    for part in (
        entry.title,
        entry.link or "",
        format_time(entry.published) or "",
        format_time(entry.updated) or "",
        entry.author or "",
        entry.content,
        entry.summary,
    ):
        h.update(part.encode("utf-8", "surrogatepass"))
        h.update(b"\x00")
    return h.hexdigest()


def format_time(dt: datetime | None) -> str | None:
    """A UTC time in `TIME_FORMAT`."""
    if dt is None:
        return None
    if dt.tzinfo is None:
        raise ValueError("naive datetime reached the store")
    return dt.astimezone(UTC).strftime(TIME_FORMAT)


# search and story clusters -------------------------------------------------------------------
@dataclass(frozen=True)
class EntryText:
    """What the index and clustering read of an entry (`Store.entry_texts`): no page, no
    parsed article, one query per batch."""

    uid: str
    feed_key: str
    group: str
    site: str
    feed: str
    title: str
    link: str | None
    when: datetime  # published, else first seen (UTC)
    cleaned: str | None  # the cleaned article's text, when there is one
    html: str  # the entry's content, else its summary; '' when `cleaned` has text (read first)
    source: str | None  # the cleaned article's 来源


# How an entry joined its cluster: founded it, same link, same text, near-duplicate.
ClusterReason = Literal["first", "link", "text", "near"]

# What the store finds for a batch: link key → (cluster id, uid), text key → (cluster id, uid),
# band → [(cluster id, uid)], uid → signature (of the members found by band).
ClusterLookup = tuple[
    dict[str, tuple[str, str]], dict[str, tuple[str, str]], dict[int, list[tuple[str, str]]], dict[str, bytes]
]


@dataclass(frozen=True)
class ClusterMember:
    uid: str
    cluster_id: str
    feed_key: str
    sort_time: datetime
    reason: ClusterReason
    similarity: float  # estimated Jaccard similarity to the member it matched (1.0 for exact)
    link: str | None = None
    text: str | None = None
    signature: bytes | None = None


@dataclass(frozen=True)
class ClusterRef:
    """A cluster as search results show it."""

    id: str
    size: int  # entries
    sources: int  # distinct feeds
    canonical: str  # uid of the earliest member


@dataclass(frozen=True)
class ClusterSummary:
    id: str
    size: int
    sources: int
    first: datetime
    last: datetime
    canonical: str  # uid of the earliest member
    title: str  # the canonical entry's title


# the service: users, their read state, the feed schedule -------------------------------------
@dataclass(frozen=True)
class User:
    """A person who reads the desk. Admins also manage feeds and users."""

    id: int
    name: str
    admin: bool
    created: datetime


EntryStatus = Literal["unread", "read", "all"]


@dataclass(frozen=True)
class EntryQuery:
    """Which entries one reader lists (the API's `GET /entries` filters). Times are UTC."""

    group: str | None = None
    site: str | None = None
    feed: str | None = None  # a feed key: group/site/name
    status: EntryStatus = "all"
    starred: bool | None = None
    since: datetime | None = None  # sort time (published, else first seen) at or after
    until: datetime | None = None  # sort time before
    uids: tuple[str, ...] | None = None  # only these (e.g. the hits of a search)


@dataclass(frozen=True)
class FeedPlace:
    """Where a feed sits in the catalogue's tree (the reader pages' sidebar), its pause, and
    how many of its entries one reader has not read."""

    key: str
    group: str
    site: str
    name: str
    paused: str | None
    unread: int


@dataclass(frozen=True)
class SitePlace:
    """A site of the catalogue's tree (under its group) and one reader's unread count in it."""

    group: str
    site: str
    unread: int


@dataclass(frozen=True)
class StoryCopy:
    """Another entry carrying the same story (a member of its cluster), as an article page
    lists it."""

    uid: str
    title: str
    site: str
    feed: str
    source: str | None  # 来源, from the cleaned article
    when: datetime  # sort time: published, else first seen


RuleAction = Literal["read", "star"]


@dataclass(frozen=True)
class KeywordRule:
    """One reader's rule: entries whose title or text has all the words (or matches the regular
    expression) — or, `matching` False, entries that do not — are marked read or starred for
    that reader. `feed_key` None: every feed."""

    id: int
    user_id: int
    pattern: str
    is_regex: bool
    matching: bool
    action: RuleAction
    feed_key: str | None
    created: datetime


@dataclass(frozen=True)
class ReaderEntry:
    """An entry as one reader sees it: the stored entry and that reader's state of it."""

    entry: StoredEntry
    read: bool
    starred: bool


class ListedEntry(NamedTuple):
    """An entry as a reader's list shows it (the web app's rows, `Store.reader_list`): where
    and when, its title, summary and 来源, the reader's state, its story; no bodies. A named
    tuple, not a frozen dataclass: a page makes fifty, and a frozen dataclass's fields cost
    five times as much to set."""

    uid: str
    group: str
    site: str
    feed: str
    title: str
    link: str | None
    when: datetime  # published, else first seen: the list's sort time
    summary: str  # the cleaned article's (text), else the feed's (its HTML: `summary_is_html`)
    summary_is_html: bool
    source: str | None  # the article's 来源
    read: bool
    starred: bool
    cluster: ClusterRef | None  # its story, when it has one


@dataclass(frozen=True)
class FeedSchedule:
    """When the scheduler next checks a feed, and why (`newsdesk.schedule`)."""

    key: str
    next_check: datetime
    interval: float  # seconds between checks the scheduler settled on (before jitter)
    reason: str  # why this interval, for people: "new feed", "publishes about every 8 min", "ttl 60 min", …
    errors: int = 0  # consecutive failed checks (the backoff's exponent)
    # Why the scheduler does not check the feed at all: 410 Gone, removed from the config, an admin.
    paused: str | None = None


# The feed catalogue in the archive ------------------------------------------------------------
# Where a feed of the catalogue came from: the config's `groups:` (applied at each start) or the API.
FeedOrigin = Literal["config", "api"]

# The pause reason of a config feed gone from the YAML (cleared when it comes back).
REMOVED_FROM_CONFIG = "removed from the config"


@dataclass(frozen=True)
class CatalogueFeed:
    """One feed of the archive's catalogue: what it is, where it came from, how its fetches
    went and when it is checked next."""

    spec: FeedSpec
    origin: FeedOrigin
    state: FeedState
    schedule: FeedSchedule
    title: str | None = None  # the feed's own title, as last fetched
    # An admin's bounds on this feed's check interval (seconds), within the config's `schedule:`
    # ones; None: the config's.
    min_interval: float | None = None
    max_interval: float | None = None

    @property
    def key(self) -> str:
        return self.spec.key

    @property
    def paused(self) -> str | None:
        return self.schedule.paused


@dataclass(frozen=True)
class CatalogueChanges:
    """What applying the config's feeds changed in the catalogue (feed keys)."""

    added: tuple[str, ...] = ()
    updated: tuple[str, ...] = ()
    paused: tuple[str, ...] = ()  # config feeds gone from the YAML
    resumed: tuple[str, ...] = ()  # config feeds back in the YAML


# ---- insights: what the insights stage reads out of a cleaned article (issue 18) ----

TaskKind = Literal["tasks", "figures", "headings", "steps"]
ChangeKind = Literal["同比", "环比", "较基期", "累计", "两年平均"]
Direction = Literal["up", "down", "flat"]


@dataclass(frozen=True)
class TaskItem:
    """One item of a numbered run (一是…, 第一…, （一）…, 一、…, 1. …, 首先/其次/最后)."""

    ordinal: int  # 1-based position in its run
    marker: str  # the marker as written: "一是", "（二）", "3."
    lead: str  # the item's first sentence, up to 。 or ；
    text: str  # the item's full text
    run: int = 0  # which run of the article it belongs to (0-based, document order)
    kind: TaskKind = "tasks"  # runs that are not policy tasks are kept apart by kind


@dataclass(frozen=True)
class Target:
    """A commitment about the future: 到2022年底千兆光网具备覆盖超过4亿户家庭的能力."""

    metric: str  # 千兆光网覆盖家庭
    comparator: str  # 超过 / 不低于 / 达到 / 以上 / 左右 / 以内 / 控制在 / 力争 …
    value: float | None  # 400000000 (万/亿 and Chinese numerals normalised)
    unit: str  # 户, %, 元, 个百分点 …
    deadline: str | None  # YYYY-MM-DD at the end of the named period, None when not stated
    body: str | None  # canonical issuing body when stated
    sentence: str  # the source sentence


@dataclass(frozen=True)
class Change:
    kind: ChangeKind
    value: float | None
    unit: str  # "%" or "个百分点"
    direction: Direction


@dataclass(frozen=True)
class Figure:
    """A reported statistic: 1-5月全国吸收外资4810亿元人民币，同比增长35.4%."""

    metric: str  # 吸收外资
    scope: str | None  # 全国, 江苏, 规模以上 …
    period: str | None  # normalised period: "2022-01..2022-05", "2022-11", "2022-Q3", "2021"
    value: float | None  # 481000000000
    unit: str  # 元
    change: Change | None
    sentence: str


@dataclass(frozen=True)
class Official:
    name: str  # 肖亚庆
    title: str  # 部长


@dataclass(frozen=True)
class Insights:
    """Everything the insights stage extracted from one article. `terms` are the article's own
    term counts; keywords are ranked against the archive's document frequencies when read."""

    tasks: tuple[TaskItem, ...] = ()
    targets: tuple[Target, ...] = ()
    figures: tuple[Figure, ...] = ()
    bodies: tuple[str, ...] = ()  # canonical names, document order, no repeats
    meetings: tuple[str, ...] = ()
    officials: tuple[Official, ...] = ()
    terms: tuple[tuple[str, int], ...] = ()  # (term, count), most frequent first
    notes: tuple[str, ...] = ()  # what could not be extracted and why (bad input, limits hit)
    version: int = 1  # the extractor's version: `reinsight` recomputes older rows


@dataclass(frozen=True)
class SearchDoc:
    """An entry as the database's search index holds it (`search_backend: postgres`): its
    tokens as tsvector literals (`search.pgindex`) and the fields queries filter on."""

    uid: str
    body: str  # tsvector literal: title and text tokens with positions (title weighted A)
    chars: str  # tsvector literal: the Han characters (and Latin/digit runs) with positions
    group: str
    site: str
    feed: str
    feed_key: str
    source: str | None
    ts: int  # published, else first seen: epoch seconds


@dataclass(frozen=True)
class DocQuery:
    """A search compiled for the database (`search.pgindex`): tsquery texts and filters.

    `body` is the whole query over the words (`body`). When `wide`, each word may also match as
    a run of characters (`chars`): then `required` (every item must match one of its options)
    and `excluded` say it, each option a (words tsquery, characters tsquery or None) pair."""

    body: str
    wide: bool = False
    required: tuple[tuple[tuple[str, str | None], ...], ...] = ()
    excluded: tuple[tuple[str, str | None], ...] = ()
    group: str | None = None
    site: str | None = None
    feed: str | None = None  # a feed name or its group/site/name key
    source: str | None = None
    since: int | None = None  # epoch seconds, inclusive
    until: int | None = None  # epoch seconds, exclusive


# ---- insights as the store keeps and queries them (issue 18) ----


@dataclass(frozen=True)
class InsightsOf:
    """An entry's insights to store: read from the article of `content_hash` (so a later change
    of the entry makes them stale); `when` is the entry's sort time (published, else now)."""

    uid: str
    content_hash: str
    when: datetime
    insights: Insights


@dataclass(frozen=True)
class InsightRef:
    """The entry a stored target or figure comes from, and its place among the entry's."""

    uid: str
    title: str
    site: str
    when: datetime  # the entry's sort time (UTC)
    index: int  # 0-based position in the entry's targets (or figures)


@dataclass(frozen=True)
class TrackedTarget:
    ref: InsightRef
    target: Target


@dataclass(frozen=True)
class ReportedFigure:
    ref: InsightRef
    figure: Figure


@dataclass(frozen=True)
class TermWeek:
    """How often a term came up in one week (Monday–Sunday, named by its Monday, UTC dates)."""

    term: str
    week: str  # YYYY-MM-DD of the Monday
    docs: int  # articles among whose top terms it was
    mentions: int  # its count summed over them


@dataclass(frozen=True)
class TermRise:
    """A term of one week against the four weeks before it (articles per week)."""

    term: str
    docs: int  # articles of the week
    before: float  # mean articles per week over the previous four weeks


# ---- the reader web app's rest (issue 15): skip rules, favicons, cached images ----


@dataclass(frozen=True)
class SkipRule:
    """An admin's rule for everyone: entries whose title or text has all the words (or matches
    the regular expression) — or, `matching` False, entries that do not — are not stored.
    `feed_key` None: every feed."""

    id: int
    pattern: str
    is_regex: bool
    matching: bool
    feed_key: str | None
    created: datetime
    created_by: str  # the admin's name


@dataclass(frozen=True)
class Favicon:
    """A site's icon as fetched once (`newsdesk.media`): the bytes and their content type."""

    group: str
    site: str
    data: bytes
    content_type: str


@dataclass(frozen=True)
class AppPassword:
    """One of a reader's app passwords as listed (never the password): `id` names it for
    revoking (the first 8 hex digits of its hash), `last_used` None until an app used it."""

    id: str
    label: str
    created: datetime
    last_used: datetime | None


@dataclass(frozen=True)
class CachedImage:
    """An article image kept beside the archive (`images: cache`): the file's name under the
    images folder (named by the SHA-256 of its URL) and its content type."""

    url: str
    name: str
    content_type: str
    size: int
