"""Search on PostgreSQL (`search_backend: postgres`) beside tantivy, over the same articles.

Builds (or reuses, `--reuse`) a PostgreSQL archive of `--articles` synthetic Chinese articles
(bench/pg_search_archive.py), then in the same run:

* the database's own index (`PostgresIndex.rebuild`: the real catch-up path: text read from
  the store, cut by rjieba in worker processes, tsvectors saved with their GIN indexes);
* tantivy (`TantivyIndex.rebuild`) over the same archive, read through the same store;

build time and size of each, then the 50 fixed queries of bench_search.py (words, long words,
phrases, Latin/number terms, operators, filters, date order), each the median of 3 runs after
a warm-up, top 10: the engine alone, and the full `search()` (fallback, one hit per story,
snippets). Prints JSON, with the load average before and after (other jobs share the cores).

    .venv/bin/python bench/bench_pg_search.py --articles 100000
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import psycopg

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_search import measure_tantivy, time_queries  # noqa: E402
from pg_search_archive import build, database_url  # noqa: E402

from newsdesk.search.index import TantivyIndex  # noqa: E402
from newsdesk.search.pgindex import RANK_WINDOW, PostgresIndex, compile_query  # noqa: E402
from newsdesk.search.query import Filters, Sort, parse_query  # noqa: E402
from newsdesk.store.postgres import PostgresStore  # noqa: E402


def versions(url: str) -> dict[str, str]:
    out = {"python": platform.python_version()}
    with psycopg.connect(url) as db:
        row = db.execute("SHOW server_version").fetchone()
        out["postgresql"] = str(row[0]) if row else "?"
    for pkg in ("tantivy", "rjieba", "opencc", "psycopg", "psycopg-pool", "regex", "numpy"):
        out[pkg] = metadata.version(pkg)
    return out


def relation_mb(url: str) -> dict[str, float]:
    """Sizes of the search documents (all their weekly partitions), their indexes, and the
    archive's entries."""
    with psycopg.connect(url) as db:
        rows = db.execute(
            "WITH r(name) AS (VALUES ('docs'), ('docs_body'), ('docs_chars'), ('docs_ts'), ('docs_feed'),"
            " ('docs_feed_key'))"
            " SELECT name, sum(CASE name WHEN 'docs' THEN pg_total_relation_size(p)"
            " ELSE pg_relation_size(p) END)"
            " FROM r, LATERAL (SELECT relid FROM pg_partition_tree(('newsdesk_search.' || name)::regclass)"
            " UNION SELECT ('newsdesk_search.' || name)::regclass) t(p) GROUP BY name"
            " UNION ALL SELECT 'entries', pg_total_relation_size('public.entries')"
        ).fetchall()
    return {str(name): round(int(size) / 1e6, 1) for name, size in rows}


def bench_postgres(url: str, *, keep_index: bool = False) -> dict[str, Any]:
    store = PostgresStore(url)
    index = PostgresIndex(database_url=url, store=store)
    if (
        keep_index
        and store.search_mark() == store.max_rev()
        and store.search_count() == store.count_entries()
    ):
        n, build_s = store.search_count(), None  # timing the queries only
    else:
        gc.disable()  # as `newsdesk reindex` runs a catch-up
        t = time.perf_counter()
        n = index.rebuild(store)
        build_s = time.perf_counter() - t
        gc.enable()
        with psycopg.connect(url, autocommit=True) as db:
            db.execute("VACUUM ANALYZE newsdesk_search.docs")  # what autovacuum does after a bulk load
    sizes = relation_mb(url)
    out: dict[str, Any] = {
        "documents": n,
        "build_s": None if build_s is None else round(build_s, 1),
        "build_docs_per_s": None if build_s is None else round(n / build_s),
        "size_mb": {k: v for k, v in sizes.items() if k != "entries"},
        "archive_entries_mb": sizes.get("entries"),
        "rank_window": RANK_WINDOW,
    }

    def engine_only(q: str, f: dict[str, Any], s: str) -> int:
        compiled = compile_query(parse_query(q), Filters(**f))
        return len(store.search_docs(compiled, sort="date" if s == "date" else "relevance", fetch=10))

    def full(q: str, f: dict[str, Any], s: str) -> int:
        order: Sort = "date" if s == "date" else "relevance"
        return len(index.search(q, filters=Filters(**f), sort=order, limit=10))

    out["engine_only"] = time_queries(engine_only)
    out["full_search_with_snippets_and_clusters"] = time_queries(full)
    index.close()
    store.close()
    return out


def bench_tantivy(url: str, work: Path) -> dict[str, Any]:
    store = PostgresStore(url)
    return measure_tantivy(store, TantivyIndex(work / "tantivy", database_url=url, store=store))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--articles", type=int, default=100_000)
    ap.add_argument("--db", default=None, help="database name (default newsdesk_bench_search_<articles>)")
    ap.add_argument("--reuse", action="store_true", help="keep an existing archive of that size")
    ap.add_argument("--engines", default="postgres,tantivy")
    ap.add_argument("--drop", action="store_true", help="drop the database at the end")
    ap.add_argument(
        "--keep-index",
        action="store_true",
        help="with --reuse: keep the PostgreSQL search documents if they are current (time the queries only)",
    )
    args = ap.parse_args()
    name = args.db or f"newsdesk_bench_search_{args.articles}"
    url = database_url(name)
    result: dict[str, Any] = {
        "articles": args.articles,
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "load_average_before": os.getloadavg(),
        "machine": f"{os.cpu_count()} cores, {platform.machine()}",
    }
    result["archive_build_s"] = round(build(name, args.articles, fresh=not args.reuse), 1)
    result["versions"] = versions(url)
    engines = args.engines.split(",")
    if "postgres" in engines:
        result["postgres"] = bench_postgres(url, keep_index=args.keep_index)
        print(json.dumps(result["postgres"], ensure_ascii=False), file=sys.stderr)
    if "tantivy" in engines:
        work = Path(tempfile.mkdtemp(prefix="pg-search-bench-"))
        try:
            result["tantivy"] = bench_tantivy(url, work)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    result["load_average_after"] = os.getloadavg()
    result["finished"] = datetime.now(UTC).isoformat(timespec="seconds")
    if args.drop:
        with psycopg.connect(database_url("test"), autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    print(json.dumps(result, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
