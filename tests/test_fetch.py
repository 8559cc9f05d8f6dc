"""The fetch stage against a real HTTP server on 127.0.0.1 (tests/server.py); no mocks."""

from __future__ import annotations

import asyncio
import email.utils
import os
import socket
import time
import tracemalloc
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

import pytest

from newsdesk import USER_AGENT
from newsdesk.config import FetchConfig
from newsdesk.errors import FeedGone, FetchDeferred, FetchError
from newsdesk.fetch import Fetcher, fetch_feed
from newsdesk.holds import MAX_HOLD, Hold, host_key, retry_after_seconds
from newsdesk.models import FeedSpec, FetchResult
from server import FeedServer, Reply

RSS = '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>新闻</title></channel></rss>'
T = TypeVar("T")


def run(config: FetchConfig, job: Callable[[Fetcher], Awaitable[T]]) -> T:
    """Run `job` with an open Fetcher in a fresh event loop."""

    async def main() -> T:
        async with Fetcher(config) as fetcher:
            return await job(fetcher)

    return asyncio.run(main())


def fetch(url: str, config: FetchConfig | None = None, **kw: str | None) -> FetchResult:
    return run(config or FetchConfig(retries=0, backoff=0.01, timeout=5), lambda f: f.fetch(url, **kw))


def fetch_error(url: str, config: FetchConfig | None = None, **kw: str | None) -> FetchError:
    with pytest.raises(FetchError) as info:
        fetch(url, config, **kw)
    return info.value


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# -- success, headers, conditional GET --------------------------------------------------


def test_plain_fetch_sends_honest_headers(feed_server: FeedServer) -> None:
    url = feed_server.route("/feed.xml", RSS)
    result = fetch(url)
    assert (result.status, result.url, result.encoding) == (200, url, "utf-8")
    assert result.text == RSS
    assert result.content_type == "application/xml; charset=utf-8"
    (req,) = feed_server.requests
    assert req.headers["User-Agent"] == USER_AGENT
    assert req.headers["Accept"].startswith("application/rss+xml")
    assert "If-None-Match" not in req.headers and "If-Modified-Since" not in req.headers


def test_etag_then_304(feed_server: FeedServer) -> None:
    url = feed_server.conditional("/feed.xml", RSS, etag='"abc"')
    first = fetch(url)
    assert (first.status, first.etag, first.text) == (200, '"abc"', RSS)
    second = fetch(url, etag=first.etag)
    assert second.not_modified and second.text is None
    assert second.etag == '"abc"'
    assert feed_server.requests[1].headers["If-None-Match"] == '"abc"'
    # A stale validator gets the full body again.
    assert fetch(url, etag='"old"').status == 200


def test_last_modified_then_304(feed_server: FeedServer) -> None:
    stamp = "Wed, 21 Oct 2015 07:28:00 GMT"
    url = feed_server.conditional("/feed.xml", RSS, etag=None, last_modified=stamp)
    first = fetch(url)
    assert (first.status, first.last_modified, first.etag) == (200, stamp, None)
    second = fetch(url, last_modified=stamp)
    assert (second.status, second.last_modified, second.text) == (304, stamp, None)
    assert feed_server.requests[1].headers["If-Modified-Since"] == stamp


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "br"])
def test_compressed_bodies(feed_server: FeedServer, encoding: str) -> None:
    url = feed_server.compressed("/feed.xml", RSS, encoding)
    assert fetch(url).text == RSS
    assert feed_server.requests[0].headers["Accept-Encoding"] == "gzip, deflate, br"


def test_declared_charset_is_used(feed_server: FeedServer) -> None:
    body = "<rss><title>朱镕基讲话</title></rss>".encode("gb18030")
    url = feed_server.route("/gbk.xml", body, headers={"Content-Type": "text/xml; charset=gb2312"})
    result = fetch(url)
    assert (result.text, result.encoding) == ("<rss><title>朱镕基讲话</title></rss>", "gb18030")


def test_empty_body(feed_server: FeedServer) -> None:
    assert str(fetch_error(feed_server.route("/empty", b""))) == "empty response body"


# -- size cap ----------------------------------------------------------------------------

CAP = FetchConfig(retries=0, max_bytes=1024 * 1024)


def test_size_cap_from_content_length(feed_server: FeedServer) -> None:
    url = feed_server.route("/big", b"x" * (2 * 1024 * 1024))
    assert str(fetch_error(url, CAP)) == "response larger than 1 MiB"


def test_size_cap_while_streaming(feed_server: FeedServer) -> None:
    url = feed_server.route("/big", Reply(b"x" * (2 * 1024 * 1024), chunked=True))
    assert str(fetch_error(url, CAP)) == "response larger than 1 MiB"
    assert fetch(feed_server.route("/ok", Reply(b"x" * 1000, chunked=True)), CAP).text == "x" * 1000


def test_gzip_bomb_stops_at_cap_without_inflating(feed_server: FeedServer) -> None:
    url = feed_server.gzip_bomb("/bomb", size=1 << 30)  # 1 GiB of zeros, ~1 MB on the wire
    tracemalloc.start()
    try:
        err = fetch_error(url, CAP)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert str(err) == "response larger than 1 MiB"
    assert peak < 16 * 1024 * 1024  # ~2 MB in practice


# -- HTTP errors and retries -------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "message"),
    [
        (404, "HTTP 404 Not Found"),
        (410, "HTTP 410 Gone (feed removed)"),
        (500, "HTTP 500 Internal Server Error"),
    ],
)
def test_http_error_messages(feed_server: FeedServer, status: int, message: str) -> None:
    url = feed_server.route("/x", b"nope", status=status)
    err = fetch_error(url)
    assert (str(err), err.status, err.url) == (message, status, url)
    assert err.__cause__ is None or not isinstance(err.__cause__, FetchError)


def test_4xx_is_not_retried_but_5xx_is(feed_server: FeedServer) -> None:
    config = FetchConfig(retries=2, backoff=0.01)
    fetch_error(feed_server.route("/404", b"", status=404), config)
    assert feed_server.hits("/404") == 1
    err = fetch_error(feed_server.route("/500", b"", status=500), config)
    assert str(err) == "HTTP 500 Internal Server Error (3 attempts)"
    assert feed_server.hits("/500") == 3


def test_503_retried_then_success(feed_server: FeedServer) -> None:
    url = feed_server.flaky("/feed.xml", RSS, failures=2, status=503)
    result = fetch(url, FetchConfig(retries=3, backoff=0.01))
    assert result.text == RSS
    assert feed_server.hits("/feed.xml") == 3


def test_429_honours_retry_after(feed_server: FeedServer) -> None:
    url = feed_server.retry_after("/feed.xml", RSS, seconds=1, status=429)
    start = time.monotonic()
    result = fetch(url, FetchConfig(retries=1, backoff=0.01))
    assert result.text == RSS
    assert time.monotonic() - start >= 0.95
    assert feed_server.hits("/feed.xml") == 2


def test_retry_after_parsing() -> None:
    now = datetime(2026, 12, 6, 7, 0, 0, tzinfo=UTC)
    assert retry_after_seconds("7", now) == 7.0
    assert retry_after_seconds(None, now) is None and retry_after_seconds("soon", now) is None
    assert retry_after_seconds("Sun, 06 Dec 2026 07:00:30 GMT", now) == 30.0
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT", now) == 0.0
    # Absurd values are capped at a day, in either form.
    assert retry_after_seconds("99999999", now) == MAX_HOLD
    assert retry_after_seconds("Fri, 01 Jan 2100 00:00:00 GMT", now) == MAX_HOLD


@pytest.mark.parametrize(
    ("url", "host"),
    [
        ("https://Example.COM/feed", "example.com"),
        ("http://example.com:80/feed", "example.com"),
        ("http://example.com:8080/feed", "example.com:8080"),
        ("http://[::1]:1200/sina", "[::1]:1200"),
        ("http://例子.cn/feed", "xn--fsqu00a.cn"),
        ("file:///srv/feed.xml", None),
        ("/srv/feed.xml", None),
    ],
)
def test_hosts_are_held_by_name_and_non_default_port(url: str, host: str | None) -> None:
    assert host_key(url) == host


def test_timeout(feed_server: FeedServer) -> None:
    url = feed_server.route("/slow", RSS, delay=3)
    # The page comes after 3 s: a fetch that did not time out would have succeeded.
    err = fetch_error(url, FetchConfig(retries=0, timeout=0.5))
    assert str(err) == "timed out after 0.5 s"


def test_connection_refused() -> None:
    url = f"http://127.0.0.1:{closed_port()}/feed.xml"
    err = fetch_error(url, FetchConfig(retries=1, backoff=0.01))
    assert str(err) == "connection refused (2 attempts)"
    assert err.url == url and err.__cause__ is not None


def test_tls_error(feed_server: FeedServer) -> None:
    # A plain-HTTP server cannot complete a TLS handshake.
    url = feed_server.route("/feed.xml", RSS).replace("http://", "https://")
    err = fetch_error(url, FetchConfig(retries=2))
    # OpenSSL words it "wrong version number" or "record layer failure" depending on version.
    assert str(err).startswith("TLS error: [SSL: ")
    assert "_ssl.c" not in str(err) and "attempts" not in str(err)  # not retried


@pytest.mark.parametrize("url", ["ftp://example.com/feed", "feed.xml", "http://"])
def test_unsupported_urls(url: str) -> None:
    assert str(fetch_error(url)).startswith(("unsupported URL", "invalid URL"))


# -- redirects ---------------------------------------------------------------------------


def test_permanent_redirect_chain_sets_permanent_url(feed_server: FeedServer) -> None:
    final = feed_server.route("/new.xml", RSS)
    url = feed_server.redirect_chain("/old.xml", "/new.xml", statuses=(301, 308))
    result = fetch(url)
    assert (result.text, result.url, result.permanent_url) == (RSS, final, final)
    assert feed_server.hits("/old.xml") == feed_server.hits("/new.xml") == 1


@pytest.mark.parametrize("statuses", [(302,), (301, 302), (307, 301)])
def test_temporary_hop_means_no_permanent_url(feed_server: FeedServer, statuses: tuple[int, ...]) -> None:
    final = feed_server.route("/new.xml", RSS)
    result = fetch(feed_server.redirect_chain("/old.xml", "/new.xml", statuses=statuses))
    assert (result.url, result.permanent_url) == (final, None)


def test_conditional_headers_follow_redirects(feed_server: FeedServer) -> None:
    feed_server.conditional("/new.xml", RSS, etag='"v2"')
    result = fetch(feed_server.redirect("/old.xml", "/new.xml"), etag='"v2"')
    assert result.status == 304 and result.permanent_url == feed_server.url("/new.xml")


def test_redirect_loop(feed_server: FeedServer) -> None:
    feed_server.redirect("/a", "/b")
    feed_server.redirect("/b", "/a", status=302)
    assert str(fetch_error(feed_server.url("/a"))).startswith("redirect loop")


def test_too_many_redirects(feed_server: FeedServer) -> None:
    feed_server.route("/end", RSS)
    url = feed_server.redirect_chain("/r", "/end", statuses=(301,) * 6)
    assert str(fetch_error(url, FetchConfig(retries=0, max_redirects=5))) == "too many redirects (6)"
    assert fetch(url, FetchConfig(retries=0, max_redirects=6)).text == RSS


# -- concurrency -------------------------------------------------------------------------


def _fetch_many(url: str, n: int, config: FetchConfig) -> list[FetchResult]:
    async def job(f: Fetcher) -> list[FetchResult]:
        return await asyncio.gather(*(f.fetch(f"{url}?n={i}") for i in range(n)))

    return run(config, job)


def test_per_host_limit(feed_server: FeedServer) -> None:
    url = feed_server.route("/slow", RSS, delay=0.2)
    results = _fetch_many(url, 8, FetchConfig(per_host=2, concurrency=64, retries=0))
    assert all(r.text == RSS for r in results)
    assert feed_server.max_in_flight == 2


def test_global_limit(feed_server: FeedServer) -> None:
    url = feed_server.route("/slow", RSS, delay=0.2)
    _fetch_many(url, 8, FetchConfig(per_host=8, concurrency=3, retries=0))
    assert feed_server.max_in_flight == 3


def test_server_handles_many_concurrent_connections(feed_server: FeedServer) -> None:
    url = feed_server.route("/slow", RSS, delay=0.3)
    _fetch_many(url, 100, FetchConfig(per_host=100, concurrency=100, retries=0))
    assert feed_server.max_in_flight >= 50


def test_waiting_for_a_slot_does_not_count_against_the_timeout(feed_server: FeedServer) -> None:
    # 6 fetches of 0.3 s through 2 slots take 0.9 s in all, longer than the 0.6 s timeout.
    url = feed_server.route("/slow", RSS, delay=0.3)
    results = _fetch_many(url, 6, FetchConfig(per_host=2, timeout=0.6, retries=0))
    assert len(results) == 6


# -- RSSHub ------------------------------------------------------------------------------

ROUTE = FeedSpec(group="g", site="s", name="n", route="/sina/finance")


def test_rsshub_failover(feed_server: FeedServer) -> None:
    feed_server.route("/a/sina/finance", b"down", status=503)
    feed_server.route("/b/sina/finance", RSS)
    instances = [feed_server.url("/a"), feed_server.url("/b")]
    result = run(FetchConfig(retries=0), lambda f: fetch_feed(f, ROUTE, etag='"e"', rsshub=instances))
    assert (result.text, result.url) == (RSS, feed_server.url("/b/sina/finance"))
    # Conditional headers went to each instance.
    assert [r.headers.get("If-None-Match") for r in feed_server.requests] == ['"e"', '"e"']


def test_rsshub_404_fails_over(feed_server: FeedServer) -> None:
    feed_server.route("/b/sina/finance", RSS)
    instances = [feed_server.url("/a"), feed_server.url("/b")]
    assert run(FetchConfig(retries=0), lambda f: fetch_feed(f, ROUTE, rsshub=instances)).text == RSS


def test_rsshub_all_fail(feed_server: FeedServer) -> None:
    feed_server.route("/a/sina/finance", b"down", status=503)
    dead = f"http://127.0.0.1:{closed_port()}"
    instances = [feed_server.url("/a"), dead + "/"]
    with pytest.raises(FetchError) as info:
        run(FetchConfig(retries=0), lambda f: fetch_feed(f, ROUTE, rsshub=instances))
    assert str(info.value) == (
        f"all RSSHub instances failed: {feed_server.url('/a')}: HTTP 503 Service Unavailable; "
        f"{dead}: connection refused"
    )
    assert info.value.url == "rsshub:/sina/finance"


def test_fetch_feed_with_url(feed_server: FeedServer) -> None:
    spec = FeedSpec(group="g", site="s", name="n", url=feed_server.route("/feed.xml", RSS))
    assert run(FetchConfig(), lambda f: fetch_feed(f, spec, rsshub=[])).text == RSS


# -- local files -------------------------------------------------------------------------


@pytest.mark.parametrize("as_uri", [False, True])
def test_local_file_with_mtime_304(tmp_path: Path, as_uri: bool) -> None:
    path = tmp_path / "中文 feed.xml"
    path.write_bytes('<?xml version="1.0" encoding="gbk"?><rss>财经</rss>'.encode("gbk"))
    url = path.as_uri() if as_uri else str(path)
    first = fetch(url)
    assert (first.status, first.text, first.encoding) == (
        200,
        '<?xml version="1.0" encoding="gbk"?><rss>财经</rss>',
        "gb18030",
    )
    assert first.last_modified == email.utils.formatdate(path.stat().st_mtime, usegmt=True)
    assert fetch(url, last_modified=first.last_modified).status == 304
    assert fetch(url, etag=first.etag).status == 304
    os.utime(path, (path.stat().st_atime, path.stat().st_mtime - 60))
    assert fetch(url, last_modified=first.last_modified).status == 200
    assert fetch(url, etag=first.etag, last_modified=first.last_modified).status == 200


def test_local_file_errors(tmp_path: Path) -> None:
    missing = tmp_path / "missing.xml"
    assert str(fetch_error(str(missing))) == f"file not found: {missing}"
    assert str(fetch_error(missing.as_uri())) == f"file not found: {missing}"
    empty = tmp_path / "empty.xml"
    empty.write_bytes(b"")
    assert str(fetch_error(str(empty))) == f"file is empty: {empty}"
    big = tmp_path / "big.xml"
    big.write_bytes(b"x" * 4096)
    err = fetch_error(str(big), FetchConfig(max_bytes=1024))
    assert str(err) == f"file larger than 1 KiB: {big}"
    assert str(fetch_error(str(tmp_path))).startswith("not a regular file")


# -- waiting: host holds, one deadline per feed, stalls ------------------------------------

NOW = datetime(2026, 12, 6, 7, 0, 0, tzinfo=UTC)


class Holds:
    """A Fetcher's view of time and of the archive's holds, kept in memory for these tests."""

    def __init__(self, now: datetime = NOW, **held: tuple[datetime, str]) -> None:
        self.now = now
        self.start = dict(held)
        self.recorded: list[Hold] = []

    def fetcher(self, config: FetchConfig) -> Fetcher:
        return Fetcher(config, holds=self.start, on_hold=self.recorded.append, clock=lambda: self.now)

    def run(self, config: FetchConfig, job: Callable[[Fetcher], Awaitable[T]]) -> T:
        async def main() -> T:
            async with self.fetcher(config) as fetcher:
                return await job(fetcher)

        return asyncio.run(main())


def host_of(server: FeedServer) -> str:
    return f"127.0.0.1:{server.port}"


async def outcome(job: Awaitable[FetchResult]) -> FetchResult | FetchError:
    try:
        return await job
    except FetchError as e:
        return e


def test_long_retry_after_holds_the_host_instead_of_sleeping(feed_server: FeedServer) -> None:
    url = feed_server.retry_after("/busy.xml", RSS, seconds=3600, status=429)
    same_host = feed_server.route("/other.xml", RSS)
    holds = Holds()

    async def job(f: Fetcher) -> list[FetchResult | FetchError]:
        first = await outcome(f.fetch(url))
        return [first, await outcome(f.fetch(same_host)), await outcome(f.fetch(url))]

    busy, other, again = holds.run(FetchConfig(retries=3, backoff=0.01), job)
    host = host_of(feed_server)
    # The feed that got the 429 failed without a retry; the host is held for the hour asked.
    assert isinstance(busy, FetchError) and not isinstance(busy, FetchDeferred)
    assert str(busy) == f"HTTP 429 Too Many Requests; {host} asked to wait until 2026-12-06T08:00:00Z"
    assert holds.recorded == [Hold(host, NOW + timedelta(hours=1), "HTTP 429 Too Many Requests")]
    # Later fetches on that host, of any path, are deferred without a request.
    for deferred in (other, again):
        assert isinstance(deferred, FetchDeferred)
        assert str(deferred) == (
            f"{host} asked to wait until 2026-12-06T08:00:00Z (HTTP 429 Too Many Requests)"
        )
        assert deferred.until == NOW + timedelta(hours=1)
    assert [r.path for r in feed_server.requests] == ["/busy.xml"]


def test_retry_after_date_is_reckoned_from_the_clock_and_capped(feed_server: FeedServer) -> None:
    url = feed_server.flaky(
        "/feed.xml", RSS, failures=1, status=503, headers={"Retry-After": "Sun, 06 Dec 2026 07:30:00 GMT"}
    )
    far = feed_server.retry_after("/far.xml", RSS, seconds=10**9, status=429)
    holds = Holds()

    async def job(f: Fetcher) -> list[FetchResult | FetchError]:
        return [await outcome(f.fetch(url)), await outcome(f.fetch(far))]

    first, second = holds.run(FetchConfig(retries=1, backoff=0.01), job)
    assert isinstance(first, FetchError) and str(first).startswith("HTTP 503 Service Unavailable; ")
    # The deferral of the second comes from the first's hold: one request in all.
    assert isinstance(second, FetchDeferred)
    assert [h.until for h in holds.recorded] == [NOW + timedelta(minutes=30)]
    assert feed_server.hits("/far.xml") == 0

    # A later run (a fresh fetcher) with the hold passed asks again, and an absurd
    # Retry-After holds the host for a day, not for decades.
    later = Holds(NOW + timedelta(hours=1), **{host_of(feed_server): (NOW + timedelta(minutes=30), "x")})
    assert isinstance(later.run(FetchConfig(retries=0), lambda f: outcome(f.fetch(far))), FetchError)
    assert feed_server.hits("/far.xml") == 1
    assert [h.until for h in later.recorded] == [NOW + timedelta(hours=1, days=1)]


def test_held_host_is_not_requested_until_the_hold_passes(feed_server: FeedServer) -> None:
    url = feed_server.route("/feed.xml", RSS)
    held = {host_of(feed_server): (NOW + timedelta(minutes=5), "HTTP 503 Service Unavailable")}
    err = Holds(NOW, **held).run(FetchConfig(), lambda f: outcome(f.fetch(url)))
    assert isinstance(err, FetchDeferred) and err.url == url
    assert feed_server.hits("/feed.xml") == 0
    after = Holds(NOW + timedelta(minutes=5, seconds=1), **held)
    result = after.run(FetchConfig(), lambda f: f.fetch(url))
    assert result.text == RSS and feed_server.hits("/feed.xml") == 1


def test_other_hosts_are_fetched_beside_a_held_one(feed_server: FeedServer) -> None:
    busy = feed_server.retry_after("/feed.xml", RSS, seconds=3600)
    with FeedServer() as other:
        fine = other.route("/feed.xml", RSS)
        holds = Holds()

        async def job(f: Fetcher) -> list[FetchResult | FetchError]:
            return await asyncio.gather(outcome(f.fetch(busy)), outcome(f.fetch(fine)))

        results = holds.run(FetchConfig(retries=2), job)
        assert isinstance(results[0], FetchError) and isinstance(results[1], FetchResult)
        assert other.hits("/feed.xml") == 1 and feed_server.hits("/feed.xml") == 1


def test_a_short_retry_after_beyond_the_deadline_is_not_waited(feed_server: FeedServer) -> None:
    url = feed_server.retry_after("/feed.xml", RSS, seconds=5)
    holds = Holds()
    err = holds.run(FetchConfig(retries=3, deadline=1), lambda f: outcome(f.fetch(url)))
    assert isinstance(err, FetchError) and "asked to wait until 2026-12-06T07:00:05Z" in str(err)
    assert feed_server.hits("/feed.xml") == 1


def test_fetch_that_queued_behind_the_429_is_deferred(feed_server: FeedServer) -> None:
    # One connection per host: the second fetch waits for the slot the 429 answer holds, and
    # must not send its request once it gets the slot.
    busy = feed_server.retry_after("/busy.xml", RSS, seconds=3600)
    queued = feed_server.route("/queued.xml", RSS)

    async def job(f: Fetcher) -> list[FetchResult | FetchError]:
        return await asyncio.gather(outcome(f.fetch(busy)), outcome(f.fetch(queued)))

    first, second = Holds().run(FetchConfig(per_host=1, retries=2), job)
    assert isinstance(first, FetchError) and not isinstance(first, FetchDeferred)
    assert isinstance(second, FetchDeferred)
    assert [r.path for r in feed_server.requests] == ["/busy.xml"]


def test_rsshub_fails_over_from_a_held_instance(feed_server: FeedServer) -> None:
    with FeedServer() as second:
        second.route("/sina/finance", RSS)
        instances = [feed_server.url(), second.url()]
        held = Holds(**{host_of(feed_server): (NOW + timedelta(hours=1), "HTTP 429 Too Many Requests")})
        result = held.run(FetchConfig(), lambda f: fetch_feed(f, ROUTE, rsshub=instances))
        assert result.url == second.url("/sina/finance")
        assert feed_server.requests == [] and second.hits("/sina/finance") == 1

        # An instance answering 429 now is held, and the route is served by the next one.
        feed_server.retry_after("/sina/finance", RSS, seconds=600)
        fresh = Holds()
        result = fresh.run(FetchConfig(), lambda f: fetch_feed(f, ROUTE, rsshub=instances))
        assert result.url == second.url("/sina/finance")
        assert [h.host for h in fresh.recorded] == [host_of(feed_server)]

        # Every instance held: the feed is deferred to the earliest hold's end.
        both = Holds(
            **{
                host_of(feed_server): (NOW + timedelta(hours=1), "HTTP 429 Too Many Requests"),
                host_of(second): (NOW + timedelta(minutes=10), "HTTP 503 Service Unavailable"),
            }
        )
        second.reset()
        err = both.run(FetchConfig(), lambda f: outcome(fetch_feed(f, ROUTE, rsshub=instances)))
        assert isinstance(err, FetchDeferred) and err.until == NOW + timedelta(minutes=10)
        assert err.url == "rsshub:/sina/finance"
        assert second.requests == [] and feed_server.hits("/sina/finance") == 1


def test_stall_after_headers_is_caught_by_the_read_timeout(feed_server: FeedServer) -> None:
    url = feed_server.stall("/feed.xml", RSS, seconds=60)
    err = fetch_error(url, FetchConfig(retries=1, backoff=0.01, timeout=30, read_timeout=0.2))
    assert str(err) == "server stalled: no data for 0.2 s after the response headers (2 attempts)"
    assert feed_server.hits("/feed.xml") == 2


def test_one_deadline_across_attempts(feed_server: FeedServer) -> None:
    # Each attempt would be allowed 30 s; the feed's deadline ends the first after 0.3 s.
    url = feed_server.stall("/feed.xml", RSS, seconds=60)
    config = FetchConfig(retries=3, timeout=30, read_timeout=30, deadline=0.3)
    err = fetch_error(url, config)
    assert str(err) == "timed out (gave up at the 0.3 s deadline after 1 attempt)"
    assert feed_server.hits("/feed.xml") == 1
    # A retry whose backoff would pass the deadline is not made.
    down = feed_server.route("/down", b"", status=503)
    err = fetch_error(down, FetchConfig(retries=3, backoff=5, deadline=2))
    assert str(err) == "HTTP 503 Service Unavailable (gave up at the 2 s deadline after 1 attempt)"
    assert feed_server.hits("/down") == 1


def test_rsshub_instances_share_the_deadline(feed_server: FeedServer) -> None:
    feed_server.stall("/a/sina/finance", RSS, seconds=60)
    feed_server.route("/b/sina/finance", RSS)
    instances = [feed_server.url("/a"), feed_server.url("/b")]
    config = FetchConfig(retries=0, timeout=30, read_timeout=30, deadline=0.3)
    with pytest.raises(FetchError) as info:
        run(config, lambda f: fetch_feed(f, ROUTE, rsshub=instances))
    assert str(info.value).endswith("/b: not requested: the feed's 0.3 s deadline had passed")
    assert feed_server.hits("/b/sina/finance") == 0


def test_gzip_garbage_is_one_clear_failure(feed_server: FeedServer) -> None:
    url = feed_server.route(
        "/feed.xml", Reply(b"<rss>not gzip at all</rss>", headers={"Content-Encoding": "gzip"})
    )
    err = fetch_error(url, FetchConfig(retries=3, backoff=0.01))
    assert str(err) == ("the body is not valid gzip data although the server declared Content-Encoding: gzip")
    assert err.url == url
    assert feed_server.hits("/feed.xml") == 1


# -- what the scheduler reads: cache hints, 410 Gone -------------------------------------------


@pytest.mark.parametrize(
    ("headers", "max_age", "expires"),
    [
        ({"Cache-Control": "public, max-age=600"}, 600.0, None),
        ({"Cache-Control": "max-age=60", "Expires": "Sun, 06 Dec 2026 10:00:00 GMT"}, 60.0, None),
        ({"Expires": "Sun, 06 Dec 2026 10:00:00 GMT"}, None, datetime(2026, 12, 6, 10, 0, tzinfo=UTC)),
        ({"Cache-Control": "no-cache, max-age=600"}, None, None),
        ({"Expires": "0"}, None, None),
        ({}, None, None),
    ],
)
def test_cache_hints_of_200_and_304(
    feed_server: FeedServer, headers: dict[str, str], max_age: float | None, expires: datetime | None
) -> None:
    url = feed_server.route("/feed.xml", Reply(RSS, headers={"ETag": '"v1"', **headers}))
    got = fetch(url)
    assert (got.max_age, got.expires) == (max_age, expires)
    feed_server.route("/feed.xml", Reply(b"", 304, headers=headers))
    unchanged = fetch(url, etag='"v1"')
    assert unchanged.not_modified and (unchanged.max_age, unchanged.expires) == (max_age, expires)


def test_410_is_feed_gone_for_a_url_and_for_a_route_every_instance_removed(feed_server: FeedServer) -> None:

    url = feed_server.route("/gone.xml", Reply(b"", 410))
    assert isinstance(fetch_error(url), FeedGone)
    feed_server.route("/a/route", Reply(b"", 410))
    config = FetchConfig(retries=0, backoff=0.01, timeout=5)
    spec = FeedSpec(group="g", site="s", name="n", route="/route")
    instances = [feed_server.url("/a"), feed_server.url("/b")]
    # One instance says gone, another does not know the route: not gone for good.
    with pytest.raises(FetchError) as mixed:
        run(config, lambda f: fetch_feed(f, spec, rsshub=instances))
    assert not isinstance(mixed.value, FeedGone)
    feed_server.route("/b/route", Reply(b"", 410))
    with pytest.raises(FeedGone, match="410"):
        run(config, lambda f: fetch_feed(f, spec, rsshub=instances))
