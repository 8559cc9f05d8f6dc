"""The entries API's store calls on PostgreSQL at scale: `reader_entries_json` (what `GET /entries`
renders, in the database) over an archive of `--entries` entries in 1,000 feeds (10 groups of
10 sites), a reader who has read 30 % and starred 1 %.

Builds the archive once in the database `--db` (made if missing) with SQL (generate_series; the
per-row count trigger off during the load, the counts then made in one statement), prints how
long that took, then times each call `--repeat` times (median and p95 of wall time):

    .venv/bin/python bench/bench_pg_entries.py --entries 1000000 --db newsdesk_bench_entries
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable

import psycopg

from newsdesk.models import EntryQuery
from newsdesk.store.postgres import PostgresStore

SERVER = "postgresql://postgres@127.0.0.1:5432"
FEEDS = 1000
# Entry i: feed i % 1000, one every 30 s from 2016 on; text a few hundred bytes.
_FEED = "'g' || (f % 10) || '/s' || (f % 100) || '/f' || f"
_TIME = "to_char(timestamp '2016-01-01' + i * interval '30 seconds', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"


def build(url: str, entries: int) -> None:
    PostgresStore(url).close()  # the schema
    with psycopg.connect(url, autocommit=True) as db:
        if db.execute("SELECT COUNT(*) FROM entries").fetchone() == (entries,):
            return
        started = time.perf_counter()
        db.execute(
            "TRUNCATE entries, articles, feeds, feed_counts, entry_state, reader_feed_counts, users CASCADE"
        )
        db.execute(
            f"INSERT INTO feeds (key, grp, site, name, source, url, position) SELECT {_FEED},"
            " 'g' || (f % 10), 's' || (f % 100), 'f' || f, 'http://127.0.0.1/' || f,"
            " 'http://127.0.0.1/' || f, f"
            f" FROM generate_series(0, {FEEDS - 1}) f"
        )
        db.execute("ALTER TABLE entries DISABLE TRIGGER entry_counted")
        db.execute(
            "INSERT INTO entries (uid, feed_key, entry_id, title, link, published, content, summary,"
            " first_seen, last_changed, sort_time, content_hash, rev)"
            f" SELECT md5(i::text), {_FEED.replace('f %', '(i % 1000) %').replace('|| f', '|| (i % 1000)')},"
            " i::text, '标题 ' || i, 'https://news.example.cn/' || i || '.html',"
            f" {_TIME}, repeat('<p>正文 ' || i || '</p>', 20), '摘要 ' || i, {_TIME}, {_TIME}, {_TIME},"
            " md5(i::text), i"
            f" FROM generate_series(1, {entries}) i"
        )
        db.execute("ALTER TABLE entries ENABLE TRIGGER entry_counted")
        db.execute("INSERT INTO feed_counts SELECT feed_key, COUNT(*) FROM entries GROUP BY feed_key")
        db.execute("UPDATE rev_counter SET rev=(SELECT MAX(rev) FROM entries)")
        db.execute(
            "INSERT INTO users (id, name, password_hash, admin, created) VALUES (1, 'reader', 'x', 0, 'x')"
        )
        db.execute(
            "INSERT INTO entry_state (user_id, feed_key, uid, sort_time, read, starred, read_at)"
            " SELECT 1, feed_key, uid, sort_time, CASE WHEN rev % 10 < 3 THEN 1 ELSE 0 END,"
            " CASE WHEN rev % 100 = 7 THEN 1 ELSE 0 END, sort_time FROM entries"
            " WHERE rev % 10 < 3 OR rev % 100 = 7"
        )
        db.execute(
            "INSERT INTO reader_feed_counts"
            " SELECT user_id, feed_key, SUM(read) FROM entry_state GROUP BY 1, 2"
        )
        db.execute("VACUUM ANALYZE")
        print(f"built {entries:,} entries in {time.perf_counter() - started:.0f} s", flush=True)


def timed(name: str, call: Callable[[], object], repeat: int) -> None:
    call()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        call()
        times.append((time.perf_counter() - t) * 1000)
    times.sort()
    p95 = times[max(0, int(len(times) * 0.95) - 1)]
    print(f"{name:40} median {statistics.median(times):7.2f} ms   p95 {p95:7.2f} ms", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--entries", type=int, default=1_000_000)
    ap.add_argument("--db", default="newsdesk_bench_entries")
    ap.add_argument("--repeat", type=int, default=50)
    args = ap.parse_args()
    with psycopg.connect(f"{SERVER}/test", autocommit=True) as admin:
        if admin.execute("SELECT 1 FROM pg_database WHERE datname=%s", (args.db,)).fetchone() is None:
            admin.execute(f'CREATE DATABASE "{args.db}"')
    url = f"{SERVER}/{args.db}"
    build(url, args.entries)
    store = PostgresStore(url)
    page = store.reader_entries_json(1, EntryQuery(), limit=50)
    deep = page[1]
    for _ in range(200):
        deep = store.reader_entries_json(1, EntryQuery(), limit=50, after=deep)[1]
    cases: dict[str, Callable[[], object]] = {
        "all, first page": lambda: store.reader_entries_json(1, EntryQuery(), limit=50),
        "all, page 200": lambda: store.reader_entries_json(1, EntryQuery(), limit=50, after=deep),
        "unread, first page": lambda: store.reader_entries_json(1, EntryQuery(status="unread"), limit=50),
        "one feed, unread": lambda: store.reader_entries_json(
            1, EntryQuery(feed="g7/s17/f417", status="unread"), limit=50
        ),
        "one group": lambda: store.reader_entries_json(1, EntryQuery(group="g3"), limit=50),
        "one site, unread": lambda: store.reader_entries_json(
            1, EntryQuery(site="s42", status="unread"), limit=50
        ),
        "starred": lambda: store.reader_entries_json(1, EntryQuery(starred=True), limit=50),
        "unread_counts": lambda: store.unread_counts(1),
    }
    print(f"PostgreSQL {store._db.execute('SHOW server_version').fetchone()[0]}, {args.entries:,} entries")
    for name, call in cases.items():
        timed(name, call, args.repeat)
    store.close()


if __name__ == "__main__":
    sys.exit(main())
