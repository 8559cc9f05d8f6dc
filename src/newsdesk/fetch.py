"""The fetch stage: get feed and page bytes over HTTP(S) or from disk, and decode them.

One `Fetcher` owns one aiohttp session for a whole run. Every failure comes out as a
`FetchError` whose message is one line a user can act on ("HTTP 410 Gone (feed removed)",
"timed out after 30 s"); the aiohttp or OS exception is kept as its __cause__.

Limits: at most `concurrency` fetches at once and `per_host` per host. Both are enforced
with our own semaphores *before* an attempt's timeout clock starts, so a feed queued
behind fifty others on the same RSSHub instance does not time out while waiting. The
connector carries the same limits as a safety net.

Waiting: one feed never holds up a run for long. Its attempts share one deadline
(`fetch.deadline`, started with its first request), a body that stops arriving is given up
after `fetch.read_timeout`, and a server answering 429/503 with a Retry-After longer than
IN_RUN_WAIT puts its host on hold (newsdesk.holds): the feed fails, and until the time has
passed no fetch requests that host again (FetchDeferred), in this run or, through the
archive, later ones.
"""

from __future__ import annotations

import asyncio
import email.utils
import http
import mimetypes
import os
import random
import re
import stat
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType
from urllib.parse import urlsplit
from urllib.request import url2pathname

import aiohttp
from aiohttp.http_exceptions import ContentEncodingError, HttpProcessingError
from multidict import CIMultiDictProxy
from yarl import URL

from . import USER_AGENT
from .config import FetchConfig
from .encoding import decode_document
from .errors import FeedGone, FetchDeferred, FetchError
from .holds import Hold, host_key, retry_after_seconds, until_text
from .models import FeedSpec, FetchResult

__all__ = ["ACCEPT", "Fetcher", "cache_hints", "fetch_feed"]

# Feeds first; pages (full-text extraction uses this fetcher too) still acceptable.
ACCEPT = (
    "application/rss+xml, application/atom+xml, application/feed+json;q=0.9, "
    "application/xml;q=0.9, text/xml;q=0.9, application/json;q=0.8, text/html;q=0.7, */*;q=0.5"
)
ACCEPT_ENCODING = "gzip, deflate, br"
# A Retry-After up to this long is waited out within the run (when the feed's deadline allows);
# a longer one holds the host until then instead.
IN_RUN_WAIT = 10.0
MAX_BACKOFF = 60.0
_CHUNK = 64 * 1024
_DECODE_IN_THREAD = 512 * 1024  # detecting the charset of a big page would stall the loop
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_PERMANENT = frozenset({301, 308})
_RETRY_AFTER_STATUSES = frozenset({429, 503})
_SSL_LOCATION = re.compile(r"\s*\(_ssl\.c:\d+\)$")


class _Failure(Exception):
    """One attempt failed. Converted to FetchError (with the URL) in exactly one place."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        retry: bool = False,
        retry_after: float | None = None,
        deferred: Hold | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.retry = retry
        self.retry_after = retry_after
        self.host: str | None = None  # the host that answered, for a Retry-After
        self.deferred = deferred  # not requested: the host is on hold
        self.out_of_time = False  # the feed's deadline ended the attempts


def _utcnow() -> datetime:
    return datetime.now(UTC)


class Deadline:
    """One feed's time budget across its attempts, in event-loop time, started by its first
    request (waiting for a connection slot before that does not count)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._end: float | None = None

    def start(self) -> None:
        if self._end is None:
            self._end = asyncio.get_running_loop().time() + self.seconds

    def remaining(self) -> float:
        if self._end is None:
            return self.seconds
        return self._end - asyncio.get_running_loop().time()


@dataclass(frozen=True)
class _Hop:
    """One HTTP response, body read only for 2xx."""

    status: int
    headers: CIMultiDictProxy[str]
    body: bytes | None
    sets_cookie: bool


@dataclass(frozen=True)
class _Body:
    """What a caller wants of a body: undecoded (`raw`), and at most `limit` bytes."""

    raw: bool
    limit: int


class Fetcher:
    """Fetches URLs and local files; use as `async with Fetcher(config) as fetcher:`.

    `holds` are the hosts on hold when the run starts (host → (until, reason), as the archive
    keeps them); `on_hold(hold)` is told of every new one so it can be kept. `clock` gives the
    wall-clock time holds and Retry-After dates are reckoned in.
    """

    def __init__(
        self,
        config: FetchConfig,
        *,
        user_agent: str = USER_AGENT,
        holds: Mapping[str, tuple[datetime, str]] | None = None,
        on_hold: Callable[[Hold], None] | None = None,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self.config = config
        self.user_agent = user_agent
        self._session: aiohttp.ClientSession | None = None
        self._slots = asyncio.Semaphore(config.concurrency)
        self._host_slots: dict[str, asyncio.Semaphore] = {}
        self._holds = {host: Hold(host, until, reason) for host, (until, reason) in (holds or {}).items()}
        self._on_hold = on_hold
        self._clock = clock

    async def __aenter__(self) -> Fetcher:
        await self.open()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def open(self) -> None:
        """Create the session (done by `async with`). Needs a running event loop."""
        if self._session is not None:
            return
        c = self.config
        # Fresh semaphores: asyncio primitives belong to the loop that first waits on them.
        self._slots = asyncio.Semaphore(c.concurrency)
        self._host_slots = {}
        connector = aiohttp.TCPConnector(limit=c.concurrency, limit_per_host=c.per_host, ttl_dns_cache=300)
        self._session = aiohttp.ClientSession(
            connector=connector,
            # Our own asyncio.timeout governs each attempt; this is only a backstop.
            timeout=aiohttp.ClientTimeout(total=c.timeout),
            headers={"User-Agent": self.user_agent, "Accept": ACCEPT, "Accept-Encoding": ACCEPT_ENCODING},
            # Some CMSs send cookies or CSP headers past aiohttp's 8 KiB default.
            max_line_size=16 * 1024,
            max_field_size=64 * 1024,
        )

    async def close(self) -> None:
        if self._session is not None:
            session, self._session = self._session, None
            await session.close()

    async def fetch(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        deadline: Deadline | None = None,
        may_wait: bool = True,
        raw: bool = False,
        max_bytes: int | None = None,
    ) -> FetchResult:
        """Fetch an http(s) URL, a file:// URL or an absolute path; raise FetchError on failure,
        FetchDeferred when the host is on hold.

        With `etag`/`last_modified` the request is conditional and an unchanged resource
        gives `FetchResult(status=304, text=None)`. `deadline` (default: a fresh one of
        `fetch.deadline`) bounds every attempt together; with `may_wait` false a short hold
        is not waited out either (the caller has somewhere else to go). With `raw` the body is
        kept undecoded (`FetchResult.body`: images, icons), and `max_bytes` (at most the
        config's) caps it.
        """
        try:
            path = _local_path(url)
            if path is not None:
                return await asyncio.to_thread(self._read_file, url, path, etag, last_modified)
            deadline = deadline or Deadline(self.config.deadline)
            limit = min(max_bytes or self.config.max_bytes, self.config.max_bytes)
            return await self._fetch_http(
                url, _http_url(url), etag, last_modified, deadline, may_wait, _Body(raw, limit)
            )
        except _Failure as f:
            if f.deferred is not None:
                raise FetchDeferred(str(f), url=url, until=f.deferred.until) from None
            if f.status == 410:
                raise FeedGone(str(f), url=url, status=410) from f.__cause__
            raise FetchError(str(f), url=url, status=f.status) from f.__cause__

    def holds(self) -> dict[str, tuple[datetime, str]]:
        """host → (until, reason) of every hold this fetcher still keeps (those it started
        with and those servers asked for since), as `feed_hold` reads them."""
        now = self._clock()
        return {h.host: (h.until, h.reason) for h in self._holds.values() if h.until > now}

    async def _fetch_http(
        self,
        url: str,
        target: URL,
        etag: str | None,
        last_modified: str | None,
        deadline: Deadline,
        may_wait: bool,
        want: _Body | None = None,
    ) -> FetchResult:
        if self._session is None:
            raise RuntimeError("Fetcher is not open: use `async with Fetcher(config) as fetcher`")
        conditional: dict[str, str] = {}
        if etag:
            conditional["If-None-Match"] = etag
        if last_modified:
            conditional["If-Modified-Since"] = last_modified
        attempts = self.config.retries + 1
        for attempt in range(attempts):
            if deadline.remaining() <= 0:  # spent on an earlier RSSHub instance
                raise _Failure(f"not requested: the feed's {deadline.seconds:g} s deadline had passed")
            wait = self._hold_wait(target, deadline, may_wait)
            if wait > 0:
                await asyncio.sleep(wait)
            try:
                # The global slot is held across redirect hops but not across backoff sleeps.
                async with self._slots:
                    deadline.start()
                    return await self._attempt(
                        url, target, conditional, etag, last_modified, deadline, may_wait, want
                    )
            except _Failure as f:
                if f.deferred is not None:
                    raise
                last = not f.retry or attempt + 1 == attempts or f.out_of_time
                if f.retry_after is not None and f.host is not None:
                    hold = self._hold(f.host, f.retry_after, _status_text(f.status or 0))
                    # Too long to wait here: the host stays on hold and this feed fails.
                    last = last or not (may_wait and self._fits(hold, deadline))
                    if last and f.retry_after > 0:
                        f.args = (f"{f}; {hold.host} asked to wait until {until_text(hold.until)}",)
                    delay = 0.0  # the hold is waited out before the next attempt
                else:
                    delay = self._delay(attempt)
                if not last and delay >= deadline.remaining():
                    f.out_of_time = last = True
                if last:
                    if f.out_of_time:
                        tries = f"{attempt + 1} attempt{'s' if attempt else ''}"
                        f.args = (f"{f} (gave up at the {deadline.seconds:g} s deadline after {tries})",)
                    elif attempt:
                        f.args = (f"{f} ({attempt + 1} attempts)",)
                    raise
                await asyncio.sleep(delay)
        raise AssertionError("unreachable")  # the loop always returns or raises

    def _hold(self, host: str, seconds: float, reason: str) -> Hold:
        until = self._clock() + timedelta(seconds=seconds)
        if until.microsecond:  # whole seconds, so the time reported is the time it ends
            until = until.replace(microsecond=0) + timedelta(seconds=1)
        hold = Hold(host, until, reason)
        if seconds > 0:
            self._holds[host] = hold
            if self._on_hold is not None:
                self._on_hold(hold)
        return hold

    def _fits(self, hold: Hold, deadline: Deadline) -> bool:
        """Whether waiting for the end of `hold` is short and leaves time in the deadline."""
        wait = (hold.until - self._clock()).total_seconds()
        return wait <= IN_RUN_WAIT and wait < deadline.remaining()

    def _hold_wait(self, url: URL, deadline: Deadline, may_wait: bool) -> float:
        """Seconds to wait before requesting `url`'s host; raises the deferral when that is
        too long (or waiting is not allowed)."""
        host = host_key(str(url))
        hold = self._holds.get(host) if host else None
        if hold is None:
            return 0.0
        wait = (hold.until - self._clock()).total_seconds()
        if wait <= 0:
            del self._holds[hold.host]
            return 0.0
        if may_wait and self._fits(hold, deadline):
            return wait
        raise _Failure(str(hold), deferred=hold)

    def _delay(self, attempt: int) -> float:
        base = self.config.backoff * 2.0**attempt
        # Jitter keeps feeds that failed together from retrying in lockstep.
        return min(base + random.uniform(0, base / 2), MAX_BACKOFF)

    async def _attempt(
        self,
        url: str,
        target: URL,
        conditional: dict[str, str],
        etag: str | None,
        last_modified: str | None,
        deadline: Deadline,
        may_wait: bool,
        want: _Body | None = None,
    ) -> FetchResult:
        """One attempt: follow redirects by hand so loops and permanent moves are visible."""
        loop = asyncio.get_running_loop()
        budget = self.config.timeout
        current, seen, redirects, permanent = target, {target}, 0, True
        while True:
            async with self._host_slot(current):
                # Checked again here: another fetch may have put the host on hold while this one
                # waited for the slot (and a redirect may lead to a held host).
                wait = self._hold_wait(current, deadline, may_wait)
                if wait > 0:
                    await asyncio.sleep(wait)
                started = loop.time()
                hop = await self._hop(current, conditional, budget, deadline, want)
                budget -= loop.time() - started
            if hop.status not in _REDIRECTS:
                break
            location = hop.headers.get("Location")
            if not location:
                raise _Failure(f"{_status_text(hop.status)} without a Location header", status=hop.status)
            try:
                nxt = current.join(URL(location)).with_fragment(None)
            except ValueError as e:
                raise _Failure(f"invalid redirect location: {location!r}") from e
            if nxt.scheme not in ("http", "https") or not nxt.host:
                raise _Failure(f"redirect to unsupported URL: {location}")
            # Some sites bounce to the same URL once to set a cookie; that is not a loop.
            if nxt in seen and not hop.sets_cookie:
                raise _Failure(f"redirect loop ({nxt} visited twice)")
            if redirects == self.config.max_redirects:
                raise _Failure(f"too many redirects ({redirects + 1})")
            redirects += 1
            permanent = permanent and hop.status in _PERMANENT
            seen.add(nxt)
            current = nxt

        final = str(current) if redirects else url
        moved = str(current) if redirects and permanent else None
        content_type = hop.headers.get("Content-Type")
        max_age, expires = cache_hints(hop.headers)
        if hop.status == 304:
            return FetchResult(
                url=final,
                status=304,
                etag=hop.headers.get("ETag") or etag,
                last_modified=hop.headers.get("Last-Modified") or last_modified,
                permanent_url=moved,
                content_type=content_type,
                max_age=max_age,
                expires=expires,
            )
        assert hop.body is not None  # _hop reads the body of every 2xx response
        if want is not None and want.raw:
            return FetchResult(url=final, status=200, content_type=content_type, body=hop.body)
        if len(hop.body) > _DECODE_IN_THREAD:
            text, encoding = await asyncio.to_thread(decode_document, hop.body, content_type)
        else:
            text, encoding = decode_document(hop.body, content_type)
        return FetchResult(
            url=final,
            status=200,
            text=text,
            encoding=encoding,
            etag=hop.headers.get("ETag"),
            last_modified=hop.headers.get("Last-Modified"),
            permanent_url=moved,
            content_type=content_type,
            max_age=max_age,
            expires=expires,
        )

    async def _hop(
        self, url: URL, headers: dict[str, str], budget: float, deadline: Deadline, want: _Body | None = None
    ) -> _Hop:
        """One request; returns redirects, 304 and 2xx (with body), raises _Failure for the rest."""
        assert self._session is not None
        out_of_time = budget >= deadline.remaining()
        try:
            async with asyncio.timeout(max(min(budget, deadline.remaining()), 0.0)):
                async with self._session.get(url, headers=headers, allow_redirects=False) as resp:
                    status = resp.status
                    if status in _REDIRECTS or status == 304:
                        return _Hop(status, resp.headers, None, bool(resp.cookies))
                    if 200 <= status < 300:
                        body = await self._read_body(resp, want.limit if want else None)
                        if not body:
                            raise _Failure("empty response body", status=status)
                        return _Hop(status, resp.headers, body, bool(resp.cookies))
                    failure = _status_failure(status, resp.headers, self._clock())
                    failure.host = host_key(str(url))
                    raise failure
        except TimeoutError as e:
            if out_of_time:
                f = _Failure("timed out")
                f.out_of_time = True
                raise f from e
            raise _Failure(f"timed out after {self.config.timeout:g} s", retry=True) from e
        except (aiohttp.ClientError, HttpProcessingError, OSError, EOFError) as e:
            raise _client_failure(e, url) from e

    async def _read_body(self, resp: aiohttp.ClientResponse, limit: int | None = None) -> bytes:
        """Read the decompressed body in chunks, stopping as soon as it passes `limit`
        (default: max_bytes)."""
        limit = limit or self.config.max_bytes
        too_big = _Failure(f"response larger than {_size(limit)}")
        coding = resp.headers.get("Content-Encoding", "").strip().lower()
        # Content-Length counts compressed bytes, so it only settles an identity body.
        if coding in ("", "identity") and resp.content_length is not None and resp.content_length > limit:
            raise too_big
        chunks: list[bytes] = []
        total = 0
        # Our own timer rather than aiohttp's sock_read, which also runs while the server
        # prepares its headers (an RSSHub route may take half a minute to render): this one
        # catches only a body that stops arriving.
        stall = self.config.read_timeout
        while True:
            try:
                async with asyncio.timeout(stall):
                    # aiohttp 3.14 decompresses at most about one chunk per read, so a gzip
                    # bomb is stopped here after max_bytes instead of being inflated whole.
                    chunk = await resp.content.read(_CHUNK)
            except TimeoutError as e:
                raise _Failure(
                    f"server stalled: no data for {stall:g} s after the response headers", retry=True
                ) from e
            except aiohttp.ClientPayloadError as e:
                if isinstance(e.__cause__, ContentEncodingError):
                    # The same bytes come back on a retry: not transient.
                    raise _Failure(
                        f"the body is not valid {coding} data although the server declared"
                        f" Content-Encoding: {coding}"
                    ) from e
                raise
            if not chunk:
                break
            total += len(chunk)
            if total > limit:
                raise too_big
            chunks.append(chunk)
        return b"".join(chunks)

    def _host_slot(self, url: URL) -> asyncio.Semaphore:
        key = f"{url.scheme}://{url.host}:{url.port}"
        slot = self._host_slots.get(key)
        if slot is None:
            slot = self._host_slots[key] = asyncio.Semaphore(self.config.per_host)
        return slot

    def _read_file(self, url: str, path: Path, etag: str | None, last_modified: str | None) -> FetchResult:
        """Read a local feed, emulating a conditional GET with the file's mtime and size."""
        limit = self.config.max_bytes
        try:
            with path.open("rb") as f:
                st = os.fstat(f.fileno())
                if not stat.S_ISREG(st.st_mode):
                    raise _Failure(f"not a regular file: {path}")
                file_etag = f'"{st.st_mtime_ns:x}-{st.st_size:x}"'
                file_lm = email.utils.formatdate(st.st_mtime, usegmt=True)
                # As in HTTP, an ETag given takes precedence over the date.
                unchanged = etag == file_etag if etag else _same_second(last_modified, st.st_mtime)
                if unchanged:
                    return FetchResult(url=url, status=304, etag=file_etag, last_modified=file_lm)
                if st.st_size > limit:
                    raise _Failure(f"file larger than {_size(limit)}: {path}")
                body = f.read(limit + 1)  # the file may have grown since fstat
        except FileNotFoundError as e:
            raise _Failure(f"file not found: {path}") from e
        except IsADirectoryError as e:
            raise _Failure(f"not a regular file: {path}") from e
        except OSError as e:
            raise _Failure(f"cannot read file {path}: {e.strerror or e}") from e
        if len(body) > limit:
            raise _Failure(f"file larger than {_size(limit)}: {path}")
        if not body:
            raise _Failure(f"file is empty: {path}")
        content_type = mimetypes.guess_type(path.name)[0]
        text, encoding = decode_document(body, content_type)
        return FetchResult(
            url=url,
            status=200,
            text=text,
            encoding=encoding,
            etag=file_etag,
            last_modified=file_lm,
            content_type=content_type,
        )


async def fetch_feed(
    fetcher: Fetcher,
    spec: FeedSpec,
    *,
    etag: str | None = None,
    last_modified: str | None = None,
    rsshub: Sequence[str],
) -> FetchResult:
    """Fetch one configured feed: its URL, or its RSSHub route from the first instance that answers.

    Any failure of an instance (404 included: instances run different route versions), or a
    hold on its host, moves on to the next; the conditional headers go to every instance.
    One deadline covers every attempt on every instance. FetchDeferred when every instance
    is on hold.
    """
    deadline = Deadline(fetcher.config.deadline)
    if spec.url is not None:
        return await fetcher.fetch(spec.url, etag=etag, last_modified=last_modified, deadline=deadline)
    if spec.route is None:
        raise FetchError(f"feed {spec.key} has neither a url nor a route")
    if not rsshub:
        raise FetchError(f"no RSSHub instance configured for route {spec.route}", url=spec.source)
    errors: list[FetchError] = []
    for i, instance in enumerate(rsshub):
        try:
            return await fetcher.fetch(
                instance.rstrip("/") + spec.route,
                etag=etag,
                last_modified=last_modified,
                deadline=deadline,
                # Only the last instance waits out a short hold: the others have a next one.
                may_wait=i == len(rsshub) - 1,
            )
        except FetchError as e:
            errors.append(e)
    deferred = [e for e in errors if isinstance(e, FetchDeferred)]
    if len(deferred) == len(errors):
        message = str(deferred[0]) if len(deferred) == 1 else "; ".join(map(str, deferred))
        raise FetchDeferred(message, url=spec.source, until=min(e.until for e in deferred))
    statuses = {e.status for e in errors}
    if statuses == {410}:  # every instance says the route is gone for good
        raise FeedGone(
            "; ".join(f"{i.rstrip('/')}: {e}" for i, e in zip(rsshub, errors, strict=True)),
            url=spec.source,
            status=410,
        ) from errors[-1]
    detail = "; ".join(f"{instance.rstrip('/')}: {e}" for instance, e in zip(rsshub, errors, strict=True))
    raise FetchError(
        f"all RSSHub instances failed: {detail}",
        url=spec.source,
        # A shared status (every instance says 404) is meaningful to the caller; a mix is not.
        status=statuses.pop() if len(statuses) == 1 else None,
    ) from errors[-1]


def _local_path(url: str) -> Path | None:
    """The path a file:// URL or absolute path names; None for anything else."""
    if url.lower().startswith("file:"):
        parts = urlsplit(url)
        if parts.netloc not in ("", "localhost"):
            raise _Failure(f"file URL on another host is not supported: {url}")
        return Path(url2pathname(parts.path))
    if os.path.isabs(url):
        return Path(url)
    return None


def _http_url(url: str) -> URL:
    try:
        target = URL(url)
    except (ValueError, TypeError) as e:
        raise _Failure(f"invalid URL: {url}") from e
    if target.scheme not in ("http", "https") or not target.host:
        raise _Failure(f"unsupported URL: {url} (expected http(s)://, file:// or an absolute path)")
    return target.with_fragment(None)


def _status_text(status: int, reason: str | None = None) -> str:
    try:
        phrase = http.HTTPStatus(status).phrase
    except ValueError:
        phrase = reason or ""
    return f"HTTP {status} {phrase}".rstrip()


def _status_failure(status: int, headers: CIMultiDictProxy[str], now: datetime) -> _Failure:
    message = _status_text(status)
    if status == 410:
        message += " (feed removed)"
    # 501 means the server will never support the request; retrying cannot help.
    retry = status in (408, 429) or (status >= 500 and status != 501)
    retry_after = (
        retry_after_seconds(headers.get("Retry-After"), now) if status in _RETRY_AFTER_STATUSES else None
    )
    return _Failure(message, status=status, retry=retry, retry_after=retry_after)


_MAX_AGE = re.compile(r"(?:^|,)\s*max-age\s*=\s*\"?(\d+)", re.IGNORECASE)
_NO_CACHE = re.compile(r"(?:^|,)\s*(?:no-cache|no-store)\b", re.IGNORECASE)


def cache_hints(headers: CIMultiDictProxy[str]) -> tuple[float | None, datetime | None]:
    """(max_age, expires) for a FetchResult: seconds from Cache-Control's max-age, else the
    Expires time (UTC); neither when the response says not to cache it."""
    control = ", ".join(headers.getall("Cache-Control", []))
    if _NO_CACHE.search(control):
        return None, None
    found = _MAX_AGE.search(control)
    if found:
        return float(found.group(1)), None
    expires = None
    value = headers.get("Expires")
    if value:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            when = None  # "0", "-1": already expired, which says nothing about the next change
        if when is not None:
            expires = (when if when.tzinfo else when.replace(tzinfo=UTC)).astimezone(UTC)
    return None, expires


def _same_second(http_date: str | None, mtime: float) -> bool:
    if not http_date:
        return False
    try:
        return int(email.utils.parsedate_to_datetime(http_date).timestamp()) == int(mtime)
    except (TypeError, ValueError):
        return False


def _client_failure(e: BaseException, url: URL) -> _Failure:
    """A one-line message for an aiohttp/OS error, and whether a retry may help."""
    if isinstance(e, aiohttp.ClientConnectorCertificateError):
        cert = e.certificate_error
        reason = getattr(cert, "verify_message", None) or str(cert)
        return _Failure(f"TLS error: certificate verify failed: {reason}")
    if isinstance(e, aiohttp.ClientSSLError):
        return _Failure(f"TLS error: {_ssl_reason(e.os_error)}")
    if isinstance(e, aiohttp.ClientConnectorDNSError):
        return _Failure(f"DNS lookup failed for {url.host}", retry=True)
    if isinstance(e, aiohttp.ClientConnectorError):
        if isinstance(e.os_error, ConnectionRefusedError):
            return _Failure("connection refused", retry=True)
        return _Failure(f"connection failed: {e.os_error.strerror or e.os_error}", retry=True)
    if isinstance(e, aiohttp.ServerDisconnectedError):
        return _Failure("server closed the connection", retry=True)
    if isinstance(e, aiohttp.ClientPayloadError):
        return _Failure(f"broken response body: {_first_line(e)}", retry=True)
    if isinstance(e, aiohttp.ClientResponseError):
        return _Failure(f"bad HTTP response: {e.message}")
    if isinstance(e, aiohttp.InvalidURL):
        return _Failure(f"invalid URL: {e.url}")
    if isinstance(e, HttpProcessingError):
        return _Failure(f"bad HTTP response: {e.message}")
    if isinstance(e, ConnectionResetError | aiohttp.ClientOSError):
        return _Failure(f"connection error: {_first_line(e)}", retry=True)
    return _Failure(f"{type(e).__name__}: {_first_line(e)}", retry=True)


def _ssl_reason(err: OSError) -> str:
    # "[SSL: WRONG_VERSION_NUMBER] wrong version number (_ssl.c:1006)" without the C location.
    text = err.strerror if isinstance(err.strerror, str) else str(err)
    return _SSL_LOCATION.sub("", text) or type(err).__name__


def _first_line(e: BaseException) -> str:
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__


def _size(n: int) -> str:
    """10485760 → "10 MiB", 1536 → "1.5 KiB"."""
    for unit, scale in (("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= scale:
            return f"{n / scale:.1f}".removesuffix(".0") + f" {unit}"
    return f"{n} bytes"
