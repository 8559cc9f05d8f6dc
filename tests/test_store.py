"""The storage Protocol, run against every backend (SQLite now; PostgreSQL joins the params)."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from newsdesk.errors import StoreError
from newsdesk.models import Article, Cleaned, FeedSpec, FetchResult, ParsedEntry, entry_uid
from newsdesk.store import Store, open_store

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


@pytest.fixture(params=["sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    s = open_store(str(tmp_path / "archive.db"))
    yield s
    s.close()


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


def test_postgres_url_is_refused_clearly() -> None:
    with pytest.raises(StoreError, match="PostgreSQL"):
        open_store("postgresql://127.0.0.1/test")


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
