"""The storage Protocol, run against every backend (SQLite now; a second joins
`store_backends.BACKENDS`): every public method of `Store` is called here, clusters and host
holds included (`test_every_protocol_method_is_tested` keeps it so)."""

from __future__ import annotations

import ast
import random
import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from newsdesk.errors import FeedExistsError, StoreError, StoreLockedError, UserExistsError
from newsdesk.insights_json import insights_dict
from newsdesk.models import (
    Article,
    Change,
    Cleaned,
    ClusterMember,
    ClusterRef,
    EntryQuery,
    FeedSchedule,
    FeedSpec,
    FetchResult,
    Figure,
    Insights,
    InsightsOf,
    ListedEntry,
    Official,
    ParsedEntry,
    ReaderEntry,
    Target,
    TaskItem,
    UpsertCounts,
    content_hash,
    entry_uid,
)
from newsdesk.search.cluster import update_clusters
from newsdesk.store import Store, open_store
from newsdesk.store.postgres import PostgresStore
from newsdesk.store.postgres import migrations as pg_migrations
from newsdesk.store.sqlite import SQLiteStore, migrations
from store_backends import BACKENDS, locked_out, new_pg_database, open_backend, protocol_methods
from test_search_fixtures import Doc, feed, save, story_text

FEED = FeedSpec(group="金融", site="新浪财经", name="新浪财经－国內", url="http://127.0.0.1:9/feed.xml")
NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
OK = FetchResult(
    url="http://127.0.0.1:9/feed.xml",
    status=200,
    text="",
    etag='"v1"',
    last_modified="Sat, 28 Nov 2026 12:00:00 GMT",
)


def entry(n: int, **kw: object) -> ParsedEntry:
    base = ParsedEntry(
        id=f"https://finance.sina.com.cn/doc-{n}.shtml",
        title=f"标题{n}",
        link=f"https://finance.sina.com.cn/doc-{n}.shtml",
        published=datetime(2026, 11, 20, 8, 0, tzinfo=UTC) + timedelta(hours=n),
        content=f"<p>正文{n}</p>",
    )
    return replace(base, **kw)  # type: ignore[arg-type]


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    s = open_backend(request.param, tmp_path)
    yield s
    s.close()


def methods_called_by_tests(source: str) -> set[str]:
    """Names of the methods the test functions of `source` call."""
    return {
        node.func.attr
        for test in ast.parse(source).body
        if isinstance(test, ast.FunctionDef) and test.name.startswith("test_")
        for node in ast.walk(test)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
    }


def test_every_protocol_method_is_tested() -> None:
    """Each method of the Store Protocol is called by a test of this suite (so runs against
    every backend): a method added to the Protocol fails here until a test calls it."""
    untested = protocol_methods() - methods_called_by_tests(Path(__file__).read_text(encoding="utf-8"))
    assert not untested, f"test these Store methods in tests/test_store.py: {sorted(untested)}"
    assert methods_called_by_tests("def test_x(store):\n    store.close()\n") == {"close"}
    assert methods_called_by_tests("def helper(store):\n    store.close()\n") == set()


def test_new_entries_are_stored_once(store: Store) -> None:
    counts = store.save_fetch(FEED, OK, [entry(1), entry(2)], NOW)
    assert (counts.new, counts.updated, counts.unchanged) == (2, 0, 0)
    again = store.save_fetch(FEED, OK, [entry(1), entry(2)], NOW)
    assert (again.new, again.updated, again.unchanged) == (0, 0, 2)
    assert store.count_entries() == 2


def test_changed_entry_is_updated_not_duplicated(store: Store) -> None:
    store.save_fetch(FEED, OK, [entry(1)], NOW)
    later = NOW + timedelta(hours=1)
    counts = store.save_fetch(FEED, OK, [entry(1, title="标题1（更新）")], later)
    assert (counts.new, counts.updated) == (0, 1)
    assert store.count_entries() == 1
    e = store.get_entry(entry_uid(FEED.key, entry(1).id))
    assert e is not None
    assert e.title == "标题1（更新）"
    assert e.first_seen == NOW and e.last_changed == later


def test_same_id_in_two_feeds_is_two_entries(store: Store) -> None:
    other = replace(FEED, name="另一个源", url="http://127.0.0.1:9/other.xml")
    store.save_fetch(FEED, OK, [entry(1)], NOW)
    store.save_fetch(other, OK, [entry(1)], NOW)
    assert store.count_entries() == 2


def test_round_trip_of_fields_and_utc(store: Store) -> None:
    e = entry(3, author="刘育英", summary="摘要", updated=datetime(2026, 11, 21, tzinfo=UTC))
    store.save_fetch(FEED, OK, [e], NOW)
    got = store.get_entry(entry_uid(FEED.key, e.id))
    assert got is not None
    assert (got.group, got.site, got.feed) == ("金融", "新浪财经", "新浪财经－国內")
    assert got.published == e.published and got.published.tzinfo is not None
    assert got.updated == e.updated
    assert (got.author, got.summary, got.content, got.link) == ("刘育英", "摘要", e.content, e.link)


def test_list_newest_first_and_entry_without_date_sorts_by_first_seen(store: Store) -> None:
    store.save_fetch(FEED, OK, [entry(1), entry(5), entry(9, published=None)], NOW)
    titles = [e.title for e in store.list_entries()]
    assert titles == ["标题9", "标题5", "标题1"]  # first_seen NOW is after every published time
    assert [e.title for e in store.list_entries(limit=1, offset=1)] == ["标题5"]


def test_fetch_state_success_and_failures(store: Store) -> None:
    store.sync_feeds([FEED])
    store.record_failure(FEED.key, "HTTP 503", NOW)
    store.record_failure(FEED.key, "HTTP 503", NOW)
    st = store.feed_states()[FEED.key]
    assert (st.consecutive_failures, st.last_error, st.last_success) == (2, "HTTP 503", None)
    store.save_fetch(FEED, OK, [], NOW)
    st = store.feed_states()[FEED.key]
    assert (st.consecutive_failures, st.last_error, st.etag) == (0, None, '"v1"')
    assert st.last_success == NOW


def test_permanent_redirect_updates_url_and_new_source_resets_state(store: Store) -> None:
    moved = replace(OK, permanent_url="http://127.0.0.1:9/new.xml")
    store.save_fetch(FEED, moved, [], NOW)
    assert store.feed_states()[FEED.key].url == "http://127.0.0.1:9/new.xml"
    changed = replace(FEED, url="http://127.0.0.1:9/elsewhere.xml")
    store.sync_feeds([changed])
    st = store.feed_states()[FEED.key]
    assert st.url == "http://127.0.0.1:9/elsewhere.xml" and st.etag is None


def test_publish_marks(store: Store) -> None:
    store.set_publish_marks("hexo:/x", {"a": "1", "b": "2"})
    store.set_publish_marks("hexo:/x", {"a": "3"}, removed=["b"])
    assert store.publish_marks("hexo:/x") == {"a": "3"}
    assert store.publish_marks("hexo:/y") == {}


def test_failed_transaction_leaves_nothing_half_written(store: Store) -> None:
    store.save_fetch(FEED, OK, [entry(1)], NOW)
    # A naive datetime is a bug in the caller: it fails mid-batch, after entry(2) was inserted.
    bad = entry(3, published=datetime(2026, 1, 1))
    with pytest.raises(ValueError):
        store.save_fetch(FEED, replace(OK, etag='"v2"'), [entry(2), bad], NOW)
    assert store.count_entries() == 1
    assert store.feed_states()[FEED.key].etag == '"v1"'


def test_crash_mid_run_keeps_committed_entries(tmp_path: Path) -> None:
    """A process killed between two feeds' transactions keeps the first and nothing of the second."""
    db = tmp_path / "crash.db"
    script = textwrap.dedent(
        f"""
        import os
        from datetime import datetime, timezone
        from newsdesk.models import FeedSpec, FetchResult, ParsedEntry
        from newsdesk.store import open_store
        s = open_store({str(db)!r})
        f = FeedSpec(group="g", site="s", name="f", url="http://x/")
        r = FetchResult(url="http://x/", status=200, text="")
        now = datetime.now(timezone.utc)
        batch = [ParsedEntry(id=str(i), title="t", link=None, published=now) for i in range(50)]
        s.save_fetch(f, r, batch, now)
        s._db.execute("BEGIN IMMEDIATE")
        s._db.execute(
            "INSERT INTO entries (uid, feed_key, entry_id, title, content, summary, first_seen,"
            " last_changed, sort_time, content_hash) SELECT 'zz'||uid, feed_key, 'x'||entry_id, title,"
            " content, summary, first_seen, last_changed, sort_time, content_hash FROM entries"
        )
        os._exit(9)  # killed mid-transaction
        """
    )
    proc = subprocess.run([sys.executable, "-c", script], check=False)
    assert proc.returncode == 9
    s = open_store(str(db))
    try:
        assert s.count_entries() == 50
    finally:
        s.close()
    with sqlite3.connect(db) as con:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_unopenable_database_is_a_store_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(StoreError, match="cannot open database"):
        open_store(str(blocker / "x.db"))


def test_database_urls_choose_the_backend(tmp_path: Path) -> None:
    for url in (new_pg_database(), new_pg_database().replace("postgresql://", "postgres://")):
        store = open_store(url)
        try:
            assert isinstance(store, PostgresStore)
        finally:
            store.close()
    store = open_store(f"sqlite:///{tmp_path / 'a.db'}")
    assert isinstance(store, SQLiteStore)
    store.close()
    with pytest.raises(StoreError, match="unsupported database URL"):
        open_store("mysql://127.0.0.1/test")


ARTICLE = Article(
    html="<p>一是……</p>",
    text="一是……",
    summary="一是……",
    char_count=3,
    images=("https://n.sinaimg.cn/a.jpg",),
    header_image="https://n.sinaimg.cn/a.jpg",
    source="中国新闻网",
    editor="刘万里",
    reporters=("刘育英",),
    dateline="中新社北京12月20日电",
    keywords=("A股",),
    profile="sina",
)


def test_articles_are_stored_beside_raw_entries(store: Store) -> None:
    fallback = replace(ARTICLE, profile="fallback", source=None)
    store.save_fetch(
        FEED,
        OK,
        [entry(1), entry(2)],
        NOW,
        articles={entry(1).id: ARTICLE, entry(2).id: Cleaned(fallback, "broken")},
    )
    one = store.get_entry(entry_uid(FEED.key, entry(1).id))
    two = store.get_entry(entry_uid(FEED.key, entry(2).id))
    assert one is not None and two is not None
    assert one.article == ARTICLE and one.clean_error is None
    assert one.content == entry(1).content  # the raw HTML stays for a later reclean
    # A failed clean keeps both its sanitised fallback and the reason.
    assert two.article == fallback and two.clean_error == "broken"
    store.set_article(two.uid, ARTICLE, page="<html>page</html>")
    two = store.get_entry(two.uid)
    assert (
        two is not None
        and two.article == ARTICLE
        and two.clean_error is None
        and two.page == "<html>page</html>"
    )
    store.set_article(two.uid, Cleaned(fallback, "cleaner failed"))
    two = store.get_entry(two.uid)
    assert two is not None and two.article == fallback and two.clean_error == "cleaner failed"
    assert two.page == "<html>page</html>"
    store.set_article(two.uid, Cleaned(ARTICLE))
    two = store.get_entry(two.uid)
    assert two is not None and two.article == ARTICLE and two.clean_error is None


def test_changes_since_follows_every_write(store: Store) -> None:
    assert store.max_rev() == 0
    store.save_fetch(FEED, OK, [entry(1), entry(2)], NOW)
    changes = store.changes_since(0)
    assert [u for _, u, _ in changes] == [entry_uid(FEED.key, entry(1).id), entry_uid(FEED.key, entry(2).id)]
    mark = store.max_rev()
    store.save_fetch(FEED, OK, [entry(1), entry(2, title="改")], NOW)  # one unchanged, one updated
    assert [(u, d) for _, u, d in store.changes_since(mark)] == [(entry_uid(FEED.key, entry(2).id), False)]
    mark = store.max_rev()
    store.set_article(entry_uid(FEED.key, entry(1).id), ARTICLE)
    assert [u for _, u, _ in store.changes_since(mark)] == [entry_uid(FEED.key, entry(1).id)]
    assert store.changes_since(store.max_rev()) == []
    assert store.known_hashes(FEED.key).keys() == {entry(1).id, entry(2).id}


def test_write_lock_held_elsewhere_is_a_store_error(tmp_path: Path) -> None:
    """Another writer holding the lock past the busy timeout is reported, not a raw sqlite3 error."""
    db = tmp_path / "locked.db"
    s = open_store(str(db))
    try:
        s._db.execute("PRAGMA busy_timeout=100")  # type: ignore[attr-defined]
        other = sqlite3.connect(db, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        try:
            with pytest.raises(StoreError, match="database is locked"):
                s.record_failure(FEED.key, "x", NOW)
        finally:
            other.execute("ROLLBACK")
            other.close()
        s.save_fetch(FEED, OK, [entry(1)], NOW)  # usable again once the lock is gone
        assert s.count_entries() == 1
    finally:
        s.close()


def test_entry_heads_are_entries_without_bodies(store: Store) -> None:
    """The static site reads every entry's head (no bodies) and whole entries only for the pages
    it renders: the two must agree, for cleaned and uncleaned entries alike."""
    no_summary = ARTICLE.__class__(**{**ARTICLE.__dict__, "summary": ""})
    entries = [entry(1), entry(2, summary="<b>摘要</b>二"), entry(3, published=None), entry(4)]
    store.save_fetch(FEED, OK, entries, NOW, articles={entry(1).id: ARTICLE, entry(4).id: no_summary})
    uids = [entry_uid(FEED.key, e.id) for e in entries] + ["missing"]
    heads = {h.uid: h for h in store.get_entry_heads(uids)}
    assert set(heads) == set(uids[:4])
    for e in store.get_entries(uids):
        h = heads[e.uid]
        a = e.article
        assert (h.group, h.site, h.feed, h.title) == (e.group, e.site, e.feed, e.title)
        assert (h.published, h.first_seen, h.rev, h.content_hash) == (
            e.published,
            e.first_seen,
            e.rev,
            e.content_hash,
        )
        assert (h.header_image, h.source) == ((a.header_image, a.source) if a else (None, None))
        if a is not None and a.summary:
            assert (h.summary, h.summary_is_html) == (a.summary, False)
        else:
            assert (h.summary, h.summary_is_html) == (e.summary or e.content, True)
    assert heads[uids[1]].summary == "<b>摘要</b>二" and heads[uids[2]].published is None
    assert heads[uids[3]].summary_is_html  # a cleaned article without a summary: the raw one


def test_uids_hashes_and_revs_of_every_entry(store: Store) -> None:
    other = replace(FEED, name="另一个源", url="http://127.0.0.1:9/other.xml")
    store.save_fetch(FEED, OK, [entry(1), entry(3)], NOW)
    store.save_fetch(other, OK, [entry(2)], NOW)
    uids = [entry_uid(FEED.key, entry(n).id) for n in (1, 3)]
    theirs = entry_uid(other.key, entry(2).id)
    assert list(store.iter_uids()) == [uids[1], theirs, uids[0]]  # newest first
    assert list(store.iter_uids(feed_key=FEED.key)) == [uids[1], uids[0]]
    hashes = dict(store.entry_hashes())
    assert hashes.keys() == {*uids, theirs}
    assert hashes[uids[0]] == store.known_hashes(FEED.key)[entry(1).id]
    revs = dict(store.entry_revs())
    assert sorted(revs.values()) == [1, 2, 3] and revs[theirs] == store.max_rev()
    store.set_article(uids[0], ARTICLE)  # a new article is a change: a new rev, the same hash
    assert dict(store.entry_revs())[uids[0]] == store.max_rev() == 4
    assert dict(store.entry_hashes()) == hashes


def test_entry_texts_are_what_search_reads(store: Store) -> None:
    store.save_fetch(
        FEED,
        OK,
        [entry(1), entry(2, content="", summary="<p>摘要二</p>"), entry(3, published=None)],
        NOW,
        articles={entry(1).id: ARTICLE},
    )
    uids = [entry_uid(FEED.key, entry(n).id) for n in (1, 2, 3)]
    texts = {t.uid: t for t in store.entry_texts([*uids, "missing"])}
    assert texts.keys() == set(uids)
    one, two, three = (texts[u] for u in uids)
    assert (one.feed_key, one.group, one.site, one.feed) == (FEED.key, FEED.group, FEED.site, FEED.name)
    assert (one.title, one.link, one.when) == (entry(1).title, entry(1).link, entry(1).published)
    # The entry's HTML is not read where the cleaned text is (every reader takes that first).
    assert (one.cleaned, one.html, one.source) == (ARTICLE.text, "", ARTICLE.source)
    assert (two.cleaned, two.html, two.source) == (None, "<p>摘要二</p>", None)  # no content: the summary
    assert three.when == NOW and three.when.tzinfo is not None  # no date: first seen


def test_reopen_is_a_second_connection_to_the_same_archive(store: Store) -> None:
    store.save_fetch(FEED, OK, [entry(1)], NOW)
    other = store.reopen()
    try:
        other.save_fetch(FEED, OK, [entry(2)], NOW)
        assert store.count_entries() == 2 and other.max_rev() == store.max_rev() == 2
    finally:
        other.close()
    assert store.count_entries() == 2  # closing one connection leaves the other working


def test_health_checks_of_a_sound_archive(store: Store) -> None:
    store.save_fetch(FEED, OK, [entry(1), entry(2)], NOW)
    uid = entry_uid(FEED.key, entry(1).id)
    store.set_publish_marks("hexo:/x", {uid: "1", "gone": "2"})
    store.set_publish_marks("site:/y", {uid: "1"})
    assert store.integrity_problems() == []
    assert store.foreign_key_problems() == []
    # A mark of an entry no longer in the archive is counted apart.
    assert store.mark_summary() == {"hexo:/x": (2, 1), "site:/y": (1, 0)}
    check = store.start_quick_check()
    assert check.problems() == [] and check.damage() is None
    check.cancel()  # after it finished: nothing to stop


# story clusters ------------------------------------------------------------------------------
SINA = feed("金融", "新浪财经", "国内")
PAPER = feed("金融", "澎湃新闻", "财经")
HK = feed("金融", "香港经济日报", "内地")


def test_clusters_persist_across_runs_and_follow_updates(store: Store) -> None:
    text = story_text("s005")
    save(store, [Doc(SINA, "a", "央行开展逆回购", text, hours=5)])
    assert update_clusters(store) == 1
    assert store.list_clusters() == []  # one entry is no cluster
    # A later run brings copies: one republished later, one (from HK, Traditional) earlier.
    import opencc

    trad = opencc.OpenCC("s2t").convert(text)
    save(store, [Doc(PAPER, "b", "央行开展逆回购_澎湃新闻", text + "\n（本文来自澎湃新闻）", hours=9)])
    save(store, [Doc(HK, "c", "人行逆回購", trad, hours=1)])
    assert update_clusters(store) == 2
    assert update_clusters(store) == 0  # caught up
    [summary] = store.list_clusters()
    assert (summary.size, summary.sources) == (3, 3)
    found = store.get_cluster(summary.id)
    assert found is not None
    info, members = found
    assert info.canonical == Doc(HK, "c", "", "").uid  # the earliest, though it came last
    assert [m.feed_key for m in members] == [HK.key, SINA.key, PAPER.key]
    assert {m.reason for m in members} == {"first", "text", "near"}
    assert store.get_cluster(members[1].uid) == found  # any member's id finds the cluster
    refs = store.cluster_refs([m.uid for m in members])
    assert {r.id for r in refs.values()} == {summary.id}
    # The copy is rewritten into a different story: it leaves the cluster.
    save(store, [Doc(PAPER, "b", "另一篇报道", story_text("s020"), hours=9)])
    assert update_clusters(store) == 1
    [summary] = store.list_clusters()
    assert summary.size == 2
    # reset + update (what `newsdesk reindex` does) gives the same clusters.
    store.reset_clusters()
    assert update_clusters(store) == 3
    assert [(c.size, c.canonical) for c in store.list_clusters()] == [(2, info.canonical)]


def test_same_link_clusters_even_when_text_changed(store: Store) -> None:
    link = "https://finance.sina.com.cn/china/2021-12-20/doc-ikyamrmz0000.shtml"
    save(
        store,
        [
            Doc(SINA, "a", "工信部部署重点任务", story_text("s000"), link=link),
            Doc(PAPER, "b", "工信部：六方面重点任务", story_text("s010"), link=link + "?from=wap"),
        ],
    )
    update_clusters(store)
    [c] = store.list_clusters()
    assert c.size == 2


def test_cluster_records_round_trip(store: Store) -> None:
    """The cluster tables through the Protocol alone: members and bands saved in one step are
    found by link, text and band, summarised, listed and forgotten."""
    store.save_fetch(FEED, OK, [entry(1), entry(2), entry(3)], NOW)
    a, b, c = (entry_uid(FEED.key, entry(n).id) for n in (1, 2, 3))
    t = entry(1).published
    assert t is not None
    assert store.cluster_mark() == 0
    assert store.cluster_lookup(links=["l1"], texts=["t1"], bands=[7]) == ({}, {}, {}, {})
    members = [
        ClusterMember(a, a, FEED.key, t, "first", 1.0, "l1", "t1", b"sig-a"),
        ClusterMember(b, a, FEED.key, t + timedelta(hours=1), "near", 0.6, "l2", "t2", b"sig-b"),
        ClusterMember(c, c, FEED.key, t + timedelta(hours=2), "first", 1.0, "l3", None, b"sig-c"),
    ]
    store.save_clusters(members, [(7, a), (8, c)], detached=[], mark=3)
    assert store.cluster_mark() == 3
    links, texts, bands, signatures = store.cluster_lookup(links=["l1", "l3"], texts=["t2"], bands=[7, 8, 9])
    assert links == {"l1": (a, a), "l3": (c, c)} and texts == {"t2": (a, b)}
    assert bands == {7: [(a, a)], 8: [(c, c)]} and signatures == {a: b"sig-a", c: b"sig-c"}
    assert store.cluster_lookup(links=[], texts=[], bands=[7], exclude=[a]) == ({}, {}, {}, {})
    [summary] = store.list_clusters()  # c alone is no cluster
    assert (summary.id, summary.size, summary.sources, summary.canonical) == (a, 2, 1, a)
    assert (summary.first, summary.last, summary.title) == (t, t + timedelta(hours=1), entry(1).title)
    assert store.list_clusters(offset=1) == []
    ref = store.cluster_refs([a, b, c])
    assert ref.keys() == {a, b} and (ref[b].id, ref[b].size, ref[b].canonical) == (a, 2, a)
    # Every clustered uid's story (c alone in its own); unknown and unclustered uids left out.
    assert store.story_keys([a, b, c, "0" * 16]) == {a: a, b: a, c: c}
    assert store.story_keys([]) == {}
    assert list(store.cluster_member_uids()) == [(a, a), (a, b)]
    got = store.get_cluster(b)
    assert got is not None and [m.uid for m in got[1]] == [a, b] and got[0] == summary
    # b leaves: the cluster shrinks to one entry, no longer listed.
    store.save_clusters([], [], detached=[b], mark=4)
    assert store.list_clusters() == [] and store.cluster_refs([a, b]) == {}
    assert store.story_keys([a, b, c]) == {a: a, c: c}
    store.reset_clusters()
    assert store.cluster_mark() == 0 and store.get_cluster(a) is None
    assert list(store.cluster_member_uids()) == []


# host holds ----------------------------------------------------------------------------------
def test_store_keeps_the_latest_hold_per_host(store: Store) -> None:
    now = datetime(2026, 12, 6, 7, 0, tzinfo=UTC)
    store.hold_host("a.example", now + timedelta(hours=1), "HTTP 429 Too Many Requests")
    store.hold_host("b.example", now - timedelta(seconds=1), "HTTP 503 Service Unavailable")
    assert store.host_holds(now) == {"a.example": (now + timedelta(hours=1), "HTTP 429 Too Many Requests")}
    # The server's latest answer replaces the earlier one, shorter or not.
    store.hold_host("a.example", now + timedelta(minutes=5), "HTTP 503 Service Unavailable")
    reopened = store.reopen()
    try:
        assert reopened.host_holds(now) == {
            "a.example": (now + timedelta(minutes=5), "HTTP 503 Service Unavailable")
        }
        assert reopened.host_holds(now + timedelta(minutes=5)) == {}
    finally:
        reopened.close()


# the feed catalogue and its schedule ---------------------------------------------------------
ROUTE = FeedSpec(group="金融", site="新浪财经", name="滚动", route="/sina/finance/roll", full_text="auto")


def test_config_is_applied_to_the_catalogue(store: Store) -> None:
    changes = store.apply_config([FEED, ROUTE], NOW)
    assert (changes.added, changes.updated, changes.paused) == ((FEED.key, ROUTE.key), (), ())
    listed = store.catalogue()
    assert [f.spec for f in listed] == [FEED, ROUTE]
    assert {f.origin for f in listed} == {"config"}
    first = listed[0]
    assert first.schedule.next_check == NOW and first.schedule.paused is None and first.state.etag is None
    # Applying the same config again changes nothing.
    assert store.apply_config([FEED, ROUTE], NOW) == type(changes)()

    # A changed feed is updated (a new source drops its validators and is due at once).
    store.save_fetch(FEED, OK, [entry(1)], NOW)
    later = NOW + timedelta(hours=1)
    moved = replace(FEED, url="http://127.0.0.1:9/other.xml", clean=False)
    assert store.apply_config([moved, ROUTE], later).updated == (FEED.key,)
    got = store.catalogue_feed(FEED.key)
    assert got is not None and got.spec == moved and got.state.etag is None
    assert got.schedule.next_check == later

    # A config feed gone from the YAML is paused with its entries kept; back, it resumes.
    assert store.apply_config([ROUTE], later).paused == (FEED.key,)
    gone = store.catalogue_feed(FEED.key)
    assert gone is not None and gone.paused == "removed from the config"
    assert store.count_entries() == 1
    assert [f.key for f in store.due_feeds(later)] == [ROUTE.key]
    assert store.apply_config([moved, ROUTE], later).resumed == (FEED.key,)
    assert store.catalogue_feed(FEED.key).paused is None  # type: ignore[union-attr]


def test_feeds_added_through_the_api_are_left_alone_by_the_config(store: Store) -> None:

    store.apply_config([FEED], NOW)
    added = store.add_feed(ROUTE, NOW)
    assert (added.origin, added.spec, added.schedule.next_check) == ("api", ROUTE, NOW)
    with pytest.raises(FeedExistsError, match=ROUTE.key):
        store.add_feed(ROUTE, NOW)
    with pytest.raises(StoreError, match="exactly one of url or route"):
        store.add_feed(replace(ROUTE, name="两个", url="http://x/"), NOW)
    assert store.apply_config([FEED], NOW).paused == ()
    assert [f.key for f in store.catalogue()] == [FEED.key, ROUTE.key]
    # The config naming the same key takes the feed over.
    assert store.apply_config([FEED, ROUTE], NOW).updated == (ROUTE.key,)
    assert store.catalogue_feed(ROUTE.key).origin == "config"  # type: ignore[union-attr]


def test_update_pause_resume_refresh_and_delete(store: Store) -> None:
    store.apply_config([FEED], NOW)
    store.save_fetch(FEED, OK, [entry(1), entry(2)], NOW)
    assert store.update_feed("no/such/feed", now=NOW, clean=False) is None
    later = NOW + timedelta(minutes=5)
    got = store.update_feed(FEED.key, now=later, enabled=False, full_text=True)
    assert got is not None and (got.spec.enabled, got.spec.full_text, got.spec.url) == (False, True, FEED.url)
    assert got.state.etag == '"v1"'  # same source: validators kept
    assert store.due_feeds(later) == []
    got = store.update_feed(FEED.key, now=later, enabled=True, route="/sina/x")
    assert got is not None and (got.spec.url, got.spec.route, got.state.etag) == (None, "/sina/x", None)

    assert store.pause_feed(FEED.key, "admin: paused") and not store.pause_feed("x/y/z", "r")
    assert store.catalogue_feed(FEED.key).paused == "admin: paused"  # type: ignore[union-attr]
    assert store.next_check_time() is None
    assert store.resume_feed(FEED.key, later) and not store.resume_feed("x/y/z", later)
    store.save_schedule(
        replace(store.catalogue_feed(FEED.key).schedule, next_check=later + timedelta(hours=1))
    )  # type: ignore[union-attr]
    assert store.next_check_time() == later + timedelta(hours=1)
    assert store.refresh_feed(FEED.key, later) and not store.refresh_feed("x/y/z", later)
    assert [f.key for f in store.due_feeds(later)] == [FEED.key]

    rev = store.max_rev()
    uids = set(store.iter_uids(feed_key=FEED.key))
    assert store.delete_feed(FEED.key) == 2 and store.delete_feed(FEED.key) is None
    assert store.catalogue() == [] and store.count_entries() == 0
    changes = store.changes_since(rev)
    assert {u for _, u, removed in changes if removed} == uids and len(changes) == 2
    assert store.foreign_key_problems() == []


def test_a_fetch_in_flight_does_not_bring_back_a_removed_feed(store: Store) -> None:
    """The scheduler may finish a fetch of a feed an admin deleted (or renamed) meanwhile: it
    stores nothing, and the feed stays gone until it is added again."""
    store.apply_config([FEED, ROUTE], NOW)
    store.save_fetch(FEED, OK, [entry(1)], NOW)
    assert store.delete_feed(FEED.key) == 1
    assert store.save_fetch(FEED, OK, [entry(1), entry(2)], NOW) == UpsertCounts()
    assert store.catalogue_feed(FEED.key) is None and store.count_entries() == 0
    # Renamed away: the old key is gone for good too.
    store.save_fetch(ROUTE, OK, [entry(3)], NOW)
    moved = store.update_feed(ROUTE.key, now=NOW, name="改名")
    assert moved is not None and store.save_fetch(ROUTE, OK, [entry(4)], NOW) == UpsertCounts()
    assert store.catalogue_feed(ROUTE.key) is None and store.count_entries() == 1
    # Added again, it is stored as any feed.
    store.add_feed(FEED, NOW)
    assert store.save_fetch(FEED, OK, [entry(5)], NOW).new == 1 and store.count_entries() == 2
    assert [f.key for f in store.catalogue()] == [moved.key, FEED.key]


def test_renaming_a_feed_moves_its_entries_under_new_ids(store: Store) -> None:
    store.apply_config([FEED, ROUTE], NOW)
    store.save_fetch(FEED, OK, [entry(1)], NOW, articles={entry(1).id: ARTICLE})
    old_uid = entry_uid(FEED.key, entry(1).id)
    rev = store.max_rev()
    with pytest.raises(FeedExistsError):
        store.update_feed(FEED.key, now=NOW, name=ROUTE.name)
    got = store.update_feed(FEED.key, now=NOW, group="宏观", name="国内")
    assert got is not None and got.key == "宏观/新浪财经/国内" and got.state.etag == '"v1"'
    new_uid = entry_uid(got.key, entry(1).id)
    moved = store.get_entry(new_uid)
    assert moved is not None and moved.feed_key == got.key and moved.article == ARTICLE
    assert store.get_entry(old_uid) is None and store.catalogue_feed(FEED.key) is None
    assert sorted((u, r) for _, u, r in store.changes_since(rev)) == [(new_uid, False), (old_uid, True)]
    assert store.foreign_key_problems() == []
    # Stored again under the new key, the entry is the same entry (not a second one).
    assert store.save_fetch(got.spec, OK, [entry(1)], NOW).unchanged == 1


def test_schedule_is_stored_and_entry_times_read_newest_first(store: Store) -> None:

    store.apply_config([FEED, ROUTE], NOW)
    store.save_fetch(FEED, OK, [entry(1), entry(3), entry(2, published=None)], NOW)
    assert store.entry_times(FEED.key) == [NOW, entry(3).published, entry(1).published]
    assert store.entry_times(FEED.key, limit=1) == [NOW]
    later = NOW + timedelta(minutes=30)
    store.save_schedule(FeedSchedule(FEED.key, later, 1800.0, "new feed", errors=2))
    store.save_schedule(FeedSchedule(ROUTE.key, NOW, 600.0, "gone", errors=1, paused="HTTP 410 Gone"))
    got = store.catalogue_feed(FEED.key)
    assert got is not None and got.schedule == FeedSchedule(FEED.key, later, 1800.0, "new feed", 2)
    assert got.state.consecutive_failures == 2
    assert store.due_feeds(NOW) == [] and store.next_check_time() == later
    # A schedule without a pause leaves the pause (only resume_feed ends it).
    store.save_schedule(FeedSchedule(ROUTE.key, NOW, 600.0, "ok"))
    assert store.catalogue_feed(ROUTE.key).paused == "HTTP 410 Gone"  # type: ignore[union-attr]
    assert [f.key for f in store.due_feeds(later, limit=5)] == [FEED.key]


def test_an_archive_from_before_the_catalogue_is_migrated_with_its_feeds(tmp_path: Path) -> None:
    """Feeds stored before migration 0005 keep their definition (`source` told url from route)
    and are due at once; their entries stay theirs."""
    path = tmp_path / "old.db"
    db = sqlite3.connect(path, isolation_level=None)
    for number, _, sql in migrations():
        if number < 5:
            db.executescript(sql)
            db.execute(f"PRAGMA user_version={number}")
    db.execute(
        "INSERT INTO feeds (key, grp, site, name, source, url) VALUES"
        " ('g/s/a', 'g', 's', 'a', 'http://old.example/a.xml', 'http://moved.example/a.xml'),"
        " ('g/s/r', 'g', 's', 'r', 'rsshub:/sina/roll', NULL)"
    )
    db.close()
    store = SQLiteStore(path)
    try:
        a, r = store.catalogue()
        assert (a.spec.url, a.spec.route, a.state.url) == (
            "http://old.example/a.xml",
            None,
            "http://moved.example/a.xml",
        )
        assert (r.spec.url, r.spec.route, r.origin) == (None, "/sina/roll", "config")
        assert [f.key for f in store.due_feeds(NOW)] == ["g/s/a", "g/s/r"]
    finally:
        store.close()


@pytest.mark.parametrize("backend", BACKENDS)
def test_applying_an_unchanged_config_writes_nothing(backend: str, tmp_path: Path) -> None:
    """`run`, `feeds list` and serve apply the config at each start: when nothing changed, a
    writer holding the archive does not hold them up."""
    store = open_backend(backend, tmp_path, lock_wait=0.2)
    try:
        store.apply_config([FEED, ROUTE], NOW)
        with locked_out(backend, store):
            assert store.apply_config([FEED, ROUTE], NOW + timedelta(hours=1)).added == ()
            with pytest.raises(StoreLockedError):
                store.apply_config([FEED], NOW)
    finally:
        store.close()


# backups and counts --------------------------------------------------------------------------
def test_store_counts_its_records_and_backs_itself_up(store: Store, tmp_path: Path) -> None:
    empty = store.archive_counts()
    assert {k: empty[k] for k in ("feeds", "entries", "articles", "clean_errors", "clusters", "rev")} == {
        "feeds": 0,
        "entries": 0,
        "articles": 0,
        "clean_errors": 0,
        "clusters": 0,
        "rev": 0,
    }
    latest = (pg_migrations if isinstance(store, PostgresStore) else migrations)()[-1][0]
    assert empty["schema"] == latest and store.newest_entry_time() is None
    fallback = replace(ARTICLE, profile="fallback", source=None)
    store.sync_feeds([FEED])
    store.save_fetch(
        FEED, OK, [entry(1), entry(2), entry(3)], NOW, articles={entry(1).id: Cleaned(fallback, "broken")}
    )
    store.save_fetch(FEED, OK, [entry(4)], NOW + timedelta(hours=1), articles={entry(4).id: ARTICLE})
    counts = store.archive_counts()
    assert (counts["feeds"], counts["entries"], counts["articles"], counts["clean_errors"]) == (1, 4, 2, 1)
    assert counts["rev"] == store.max_rev() and store.newest_entry_time() == NOW + timedelta(hours=1)
    copied = store.backup_to(tmp_path / "copy.db")
    assert copied == counts
    copy = open_store(str(tmp_path / "copy.db"))
    try:
        assert copy.count_entries() == 4 and copy.integrity_problems() == []
    finally:
        copy.close()
    store.save_fetch(FEED, OK, [entry(5)], NOW)  # a second backup replaces the first
    assert store.backup_to(tmp_path / "copy.db")["entries"] == 5
    with pytest.raises(StoreError, match="backup"):
        store.backup_to(tmp_path / "no such folder" / "copy.db")


# users, tokens, sessions -------------------------------------------------------------------
def test_users_are_unique_by_name_and_keep_hashed_secrets(store: Store) -> None:
    alice = store.add_user("alice", "argon2-hash-a", admin=True, now=NOW)
    bob = store.add_user("鲍勃", "argon2-hash-b", admin=False, now=NOW)
    assert (alice.name, alice.admin, alice.created) == ("alice", True, NOW)
    with pytest.raises(UserExistsError, match="alice"):
        store.add_user("alice", "other", admin=False, now=NOW)
    assert [u.name for u in store.list_users()] == ["alice", "鲍勃"]
    assert store.get_user("鲍勃") == bob and store.user_by_id(alice.id) == alice
    assert store.get_user("carol") is None and store.user_by_id(9999) is None
    assert store.password_hash("alice") == "argon2-hash-a" and store.password_hash("carol") is None

    store.add_token(alice.id, "sha-token-1", label="phone", now=NOW)
    assert store.user_for_token("sha-token-1", NOW) == alice
    assert store.user_for_token("sha-unknown", NOW) is None

    later = NOW + timedelta(days=1)
    store.add_session(bob.id, "sha-session-1", expires=later, now=NOW)
    assert store.user_for_session("sha-session-1", NOW) == bob
    assert store.user_for_session("sha-session-1", later) is None  # expired
    store.add_session(bob.id, "sha-session-2", expires=later, now=NOW)
    store.remove_session("sha-session-2")
    assert store.user_for_session("sha-session-2", NOW) is None

    # A new password ends the user's sessions; tokens stay.
    store.add_session(alice.id, "sha-session-3", expires=later, now=NOW)
    assert store.set_password("alice", "argon2-hash-a2") is True
    assert store.password_hash("alice") == "argon2-hash-a2"
    assert store.user_for_session("sha-session-3", NOW) is None
    assert store.user_for_token("sha-token-1", NOW) == alice
    assert store.set_password("carol", "x") is False

    assert store.remove_user("alice") is True and store.remove_user("alice") is False
    assert store.user_for_token("sha-token-1", NOW) is None
    assert [u.name for u in store.list_users()] == ["鲍勃"]
    carol = store.add_user("carol", "h", admin=False, now=NOW)
    assert store.remove_user("carol")
    assert store.add_user("dave", "h", admin=False, now=NOW).id > carol.id  # an id is never given again
    assert store.foreign_key_problems() == []


# per-reader state and lists ----------------------------------------------------------------
def _uids(page: list[ReaderEntry]) -> list[str]:
    return [r.entry.uid for r in page]


def test_read_and_starred_state_is_per_reader(store: Store) -> None:
    store.save_fetch(FEED, OK, [entry(1), entry(2), entry(3)], NOW)
    a = store.add_user("a", "h", admin=False, now=NOW).id
    b = store.add_user("b", "h", admin=False, now=NOW).id
    one, two = entry_uid(FEED.key, entry(1).id), entry_uid(FEED.key, entry(2).id)

    assert store.set_entry_state(a, [one, one, "0000000000000000"], read=True, now=NOW) == 1
    assert store.set_entry_state(b, [one], starred=True, now=NOW) == 1
    ra, rb = store.reader_entry(a, one), store.reader_entry(b, one)
    assert ra is not None and rb is not None and ra.entry == rb.entry
    assert (ra.read, ra.starred, rb.read, rb.starred) == (True, False, False, True)
    assert store.reader_entry(a, "0000000000000000") is None
    assert store.unread_counts(a) == {FEED.key: (2, 3)}
    assert store.unread_counts(b) == {FEED.key: (3, 3)}

    assert _uids(store.reader_entries(a, EntryQuery(status="read"), limit=10)[0]) == [one]
    assert one not in _uids(store.reader_entries(a, EntryQuery(status="unread"), limit=10)[0])
    assert _uids(store.reader_entries(b, EntryQuery(starred=True), limit=10)[0]) == [one]
    assert _uids(store.reader_entries(a, EntryQuery(starred=True), limit=10)[0]) == []

    # Unread again and unstarred: back to the default, for that reader only.
    assert store.set_entry_state(a, [one, two], read=False, starred=False, now=NOW) == 2
    assert store.unread_counts(a) == {FEED.key: (3, 3)}
    assert store.set_entry_state(b, [one], read=True, now=NOW) == 1
    rb = store.reader_entry(b, one)
    assert rb is not None and (rb.read, rb.starred) == (True, True)
    assert store.set_entry_state(b, [two], now=NOW) == 1  # neither given: only counts
    assert store.remove_user("b") and store.reader_entry(a, one) is not None
    assert store.foreign_key_problems() == []


def test_reader_pages_cover_every_entry_once_while_newer_entries_arrive(store: Store) -> None:
    # 30 dated entries and 5 without a date (all sorting by the same first-seen time: ties go by uid).
    store.save_fetch(
        FEED, OK, [entry(n) for n in range(30)] + [entry(n, published=None) for n in range(30, 35)], NOW
    )
    user = store.add_user("r", "h", admin=False, now=NOW).id
    expected = list(store.iter_uids())
    seen: list[str] = []
    page, cursor = store.reader_entries(user, EntryQuery(), limit=4)
    seen += _uids(page)
    newer = 100
    fetcher = store.reopen()  # another connection, as the scheduler's would be
    try:
        while cursor is not None:
            # A fetch between two pages adds entries newer than any listed: they never shift a page.
            fetcher.save_fetch(FEED, OK, [entry(newer, published=NOW + timedelta(days=newer))], NOW)
            newer += 1
            page, cursor = store.reader_entries(user, EntryQuery(), limit=4, after=cursor)
            assert 1 <= len(page) <= 4
            seen += _uids(page)
    finally:
        fetcher.close()
    assert len(seen) == len(set(seen)) == 35
    assert set(seen) == set(expected)
    assert seen == [e.uid for e in store.list_entries(limit=35, offset=newer - 100)]  # newest first
    with pytest.raises(StoreError, match="cursor"):
        store.reader_entries(user, EntryQuery(), limit=4, after="not-a-cursor")


def test_reader_list_filters(store: Store) -> None:
    other = FeedSpec(group="政策", site="国务院", name="政策文件", url="http://127.0.0.1:9/gov.xml")
    store.save_fetch(FEED, OK, [entry(1), entry(2), entry(3)], NOW)
    store.save_fetch(other, OK, [entry(4), entry(5)], NOW)
    user = store.add_user("r", "h", admin=False, now=NOW).id
    u = {n: entry_uid(FEED.key if n <= 3 else other.key, entry(n).id) for n in range(1, 6)}
    store.set_entry_state(user, [u[2], u[4]], read=True, now=NOW)
    store.set_entry_state(user, [u[3]], starred=True, now=NOW)

    def listed(**kw: Any) -> list[int]:
        page, _ = store.reader_entries(user, EntryQuery(**kw), limit=50)
        by_uid = {v: k for k, v in u.items()}
        return [by_uid[r.entry.uid] for r in page]

    assert listed() == [5, 4, 3, 2, 1]
    assert listed(group="政策") == [5, 4] and listed(site="新浪财经") == [3, 2, 1]
    assert listed(group="金融", site="国务院") == []
    assert listed(feed=other.key, status="unread") == [5]
    assert listed(status="read") == [4, 2] and listed(status="unread") == [5, 3, 1]
    assert listed(starred=True) == [3] and listed(starred=False, status="unread") == [5, 1]
    t = entry(2).published
    assert t is not None
    assert listed(since=t) == [5, 4, 3, 2] and listed(until=t) == [1]
    assert listed(since=t, until=t + timedelta(hours=2)) == [3, 2]
    assert listed(uids=(u[1], u[5], "0000000000000000")) == [5, 1]
    # Pages of one entry: a group filter then walks the time index (few rows to skip) instead
    # of sorting its feeds' entries; both ways list the same.
    for query in (EntryQuery(group="政策"), EntryQuery(site="新浪财经", status="unread")):
        walked: list[ReaderEntry] = []
        page, cursor = store.reader_entries(user, query, limit=1)
        while True:
            walked += page
            if cursor is None:
                break
            page, cursor = store.reader_entries(user, query, limit=1, after=cursor)
        assert _uids(walked) == _uids(store.reader_entries(user, query, limit=50)[0])
    assert [u[5], u[4]] == _uids(store.reader_entries(user, EntryQuery(group="政策"), limit=50)[0])
    assert listed(uids=()) == []
    with pytest.raises(StoreError, match="limit"):
        store.reader_entries(user, EntryQuery(), limit=0)


def test_mark_read_leaves_what_arrived_later_unread(store: Store) -> None:
    other = FeedSpec(group="政策", site="国务院", name="政策文件", url="http://127.0.0.1:9/gov.xml")
    store.save_fetch(FEED, OK, [entry(1), entry(2)], NOW)
    store.save_fetch(other, OK, [entry(3)], NOW)
    later = NOW + timedelta(minutes=10)
    # Arrived after the reader looked: its publication time is older, its first-seen time later.
    store.save_fetch(FEED, OK, [entry(0)], later)
    user = store.add_user("r", "h", admin=False, now=NOW).id
    store.set_entry_state(user, [entry_uid(FEED.key, entry(1).id)], read=True, starred=True, now=NOW)

    assert store.mark_read(user, EntryQuery(feed=FEED.key), before=later, now=later) == 1
    assert store.unread_counts(user) == {FEED.key: (1, 3), other.key: (1, 1)}
    page, _ = store.reader_entries(user, EntryQuery(status="unread"), limit=10)
    assert _uids(page) == [entry_uid(other.key, entry(3).id), entry_uid(FEED.key, entry(0).id)]
    starred = store.reader_entry(user, entry_uid(FEED.key, entry(1).id))
    assert starred is not None and (starred.read, starred.starred) == (True, True)
    assert store.mark_read(user, EntryQuery(), before=later + timedelta(seconds=1), now=later) == 2
    assert store.mark_read(user, EntryQuery(), before=later + timedelta(seconds=1), now=later) == 0
    assert store.unread_counts(user) == {FEED.key: (0, 3), other.key: (0, 1)}


def test_reader_lists_follow_an_entry_whose_time_changed(store: Store) -> None:
    store.save_fetch(FEED, OK, [entry(1), entry(2), entry(3)], NOW)
    user = store.add_user("r", "h", admin=False, now=NOW).id
    uids = [entry_uid(FEED.key, entry(n).id) for n in (3, 2, 1)]
    store.set_entry_state(user, uids, starred=True, now=NOW)
    assert _uids(store.reader_entries(user, EntryQuery(starred=True), limit=10)[0]) == uids
    # The feed now dates entry 1 after the others: it moves to the top of every list.
    store.save_fetch(FEED, OK, [entry(1, published=NOW)], NOW)
    moved = [uids[2], uids[0], uids[1]]
    assert _uids(store.reader_entries(user, EntryQuery(starred=True), limit=10)[0]) == moved
    assert _uids(store.reader_entries(user, EntryQuery(), limit=10)[0]) == moved
    page, cursor = store.reader_entries(user, EntryQuery(starred=True), limit=2)
    assert _uids(page) == moved[:2] and cursor is not None
    assert _uids(store.reader_entries(user, EntryQuery(starred=True), limit=2, after=cursor)[0]) == moved[2:]


def test_reader_lists_leave_bodies_out_unless_asked(store: Store) -> None:
    article = Article(
        html="<p>正文</p>", text="正文", summary="摘要", char_count=2, images=("https://img.example/1.jpg",),
        header_image=None, source="新华社", editor="王编辑", reporters=("记者甲",), dateline="北京",
        keywords=("央行",), profile="generic",
    )  # fmt: skip
    one = entry(1)
    store.save_fetch(FEED, OK, [one], NOW, articles={one.id: article}, pages={one.id: "<html>页面</html>"})
    user = store.add_user("r", "h", admin=False, now=NOW).id
    whole = store.get_entry(entry_uid(FEED.key, one.id))
    [light], _ = store.reader_entries(user, EntryQuery(), limit=1)
    [full], _ = store.reader_entries(user, EntryQuery(), limit=1, bodies=True)
    assert whole is not None and full.entry == whole
    assert (light.entry.content, light.entry.page, light.entry.article) == (
        "",
        None,
        replace(article, html="", text=""),
    )
    assert replace(light.entry, content=whole.content, page=whole.page, article=article) == whole
    single = store.reader_entry(user, whole.uid)
    assert single is not None and single.entry == whole


def test_unread_counts_and_lists_agree_through_any_sequence_of_changes(store: Store) -> None:
    """Seeded random reading, marking, starring and fetching by two readers: each feed's
    unread count is what its unread list holds, and the unread list is every entry not read."""
    seed = 1414
    rng = random.Random(seed)
    feeds = [replace(FEED, name=f"源{n}", url=f"http://127.0.0.1:9/{n}.xml") for n in range(4)]
    readers = [store.add_user(name, "h", admin=False, now=NOW).id for name in ("甲", "乙")]
    read: dict[int, set[str]] = {r: set() for r in readers}
    fetched = 0
    for step in range(40):
        now = NOW + timedelta(minutes=step)
        user = rng.choice(readers)
        action = rng.choice(["fetch", "read", "unread", "star", "mark_feed", "mark_all"])
        uids = list(store.iter_uids())
        if action == "fetch" or not uids:
            feed = rng.choice(feeds)
            store.save_fetch(feed, OK, [entry(fetched + k) for k in range(rng.randint(1, 5))], now)
            fetched += 5
        elif action in ("read", "unread"):
            some = rng.sample(uids, rng.randint(1, len(uids)))
            store.set_entry_state(user, some, read=action == "read", now=now)
            read[user] = read[user] | set(some) if action == "read" else read[user] - set(some)
        elif action == "star":
            store.set_entry_state(user, rng.sample(uids, 1), starred=rng.random() < 0.7, now=now)
        else:
            feed_key = rng.choice(feeds).key if action == "mark_feed" else None
            store.mark_read(user, EntryQuery(feed=feed_key), before=now + timedelta(seconds=1), now=now)
            read[user] |= {e.uid for e in store.list_entries() if feed_key in (None, e.feed_key)}
        for r in readers:
            counts = store.unread_counts(r)
            unread, _ = store.reader_entries(r, EntryQuery(status="unread"), limit=1000)
            assert set(_uids(unread)) == set(store.iter_uids()) - read[r], f"seed {seed}, step {step}"
            for key, (n_unread, n_all) in counts.items():
                listed, _ = store.reader_entries(r, EntryQuery(feed=key, status="unread"), limit=1000)
                assert n_unread == len(listed), f"seed {seed}, step {step}, {key}"
                assert n_all == len(list(store.iter_uids(feed_key=key)))


def test_feed_places_are_the_catalogue_tree_in_its_order(store: Store) -> None:
    other = FeedSpec(group="政策", site="人民银行", name="公开市场", url="http://127.0.0.1:9/a.xml")
    store.apply_config([other, FEED], NOW)
    store.add_feed(FeedSpec(group="金融", site="中新网", name="财经", route="/chinanews/finance"), NOW)
    store.pause_feed(other.key, "paused by ann")
    store.save_fetch(FEED, OK, [entry(1), entry(2), entry(3)], NOW)
    reader = store.add_user("ann", "hash", admin=False, now=NOW)
    read = next(iter(store.iter_uids(feed_key=FEED.key)))
    store.set_entry_state(reader.id, [read], read=True, now=NOW)
    places = store.feed_places(reader.id)
    assert [(p.key, p.group, p.site, p.name, p.paused, p.unread) for p in places] == [
        (other.key, "政策", "人民银行", "公开市场", "paused by ann", 0),
        (FEED.key, "金融", "新浪财经", "新浪财经－国內", None, 2),
        ("金融/中新网/财经", "金融", "中新网", "财经", None, 0),
    ]
    assert [p.key for p in places] == [f.key for f in store.catalogue()]
    counts = store.unread_counts(reader.id)
    assert {p.key: p.unread for p in places} == {k: v[0] for k, v in counts.items()}
    assert [p.unread for p in store.feed_places(reader.id + 1)] == [0, 3, 0]  # another reader
    # One site's feeds: by group and site, by site name alone, or the site of a feed.
    sina = [FEED.key]
    assert [p.key for p in store.feed_places(reader.id, group="金融", site="新浪财经")] == sina
    assert [p.key for p in store.feed_places(reader.id, site="新浪财经")] == sina
    assert [p.key for p in store.feed_places(reader.id, feed=FEED.key)] == sina
    assert [p.key for p in store.feed_places(reader.id, group="金融")] == [FEED.key, "金融/中新网/财经"]
    assert store.feed_places(reader.id, feed="no/such/feed") == []
    # The sites, each under its group, in catalogue order, with the reader's unread sums.
    sites = store.site_places(reader.id)
    assert [(s.group, s.site, s.unread) for s in sites] == [
        ("政策", "人民银行", 0),
        ("金融", "新浪财经", 2),
        ("金融", "中新网", 0),
    ]


def test_story_copies_are_the_clusters_other_members_earliest_first(store: Store) -> None:
    import opencc

    text = story_text("s005")
    trad = opencc.OpenCC("s2t").convert(text)
    save(store, [Doc(SINA, "a", "央行开展逆回购", text, hours=5, source="新华社")])
    save(store, [Doc(PAPER, "b", "央行开展逆回购_澎湃新闻", text + "\n（本文来自澎湃新闻）", hours=9)])
    save(store, [Doc(HK, "c", "人行逆回購", trad, hours=1)])
    save(store, [Doc(SINA, "d", "另一篇报道", story_text("s020"), hours=2)])
    update_clusters(store)
    a, b, c, d = (Doc(f, i, "", "").uid for f, i in ((SINA, "a"), (PAPER, "b"), (HK, "c"), (SINA, "d")))
    copies = store.story_copies(a, 10)
    assert [(x.uid, x.title, x.site, x.feed) for x in copies] == [
        (c, "人行逆回購", HK.site, HK.name),
        (b, "央行开展逆回购_澎湃新闻", PAPER.site, PAPER.name),
    ]
    assert copies[0].when < copies[1].when
    assert [x.uid for x in store.story_copies(c, 10)] == [a, b]
    assert [(x.uid, x.source) for x in store.story_copies(b, 1)] == [(c, None)]  # the earliest one
    assert [x.source for x in store.story_copies(c, 10)] == ["新华社", None]
    assert store.story_copies(d, 10) == []  # a story of its own
    assert store.story_copies("0000000000000000", 10) == []


def test_keyword_rules_are_per_reader_with_a_mark_from_the_first(store: Store) -> None:
    ann = store.add_user("ann", "hash", admin=False, now=NOW)
    bob = store.add_user("bob", "hash", admin=False, now=NOW)
    store.save_fetch(FEED, OK, [entry(1), entry(2)], NOW)
    assert store.rules_mark(ann.id) is None and store.rules_of(ann.id) == []
    first = store.add_rule(
        ann.id, "降准 央行", is_regex=False, matching=True, action="read", feed_key=None, now=NOW
    )
    assert (first.user_id, first.pattern, first.is_regex, first.matching, first.action) == (
        ann.id,
        "降准 央行",
        False,
        True,
        "read",
    )
    assert first.feed_key is None and first.created == NOW
    assert store.rules_mark(ann.id) == store.max_rev()  # judges what arrives from now on
    store.save_fetch(FEED, OK, [entry(3)], NOW)
    second = store.add_rule(
        ann.id, r"\d+号", is_regex=True, matching=False, action="star", feed_key=FEED.key, now=NOW
    )
    assert store.rules_mark(ann.id) < store.max_rev()  # a second rule keeps the mark
    assert [r.id for r in store.rules_of(ann.id)] == [first.id, second.id]
    assert store.rules_of(bob.id) == [] and store.rules_mark(bob.id) is None
    assert not store.remove_rule(bob.id, first.id)  # not bob's
    store.set_rules_mark(ann.id, store.max_rev())
    assert store.rules_mark(ann.id) == store.max_rev()
    assert store.remove_rule(ann.id, first.id)
    assert [r.id for r in store.rules_of(ann.id)] == [second.id]
    assert not store.remove_rule(ann.id, first.id)
    store.remove_user("ann")  # the rules go with the reader
    assert store.rules_of(ann.id) == [] and store.rules_mark(ann.id) is None


def test_admins_change_a_users_role(store: Store) -> None:
    store.add_user("ann", "hash", admin=False, now=NOW)
    assert store.set_admin("ann", True)
    user = store.get_user("ann")
    assert user is not None and user.admin
    assert store.set_admin("ann", False)
    user = store.get_user("ann")
    assert user is not None and not user.admin
    assert not store.set_admin("nobody", True)


def test_entry_json_from_the_archive_is_the_apis_entry_json(store: Store) -> None:
    """`reader_entries_json` (the page rendered by the database) says exactly what the records'
    own JSON (`web.api.reader_dict` over `reader_entries` and `cluster_refs`) says, for every
    kind of entry: with and without an article, metadata lists empty or not, times with and
    without microseconds, text that JSON must escape, read, starred, in a story or alone. So
    do `reader_list`'s rows (the web app's lists), page by page and cursor by cursor."""
    import orjson

    from newsdesk.web.api import reader_dict

    odd = '引号"与\\反斜杠\n换行\t制表\x01控制 😀 </script>'
    entries = [
        entry(1, title=odd, author="作者\u2028甲"),
        entry(2, published=None, updated=datetime(2026, 11, 21, 3, 4, 5, 678901, tzinfo=UTC)),
        entry(3, link=None, summary="feed 摘要"),
        entry(4),
        entry(5),
    ]
    articles = {
        entries[0].id: ARTICLE,
        entries[1].id: replace(ARTICLE, images=(), reporters=(), keywords=(), header_image=None, source=None),
        entries[3].id: replace(ARTICLE, reporters=("甲", '乙"丙'), summary=odd, profile="generic"),
        entries[4].id: Cleaned(replace(ARTICLE, profile="fallback", source=None), error="页面取不到: 404"),
    }
    store.save_fetch(FEED, OK, entries, NOW.replace(microsecond=250000), articles=articles)
    other = replace(FEED, name="另一源", url="http://127.0.0.1:9/other.xml")
    store.save_fetch(other, OK, [entry(9, title="同一故事")], NOW)
    a, b = entry_uid(FEED.key, entries[0].id), entry_uid(other.key, entry(9).id)
    t = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
    store.save_clusters(
        [
            ClusterMember(a, a, FEED.key, t, "first", 1.0, "l1", "t1", b"s1"),
            ClusterMember(b, a, other.key, t + timedelta(hours=1), "near", 0.7, "l2", "t2", b"s2"),
        ],
        [(1, a), (1, b)],
        detached=[],
        mark=1,
    )
    user = store.add_user("r", "h", admin=False, now=NOW).id
    store.set_entry_state(user, [a], read=True, now=NOW)
    store.set_entry_state(user, [b, entry_uid(FEED.key, entries[3].id)], starred=True, now=NOW)

    def listed(r: ListedEntry) -> object:
        """What the API's JSON says of the entry, from a list's row."""
        found = next(e for e in everything if e["id"] == r.uid)
        assert r.summary_is_html == (found["char_count"] is None)  # no article: the feed's HTML
        fields = ("group", "site", "feed", "title", "link", "summary", "source", "read", "starred")
        assert tuple(getattr(r, k) for k in fields) == tuple(found[k] for k in fields)
        assert r.cluster == (None if found["cluster"] is None else ClusterRef(**found["cluster"]))
        assert r.when == datetime.fromisoformat(found["published"] or found["first_seen"])
        return found

    def by_records(query: EntryQuery, after: str | None) -> tuple[list[object], str | None]:
        rows, following = store.reader_entries(user, query, limit=2, after=after)
        refs = store.cluster_refs(r.entry.uid for r in rows)
        return orjson.loads(orjson.dumps([reader_dict(r, refs.get(r.entry.uid)) for r in rows])), following

    everything = [orjson.loads(t) for t in store.reader_entries_json(user, EntryQuery(), limit=50)[0]]
    for query in (
        EntryQuery(),
        EntryQuery(status="unread"),
        EntryQuery(starred=True),
        EntryQuery(feed=other.key),
    ):
        after: str | None = None
        pages = 0
        while True:
            texts, following = store.reader_entries_json(user, query, limit=2, after=after)
            expected, expected_next = by_records(query, after)
            assert [orjson.loads(t) for t in texts] == expected, query
            assert following == expected_next
            rows, listed_next = store.reader_list(user, query, limit=2, after=after)
            assert [listed(r) for r in rows] == expected and listed_next == expected_next, query
            pages += 1
            if following is None:
                break
            after = following
        assert pages >= 1
    assert len(everything) == 6
    assert {e["id"] for e in everything if e["cluster"]} == {a, b}
    assert any(e["read"] for e in everything) and any(e["starred"] for e in everything)
    assert store.reader_entries_json(user, EntryQuery(uids=()), limit=5) == ([], None)
    assert store.reader_list(user, EntryQuery(uids=()), limit=5) == ([], None)
    with pytest.raises(StoreError):
        store.reader_entries_json(user, EntryQuery(), limit=0)
    with pytest.raises(StoreError):
        store.reader_list(user, EntryQuery(), limit=0)


def test_images_no_article_refers_to_are_found_and_forgotten(store: Store) -> None:
    one = replace(ARTICLE, images=("https://p.cn/1.jpg", "https://p.cn/2.jpg"))
    two = replace(ARTICLE, images=("https://p.cn/2.jpg", "https://q.cn/3.png"))
    other = replace(FEED, name="另一源", url="http://127.0.0.1:9/other.xml")
    store.save_fetch(FEED, OK, [entry(1), entry(2)], NOW, articles={entry(1).id: one, entry(2).id: replace(one, images=())})
    assert store.last_removal() == 0
    store.save_fetch(other, OK, [entry(3)], NOW, articles={entry(3).id: two})
    assert store.referenced_image_urls() == {"https://p.cn/1.jpg", "https://p.cn/2.jpg", "https://q.cn/3.png"}
    store.save_image("a" * 64, "https://p.cn/1.jpg", NOW, content_type="image/jpeg", size=1)
    store.save_image("b" * 64, "https://q.cn/3.png", NOW, content_type="image/png", size=2)
    store.save_image("c" * 64, "https://q.cn/4.png", NOW, error="HTTP 403")
    assert store.cached_image_names() == {"a" * 64, "b" * 64, "c" * 64}
    assert store.cached_image_names(kept=True) == {"a" * 64, "b" * 64}
    # The other feed removed with its entries: its article's images are no one's any more.
    assert store.delete_feed(other.key) == 1
    removal = store.last_removal()
    assert removal > 0
    assert store.referenced_image_urls() == {"https://p.cn/1.jpg", "https://p.cn/2.jpg"}
    assert store.forget_images(["b" * 64, "c" * 64, "d" * 64]) == 2
    assert store.cached_image_names() == {"a" * 64}
    assert store.cached_image("b" * 64) is None and store.known_images(["c" * 64]) == set()
    assert store.forget_images([]) == 0
    assert store.last_removal() == removal


def test_app_passwords_find_their_user_until_revoked(store: Store) -> None:
    ann = store.add_user("ann", "h", admin=False, now=NOW)
    bob = store.add_user("bob", "h", admin=False, now=NOW)
    store.add_app_password(ann.id, "pw-a1", "auth-a1", label="phone", now=NOW)
    store.add_app_password(ann.id, "pw-a2", "auth-a2", label="", now=NOW)
    store.add_app_password(bob.id, "pw-b", "auth-b", label="", now=NOW)
    assert store.user_for_app_password("ann", "pw-a2") == ann
    assert store.user_for_app_password("bob", "pw-a1") is None  # another user's password
    assert store.user_for_app_password("ann", "pw-none") is None
    assert store.user_for_app_auth("auth-a1") == ann and store.user_for_app_auth("auth-b") == bob
    assert store.user_for_app_auth("pw-a1") is None  # a password is not an Auth token
    assert store.remove_app_passwords(ann.id) == 2
    assert store.user_for_app_password("ann", "pw-a1") is None and store.user_for_app_auth("auth-a2") is None
    assert store.user_for_app_auth("auth-b") == bob
    assert store.remove_user("bob")  # a user's app passwords go with them
    assert store.user_for_app_auth("auth-b") is None and store.remove_app_passwords(bob.id) == 0


def test_app_passwords_are_listed_marked_used_and_revoked_one_by_one(store: Store) -> None:
    ann = store.add_user("ann", "h", admin=False, now=NOW)
    bob = store.add_user("bob", "h", admin=False, now=NOW)
    store.add_app_password(ann.id, "aaaa1111" + "0" * 56, "auth-1", label="phone", now=NOW)
    store.add_app_password(ann.id, "bbbb2222" + "0" * 56, "auth-2", label="desk", now=NOW + timedelta(1))
    store.add_app_password(bob.id, "cccc3333" + "0" * 56, "auth-3", label="", now=NOW)
    listed = store.app_passwords(ann.id)
    assert [(p.id, p.label, p.created, p.last_used) for p in listed] == [
        ("aaaa1111", "phone", NOW, None),
        ("bbbb2222", "desk", NOW + timedelta(1), None),
    ]
    later = NOW + timedelta(hours=2)
    store.app_password_used(later, auth_hash="auth-2")
    store.app_password_used(later + timedelta(1), password_hash="aaaa1111" + "0" * 56)
    assert [p.last_used for p in store.app_passwords(ann.id)] == [later + timedelta(1), later]
    store.add_fever_key("bbbb2222" + "0" * 56, "fever-2")
    store.app_password_used(later + timedelta(2), fever_key_hash="fever-2")
    assert [p.last_used for p in store.app_passwords(ann.id)] == [later + timedelta(1), later + timedelta(2)]
    assert store.app_passwords(bob.id)[0].last_used is None  # only the one used
    assert not store.remove_app_password(ann.id, "cccc3333")  # bob's: not ann's to revoke
    assert store.remove_app_password(ann.id, "BBBB2222")
    assert store.user_for_app_auth("auth-2") is None and store.user_for_app_auth("auth-1") == ann
    assert [p.id for p in store.app_passwords(ann.id)] == ["aaaa1111"]
    assert not store.remove_app_password(ann.id, "bbbb2222")


def test_a_readers_labels_on_single_items(store: Store) -> None:
    store.save_fetch(FEED, OK, [entry(n) for n in range(5)], NOW)
    uids = [entry_uid(FEED.key, entry(n).id) for n in range(5)]
    ann = store.add_user("ann", "h", admin=False, now=NOW).id
    bob = store.add_user("bob", "h", admin=False, now=NOW).id
    assert store.label_entries(ann, [*uids[:3], "f" * 16], "待读", NOW, add=True) == 3
    store.label_entries(ann, uids[2:4], "央行", NOW, add=True)
    store.label_entries(bob, uids[:1], "bob的", NOW, add=True)
    assert store.item_labels(ann) == ["央行", "待读"] and store.item_labels(bob) == ["bob的"]
    assert sorted(store.labelled_uids(ann, "待读")) == sorted(uids[:3])
    assert store.entry_labels(ann, uids) == {
        uids[0]: ["待读"],
        uids[1]: ["待读"],
        uids[2]: ["央行", "待读"],
        uids[3]: ["央行"],
    }
    assert store.label_entries(ann, uids[:2], "待读", NOW, add=False) == 2
    assert store.labelled_uids(ann, "待读") == [uids[2]]
    assert store.rename_item_label(ann, "待读", "央行") == 1  # merged into the existing label
    assert store.item_labels(ann) == ["央行"] and sorted(store.labelled_uids(ann, "央行")) == sorted(uids[2:4])
    assert store.remove_item_label(ann, "央行") == 2 and store.item_labels(ann) == []
    assert store.delete_feed(FEED.key) is not None  # an entry's labels go with it
    assert store.item_labels(bob) == []


def test_oldest_first_ids_are_the_newest_first_list_reversed(store: Store) -> None:
    other = FeedSpec(group="政策", site="国务院", name="政策文件", url="http://127.0.0.1:9/gov.xml")
    # Dated entries and undated ones (all sorting by one first-seen time: ties go by uid).
    store.save_fetch(
        FEED, OK, [entry(n) for n in range(20)] + [entry(n, published=None) for n in range(20, 26)], NOW
    )
    store.save_fetch(other, OK, [entry(n) for n in range(30, 40)], NOW)
    user = store.add_user("r", "h", admin=False, now=NOW).id
    uids = list(store.iter_uids())
    store.set_entry_state(user, uids[::3], read=True, now=NOW)
    store.set_entry_state(user, uids[::4], starred=True, now=NOW)
    t = entry(10).published
    assert t is not None
    for query in (
        EntryQuery(),
        EntryQuery(group="政策"),
        EntryQuery(site="新浪财经", status="unread"),
        EntryQuery(feed=other.key, status="read"),
        EntryQuery(starred=True),
        EntryQuery(starred=False, status="unread"),
        EntryQuery(since=t, until=t + timedelta(hours=5)),
        EntryQuery(uids=tuple(uids[:7])),
        EntryQuery(uids=()),
    ):
        walked: list[str] = []
        page, cursor = store.reader_ids_oldest_first(user, query, limit=4)
        while True:
            walked += [uid for uid, _ in page]
            assert all(when.tzinfo is not None for _, when in page)
            if cursor is None:
                break
            page, cursor = store.reader_ids_oldest_first(user, query, limit=4, after=cursor)
        newest = _uids(store.reader_entries(user, query, limit=100)[0])
        assert walked == newest[::-1], query
    _, newest_cursor = store.reader_entries(user, EntryQuery(), limit=4)
    for bad in ("not-a-cursor", newest_cursor):
        with pytest.raises(StoreError, match="continuation"):
            store.reader_ids_oldest_first(user, EntryQuery(), limit=4, after=bad)
    with pytest.raises(StoreError, match="limit"):
        store.reader_ids_oldest_first(user, EntryQuery(), limit=0)


def test_a_fetch_stores_its_new_entries_in_listing_order(store: Store) -> None:
    """A feed's new entries go in together: numbered (Fever) and counted as listed, each with
    its article; one listed twice in one fetch, changed, is stored as its last listing."""
    store.save_fetch(FEED, OK, [entry(9)], NOW, articles={entry(9).id: ARTICLE})
    again = entry(2, content="<p>改过</p>")
    odd = 'q"uote\\back\nline\ttab 😀 \u2028 {"json": [1]}'  # kept as is, whichever way rows travel
    listed = [entry(3, title=odd, author=odd), entry(1), entry(2), entry(9, content="<p>九改</p>"), again, entry(4)]
    arts = {e.id: replace(ARTICLE, text=f"文{i}") for i, e in enumerate(listed)}
    counts = store.save_fetch(FEED, OK, listed, NOW + timedelta(minutes=1), articles=arts)
    assert (counts.new, counts.updated, counts.unchanged) == (4, 2, 0)
    uids = [entry_uid(FEED.key, e.id) for e in listed]
    numbers = store.fever_ids_of(uids)
    new = [uids[0], uids[1], uids[2], uids[5]]
    assert [numbers[u] for u in new] == sorted(numbers[u] for u in new)
    assert numbers[uids[3]] < numbers[uids[0]]  # the entry stored before keeps its number
    stored = store.get_entry(uids[2])
    assert stored is not None and stored.content == "<p>改过</p>" and stored.article is not None
    assert stored.article.text == "文4"
    updated = store.get_entry(uids[3])
    assert updated is not None and updated.content == "<p>九改</p>"
    assert updated.article is not None and updated.article.text == "文3"
    first = store.get_entry(uids[0])
    assert first is not None and (first.title, first.author) == (odd, odd)
    assert store.fever_item_count() == 5
    reader = store.add_user("counts", "h", admin=False, now=NOW)
    assert store.unread_counts(reader.id)[FEED.key] == (5, 5)


def test_fever_numbers_keys_and_feed_tokens(store: Store) -> None:
    """Fever's integers: items numbered as they arrive (growing, never reused, gone with their
    entry), feeds and groups numbered once; keys beside their app passwords; feed-token nonces;
    the index-only id pages beside the newest-first list."""
    store.save_fetch(FEED, OK, [entry(n) for n in range(5)], NOW)
    later = FeedSpec(group="政策", site="国务院", name="政策文件", url="http://127.0.0.1:9/gov.xml")
    store.save_fetch(later, OK, [entry(n) for n in range(10, 13)], NOW + timedelta(minutes=1))
    uids = [u for u, _ in sorted(store.fever_ids_of(list(store.iter_uids())).items(), key=lambda x: x[1])]
    numbers = store.fever_ids_of(uids)
    assert [numbers[u] for u in uids] == sorted(set(numbers.values())) and len(numbers) == 8
    assert {store.get_entry(u).feed_key for u in uids[-3:]} == {later.key}  # type: ignore[union-attr]
    assert store.fever_item_count() == 8 and store.fever_last_arrival() == NOW + timedelta(minutes=1)
    first = numbers[uids[0]]
    assert [u for _, u in store.fever_item_page(since_id=first, limit=3)] == uids[1:4]
    assert [u for _, u in store.fever_item_page(max_id=numbers[uids[3]], limit=2)] == [uids[2], uids[1]]
    assert store.fever_item_page(ids=[numbers[uids[5]], first, 99999]) == [(first, uids[0]), (numbers[uids[5]], uids[5])]
    assert store.fever_uids([numbers[uids[2]], 99999]) == {numbers[uids[2]]: uids[2]}
    user = store.add_user("fever", "h", admin=False, now=NOW)
    store.set_entry_state(user.id, uids[:2], read=True, starred=None, now=NOW)
    store.set_entry_state(user.id, [uids[4]], starred=True, now=NOW)
    assert store.fever_state_ids(user.id, "unread") == [numbers[u] for u in uids[2:]]
    assert store.fever_state_ids(user.id, "saved") == [numbers[uids[4]]]
    # An entry removed takes its number along; a new one gets a higher number, never an old one.
    store.delete_feed(later.key)
    assert store.fever_uids([numbers[uids[-1]]]) == {} and store.fever_item_count() == 5
    store.save_fetch(FEED, OK, [entry(20)], NOW + timedelta(minutes=2))
    newest = store.fever_item_page(since_id=numbers[uids[4]])
    assert len(newest) == 1 and newest[0][0] > numbers[uids[-1]]
    feeds = store.fever_feed_ids([FEED.key, later.key])
    assert store.fever_feed_ids([later.key, FEED.key, "x/y/z"]) == {**feeds, "x/y/z": max(feeds.values()) + 1}
    groups = store.fever_group_ids(["金融/新浪财经"])
    assert store.fever_group_ids(["金融/新浪财经"]) == groups
    # Keys live with their app password.
    store.add_app_password(user.id, "pw-f", "auth-f", label="", now=NOW)
    store.add_fever_key("pw-f", "key-f")
    assert store.user_for_fever_key("key-f") == user and store.user_for_fever_key("key-x") is None
    store.remove_app_passwords(user.id)
    assert store.user_for_fever_key("key-f") is None
    # Feed-token nonces: set, replaced, revoked.
    assert store.feed_token_nonce(user.id) is None
    store.set_feed_token_nonce(user.id, "n1", NOW)
    store.set_feed_token_nonce(user.id, "n2", NOW)
    assert store.feed_token_nonce(user.id) == "n2"
    store.set_feed_token_nonce(user.id, None, NOW)
    assert store.feed_token_nonce(user.id) is None
    # Id pages: the newest-first list's uids and cursors, sort times in microseconds.
    for query in (EntryQuery(), EntryQuery(status="unread"), EntryQuery(starred=True), EntryQuery(uids=())):
        listed: list[str] = []
        cursor = None
        while True:
            entries, following = store.reader_entries(user.id, query, limit=2, after=cursor)
            ids, same = store.reader_ids(user.id, query, limit=2, after=cursor)
            assert same == following
            assert ids == [(r.entry.uid, _micros(r.entry.published or r.entry.first_seen)) for r in entries]
            listed += [u for u, _ in ids]
            if (cursor := following) is None:
                break
        assert len(listed) == len(set(listed))


def _micros(when: datetime) -> int:
    return int(when.timestamp()) * 1_000_000 + when.microsecond
def _insights(
    n: int, *, deadline: str | None, body: str | None, terms: tuple[tuple[str, int], ...]
) -> Insights:
    return Insights(
        tasks=(TaskItem(1, "一是", f"任务{n}", f"任务{n}，全文。"),),
        targets=(Target(f"指标{n}", "超过", 4e8, "户", deadline, body, f"句子{n}。"),),
        figures=(
            Figure(
                "吸收外资", "全国", f"2026-0{n}", 4.81e11, "元", Change("同比", 35.4, "%", "up"), f"数{n}。"
            ),
        ),
        bodies=(body,) if body else (),
        meetings=("全国工业和信息化工作会议",),
        officials=(Official("肖亚庆", "部长"),),
        terms=terms,
        version=2,
    )


def test_insights_are_kept_with_their_entries_and_queried(store: Store) -> None:
    entries = [entry(n) for n in range(1, 4)]
    uids = [entry_uid(FEED.key, e.id) for e in entries]
    week1 = datetime(2026, 11, 2, 8, tzinfo=UTC)  # a Monday
    items = [
        InsightsOf(
            uids[0],
            content_hash(entries[0]),
            week1,
            _insights(1, deadline="2026-12-31", body="工业和信息化部", terms=(("碳达峰", 3), ("工作", 5))),
        ),
        InsightsOf(
            uids[1],
            content_hash(entries[1]),
            week1 + timedelta(days=7),
            _insights(2, deadline=None, body=None, terms=(("碳达峰", 1), ("工作", 2))),
        ),
        InsightsOf(
            uids[2],
            content_hash(entries[2]),
            week1 + timedelta(days=8),
            _insights(3, deadline="2025-12-31", body="中国人民银行", terms=(("碳达峰", 2), ("降准", 4))),
        ),
    ]
    # Stored before their entries, as a fetch does.
    store.save_insights(items)
    store.save_fetch(FEED, OK, entries, NOW, articles={e.id: ARTICLE for e in entries})
    got = store.get_insights([*uids, "nobody"])
    assert set(got) == set(uids)
    assert got[uids[0]] == items[0].insights  # every field round-trips
    assert insights_dict(got[uids[0]])["targets"][0]["value"] == 400000000
    n_docs, freqs = store.insight_doc_freqs(["碳达峰", "降准", "无此词"])
    assert (n_docs, freqs) == (3, {"碳达峰": 3, "降准": 1})

    targets = store.list_targets()
    assert [t.target.deadline for t in targets] == ["2025-12-31", "2026-12-31", None]
    assert targets[0].ref.uid == uids[2] and targets[0].ref.title == "标题3" and targets[0].ref.index == 0
    assert [t.ref.uid for t in store.list_targets(body="工业和信息化部")] == [uids[0]]
    assert [t.ref.uid for t in store.list_targets(due_before="2026-01-01")] == [uids[2]]
    assert [t.ref.uid for t in store.list_targets(since=week1 + timedelta(days=7))] == [uids[2], uids[1]]
    figures = store.list_figures(metric="吸收外资")
    assert [f.figure.period for f in figures] == ["2026-01", "2026-02", "2026-03"]
    assert figures[0].figure == items[0].insights.figures[0]
    assert store.list_figures(metric="无") == []
    assert store.figure_metrics(min_entries=2) == [("吸收外资", 3)]

    weeks = store.term_weeks(["碳达峰"])
    assert [(w.week, w.docs, w.mentions) for w in weeks] == [("2026-11-02", 1, 3), ("2026-11-09", 2, 3)]
    assert store.term_weeks(["碳达峰"], since_week="2026-11-09")[0].docs == 2
    assert store.latest_insight_week() == "2026-11-09"
    assert store.top_terms(["2026-11-09"])[0] == ("碳达峰", 2)
    rising = store.rising_terms("2026-11-09", ["2026-11-02"], min_docs=2)
    assert [(r.term, r.docs, r.before) for r in rising] == [("碳达峰", 2, 1.0)]

    # Up to date: nothing stale; a newer extractor, a changed entry or a missing row is.
    assert store.stale_insights(2) == []
    assert set(store.stale_insights(3)) == set(uids)
    assert len(store.stale_insights(2, everything=True)) == 3
    changed = replace(entries[0], content="<p>改过</p>")
    store.save_fetch(FEED, OK, [changed], NOW, articles={changed.id: replace(ARTICLE, text="y")})
    assert store.stale_insights(2) == [uids[0]]

    # Replacing an entry's insights moves the aggregates; `bump` moves its rev.
    rev = store.max_rev()
    store.save_insights(
        [InsightsOf(uids[0], content_hash(changed), week1, Insights(terms=(("降准", 1),), version=2))],
        bump=True,
    )
    assert store.get_entry(uids[0]).rev == rev + 1  # type: ignore[union-attr]
    assert store.insight_doc_freqs(["碳达峰", "降准"]) == (3, {"碳达峰": 2, "降准": 2})
    # Its old terms' week rows are counted out (a row at zero goes), its new ones counted in.
    assert [(w.term, w.week, w.docs, w.mentions) for w in store.term_weeks(["碳达峰", "降准"])] == [
        ("碳达峰", "2026-11-09", 2, 3),
        ("降准", "2026-11-02", 1, 1),
        ("降准", "2026-11-09", 1, 4),
    ]
    assert [t.ref.uid for t in store.list_targets()] == [uids[2], uids[1]]
    assert store.stale_insights(2) == []

    # Insights whose entry never arrived are pruned; a deleted feed takes its entries' along.
    store.save_insights([InsightsOf("0" * 16, "h", NOW, Insights(terms=(("孤儿", 1),)))])
    assert store.prune_insights() == 1
    assert store.insight_doc_freqs(["孤儿"]) == (3, {})
    store.delete_feed(FEED.key)
    assert store.get_insights(uids) == {}
    assert store.insight_doc_freqs(["碳达峰", "降准"]) == (0, {})
    assert store.term_weeks(["碳达峰", "降准"]) == [] and store.list_figures() == []
def test_pending_insights_are_what_ingest_left(store: Store) -> None:
    entries = [entry(n) for n in range(1, 4)]
    uids = [entry_uid(FEED.key, e.id) for e in entries]
    # The third has no article (a feed not cleaned): nothing for the stage to read.
    store.save_fetch(FEED, OK, entries, NOW, articles={e.id: ARTICLE for e in entries[:2]})
    assert store.pending_insights() == uids[:2]
    head = store.max_rev()
    assert store.pending_insights(head) == []
    store.save_insights([InsightsOf(uids[0], content_hash(entries[0]), NOW, Insights(version=2))])
    assert store.pending_insights() == [uids[1]]
    assert store.max_rev() == head  # stored without a bump: the rev stays
    # A failed extraction (version 0) is reinsight's, not pending.
    store.save_insights([InsightsOf(uids[1], content_hash(entries[1]), NOW, Insights(version=0))])
    assert store.pending_insights() == []
    # A changed entry is pending again, after the rev it was seen up to.
    changed = replace(entries[0], content="<p>改过</p>")
    store.save_fetch(FEED, OK, [changed], NOW, articles={changed.id: replace(ARTICLE, text="y")})
    assert store.pending_insights(head) == [uids[0]]


def test_skip_rules_and_the_readers_with_rules(store: Store) -> None:
    ann = store.add_user("ann", "hash", admin=False, now=NOW)
    store.add_user("bob", "hash", admin=False, now=NOW)
    assert store.rule_readers() == [] and store.skip_rules() == []
    store.add_rule(ann.id, "降准", is_regex=False, matching=True, action="read", feed_key=None, now=NOW)
    assert store.rule_readers() == [ann.id]  # bob made none
    words = store.add_skip_rule("广告 推广", is_regex=False, matching=True, feed_key=None, by="chief", now=NOW)
    pattern = store.add_skip_rule(r"^\d+$", is_regex=True, matching=False, feed_key=FEED.key, by="chief", now=NOW)
    assert (words.pattern, words.is_regex, words.matching, words.feed_key, words.created_by) == (
        "广告 推广", False, True, None, "chief"
    )
    assert words.created == NOW and (pattern.is_regex, pattern.matching, pattern.feed_key) == (True, False, FEED.key)
    assert [r.id for r in store.skip_rules()] == [words.id, pattern.id]
    assert store.remove_skip_rule(words.id) and not store.remove_skip_rule(words.id)
    assert store.skip_rules() == [pattern]


def test_a_feeds_interval_bounds_are_kept_and_bring_its_check_forward(store: Store) -> None:
    store.apply_config([FEED], NOW)
    far = FeedSchedule(FEED.key, NOW + timedelta(hours=20), 72000.0, "quiet")
    store.save_schedule(far)
    feed = store.catalogue_feed(FEED.key)
    assert feed is not None and (feed.min_interval, feed.max_interval) == (None, None)
    assert store.set_feed_bounds(FEED.key, 600.0, 3600.0, NOW)
    feed = store.catalogue_feed(FEED.key)
    assert feed is not None and (feed.min_interval, feed.max_interval) == (600.0, 3600.0)
    assert feed.schedule.next_check == NOW + timedelta(hours=1)  # no later than the new bound allows
    assert store.set_feed_bounds(FEED.key, None, None, NOW)
    feed = store.catalogue_feed(FEED.key)
    assert feed is not None and (feed.min_interval, feed.max_interval) == (None, None)
    assert not store.set_feed_bounds("no/such/feed", 60.0, None, NOW)
    # The bounds survive a config reapplied unchanged, and a rename moves them along.
    store.set_feed_bounds(FEED.key, 900.0, None, NOW)
    store.apply_config([FEED], NOW)
    moved = store.update_feed(FEED.key, now=NOW, name="改名")
    assert moved is not None and moved.min_interval == 900.0


def test_favicons_images_marks_and_the_tree_version(store: Store) -> None:
    ann = store.add_user("ann", "hash", admin=False, now=NOW)
    assert store.tree_version(ann.id) == (0, 0, 0)
    route = FeedSpec(group="政策", site="人民银行", name="公开市场", route="/pbc/goutongjiaoliu")
    store.apply_config([FEED, route], NOW)
    tree, read, rev = store.tree_version(ann.id)
    assert tree > 0
    store.save_fetch(route, OK, [entry(7, link="http://www.pbc.gov.cn/a.html")], NOW, articles={entry(7).id: ARTICLE})
    store.save_fetch(FEED, OK, [entry(1)], NOW)
    assert store.tree_version(ann.id)[2] > rev  # entries arrived
    # A feed's own URL names its site's home; a route's site, its newest entry's link.
    assert sorted(store.sites_needing_icons(NOW, 10)) == [
        ("政策", "人民银行", "http://www.pbc.gov.cn/a.html"),
        ("金融", "新浪财经", FEED.url),
    ]
    before = store.tree_version(ann.id)
    store.save_favicon("金融", "新浪财经", NOW, data=b"\x89PNG\r\n\x1a\nx", content_type="image/png")
    store.save_favicon("政策", "人民银行", NOW, error="HTTP 404")
    assert store.tree_version(ann.id)[0] > before[0]  # the sidebar shows icons
    icon = store.site_favicon("金融", "新浪财经")
    assert icon is not None and (icon.data, icon.content_type) == (b"\x89PNG\r\n\x1a\nx", "image/png")
    assert store.site_favicon("政策", "人民银行") is None
    assert store.favicon_sites() == {("金融", "新浪财经")}
    assert [(i.group, i.site, i.data) for i in store.site_favicons()] == [("金融", "新浪财经", b"\x89PNG\r\n\x1a\nx")]
    assert store.sites_needing_icons(NOW, 10) == []  # each tried once …
    assert store.sites_needing_icons(NOW + timedelta(seconds=1), 10) == [
        ("政策", "人民银行", "http://www.pbc.gov.cn/a.html")
    ]  # … a failure again after a while
    # Images: the articles' URLs, which were tried, what was kept.
    uid = entry_uid(route.key, entry(7).id)
    assert store.image_urls([uid, entry_uid(FEED.key, entry(1).id)]) == list(ARTICLE.images)
    store.save_image("a" * 64, ARTICLE.images[0], NOW, content_type="image/jpeg", size=123)
    store.save_image("b" * 64, "http://x/b.png", NOW, error="HTTP 403")
    assert store.known_images(["a" * 64, "b" * 64, "c" * 64]) == {"a" * 64, "b" * 64}
    kept = store.cached_image("a" * 64)
    assert kept is not None and (kept.url, kept.content_type, kept.size) == (ARTICLE.images[0], "image/jpeg", 123)
    assert store.cached_image("b" * 64) is None and store.cached_image("c" * 64) is None
    assert store.change_mark("images") is None
    store.set_change_mark("images", 7)
    assert store.change_mark("images") == 7
    # Reading changes the reader's counter, not the tree's.
    tree, read, rev = store.tree_version(ann.id)
    store.set_entry_state(ann.id, [uid], read=True, now=NOW)
    after = store.tree_version(ann.id)
    assert after[0] == tree and after[1] > read


def test_the_tree_version_follows_pauses_not_every_schedule(store: Store) -> None:
    store.apply_config([FEED], NOW)
    tree = store.tree_version(0)[0]
    store.save_schedule(FeedSchedule(FEED.key, NOW + timedelta(hours=1), 3600.0, "rate"))
    assert store.tree_version(0)[0] == tree  # a fetch's bookkeeping leaves the sidebar as it is
    store.pause_feed(FEED.key, "admin")
    assert store.tree_version(0)[0] > tree  # a paused feed shows as such
