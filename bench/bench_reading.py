"""A reader's lists in the store alone: what `GET /entries`, `GET /tree` and mark-read cost.

Builds (once; kept at `--db`) an archive of `--entries` synthetic articles (Sina-style HTML from
`bench/articles.py`, each with its cleaned article; one feed in ten keeps the full article page,
about 10× the body, as `full_text` feeds do) spread evenly over `--feeds` feeds in 10 groups of
10 sites, one entry every 2 minutes. A reader has read 30 % of them (seeded, spread evenly) and
starred 1 %. Then times, in this process, each call `--repeat` times (median and p95 of wall time):

* `reader_entries` 50 unread: the first page, a deep page (page 1,000 of ~1,400), one feed's
  first page, one group's, the starred list, the read list and everything;
* `unread_counts` (every feed: `GET /tree`); `reader_entry` (one entry with its bodies);
* `mark_read` of everything (every entry, one statement) for a second reader, once.

    .venv/bin/python bench/bench_reading.py --db /tmp/reading.db
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from articles import make_article

from newsdesk.models import Article, EntryQuery, FeedSpec, FetchResult, ParsedEntry
from newsdesk.store import SQLiteStore

BASE = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
STEP = dt.timedelta(minutes=2)
NOW = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
SEED = 14


def feed_spec(n: int) -> FeedSpec:
    group, site = n % 10, (n // 10) % 10
    return FeedSpec(
        group=f"分组{group}",
        site=f"站点{group}-{site}",
        name=f"源{n:04d}",
        url=f"https://bench.invalid/{n}.xml",
    )


def build(path: Path, entries: int, feeds: int) -> None:
    rng = random.Random(SEED)
    store = SQLiteStore(path)
    specs = [feed_spec(n) for n in range(feeds)]
    store.sync_feeds(specs)
    per_feed = entries // feeds
    started = time.perf_counter()
    for n, spec in enumerate(specs):
        batch: list[ParsedEntry] = []
        articles: dict[str, Article] = {}
        pages: dict[str, str] = {}
        for k in range(per_feed):
            i = k * feeds + n  # feeds interleave in time, as real ones do
            title, body = make_article(rng, paragraphs=rng.randint(3, 8), with_boilerplate=False)
            link = f"https://finance.sina.com.cn/bench/doc-{i:07d}.shtml"
            e = ParsedEntry(
                id=link, title=title, link=link, published=BASE + STEP * i, author=spec.site, content=body
            )
            batch.append(e)
            text = body.replace("<p>", "").replace("</p>", "\n")
            articles[e.id] = Article(
                html=body, text=text, summary=text[:120], char_count=len(text), images=(), header_image=None,
                source=spec.site, editor=None, reporters=(), dateline=None, keywords=("财经",), profile="sina",
            )  # fmt: skip
            if n % 10 == 0:
                pages[e.id] = "<html><body>" + body * 10 + "</body></html>"
        store.save_fetch(
            spec, FetchResult(url=spec.url or "", status=200), batch, NOW, articles=articles, pages=pages
        )
    print(
        f"built {path}: {store.count_entries()} entries in {time.perf_counter() - started:.0f} s", flush=True
    )
    store.close()


def reader(store: SQLiteStore, name: str, read: float, starred: float) -> int:
    """A reader who has read and starred a seeded share of the archive (made once)."""
    user = store.get_user(name)
    if user is not None:
        return user.id
    uid = store.add_user(name, "not-a-real-hash", admin=False, now=NOW).id
    rng = random.Random(f"{SEED}:{name}")
    uids = list(store.iter_uids())
    store.set_entry_state(uid, [u for u in uids if rng.random() < read], read=True, now=NOW)
    store.set_entry_state(uid, [u for u in uids if rng.random() < starred], starred=True, now=NOW)
    return uid


def timed(label: str, fn: Callable[[], object], repeat: int) -> None:
    fn()  # warm: the first call reads pages from disk into the cache
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    times.sort()
    p95 = times[min(len(times) - 1, int(len(times) * 0.95))]
    print(f"{label:<46} median {statistics.median(times):7.2f} ms   p95 {p95:7.2f} ms", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", type=Path, required=True, help="the archive (built when missing)")
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args()
    if not args.db.exists():
        build(args.db, args.entries, args.feeds)
    store = SQLiteStore(args.db)
    user = reader(store, "reader", read=0.30, starred=0.01)
    unread = EntryQuery(status="unread")

    cursor: str | None = None
    for _ in range(999):  # the cursor of page 1,000
        _, cursor = store.reader_entries(user, unread, limit=50, after=cursor)
    assert cursor is not None
    feed = feed_spec(7).key
    r = args.repeat
    timed("50 unread, first page", lambda: store.reader_entries(user, unread, limit=50), r)
    timed("50 unread, page 1,000", lambda: store.reader_entries(user, unread, limit=50, after=cursor), r)
    timed(
        "50 unread of one feed",
        lambda: store.reader_entries(user, EntryQuery(feed=feed, status="unread"), limit=50),
        r,
    )
    timed(
        "50 unread of one group (100 feeds)",
        lambda: store.reader_entries(user, EntryQuery(group="分组3", status="unread"), limit=50),
        r,
    )
    timed(
        "50 unread of one site (10 feeds)",
        lambda: store.reader_entries(user, EntryQuery(site="站点3-4", status="unread"), limit=50),
        r,
    )
    timed(
        "50 starred (1 % of the archive)",
        lambda: store.reader_entries(user, EntryQuery(starred=True), limit=50),
        r,
    )
    timed("50 read", lambda: store.reader_entries(user, EntryQuery(status="read"), limit=50), r)
    timed("50 of all", lambda: store.reader_entries(user, EntryQuery(), limit=50), r)
    timed("unread_counts (every feed)", lambda: store.unread_counts(user), max(10, r // 10))
    some = next(store.iter_uids())
    timed("reader_entry (one, with bodies)", lambda: store.reader_entry(user, some), r)

    other = store.add_user(f"marker{time.time_ns()}", "not-a-real-hash", admin=False, now=NOW).id
    t = time.perf_counter()
    changed = store.mark_read(other, EntryQuery(), before=NOW + dt.timedelta(days=1), now=NOW)
    print(
        f"{'mark_read of every entry (' + str(changed) + ')':<46} {(time.perf_counter() - t) * 1000:7.0f} ms"
    )
    store.remove_user(store.user_by_id(other).name)  # type: ignore[union-attr]
    store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
