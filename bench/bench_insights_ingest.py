"""Ingest end to end with and without the insights stage (issue 18: at most 10 % slower).

The core benchmark's setup (`bench_run.py`: a loopback server of RSS feeds of realistic
Chinese article HTML) with cleaning on (the stage reads cleaned articles), the real CLI
`newsdesk run --json` on an empty archive, `insights: false` and `insights: true` in turns,
`--rounds` times each; the medians are compared.

    .venv/bin/python bench/bench_insights_ingest.py [--feeds 300] [--items 50] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_run import _free_port, _serve, _timed_run, _write_config


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--feeds", type=int, default=300)
    ap.add_argument("--items", type=int, default=50)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--no-index", action="store_true", help="search_index: false (no index, no clusters)")
    args = ap.parse_args()
    port = _free_port()
    ready = mp.Event()
    server = mp.Process(target=_serve, args=(port, args.feeds, args.items, ready), daemon=True)
    server.start()
    ready.wait(60)
    time.sleep(0.5)
    times: dict[str, list[float]] = {"off": [], "on": []}
    entries = 0
    try:
        for _ in range(args.rounds):
            for mode in ("off", "on"):
                work = Path(tempfile.mkdtemp(prefix="insights-surface-ingest-"))
                try:
                    config = _write_config(work, port, args.feeds, clean=True)
                    # Generous fetch limits: a loaded machine must slow the run, not fail feeds.
                    text = (
                        config.read_text("utf-8")
                        .replace("clean: false", "clean: true")
                        .replace(
                            "  per_host: 64\n",
                            "  per_host: 64\n  timeout: 600\n  read_timeout: 600\n  deadline: 900\n",
                        )
                    )
                    head = f"insights: {'true' if mode == 'on' else 'false'}\n"
                    head += "search_index: false\n" if args.no_index else ""
                    config.write_text(head + text, "utf-8")
                    seconds, report, _ = _timed_run(config)
                    totals = report["totals"]
                    assert isinstance(totals, dict)
                    entries = int(totals["new"])
                    times[mode].append(seconds)
                finally:
                    shutil.rmtree(work, ignore_errors=True)
    finally:
        server.terminate()
        server.join(5)
    from newsdesk import __version__

    off, on = statistics.median(times["off"]), statistics.median(times["on"])
    print(
        json.dumps(
            {
                "feeds": args.feeds,
                "items_per_feed": args.items,
                "entries": entries,
                "search_index": not args.no_index,
                "seconds_off": [round(t, 2) for t in times["off"]],
                "seconds_on": [round(t, 2) for t in times["on"]],
                "median_off": round(off, 2),
                "median_on": round(on, 2),
                "entries_per_second_off": round(entries / off),
                "entries_per_second_on": round(entries / on),
                "slower_percent": round((on / off - 1) * 100, 1),
                "versions": {"newsdesk": __version__, "python": platform.python_version()},
                "machine": f"{os.cpu_count()} cores, {platform.machine()}",
            },
            ensure_ascii=False,
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
