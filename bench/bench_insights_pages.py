"""The insight pages over a large archive (issue 18): the targets tracker, metric pages, keyword
trends and daily briefs of N articles (default 100,000), built in full, again with nothing
changed, and again after one more day of articles — the part of `newsdesk build` they add.

The generator (`make_archive`) writes N entries over a year, 100 feeds, with insights made
from a seeded random source shaped like the stage's output on finance news: 0.2 targets and
0.6 figures an article (metrics and bodies drawn Zipf-like from a few hundred names), 40 term
counts an article from a 20,000-term vocabulary (log-uniform ranks), and 5 % of articles in story
clusters.
The store keeps its aggregates as the rows arrive (what ingest pays is printed too).

    .venv/bin/python bench/bench_insights_pages.py [--size 100000] [--seed 18] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from newsdesk import __version__
from newsdesk.models import (
    Article,
    Change,
    ClusterMember,
    FeedSpec,
    FetchResult,
    Figure,
    Insights,
    InsightsOf,
    ParsedEntry,
    Target,
    content_hash,
    entry_uid,
)
from newsdesk.publish.site.insight_pages import InsightPages
from newsdesk.publish.site.model import EntryRecord
from newsdesk.publish.site.output import Output
from newsdesk.publish.site.render import Renderer
from newsdesk.store import SQLiteStore

FEEDS = 100
START = datetime(2025, 12, 1, tzinfo=UTC)
DAY = date(2026, 12, 1)  # the build's clock
BODIES = [f"机构{i}" for i in range(60)]
METRICS = [f"指标{i}" for i in range(300)]
VOCAB = 20_000


def _zipf(rng: random.Random, n: int) -> int:
    return min(int(rng.paretovariate(1.1)) - 1, n - 1)


def _article(text: str) -> Article:
    return Article(
        text and f"<p>{text}</p>", text, text[:40], len(text), (), None, "来源", None, (), None, (), "sina"
    )


def _insights(rng: random.Random, when: datetime) -> Insights:
    targets = tuple(
        Target(
            f"目标指标{_zipf(rng, 500)}",
            rng.choice(["超过", "达到", "不低于", "左右"]),
            float(rng.randint(1, 1000)),
            "%",
            f"{rng.randint(2020, 2030)}-12-31" if rng.random() < 0.9 else None,
            BODIES[_zipf(rng, len(BODIES))],
            "到2025年，某指标达到某值。",
        )
        for _ in range(1 if rng.random() < 0.2 else 0)
    )
    figures = tuple(
        Figure(
            METRICS[_zipf(rng, len(METRICS))],
            "全国",
            f"{when.year}-{when.month:02d}",
            float(rng.randint(1, 10**6)) * 1e8,
            "元",
            Change("同比", round(rng.uniform(0, 20), 1), "%", rng.choice(["up", "down"])),
            "某月全国某指标某亿元，同比增长某%。",
        )
        for _ in range(1 if rng.random() < 0.6 else 0)
    )
    terms: dict[str, int] = {}
    while len(terms) < 40:
        # Log-uniform ranks: a few terms in most articles, most terms in a few.
        terms.setdefault(f"词{int(VOCAB ** rng.random()) - 1}", rng.randint(1, 9))
    ranked = tuple(sorted(terms.items(), key=lambda kv: -kv[1]))
    return Insights(targets=targets, figures=figures, bodies=(BODIES[0],), terms=ranked, version=1)


def make_archive(path: Path, size: int, seed: int, *, first: int = 0) -> float:
    """Entries `first`..`size`-1 of the corpus (article i is a function of (i, seed)); the
    seconds spent storing insights."""
    store = SQLiteStore(path)
    spent = 0.0
    span = 365 * 86400 / max(size, 1)
    try:
        for f in range(FEEDS):
            spec = FeedSpec(
                group=f"组{f % 4}", site=f"站{f % 10}", name=f"源{f}", url=f"http://127.0.0.1:9/{f}.xml"
            )
            entries, items = [], []
            for i in range(first + f, size, FEEDS):
                rng = random.Random(seed * 1_000_003 + i)
                when = START + timedelta(seconds=i * span)
                e = ParsedEntry(
                    id=f"e{i}", title=f"标题{i}", link=None, published=when, content=f"<p>{i}</p>"
                )
                entries.append(e)
                items.append(
                    InsightsOf(entry_uid(spec.key, e.id), content_hash(e), when, _insights(rng, when))
                )
            t0 = time.perf_counter()
            store.save_insights(items)
            spent += time.perf_counter() - t0
            store.save_fetch(
                spec,
                FetchResult(spec.source, 200),
                entries,
                START,
                articles={e.id: _article(e.title) for e in entries},
            )
        # 5 % of articles in clusters of two to four outlets.
        rng = random.Random(seed)
        members, i, k = [], first, 0
        while i < size - 4:
            if rng.random() < 0.0125:
                n = rng.randint(2, 4)
                for j in range(n):
                    spec_key = f"组{(i + j) % FEEDS % 4}/站{(i + j) % FEEDS % 10}/源{(i + j) % FEEDS}"
                    members.append(
                        ClusterMember(
                            entry_uid(spec_key, f"e{i + j}"),
                            f"c{first}-{k}",
                            spec_key,
                            START + timedelta(seconds=(i + j) * span),
                            "first" if j == 0 else "link",
                            1.0,
                        )
                    )
                i, k = i + n, k + 1
            else:
                i += 1
        store.save_clusters(members, [], detached=[], mark=store.max_rev())
    finally:
        store.close()
    return spent


def build(store: SQLiteStore, root: Path, old: dict[str, str]) -> tuple[float, Output]:
    records = [EntryRecord.from_head(h) for h in store.get_entry_heads(list(store.iter_uids()))]
    out = Output(root, old)
    renderer = Renderer(None, {"site_title": "新闻台", "nav": []}, cache_dir=root / ".newsdesk" / "jinja")
    t0 = time.perf_counter()
    InsightPages(store, out, renderer, "bench", DAY, None, "新闻台").write(records)
    return time.perf_counter() - t0, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--size", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=18)
    ap.add_argument("--keep", type=Path, help="work in this folder and keep it")
    args = ap.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="insights-surface-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    db = work / "archive.db"
    try:
        if not db.exists():
            t0 = time.perf_counter()
            ingest = make_archive(db, args.size, args.seed)
            made = time.perf_counter() - t0
        else:
            ingest = made = 0.0
        store = SQLiteStore(db)
        site = work / "site"
        shutil.rmtree(site, ignore_errors=True)
        (site / ".newsdesk").mkdir(parents=True)
        print(f"generated in {made:.1f} s (storing insights {ingest:.1f} s)", file=sys.stderr, flush=True)
        full, out = build(store, site, {})
        print(f"full build {full:.2f} s, {out.written} pages", file=sys.stderr, flush=True)
        same, out2 = build(store, site, out.pages)
        print(f"unchanged build {same:.2f} s", file=sys.stderr, flush=True)
        day = args.size // 365
        store.close()
        t0 = time.perf_counter()
        extra = make_archive(db, args.size + day, args.seed, first=args.size)
        store = SQLiteStore(db)
        added, out3 = build(store, site, out2.pages)
        counts = {
            t: store._db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
            for t in (
                "insights",
                "insight_targets",
                "insight_figures",
                "insight_df",
                "insight_term_weeks",
            )
        }
        store.close()
        result = {
            "articles": args.size,
            "seed": args.seed,
            "rows": counts,
            "generate_seconds": round(made, 1),
            "save_insights_seconds": round(ingest, 1),
            "save_insights_per_article_ms": round(ingest / args.size * 1000, 3) if ingest else None,
            "full_build_seconds": round(full, 2),
            "full_pages_written": out.written,
            "unchanged_build_seconds": round(same, 2),
            "unchanged_pages_written": out2.written,
            "one_more_day_articles": day,
            "one_more_day_save_insights_seconds": round(extra, 2),
            "one_more_day_build_seconds": round(added, 2),
            "one_more_day_pages_written": out3.written,
            "versions": {
                "newsdesk": __version__,
                "python": platform.python_version(),
                "sqlite": sqlite3.sqlite_version,
            },
            "machine": f"{os.cpu_count()} cores, {platform.machine()}",
        }
        print(json.dumps(result, ensure_ascii=False, indent=2))
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
