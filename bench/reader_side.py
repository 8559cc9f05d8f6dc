"""The baseline's side of bench_serve.py: lemon24/reader fills its database from the same feeds.

Runs in reader's own venv (it is not our dependency), e.g.

    .venv-reader/bin/python bench/reader_side.py --db /tmp/x/reader.sqlite \
        --base http://127.0.0.1:PORT --feeds 1000 --workers 8

Adds `BASE/feed/{n}.xml` for every n, updates them all once and prints one JSON line: entries
stored, seconds, reader's version.
"""

from __future__ import annotations

import argparse
import json
import time


def main() -> None:
    import reader

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", required=True)
    ap.add_argument("--base", required=True)
    ap.add_argument("--feeds", type=int, required=True)
    ap.add_argument("--workers", type=int, default=8)
    args = ap.parse_args()

    r = reader.make_reader(args.db)
    t0 = time.perf_counter()
    for n in range(args.feeds):
        r.add_feed(f"{args.base}/feed/{n}.xml", exist_ok=True)
    errors = 0
    for result in r.update_feeds_iter(workers=args.workers):
        if isinstance(result.value, Exception):
            errors += 1
    seconds = time.perf_counter() - t0
    counts = r.get_entry_counts()
    print(
        json.dumps(
            {
                "reader": reader.__version__,
                "entries": counts.total,
                "unread": counts.total - counts.read,
                "feed_errors": errors,
                "seconds": round(seconds, 1),
            }
        )
    )
    r.close()


if __name__ == "__main__":
    main()
