"""Search on both backends: tantivy beside a SQLite archive, and the PostgreSQL archive's own
index (`search_backend: postgres`) on the machine's server (a database per test). The same
queries must find the same entries on both (rankings may differ), on the search fixtures and
the labelled cluster set; and the PostgreSQL index must stay in step with its store."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from cli_helpers import run_cli
from newsdesk import accounts
from newsdesk.config import Config, load_config
from newsdesk.errors import ConfigError, SearchError, StoreLockedError
from newsdesk.models import EntryText
from newsdesk.search import open_index, update_index
from newsdesk.search.cluster import Session, item_of, update_clusters
from newsdesk.search.hits import SearchIndex, parse
from newsdesk.search.index import TantivyIndex
from newsdesk.search.pgindex import PostgresIndex, _vector, compile_query, document, searchable
from newsdesk.search.query import Filters
from newsdesk.search.update import prepare
from newsdesk.store import SQLiteStore, Store, protocol
from newsdesk.store.postgres import PostgresStore
from serve_helpers import ServeProcess, client
from store_backends import (
    locked_message_ok,
    new_pg_database,
    role_methods,
)
from test_search_fixtures import T0, Doc, feed, labelled_set, save
from test_search_index import DOCS, PAPER

BACKENDS = ["sqlite", "postgresql"]


def labelled_docs() -> list[Doc]:
    """The labelled cluster set (105 articles, 37 stories) as entries of eight outlets' feeds."""
    out = []
    for n, row in enumerate(labelled_set()):
        outlet = str(row["outlet"])
        published = datetime.fromisoformat(str(row["published"]))
        out.append(
            Doc(
                feed("财经" if n % 3 else "宏观", outlet, "要闻"),
                str(row["id"]),
                str(row["title"]),
                str(row["text"]),
                hours=int((published - T0).total_seconds() // 3600),
                source=outlet if n % 2 else None,
                link=str(row["link"]),
            )
        )
    return out


CORPUS = DOCS + labelled_docs()


def open_search(backend: str, folder: Path) -> tuple[Store, SearchIndex]:
    """An archive of `backend` holding CORPUS, clustered and indexed by its own backend."""
    if backend == "sqlite":
        store: Store = SQLiteStore(folder / "archive.db")
        index: SearchIndex = TantivyIndex(
            folder / "archive.db.search", database_url=str(folder / "archive.db"), store=store
        )
    else:
        url = new_pg_database()
        store = PostgresStore(url)
        index = PostgresIndex(database_url=url, store=store)
    save(store, CORPUS)
    assert index.catch_up(store, clusters=True) == (len(CORPUS), len(CORPUS))
    return store, index


@pytest.fixture(params=BACKENDS)
def searched(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, Store, SearchIndex]]:
    store, index = open_search(request.param, tmp_path)
    yield request.param, store, index
    index.close()
    store.close()


def uid(doc_id: str) -> str:
    return next(d.uid for d in CORPUS if d.id == doc_id)


# Queries over the search fixtures (test_search_index.py): every kind of word, operator and filter.
FIXTURE_QUERIES: list[tuple[str, Filters]] = [
    ("存款准备金率", Filters()),  # 存款 + 准备金率, a phrase
    ("准备金", Filters()),  # inside a longer word: the character fallback
    ("4亿户", Filters()),
    ("工信部", Filters()),  # in the title only
    ("5.0%", Filters()),
    ("ipv6", Filters()),
    ("专精特新", Filters()),
    ("北交所 专精特新", Filters()),  # cut 中专 + 精特新 in its text
    ("央行 降准", Filters()),
    ("央行 -降准", Filters()),
    ('千兆光网 -"千兆光网建设"', Filters()),
    ("存款准备金率 OR 逆回购", Filters()),
    ("存款准备金率 | IPv6", Filters()),
    ("央行 逆回购 OR 降准", Filters()),
    ('"千兆光网建设"', Filters()),
    ('"光网 千兆"', Filters()),
    ("“稳妥有序开展5G”", Filters()),
    ("千兆光網", Filters()),
    ("央行", Filters(group="宏观")),
    ("千兆光网", Filters(site="澎湃新闻")),
    ("央行", Filters(feed="新浪财经－国內")),
    ("央行", Filters(feed="宏观/国家统计局/最新发布")),
    ("千兆光网", Filters(source="中国新闻网")),
    ("千兆光网", Filters(since=T0 + timedelta(hours=10), until=T0 + timedelta(days=30))),
    ("千兆光网", Filters(since=T0 + timedelta(hours=8), until=T0 + timedelta(hours=9))),
]

# Queries over the labelled set: words of each kind, phrases, operators, Traditional, filters.
CORPUS_QUERIES: list[tuple[str, Filters]] = [
    (q, Filters())
    for q in [
        "城中村",
        "新能源汽车",
        "新能源汽車",
        "白名单",
        "房地产",
        "集成电路",
        "同比增长",
        "央行",
        "人民银行",
        "逆回购",
        "国债",
        "专项债券",
        "千兆光网",
        "5G",
        "前10个月",
        '"先谋后动"',
        '"同比分别增长"',
        "房地产 -城中村",
        "城中村 OR 集成电路",
        "新能源 汽车 -电池",
        "动力电池 装车量",
        "降准 | 降息",
        "债券 发行 -专项",
        "消费 OR 出口 -房地产",
        "责任编辑",
        "港股",
        "汇率",
        "就业",
        "中小企业",
        "数字经济",
    ]
] + [
    ("房地产", Filters(site="凤凰财经")),
    ("同比增长", Filters(group="宏观")),
    ("同比增长", Filters(feed="财经/新浪财经/要闻")),
    ("增长", Filters(source="东方财富")),
    ("增长", Filters(since=datetime.fromisoformat("2026-11-27T00:00:00+00:00"))),
    ("增长", Filters(until=datetime.fromisoformat("2026-11-27T00:00:00+00:00"))),
]


def stories(hits: list[str], store: Store) -> set[str]:
    """The stories of these hits: a cluster's id for a member, else the entry's own id."""
    refs = store.cluster_refs(hits)
    return {refs[h].id if h in refs else h for h in hits}


def matches(index: SearchIndex, query: str, filters: Filters, wide: bool) -> set[str]:
    """Every entry the engine matches (`wide`: words may match as runs of characters)."""
    parsed = parse(query)
    if isinstance(index, PostgresIndex):
        ranked = index._store.search_docs(  # type: ignore[union-attr]
            compile_query(parsed, filters, wide=wide), sort="date", fetch=100_000
        )
    else:
        assert isinstance(index, TantivyIndex)
        searcher = index._index.searcher()
        return {
            uid for uid, _, _ in index._ranked(searcher, index.compile(parsed, filters, wide=wide), 100_000, "date")
        }
    return {uid for uid, _ in ranked}


def test_same_ids_on_both_backends(searched: tuple[str, Store, SearchIndex], tmp_path: Path) -> None:
    """Every query finds the same entries as tantivy over a SQLite archive of the same text, by
    relevance and by date, a whole page (3) or every match (200): rankings may differ, so a
    short page only has the same length."""
    backend, store, index = searched
    reference_store, reference = open_search("sqlite", tmp_path / "reference")
    found_any = 0
    try:
        for query, filters in FIXTURE_QUERIES + CORPUS_QUERIES:
            for sort in ("relevance", "date"):
                for limit in (3, 200):
                    ours = [h.uid for h in index.search(query, filters=filters, sort=sort, limit=limit)]  # type: ignore[arg-type]
                    theirs = [h.uid for h in reference.search(query, filters=filters, sort=sort, limit=limit)]  # type: ignore[arg-type]
                    assert len(ours) == len(theirs), (backend, query, filters, sort, limit)
                    if limit == 200:  # every match, one per story
                        assert stories(ours, store) == stories(theirs, reference_store), (backend, query)
                        found_any += bool(theirs)
                # The entries each engine matches, before one hit per story is chosen (which
                # copy stands for a story whose earliest entry did not match is the best-ranked).
                for wide in (False, True):
                    assert matches(index, query, filters, wide) == matches(reference, query, filters, wide)
        assert found_any >= 2 * 50  # the queries find something (both sorts)
    finally:
        reference.close()
        reference_store.close()


# --- the PostgreSQL index on its own ----------------------------------------------------------
def pg_config(tmp_path: Path, url: str) -> Config:
    return Config(database=url, search_backend="postgres", base_dir=tmp_path)


def found(index: SearchIndex, query: str) -> set[str]:
    return {h.uid for h in index.search(query, limit=50)}


def test_postgres_index_follows_the_store(tmp_path: Path) -> None:
    url = new_pg_database()
    config = pg_config(tmp_path, url)
    store = PostgresStore(url)
    try:
        save(store, DOCS)
        assert update_index(config, store) == len(DOCS)
        assert update_index(config, store) == 0  # nothing changed: nothing done
        index = open_index(config, store=store)
        assert isinstance(index, PostgresIndex)
        assert found(index, "逆回购") == {uid("omo")}
        hit = index.search("逆回购")[0]
        assert "<mark>逆回购</mark>" in hit.snippet.to_html()
        # An entry whose text changes is found by its new words only.
        changed = Doc(DOCS[3].feed, "omo", DOCS[3].title, "中期借贷便利操作利率保持不变。", hours=50)
        save(store, [changed], now=T0 + timedelta(days=1))
        assert found(index, "逆回购") == {uid("omo")}  # the title still says it
        assert found(index, "中期借贷便利") == set()  # not indexed yet
        update_index(config, store)
        assert found(index, "中期借贷便利") == {uid("omo")}
        assert found(index, "银行体系流动性") == set()
        # A feed removed from the archive takes its entries out of the index.
        store.delete_feed(PAPER.key)
        update_index(config, store)
        assert found(index, "千兆光网") == {uid("ref")}
        docs = searchable(store)
        assert docs.search_count() == store.count_entries() == len(DOCS) - 1
        assert docs.search_mark() == store.max_rev()
        # Documents ahead of the store (another database's) are rebuilt from it.
        docs.save_search_docs([], [], mark=store.max_rev() + 50, expect=store.max_rev())
        assert index.sync(store) == len(store.changes_since(0))
        assert docs.search_mark() == store.max_rev() and docs.search_count() == len(DOCS) - 1
        assert found(index, "千兆光网") == {uid("ref")}
        # Relevance ranks among the newest matches (the window), date order has none.
        everything = compile_query(parse("千兆光网 OR 央行 OR 5.0%"), Filters())
        by_date = [u for u, _ in docs.search_docs(everything, sort="date", fetch=10)]
        assert by_date == [uid("gdp"), uid("ref"), uid("rrr")]  # newest first (omo no longer matches)
        assert [u for u, _ in docs.search_docs(everything, sort="relevance", fetch=1, window=1)] == [
            uid("gdp")
        ]
        # With all three in the window, the oldest ranks first: 央行 is in its title (weight A).
        assert [u for u, _ in docs.search_docs(everything, sort="relevance", fetch=1, window=3)] == [
            uid("rrr")
        ]
        # Reindexing starts over and ends where the store is.
        index.reset()
        assert docs.search_count() == 0 and found(index, "千兆光网") == set()
        assert index.rebuild(store) == len(store.changes_since(0))
        assert found(index, "千兆光网") == {uid("ref")}
    finally:
        store.close()


def test_a_sqlite_archive_has_no_database_index(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "a.db")
    try:
        with pytest.raises(SearchError, match="needs a PostgreSQL archive"):
            PostgresIndex(database_url=str(tmp_path / "a.db"), store=store).search("央行")
    finally:
        store.close()
    (tmp_path / "c.yaml").write_text("database: a.db\nsearch_backend: postgres\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"c\.yaml:2: search_backend: postgres needs a PostgreSQL archive"):
        load_config(tmp_path / "c.yaml")


def test_documents_are_built_from_the_shared_tokens() -> None:
    entry = EntryText(
        uid="0" * 16, feed_key="a/b/c", group="a", site="b", feed="c", title="千兆光网",
        link=None, when=T0, cleaned="IPv6 规模部署，5G 网络建设。", html="", source=None,
    )  # fmt: skip
    doc = document(entry, prepare([(entry.title, entry.cleaned, entry.html)])[0])
    # Title tokens weighted A, at consecutive positions with the text's (phrases cross them).
    assert doc.body == "'千兆':1A '光网':2A 'ipv6':3 '规模':4 '部署':5 '5g':6 '网络':7 '建设':8"
    assert doc.chars.startswith(
        "'千':1 '兆':2 '光':3 '网':4,11 'ipv6':5 '规':6 '模':7 '部':8 '署':9 '5g':10 '络':12"
    )
    assert doc.ts == int(T0.timestamp()) and doc.source is None
    # Quotes and backslashes are escaped; overlong words leave a gap (as tantivy's filter does).
    assert _vector(["a'b", "c\\d", "x" * 70, "y"]) == "'a''b':1 'c\\\\d':2 'y':4"
    assert compile_query(parse('千兆光网 -"网络 建设" OR x'), Filters()).body == (
        "(('千兆' <-> '光网') | ('x')) & (!('网络' <-> '建设'))"
    )


def test_two_processes_catching_up_at_once(tmp_path: Path) -> None:
    """Two processes (separate connection pools) storing and indexing one archive at the same
    moment, round after round: every entry indexed once, at the store's rev, none lost."""
    url = new_pg_database()
    config = pg_config(tmp_path, url)
    stores = [PostgresStore(url), PostgresStore(url)]
    docs = labelled_docs()
    barrier = threading.Barrier(2, timeout=60)
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            for r in range(6):
                barrier.wait()
                save(stores[n], [d for i, d in enumerate(docs) if i % 12 == 2 * r + n])
                barrier.wait()
                update_index(config, stores[n])
        except BaseException as e:
            errors.append(e)
            barrier.abort()

    threads = [threading.Thread(target=work, args=(n,)) for n in range(2)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        assert not errors, errors
        store = stores[0]
        assert searchable(store).search_count() == store.count_entries() == len(docs)
        assert searchable(store).search_mark() == store.cluster_mark() == store.max_rev()
        index = open_index(config, store=store)
        assert len(found(index, '"先谋后动"')) == 1  # one story, however many copies
    finally:
        for s in stores:
            s.close()


# --- clusters built by several processes at once --------------------------------------------
def story_copies(count: int) -> list[tuple[Doc, Doc]]:
    """Two copies of each of `count` stories of the labelled set, each from its own outlet."""
    by_story: dict[str, list[dict[str, object]]] = {}
    for row in labelled_set():
        by_story.setdefault(str(row["story"]), []).append(row)
    out = []
    for rows in by_story.values():
        outlets = {str(r["outlet"]): r for r in rows}
        if len(outlets) < 2:
            continue
        pair = [
            Doc(
                feed("财经", outlet, "要闻"),
                str(r["id"]),
                str(r["title"]),
                str(r["text"]),
                link=str(r["link"]),
            )
            for outlet, r in list(outlets.items())[:2]
        ]
        out.append((pair[0], pair[1]))
    assert len(out) >= count
    return out[:count]


def test_two_workers_storing_copies_of_one_story_build_one_cluster() -> None:
    """Two workers (separate connection pools) each store a copy of the same story at the same
    moment and cluster at once, story after story: every story is one cluster of both copies."""
    url = new_pg_database()
    stores = [PostgresStore(url), PostgresStore(url)]
    pairs = story_copies(12)
    barrier = threading.Barrier(2, timeout=60)
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            for pair in pairs:
                barrier.wait()
                save(stores[n], [pair[n]])
                update_clusters(stores[n])
        except BaseException as e:
            errors.append(e)
            barrier.abort()

    threads = [threading.Thread(target=work, args=(n,)) for n in range(2)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        assert not errors, errors
        store = stores[0]
        update_clusters(store)
        assert store.cluster_mark() == store.max_rev()
        for a, b in pairs:
            refs = store.cluster_refs([a.uid, b.uid])
            assert refs[a.uid].id == refs[b.uid].id and refs[a.uid].size == 2, (a.id, b.id)
        assert len(store.list_clusters(limit=100)) == len(pairs)
        members = list(store.cluster_member_uids())
        assert len(members) == len({uid for _, uid in members}) == 2 * len(pairs)
    finally:
        for s in stores:
            s.close()


def test_a_session_that_finds_the_mark_moved_writes_nothing_and_goes_on_from_it() -> None:
    url = new_pg_database()
    one, other = PostgresStore(url), PostgresStore(url)
    try:
        (a, b), (c, _) = story_copies(2)
        save(one, [a])
        first, second = Session(one), Session(other)
        changes = one.changes_since(0)
        items = [item_of(e) for e in one.get_entries([a.uid])]
        assert second.apply(changes, items) == 1  # the other process clusters `a` first
        save(one, [b, c])
        changes = one.changes_since(0)
        items = [item_of(e) for e in one.get_entries([a.uid, b.uid, c.uid])]
        # Saving from the mark it started at fails: nothing written…
        assert not one.save_clusters([], [], detached=[a.uid], mark=changes[-1][0], expect=0)
        assert one.cluster_mark() == changes[0][0] and one.cluster_refs([a.uid]) == {}
        # …so the session starts again after the other's mark: `a` is not clustered twice.
        assert first.apply(changes, items) == 2
        assert first.mark == one.cluster_mark() == one.max_rev()
        refs = one.cluster_refs([a.uid, b.uid, c.uid])
        assert refs[a.uid] == refs[b.uid] and refs[a.uid].id == a.uid and c.uid not in refs
    finally:
        one.close()
        other.close()


def test_the_commands_use_the_configured_backend(tmp_path: Path) -> None:
    """`newsdesk search`, `reindex` and `check` on a PostgreSQL archive with its own index."""
    url = new_pg_database()
    store = PostgresStore(url)
    try:
        save(store, DOCS)
    finally:
        store.close()
    config = tmp_path / "newsdesk.yaml"
    config.write_text(f"database: {url}\nsearch_backend: postgres\n", encoding="utf-8")
    hits = json.loads(run_cli(config, "search", "央行", "-降准", "--json").stdout)
    assert [h["id"] for h in hits] == [uid("omo")] and "<mark>央行</mark>" in hits[0]["snippet"]
    assert hits[0]["score"] > 0
    by_date = json.loads(run_cli(config, "search", "千兆光网", "--sort", "date", "--json").stdout)
    assert [h["id"] for h in by_date] == [uid("gig"), uid("ref")] and by_date[0]["score"] is None
    assert json.loads(run_cli(config, "reindex", "--json").stdout) == {
        "indexed": len(DOCS),
        "clustered": len(DOCS),
    }
    check = run_cli(config, "check", check=False)
    assert f"{len(DOCS)} documents in the database, one per entry, up to date" in check.stdout
    # The same archive with the default backend: one line saying what to set.
    config.write_text(f"database: {url}\n", encoding="utf-8")
    wrong = run_cli(config, "search", "央行", check=False)
    assert wrong.returncode != 0 and "set search_backend: postgres" in wrong.stderr
    assert "Traceback" not in wrong.stderr


def test_the_api_searches_the_configured_index(tmp_path: Path) -> None:
    """`serve` on a PostgreSQL archive answers `/api/v1/search` from the database's index."""
    url = new_pg_database()
    config_path = tmp_path / "newsdesk.yaml"
    config_path.write_text(
        f"database: {url}\nsearch_backend: postgres\npublishers: []\n"
        "serve:\n  host: 127.0.0.1\n  port: 0\ngroups: {}\n",
        encoding="utf-8",
    )
    store = PostgresStore(url)
    try:
        save(store, DOCS)
        update_index(pg_config(tmp_path, url), store)
        user = store.add_user("reader", accounts.hash_password("pw-reader"), admin=False, now=T0)
        token = accounts.new_token()
        store.add_token(user.id, accounts.secret_hash(token), label="test", now=T0)
    finally:
        store.close()
    serve = ServeProcess(config_path)
    try:
        serve.wait_healthy()
        with client(serve.url, token) as api:
            hits = api.get("/api/v1/search", params={"q": "央行 -降准"}).json()["hits"]
            assert [h["id"] for h in hits] == [uid("omo")]
            by_date = api.get("/api/v1/search", params={"q": "千兆光網", "sort": "date"}).json()["hits"]
            assert [h["id"] for h in by_date] == [uid("gig"), uid("ref")]
    finally:
        serve.stop()


def test_the_database_index_reports_a_lock_in_one_line() -> None:
    """Another connection holds an exclusive lock on the archive: each method of the search
    documents raises StoreLockedError naming the archive, and works once the lock is gone."""
    store = PostgresStore(new_pg_database(), lock_wait=0.05)
    docs = searchable(store)
    query = compile_query(parse("央行"), Filters())
    calls: dict[str, Callable[[], object]] = {
        "search_mark": docs.search_mark,
        "search_count": docs.search_count,
        "save_search_docs": lambda: docs.save_search_docs([], [], mark=0, expect=0),
        "reset_search": docs.reset_search,
        "search_docs": lambda: docs.search_docs(query, sort="relevance", fetch=10),
    }
    assert set(calls) == role_methods(protocol.SearchDocStore)  # every method of the role
    try:
        for name, call in calls.items():
            with psycopg.connect(store.url) as other:  # a transaction until the block ends
                other.execute(
                    "LOCK TABLE newsdesk_search.docs, newsdesk_search.state IN ACCESS EXCLUSIVE MODE"
                )
                with pytest.raises(StoreLockedError) as caught:
                    call()
                other.rollback()
            assert locked_message_ok("postgresql", store, str(caught.value)), name
            call()
    finally:
        store.close()
