"""The fault campaign at length: `run` and `build` killed with SIGKILL at random points, a rerun,
and every invariant checked after each trial (tests/faults.py; tests/test_faults.py runs six).

    .venv/bin/python bench/fault_campaign.py --trials 60 --seed 1
    .venv/bin/python bench/fault_campaign.py --trials 12 --prefill 6000 --commands run,build,cold-build

Each trial adds `--step` items to each of the 8 feeds the local server serves, then kills `run`
(or `build`, after an unkilled `fetch` stored the items) at a random point of a phase: fetch,
store, index, hexo, site, late for `run`; start, pages, late for `build`. `cold-build` removes the
site first, so the build renders every entry: with `--prefill` of 5,000 entries or more
(`bench/site_corpus.py` archive, stored directly) that is the build with all its worker processes.
After the kill: no process of the trial may survive (10 s allowed), then `newsdesk run` must
finish, then: entries = items served (+ prefilled), no duplicate, one post per entry, no temp
file, search index count = archive count, `PRAGMA integrity_check` ok, site complete, and
`newsdesk check` ok when the command exists (`--no-check` skips it).

Prints one line per trial, then a table per command and phase; exit status 1 when any trial
broke an invariant. The seed is printed first: `--seed` replays a campaign.
"""

from __future__ import annotations

import argparse
import random
import re
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests"))

from faults import Desk, Trial, campaign, campaign_seed, expect_ok  # noqa: E402
from server import FeedServer  # noqa: E402


def prefill(desk: Desk, count: int) -> None:
    """`count` entries of the site benchmark's corpus stored straight into the archive; the
    desk's expectations then include them."""
    from site_corpus import article, fill_archive

    fill_archive(desk.database, 0, count)
    extra = set()
    for i in range(count):
        spec, entry = article(i)
        extra.add((spec.key, entry.id))
    desk.extra = lambda: extra


def run_campaign(args: argparse.Namespace, root: Path) -> list[Trial]:
    commands = args.commands.split(",")
    unknown = set(commands) - {"run", "build", "cold-build"}
    if unknown:
        raise SystemExit(f"unknown commands: {', '.join(sorted(unknown))}")
    with FeedServer() as server:
        desk = Desk(root, server)
        try:
            if args.prefill:
                started = time.monotonic()
                prefill(desk, args.prefill)
                print(f"prefilled {args.prefill} entries in {time.monotonic() - started:.1f} s", flush=True)
            desk.grow(args.step)
            started = time.monotonic()
            expect_ok(desk.cli("run"))
            print(f"first run: {time.monotonic() - started:.1f} s", flush=True)
            last = time.monotonic()

            def report(trial: Trial) -> None:
                nonlocal last
                now = time.monotonic()
                print(f"{trial.describe()} [{now - last:.1f} s]", flush=True)
                last = now

            return campaign(
                desk,
                random.Random(args.seed),
                trials=args.trials,
                step=args.step,
                commands=commands,
                report=report,
                check_command=args.check,
            )
        finally:
            desk.kill_all()


def _kinds(t: Trial) -> set[str]:
    found = set()
    for p in t.problems:
        found.add("orphans" if "outlived" in p else "temp" if p.startswith("temp files") else "other")
    return found


def summary(trials: list[Trial]) -> str:
    """A table per command and phase; the columns after `killed` count trials."""
    rows: dict[tuple[str, str], list[Trial]] = defaultdict(list)
    for t in trials:
        rows[(t.command, t.point.phase)].append(t)
    rows[("all", "")] = trials
    out = [
        "| command | phase | trials | killed | ended first | orphans | temp files | other broken | sound |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for (command, phase), ts in sorted(rows.items(), key=lambda kv: (kv[0][0] == "all", kv[0])):
        kinds = [_kinds(t) for t in ts]
        broken = [sum(k in found for found in kinds) for k in ("orphans", "temp", "other")]
        killed = sum(t.killed for t in ts)
        out.append(
            f"| {command} | {phase} | {len(ts)} | {killed} | {len(ts) - killed} |"
            f" {' | '.join(map(str, broken))} | {sum(t.ok() for t in ts)} |"
        )
    seen: dict[str, int] = defaultdict(int)
    for t in trials:
        for p in t.problems:
            seen[re.sub(r"\d+ ", "", p.split(":", 1)[0].split(" (", 1)[0])] += 1
    if seen:
        out.append("")
        out.append("Broken invariants (trials): " + "; ".join(f"{k}: {v}" for k, v in sorted(seen.items())))
    return "\n".join(out)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--trials", type=int, default=60)
    parser.add_argument("--seed", type=int, default=None, help="default: $NEWSDESK_FAULT_SEED or random")
    parser.add_argument("--step", type=int, default=30, help="new items per feed before each trial")
    parser.add_argument("--commands", default="run,build", help="run, build, cold-build (comma-separated)")
    parser.add_argument("--prefill", type=int, default=0, help="entries stored directly before the first run")
    parser.add_argument("--no-check", dest="check", action="store_false", help="skip `newsdesk check`")
    parser.add_argument("--work", type=Path, default=None, help="keep the desk here (default: a temp folder)")
    args = parser.parse_args()
    if args.seed is None:
        args.seed = campaign_seed()
    print(
        f"seed {args.seed}: {args.trials} trials of {args.commands}, {args.step} items per feed each",
        flush=True,
    )
    started = time.monotonic()
    if args.work:
        args.work.mkdir(parents=True, exist_ok=True)
        trials = run_campaign(args, args.work)
    else:
        with tempfile.TemporaryDirectory(prefix="newsdesk-faults-") as tmp:
            trials = run_campaign(args, Path(tmp))
    print()
    print(summary(trials))
    print(f"\nseed {args.seed}; {time.monotonic() - started:.0f} s")
    return 0 if all(t.ok() for t in trials) else 1


if __name__ == "__main__":
    sys.exit(main())
