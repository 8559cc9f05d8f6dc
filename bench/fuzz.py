"""Fuzz parse_feed, clean_article (and its fallback) and the Hexo front matter for minutes.

The targets and checks are tests/fuzz_targets.py (the suite's tests/test_fuzz.py runs them
briefly, derandomized). Here each target runs in rounds of ``--examples`` examples, each round
with a fresh seed printed beside its result, until ``--minutes`` have passed; a failing round
prints hypothesis's minimal example and the seed to replay it (``--seed N --minutes 0``):

    .venv/bin/python bench/fuzz.py --minutes 5
    .venv/bin/python bench/fuzz.py --seed 1234 --minutes 0 --target clean

Checks: no exception but the documented ones (ParseError, CleanError), no example slower than
``--deadline`` ms (a hang), clean output with only allow-listed tags, attributes and http(s)
URLs (read back with the standard library's tokenizer and lxml), front matter that reads
back (PyYAML) to the very same values. Exit status 1 when any round failed.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
import fuzz_targets as ft

Target = Callable[..., None]
TARGETS: dict[str, tuple[Target, tuple[st.SearchStrategy[Any], ...]]] = {
    "clean": (ft.fuzz_clean, (ft.ITEM_HTML,)),
    "parse": (ft.fuzz_parse, (ft.FEED,)),
    "frontmatter": (ft.fuzz_front_matter, (ft.FM_TEXT, st.lists(ft.FM_TEXT, max_size=4), ft.FM_TEXT)),
    "post": (ft.fuzz_post, (ft.FM_TEXT, ft.FM_TEXT, ft.FM_TEXT, ft.HTML)),
}


def run_round(name: str, examples: int, deadline_ms: int, round_seed: int) -> str | None:
    """One round of ``examples`` examples of target ``name``: None, or the failure's report."""
    fn, strategies = TARGETS[name]

    def body(args: tuple[Any, ...]) -> None:
        fn(*args)

    test = seed(round_seed)(
        settings(
            max_examples=examples,
            deadline=deadline_ms,
            database=None,
            derandomize=False,
            suppress_health_check=list(HealthCheck),
            print_blob=True,
        )(given(st.tuples(*strategies))(body))
    )
    try:
        test()
    except InvalidArgument:
        raise  # the harness itself is wrong: stop rather than report every round
    except Exception:
        return traceback.format_exc(limit=3)[-4000:]
    return None


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--minutes", type=float, default=3.0, help="how long to fuzz (0: one round per target)"
    )
    parser.add_argument("--examples", type=int, default=500, help="examples per round")
    parser.add_argument("--deadline", type=int, default=2000, help="ms an example may take")
    parser.add_argument("--seed", type=int, default=None, help="first round's seed (default: random)")
    parser.add_argument("--target", choices=sorted(TARGETS), action="append", help="only these targets")
    args = parser.parse_args()
    names = args.target or sorted(TARGETS)
    rng = random.Random(args.seed)
    next_seed = args.seed if args.seed is not None else rng.randrange(2**32)
    end = time.monotonic() + args.minutes * 60
    rounds = failures = 0
    examples: dict[str, int] = dict.fromkeys(names, 0)
    passes = 0
    while passes == 0 or time.monotonic() < end:
        passes += 1
        for name in names:
            if passes > 1 and time.monotonic() >= end:
                break
            started = time.monotonic()
            report = run_round(name, args.examples, args.deadline, next_seed)
            rounds += 1
            examples[name] += args.examples
            took = time.monotonic() - started
            status = "ok" if report is None else "FAILED"
            line = f"{name:12} seed {next_seed:>10}  {args.examples} examples  {took:6.1f} s  {status}"
            print(line, flush=True)
            if report is not None:
                failures += 1
                print(report, flush=True)
            next_seed = rng.randrange(2**32)
    print(f"{rounds} rounds, {failures} failed; examples (at most): {examples}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
