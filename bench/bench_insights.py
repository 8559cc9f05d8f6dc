"""Benchmark of the insights stage: precision and recall per kind on the labelled corpus, and
articles per second on one core.

The corpus is the tests' own (tests/insights_eval.py): our 60+ labelled articles, and the real
posts of ../shared/policy and ../shared/realdata with their labels in
tests/data/insights/real/, split into the part the rules were tuned on and the quarter held out
untouched (tests/data/insights/SPLIT.json). Each part's precision and recall are printed per
kind (tasks, targets, figures, bodies) with the matching rules of docs/insights.md.

Speed is the CPU time (`time.process_time`) of `extract` alone over the already-cleaned
articles of the whole corpus, one process, one core: batches of passes until `--seconds` of
CPU time, best of `--repeat` batches, after one warm-up pass (which also loads the
dictionaries). Printed as articles per second and characters per second.

Also timed: the bad-input cases of tests/test_insights.py (one 5 MB paragraph, 500 numbered
items), and the 5 MB paragraph at half size, to show time grows linearly.

    .venv/bin/python bench/bench_insights.py [--seconds 2] [--repeat 5] [--details PART]

`--details tuned` (or own) lists each article's misses; the untouched part's details are not
printed (it stays untouched: only its numbers are reported).
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT / "src") not in sys.path:
    sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "tests"))

import insights_eval as corpus  # noqa: E402  (the tests' corpus loader and scorer)
from newsdesk.insights import extract  # noqa: E402
from newsdesk.models import Article  # noqa: E402


def versions() -> str:
    names = ["cn2an", "rjieba", "regex", "PyYAML"]
    parts = [f"Python {platform.python_version()}"]
    for name in names:
        try:
            parts.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            parts.append(f"{name} n/a")
    return ", ".join(parts)


def cpu_rate(work: Callable[[], int], seconds: float, repeat: int) -> float:
    """Best units per CPU second over `repeat` batches of about `seconds` each."""
    work()  # warm-up
    best = 0.0
    for _ in range(repeat):
        done, start = 0, time.process_time()
        while time.process_time() - start < seconds:
            done += work()
        best = max(best, done / (time.process_time() - start))
    return best


def five_mb_paragraph() -> str:
    """One paragraph of 5 MB of UTF-8 (no line break): statistics, tasks and dates over and over."""
    unit = "一是加快推进工业经济，1-5月全国规模以上工业增加值同比增长5.0%，到2025年底覆盖家庭达到4亿户；"
    return unit * (5 * 1024 * 1024 // len(unit.encode()))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=2.0, help="CPU seconds per timed batch")
    ap.add_argument("--repeat", type=int, default=5, help="timed batches (best is reported)")
    ap.add_argument("--details", choices=["", "own", "tuned"], default="", help="list one part's misses")
    args = ap.parse_args()
    print(f"Versions: {versions()}\n")

    cases = corpus.own_cases()
    if corpus.HAVE_SHARED:
        cases += corpus.real_cases()
    else:
        print("note: ../shared not found; our own articles only\n")
    measured = corpus.evaluate(cases, extract)
    counts = {part: sum(1 for c in cases if c.part == part) for part in measured}
    print(f"{'part':<10} {'articles':>8}  " + "  ".join(f"{k + ' P/R':>15}" for k in corpus.KINDS))
    for part in ("own", "tuned", "untouched"):
        if part not in measured:
            continue
        cells = "  ".join(f"{p:>7.3f}/{r:<7.3f}" for p, r in (measured[part][k] for k in corpus.KINDS))
        print(f"{part:<10} {counts[part]:>8}  {cells}")
    if args.details:
        for case in (c for c in cases if c.part == args.details):
            found = extract(case.article, case.title, case.published)
            bad = {k: v for k, v in corpus.score(found, case.expect).items() if not v[0] == v[1] == v[2]}
            if bad:
                print(f"  {case.name}: " + ", ".join(f"{k} {h}/{g} of {w}" for k, (h, g, w) in bad.items()))

    articles = [(c.article, c.title, c.published) for c in cases]
    chars = sum(len(a.text) for a, _, _ in articles)

    def one_pass() -> int:
        for article, title, published in articles:
            extract(article, title, published)
        return len(articles)

    rate = cpu_rate(one_pass, args.seconds, args.repeat)
    print(
        f"\nspeed: {rate:,.0f} articles/s on one core ({len(articles)} articles, "
        f"{chars / len(articles):,.0f} characters on average: "
        f"{rate * chars / len(articles) / 1e6:.2f} M chars/s)"
    )

    def bad_article(text: str) -> Article:
        return replace(cases[0].article, text=text)

    big = five_mb_paragraph()
    for label, text in (("half of it", big[: len(big) // 2]), ("one 5 MB paragraph", big)):
        start = time.process_time()
        extract(bad_article(text), "", None)
        print(f"bad input: {label}: {time.process_time() - start:.2f} s CPU")
    items = "\n".join(f"{i}. 第{i}项任务，加快推进工作。" for i in range(1, 501))
    start = time.process_time()
    found = extract(bad_article(items), "", None)
    print(
        f"bad input: 500 numbered items: {time.process_time() - start:.3f} s CPU, "
        f"{len(found.tasks)} items kept"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
