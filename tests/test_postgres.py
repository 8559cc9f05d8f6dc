"""The PostgreSQL backend beyond the shared store suite (`test_store.py` runs on both): the URL
that selects it, an unreachable server through the real CLI, processes migrating at once, the
change counter under concurrent writers, and a connection the server dropped."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from cli_helpers import run_cli, write_desk_config
from newsdesk import accounts
from newsdesk.errors import StoreError, StoreIOError
from newsdesk.models import FeedSpec, FetchResult, ParsedEntry, entry_uid
from newsdesk.store import open_store
from newsdesk.store.common import mask_url
from newsdesk.store.postgres import PostgresStore, migrations
from serve_helpers import ServeProcess, client, desk_config, poll, rss
from server import FeedServer
from store_backends import new_pg_database, pg_admin

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
FEED_ROW = ("金融", "站", "源", "http://127.0.0.1:9/feed.xml")


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # closed again on leaving: nothing listens there


def feed(n: int) -> FeedSpec:
    return FeedSpec(group="金融", site="站", name=f"源{n}", url=f"http://127.0.0.1:9/{n}.xml")


def ok(spec: FeedSpec) -> FetchResult:
    return FetchResult(url=spec.url or "", status=200, text="")


def test_password_is_masked_in_every_message() -> None:
    assert (
        mask_url("postgresql://desk:s3cret@db.example:5432/news")
        == "postgresql://desk:***@db.example:5432/news"
    )
    assert mask_url("postgresql://desk@db/news") == "postgresql://desk@db/news"


def test_unreachable_server_is_one_line_naming_the_url_and_exit_1(tmp_path: Path) -> None:
    url = f"postgresql://desk:s3cret@127.0.0.1:{closed_port()}/news"
    with pytest.raises(StoreIOError) as caught:
        open_store(url)
    assert "postgresql://desk:***@127.0.0.1" in str(caught.value) and "s3cret" not in str(caught.value)
    config = write_desk_config(tmp_path, [FEED_ROW], database=url)
    commands = (["stats"], ["check"], ["migrate", "--to", str(tmp_path / "c.db")])
    for command in commands:
        proc = run_cli(config, *command, check=False)
        assert proc.returncode == 1, (command, proc.stdout, proc.stderr)
        lines = (proc.stdout + proc.stderr).strip().splitlines()  # `check` reports on stdout
        assert len(lines) == 1, proc.stdout + proc.stderr
        assert "postgresql://desk:***@127.0.0.1" in lines[0] and "s3cret" not in proc.stderr + proc.stdout


def test_newsdesk_database_selects_postgres(tmp_path: Path) -> None:
    url = new_pg_database(migrated=False)
    config = write_desk_config(tmp_path, [FEED_ROW], database=str(tmp_path / "unused.db"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSDESK_")}
    env["NEWSDESK_DATABASE"] = url
    proc = subprocess.run(
        [sys.executable, "-m", "newsdesk", "--config", str(config), "stats", "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=True,
    )
    assert json.loads(proc.stdout)["counts"]["entries"] == 0
    assert not (tmp_path / "unused.db").exists()
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT COUNT(*) FROM schema_migrations").fetchone() == (len(migrations()),)


def test_processes_starting_together_migrate_once() -> None:
    url = new_pg_database(migrated=False)
    code = "import sys; from newsdesk.store.postgres import PostgresStore; PostgresStore(sys.argv[1]).close()"
    procs = [subprocess.Popen([sys.executable, "-c", code, url]) for _ in range(4)]
    assert [p.wait(timeout=120) for p in procs] == [0, 0, 0, 0]
    with psycopg.connect(url) as conn:
        versions = [r[0] for r in conn.execute("SELECT version FROM schema_migrations ORDER BY version")]
        assert versions == [m[0] for m in migrations()]
        assert conn.execute("SELECT COUNT(*) FROM feeds").fetchone() == (0,)


def test_revs_are_never_seen_out_of_order_by_a_catching_up_reader() -> None:
    """Writers in two processes' worth of connections give out revs while a reader catches up
    from its mark as search and publishers do: it sees every change, none twice."""
    url = new_pg_database()
    writers = [PostgresStore(url) for _ in range(3)]
    reader = PostgresStore(url)
    expected: set[str] = set()
    done = threading.Event()

    def write(store: PostgresStore, w: int) -> None:
        spec = feed(w)
        for batch in range(15):
            entries = [
                ParsedEntry(id=f"{batch}-{i}", title=f"{w}", link=None, published=NOW) for i in range(3)
            ]
            store.save_fetch(spec, ok(spec), entries, NOW)

    for w in range(3):
        expected.update(entry_uid(feed(w).key, f"{b}-{i}") for b in range(15) for i in range(3))
    threads = [threading.Thread(target=write, args=(s, w)) for w, s in enumerate(writers)]
    seen: list[tuple[int, str]] = []
    mark = 0
    try:
        for t in threads:
            t.start()
        while not done.is_set():
            if not any(t.is_alive() for t in threads):
                done.set()  # one more catch-up after the last commit
            for rev, uid, _ in reader.changes_since(mark):
                seen.append((rev, uid))
                mark = rev
        assert {uid for _, uid in seen} == expected
        assert len(seen) == len(expected)  # each change once
        assert [r for r, _ in seen] == sorted(r for r, _ in seen)
        assert reader.max_rev() == len(expected)
    finally:
        for t in threads:
            t.join()
        for s in [*writers, reader]:
            s.close()


def test_a_connection_the_server_dropped_is_replaced() -> None:
    url = new_pg_database()
    store = PostgresStore(url)
    try:
        store.save_fetch(
            feed(1), ok(feed(1)), [ParsedEntry(id="a", title="t", link=None, published=NOW)], NOW
        )
        with pg_admin() as admin:  # what a server restart does to every open connection
            name = url.rsplit("/", 1)[1]
            admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname=%s", (name,))
        assert store.count_entries() == 1  # the pool's check found the dead one and made another
        store.record_failure(feed(1).key, "boom", NOW + timedelta(seconds=1))
        assert store.feed_states()[feed(1).key].consecutive_failures == 1
    finally:
        store.close()


def test_a_bad_pool_size_is_one_line() -> None:
    with pytest.raises(StoreError, match=r"pool_max"):
        PostgresStore("postgresql://postgres@127.0.0.1:5432/test?pool_max=many")


def test_serve_fetches_and_answers_from_postgres(tmp_path: Path, feed_server: FeedServer) -> None:
    """The real `serve` on a PostgreSQL archive: its scheduler stores a feed's items, the API
    lists them (rendered by the database) and marks one read, the publishers write posts."""
    url = new_pg_database()
    feed_server.route("/a.xml", rss(1, 6))
    config = desk_config(
        tmp_path,
        [("金融", "站点", "甲", feed_server.url("/a.xml"))],
        publishers=("hexo",),
        extra=["search_index: false"],
    )
    config.write_text(config.read_text("utf-8").replace("database: archive.db", f"database: {url}"), "utf-8")
    store = open_store(url)
    try:
        user = store.add_user("admin", accounts.hash_password("pw"), admin=True, now=NOW)
        token = accounts.new_token()
        store.add_token(user.id, accounts.secret_hash(token), label="test", now=NOW)
    finally:
        store.close()
    serve = ServeProcess(config)
    try:
        serve.wait_healthy()
        with client(f"{serve.url}/api/v1", token) as c:
            entries = poll(
                # (An empty page is falsy but not False: poll would take it as the answer.)
                lambda: found if len(found := c.get("/entries").json()["entries"]) == 6 else None,
                "6 entries",
            )
            assert entries[0]["title"].startswith("第1源第5条") and entries[0]["read"] is False
            marked = c.patch(f"/entries/{entries[0]['id']}", json={"read": True})
            assert marked.status_code == 200 and marked.json()["read"] is True
            unread = c.get("/entries", params={"status": "unread"}).json()["entries"]
            assert [e["id"] for e in unread] == [e["id"] for e in entries[1:]]
        poll(lambda: len(list((tmp_path / "posts").glob("*.md"))) == 6, "6 Hexo posts")
        code, _ = serve.stop()
        assert code == 0 and "Traceback" not in serve.log_text()
    finally:
        serve.kill()


def test_check_finds_what_the_triggers_keep_out_of_step(tmp_path: Path) -> None:
    """`newsdesk check` on PostgreSQL: a sound archive passes; counts changed behind newsdesk's
    back (what its triggers keep) and a reference turned off are each one line, exit 1."""
    url = new_pg_database()
    store = PostgresStore(url)
    try:
        store.save_fetch(
            feed(1), ok(feed(1)), [ParsedEntry(id="a", title="t", link=None, published=NOW)], NOW
        )
        assert store.integrity_problems() == [] and store.foreign_key_problems() == []
        assert store.start_quick_check().damage() is None
    finally:
        store.close()
    config = write_desk_config(tmp_path, [FEED_ROW], database=url)
    sound = json.loads(run_cli(config, "check", "--json", check=False).stdout)
    assert {r["check"]: r["ok"] for r in sound if r["check"] in ("database", "foreign keys")} == {
        "database": True,
        "foreign keys": True,
    }
    with psycopg.connect(url, autocommit=True) as db:
        db.execute("UPDATE feed_counts SET entries=5")
        db.execute("ALTER TABLE articles DROP CONSTRAINT articles_uid_fkey")
        db.execute(
            "INSERT INTO articles SELECT 'gone', '', '', '', 0, '[]', NULL, NULL, NULL, '[]', NULL, '[]', 'x'"
        )
        db.execute(
            "ALTER TABLE articles ADD CONSTRAINT articles_uid_fkey FOREIGN KEY (uid) REFERENCES entries(uid) NOT VALID"
        )
    store = PostgresStore(url)
    try:
        problems = store.integrity_problems()
        assert problems[0] == f"feed_counts of {feed(1).key} says 5 entries, the archive holds 1"
        assert store.foreign_key_problems() == ["articles row uid=gone refers to a missing row of entries"]
        damage = store.start_quick_check().damage()
        assert damage is not None and "feed_counts" in str(damage)
    finally:
        store.close()
    proc = run_cli(config, "check", check=False)
    assert proc.returncode == 1
    database = [ln for ln in proc.stdout.splitlines() if "database:" in ln]
    assert len(database) == 1 and "inconsistent: feed_counts" in database[0] and "sqlite3" not in database[0]


def test_writers_of_one_feed_at_once_store_each_entry_once() -> None:
    """Four connections save the same fetch of one feed at once (two workers that both fetched
    it): each entry is stored once, with one rev, and no writer fails."""
    url = new_pg_database()
    stores = [PostgresStore(url) for _ in range(4)]
    spec = feed(1)
    items = [ParsedEntry(id=f"e{i}", title=f"标题{i}", link=None, published=NOW) for i in range(20)]
    failures: list[BaseException] = []

    def save(store: PostgresStore) -> None:
        try:
            store.save_fetch(spec, ok(spec), items, NOW)
        except BaseException as e:
            failures.append(e)

    threads = [threading.Thread(target=save, args=(s,)) for s in stores]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert failures == []
        assert stores[0].count_entries() == 20 and stores[0].max_rev() == 20
        assert sorted(uid for _, uid, _ in stores[0].changes_since(0)) == sorted(
            entry_uid(spec.key, e.id) for e in items
        )
    finally:
        for s in stores:
            s.close()


def test_postgres_store_has_every_role_of_the_sqlite_store() -> None:
    """A domain mixin added to SQLiteStore (a new role) is on PostgreSQL once it is added to
    PostgresStore's bases (with a PostgreSQL migration for its tables)."""
    from newsdesk.store import SQLiteStore

    replaced = {"HealthMixin"}  # SQLite's PRAGMA checks: PgHealthMixin has PostgreSQL's
    missing = [
        b.__name__
        for b in SQLiteStore.__bases__
        if not issubclass(PostgresStore, b) and b.__name__ not in replaced
    ]
    assert not missing, f"add {', '.join(missing)} to PostgresStore (store/postgres/__init__.py)"


def test_fever_numbers_are_committed_in_order_under_two_writers() -> None:
    """Fever clients page by `since_id`: a writer that adds an entry while another's numbered
    entry is uncommitted waits for it, so it can never commit a higher number first."""
    url = new_pg_database()
    store = PostgresStore(url)
    for n in (1, 2):  # two feeds: the writers share no feed count row
        store.save_fetch(
            feed(n), ok(feed(n)), [ParsedEntry(id="0", title="t", link=None, published=NOW)], NOW
        )
    insert = (
        "INSERT INTO entries (uid, feed_key, entry_id, title, content, summary, first_seen, last_changed,"
        " sort_time, content_hash) SELECT %s, feed_key, 'new', title, content, summary, first_seen,"
        " last_changed, sort_time, content_hash FROM entries WHERE feed_key=%s"
    )
    try:
        with psycopg.connect(url) as first, psycopg.connect(url, autocommit=True) as second:
            first.execute(insert, ("uid-a", feed(1).key))  # numbered, not committed
            later = threading.Thread(target=lambda: second.execute(insert, ("uid-b", feed(2).key)))
            later.start()
            with psycopg.connect(url, autocommit=True) as watcher:
                poll(
                    lambda: watcher.execute(
                        "SELECT 1 FROM pg_stat_activity WHERE datname=current_database()"
                        " AND wait_event_type='Lock'"
                    ).fetchone(),
                    "the second writer waiting for the first's commit",
                )
            first.commit()
            later.join()
        start = store.fever_item_page()[1][0]
        assert [uid for _, uid in store.fever_item_page(since_id=start)] == ["uid-a", "uid-b"]
    finally:
        store.close()


def test_writers_of_two_feeds_do_not_wait_on_the_tree_version() -> None:
    """The tree's version moves at COMMIT: a writer of one feed never waits for another's
    uncommitted change of another feed (taken at once, several feeds each would deadlock)."""
    url = new_pg_database()
    store = PostgresStore(url)
    for n in (1, 2):
        store.save_fetch(feed(n), ok(feed(n)), [], NOW)
    before = store.tree_version(0)[0]
    try:
        with psycopg.connect(url) as first, psycopg.connect(url, autocommit=True) as second:
            first.execute("UPDATE feeds SET position=5 WHERE key=%s", (feed(1).key,))  # not committed
            second.execute("SET lock_timeout = '2s'")  # waiting at all would be the failure
            second.execute("UPDATE feeds SET position=5 WHERE key=%s", (feed(2).key,))
            assert store.tree_version(0)[0] == before + 1
            first.commit()
        assert store.tree_version(0)[0] == before + 2
    finally:
        store.close()
