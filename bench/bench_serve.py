"""Service benchmark (issue 14): `newsdesk serve`'s API under load, its scheduler at 10,000 feeds,
and lemon24/reader's web app on the same entries, side by side.

    .venv/bin/python bench/bench_serve.py [--phases archive,entries,ingest,sched] [--seconds 15]
        [--rounds 2] [--feeds 1000] [--items 100] [--sched-feeds 10000] [--seed 0]
        [--work /tmp/newsdesk-bench-serve] [--reader-venv .venv-reader] [--no-reader]

Needs Debian's wrk (`apt-get install -y wrk`) and, for the baseline, reader in its own venv
(`make .venv-reader/.installed`: reader[app] 3.26, gunicorn, sgmllib3k). Phases:

* archive — 1,000 feeds × 100 synthetic articles (`feed_site.py`, deterministic for a seed)
  served on loopback; `newsdesk run` stores them once (100,000 entries, cleaned, indexed), and
  reader (`reader_side.py`) fetches the same feeds into its own database; with the sched phase,
  also the archive of 10,000 feeds × 10 articles. They are cached under --work (rebuilt when the
  schema's migrations change) and copied for each session, so every session starts alike.
* entries — `newsdesk serve` (the scheduler has nothing due) and reader's app under gunicorn
  (2 sync workers, one per core) side by side; wrk (1 thread, 1 and 16 connections) alternates
  between them: `GET /api/v1/entries?status=unread&limit=50` against reader's entry list page
  (`/`, unread, its fixed 64 per page); then `GET /api/v1/search` (ten queries in turn).
* ingest — serve again on a fresh copy, every feed due and publishing a new article every
  --live seconds, the scheduler checking each feed every 30–60 s (±50 % jitter): after two
  rounds of checks, the same entries load while it ingests.
* sched — the 10,000 feeds, all due at the start, checked every 300 s ± 10 %; the feed server
  answers 304. After the first round, the schedule (`newsdesk feeds list --json`) gives each
  feed's next check; the lag is when the feed server saw the feed's next request minus that
  time. The serve process's CPU is sampled every 0.5 s; "between fetches" counts the seconds in
  which the feed server saw no request.

Peak RSS is the serve process's own high-water mark (VmHWM: no child processes); its HTTP workers'
and its ingest process's (`serve.ingest: process`, the default; `--ingest thread` for the scheduler
on serve's thread) are reported apart. CPU figures add serve's ingest process to its own. Results are
printed as JSON and written to --work/results-<time>.json.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from serve_load import (
    Child,
    Sampler,
    free_port,
    http_get,
    machine_speed,
    proc_mem_kb,
    uptime,
    wait_for,
    wrk_run,
)

from cli_helpers import feeds_yaml  # the tests' config writer
from serve_helpers import listeners

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
NEWSDESK = Path(sys.executable).with_name("newsdesk")
GROUPS = ["金融", "宏观", "市场", "政策", "地方"]
ENTRIES_PATH = "/api/v1/entries?status=unread&limit=50"
SEARCH_QUERIES = [  # each finds entries in the archive (the search check fails a query that finds none)
    "专项债",
    "贷款市场报价利率",
    "逆回购",
    "超长期特别国债",
    "制造业 采购经理指数",
    '"集装箱码头"',
    "以旧换新",
    "国债收益率 -房地产",
    "專項債",  # Traditional: finds the Simplified text
    "社会消费品零售总额",
]
SCHED_ITEMS = 10  # articles in each of the scheduler phase's feeds
PASSWORD = "bench-password-不是秘密"


def log(msg: str) -> None:
    print(f"[{datetime.now():%H:%M:%S}] {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------- configs and processes


def bench_feeds(feed_port: int, feeds: int) -> list[tuple[str, str, str, str]]:
    """(group, site, name, url) of every feed: 5 groups × 20 sites (10 feeds a site at 1,000)."""
    out = []
    for n in range(feeds):
        group = GROUPS[n % len(GROUPS)]
        site = f"{group}站{n % 100 // len(GROUPS):02d}"
        out.append((group, site, f"基准源{n}", f"http://127.0.0.1:{feed_port}/feed/{n}.xml"))
    return out


def write_config(
    folder: Path,
    feed_port: int,
    feeds: int,
    *,
    serve_port: int = 0,
    schedule: dict[str, float] | None = None,
    workers: int = 1,
    ingest: str = "process",
    mmap_mb: int = 0,
) -> Path:
    lines = [
        "database: newsdesk.db",
        "hexo_dir: posts",
        "site_dir: site",
        "publishers: []",
        "fetch:",
        "  concurrency: 64",
        "  per_host: 64",
    ]
    if serve_port:
        lines += ["serve:", "  host: 127.0.0.1", f"  port: {serve_port}", f"  workers: {workers}"]
        lines.append(f"  ingest: {ingest}")
        lines.append(f"  sqlite_mmap_mb: {mmap_mb}")
    if schedule:
        lines.append("schedule:")
        lines += [f"  {k}: {v:g}" for k, v in schedule.items()]
    path = folder / "newsdesk.yaml"
    path.write_text(feeds_yaml(bench_feeds(feed_port, feeds), clean=True, head=lines), encoding="utf-8")
    return path


def newsdesk(
    config: Path, *args: str, stdin: str | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [str(NEWSDESK), "--config", str(config), *args],
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
    )
    if check and proc.returncode != 0:
        raise SystemExit(f"newsdesk {' '.join(args)} exited {proc.returncode}: {proc.stderr[-2000:]}")
    return proc


def make_token(config: Path, database: Path) -> str:
    """An admin `bench` and a new API token: by the CLI (`users add`, `users token`), or through
    the store as the CLI does when this newsdesk has no `users` command yet."""
    if newsdesk(config, "users", "--help", check=False).returncode == 0:
        newsdesk(config, "users", "add", "bench", "--admin", stdin=PASSWORD + "\n")
        out = newsdesk(config, "users", "token", "bench").stdout.split()
        if not out:
            raise SystemExit("newsdesk users token bench printed nothing")
        return out[-1]
    from newsdesk import accounts
    from newsdesk.store import open_store

    now = datetime.now(UTC)
    store = open_store(str(database))
    try:
        user = store.add_user("bench", accounts.hash_password(PASSWORD), admin=True, now=now)
        token = accounts.new_token()
        store.add_token(user.id, accounts.secret_hash(token), label="bench", now=now)
    finally:
        store.close()
    return token


def make_all_due(database: Path) -> int:
    """Make every feed of the archive due now (as `POST /feeds/{key}/refresh` would): the
    archive's `newsdesk run` scheduled them by its own clock and bounds."""
    from newsdesk.store import open_store

    now = datetime.now(UTC)
    store = open_store(str(database))
    try:
        return sum(store.refresh_feed(feed.key, now) for feed in store.catalogue())
    finally:
        store.close()


def start_feed_site(
    work: Path, port: int, feeds: int, items: int, seed: int, *, live: float = 0.0, ttl: int = 5
) -> Child:
    child = Child(
        "feed site",
        [
            sys.executable,
            str(HERE / "feed_site.py"),
            "--port",
            str(port),
            "--feeds",
            str(feeds),
            "--items",
            str(items),
            "--seed",
            str(seed),
            "--live",
            str(live),
            "--ttl",
            str(ttl),
        ],
        work / f"feed-site-{port}.log",
    ).start()
    child.wait_http(f"http://127.0.0.1:{port}/_stats", deadline=30)
    return child


def feed_stats(port: int, since: int = -1) -> dict[str, Any]:
    status, body = http_get(f"http://127.0.0.1:{port}/_stats?since={since}")
    if status != 200:
        raise SystemExit(f"feed site on {port}: /_stats answered {status}")
    out: dict[str, Any] = json.loads(body)
    return out


def copy_archive(src: Path, dst: Path) -> None:
    if dst.exists():
        shutil.rmtree(dst)
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("newsdesk.yaml", "*.log"))


class Serve:
    """`newsdesk serve` on a copy of an archive, with a bench user and its token."""

    def __init__(self, folder: Path, config: Path, port: int) -> None:
        self.folder, self.config, self.port = folder, config, port
        self.base = f"http://127.0.0.1:{port}"
        self.token = make_token(config, folder / "newsdesk.db")
        self.child = Child(
            "newsdesk serve", [str(NEWSDESK), "--config", str(config), "serve"], folder / "serve.log"
        )

    def start(self) -> Serve:
        t0 = time.monotonic()
        self.child.start()
        self.child.wait_http(self.base + "/readyz", deadline=300)
        self.ready_seconds = round(time.monotonic() - t0, 1)
        status, body = http_get(self.base + ENTRIES_PATH, self.token)
        if status != 200:
            raise SystemExit(f"GET {ENTRIES_PATH} answered {status}: {body[:300]!r}")
        self.first_page = {"entries": len(json.loads(body)["entries"]), "bytes": len(body)}
        return self

    def peak_rss_mb(self) -> float:
        return round(proc_mem_kb(self.child.pid)["VmHWM"] / 1024, 1)

    def ingest_pids(self) -> list[int]:
        """The ingest process (`serve.ingest: process`), once it has started: it logs its pid."""
        if "ingest: thread" in self.config.read_text(encoding="utf-8"):
            return []

        found: list[str] = []

        def started() -> bool:
            text = (self.folder / "serve.log").read_text("utf-8", "replace")
            found[:] = re.findall(r"event=ingest outcome=started pid=(\d+)", text)
            return bool(found)

        wait_for("serve's ingest process", started, deadline=60)
        return [int(found[-1])]

    def ingest_peak_rss_mb(self) -> list[float]:
        return [round(proc_mem_kb(pid)["VmHWM"] / 1024, 1) for pid in self.ingest_pids()]

    def worker_peak_rss_mb(self) -> list[float]:
        """The HTTP worker processes' own peaks (`serve.workers` > 1: they listen on its port)."""
        pids = listeners(self.port) - {self.child.pid}
        return sorted(round(proc_mem_kb(pid)["VmHWM"] / 1024, 1) for pid in pids)

    def stop(self) -> dict[str, Any]:
        t0 = time.monotonic()
        code = self.child.stop(timeout=30)
        return {"exit_status": code, "stop_seconds": round(time.monotonic() - t0, 1)}


# ---------------------------------------------------------------- phases


def _migrations() -> list[str]:
    """The schema's migrations, by name and content (one edited in place changes the schema too),
    and the search index's schema version (another makes serve rebuild the index at start)."""
    from newsdesk.search.index import SCHEMA_VERSION

    return [
        f"{p.name}:{hashlib.sha1(p.read_bytes()).hexdigest()[:12]}"
        for p in sorted((ROOT / "src/newsdesk/store/sqlite/migrations").glob("*.sql"))
    ] + [f"search index schema {SCHEMA_VERSION}"]


def _cached(folder: Path) -> bool:
    """The archive in `folder` was built, by a newsdesk with today's schema (an older one would be
    migrated, and backed up first, at every session's start)."""
    done = folder / "done.json"
    return done.exists() and json.loads(done.read_text()).get("migrations") == _migrations()


def build_archive(folder: Path, feed_port: int, feeds: int, items: int) -> None:
    """`newsdesk run` once over the feed server's feeds into a new archive in `folder`."""
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    config = write_config(folder, feed_port, feeds)
    log(f"newsdesk run: {feeds} feeds × {items} items into {folder}")
    t0 = time.perf_counter()
    run = newsdesk(config, "run", "--json", check=False)
    seconds = time.perf_counter() - t0
    if run.returncode != 0:
        raise SystemExit(f"newsdesk run exited {run.returncode}: {run.stderr[-2000:]}")
    totals = json.loads(run.stdout)["totals"]
    done = {"seconds": round(seconds, 1), "totals": totals, "migrations": _migrations()}
    (folder / "done.json").write_text(json.dumps(done))


def phase_archive(args: argparse.Namespace) -> dict[str, Any]:
    """Build (or reuse) the newsdesk archive and reader's database of the same feeds."""
    out: dict[str, Any] = {}
    nd, rd = args.archive_dir, args.reader_dir
    site: Child | None = None
    try:
        if not _cached(nd):
            site = start_feed_site(args.work, args.feed_port, args.feeds, args.items, args.seed)
            build_archive(nd, args.feed_port, args.feeds, args.items)
        out["newsdesk"] = json.loads((nd / "done.json").read_text())
        if args.reader:
            if not (rd / "done.json").exists():
                if rd.exists():
                    shutil.rmtree(rd)
                rd.mkdir(parents=True)
                site = site or start_feed_site(args.work, args.feed_port, args.feeds, args.items, args.seed)
                log(f"reader: {args.feeds} feeds into {rd}")
                proc = subprocess.run(
                    [
                        str(args.reader_venv / "bin/python"),
                        str(HERE / "reader_side.py"),
                        "--db",
                        str(rd / "reader.sqlite"),
                        "--base",
                        f"http://127.0.0.1:{args.feed_port}",
                        "--feeds",
                        str(args.feeds),
                        "--workers",
                        "8",
                    ],
                    capture_output=True,
                    text=True,
                    check=False,
                )
                if proc.returncode != 0:
                    raise SystemExit(f"reader_side.py exited {proc.returncode}: {proc.stderr[-2000:]}")
                (rd / "done.json").write_text(proc.stdout.strip().splitlines()[-1])
            out["reader"] = json.loads((rd / "done.json").read_text())
    finally:
        if site is not None:
            site.stop()
    if "sched" in args.phases:
        archive = args.sched_archive
        if not _cached(archive):
            site = start_feed_site(
                args.work, args.feed_port + 1, args.sched_feeds, SCHED_ITEMS, args.seed, ttl=0
            )
            try:
                build_archive(archive, args.feed_port + 1, args.sched_feeds, SCHED_ITEMS)
            finally:
                site.stop()
        out["sched_archive"] = json.loads((archive / "done.json").read_text())
    return out


def start_reader(args: argparse.Namespace) -> tuple[Child, str]:
    folder = args.work / "run-reader"
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    shutil.copy2(args.reader_dir / "reader.sqlite", folder / "reader.sqlite")
    port = free_port()
    env = dict(os.environ, READER_URL=str(folder / "reader.sqlite"), READER_CONFIG=str(folder / "none.toml"))
    child = Child(
        "reader (gunicorn)",
        [
            str(args.reader_venv / "bin/gunicorn"),
            "-w",
            str(args.reader_workers),
            "-b",
            f"127.0.0.1:{port}",
            "reader._app.wsgi:app",
        ],
        folder / "gunicorn.log",
        env=env,
        cwd=folder,
    ).start()
    base = f"http://127.0.0.1:{port}"
    child.wait_http(base + "/", deadline=180)
    return child, base


def _runs_summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Medians over repeated runs of one configuration."""
    return {
        "runs": len(runs),
        "requests_per_second": round(statistics.median(r["requests_per_second"] for r in runs), 1),
        "p50_ms": round(statistics.median(r["p50_ms"] for r in runs), 2),
        "p95_ms": round(statistics.median(r["p95_ms"] for r in runs), 2),
        "p99_ms": round(statistics.median(r["p99_ms"] for r in runs), 2),
        "errors": sum(r["non2xx"] + r["socket_errors"] for r in runs),
        "each": [
            {
                k: r[k]
                for k in (
                    "requests_per_second",
                    "p50_ms",
                    "p95_ms",
                    "non2xx",
                    "socket_errors",
                    "load1_before",
                )
            }
            for r in runs
        ],
    }


def phase_entries(args: argparse.Namespace) -> dict[str, Any]:
    folder = args.work / "run-newsdesk"
    copy_archive(args.archive_dir, folder)
    site = start_feed_site(args.work, args.feed_port, args.feeds, args.items, args.seed)
    reader: Child | None = None
    serve: Serve | None = None
    out: dict[str, Any] = {}
    try:
        config = write_config(
            folder,
            args.feed_port,
            args.feeds,
            serve_port=(port := free_port()),
            workers=args.workers,
            ingest=args.ingest,
            mmap_mb=args.mmap_mb,
        )
        serve = Serve(folder, config, port).start()
        out["serve_ready_seconds"] = serve.ready_seconds
        out["first_page"] = serve.first_page
        sampler = Sampler(serve.child.pid, also=serve.ingest_pids())
        sampler.start()
        # The scheduler's first look at the feeds (304s) ends before the load starts.
        quiet_since(args.feed_port, quiet=5.0, deadline=120.0)
        out["feed_site_before_load"] = feed_stats(args.feed_port)
        rbase = None
        if args.reader:
            reader, rbase = start_reader(args)
            status, body = http_get(rbase + "/")
            out["reader_first_page"] = {"status": status, "bytes": len(body)}
        nd_runs: dict[int, list[dict[str, Any]]] = {1: [], 16: []}
        rd_runs: dict[int, list[dict[str, Any]]] = {1: [], 16: []}
        wrk_run(serve.base, [ENTRIES_PATH], connections=16, seconds=3, token=serve.token)  # warm-up
        if rbase:
            wrk_run(rbase, ["/"], connections=16, seconds=3)
        out["uptime_start"] = uptime()
        out["machine_speed_start_s"] = machine_speed()  # seconds for a fixed loop (serve_load)
        for rnd in range(args.rounds):
            for c in (16, 1):
                log(f"round {rnd + 1}: newsdesk entries, {c} clients")
                nd_runs[c].append(
                    wrk_run(
                        serve.base, [ENTRIES_PATH], connections=c, seconds=args.seconds, token=serve.token
                    )
                )
                if rbase:
                    log(f"round {rnd + 1}: reader entry list, {c} clients")
                    rd_runs[c].append(wrk_run(rbase, ["/"], connections=c, seconds=args.seconds))
        out["newsdesk_entries"] = {str(c): _runs_summary(r) for c, r in nd_runs.items()}
        if rbase:
            out["reader_entries"] = {str(c): _runs_summary(r) for c, r in rd_runs.items()}
            out["ratio_requests_per_second"] = {
                str(c): round(
                    out["newsdesk_entries"][str(c)]["requests_per_second"]
                    / out["reader_entries"][str(c)]["requests_per_second"],
                    1,
                )
                for c in (1, 16)
            }
        search_paths = [f"/api/v1/search?q={quote(q)}" for q in SEARCH_QUERIES]
        out["search_check"] = []
        for p in search_paths:
            status, body = http_get(serve.base + p, serve.token)
            hits = len(json.loads(body)["hits"]) if status == 200 else 0
            out["search_check"].append({"path": p, "status": status, "hits": hits})
            if status != 200 or not hits:
                raise SystemExit(f"GET {p} answered {status} with {hits} hits: {body[:300]!r}")
        search: dict[int, list[dict[str, Any]]] = {1: [], 16: []}
        for rnd in range(args.rounds):
            for c in (1, 16):
                log(f"round {rnd + 1}: newsdesk search, {c} clients")
                search[c].append(
                    wrk_run(serve.base, search_paths, connections=c, seconds=args.seconds, token=serve.token)
                )
        out["newsdesk_search"] = {str(c): _runs_summary(r) for c, r in search.items()}
        out["uptime_end"] = uptime()
        out["machine_speed_end_s"] = machine_speed()
        sampler.finish()
        out["serve_peak_rss_mb"] = serve.peak_rss_mb()
        out["http_workers_peak_rss_mb"] = serve.worker_peak_rss_mb()
        out["ingest_peak_rss_mb"] = serve.ingest_peak_rss_mb()
        out["serve_cpu_percent_whole_session"] = sampler.cpu_percent(
            sampler.samples[0][1], sampler.samples[-1][1]
        )
    finally:
        if reader is not None:
            reader.stop()
        if serve is not None:
            out["stop"] = serve.stop()
        site.stop()
    return out


def quiet_since(feed_port: int, *, quiet: float, deadline: float) -> float:
    """Wait until the feed server has seen no request for `quiet` seconds; how long that took."""
    t0 = time.monotonic()
    last = (feed_stats(feed_port)["requests"], time.monotonic())

    def check() -> bool:
        nonlocal last
        n = feed_stats(feed_port)["requests"]
        if n != last[0]:
            last = (n, time.monotonic())
        return time.monotonic() - last[1] >= quiet

    wait_for("the scheduler's first round", check, deadline)
    return time.monotonic() - t0


def phase_ingest(args: argparse.Namespace) -> dict[str, Any]:
    folder = args.work / "run-newsdesk-ingest"
    copy_archive(args.archive_dir, folder)
    make_all_due(folder / "newsdesk.db")
    site = start_feed_site(
        args.work, args.feed_port, args.feeds, args.items, args.seed, live=args.live, ttl=0
    )
    out: dict[str, Any] = {"live_seconds": args.live}
    serve: Serve | None = None
    try:
        # The widest jitter spreads the feeds over time, so that fetching never pauses for long.
        schedule = {"new_feed": 30, "min_interval": 30, "max_interval": 60, "jitter": 0.5}
        out["schedule"] = schedule
        config = write_config(
            folder,
            args.feed_port,
            args.feeds,
            serve_port=(port := free_port()),
            schedule=schedule,
            workers=args.workers,
            ingest=args.ingest,
            mmap_mb=args.mmap_mb,
        )
        serve = Serve(folder, config, port).start()
        sampler = Sampler(serve.child.pid, also=serve.ingest_pids())
        sampler.start()
        # Two rounds of checks first: by then the jitter has spread the feeds and ingesting is steady.
        wait_for(
            "the ingest's second round",
            lambda: feed_stats(args.feed_port)["requests"] >= args.feeds * 2,
            deadline=300,
        )
        out["uptime_start"] = uptime()
        out["machine_speed_start_s"] = machine_speed()  # seconds for a fixed loop (serve_load)
        runs: dict[int, list[dict[str, Any]]] = {1: [], 16: []}
        ingest: list[dict[str, Any]] = []
        for rnd in range(args.rounds):
            for c in (16, 1):
                before = feed_stats(args.feed_port)
                log(f"round {rnd + 1}: newsdesk entries while ingesting, {c} clients")
                r = wrk_run(
                    serve.base, [ENTRIES_PATH], connections=c, seconds=args.seconds, token=serve.token
                )
                after = feed_stats(args.feed_port)
                secs = r["wall"][1] - r["wall"][0]
                ingest.append(
                    {
                        "clients": c,
                        "feed_fetches_per_second": round((after["requests"] - before["requests"]) / secs, 1),
                        "feeds_changed_per_second": round((after["ok"] - before["ok"]) / secs, 1),
                        "new_articles_fetched_per_second": round(
                            (after["new_live_items"] - before["new_live_items"]) / secs, 1
                        ),
                        "serve_cpu_percent": sampler.cpu_percent(r["wall"][0], r["wall"][1]),
                    }
                )
                runs[c].append(r)
        out["newsdesk_entries_ingesting"] = {str(c): _runs_summary(r) for c, r in runs.items()}
        out["ingest_during_runs"] = ingest
        out["uptime_end"] = uptime()
        out["machine_speed_end_s"] = machine_speed()
        sampler.finish()
        out["serve_peak_rss_mb"] = serve.peak_rss_mb()
        out["http_workers_peak_rss_mb"] = serve.worker_peak_rss_mb()
        out["ingest_peak_rss_mb"] = serve.ingest_peak_rss_mb()
        out["feed_site_end"] = {k: v for k, v in feed_stats(args.feed_port).items() if k != "log"}
    finally:
        if serve is not None:
            out["stop"] = serve.stop()
        site.stop()
    return out


def _schedule_snapshot(config: Path) -> dict[int, float]:
    """feed number → next check (epoch seconds), from `newsdesk feeds list --json`."""
    data = json.loads(newsdesk(config, "feeds", "list", "--json").stdout)
    rows: list[dict[str, Any]] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if any("next" in k for k in node) and any(
                isinstance(v, str) and "/feed/" in v for v in node.values()
            ):
                rows.append(node)
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(data)
    out: dict[int, float] = {}
    for row in rows:
        url = next(v for v in row.values() if isinstance(v, str) and "/feed/" in v)
        key = next(k for k in row if "next" in k)
        if row[key]:
            n = int(url.rsplit("/feed/", 1)[1].split(".")[0])
            out[n] = datetime.fromisoformat(str(row[key]).replace("Z", "+00:00")).timestamp()
    return out


def _logged_lags(path: Path, since: float) -> list[float]:
    """The lag serve logs with each fetch (`event=fetch ... lag=S`), of the fetches after `since`."""
    lags = []
    for line in path.read_text("utf-8", "replace").splitlines():
        if "event=fetch" not in line or " lag=" not in line:
            continue
        try:
            when = datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f").astimezone().timestamp()
            lag = float(line.rsplit(" lag=", 1)[1].split()[0])
        except ValueError:
            continue
        if when >= since:
            lags.append(lag)
    return lags


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))]


def phase_sched(args: argparse.Namespace) -> dict[str, Any]:
    """10,000 feeds already in the archive (their validators known: the feed server answers 304),
    each checked every 300 s ± 10 %: the first round at the start, then a quiet stretch, then the
    second round, whose lag is measured against the schedule read between the two."""
    feeds, items = args.sched_feeds, SCHED_ITEMS
    port_feeds = args.feed_port + 1
    archive = args.sched_archive
    site = start_feed_site(args.work, port_feeds, feeds, items, args.seed, ttl=0)
    schedule = {"new_feed": 300, "min_interval": 300, "max_interval": 300, "jitter": 0.1}
    out: dict[str, Any] = {"feeds": feeds, "items_per_feed": items, "schedule": schedule}
    serve: Serve | None = None
    try:
        if not _cached(archive):
            build_archive(archive, port_feeds, feeds, items)
        out["archive"] = json.loads((archive / "done.json").read_text())
        mark0 = feed_stats(port_feeds)["log_length"]
        folder = args.work / "run-sched"
        copy_archive(archive, folder)
        make_all_due(folder / "newsdesk.db")
        port = free_port()
        config = write_config(
            folder,
            port_feeds,
            feeds,
            serve_port=port,
            schedule=schedule,
            workers=args.workers,
            ingest=args.ingest,
            mmap_mb=args.mmap_mb,
        )
        serve = Serve(folder, config, port)
        out["uptime_start"] = uptime()
        out["machine_speed_start_s"] = machine_speed()  # seconds for a fixed loop (serve_load)
        t_start = time.time()
        serve.start()
        out["serve_ready_seconds"] = serve.ready_seconds
        sampler = Sampler(serve.child.pid, also=serve.ingest_pids())
        sampler.start()

        def seen_since(mark: int, after: float) -> set[int]:
            return {n for t, n in feed_stats(port_feeds, mark)["log"] if t >= after}

        wait_for("the first round", lambda: len(seen_since(mark0, t_start)) >= feeds, deadline=600)
        first = [t for t, _ in feed_stats(port_feeds, mark0)["log"]]
        out["first_round_seconds_after_start"] = round(max(first) - t_start, 1)
        own_first = _logged_lags(folder / "serve.log", 0)
        if own_first:
            out["first_round_lag_logged_by_serve"] = {
                "fetches": len(own_first),
                "p50": round(_percentile(own_first, 50), 2),
                "p95": round(_percentile(own_first, 95), 2),
            }
        snap_at = time.time()
        schedule_now = _schedule_snapshot(config)
        out["schedule_snapshot_feeds"] = len(schedule_now)
        mark = feed_stats(port_feeds)["log_length"]
        log(f"sched: first round done; {len(schedule_now)} next checks; waiting for the second round")
        wait_for(
            "the second round",
            lambda: len(seen_since(mark, snap_at)) >= len(schedule_now),
            deadline=max(schedule_now.values()) - time.time() + 300,
        )
        t_end = time.time()
        log_all = feed_stats(port_feeds, mark0)["log"]
        firsts: dict[int, float] = {}
        for t, n in feed_stats(port_feeds, mark)["log"]:
            if t >= snap_at and n not in firsts:
                firsts[n] = t
        lags = [firsts[n] - due for n, due in schedule_now.items() if n in firsts]
        out["second_round_lag_seconds"] = {
            "feeds": len(lags),
            "p50": round(_percentile(lags, 50), 2),
            "p95": round(_percentile(lags, 95), 2),
            "max": round(max(lags), 2),
            "min": round(min(lags), 2),
            "early_by_more_than_1s": sum(1 for x in lags if x < -1),
        }
        own = _logged_lags(folder / "serve.log", snap_at)
        if own:
            out["second_round_lag_logged_by_serve"] = {
                "fetches": len(own),
                "p50": round(_percentile(own, 50), 2),
                "p95": round(_percentile(own, 95), 2),
                "max": round(max(own), 2),
            }
        # CPU between fetches: stretches in which the feed server saw no request (a second's
        # margin either side).
        busy = {int(t) for t, _ in log_all}
        quiet_cpu = quiet_wall = 0.0
        for a, b in itertools.pairwise(sampler.samples):
            if all(sec not in busy for sec in range(int(a[1]) - 1, int(b[1]) + 2)):
                quiet_cpu += b[2] - a[2]
                quiet_wall += b[1] - a[1]
        out["cpu_between_fetches"] = {
            "percent_of_one_core": round(100 * quiet_cpu / quiet_wall, 2) if quiet_wall else None,
            "quiet_seconds": round(quiet_wall, 1),
        }
        whole = sampler.cpu_percent(t_start, t_end)
        out["cpu_whole_session_percent"] = None if whole is None else round(whole, 1)
        _status, body = http_get(serve.base + "/metrics", serve.token)
        out["metrics_scheduler_lag"] = [
            line
            for line in body.decode("utf-8", "replace").splitlines()
            if line.startswith("newsdesk_scheduler_lag_seconds_") and "_created" not in line
        ]
        out["uptime_end"] = uptime()
        out["machine_speed_end_s"] = machine_speed()
        sampler.finish()
        out["serve_peak_rss_mb"] = serve.peak_rss_mb()
        out["http_workers_peak_rss_mb"] = serve.worker_peak_rss_mb()
        out["ingest_peak_rss_mb"] = serve.ingest_peak_rss_mb()
    finally:
        if serve is not None:
            out["stop"] = serve.stop()
        site.stop()
    return out


def versions(args: argparse.Namespace) -> dict[str, str]:
    out = {"python": platform.python_version(), "machine": f"{os.cpu_count()} cores, {platform.machine()}"}
    out["newsdesk"] = newsdesk_version()
    pip = subprocess.run(
        [str(NEWSDESK.with_name("pip")), "freeze"], capture_output=True, text=True, check=False
    )
    for line in pip.stdout.splitlines():
        name = line.split("==")[0].lower()
        if name in ("fastapi", "uvicorn", "starlette", "uvloop", "httptools", "tantivy", "aiohttp"):
            out[name] = line.split("==")[-1]
    wrk = subprocess.run(["wrk", "--version"], capture_output=True, text=True, check=False)
    out["wrk"] = (wrk.stdout or wrk.stderr).split("Copyright")[0].strip()
    if args.reader:
        rp = subprocess.run(
            [str(args.reader_venv / "bin/pip"), "freeze"], capture_output=True, text=True, check=False
        )
        for line in rp.stdout.splitlines():
            name = line.split("==")[0].lower()
            if name in ("reader", "flask", "gunicorn", "werkzeug"):
                out[f"baseline {name}"] = line.split("==")[-1]
    return out


def newsdesk_version() -> str:
    git = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
    )
    return git.stdout.strip() or "?"


def main() -> None:
    # SIGTERM ends the run through the finally clauses, which stop the servers it started.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--phases", default="archive,entries,ingest,sched")
    ap.add_argument("--seconds", type=float, default=15.0, help="length of each wrk run")
    ap.add_argument("--rounds", type=int, default=2, help="alternating rounds (medians reported)")
    ap.add_argument("--feeds", type=int, default=1000)
    ap.add_argument("--items", type=int, default=100)
    ap.add_argument("--sched-feeds", type=int, default=10000)
    ap.add_argument("--live", type=float, default=20.0, help="ingest: seconds between a feed's new articles")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--feed-port", type=int, default=18790, help="the loopback feed server (fixed: the archive's URLs)"
    )
    ap.add_argument("--work", type=Path, default=Path("/tmp/newsdesk-bench-serve"))
    ap.add_argument("--reader-venv", type=Path, default=ROOT / ".venv-reader")
    ap.add_argument("--reader-workers", type=int, default=2)
    ap.add_argument("--workers", type=int, default=2, help="serve.workers: HTTP processes (one per core)")
    ap.add_argument(
        "--mmap-mb",
        type=int,
        default=0,
        help="serve.sqlite_mmap_mb: MB of the archive read through a memory map (0: off, serve's default)",
    )
    ap.add_argument(
        "--ingest",
        choices=("process", "thread"),
        default="process",
        help="serve.ingest: the scheduler's place",
    )
    ap.add_argument("--no-reader", dest="reader", action="store_false")
    args = ap.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    tag = f"f{args.feeds}-i{args.items}-s{args.seed}"
    args.archive_dir = args.work / f"archive-newsdesk-{tag}"
    args.reader_dir = args.work / f"archive-reader-{tag}"
    args.sched_archive = args.work / f"archive-sched-f{args.sched_feeds}-i{SCHED_ITEMS}-s{args.seed}"
    phases = [p.strip() for p in args.phases.split(",") if p.strip()]
    result: dict[str, Any] = {
        "started": datetime.now().astimezone().isoformat(timespec="seconds"),
        "argv": sys.argv[1:],
        "versions": versions(args),
    }
    runners = {
        "archive": phase_archive,
        "entries": phase_entries,
        "ingest": phase_ingest,
        "sched": phase_sched,
    }
    for phase in phases:
        log(f"phase {phase}")
        result[phase] = runners[phase](args)
        print(json.dumps({phase: result[phase]}, ensure_ascii=False), flush=True)
    path = args.work / f"results-{datetime.now():%Y%m%d-%H%M%S}.json"
    path.write_text(json.dumps(result, ensure_ascii=False, indent=2), encoding="utf-8")
    print(json.dumps(result, ensure_ascii=False, indent=2))
    log(f"results: {path}")


if __name__ == "__main__":
    main()
