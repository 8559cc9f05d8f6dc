"""Side-by-side cold builds of two versions of newsdesk on one corpus: is a change faster?

The machine's speed drifts by a quarter within an hour here, so two versions are compared by
alternating their cold builds (A, B, A, B, ...) on the same archive, not by runs minutes apart.
Each version is a source tree (`src/` of a git worktree, for instance); every build runs as
`python -m newsdesk build` with that tree first on `PYTHONPATH`. Before each build the previous
site is moved aside (never deleted: see "Deleted files and ext4" in docs/benchmarks.md) and the
disk synced; the moved sites are removed at the end.

    git worktree add /tmp/before HEAD~1
    .venv/bin/python bench/site_corpus.py --size 10000 --out /tmp/c10 --no-hexo
    .venv/bin/python bench/bench_site_ab.py --corpus /tmp/c10 --a /tmp/before/src --b src --rounds 5

Prints each build's wall time, CPU (user + system) and system time, then the medians. Start it
at least a minute after deleting many files (the script's own clean-up included): ext4 makes
new files scan past recently deleted inodes, which showed as 1-3 s of system time per build.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_site import adopt_orphans, wait_tree


def cold_build(corpus: Path, src: Path, aside: Path) -> tuple[float, float, float]:
    """One cold build of the tree `src` on `corpus`: (wall s, user + system CPU s, system s),
    CPU of the whole process tree (its workers and fork server included)."""
    site = corpus / "site"
    if site.exists():
        site.rename(aside / f"site-{time.monotonic_ns()}")
    os.sync()
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSDESK_")}
    env["PYTHONPATH"] = str(src.resolve())
    cmd = [sys.executable, "-m", "newsdesk", "--config", str(corpus / "newsdesk.yaml"), "build", "--json"]
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=corpus, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    status, cpu, system, _ = wait_tree(proc.pid)
    wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
        raise SystemExit(f"{src}: build failed ({proc.returncode}): {err.strip()[-400:]}")
    if proc.stderr:
        proc.stderr.close()
    return wall, cpu, system


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--corpus", type=Path, required=True, help="a folder made by bench/site_corpus.py")
    parser.add_argument("--a", type=Path, required=True, help="source tree of version A (its src/)")
    parser.add_argument("--b", type=Path, required=True, help="source tree of version B (its src/)")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    if not (args.corpus / "newsdesk.yaml").exists():
        parser.error(f"{args.corpus}: no newsdesk.yaml (make one with bench/site_corpus.py)")
    adopt_orphans()
    aside = args.corpus / ".aside"
    aside.mkdir(exist_ok=True)
    got: dict[str, list[tuple[float, float, float]]] = {"A": [], "B": []}
    try:
        for i in range(args.rounds):
            for name, src in (("A", args.a), ("B", args.b)):
                row = cold_build(args.corpus, src, aside)
                got[name].append(row)
                print(
                    f"round {i + 1} {name}: {row[0]:.2f} s, CPU {row[1]:.2f} s (system {row[2]:.2f} s)",
                    flush=True,
                )
    finally:
        shutil.rmtree(aside, ignore_errors=True)
    for name, src in (("A", args.a), ("B", args.b)):
        rows = got[name]
        if rows:
            wall = statistics.median(r[0] for r in rows)
            cpu = statistics.median(r[1] for r in rows)
            print(f"{name} ({src}): median {wall:.2f} s, CPU {cpu:.2f} s over {len(rows)} cold builds")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
