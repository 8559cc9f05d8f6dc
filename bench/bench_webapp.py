"""Reader web app benchmark (issue 15): the unread list page and the article page of
`newsdesk serve` at 100,000 entries, p50/p95 at 1 and 8 concurrent clients (wrk on loopback).

    flock /work/wt/.fullsuite.lock .venv/bin/python bench/bench_webapp.py [--seconds 10] [--rounds 2]
        [--work /tmp/newsdesk-bench-webapp] [--run-dir /tmp/newsdesk-bench-webapp/session] [--articles 500]
        [--workers 1]

The archive is bench_serve.py's (1,000 feeds × 100 synthetic articles, cleaned and indexed,
built by its `archive` phase into --work when missing there; `--work /tmp/newsdesk-bench-serve`
takes bench_serve's own), copied into --run-dir for the session; the feed site answers the
scheduler's checks (304s) as in bench_serve's entries phase.
A reader logs in through the login form (GET /login for its token, POST /login) and wrk sends
the session cookie:

* list — `GET /` (unread, 50 per page, the sidebar's tree of the 1,000 feeds with unread counts);
* article — `GET /entry/{id}` over --articles entries drawn with --seed, in turn (the first
  visit of each marks it read: one write; a warm-up pass visits them all first, so the timed
  runs read only).

Targets: list page p95 < 30 ms, article page p95 < 20 ms. Results as JSON, also written to
--run-dir/results-<time>.json.

Where the time went, for each run (`where`): serve's processes' CPU per request (main and HTTP
workers, each process's share too: SO_REUSEPORT spreads wrk's connections by hash, not
evenly), their threads' wait for a CPU per request (the kernel's run-queue delay,
/proc/PID/task/*/schedstat), wrk's own CPU and what every other process of the machine took
(/proc/stat less those), as % of one core. On this machine's two cores a request's wall time
beyond its CPU is mostly that wait: other processes, wrk, and the other worker.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import re
import resource
import signal
import sys
import time
import urllib.parse
import urllib.request
from datetime import datetime
from http.cookiejar import CookieJar
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_serve import (
    PASSWORD,
    Serve,
    _runs_summary,
    copy_archive,
    log,
    phase_archive,
    quiet_since,
    start_feed_site,
    versions,
    write_config,
)
from serve_load import Sampler, free_port, wrk_run

from newsdesk.store import open_store
from serve_helpers import listeners


def log_in(base: str) -> str:
    """The session cookie (name=value) of user `bench`, logged in through the login form."""
    jar = CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    form = opener.open(f"{base}/login", timeout=30).read().decode()
    found = re.search(r'name="csrf" value="([^"]+)"', form)
    if not found:
        raise SystemExit("GET /login: no CSRF token in the form")
    body = urllib.parse.urlencode(
        {"csrf": found.group(1), "name": "bench", "password": PASSWORD, "next": "/"}
    )
    opener.open(urllib.request.Request(f"{base}/login", data=body.encode()), timeout=30).read()
    for cookie in jar:
        if cookie.name == "newsdesk_session":
            return f"{cookie.name}={cookie.value}"
    raise SystemExit("POST /login set no session cookie")


def fetch(url: str, cookie: str) -> tuple[int, str]:
    req = urllib.request.Request(url, headers={"Cookie": cookie})

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: Any, **kwargs: Any) -> None:
            return None

    try:
        with urllib.request.build_opener(NoRedirect).open(req, timeout=60) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, ""


def sample_ids(database: Path, count: int, seed: int) -> list[str]:
    store = open_store(str(database))
    try:
        uids = sorted(store.iter_uids())
    finally:
        store.close()
    return random.Random(seed).sample(uids, min(count, len(uids)))


def _ticks(path: str) -> tuple[float, float]:
    """(CPU seconds, run-queue wait seconds) of one task or process."""
    fields = Path(path, "stat").read_text().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    try:
        wait = int(Path(path, "schedstat").read_text().split()[1]) / 1e9
    except (OSError, IndexError, ValueError):
        wait = 0.0
    return cpu, wait


class Usage:
    """CPU and run-queue wait of serve's processes (`pids`), wrk's CPU (this process's waited-for
    children) and the whole machine's, between `start` and `stop`."""

    def __init__(self, pids: list[int]) -> None:
        self.pids = pids

    def _now(self) -> dict[str, Any]:
        procs = {}
        for pid in self.pids:
            cpu, _ = _ticks(f"/proc/{pid}")  # the process's, its ended threads included
            wait = 0.0
            for task in Path(f"/proc/{pid}/task").iterdir():
                with contextlib.suppress(OSError):
                    wait += _ticks(str(task))[1]
            procs[pid] = (cpu, wait)
        busy = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
        jiffies = [int(x) for x in busy]
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        return {
            "t": time.monotonic(),
            "procs": procs,
            "busy": (sum(jiffies) - jiffies[3] - jiffies[4]) / os.sysconf("SC_CLK_TCK"),  # less idle, iowait
            "wrk": children.ru_utime + children.ru_stime,
        }

    def start(self) -> None:
        self.before = self._now()

    def stop(self, requests: int) -> dict[str, Any]:
        a, b = self.before, self._now()
        seconds = b["t"] - a["t"]
        cpu = {pid: b["procs"][pid][0] - a["procs"][pid][0] for pid in self.pids}
        wait = sum(b["procs"][pid][1] - a["procs"][pid][1] for pid in self.pids)
        serve = sum(cpu.values())
        wrk = b["wrk"] - a["wrk"]
        busy = b["busy"] - a["busy"]
        per = max(requests, 1)
        return {
            "serve_cpu_ms_per_request": round(1000 * serve / per, 3),
            "serve_wait_ms_per_request": round(1000 * wait / per, 3),
            "serve_cpu_pct_each": [round(100 * cpu[pid] / seconds, 1) for pid in self.pids],
            "wrk_cpu_pct": round(100 * wrk / seconds, 1),
            "others_cpu_pct": round(100 * max(0.0, busy - serve - wrk) / seconds, 1),
            "machine_busy_pct": round(100 * busy / seconds, 1),
        }


def main() -> None:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=10.0, help="length of each wrk run")
    ap.add_argument("--rounds", type=int, default=2, help="alternating rounds (medians reported)")
    ap.add_argument("--articles", type=int, default=500, help="entries the article runs visit in turn")
    ap.add_argument("--feeds", type=int, default=1000)
    ap.add_argument("--items", type=int, default=100)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workers", type=int, default=1, help="serve.workers (processes answering HTTP)")
    ap.add_argument(
        "--feed-port", type=int, default=18790, help="the loopback feed server (the archive's URLs)"
    )
    ap.add_argument(
        "--work", type=Path, default=Path("/tmp/newsdesk-bench-webapp"), help="the archive's folder"
    )
    ap.add_argument(
        "--run-dir", type=Path, default=Path("/tmp/newsdesk-bench-webapp/session"), help="this run's"
    )
    args = ap.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    args.reader = False
    args.phases = "archive"  # what phase_archive builds: the one archive, not the scheduler's
    tag = f"f{args.feeds}-i{args.items}-s{args.seed}"
    args.archive_dir = args.work / f"archive-newsdesk-{tag}"
    args.reader_dir = args.work / f"archive-reader-{tag}"
    result: dict[str, Any] = {
        "workers": args.workers,
        "started": datetime.now().astimezone().isoformat(timespec="seconds"),
        "argv": sys.argv[1:],
        "versions": versions(args),
    }
    # Any schema will do: serve migrates the session's copy (a new migration must not make
    # bench_serve's cached archive be built again).
    if not (args.archive_dir / "done.json").exists():
        log("building the archive (bench_serve's archive phase)")
        phase_archive(args)
    args.run_dir.mkdir(parents=True, exist_ok=True)
    folder = args.run_dir / "run"
    copy_archive(args.archive_dir, folder)
    site = start_feed_site(args.run_dir, args.feed_port, args.feeds, args.items, args.seed)
    serve: Serve | None = None
    try:
        # serve.workers: HTTP worker processes beside serve's own (written by write_config: a
        # second `workers:` key added here was overridden by its own, so "--workers 2" ran one).
        config = write_config(
            folder, args.feed_port, args.feeds, serve_port=(port := free_port()), workers=args.workers
        )
        serve = Serve(folder, config, port).start()
        quiet_since(args.feed_port, quiet=5.0, deadline=120.0)  # the scheduler's first look is over
        cookie = log_in(serve.base)
        ids = sample_ids(folder / "newsdesk.db", args.articles, args.seed)
        articles = [f"/entry/{uid}" for uid in ids]
        status, html = fetch(serve.base + "/", cookie)
        if status != 200 or 'class="item entry' not in html:
            raise SystemExit(f"GET / answered {status} without a list")
        result["list_page"] = {"bytes": len(html.encode()), "rows": html.count('class="item entry')}
        log(f"warm-up: {len(articles)} articles (each read once: one write)")
        sizes = []
        for path in articles:
            status, html = fetch(serve.base + path, cookie)
            if status != 200:
                raise SystemExit(f"GET {path} answered {status}")
            sizes.append(len(html.encode()))
        result["article_page_bytes_median"] = sorted(sizes)[len(sizes) // 2]
        wrk_run(serve.base, ["/"], connections=8, seconds=3, cookie=cookie)
        pids = [serve.child.pid, *sorted(listeners(port) - {serve.child.pid})]
        if len(pids) != args.workers:
            raise SystemExit(f"{len(pids)} processes listen on {port}, not serve.workers={args.workers}")
        usage = Usage(pids)
        sampler = Sampler(serve.child.pid)
        sampler.start()
        runs: dict[str, dict[int, list[dict[str, Any]]]] = {"list": {1: [], 8: []}, "article": {1: [], 8: []}}
        for rnd in range(args.rounds):
            for c in (8, 1):
                for name, paths in (("list", ["/"]), ("article", articles)):
                    log(f"round {rnd + 1}: {name} page, {c} clients")
                    usage.start()
                    run = wrk_run(serve.base, paths, connections=c, seconds=args.seconds, cookie=cookie)
                    run["where"] = usage.stop(int(run["requests"]))
                    log(f"  p50 {run['p50_ms']} ms, p95 {run['p95_ms']} ms; {run['where']}")
                    if run["non2xx"] or run["socket_errors"]:
                        raise SystemExit(f"{name}: errors in the run: {run}")
                    runs[name][c].append(run)
        sampler.finish()
        for name in runs:
            result[f"{name}_page"] = {
                **result.get(f"{name}_page", {}),
                **{
                    str(c): {**_runs_summary(r), "where": [x["where"] for x in r]}
                    for c, r in runs[name].items()
                },
            }
        result["serve_peak_rss_mb"] = serve.peak_rss_mb()
        result["targets"] = {
            "list_p95_ms_below": 30,
            "article_p95_ms_below": 20,
            "list_met": all(result["list_page"][str(c)]["p95_ms"] < 30 for c in (1, 8)),
            "article_met": all(result["article_page"][str(c)]["p95_ms"] < 20 for c in (1, 8)),
        }
    finally:
        if serve is not None:
            result["stop"] = serve.stop()
        site.stop()
    path = args.run_dir / f"results-{datetime.now():%Y%m%d-%H%M%S}.json"
    path.write_text(json.dumps(result, ensure_ascii=False, indent=2), encoding="utf-8")
    print(json.dumps(result, ensure_ascii=False, indent=2))
    log(f"results: {path}")


if __name__ == "__main__":
    main()
