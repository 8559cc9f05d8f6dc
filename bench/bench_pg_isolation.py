"""How the PostgreSQL half of the store suite isolates its tests, measured: a database per test
made from a migrated template (`CREATE DATABASE … TEMPLATE`), against a schema per test made and
migrated; each made, opened as a store and dropped `--n` times. Needs the server on
127.0.0.1:5432 (user postgres, trust).

    .venv/bin/python bench/bench_pg_isolation.py --n 20
"""

from __future__ import annotations

import argparse
import time

import psycopg

from newsdesk.store.postgres import PostgresStore

SERVER = "postgresql://postgres@127.0.0.1:5432"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=20)
    n = ap.parse_args().n
    with psycopg.connect(f"{SERVER}/test", autocommit=True) as admin:
        admin.execute("DROP DATABASE IF EXISTS bench_isolation_template")
        admin.execute("CREATE DATABASE bench_isolation_template")
        PostgresStore(f"{SERVER}/bench_isolation_template").close()
        started = time.perf_counter()
        for i in range(n):
            admin.execute(f"CREATE DATABASE bench_isolation_{i} TEMPLATE bench_isolation_template")
            PostgresStore(f"{SERVER}/bench_isolation_{i}").close()
            admin.execute(f"DROP DATABASE bench_isolation_{i}")
        print(f"database per test from a template: {(time.perf_counter() - started) / n * 1000:.0f} ms")
        started = time.perf_counter()
        for i in range(n):
            admin.execute(f"CREATE SCHEMA bench_isolation_{i}")
            PostgresStore(f"{SERVER}/test?options=-csearch_path%3Dbench_isolation_{i}").close()
            admin.execute(f"DROP SCHEMA bench_isolation_{i} CASCADE")
        print(f"schema per test, migrated:          {(time.perf_counter() - started) / n * 1000:.0f} ms")
        admin.execute("DROP DATABASE bench_isolation_template")


if __name__ == "__main__":
    main()
