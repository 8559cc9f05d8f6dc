"""A loopback feed server for the service benchmark: N synthetic RSS feeds, optionally "live".

    python bench/feed_site.py --port P --feeds 1000 --items 100 [--seed 0] [--live 60] [--ttl 5]

`/feed/{n}.xml` is feed n: `items` articles from `articles.make_rss(n, items, seed=seed)`
(deterministic), answered with an ETag and 304 to a matching `If-None-Match`. With `--live S`,
each feed also publishes one new article every S seconds (each feed at its own phase, so the
feeds publish evenly over time): the newest `LIVE_KEPT` of them are on top of the feed, with
their own guids, so a fetch after a new one finds it new. `--ttl` is the channel's `<ttl>` in
minutes (0: none). Bodies are built on first request and kept.

`/_stats` answers JSON counters (requests, 200s, 304s, live articles served for the first
time) and, with `?since=I`, the request log from index I on: [time, feed] pairs (time in
seconds since the epoch), for the scheduler's lag.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import html
import random
import sys
import time
from email.utils import format_datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from articles import make_article, make_rss

LIVE_KEPT = 5
_TTL_TAG = b"    <ttl>5</ttl>\n"


def _live_item(seed: int, feed: int, k: int, when: float) -> bytes:
    rng = random.Random(f"live/{seed}/{feed}/{k}")
    title, body = make_article(rng, paragraphs=rng.randint(1, 2), with_boilerplate=False)
    stamp = format_datetime(dt.datetime.fromtimestamp(when, dt.UTC), usegmt=True)
    url = f"https://finance.sina.com.cn/live/{feed:05d}/doc-live{feed:05d}x{k:07d}.shtml"
    return (
        "    <item>\n"
        f"      <title>{html.escape(title)}</title>\n"
        f"      <description>{html.escape(body)}</description>\n"
        f"      <pubDate>{stamp}</pubDate>\n"
        f'      <guid isPermaLink="false">{url}</guid>\n'
        f"      <link>{url}</link>\n"
        "    </item>\n"
    ).encode()


class FeedSite:
    def __init__(self, feeds: int, items: int, seed: int, live: float, ttl: int) -> None:
        self.feeds, self.items, self.seed, self.live, self.ttl = feeds, items, seed, live, ttl
        self.t0 = time.time()
        self._base: dict[int, tuple[bytes, bytes]] = {}  # feed → (head incl. <ttl>, rest)
        self._live: dict[tuple[int, int], bytes] = {}
        self._served_live: set[tuple[int, int]] = set()
        self.log: list[tuple[float, int]] = []
        self.counts = {"requests": 0, "ok": 0, "not_modified": 0, "not_found": 0, "new_live_items": 0}

    def _split(self, n: int) -> tuple[bytes, bytes]:
        got = self._base.get(n)
        if got is None:
            body = make_rss(n, self.items, seed=self.seed)
            head, tag, rest = body.partition(_TTL_TAG)
            assert tag, "articles.make_rss no longer writes <ttl>5</ttl>"
            ttl = f"    <ttl>{self.ttl}</ttl>\n".encode() if self.ttl else b""
            got = self._base[n] = (head + ttl, rest)
        return got

    def live_count(self, n: int, now: float) -> int:
        """How many live articles feed n has published by `now`."""
        if not self.live:
            return 0
        phase = (n * 0.618033988749895) % 1.0
        return int((now - self.t0) / self.live + phase)

    def body(self, n: int, now: float) -> tuple[bytes, str]:
        head, rest = self._split(n)
        k = self.live_count(n, now)
        parts = [head]
        for j in range(k, max(0, k - LIVE_KEPT), -1):
            item = self._live.get((n, j))
            if item is None:
                when = self.t0 + (j - (n * 0.618033988749895) % 1.0) * self.live
                item = self._live[(n, j)] = _live_item(self.seed, n, j, when)
            if (n, j) not in self._served_live:
                self._served_live.add((n, j))
                self.counts["new_live_items"] += 1
            parts.append(item)
        parts.append(rest)
        etag = (
            '"' + hashlib.sha1(f"{self.seed}/{self.items}/{self.ttl}/{n}/{k}".encode()).hexdigest()[:16] + '"'
        )
        return b"".join(parts), etag


def main() -> None:
    from aiohttp import web

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--feeds", type=int, default=1000)
    ap.add_argument("--items", type=int, default=100)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--live", type=float, default=0.0, help="seconds between a feed's new articles (0: static)"
    )
    ap.add_argument("--ttl", type=int, default=5, help="the channel's <ttl> in minutes (0: none)")
    args = ap.parse_args()
    site = FeedSite(args.feeds, args.items, args.seed, args.live, args.ttl)

    async def feed(request: web.Request) -> web.Response:
        now = time.time()
        site.counts["requests"] += 1
        try:
            n = int(request.match_info["n"])
        except ValueError:
            n = -1
        if not 0 <= n < site.feeds:
            site.counts["not_found"] += 1
            return web.Response(status=404)
        site.log.append((now, n))
        body, etag = site.body(n, now)
        if request.headers.get("If-None-Match") == etag:
            site.counts["not_modified"] += 1
            return web.Response(status=304, headers={"ETag": etag})
        site.counts["ok"] += 1
        return web.Response(
            body=body, headers={"ETag": etag, "Content-Type": "application/rss+xml; charset=utf-8"}
        )

    async def stats(request: web.Request) -> web.Response:
        since = int(request.query.get("since", "-1"))
        out: dict[str, object] = dict(site.counts)
        out["log_length"] = len(site.log)
        if since >= 0:
            out["log"] = site.log[since:]
        return web.json_response(out)

    app = web.Application()
    app.router.add_get("/feed/{n}.xml", feed)
    app.router.add_get("/_stats", stats)
    web.run_app(app, host="127.0.0.1", port=args.port, print=None, access_log=None)


if __name__ == "__main__":
    main()
