"""Core benchmark: `newsdesk run` on 1,000 feeds × 50 items served from a loopback server.

The server runs in its own process (aiohttp) with every feed pre-built in memory and answers
conditional GETs with 304. We time a cold run (empty archive: fetch, parse, store, publish
50,000 Hexo posts) and a warm run (every feed answers 304, nothing to publish).

    .venv/bin/python bench/bench_run.py [--feeds 1000] [--items 50]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing as mp
import os
import platform
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from articles import make_rss


def _serve(port: int, feeds: int, items: int, ready: mp.synchronize.Event) -> None:  # type: ignore[name-defined]
    from aiohttp import web

    bodies = [make_rss(i, items) for i in range(feeds)]
    etags = ['"' + hashlib.sha1(b).hexdigest()[:16] + '"' for b in bodies]

    async def handle(request: web.Request) -> web.Response:
        n = int(request.match_info["n"])
        if request.headers.get("If-None-Match") == etags[n]:
            return web.Response(status=304, headers={"ETag": etags[n]})
        return web.Response(
            body=bodies[n], headers={"ETag": etags[n], "Content-Type": "application/rss+xml; charset=utf-8"}
        )

    app = web.Application()
    app.router.add_get("/feed/{n}.xml", handle)
    ready.set()
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None, handle_signals=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _write_config(work: Path, port: int, feeds: int, clean: bool) -> Path:
    lines = [
        "database: newsdesk.db",
        "hexo_dir: posts",
        "fetch:",
        "  concurrency: 64",
        "  per_host: 64",
        "groups:",
    ]
    lines += ["  基准:", "    基准站点:"]
    for i in range(feeds):
        lines += [
            f"      - name: 基准源{i}",
            f"        url: http://127.0.0.1:{port}/feed/{i}.xml",
            "        clean: false",
        ]
    path = work / "newsdesk.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _timed_run(config: Path) -> tuple[float, dict[str, object], int]:
    exe = Path(sys.executable).with_name("newsdesk")
    t0 = time.perf_counter()
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    proc = subprocess.run(
        [str(exe), "--config", str(config), "run", "--json"], capture_output=True, text=True, check=False
    )
    elapsed = time.perf_counter() - t0
    peak = max(before, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr[-3000:])
        raise SystemExit(f"run failed with exit code {proc.returncode}")
    return elapsed, json.loads(proc.stdout), peak


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--feeds", type=int, default=1000)
    ap.add_argument("--items", type=int, default=50)
    ap.add_argument("--keep", action="store_true", help="keep the work folder")
    ap.add_argument("--clean", action="store_true", help="clean articles too (clean: true)")
    ap.add_argument("--no-index", action="store_true", help="search_index: false (no index, no clusters)")
    args = ap.parse_args()

    port = _free_port()
    ready = mp.Event()
    server = mp.Process(target=_serve, args=(port, args.feeds, args.items, ready), daemon=True)
    server.start()
    ready.wait(60)
    time.sleep(0.5)
    work = Path(tempfile.mkdtemp(prefix="newsdesk-bench-"))
    try:
        config = _write_config(work, port, args.feeds, args.clean)
        if args.no_index:
            config.write_text("search_index: false\n" + config.read_text("utf-8"), "utf-8")
        cold, cold_report, peak_cold = _timed_run(config)
        warm, warm_report, _ = _timed_run(config)
        totals = cold_report["totals"]
        assert isinstance(totals, dict)
        entries = int(totals["new"])
        posts = len(os.listdir(work / "posts"))
        import aiohttp
        from lxml import etree

        from newsdesk import __version__

        result = {
            "feeds": args.feeds,
            "items_per_feed": args.items,
            "clean": args.clean,
            "search_index": not args.no_index,
            "cold_seconds": round(cold, 2),
            "cold_entries": entries,
            "cold_entries_per_second": round(entries / cold),
            "hexo_posts_written": posts,
            "cold_peak_rss_mb": round(peak_cold / 1024),
            "warm_seconds": round(warm, 2),
            "warm_not_modified": sum(1 for f in warm_report["feeds"] if f["outcome"] == "not_modified"),  # type: ignore[index,union-attr]
            "versions": {
                "newsdesk": __version__,
                "python": platform.python_version(),
                "aiohttp": aiohttp.__version__,
                "lxml": ".".join(map(str, etree.LXML_VERSION)),
            },
            "machine": f"{os.cpu_count()} cores, {platform.machine()}",
        }
        print(json.dumps(result, ensure_ascii=False, indent=2))
    finally:
        server.terminate()
        server.join(5)
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"work folder kept: {work}", file=sys.stderr)


if __name__ == "__main__":
    main()
