"""A real HTTP server on 127.0.0.1 for tests: aiohttp.web on its own thread and event loop.

Use the `feed_server` fixture (tests/conftest.py) or `with FeedServer() as server:`.

    server.route("/feed.xml", "<rss>…</rss>")                 # str → UTF-8, 200
    server.route("/gbk.xml", body_bytes, headers={"Content-Type": "text/xml; charset=gbk"})
    server.route("/gone", b"", status=410)
    server.route("/slow", "<rss/>", delay=2.0)                 # sleep before answering
    server.route("/big", Reply(data, chunked=True))            # no Content-Length
    server.route("/dyn", lambda req: Reply("hi", headers={"X": req.headers["User-Agent"]}))
    url = server.url("/feed.xml")                              # "http://127.0.0.1:PORT/feed.xml"

A route's response is bytes or str (a 200 with that body), a `Reply`, or a callable
taking the `Request` and returning any of those (plain function or coroutine function;
it runs on the server's loop, so it must not block: use `Reply(delay=…)` to be slow).
Unrouted paths answer 404. Routing uses the path without the query string.

What the server saw:
    server.requests          list of Request(method, path, headers), in arrival order;
                             path includes any query string, headers are case-insensitive
    server.hits("/feed.xml") how many requests that path got
    server.max_in_flight     most requests being handled at the same time
    server.reset()           forget requests and the in-flight peak (routes stay)

Fault helpers (each just registers routes):
    conditional(path, body, etag=…, last_modified=…)  200 with validators, 304 when they match
    redirect(path, to, status=301); redirect_chain(path, to, statuses=(301, 301))
    flaky(path, body, failures=2, status=503, headers=None)  fail N times, then 200
    retry_after(path, body, seconds=1, status=429)          one failure with Retry-After
    compressed(path, body, encoding="gzip" | "deflate" | "br")
    gzip_bomb(path, size=1 GiB)                             ~1 MB on the wire
    stall(path, body, seconds=60)                           headers and half the body, then nothing
The server handles many concurrent connections; handlers of requests whose client gave
up are cancelled, so a slow route never delays shutdown.
"""

from __future__ import annotations

import asyncio
import gzip
import inspect
import itertools
import socket
import threading
import zlib
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import NamedTuple

import brotli  # type: ignore[import-untyped]
from aiohttp import web
from multidict import CIMultiDict, CIMultiDictProxy

__all__ = ["FeedServer", "Reply", "Request"]


class Request(NamedTuple):
    """A request as the server saw it."""

    method: str
    path: str  # with the query string, if any
    headers: CIMultiDictProxy[str]  # case-insensitive: headers["if-none-match"]


@dataclass
class Reply:
    """A response to send. str bodies are sent as UTF-8."""

    body: bytes | str = b""
    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds to wait before answering
    content_type: str | None = None  # default: application/xml (charset=utf-8 for str bodies)
    chunked: bool = False  # Transfer-Encoding: chunked, so no Content-Length is sent
    stall: float = 0.0  # seconds to stop for after sending the headers and half the body


Body = bytes | str | Reply
Handler = Callable[[Request], Body | Awaitable[Body]]


class FeedServer:
    """A threaded aiohttp server on a random free port of 127.0.0.1. See the module docstring."""

    def __init__(self) -> None:
        self.requests: list[Request] = []
        self.max_in_flight = 0
        self._in_flight = 0
        self._routes: dict[str, Handler] = {}
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self.port: int = self._sock.getsockname()[1]
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    # -- lifecycle ---------------------------------------------------------------------

    def __enter__(self) -> FeedServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=f"FeedServer:{self.port}", daemon=True)
        self._thread.start()
        self._ready.wait(10)
        if self._error is not None:
            raise RuntimeError("test server failed to start") from self._error

    def stop(self) -> None:
        if self._thread is None:
            return
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)
        self._thread = None

    def _run(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as e:  # reported by start(); a thread must not die silently
            self._error = e
            self._ready.set()

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        # handler_cancellation: a client that timed out must not leave a sleeping handler
        # behind for cleanup() to wait on.
        runner = web.AppRunner(app, access_log=None, handler_cancellation=True, shutdown_timeout=1.0)
        await runner.setup()
        try:
            await web.SockSite(runner, self._sock, backlog=1024).start()
            self._ready.set()
            await self._stop.wait()
        finally:
            await runner.cleanup()
            self._sock.close()

    # -- routing -----------------------------------------------------------------------

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def route(
        self,
        path: str,
        response: Body | Handler,
        *,
        status: int = 200,
        headers: Mapping[str, str] | None = None,
        delay: float = 0.0,
        content_type: str | None = None,
    ) -> str:
        """Serve `response` at `path`; returns the full URL. Keyword args apply to a plain body."""
        if isinstance(response, bytes | str):
            reply = Reply(response, status, dict(headers or {}), delay, content_type)
            self._routes[path] = lambda _req: reply
        elif isinstance(response, Reply):
            self._routes[path] = lambda _req: response
        else:
            self._routes[path] = response
        return self.url(path)

    def hits(self, path: str) -> int:
        return sum(1 for r in self.requests if r.path.split("?", 1)[0] == path)

    def reset(self) -> None:
        self.requests.clear()
        self.max_in_flight = self._in_flight

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        seen = Request(request.method, request.path_qs, CIMultiDictProxy(CIMultiDict(request.headers)))
        self.requests.append(seen)
        self._in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self._in_flight)
        try:
            handler = self._routes.get(request.path)
            if handler is None:
                return web.Response(status=404, text="Not Found")
            result = handler(seen)
            if inspect.isawaitable(result):
                result = await result
            reply = result if isinstance(result, Reply) else Reply(result)
            if reply.delay:
                await asyncio.sleep(reply.delay)
            if reply.stall:
                return await _stalled(request, reply)
            return _to_response(reply)
        finally:
            self._in_flight -= 1

    # -- fault helpers -----------------------------------------------------------------

    def conditional(
        self,
        path: str,
        body: bytes | str,
        *,
        etag: str | None = '"v1"',
        last_modified: str | None = None,
        content_type: str | None = None,
    ) -> str:
        """200 with ETag/Last-Modified; 304 when If-None-Match (else If-Modified-Since) matches."""
        validators = {k: v for k, v in (("ETag", etag), ("Last-Modified", last_modified)) if v}

        def handle(req: Request) -> Reply:
            inm, ims = req.headers.get("If-None-Match"), req.headers.get("If-Modified-Since")
            if inm is not None:
                unchanged = etag is not None and etag in [t.strip() for t in inm.split(",")]
            else:
                unchanged = ims is not None and ims == last_modified
            if unchanged:
                return Reply(b"", 304, validators)
            return Reply(body, 200, validators, content_type=content_type)

        return self.route(path, handle)

    def redirect(self, path: str, to: str, status: int = 301) -> str:
        """Redirect `path` to `to` (a path on this server or an absolute URL)."""
        return self.route(path, Reply(b"", status, {"Location": to}))

    def redirect_chain(self, path: str, to: str, statuses: tuple[int, ...] = (301, 301)) -> str:
        """path → path/hop1 → … → to, one redirect per status given."""
        hops = [path] + [f"{path}/hop{i}" for i in range(1, len(statuses))] + [to]
        for (src, dst), status in zip(itertools.pairwise(hops), statuses, strict=True):
            self.redirect(src, dst, status)
        return self.url(path)

    def flaky(
        self,
        path: str,
        body: bytes | str,
        *,
        failures: int = 2,
        status: int = 503,
        headers: Mapping[str, str] | None = None,
    ) -> str:
        """Answer `status` (with `headers`) to the first `failures` requests, then 200 `body`."""
        count = 0

        def handle(_req: Request) -> Reply:
            nonlocal count
            count += 1
            if count <= failures:
                return Reply(f"failure {count}", status, dict(headers or {}))
            return Reply(body)

        return self.route(path, handle)

    def retry_after(self, path: str, body: bytes | str, *, seconds: int | str = 1, status: int = 429) -> str:
        """One `status` answer carrying Retry-After (seconds or an HTTP date), then 200."""
        return self.flaky(path, body, failures=1, status=status, headers={"Retry-After": str(seconds)})

    def compressed(self, path: str, body: bytes | str, encoding: str = "gzip") -> str:
        """Serve `body` with Content-Encoding gzip, deflate (zlib stream) or br."""
        raw = body.encode() if isinstance(body, str) else body
        packed = {"gzip": gzip.compress, "deflate": zlib.compress, "br": brotli.compress}[encoding](raw)
        return self.route(path, Reply(packed, headers={"Content-Encoding": encoding}))

    def stall(self, path: str, body: bytes | str, seconds: float = 60.0) -> str:
        """Send the headers (with the full Content-Length) and half of `body`, then nothing for
        `seconds` (the handler is cancelled when the client gives up), then the rest."""
        return self.route(path, Reply(body, stall=seconds))

    def gzip_bomb(self, path: str, size: int = 1 << 30) -> str:
        """A gzip body that inflates to `size` zero bytes (about size/1000 on the wire)."""
        return self.route(path, Reply(_gzip_zeros(size), headers={"Content-Encoding": "gzip"}))


def _to_response(reply: Reply) -> web.Response:
    body = reply.body.encode() if isinstance(reply.body, str) else reply.body
    headers = CIMultiDict(reply.headers)
    if "Content-Type" not in headers:
        charset = "; charset=utf-8" if isinstance(reply.body, str) else ""
        headers["Content-Type"] = reply.content_type or f"application/xml{charset}"
    response = web.Response(body=body, status=reply.status, headers=headers)
    if reply.chunked:
        response.enable_chunked_encoding()
    return response


async def _stalled(request: web.Request, reply: Reply) -> web.StreamResponse:
    body = reply.body.encode() if isinstance(reply.body, str) else reply.body
    response = _to_response(reply)
    stream = web.StreamResponse(status=reply.status, headers=response.headers)
    stream.content_length = len(body)
    await stream.prepare(request)
    await stream.write(body[: len(body) // 2])
    await asyncio.sleep(reply.stall)
    await stream.write(body[len(body) // 2 :])
    await stream.write_eof()
    return stream


def _gzip_zeros(size: int) -> bytes:
    """Compress `size` zeros without allocating them: after a full flush, deflate output
    for the same megabyte of input repeats byte for byte, so one block is copied. The
    gzip trailer is left out; a client that honours its size cap never gets there."""
    mib = 1 << 20
    zeros = bytes(mib)
    c = zlib.compressobj(9, zlib.DEFLATED, 31)
    head = c.compress(zeros) + c.flush(zlib.Z_FULL_FLUSH)
    block = c.compress(zeros) + c.flush(zlib.Z_FULL_FLUSH)
    return head + block * max(size // mib - 1, 0)
