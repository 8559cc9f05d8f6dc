"""A reader's lists in the store alone: what `GET /entries`, `GET /tree` and mark-read cost.

Builds (once; kept at `--db`) an archive of `--entries` synthetic articles (Sina-style HTML from
`bench/articles.py`, each with its cleaned article; one feed in ten keeps the full article page,
about 10× the body, as `full_text` feeds do) spread evenly over `--feeds` feeds in 10 groups of
10 sites, one entry every 2 minutes. A reader has read 30 % of them (seeded, spread evenly) and
starred 1 %. Then times, in this process, each call `--repeat` times (median and p95 of wall time):

* `reader_entries` 50 unread: the first page, a deep page (page 1,000 of ~1,400), one feed's
  first page, one group's, the starred list, the read list and everything;
* `unread_counts` (every feed: `GET /tree`); `reader_entry` (one entry with its bodies);
* a reader who has read 95 %, and one who has read all but two old entries: their unread lists;
* `mark_read` of everything (every entry, one statement) by a new reader, three times, and
  `remove_user` of that reader (their 100,000 rows go with them).

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
                html=body, text=text, summary=text[:120], char_count=len(text), images=(),
                header_image=None, source=spec.site, editor=None, reporters=(), dateline=None,
                keywords=("财经",), profile="sina",
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
    """Wall time (median, p95) and CPU time (median): on a shared machine the CPU time shows
    the call's own cost, the wall time what other processes added to it."""
    fn()  # warm: the first call reads pages from disk into the cache
    wall, cpu = [], []
    for _ in range(repeat):
        w, c = time.perf_counter(), time.process_time()
        fn()
        cpu.append((time.process_time() - c) * 1000)
        wall.append((time.perf_counter() - w) * 1000)
    wall.sort()
    p95 = wall[min(len(wall) - 1, int(len(wall) * 0.95))]
    print(
        f"| {label} | {statistics.median(wall):.2f} | {p95:.2f} | {statistics.median(cpu):.2f} |", flush=True
    )


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
    keeps_up = reader(store, "keeps-up", read=0.95, starred=0.0)
    caught_up = store.get_user("caught-up")
    if caught_up is None:  # has read everything but two old entries
        caught_up = store.add_user("caught-up", "not-a-real-hash", admin=False, now=NOW)
        store.mark_read(caught_up.id, EntryQuery(), before=NOW + dt.timedelta(days=1), now=NOW)
        uids = list(store.iter_uids())
        store.set_entry_state(caught_up.id, [uids[50_000], uids[-10]], read=False, now=NOW)
    unread = EntryQuery(status="unread")
    cursor: str | None = None
    for _ in range(999):  # the cursor of page 1,000
        _, cursor = store.reader_entries(user, unread, limit=50, after=cursor)
    assert cursor is not None
    lists = {
        "50 unread, first page": (user, unread, None),
        "50 unread, page 1,000": (user, unread, cursor),
        "50 unread of one feed": (user, EntryQuery(feed=feed_spec(7).key, status="unread"), None),
        "50 unread of one site (10 feeds)": (user, EntryQuery(site="站点3-4", status="unread"), None),
        "50 unread of one group (100 feeds)": (user, EntryQuery(group="分组3", status="unread"), None),
        "50 starred (1 % of the archive)": (user, EntryQuery(starred=True), None),
        "50 read": (user, EntryQuery(status="read"), None),
        "50 of all": (user, EntryQuery(), None),
        "50 unread, a reader who has read 95 %": (keeps_up, unread, None),
        "unread, a reader who has read all but 2": (caught_up.id, unread, None),
    }
    print("| call | median ms | p95 ms | CPU median ms |\n| --- | ---: | ---: | ---: |")
    for label, (who, query, after) in lists.items():
        timed(label, lambda: store.reader_entries(who, query, limit=50, after=after), args.repeat)  # noqa: B023
    timed("unread_counts (every feed)", lambda: store.unread_counts(user), args.repeat)
    some = next(store.iter_uids())
    timed("reader_entry (one, with its bodies)", lambda: store.reader_entry(user, some), args.repeat)
    for n in range(3):  # a new reader marks everything read, in one statement
        name = f"marker{n}"
        store.remove_user(name)  # left by an interrupted run
        other = store.add_user(name, "not-a-real-hash", admin=False, now=NOW).id
        w, c = time.perf_counter(), time.process_time()
        changed = store.mark_read(other, EntryQuery(), before=NOW + dt.timedelta(days=1), now=NOW)
        cpu, wall = (time.process_time() - c) * 1000, (time.perf_counter() - w) * 1000
        print(f"| mark_read of every entry ({changed:,} rows) | {wall:.0f} | | {cpu:.0f} |", flush=True)
        w = time.perf_counter()
        store.remove_user(name)
        print(f"| remove_user of that reader | {(time.perf_counter() - w) * 1000:.0f} | | |", flush=True)
    store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
