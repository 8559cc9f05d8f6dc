"""A PostgreSQL archive of N synthetic Chinese articles for the search benchmark.

The same articles as bench_search.py's SQLite archive (bench/articles.py: realistic finance
paragraphs, 2-6 per article, 15 % with Sina's boilerplate; 100 feeds in 4 groups of 5 sites;
published evenly over a year from 2025-12-01), stored through the store's own `save_fetch`
in batches as `newsdesk run` would, so every entry has its rev in the change feed.

    .venv/bin/python bench/pg_search_archive.py --articles 100000 --db newsdesk_bench_search
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import psycopg

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_search import fill_archive  # noqa: E402

from newsdesk.store.postgres import PostgresStore  # noqa: E402

SERVER = "postgresql://postgres@127.0.0.1:5432"
BATCH = 20_000  # articles generated, then stored feed by feed


def database_url(name: str) -> str:
    return f"{SERVER}/{name}"


def build(name: str, n: int, *, fresh: bool = True) -> float:
    """Make the database `name` (dropped first when `fresh`) holding `n` articles; seconds taken
    (0 when it already held them)."""
    with psycopg.connect(f"{SERVER}/test", autocommit=True) as admin:
        exists = admin.execute("SELECT 1 FROM pg_database WHERE datname=%s", (name,)).fetchone()
        if exists and fresh:
            admin.execute(f"DROP DATABASE {name} WITH (FORCE)")
        if not exists or fresh:
            admin.execute(f"CREATE DATABASE {name}")
    store = PostgresStore(database_url(name))
    try:
        if store.count_entries() == n:
            return 0.0
        started = time.perf_counter()
        fill_archive(
            store,
            n,
            batch=BATCH,
            progress=lambda done: print(
                f"  stored {done:,} articles ({time.perf_counter() - started:.0f} s)", file=sys.stderr
            ),
        )
        return time.perf_counter() - started
    finally:
        store.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--articles", type=int, default=100_000)
    ap.add_argument("--db", default="newsdesk_bench_search")
    args = ap.parse_args()
    print(f"built in {build(args.db, args.articles):.1f} s")


if __name__ == "__main__":
    main()
