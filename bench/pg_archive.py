"""A synthetic PostgreSQL archive for the scale benchmarks (bench_scale.py) and whoever else
needs one of a given size (the PostgreSQL search benchmark imports `build`).

    .venv/bin/python bench/pg_archive.py --url postgresql://postgres@127.0.0.1:5432/big \
        --feeds 20000 --per-feed 50 [--no-articles] [--create]

Feeds, entries and articles are made in the database by bulk SQL through the store
(`PostgresStore.fill_synthetic`: generate_series, 100,000 entries a transaction), not by
fetching: entries one to a few minutes apart, titles and article texts of Chinese finance
words. Prints how long it took; `build` returns that too.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime
from urllib.parse import urlsplit, urlunsplit

import psycopg

from newsdesk.store.postgres import PostgresStore

NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


def create_database(url: str) -> None:
    """Drop and make the database of `url` anew (through the server's `postgres` database)."""
    drop_database(url, create=True)


def drop_database(url: str, *, create: bool = False) -> None:
    """Drop the database of `url` if it is there (and make it anew when `create`)."""
    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if create:
            conn.execute(f'CREATE DATABASE "{name}"')


def build(
    url: str, feeds: int, per_feed: int, *, articles: bool = True, now: datetime = NOW, quiet: bool = False
) -> dict[str, float]:
    """Fill the (migrated on open) archive at `url`; {"entries", "seconds", "vacuum_seconds"}."""
    store = PostgresStore(url)
    try:
        started = time.perf_counter()

        def progress(done: int) -> None:
            if not quiet:
                print(f"\r{done:,} entries, {time.perf_counter() - started:.0f} s", end="", file=sys.stderr)

        made = store.fill_synthetic(feeds, per_feed, now, articles=articles, progress=progress)
        seconds = time.perf_counter() - started
    finally:
        store.close()
    if not quiet:
        print(file=sys.stderr)
    started = time.perf_counter()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")  # the planner's statistics, as autovacuum would make them
    return {
        "entries": made,
        "seconds": round(seconds, 1),
        "vacuum_seconds": round(time.perf_counter() - started, 1),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", required=True)
    ap.add_argument("--feeds", type=int, default=20_000)
    ap.add_argument("--per-feed", type=int, default=50)
    ap.add_argument("--no-articles", action="store_true")
    ap.add_argument("--create", action="store_true", help="drop and create the database first")
    args = ap.parse_args()
    if args.create:
        create_database(args.url)
    print(build(args.url, args.feeds, args.per_feed, articles=not args.no_articles))


if __name__ == "__main__":
    main()
