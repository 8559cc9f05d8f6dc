"""A damaged disk or archive: one clear line naming the file and what to do, never a traceback.

Every store method turns driver errors into the StoreError subclass for their cause (locked,
damaged, full disk, I/O); a new archive is never left empty by a crash, and an empty file is
refused; the CLI commands over a damaged archive, a full site folder or a full database disk
fail with one line each, `run` still printing its summary, and nothing stored is lost.
"""

from __future__ import annotations

import atexit
import contextlib
import itertools
import json
import os
import random
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from damage_helpers import (
    corrupt_middle,
    entry_count,
    error_lines,
    fill,
    newsdesk,
    serve_feeds,
    small_disk,
    write_config,
)
from newsdesk.errors import StoreCorruptError, StoreError, StoreIOError, StoreLockedError
from newsdesk.models import (
    Article,
    ClusterMember,
    EntryQuery,
    FeedSchedule,
    FeedSpec,
    FetchResult,
    Insights,
    InsightsOf,
    ParsedEntry,
    entry_uid,
)
from newsdesk.store import Store, open_store
from server import FeedServer
from store_backends import (
    BACKENDS,
    driver_lock_error,
    let_locks_stop_reads,
    locked_message_ok,
    locked_out,
    open_backend,
    protocol_methods,
    public_methods,
)

FEED = FeedSpec(group="金融", site="新浪财经", name="国内", url="http://127.0.0.1:9/feed.xml")
NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
OK = FetchResult(url=FEED.url or "", status=200, text="", etag='"v1"')
ENTRY = ParsedEntry(
    id="e1", title="标题", link="https://news.example.cn/1.html", published=NOW, content="<p>正文</p>"
)
UID = entry_uid(FEED.key, ENTRY.id)
ARTICLE = Article(
    html="<p>正文</p>",
    text="正文",
    summary="正文",
    char_count=2,
    images=(),
    header_image=None,
    source=None,
    editor=None,
    reporters=(),
    dateline=None,
    keywords=(),
    profile="generic",
)
COPIES = Path(tempfile.mkdtemp(prefix="newsdesk-test-copies-"))  # where `backup_to` writes
atexit.register(shutil.rmtree, COPIES, True)
MEMBER = ClusterMember(UID, UID, FEED.key, NOW, "first", 1.0, "link", "text", b"sig")

_serial = itertools.count()


def _reopen_last(item: tuple[str, object]) -> tuple[bool, str]:
    return item[0] == "reopen", item[0]


# Every public method of the store, called with valid arguments. A method added to the store
# fails `test_every_public_method_reports_a_lock` until it is added here.
CALLS: dict[str, Callable[[Store], object]] = {
    "reopen": lambda s: s.reopen(),
    "sync_feeds": lambda s: s.sync_feeds([FEED]),
    "feed_states": lambda s: s.feed_states(),
    "save_fetch": lambda s: s.save_fetch(FEED, OK, [ENTRY], NOW, articles={ENTRY.id: ARTICLE}),
    "known_hashes": lambda s: s.known_hashes(FEED.key),
    "set_article": lambda s: s.set_article(UID, ARTICLE),
    "iter_uids": lambda s: list(s.iter_uids()),
    "max_rev": lambda s: s.max_rev(),
    "changes_since": lambda s: s.changes_since(0),
    "record_failure": lambda s: s.record_failure(FEED.key, "failed", NOW),
    "get_entry": lambda s: s.get_entry(UID),
    "get_entries": lambda s: s.get_entries([UID]),
    "get_entry_heads": lambda s: s.get_entry_heads([UID]),
    "list_entries": lambda s: s.list_entries(),
    "entry_hashes": lambda s: list(s.entry_hashes()),
    "entry_revs": lambda s: list(s.entry_revs()),
    "count_entries": lambda s: s.count_entries(),
    "publish_marks": lambda s: s.publish_marks("hexo:/x"),
    "set_publish_marks": lambda s: s.set_publish_marks("hexo:/x", {UID: "1"}),
    "integrity_problems": lambda s: s.integrity_problems(),
    "foreign_key_problems": lambda s: s.foreign_key_problems(),
    "mark_summary": lambda s: s.mark_summary(),
    "cluster_mark": lambda s: s.cluster_mark(),
    "cluster_lookup": lambda s: s.cluster_lookup(links=["link"], texts=["text"], bands=[1]),
    "save_clusters": lambda s: s.save_clusters([MEMBER], [(1, UID)], detached=[UID], mark=1),
    "reset_clusters": lambda s: s.reset_clusters(),
    "cluster_refs": lambda s: s.cluster_refs([UID]),
    "story_keys": lambda s: s.story_keys([UID]),
    "list_clusters": lambda s: s.list_clusters(),
    "get_cluster": lambda s: s.get_cluster(UID),
    "cluster_member_uids": lambda s: list(s.cluster_member_uids()),
    "entry_texts": lambda s: s.entry_texts([UID]),
    "host_holds": lambda s: s.host_holds(NOW),
    "hold_host": lambda s: s.hold_host("example.com", NOW, "HTTP 429"),
    "catalogue": lambda s: s.catalogue(),
    "catalogue_feed": lambda s: s.catalogue_feed(FEED.key),
    "apply_config": lambda s: s.apply_config([FEED], NOW),
    "add_feed": lambda s: s.add_feed(FeedSpec("g", "s", "n", route="/r"), NOW),
    "update_feed": lambda s: s.update_feed(FEED.key, now=NOW, clean=False),
    "delete_feed": lambda s: s.delete_feed(
        "g/s/n"
    ),  # the feed add_feed added (FEED stays: later calls read it)
    "pause_feed": lambda s: s.pause_feed(FEED.key, "admin"),
    "resume_feed": lambda s: s.resume_feed(FEED.key, NOW),
    "refresh_feed": lambda s: s.refresh_feed(FEED.key, NOW),
    "due_feeds": lambda s: s.due_feeds(NOW),
    "next_check_time": lambda s: s.next_check_time(),
    "save_schedule": lambda s: s.save_schedule(FeedSchedule(FEED.key, NOW, 60.0, "test")),
    "entry_times": lambda s: s.entry_times(FEED.key),
    "backup_to": lambda s: s.backup_to(COPIES / "copy.db"),
    "archive_counts": lambda s: s.archive_counts(),
    "newest_entry_time": lambda s: s.newest_entry_time(),
    # Users: each writing call makes a new name or secret, so calling it again succeeds.
    "add_user": lambda s: s.add_user(f"user{next(_serial)}", "hash", admin=False, now=NOW),
    "get_user": lambda s: s.get_user("reader"),
    "user_by_id": lambda s: s.user_by_id(1),
    "list_users": lambda s: s.list_users(),
    "password_hash": lambda s: s.password_hash("reader"),
    "set_password": lambda s: s.set_password("reader", "hash2"),
    "remove_user": lambda s: s.remove_user("nobody"),
    "add_token": lambda s: s.add_token(1, f"token{next(_serial)}", label="cli", now=NOW),
    "user_for_token": lambda s: s.user_for_token("token-none", NOW),
    "add_session": lambda s: s.add_session(1, f"session{next(_serial)}", expires=NOW, now=NOW),
    "user_for_session": lambda s: s.user_for_session("session-none", NOW),
    "remove_session": lambda s: s.remove_session("session-none"),
    "reader_entries": lambda s: s.reader_entries(1, EntryQuery(status="unread"), limit=10),
    "reader_entries_json": lambda s: s.reader_entries_json(1, EntryQuery(status="unread"), limit=10),
    "reader_list": lambda s: s.reader_list(1, EntryQuery(status="unread"), limit=10),
    "reader_entry": lambda s: s.reader_entry(1, UID),
    "set_entry_state": lambda s: s.set_entry_state(1, [UID], read=True, starred=True, now=NOW),
    "mark_read": lambda s: s.mark_read(1, EntryQuery(), before=NOW, now=NOW),
    "unread_counts": lambda s: s.unread_counts(1),
    "add_app_password": lambda s: s.add_app_password(
        1, f"app{next(_serial)}", f"auth{next(_serial)}", label="phone", now=NOW
    ),
    "user_for_app_password": lambda s: s.user_for_app_password("reader", "app-none"),
    "user_for_app_auth": lambda s: s.user_for_app_auth("auth-none"),
    "remove_app_passwords": lambda s: s.remove_app_passwords(999),
    "app_passwords": lambda s: s.app_passwords(1),
    "remove_app_password": lambda s: s.remove_app_password(999, "00000000"),
    "app_password_used": lambda s: s.app_password_used(NOW, auth_hash="auth-none"),
    "label_entries": lambda s: s.label_entries(1, ["0" * 16], "待读", NOW, add=True),
    "entry_labels": lambda s: s.entry_labels(1, ["0" * 16]),
    "labelled_uids": lambda s: s.labelled_uids(1, "待读"),
    "item_labels": lambda s: s.item_labels(1),
    "rename_item_label": lambda s: s.rename_item_label(1, "待读", "要闻"),
    "remove_item_label": lambda s: s.remove_item_label(1, "要闻"),
    "reader_ids_oldest_first": lambda s: s.reader_ids_oldest_first(1, EntryQuery(status="unread"), limit=10),
    "feed_places": lambda s: s.feed_places(1),
    "site_places": lambda s: s.site_places(1),
    "story_copies": lambda s: s.story_copies(UID, 10),
    "add_rule": lambda s: s.add_rule(
        1, "央行", is_regex=False, matching=True, action="read", feed_key=None, now=NOW
    ),
    "rules_of": lambda s: s.rules_of(1),
    "remove_rule": lambda s: s.remove_rule(1, 1),
    "rules_mark": lambda s: s.rules_mark(1),
    "set_rules_mark": lambda s: s.set_rules_mark(1, 1),
    "set_admin": lambda s: s.set_admin("reader", True),
    "add_fever_key": lambda s: _fever_key(s),
    "user_for_fever_key": lambda s: s.user_for_fever_key("key-none"),
    "fever_feed_ids": lambda s: s.fever_feed_ids([FEED.key]),
    "fever_group_ids": lambda s: s.fever_group_ids(["g/s"]),
    "fever_item_page": lambda s: s.fever_item_page(since_id=0),
    "fever_item_count": lambda s: s.fever_item_count(),
    "fever_last_arrival": lambda s: s.fever_last_arrival(),
    "fever_uids": lambda s: s.fever_uids([1]),
    "fever_ids_of": lambda s: s.fever_ids_of([UID]),
    "fever_state_ids": lambda s: s.fever_state_ids(1, "unread"),
    "reader_ids": lambda s: s.reader_ids(1, EntryQuery(status="unread"), limit=10),
    "feed_token_nonce": lambda s: s.feed_token_nonce(1),
    "set_feed_token_nonce": lambda s: s.set_feed_token_nonce(1, f"nonce{next(_serial)}", NOW),
    "save_insights": lambda s: s.save_insights([InsightsOf(UID, "hash", NOW, Insights(terms=(("碳达峰", 2),)))]),
    "get_insights": lambda s: s.get_insights([UID]),
    "insight_doc_freqs": lambda s: s.insight_doc_freqs(["碳达峰"]),
    "stale_insights": lambda s: s.stale_insights(1),
    "pending_insights": lambda s: s.pending_insights(),
    "prune_insights": lambda s: s.prune_insights(),
    "list_targets": lambda s: s.list_targets(body="工业和信息化部"),
    "list_figures": lambda s: s.list_figures(metric="吸收外资"),
    "figure_metrics": lambda s: s.figure_metrics(),
    "term_weeks": lambda s: s.term_weeks(["碳达峰"]),
    "top_terms": lambda s: s.top_terms(["2026-11-23"]),
    "rising_terms": lambda s: s.rising_terms("2026-11-23", ["2026-11-16"]),
    "latest_insight_week": lambda s: s.latest_insight_week(),
    "rule_readers": lambda s: s.rule_readers(),
    "add_skip_rule": lambda s: s.add_skip_rule("广告", is_regex=False, matching=True, feed_key=None, by="a", now=NOW),
    "skip_rules": lambda s: s.skip_rules(),
    "remove_skip_rule": lambda s: s.remove_skip_rule(1),
    "set_feed_bounds": lambda s: s.set_feed_bounds("金融/新浪财经/国内", 600.0, 3600.0, NOW),
    "sites_needing_icons": lambda s: s.sites_needing_icons(NOW, 10),
    "save_favicon": lambda s: s.save_favicon("金融", "新浪财经", NOW, error="none"),
    "site_favicon": lambda s: s.site_favicon("金融", "新浪财经"),
    "favicon_sites": lambda s: s.favicon_sites(),
    "site_favicons": lambda s: s.site_favicons(),
    "image_urls": lambda s: s.image_urls([UID]),
    "known_images": lambda s: s.known_images(["a" * 64]),
    "save_image": lambda s: s.save_image("a" * 64, "http://x/a.png", NOW, error="none"),
    "cached_image": lambda s: s.cached_image("a" * 64),
    "referenced_image_urls": lambda s: s.referenced_image_urls(),
    "cached_image_names": lambda s: s.cached_image_names(),
    "forget_images": lambda s: s.forget_images(["a" * 64]),
    "last_removal": lambda s: s.last_removal(),
    "change_mark": lambda s: s.change_mark("images"),
    "set_change_mark": lambda s: s.set_change_mark("images", 1),
    "tree_version": lambda s: s.tree_version(1),
}


def _fever_key(s: Store) -> None:
    """A Fever key beside a new app password (the key belongs to one)."""
    password = f"app{next(_serial)}"
    s.add_app_password(1, password, f"auth{next(_serial)}", label="fever", now=NOW)
    s.add_fever_key(password, f"key{next(_serial)}")


# Methods that do not read the archive on this connection: closing it, and the quick check,
# which runs in a process of its own and reports only damage (a lock is not damage).
NOT_READING = {"close", "start_quick_check"}


@pytest.mark.parametrize("backend", BACKENDS)
def test_every_public_method_is_exercised(backend: str) -> None:
    assert protocol_methods() - NOT_READING == set(CALLS), "add the new store methods to CALLS"
    assert public_methods(backend) == protocol_methods(), "a public method outside the Store Protocol"


@pytest.mark.parametrize("backend", BACKENDS)
def test_every_public_method_reports_a_lock(backend: str, tmp_path: Path) -> None:
    """Another connection holds an exclusive lock: each method raises StoreLockedError (one line
    naming the archive), not the driver's error, and works again once the lock is gone."""
    store = open_backend(backend, tmp_path, lock_wait=0.05)  # waits 50 ms for a lock
    let_locks_stop_reads(backend, store)
    wrong: dict[str, str] = {}
    try:
        store.add_user("reader", "hash", admin=False, now=NOW)  # user 1, whom the calls name
        for first in ("save_fetch", "set_publish_marks", "save_clusters"):  # something to read
            CALLS[first](store)
        # `reopen` last: its new connection puts the archive back in WAL mode, where reads do
        # not wait for a lock.
        for method, call in sorted(CALLS.items(), key=_reopen_last):
            with locked_out(backend, store):
                try:
                    call(store)
                    wrong[method] = "no error"
                except StoreLockedError as e:
                    if not locked_message_ok(backend, store, str(e)):
                        wrong[method] = str(e)
                    elif not isinstance(e.__cause__, driver_lock_error(backend)):
                        wrong[method] = f"caused by {e.__cause__!r}"
                except Exception as e:
                    wrong[method] = repr(e)
            call(store)  # the lock gone, the same call succeeds
    finally:
        store.close()
    assert not wrong


def test_empty_database_file_is_refused(tmp_path: Path) -> None:
    """An empty file where the archive should be is damage from outside (newsdesk never leaves
    one): refused with one line, not silently made a new, empty archive."""
    db = tmp_path / "archive.db"
    db.write_bytes(b"")
    with pytest.raises(StoreCorruptError, match="empty"):
        open_store(str(db))
    config = write_config(tmp_path, [("金融", "测试站", "源", "http://127.0.0.1:9/x.xml")])
    for args in (("run",), ("check",)):
        proc = newsdesk(config, *args)
        [line] = error_lines(proc) if args != ("check",) else [proc.stdout.strip()]
        assert str(db) in line and "empty" in line, line
        assert db.stat().st_size == 0  # left as found


def test_crash_while_creating_leaves_no_archive(tmp_path: Path) -> None:
    """A process killed while making a new archive leaves no file at the archive's path (so an
    empty file there is always outside damage); the next open makes the archive whole."""
    db = tmp_path / "archive.db"
    script = textwrap.dedent(
        f"""
        import os
        from newsdesk.store.sqlite import base as backend

        every = backend.migrations()

        def dying():
            yield every[0]
            os._exit(9)  # killed after the first migration

        backend.migrations = dying
        from newsdesk.store import SQLiteStore
        SQLiteStore({str(db)!r})
        """
    )
    proc = subprocess.run([sys.executable, "-c", script], check=False)
    assert proc.returncode == 9
    assert not db.exists()
    assert list(tmp_path.glob(".archive.db.*.new*"))  # the dead process's temporary archive
    store = open_store(str(db))
    try:
        store.save_fetch(FEED, OK, [ENTRY], NOW)
        assert store.count_entries() == 1
    finally:
        store.close()
    assert not list(tmp_path.glob(".archive.db.*.new*"))  # removed as the next archive was made


def test_driver_errors_are_named(tmp_path: Path) -> None:
    """Not a database, a folder, damaged pages: each its own StoreError subclass and message."""
    text = tmp_path / "notes.db"
    text.write_text("这不是数据库" * 1000, encoding="utf-8")
    with pytest.raises(StoreCorruptError, match="not a SQLite database"):
        open_store(str(text))
    folder = tmp_path / "folder.db"
    folder.mkdir()
    with pytest.raises(StoreIOError, match="cannot open"):
        open_store(str(folder))
    db = tmp_path / "archive.db"
    store = open_store(str(db))
    store.save_fetch(FEED, OK, [ENTRY], NOW)
    store.close()
    # The entries table's pages (the schema may take more than the first page).
    with contextlib.closing(sqlite3.connect(db)) as con:
        size = con.execute("PRAGMA page_size").fetchone()[0]
        pages = [p for (p,) in con.execute("SELECT pageno FROM dbstat WHERE name='entries'")]
    with open(db, "r+b") as f:
        for page in pages:
            f.seek((page - 1) * size)
            f.write(b"\xff" * size)
    with contextlib.closing(sqlite3.connect(db)) as con:
        [(root,)] = con.execute("SELECT rootpage FROM sqlite_master WHERE name='entries'")
        page_size = con.execute("PRAGMA page_size").fetchone()[0]
    with open(db, "r+b") as f:  # the entries table's page (the schema spans several pages)
        f.seek((root - 1) * page_size)
        f.write(b"\xff" * page_size)
    store = open_store(str(db))
    try:
        with pytest.raises(StoreCorruptError) as caught:
            store.list_entries()
        assert '".recover"' in str(caught.value) and str(db) in str(caught.value)
        with pytest.raises(StoreError):
            list(store.entry_revs())  # a generator: wrapped while iterated
    finally:
        store.close()


def test_damaged_archive_gives_one_line_everywhere(tmp_path: Path, feed_server: FeedServer) -> None:
    """Garbage written over the middle of the archive: `run`, `entries list`, `entries show`,
    `search`, `build` and `check` each fail with one line naming the file (no traceback)."""
    seed = int(os.environ.get("NEWSDESK_TEST_SEED", random.randrange(2**32)))
    print(f"seed={seed} (NEWSDESK_TEST_SEED={seed} repeats this test's damage)")
    feeds = serve_feeds(feed_server, ["甲", "乙"], 15)
    config = write_config(tmp_path, feeds)
    assert newsdesk(config, "run").returncode == 0
    db = tmp_path / "archive.db"
    with contextlib.closing(sqlite3.connect(db)) as con:
        uids = [u for (u,) in con.execute("SELECT uid FROM entries")]
    first, count = corrupt_middle(db, seed)
    print(f"pages {first}..{first + count - 1} of {db.stat().st_size // 4096} overwritten")
    damaged_uid = _unreadable_entry(db, uids)

    outputs = {}
    for args in (
        ("run",),
        ("entries", "list", "--limit", "1000"),  # every entry: the damage is somewhere among them
        ("entries", "show", damaged_uid),
        ("search", "存款准备金率", "--limit", "1000"),
        ("build",),
    ):
        proc = outputs[args[0]] = newsdesk(config, *args)
        damage = [line for line in error_lines(proc) if "damaged" in line]
        assert damage, f"{args}: {proc.stderr}"
        assert str(db) in damage[0] and "restore a backup" in damage[0]
    assert "2 feeds, " in outputs["run"].stdout, outputs["run"].stdout  # `run` still sums up
    checked = newsdesk(config, "check")
    assert checked.returncode == 1 and "Traceback" not in checked.stderr
    assert any(line.startswith("problem database: damaged") for line in checked.stdout.splitlines())


def _unreadable_entry(db: Path, uids: list[str]) -> str:
    """An entry whose row or article the damage reached."""
    with contextlib.closing(sqlite3.connect(db)) as con:
        for uid in uids:
            try:
                con.execute(
                    "SELECT * FROM entries e LEFT JOIN articles a ON a.uid=e.uid WHERE e.uid=?", (uid,)
                ).fetchall()
            except sqlite3.Error:
                return uid
    raise AssertionError("the damage reached no entry (see the seed above)")


def test_damaged_search_index_is_one_line(tmp_path: Path, feed_server: FeedServer) -> None:
    """Garbage inside an index file (its footer intact, so it opens): `search` says the index is
    damaged and how to rebuild it; `reindex` does, and search works again. A file missing is
    found on opening: `search` rebuilds the index from the archive itself."""
    feeds = serve_feeds(feed_server, ["甲"], 10)
    config = write_config(tmp_path, feeds)
    assert newsdesk(config, "run").returncode == 0
    index = tmp_path / "archive.db.search"
    for term in index.glob("*.term"):
        size = term.stat().st_size
        with open(term, "r+b") as f:
            f.seek(size // 4)
            f.write(random.Random(1).randbytes(size // 2))
    proc = newsdesk(config, "search", "存款准备金率")
    [line] = error_lines(proc)
    assert str(index) in line and "newsdesk reindex" in line, line
    assert newsdesk(config, "reindex").returncode == 0
    again = newsdesk(config, "search", "存款准备金率", "--json")
    assert again.returncode == 0 and "甲标题" in again.stdout, again.stderr
    # A segment file gone: found on opening; the index is rebuilt from the archive and searched.
    next(index.glob("*.idx")).unlink()
    rebuilt = newsdesk(config, "search", "存款准备金率", "--json")
    assert rebuilt.returncode == 0, rebuilt.stderr
    ids = {h["id"] for h in json.loads(again.stdout)}
    assert ids and {h["id"] for h in json.loads(rebuilt.stdout)} == ids  # what was found before
    assert "rebuilding" in rebuilt.stderr


def test_full_site_disk(tmp_path: Path, feed_server: FeedServer) -> None:
    """The site folder on a full disk: `run` stores the entries and writes the posts, the site
    fails with one line, the summary is printed; once space is freed `build` completes it."""
    feeds = serve_feeds(feed_server, ["甲", "乙"], 8)
    config = write_config(tmp_path, feeds, site_dir="small/site", publishers=("hexo", "site"))
    # Room for the site with its insight pages (charts of each trending term), once freed.
    with small_disk(tmp_path / "small", "10m") as disk:
        filler = fill(disk)
        proc = newsdesk(config, "run")
        assert proc.returncode == 4, proc.stdout + proc.stderr  # a publisher failed
        [line] = error_lines(proc)
        assert line.startswith("error: publish site:") and "No space left" in line, line
        assert "2 feeds, 0 failed; 16 new" in proc.stdout, proc.stdout
        assert entry_count(tmp_path / "archive.db") == 16
        assert len(list((tmp_path / "posts").glob("*.md"))) == 16
        for path in filler:
            path.unlink()
        built = newsdesk(config, "build")
        assert built.returncode == 0, built.stderr
        assert len(list((disk / "site" / "a").glob("*/*.html"))) == 16


def test_full_database_disk(tmp_path: Path, feed_server: FeedServer) -> None:
    """The archive on a full disk: the feeds that cannot be stored fail with one line saying
    the disk is full, the summary is printed; once space is freed, a run stores the rest."""
    feeds = serve_feeds(feed_server, ["甲", "乙", "丙"], 8)
    config = write_config(tmp_path, feeds, database="small/archive.db")
    # Room for the archive with its insights and the search index, once freed.
    with small_disk(tmp_path / "small", "3m") as disk:
        assert newsdesk(config, "entries", "list").returncode == 0  # the archive exists
        filler = fill(disk)
        for path in filler[:5]:  # room for SQLite's shared-memory file and a feed, not for all
            path.unlink()
        proc = newsdesk(config, "run")
        assert proc.returncode == 3, proc.stdout + proc.stderr  # some feeds failed
        assert "Traceback" not in proc.stderr, proc.stderr
        totals = re.search(r"3 feeds, (\d) failed; (\d+) new", proc.stdout)
        assert totals, proc.stdout
        failed, stored = int(totals[1]), int(totals[2])
        assert failed >= 1 and stored == 8 * (3 - failed), proc.stdout
        # One log line per feed (the insights caught up after fetching may say so once more).
        feed_lines = [line for line in proc.stderr.splitlines() if ": failed: " in line]
        assert len(feed_lines) == failed and all("the disk is full" in line for line in feed_lines), proc.stderr
        assert entry_count(disk / "archive.db") == stored
        for path in filler[5:]:
            path.unlink()
        again = newsdesk(config, "run")
        assert again.returncode == 0, again.stdout + again.stderr
        assert entry_count(disk / "archive.db") == 24
        assert len(list((tmp_path / "posts").glob("*.md"))) == 24
