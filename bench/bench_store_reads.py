"""The archive's read paths on their own: what wrapping driver errors costs the hot reads.

The site build and the search catch-up read every entry of the archive (their heads, texts or
whole entries in batches), and the Hexo publisher every entry's rev. This times those reads on
an archive made by `bench/site_corpus.py`, for two source trees alternately (A, B, A, B, ...),
each round in a fresh process with the tree first on `PYTHONPATH`:

    .venv/bin/python bench/site_corpus.py --size 10000 --out /tmp/c10 --no-hexo
    git archive HEAD~1 src | tar -x -C /tmp/before
    .venv/bin/python bench/bench_store_reads.py --db /tmp/c10/newsdesk.db --a /tmp/before/src --b src

Prints each read's median CPU seconds per version and B's difference from A. Both versions
read the same file, so the differences are within the machine's drift (±10 % here) unless
large. `--overhead` measures the wrapper alone, in one process: each guarded store method
against the method it wraps (`__wrapped__`), alternately on the same connection:

    .venv/bin/python bench/bench_store_reads.py --db /tmp/c10/newsdesk.db --overhead
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

# Run in the child: each read over the whole archive, `repeat` times; prints {name: seconds}.
CHILD = r"""
import json, sys, time
from newsdesk.store import open_store

db, repeat = sys.argv[1], int(sys.argv[2])
store = open_store(db)
uids = list(store.iter_uids())
out = {}

def timed(name, fn):
    started = time.process_time()  # CPU time: steadier than wall time on a shared machine
    for _ in range(repeat):
        fn()
    out[name] = (time.process_time() - started) / repeat

def batches(size, read):
    def run():
        for i in range(0, len(uids), size):
            read(uids[i : i + size])
    return run

timed("entry_revs (generator, all rows)", lambda: sum(1 for _ in store.entry_revs()))
timed("entry_hashes (generator, all rows)", lambda: sum(1 for _ in store.entry_hashes()))
timed("iter_uids (generator)", lambda: sum(1 for _ in store.iter_uids()))
timed("get_entry_heads x1000", batches(1000, store.get_entry_heads))
timed("get_entries x200", batches(200, store.get_entries))
timed("entry_texts x5000", batches(5000, store.entry_texts))
timed("count_entries + max_rev x1000", lambda: [store.count_entries() + store.max_rev() for _ in range(1000)])
timed("get_entry x1000 (one call each)", lambda: [store.get_entry(u) for u in uids[:1000]])
store.close()
print(json.dumps(out))
"""


def one(src: Path, db: Path, repeat: int) -> dict[str, float]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSDESK_")}
    env["PYTHONPATH"] = str(src.resolve())
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, str(db), str(repeat)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, float] = json.loads(proc.stdout)
    return result


def overhead(db: Path, rounds: int) -> None:
    """The driver-error wrapper's own cost: guarded methods against their unwrapped bodies."""
    import time

    from newsdesk.store import SQLiteStore

    store = SQLiteStore(db)
    uids = list(store.iter_uids())
    plain = SQLiteStore

    def batches(read: Any, size: int) -> None:
        for i in range(0, len(uids), size):
            read(uids[i : i + size])

    cases: dict[str, tuple[Callable[[], object], Callable[[], object]]] = {
        "entry_revs, every row x100": (
            lambda: [sum(1 for _ in plain.entry_revs.__wrapped__(store)) for _ in range(100)],  # type: ignore[attr-defined]
            lambda: [sum(1 for _ in store.entry_revs()) for _ in range(100)],
        ),
        "get_entry_heads by 1000, every entry x10": (
            lambda: [batches(lambda u: plain.get_entry_heads.__wrapped__(store, u), 1000) for _ in range(10)],  # type: ignore[attr-defined]
            lambda: [batches(store.get_entry_heads, 1000) for _ in range(10)],
        ),
        "entry_texts by 5000, every entry x10": (
            lambda: [batches(lambda u: plain.entry_texts.__wrapped__(store, u), 5000) for _ in range(10)],  # type: ignore[attr-defined]
            lambda: [batches(store.entry_texts, 5000) for _ in range(10)],
        ),
        "max_rev x100,000 calls": (
            lambda: [plain.max_rev.__wrapped__(store) for _ in range(100_000)],  # type: ignore[attr-defined]
            lambda: [store.max_rev() for _ in range(100_000)],
        ),
    }
    print(f"{len(uids)} entries")
    print("| read | unwrapped CPU s | wrapped CPU s | wrapped vs unwrapped |\n|---|---|---|---|")
    for name, (raw, wrapped) in cases.items():
        r, w = [], []
        for _ in range(rounds):
            for times, fn in ((r, raw), (w, wrapped)):
                started = time.process_time()
                fn()
                times.append(time.process_time() - started)
        mr, mw = statistics.median(r), statistics.median(w)
        print(f"| {name} | {mr:.3f} | {mw:.3f} | {(mw - mr) / mr * 100:+.1f} % |")
    store.close()


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", type=Path, required=True)
    parser.add_argument("--a", type=Path, help="source tree of version A (its src/)")
    parser.add_argument("--b", type=Path, help="source tree of version B (its src/)")
    parser.add_argument("--overhead", action="store_true", help="the wrapper's own cost, in one process")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=3, help="reads of the whole archive per round")
    args = parser.parse_args()
    if args.overhead:
        overhead(args.db, args.rounds)
        return 0
    if args.a is None or args.b is None:
        parser.error("give --a and --b, or --overhead")
    runs: dict[str, list[dict[str, float]]] = {"A": [], "B": []}
    for r in range(args.rounds):
        order = (("A", args.a), ("B", args.b))
        for label, src in order if r % 2 == 0 else order[::-1]:
            runs[label].append(one(src, args.db, args.repeat))
            print(f"round {r + 1} {label} done", file=sys.stderr)
    print("| read | A median CPU s | B median CPU s | B vs A |\n|---|---|---|---|")
    for name in runs["A"][0]:
        a = statistics.median(x[name] for x in runs["A"])
        b = statistics.median(x[name] for x in runs["B"])
        print(f"| {name} | {a:.4f} | {b:.4f} | {(b - a) / a * 100:+.1f} % |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
