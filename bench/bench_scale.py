"""Scale benchmark (issue 16): workers on PostgreSQL against the single SQLite process, the claim
query at 100,000 feeds, and the entries API on PostgreSQL at 1,000,000 entries.

    .venv/bin/python bench/bench_scale.py [--phases ingest,claim,api] [--feeds 1000] [--items 50]
        [--no-sqlite] [--workers 1,2,4] [--repeat 1] [--claim-feeds 100000] [--api-feeds 20000]
        [--api-per-feed 50]
        [--server postgresql://postgres@127.0.0.1:5432] [--db-prefix pg_workers_bench] [--drop]
        [--work /tmp/pg-workers-bench]

Phases:

* ingest — `feed_site.py` serves --feeds synthetic feeds × --items articles on loopback. The
  single SQLite process: `newsdesk run` on a new archive (the whole command, from start to
  exit). PostgreSQL: a new database with the feeds in its catalogue, then N `newsdesk worker`
  processes started together; timed from their start until the archive holds every entry and
  no entry's insights are pending (`run` computes them before it exits, in a second process;
  workers after each batch); `entries_stored_s` is when the last entry was there. Both clean
  every article and store it; no search index, no publishers (what is compared is the
  ingest). CPU seconds are read from /proc for the workers (or `run`), the PostgreSQL backends
  serving the database, and the feed server. `--repeat N` runs the worker counts N times,
  in the order given and then reversed, in turn (the machine's speed drifts within minutes):
  each count's median run is reported, with every run's entries/s.
* claim — --claim-feeds feeds (1,000 hosts) made by bulk SQL, all due; then 300 claims of 100
  feeds as a worker makes them (`claim_feeds`, per-host limit 8), each followed by what the
  worker does after its fetches (each feed's next check saved, the leases released), untimed;
  the claim's latency p50/p95/max.
* api — --api-feeds × --api-per-feed entries (and their articles) made by bulk SQL
  (`pg_archive.build`, its time reported), a user and token, `newsdesk serve --no-scheduler`
  on it; 30 warm-up then 300 sequential `GET /api/v1/entries?status=unread&limit=50`, and as
  many of one feed's page (`&feed=KEY`): latency p50/p95.

The load average is recorded beside each result (the machine is shared). Results are printed
as JSON and written to --work/results-<time>.json.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import json
import os
import platform
import re
import resource
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parent))

import psycopg
from pg_archive import build, create_database, drop_database
from serve_load import free_port, http_get, machine_speed, wait_for

from newsdesk import accounts
from newsdesk.config import load_config
from newsdesk.models import FeedSchedule
from newsdesk.store.postgres import PostgresStore

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def cpu_seconds(pid: int) -> float:
    """A live process's CPU seconds, with those of its children it waited for."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return sum(int(f) for f in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def children_cpu() -> float:
    """CPU seconds of this process's children (and theirs) that were waited for."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


PR_SET_CHILD_SUBREAPER = 36


def become_subreaper() -> None:
    """Orphans of this process's children become its own (Linux), so their CPU is counted:
    `newsdesk run` computes insights in processes of a fork server, which outlives `run` by a
    moment and is no child of it to wait for; without this its CPU (the insights stage's)
    went uncounted, and `run` looked to cost half what it does."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise SystemExit(f"prctl(PR_SET_CHILD_SUBREAPER): {os.strerror(ctypes.get_errno())}")


def reap_orphans(keep: set[int], deadline: float = 60.0) -> None:
    """Wait for every child of this process not in `keep` (orphans it took in), so their
    CPU is in `children_cpu`."""
    end = time.monotonic() + deadline
    me = str(os.getpid())
    while True:
        orphans = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                ppid = stat.read_text().rsplit(")", 1)[1].split()[1]
            except (OSError, IndexError):
                continue
            pid = int(stat.parent.name)
            if ppid == me and pid not in keep:
                orphans.append(pid)
        if not orphans:
            return
        for pid in orphans:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, os.WNOHANG)
        if time.monotonic() > end:
            raise SystemExit(f"processes {orphans} left by `newsdesk run` still run after {deadline} s")
        time.sleep(0.05)


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def write_config(work: Path, database: str, port: int, feeds: int, extra: list[str] | None = None) -> Path:
    lines = [
        f"database: {database}",
        "search_index: false",
        "publishers: []",
        "hexo_dir: posts",
        "site_dir: site",
        "fetch:",
        "  per_host: 200",
        "  timeout: 60",
        "  deadline: 300",
        *(extra or []),
        "groups:" if feeds else "groups: {}",
        *(["  bench:"] if feeds else []),
    ]
    for s in range(0, feeds, 100):
        lines.append(f"    s{s // 100}:")
        for n in range(s, min(s + 100, feeds)):
            lines += [f"      - name: f{n}", f"        url: http://127.0.0.1:{port}/feed/{n}.xml"]
    path = work / f"bench-{abs(hash(database)) % 10**8}.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def pg_backends(conn: psycopg.Connection[Any]) -> list[int]:
    """The server processes serving the database of `conn`, its own not counted."""
    rows = conn.execute(
        "SELECT pid FROM pg_stat_activity WHERE datname=current_database() AND pid <> pg_backend_pid()"
    ).fetchall()
    return [int(r[0]) for r in rows]


class Progress:
    """The timed archive's progress, read on one connection kept open (a connection a look, five
    looks a second, was a server process started each time, beside the workers measured)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.conn = psycopg.connect(url, autocommit=True)

    def entries_at_least(self, expected: int) -> bool:
        """Whether the archive holds `expected` entries: the feeds' counts (PG 0027's trigger
        keeps them) while they are short of it, a count of the entries once they are not (a
        count of the table each look was ~3 ms of the server's at 50,000 entries, five a second)."""
        row = self.conn.execute("SELECT COALESCE(SUM(entries), 0) FROM feed_counts").fetchone()
        if row is None or int(row[0]) < expected:
            return False
        return int(self.conn.execute("SELECT COUNT(*) FROM entries").fetchone()[0]) >= expected  # type: ignore[index]

    def insights_done(self) -> bool:
        """No entry's insights pending (`Store.pending_insights`, which reads every entry, asked
        only once there are as many insights rows as articles: each entry here is new once)."""
        row = self.conn.execute(
            "SELECT (SELECT COUNT(*) FROM insights) >= (SELECT COUNT(*) FROM articles)"
        ).fetchone()
        if row is None or not row[0]:
            return False
        store = PostgresStore(f"{self.url}?pool_min=1&pool_max=1")
        try:
            return not store.pending_insights()
        finally:
            store.close()

    def close(self) -> None:
        self.conn.close()


# ingest ---------------------------------------------------------------------------------------
def ingest(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    port = free_port()
    site_log = (work / "feed_site.log").open("w")
    site = subprocess.Popen(
        [
            *(PY, str(ROOT / "bench" / "feed_site.py"), "--port", str(port)),
            *("--feeds", str(args.feeds), "--items", str(args.items), "--ttl", "0"),
        ],
        stdout=site_log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for("feed site", lambda: http_get(f"http://127.0.0.1:{port}/_stats")[0] == 200, 60, site)
        expected = args.feeds * args.items
        # Every body built once before timing (the site builds bodies on first request).
        for n in range(args.feeds):
            http_get(f"http://127.0.0.1:{port}/feed/{n}.xml")
        out: dict[str, Any] = {"feeds": args.feeds, "items": args.items, "entries": expected}
        if not args.no_sqlite:
            out["sqlite_run"] = _ingest_sqlite(work, port, site.pid, args.feeds, expected)
            print(json.dumps({"sqlite_run": out["sqlite_run"]}), flush=True)
        runs: dict[int, list[dict[str, Any]]] = {n: [] for n in args.workers}
        for rep in range(args.repeat):
            # The order reversed every other time: the machine's speed drifts within minutes.
            for n in args.workers if rep % 2 == 0 else args.workers[::-1]:
                result = _ingest_workers(args, work, port, site.pid, n, expected)
                runs[n].append(result)
                print(json.dumps({f"pg_{n}_workers": result}), flush=True)
        for n, each in runs.items():
            out[f"pg_{n}_workers"] = each[0] if len(each) == 1 else _median_run(each)
        return out
    finally:
        site.terminate()
        site.wait()


def _median_run(each: list[dict[str, Any]]) -> dict[str, Any]:
    """Repeated runs of one worker count: the median's figures, and every run's entries/s."""
    ranked = sorted(each, key=lambda r: r["entries_per_s"])
    return {
        **ranked[len(ranked) // 2],
        "entries_per_s_median": statistics.median(r["entries_per_s"] for r in each),
        "entries_per_s_runs": [r["entries_per_s"] for r in each],
    }


def _ingest_sqlite(work: Path, port: int, site_pid: int, feeds: int, expected: int) -> dict[str, Any]:
    db = work / "sqlite.db"
    for p in work.glob("sqlite.db*"):
        p.unlink()
    config = write_config(work, str(db), port, feeds)
    site0, load0, cpu0 = cpu_seconds(site_pid), load(), children_cpu()
    started = time.perf_counter()
    run = subprocess.run(
        [PY, "-m", "newsdesk", "--config", str(config), "run"],
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - started
    if run.returncode not in (0, 3):
        raise SystemExit(f"newsdesk run: exit {run.returncode}\n{run.stderr[-3000:]}")
    reap_orphans({site_pid})
    return {
        "seconds": round(seconds, 1),
        "entries_per_s": round(expected / seconds),
        # `run` and every process it started (the insights stage's among them): see become_subreaper.
        "cpu_run_s": round(children_cpu() - cpu0, 1),
        "cpu_feed_server_s": round(cpu_seconds(site_pid) - site0, 1),
        "load_before": load0,
        "load_after": load(),
    }


def _ingest_workers(
    args: argparse.Namespace, work: Path, port: int, site_pid: int, n: int, expected: int
) -> dict[str, Any]:
    url = f"{args.server}/{args.db_prefix}_ingest"
    create_database(url)
    config = write_config(work, url, port, args.feeds)
    store = PostgresStore(url)
    try:
        store.apply_config(load_config(config).feeds(), datetime.now(UTC))
    finally:
        store.close()
    site0, load0 = cpu_seconds(site_pid), load()
    logs = [(work / f"worker-{n}-{i}.log").open("w") for i in range(n)]
    started = time.perf_counter()
    procs = [
        subprocess.Popen(
            [
                PY,
                "-m",
                "newsdesk",
                "--config",
                str(config),
                "worker",
                "--poll",
                "0.2",
                "--batch",
                str(args.batch),
            ],
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
        for log in logs
    ]
    progress = Progress(url)
    try:
        wait_for(f"{n} workers' entries", lambda: progress.entries_at_least(expected), 1200)
        stored = time.perf_counter() - started
        while not progress.insights_done():
            if time.perf_counter() - started > 1200:
                raise SystemExit(f"{n} workers' insights: not caught up after 1200 s")
            time.sleep(0.2)
        seconds = time.perf_counter() - started
        backends = pg_backends(progress.conn)
        result = {
            "seconds": round(seconds, 1),
            "entries_per_s": round(expected / seconds),
            "entries_stored_s": round(stored, 1),
            "cpu_workers_s": round(sum(cpu_seconds(p.pid) for p in procs), 1),
            "cpu_postgres_s": round(sum(cpu_seconds(pid) for pid in backends), 1),
            "cpu_feed_server_s": round(cpu_seconds(site_pid) - site0, 1),
            "load_before": load0,
            "load_after": load(),
        }
    finally:
        progress.close()
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait()
    return result


# claim ----------------------------------------------------------------------------------------
def claim(args: argparse.Namespace) -> dict[str, Any]:
    url = f"{args.server}/{args.db_prefix}_claim"
    create_database(url)
    now = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    load0 = load()
    started = time.perf_counter()
    store = PostgresStore(url)
    try:
        store.fill_synthetic(args.claim_feeds, 0, now)
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE")
        built = time.perf_counter() - started
        times: list[float] = []
        for i in range(300):
            t = time.perf_counter()
            got = store.claim_feeds("bench", now, now + timedelta(minutes=10), limit=100, per_host=8)
            times.append((time.perf_counter() - t) * 1000)
            for f in got:
                store.save_schedule(FeedSchedule(f.key, now + timedelta(hours=1, seconds=i), 3600.0, "bench"))
            store.release_feeds("bench", [f.key for f in got])
    finally:
        store.close()
    return {
        "feeds": args.claim_feeds,
        "build_s": round(built, 1),
        "claims": len(times),
        "p50_ms": round(statistics.median(times), 2),
        "p95_ms": round(pct(times, 95), 2),
        "max_ms": round(max(times), 2),
        "load_before": load0,
        "load_after": load(),
    }


# api ------------------------------------------------------------------------------------------
def api(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    url = f"{args.server}/{args.db_prefix}_api"
    out: dict[str, Any] = {}
    if not args.reuse_api:
        create_database(url)
        out["build"] = build(url, args.api_feeds, args.api_per_feed) | {"load_after": load()}
        print(json.dumps(out), flush=True)
    store = PostgresStore(url)
    try:
        now = datetime.now(UTC)
        name = f"bench{int(time.time())}"
        user = store.add_user(name, accounts.hash_password("bench-password"), admin=True, now=now)
        token = accounts.new_token()
        store.add_token(user.id, accounts.secret_hash(token), label="bench", now=now)
        out["entries"] = store.archive_counts()["entries"]
    finally:
        store.close()
    config = write_config(work, url, 0, 0, ["serve:", "  host: 127.0.0.1", f"  port: {free_port()}"])
    log = (work / "serve.log").open("w")
    serve = subprocess.Popen(
        [PY, "-m", "newsdesk", "--config", str(config), "serve", "--no-scheduler"],
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
    )
    try:
        assert serve.stdout is not None
        line = serve.stdout.readline()
        found = re.search(r"serving on (http://\S+?)/? ", line + " ")
        if not found:
            raise SystemExit(f"serve: {line}")
        base = found.group(1).rstrip("/")
        wait_for("serve", lambda: http_get(f"{base}/healthz")[0] == 200, 60, None)
        key = f"bench/s7/f{min(777, args.api_feeds - 1)}"
        for what, path in [
            ("entries_unread_first_page", "/api/v1/entries?status=unread&limit=50"),
            ("entries_one_feed_page", f"/api/v1/entries?status=unread&limit=50&feed={quote(key)}"),
        ]:
            load0 = load()
            for _ in range(30):
                status, _body = http_get(base + path, token)
                assert status == 200, (status, _body[:300])
            times = []
            for _ in range(300):
                t = time.perf_counter()
                status, body = http_get(base + path, token)
                times.append((time.perf_counter() - t) * 1000)
                assert status == 200
            assert json.loads(body)["entries"], what
            out[what] = {
                "p50_ms": round(statistics.median(times), 1),
                "p95_ms": round(pct(times, 95), 1),
                "load_before": load0,
                "load_after": load(),
            }
            print(json.dumps({what: out[what]}), flush=True)
    finally:
        serve.terminate()
        serve.wait()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--phases", default="claim,ingest,api", help="run in this order")
    ap.add_argument("--feeds", type=int, default=1000)
    ap.add_argument("--items", type=int, default=50)
    ap.add_argument("--workers", default="1,2,4")
    ap.add_argument("--no-sqlite", action="store_true", help="ingest: the workers only, not `newsdesk run`")
    ap.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="ingest: run the worker counts this many times, the order reversed every other time;"
        " each count's median run is reported, with every run's entries/s",
    )
    ap.add_argument("--batch", type=int, default=50)
    ap.add_argument("--claim-feeds", type=int, default=100_000)
    ap.add_argument("--api-feeds", type=int, default=20_000)
    ap.add_argument("--api-per-feed", type=int, default=50)
    ap.add_argument("--reuse-api", action="store_true", help="the api phase's archive is there already")
    ap.add_argument("--server", default="postgresql://postgres@127.0.0.1:5432")
    ap.add_argument("--db-prefix", default="pg_workers_bench", help="the databases' names: PREFIX_claim, …")
    ap.add_argument("--drop", action="store_true", help="drop its databases at the end")
    ap.add_argument("--work", type=Path, default=Path("/tmp/pg-workers-bench"))
    args = ap.parse_args()
    args.workers = [int(x) for x in args.workers.split(",")]
    if args.repeat < 1:
        raise SystemExit(f"--repeat {args.repeat}: at least 1")
    args.work.mkdir(parents=True, exist_ok=True)
    become_subreaper()
    with psycopg.connect(f"{args.server}/test") as conn:
        server_version = conn.execute("SHOW server_version").fetchone()[0]  # type: ignore[index]
    results: dict[str, Any] = {
        "versions": {
            "python": platform.python_version(),
            "postgresql": server_version,
            "psycopg": psycopg.__version__,
        },
        "cpus": os.cpu_count(),
    }
    for phase in args.phases.split(","):  # in the order given
        if phase not in ("ingest", "claim", "api"):
            raise SystemExit(f"unknown phase {phase!r} (ingest, claim, api)")
        speed = machine_speed()  # seconds for a fixed loop, before and after (serve_load)
        if phase == "ingest":
            results["ingest"] = ingest(args, args.work)
        elif phase == "claim":
            results["claim"] = claim(args)
        else:
            results["api"] = api(args, args.work)
        results[phase]["machine_speed_s"] = [speed, machine_speed()]
        if phase == "claim":
            print(json.dumps({"claim": results["claim"]}), flush=True)
    if args.drop:
        for name in ("ingest", "claim", "api"):
            drop_database(f"{args.server}/{args.db_prefix}_{name}")
    text = json.dumps(results, indent=2, ensure_ascii=False)
    print(text)
    (args.work / f"results-{int(time.time())}.json").write_text(text)


if __name__ == "__main__":
    main()
