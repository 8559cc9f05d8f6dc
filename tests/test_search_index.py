"""The search index against a real SQLite archive and a real tantivy index: every query
operator and filter, Simplified/Traditional equivalence, snippets, and the index staying in
step with the store through inserts, updates, deletes, crashes and rebuilds."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import opencc
import pytest

from newsdesk.config import Config
from newsdesk.search import SearchError, index_path, open_index, update_index
from newsdesk.search.cluster import update_clusters
from newsdesk.search.hits import parse as index_parse
from newsdesk.search.index import SCHEMA_VERSION, SIDECAR, TantivyIndex
from newsdesk.search.query import Filters
from newsdesk.store import SQLiteStore, Store
from test_search_fixtures import T0, Doc, feed, save, story_text

SINA = feed("金融", "新浪财经", "新浪财经－国內")
PAPER = feed("金融", "澎湃新闻", "财经")
STATS = feed("宏观", "国家统计局", "最新发布")

RRR = (
    "中国人民银行决定于12月15日下调金融机构存款准备金率0.5个百分点（不含已执行5%存款准备金率的金融机构）。"
    "本次下调后，金融机构加权平均存款准备金率为8.4%。央行有关负责人表示，此次降准释放长期资金约1.2万亿元。"
)
OMO = (
    "人民银行当日以固定利率、数量招标方式开展了3560亿元7天期逆回购操作，操作利率维持1.40%不变。"
    "央行适时加大了投放力度，银行体系流动性保持合理充裕。"
)
DOCS = [
    Doc(SINA, "ref", "工信部部署2022年六方面重点任务", story_text("s000"), hours=8, source="中国新闻网"),
    Doc(PAPER, "gig", "千兆光网覆盖家庭超3亿户 双千兆网络建设提速", story_text("s001"), hours=30),
    Doc(SINA, "rrr", "央行宣布全面降准0.5个百分点", RRR, hours=2, source="新华社"),
    Doc(STATS, "omo", "人民银行开展3560亿元逆回购操作", OMO, hours=50),
    Doc(STATS, "gdp", "前三季度国内生产总值同比增长5.0%", story_text("s010"), hours=70),
    Doc(STATS, "bse", "北交所市场稳步扩容", "北交所上市公司中专精特新“小巨人”企业占比接近一半。", hours=60),
]


@pytest.fixture
def archive(tmp_path: Path) -> Iterator[tuple[Store, TantivyIndex]]:
    store = SQLiteStore(tmp_path / "archive.db")
    save(store, DOCS)
    update_clusters(store)
    index = TantivyIndex(
        tmp_path / "archive.db.search", database_url=str(tmp_path / "archive.db"), store=store
    )
    index.sync(store)
    yield store, index
    index.close()
    store.close()


def ids(index: TantivyIndex, query: str, **kw: object) -> list[str]:
    return [h.uid for h in index.search(query, limit=20, **kw)]  # type: ignore[arg-type]


def uid(doc_id: str) -> str:
    return next(d.uid for d in DOCS if d.id == doc_id)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("央行", {"rrr", "omo"}),  # two-character word
        ("存款准备金率", {"rrr"}),  # jieba cuts it 存款 + 准备金率: matched as a phrase
        ("准备金", {"rrr"}),  # a word inside a longer token (character fallback)
        ("千兆光网", {"ref", "gig"}),  # 千兆 + 光网
        ("5G", {"ref", "gig"}),
        ("ipv6", {"ref"}),  # case-insensitive
        ("IPv6", {"ref"}),
        ("4亿户", {"ref"}),  # number + word
        ("工信部", {"ref"}),  # in the title only
        ("逆回购", {"omo"}),
        ("5.0%", {"gdp"}),
        # Cut 专精 + 特新 alone but 中专 + 精特新 in this text: found as a run of characters.
        ("专精特新", {"bse", "ref"}),  # the reference cuts it 专精 + 特新 like the query
        ("北交所 专精特新", {"bse"}),
    ],
)
def test_words_of_every_kind_match(
    archive: tuple[Store, TantivyIndex], query: str, expected: set[str]
) -> None:
    assert set(ids(archive[1], query)) == {uid(x) for x in expected}


def test_traditional_and_simplified_are_one(archive: tuple[Store, TantivyIndex]) -> None:
    _, index = archive
    assert ids(index, "千兆光網") == ids(index, "千兆光网")
    assert set(ids(index, "存款準備金率")) == {uid("rrr")}
    # …and the other way round: a Traditional article is found by a Simplified query.
    store = archive[0]
    trad = opencc.OpenCC("s2t").convert(
        "香港交易所公布，港股通南向资金本周净流入超过200亿港元，创下年内新高。"
    )
    save(store, [Doc(PAPER, "hk", "港股通南向資金淨流入", trad, hours=90)])
    index.sync(store)
    assert ids(index, "南向资金") == [entry_uid(PAPER.key, "hk")]
    assert ids(index, "资金净流入") == [entry_uid(PAPER.key, "hk")]


def entry_uid(key: str, doc_id: str) -> str:
    from newsdesk.models import entry_uid as uid_of

    return uid_of(key, doc_id)


def test_operators(archive: tuple[Store, TantivyIndex]) -> None:
    _, index = archive
    assert set(ids(index, "央行 降准")) == {uid("rrr")}  # all words must match
    assert set(ids(index, "央行 -降准")) == {uid("omo")}  # excluded
    assert set(ids(index, '千兆光网 -"千兆光网建设"')) == {uid("gig")}  # excluded phrase
    assert set(ids(index, "存款准备金率 OR 逆回购")) == {uid("rrr"), uid("omo")}
    assert set(ids(index, "存款准备金率 | IPv6")) == {uid("rrr"), uid("ref")}
    assert set(ids(index, "央行 逆回购 OR 降准")) == {uid("rrr"), uid("omo")}
    # An exact phrase matches across the text's own cuts, and word order matters.
    assert ids(index, '"千兆光网建设"') == [uid("ref")]
    assert ids(index, '"光网 千兆"') == []
    assert ids(index, "“稳妥有序开展5G”") == [uid("ref")]  # Chinese quotes
    with pytest.raises(SearchError, match="besides the -excluded"):
        index.search("-央行")
    with pytest.raises(SearchError, match="no words"):
        index.search("，。！")


def test_filters(archive: tuple[Store, TantivyIndex]) -> None:
    _, index = archive
    assert set(ids(index, "央行", filters=Filters(group="宏观"))) == {uid("omo")}
    assert set(ids(index, "千兆光网", filters=Filters(site="澎湃新闻"))) == {uid("gig")}
    assert set(ids(index, "央行", filters=Filters(feed="新浪财经－国內"))) == {uid("rrr")}
    assert set(ids(index, "央行", filters=Filters(feed="宏观/国家统计局/最新发布"))) == {uid("omo")}
    assert set(ids(index, "千兆光网", filters=Filters(source="中国新闻网"))) == {uid("ref")}
    late = Filters(since=T0 + timedelta(hours=10))
    assert set(ids(index, "千兆光网", filters=late)) == {uid("gig")}
    early = Filters(until=T0 + timedelta(hours=10))
    assert set(ids(index, "千兆光网", filters=early)) == {uid("ref")}
    assert ids(
        index, "千兆光网", filters=Filters(since=T0 + timedelta(hours=8), until=T0 + timedelta(hours=9))
    ) == [uid("ref")]


def test_sort_by_relevance_and_date(archive: tuple[Store, TantivyIndex]) -> None:
    _, index = archive
    by_date = index.search("央行", sort="date")
    assert [h.uid for h in by_date] == [uid("omo"), uid("rrr")]  # newest first
    assert all(h.score is None for h in by_date)
    by_score = index.search("千兆光网")
    assert by_score[0].score is not None and by_score[0].score >= by_score[-1].score  # type: ignore[operator]
    # The article about 千兆光网 (title and body) outranks the one mentioning it twice.
    assert by_score[0].uid == uid("gig")
    assert len(index.search("央行", limit=1)) == 1


def test_snippets_mark_the_matched_words(archive: tuple[Store, TantivyIndex]) -> None:
    _, index = archive
    [hit] = index.search("4亿户 IPv6")
    html = hit.snippet.to_html()
    assert "<mark>4亿户</mark>" in html and "<mark>IPv6</mark>" in html
    assert "<p" not in html and "\n" not in html
    [trad] = index.search("千兆光網 IPv6")
    assert "<mark>千兆光网</mark>" in trad.snippet.to_html()
    [title_only] = index.search("工信部")
    assert title_only.snippet.text.startswith("中新社北京12月20日电")  # no match in the text: its start


def test_index_follows_inserts_updates_and_deletes(
    tmp_path: Path, archive: tuple[Store, TantivyIndex]
) -> None:
    store, index = archive
    assert index.sync(store) == 0  # nothing changed
    save(store, [Doc(SINA, "new", "国家数据局推进数据要素市场化配置改革", "全国已有超过50家数据交易机构。")])
    assert index.sync(store) == 1
    assert ids(index, "数据交易机构") == [entry_uid(SINA.key, "new")]
    # An update replaces the document: the old words are gone, the new ones found.
    save(store, [Doc(SINA, "new", "国家数据局：数据交易规模有望突破2000亿元", "公共数据授权运营加快推进。")])
    assert index.sync(store) == 1
    assert ids(index, "数据交易机构") == []
    assert ids(index, "授权运营") == [entry_uid(SINA.key, "new")]
    # A delete (the store lists removed entries with their rev) drops the document.
    gone = uid("omo")
    with sqlite3.connect(tmp_path / "archive.db") as db:
        rev = db.execute("SELECT MAX(rev) FROM entries").fetchone()[0]
        db.execute("DELETE FROM articles WHERE uid=?", (gone,))
        db.execute("DELETE FROM entries WHERE uid=?", (gone,))
        db.execute("INSERT INTO removed_entries (uid, rev) VALUES (?, ?)", (gone, rev + 1))
    assert index.sync(store) == 1
    assert ids(index, "逆回购") == []
    assert index.doc_count() == store.count_entries()


def test_crash_between_commit_and_sidecar_reapplies_without_drift(
    archive: tuple[Store, TantivyIndex],
) -> None:
    store, index = archive
    # The index committed everything but the sidecar still says rev 0 (crash before writing it).
    (index.path / SIDECAR).write_text(json.dumps({"schema": SCHEMA_VERSION, "rev": 0}), encoding="utf-8")
    assert index.sync(store) == len(DOCS)
    assert index.doc_count() == len(DOCS)  # delete-then-add: no duplicates
    assert ids(index, "存款准备金率") == [uid("rrr")]
    assert index.applied_rev() == store.max_rev()


def test_broken_or_foreign_index_is_rebuilt(tmp_path: Path, archive: tuple[Store, TantivyIndex]) -> None:
    store, index = archive
    # A sidecar ahead of the archive means another or a restored database: rebuild.
    (index.path / SIDECAR).write_text(json.dumps({"schema": SCHEMA_VERSION, "rev": 10_000}), encoding="utf-8")
    assert index.sync(store) == len(DOCS)
    assert index.doc_count() == len(DOCS)
    # An unreadable index folder is replaced when opened, then filled by the next sync.
    for f in index.path.glob("*.term"):
        f.write_bytes(b"garbage")
    (index.path / "meta.json").write_text("{", encoding="utf-8")
    again = TantivyIndex(index.path, database_url=str(tmp_path / "archive.db"), store=store)
    assert again.sync(store) == len(DOCS)
    assert ids(again, "千兆光网") and again.doc_count() == len(DOCS)


def test_rebuild_and_update_index(tmp_path: Path, archive: tuple[Store, TantivyIndex]) -> None:
    store, index = archive
    before = ids(index, "千兆光网")
    assert index.rebuild(store) == len(DOCS)
    assert ids(index, "千兆光网") == before
    config = Config(database=str(tmp_path / "archive.db"), base_dir=tmp_path)
    assert index_path(config) == tmp_path / "archive.db.search"
    assert update_index(config, store) == 0
    save(store, [Doc(PAPER, "x", "央行：保持流动性合理充裕", "央行将保持流动性合理充裕。")])
    assert update_index(config, store) == 1
    with pytest.raises(SearchError, match="PostgreSQL"):
        open_index(Config(database="postgresql://db/newsdesk", base_dir=tmp_path))


def test_a_writer_elsewhere_is_a_clear_error_and_no_change_needs_no_writer(
    archive: tuple[Store, TantivyIndex],
) -> None:
    store, index = archive
    other = TantivyIndex(index.path, database_url="unused", store=store)
    with other.writer():
        assert index.sync(store) == 0  # up to date: the lock is never asked for
        save(store, [Doc(SINA, "late", "标题", "正文内容足够长。")])
        with pytest.raises(SearchError, match="another process"):
            index.sync(store)
    assert index.sync(store) == 1


def test_a_writer_sweeps_the_temporary_files_a_killed_writer_left(
    archive: tuple[Store, TantivyIndex],
) -> None:
    """tantivy writes meta.json through `.tmpXXXXXX` in the index folder; a writer killed before
    the rename leaves it, and the next writer (holding the lock) removes it, and only such."""
    store, index = archive
    left = index.path / ".tmpQ3xZ9a"
    kept = [index.path / ".tmp-notes", index.path / "tmpAbc123"]
    for f in kept:
        f.write_text("not tantivy's", encoding="utf-8")
    other = TantivyIndex(index.path, database_url="unused", store=store)
    with other.writer():  # another writer, its meta.json half written: left alone meanwhile
        left.write_text('{"segments": []', encoding="utf-8")
        with pytest.raises(SearchError, match="another process"), index.writer():
            pass
        assert left.exists()
    save(store, [Doc(SINA, "swept", "标题", "正文内容足够长。")])
    assert index.sync(store) == 1 and not left.exists()
    assert all(f.exists() for f in kept)
    assert ids(index, "正文内容") == [entry_uid(SINA.key, "swept")]


def _copies(store: Store) -> tuple[str, str, str]:
    text = story_text("s001")
    save(
        store,
        [
            Doc(SINA, "a", "千兆光网覆盖家庭超3亿户", text, hours=1),
            Doc(
                PAPER, "b", "千兆光网覆盖家庭超3亿户_澎湃新闻", "【编者按】本文经授权转载。\n" + text, hours=3
            ),
            Doc(STATS, "c", "千兆光网进园区", story_text("s002"), hours=2),
        ],
    )
    return entry_uid(SINA.key, "a"), entry_uid(PAPER.key, "b"), entry_uid(STATS.key, "c")


def test_copies_of_one_story_collapse_to_one_hit(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "a.db")
    _, _, c = _copies(store)
    update_clusters(store)
    index = TantivyIndex(tmp_path / "a.db.search", database_url=str(tmp_path / "a.db"), store=store)
    index.sync(store)
    hits = index.search("千兆光网", limit=10)
    assert len(hits) == 2
    story = next(h for h in hits if h.cluster is not None)
    assert story.cluster is not None and story.cluster.size == 2 and story.also_in == 1
    assert next(h for h in hits if h.cluster is None).uid == c
    index.close()
    store.close()


def _engine_stories(index: TantivyIndex, query: str) -> dict[str, str | None]:
    compiled = index.compile(index_parse(query), Filters())
    return {uid: story for uid, _, story in index._ranked(index._index.searcher(), compiled, 10, "relevance")}


def test_the_index_knows_each_hits_story_and_the_archive_has_the_last_word(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = SQLiteStore(tmp_path / "a.db")
    a, b, c = _copies(store)
    update_clusters(store)
    index = TantivyIndex(tmp_path / "a.db.search", database_url=str(tmp_path / "a.db"), store=store)
    index.sync(store)
    # Each document carries the story its entry was in: the two copies share the first's id.
    assert _engine_stories(index, "千兆光网") == {a: a, b: a, c: c}
    asked: list[list[str]] = []
    story_keys = store.story_keys
    store.story_keys = lambda uids: asked.append(list(uids)) or story_keys(asked[-1])  # type: ignore[method-assign]
    hits = index.search("千兆光网", limit=10)
    assert sorted(h.uid for h in hits) == sorted([a, c]) and next(h for h in hits if h.uid == a).also_in == 1
    assert [sorted(x) for x in asked] == [sorted([a, c])]  # only the hits shown, checked: none hit by hit
    # The clusters rebuilt apart from the index, and differently (the story's id is now b's, and
    # c joined it): the shown hits no longer agree with the index, so the archive decides
    # every copy, and the log says why.
    with sqlite3.connect(tmp_path / "a.db") as db:
        db.execute("UPDATE clusters SET id=? WHERE id=?", (b, a))
        db.execute("UPDATE cluster_members SET cluster_id=? WHERE uid IN (?,?,?)", (b, a, b, c))
    with caplog.at_level("INFO", logger="newsdesk.search"):
        hits = index.search("千兆光网", limit=10)
    assert len(hits) == 1
    assert any("newsdesk reindex" in r.getMessage() for r in caplog.records)
    index.close()
    store.close()


def test_entries_indexed_before_their_clustering_are_collapsed_by_the_archive(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "a.db")
    a, b, c = _copies(store)
    index = TantivyIndex(tmp_path / "a.db.search", database_url=str(tmp_path / "a.db"), store=store)
    index.sync(store)  # no clusters yet: the documents know no story
    assert _engine_stories(index, "千兆光网") == {a: None, b: None, c: None}
    assert len(index.search("千兆光网", limit=10)) == 3
    update_clusters(store)
    hits = index.search("千兆光网", limit=10)
    assert sorted(h.uid for h in hits) == sorted([a, c])
    index.close()
    store.close()
