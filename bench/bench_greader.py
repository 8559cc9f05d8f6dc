"""Reader-app API benchmark (issue 19): the Google Reader API's `stream/items/ids` of the
reading list (n=1000) and `stream/items/contents` of 50 items, at 100,000 entries, p50/p95/p99
and requests/s at 1 and 8 concurrent clients (wrk on loopback), against a real `newsdesk serve`;
also Fever's `items&since_id=…` (50 items a page; no target).

    flock /work/wt/.fullsuite.lock .venv/bin/python bench/bench_greader.py [--seconds 10] [--rounds 2]
        [--work /tmp/fever-bench] [--run-dir /tmp/fever-bench/session] [--sets 200] [--seed 0]
        [--workers 1]

The archive is bench_serve.py's (1,000 feeds × 100 synthetic articles, cleaned and indexed, built
by its `archive` phase into --work when missing there; `--work /tmp/newsdesk-bench-serve` takes
bench_serve's own), copied into --run-dir for the session; the feed site answers the
scheduler's checks as in bench_serve's entries phase. The user `bench` gets an app password
(`newsdesk users app-password bench`), logs in with ClientLogin, and wrk sends
`Authorization: GoogleLogin auth=…`:

* ids — `GET /api/greader/reader/api/0/stream/items/ids?s=user/-/state/com.google/reading-list&n=1000`;
* contents — `GET …/stream/items/contents?i=…` with 50 short-hex ids, --sets sets of 50 drawn
  with --seed, in turn (the ids apps ask contents for: any 50 of the archive);
* fever — `GET /api/fever/?api&items&since_id=N&api_key=…` over --sets values of N drawn with --seed.

Targets: ids p95 < 30 ms, contents p95 < 40 ms (at 8 clients). Results as JSON, also written to
--run-dir/results-<time>.json.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import signal
import sys
import urllib.parse
import urllib.request
from datetime import datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_serve import (
    Serve,
    _runs_summary,
    copy_archive,
    log,
    newsdesk,
    phase_archive,
    quiet_since,
    start_feed_site,
    versions,
    write_config,
)
from bench_webapp import sample_ids
from serve_load import Sampler, free_port, wrk_run

from newsdesk.store import open_store

PREFIX = "/api/greader/reader/api/0"
IDS_PATH = f"{PREFIX}/stream/items/ids?s=user/-/state/com.google/reading-list&n=1000"
TARGETS = {"ids": 30.0, "contents": 40.0}


def client_login(base: str, name: str, password: str) -> str:
    data = urllib.parse.urlencode({"Email": name, "Passwd": password}).encode()
    with urllib.request.urlopen(f"{base}/api/greader/accounts/ClientLogin", data=data, timeout=30) as r:
        lines = dict(line.split("=", 1) for line in r.read().decode().splitlines())
    return lines["Auth"]


def get(url: str, authorization: str | None = None) -> tuple[int, bytes]:
    req = urllib.request.Request(url, headers={"Authorization": authorization} if authorization else {})
    with urllib.request.urlopen(req, timeout=60) as r:
        return r.status, r.read()


def main() -> None:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=10.0, help="length of each wrk run")
    ap.add_argument("--rounds", type=int, default=2, help="alternating rounds (medians reported)")
    ap.add_argument("--sets", type=int, default=200, help="sets of 50 ids (and since_ids) asked in turn")
    ap.add_argument("--feeds", type=int, default=1000)
    ap.add_argument("--items", type=int, default=100)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workers", type=int, default=1, help="serve.workers (processes answering HTTP)")
    ap.add_argument("--feed-port", type=int, default=18795, help="the loopback feed server")
    ap.add_argument("--work", type=Path, default=Path("/tmp/fever-bench"), help="the archive's folder")
    ap.add_argument("--run-dir", type=Path, default=Path("/tmp/fever-bench/session"), help="this run's")
    args = ap.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    args.reader = False
    args.phases = "archive"
    tag = f"f{args.feeds}-i{args.items}-s{args.seed}"
    args.archive_dir = args.work / f"archive-newsdesk-{tag}"
    args.reader_dir = args.work / f"archive-reader-{tag}"
    result: dict[str, Any] = {
        "workers": args.workers,
        "started": datetime.now().astimezone().isoformat(timespec="seconds"),
        "argv": sys.argv[1:],
        "versions": versions(args),
    }
    if not (args.archive_dir / "done.json").exists():
        log("building the archive (bench_serve's archive phase)")
        phase_archive(args)
    args.run_dir.mkdir(parents=True, exist_ok=True)
    folder = args.run_dir / "run"
    copy_archive(args.archive_dir, folder)
    site = start_feed_site(args.run_dir, args.feed_port, args.feeds, args.items, args.seed)
    serve: Serve | None = None
    try:
        config = write_config(
            folder, args.feed_port, args.feeds, serve_port=(port := free_port()), workers=args.workers
        )
        serve = Serve(folder, config, port)  # makes the user `bench`
        password = newsdesk(config, "users", "app-password", "bench", "--label", "bench").stdout.strip()
        serve.start()
        quiet_since(args.feed_port, quiet=5.0, deadline=120.0)  # the scheduler's first look is over
        auth = "GoogleLogin auth=" + client_login(serve.base, "bench", password)
        rng = random.Random(args.seed)
        uids = sample_ids(folder / "newsdesk.db", 50 * args.sets, args.seed)
        contents = [
            f"{PREFIX}/stream/items/contents?" + "&".join(f"i={u}" for u in uids[k * 50 : (k + 1) * 50])
            for k in range(args.sets)
        ]
        store = open_store(str(folder / "newsdesk.db"))
        try:
            total = store.fever_item_count()
        finally:
            store.close()
        key = hashlib.md5(f"bench:{password}".encode()).hexdigest()
        fever = [
            f"/api/fever/?api&items&since_id={rng.randrange(total)}&api_key={key}" for _ in range(args.sets)
        ]
        status, body = get(serve.base + IDS_PATH, auth)
        refs = json.loads(body)["itemRefs"]
        if status != 200 or len(refs) != min(1000, total):
            raise SystemExit(f"ids answered {status} with {len(refs)} refs")
        status, body = get(serve.base + contents[0], auth)
        items = json.loads(body)["items"]
        if status != 200 or len(items) != 50:
            raise SystemExit(f"contents answered {status} with {len(items)} items")
        status, body = get(serve.base + fever[0])
        if status != 200 or len(json.loads(body)["items"]) != 50:
            raise SystemExit(f"fever answered {status}: {body[:200]!r}")
        result["answers"] = {
            "entries": total,
            "ids_bytes": len(get(serve.base + IDS_PATH, auth)[1]),
            "contents_bytes": len(get(serve.base + contents[0], auth)[1]),
            "fever_items_bytes": len(body),
        }
        plans = {"ids": ([IDS_PATH], auth), "contents": (contents, auth), "fever": (fever, None)}
        for paths, header in plans.values():
            wrk_run(serve.base, paths, connections=8, seconds=3, authorization=header)  # warm-up
        sampler = Sampler(serve.child.pid)
        sampler.start()
        runs: dict[str, dict[int, list[dict[str, Any]]]] = {n: {1: [], 8: []} for n in plans}
        for rnd in range(args.rounds):
            for c in (8, 1):
                for name, (paths, header) in plans.items():
                    log(f"round {rnd + 1}: {name}, {c} clients")
                    run = wrk_run(
                        serve.base, paths, connections=c, seconds=args.seconds, authorization=header
                    )
                    if run["non2xx"] or run["socket_errors"]:
                        raise SystemExit(f"{name}: errors in the run: {run}")
                    runs[name][c].append(run)
        sampler.finish()
        for name in runs:
            result[name] = {str(c): _runs_summary(r) for c, r in runs[name].items()}
        result["serve_peak_rss_mb"] = serve.peak_rss_mb()
        result["targets"] = {f"{name}_p95_ms_below": limit for name, limit in TARGETS.items()} | {
            f"{name}_met": all(result[name][str(c)]["p95_ms"] < TARGETS[name] for c in (1, 8))
            for name in TARGETS
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
