"""Search and clustering benchmark (issue: search & story clusters).

Two parts:

``--articles N`` builds an archive of N synthetic articles (bench/articles.py: realistic
Chinese finance paragraphs, 2-6 per article, spread over 100 feeds and a year), then measures
in the same run, over the same text and the same 50 fixed queries:

* tantivy (newsdesk's index, built through the real catch-up path from the store),
* SQLite FTS5 over the same jieba tokens (bm25), the issue's other candidate,
* SQLite FTS5 with its trigram tokenizer (substring search; 2-character words fall back to
  LIKE, which is what trigram needs below 3 characters),
* lemon24/reader's search configuration: FTS5 with `porter unicode61 remove_diacritics 1`,
  bm25(4, 1, 2) over title/content/feed (its schema from reader/_storage/_search.py,
  reproduced here over our text; the reader package itself is not installed);

index build time and rate, size on disk, query latency p50/p95 (top 10, each query 3 times
after a warm-up) and how many queries found anything; then story clustering over the whole
archive (time per article, clusters found) and precision/recall/F1 on the labelled set in
tests/data/clusters.

``--ingest`` runs the core benchmark's cold run (bench_run.py: `newsdesk run`, 1,000 feeds
× 50 items from a loopback server, Hexo posts) with the search stage off (`--no-index`) and on,
alternating, `--pairs` times, and reports every pair and the median ratio: what indexing and
clustering add to the ingest time.

    .venv/bin/python bench/bench_search.py --articles 100000
    .venv/bin/python bench/bench_search.py --articles 1000000 --engines tantivy
    .venv/bin/python bench/bench_search.py --ingest [--pairs 3]
"""

from __future__ import annotations

import argparse
import gc
import itertools
import json
import os
import platform
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from importlib import metadata
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from articles import make_article  # noqa: E402

from newsdesk.models import FeedSpec, FetchResult, ParsedEntry  # noqa: E402
from newsdesk.search.cluster import Item, cluster_items, update_clusters  # noqa: E402
from newsdesk.search.index import TantivyIndex  # noqa: E402
from newsdesk.search.query import AnyOf, Filters, Match, ParsedQuery, parse_query  # noqa: E402
from newsdesk.search.segment import normalise  # noqa: E402
from newsdesk.search.text import strip_html  # noqa: E402
from newsdesk.search.update import prepare  # noqa: E402
from newsdesk.store import SQLiteStore, Store  # noqa: E402

T0 = datetime(2025, 12, 1, tzinfo=UTC)
GROUPS = ["金融", "宏观", "产业", "市场"]
SITES = ["新浪财经", "澎湃新闻", "中国证券报", "第一财经", "经济参考报"]

# (query, filters, sort): 12 two-character words, 12 long words, 8 phrases, 6 mixed
# Latin/number terms, 6 operator queries, 6 with filters or date order. Fixed: results compare.
QUERIES: list[tuple[str, dict[str, Any], str]] = [
    *(
        (w, {}, "relevance")
        for w in [
            "央行",
            "债券",
            "汇率",
            "出口",
            "就业",
            "基金",
            "保险",
            "光伏",
            "钢铁",
            "养老",
            "消费",
            "外资",
        ]
    ),
    *(
        (w, {}, "relevance")
        for w in [
            "专项债券",
            "逆回购",
            "新能源汽车",
            "社会消费品零售总额",
            "城中村改造",
            "跨境电商",
            "国内生产总值",
            "超长期特别国债",
            "人工智能",
            "碳排放权",
            "住房公积金",
            "普惠小微贷款",
        ]
    ),
    *(
        (f'"{w}"', {}, "relevance")
        for w in [
            "7天期逆回购操作",
            "以旧换新",
            "白名单",
            "专精特新",
            "数据要素市场化",
            "跨省通办",
            "中长期资金入市",
            "科创成长层",
        ]
    ),
    *((w, {}, "relevance") for w in ["LPR", "PMI", "A股", "ETF", "10年期国债", "1.40%"]),
    ("央行 流动性", {}, "relevance"),
    ("光伏 价格", {}, "relevance"),
    ("出口 东盟", {}, "relevance"),
    ("降息 OR 逆回购", {}, "relevance"),
    ("基金 -货币", {}, "relevance"),
    ("房地产 融资 -保障性住房", {}, "relevance"),
    ("央行", {"group": "金融"}, "relevance"),
    ("债券", {"site": "澎湃新闻"}, "relevance"),
    ("保险", {"since": T0 + timedelta(days=300)}, "relevance"),
    ("新能源汽车", {"feed": "金融/新浪财经/源3"}, "relevance"),
    ("A股", {}, "date"),
    ("出口", {"until": T0 + timedelta(days=30)}, "relevance"),
]
assert len(QUERIES) == 50


# corpus ---------------------------------------------------------------------------------------
def feeds() -> list[FeedSpec]:
    return [
        FeedSpec(group=g, site=s, name=f"源{n}", url=f"http://127.0.0.1:9/{g}/{s}/{n}.xml")
        for g in GROUPS
        for s in SITES
        for n in range(5)
    ]


def build_archive(path: Path, n: int) -> None:
    """N articles, 2-6 paragraphs each, in 100 feeds, one a year's worth of publishing."""
    store = SQLiteStore(path)
    fill_archive(store, n, batch=50_000)
    store.close()


def fill_archive(
    store: Store, n: int, *, batch: int, progress: Callable[[int], None] | None = None
) -> None:
    """Store `n` articles (2-6 paragraphs each, seeded) in the 100 feeds of `feeds()`, a year's
    worth of publishing, `batch` articles at a time; `progress(stored)` after each batch."""
    rng = random.Random(20261128)
    specs = feeds()
    per_feed: dict[int, list[ParsedEntry]] = {}
    for i in range(n):
        title, html = make_article(rng, paragraphs=rng.randint(2, 6), with_boilerplate=rng.random() < 0.15)
        when = T0 + timedelta(seconds=int(i * 365 * 86400 / n))
        per_feed.setdefault(i % len(specs), []).append(
            ParsedEntry(
                id=f"a{i}",
                title=title,
                link=f"https://finance.example.cn/{i}.html",
                published=when,
                content=html,
            )
        )
        if (i + 1) % batch == 0 or i + 1 == n:
            for f, entries in per_feed.items():
                store.save_fetch(specs[f], FetchResult(url=specs[f].url or "", status=200), entries, when)
            per_feed = {}
            if progress is not None:
                progress(i + 1)


def corpus_rows(path: Path) -> list[tuple[int, str, str, str, str, str, int, str]]:
    """(rowid, title, text, group, site, feed key, ts, feed title) of every entry."""
    db = sqlite3.connect(path)
    rows = db.execute(
        "SELECT e.rowid, e.title, e.content, f.grp, f.site, f.key, e.published, f.name FROM entries e"
        " JOIN feeds f ON f.key=e.feed_key ORDER BY e.rowid"
    ).fetchall()
    db.close()
    return [
        (r[0], r[1], strip_html(r[2]), r[3], r[4], r[5], int(datetime.fromisoformat(r[6]).timestamp()), r[7])
        for r in rows
    ]


# engines --------------------------------------------------------------------------------------
def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def time_queries(run: Callable[[str, dict[str, Any], str], int]) -> dict[str, Any]:
    for q, f, s in QUERIES:  # warm-up: page cache, JIT-free but lazy structures
        run(q, f, s)
    latencies: list[float] = []
    answered = 0
    for q, f, s in QUERIES:
        best = []
        for _ in range(3):
            t = time.perf_counter()
            hits = run(q, f, s)
            best.append(time.perf_counter() - t)
        latencies.append(statistics.median(best) * 1000)
        answered += hits > 0
    return {
        "p50_ms": round(percentile(latencies, 50), 2),
        "p95_ms": round(percentile(latencies, 95), 2),
        "max_ms": round(max(latencies), 2),
        "queries_with_hits": answered,
    }


def dir_size(path: Path) -> int:
    return (
        sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
        if path.is_dir()
        else path.stat().st_size
    )


def bench_tantivy(db: Path, work: Path) -> dict[str, Any]:
    store = SQLiteStore(db)
    index = TantivyIndex(work / "archive.db.search", database_url=str(db), store=store)
    return measure_tantivy(store, index)


def measure_tantivy(store: Store, index: TantivyIndex) -> dict[str, Any]:
    """Build `index` from `store` (new and empty), then time the queries on it: the engine alone
    and the whole search; closes both. bench_pg_search.py times tantivy on its archive with it."""
    # As `newsdesk reindex` runs it: the command pauses the cyclic collector for a catch-up.
    gc.disable()
    t = time.perf_counter()
    n = index.sync(store)
    build = time.perf_counter() - t
    gc.enable()
    out: dict[str, Any] = {
        "documents": n,
        "build_s": round(build, 1),
        "build_docs_per_s": round(n / build),
        "size_mb": round(dir_size(index.path) / 1e6, 1),
    }

    def engine_only(q: str, f: dict[str, Any], s: str) -> int:
        compiled = index.compile(parse_query(q), Filters(**f))
        searcher = index._index.searcher()
        if s == "date":
            found = searcher.search(compiled, 10, count=False, order_by_field="ts")
        else:
            found = searcher.search(compiled, 10, count=False)
        return len(searcher.fast_field_values("uid64", [a for _, a in found.hits]))

    def full(q: str, f: dict[str, Any], s: str) -> int:
        return len(
            index.search(q, filters=Filters(**f), sort="date" if s == "date" else "relevance", limit=10)
        )

    out["engine_only"] = time_queries(engine_only)
    out["full_search_with_snippets_and_clusters"] = time_queries(full)
    index.close()
    store.close()
    return out


def _fts_match(q: ParsedQuery, term: Callable[[Match], str]) -> str:
    parts = []
    for r in q.required:
        parts.append("(" + " OR ".join(term(m) for m in r.options) + ")" if isinstance(r, AnyOf) else term(r))
    text = " AND ".join(parts)
    for m in q.excluded:
        text += f" NOT {term(m)}"
    return text


def _filter_sql(f: dict[str, Any]) -> tuple[str, list[Any]]:
    sql, params = "", []
    for key, col in (("group", "grp"), ("site", "site")):
        if key in f:
            sql += f" AND m.{col}=?"
            params.append(f[key])
    if "feed" in f:
        sql += " AND m.feed_key=?"
        params.append(f["feed"])
    if "since" in f:
        sql += " AND m.ts>=?"
        params.append(int(f["since"].timestamp()))
    if "until" in f:
        sql += " AND m.ts<?"
        params.append(int(f["until"].timestamp()))
    return sql, params


def bench_fts(
    kind: str, rows: list[tuple[int, str, str, str, str, str, int, str]], work: Path
) -> dict[str, Any]:
    """One FTS5 variant in its own database file (so its size is its own)."""
    path = work / f"fts-{kind}.db"
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("CREATE TABLE m (rowid INTEGER PRIMARY KEY, grp TEXT, site TEXT, feed_key TEXT, ts INTEGER)")
    db.execute("CREATE INDEX m_ts ON m (ts)")
    if kind == "jieba":
        db.execute("CREATE VIRTUAL TABLE fts USING fts5(title, body, tokenize='unicode61')")
    elif kind == "trigram":
        db.execute("CREATE VIRTUAL TABLE fts USING fts5(title, body, tokenize='trigram')")
    else:  # lemon24/reader's configuration
        db.execute(
            "CREATE VIRTUAL TABLE fts USING fts5(title, body, feed,"
            " tokenize=\"porter unicode61 remove_diacritics 1 tokenchars '_'\")"
        )
        db.execute("INSERT INTO fts(fts, rank) VALUES ('rank', 'bm25(4, 1, 2)')")
    t = time.perf_counter()
    tokenize_s = 0.0
    db.execute("BEGIN")
    for chunk in _chunks(rows, 5000):
        if kind == "jieba":
            t1 = time.perf_counter()
            prepared = prepare([(r[1], r[2], "") for r in chunk])
            tokenize_s += time.perf_counter() - t1
            values: list[tuple[Any, ...]] = [
                (r[0], p.title, p.body) for r, p in zip(chunk, prepared, strict=True)
            ]
            db.executemany("INSERT INTO fts (rowid, title, body) VALUES (?,?,?)", values)
        elif kind == "trigram":
            values = [(r[0], normalise(r[1]), normalise(r[2])) for r in chunk]
            db.executemany("INSERT INTO fts (rowid, title, body) VALUES (?,?,?)", values)
        else:
            values = [(r[0], r[1], r[2], r[7]) for r in chunk]
            db.executemany("INSERT INTO fts (rowid, title, body, feed) VALUES (?,?,?,?)", values)
        db.executemany("INSERT INTO m VALUES (?,?,?,?,?)", [(r[0], r[3], r[4], r[5], r[6]) for r in chunk])
    db.execute("COMMIT")
    db.execute("INSERT INTO fts(fts) VALUES ('optimize')")
    build = time.perf_counter() - t
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    out: dict[str, Any] = {
        "documents": len(rows),
        "build_s": round(build, 1),
        "build_docs_per_s": round(len(rows) / build),
        "size_mb": round(path.stat().st_size / 1e6, 1),
    }
    if kind == "jieba":
        out["of_which_tokenizing_s"] = round(tokenize_s, 1)

    def run(q: str, f: dict[str, Any], s: str) -> int:
        parsed = parse_query(q)
        where, params = _filter_sql(f)
        order = "m.ts DESC" if s == "date" else "rank"
        if kind == "trigram":
            # trigram finds substrings of 3+ characters; shorter ones need LIKE (a scan).
            conds, args = [], []
            match_terms = []
            for r in parsed.required:
                opts = r.options if isinstance(r, AnyOf) else (r,)
                if all(len(m.text) >= 3 for m in opts):
                    match_terms.append(" OR ".join(f'"{normalise(m.text)}"' for m in opts))
                else:
                    # LIKE finds nothing on a trigram table with CJK patterns here (SQLite 3.40):
                    # instr() is the same substring test, and the same full scan.
                    conds.append(
                        "(" + " OR ".join("instr(fts.title || ' ' || fts.body, ?)" for _ in opts) + ")"
                    )
                    args += [normalise(m.text) for m in opts]
            for m in parsed.excluded:
                conds.append("NOT instr(fts.title || ' ' || fts.body, ?)")
                args.append(normalise(m.text))
            sql = "SELECT fts.rowid FROM fts JOIN m ON m.rowid=fts.rowid WHERE 1"
            if match_terms:
                sql += " AND fts MATCH ?"
                args.insert(0, " AND ".join(f"({t})" for t in match_terms))
            else:
                order = "m.ts DESC" if s == "date" else "fts.rowid"
            sql += "".join(f" AND {c}" for c in conds) + where + f" ORDER BY {order} LIMIT 10"
            return len(db.execute(sql, [*args, *params]).fetchall())
        if kind == "jieba":
            match = _fts_match(parsed, lambda m: '"' + " ".join(m.tokens) + '"')
        else:  # reader: the user's words as FTS5 strings, as reader passes them through
            match = _fts_match(parsed, lambda m: '"' + m.text.replace('"', "") + '"')
        sql = "SELECT fts.rowid FROM fts JOIN m ON m.rowid=fts.rowid WHERE fts MATCH ?"
        sql += f"{where} ORDER BY {order} LIMIT 10"
        return len(db.execute(sql, [match, *params]).fetchall())

    out["queries"] = time_queries(run)
    db.close()
    return out


def _chunks(rows: list[Any], n: int) -> list[list[Any]]:
    return [rows[i : i + n] for i in range(0, len(rows), n)]


def labelled_scores() -> dict[str, Any]:
    path = HERE.parent / "tests" / "data" / "clusters" / "articles.jsonl"
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    t = time.perf_counter()
    got = cluster_items(
        [
            Item(r["id"], r["text"], r["outlet"], datetime.fromisoformat(r["published"]), r["link"])
            for r in rows
        ]
    )
    elapsed = time.perf_counter() - t
    tp = fp = fn = 0
    for a, b in itertools.combinations(rows, 2):
        same, joined = a["story"] == b["story"], got[a["id"]] == got[b["id"]]
        tp += same and joined
        fp += joined and not same
        fn += same and not joined
    p, r = tp / (tp + fp), tp / (tp + fn)
    return {
        "articles": len(rows),
        "stories": len({r["story"] for r in rows}),
        "pairwise_precision": round(p, 4),
        "pairwise_recall": round(r, 4),
        "f1": round(2 * p * r / (p + r), 4),
        "ms_per_article": round(elapsed * 1000 / len(rows), 3),
    }


def bench_clusters(db: Path) -> dict[str, Any]:
    store = SQLiteStore(db)
    store.reset_clusters()
    t = time.perf_counter()
    n = update_clusters(store)
    elapsed = time.perf_counter() - t
    multi = len(store.list_clusters(limit=10**9))
    store.close()
    return {
        "articles": n,
        "seconds": round(elapsed, 1),
        "ms_per_article": round(elapsed * 1000 / n, 3),
        "clusters_2plus": multi,
    }


def versions() -> dict[str, str]:
    out = {"python": platform.python_version(), "sqlite": sqlite3.sqlite_version}
    for pkg in ("tantivy", "rjieba", "opencc", "numpy"):
        out[pkg] = metadata.version(pkg)
    return out


def run_articles(n: int, engines: list[str], work: Path, *, cluster_archive: bool = True) -> dict[str, Any]:
    db = work / "archive.db"
    t = time.perf_counter()
    build_archive(db, n)
    result: dict[str, Any] = {
        "articles": n,
        "archive_build_s": round(time.perf_counter() - t, 1),
        "archive_mb": round(db.stat().st_size / 1e6, 1),
        "machine": f"{os.cpu_count()} cores, {platform.machine()}",
        "versions": versions(),
    }
    if "tantivy" in engines:
        result["tantivy"] = bench_tantivy(db, work)
        print(json.dumps({"tantivy": result["tantivy"]}, ensure_ascii=False), file=sys.stderr, flush=True)
    others = [e for e in engines if e != "tantivy"]
    if others:
        rows = corpus_rows(db)
        for kind in others:
            result[f"fts5_{kind}"] = bench_fts(kind, rows, work)
            print(json.dumps({kind: result[f"fts5_{kind}"]}, ensure_ascii=False), file=sys.stderr, flush=True)
        del rows
    if cluster_archive:
        result["clustering_archive"] = bench_clusters(db)
    result["clustering_labelled_set"] = labelled_scores()
    return result


# ingest overhead ------------------------------------------------------------------------------
def run_ingest(pairs: int = 3, feeds: int = 1000, items: int = 50) -> dict[str, Any]:
    """What indexing and clustering add to the core cold run (`bench_run.py`: `newsdesk run`,
    Hexo posts): runs without the search stage and with it, alternating, `pairs` times (the
    disk of a shared machine drifts by 2x within minutes; a pair is close in time)."""

    def cold(*extra: str) -> float:
        args = ["--feeds", str(feeds), "--items", str(items), *extra]
        proc = subprocess.run(
            [sys.executable, str(HERE / "bench_run.py"), *args],
            capture_output=True,
            text=True,
            check=True,
        )
        return float(json.loads(proc.stdout[proc.stdout.index("{") :])["cold_seconds"])

    rows = []
    for _ in range(pairs):
        without, with_index = cold("--no-index"), cold()
        rows.append({"no_index_s": without, "index_s": with_index, "ratio": round(with_index / without, 2)})
        print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    median = statistics.median(r["ratio"] for r in rows)
    return {
        "feeds": feeds,
        "items_per_feed": items,
        "pairs": rows,
        "median_ratio": round(median, 2),
        "added_to_ingest": f"{100 * (median - 1):.0f}%",
        "versions": versions(),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--articles", type=int, help="build an archive of this many articles and measure")
    ap.add_argument("--engines", default="tantivy,jieba,trigram,reader", help="comma-separated")
    ap.add_argument(
        "--ingest", action="store_true", help="measure what the search stage adds to the core cold run"
    )
    ap.add_argument("--pairs", type=int, default=3, help="--ingest: runs without/with the index (default 3)")
    ap.add_argument("--feeds", type=int, default=1000, help="--ingest: feeds of the core run (default 1000)")
    ap.add_argument("--work", type=Path, help="work folder (default: a temporary one, removed after)")
    ap.add_argument("--no-archive-clustering", action="store_true", help="skip clustering the whole archive")
    args = ap.parse_args()
    if not args.articles and not args.ingest:
        ap.error("give --articles N and/or --ingest")
    work = args.work or Path(tempfile.mkdtemp(prefix="newsdesk-bench-search-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        result: dict[str, Any] = {}
        if args.ingest:
            result["ingest"] = run_ingest(args.pairs, args.feeds)
            print(json.dumps({"ingest": result["ingest"]}, ensure_ascii=False), file=sys.stderr, flush=True)
        if args.articles:
            result["search"] = run_articles(
                args.articles, args.engines.split(","), work, cluster_archive=not args.no_archive_clustering
            )
        print(json.dumps(result, ensure_ascii=False, indent=2, default=str))
    finally:
        if not args.work:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
