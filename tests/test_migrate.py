"""`newsdesk migrate --to URL`: an archive with a row in every table goes SQLite → PostgreSQL →
SQLite through the real CLI and comes back the same, table by table (rows and content hash);
a copy killed in the middle goes on when run again and ends the same, nothing doubled."""

from __future__ import annotations

import json
import os
import shlex
import signal
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from cli_helpers import run_cli
from newsdesk.models import ClusterMember, FeedSpec, FetchResult, ParsedEntry, entry_uid
from newsdesk.store import SQLiteStore, open_store
from newsdesk.store.copy import BOOKKEEPING, digest, open_side, plan
from serve_helpers import poll
from store_backends import new_pg_database
from test_store import ARTICLE

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def feed(n: int) -> FeedSpec:
    return FeedSpec(group="金融", site=f"站{n % 3}", name=f"源{n}", url=f"http://127.0.0.1:9/{n}.xml")


def fill(path: Path, feeds: int = 4, entries: int = 5) -> None:
    """An archive with rows in every table newsdesk's API writes, then a row made up for any table
    still empty (a table a later migration added), so the copy test covers every table."""
    store = SQLiteStore(path)
    try:
        specs = [feed(n) for n in range(feeds)]
        store.apply_config(specs, NOW)
        for spec in specs:
            items = [
                ParsedEntry(
                    id=f"e{i}",
                    title=f"标题{i}",
                    link=f"https://x/{spec.name}/{i}",
                    published=NOW - timedelta(minutes=i),
                    content=f"<p>正文{i}</p>",
                )
                for i in range(entries)
            ]
            store.save_fetch(
                spec,
                FetchResult(url=spec.url or "", status=200, text="", etag='"v"'),
                items,
                NOW,
                articles={e.id: ARTICLE for e in items[::2]},
            )
        uids = [entry_uid(specs[0].key, f"e{i}") for i in range(3)]
        store.set_publish_marks("hexo:/posts", {u: "1" for u in uids})
        members = [
            ClusterMember(
                u,
                uids[0],
                specs[0].key,
                NOW,
                "first" if i == 0 else "link",
                0.5,
                f"l{i}",
                f"t{i}",
                b"\x00\x01",
            )
            for i, u in enumerate(uids)
        ]
        store.save_clusters(members, [(7, u) for u in uids], detached=[], mark=store.max_rev())
        store.hold_host("news.example.cn", NOW + timedelta(hours=1), "HTTP 429")
        user = store.add_user("读者", "argon2-hash", admin=True, now=NOW)
        store.add_token(user.id, "token-hash", label="cli", now=NOW)
        store.add_session(user.id, "session-hash", expires=NOW + timedelta(days=1), now=NOW)
        store.set_entry_state(user.id, uids, read=True, starred=True, now=NOW)
        store.add_rule(user.id, "央行", is_regex=False, matching=True, action="read", feed_key=None, now=NOW)
        store.add_app_password(user.id, "app-hash", "auth-hash", label="phone", now=NOW)
        store.delete_feed(specs[-1].key)  # removed entries and a tombstone
    finally:
        store.close()
    with sqlite3.connect(path) as db:
        for (table,) in db.execute(
            "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'"
        ):
            if db.execute(f'SELECT COUNT(*) FROM "{table}"').fetchone()[0] == 0:
                _made_up_row(db, table)


def _made_up_row(db: sqlite3.Connection, table: str) -> None:
    parents = {r[3]: (r[2], r[4]) for r in db.execute(f'PRAGMA foreign_key_list("{table}")')}
    names, values = [], []
    for _, name, kind, *_ in db.execute(f'PRAGMA table_info("{table}")'):
        if name in parents:
            parent, key = parents[name]
            value = db.execute(f'SELECT "{key}" FROM "{parent}" LIMIT 1').fetchone()[0]
        elif "INT" in kind.upper():
            value = 1
        elif "REAL" in kind.upper():
            value = 1.5
        elif "BLOB" in kind.upper():
            value = b"\x01"
        else:
            value = f"{table}-{name}"
        names.append(f'"{name}"')
        values.append(value)
    try:
        db.execute(
            f'INSERT INTO "{table}" ({", ".join(names)}) VALUES ({", ".join("?" * len(values))})', values
        )
    except sqlite3.Error as e:
        pytest.fail(
            f"table {table} is empty in the test archive and no row could be made up for it ({e}):"
            " fill it in tests/test_migrate.py's fill()"
        )


def config(tmp: Path, database: str) -> Path:
    path = tmp / f"newsdesk-{abs(hash(database))}.yaml"
    path.write_text(
        f"database: {database}\ngroups:\n  g:\n    s:\n      - name: n\n        url: http://127.0.0.1:9/x\n",
        encoding="utf-8",
    )
    return path


def tables_of(path: Path) -> set[str]:
    with sqlite3.connect(path) as db:
        return {
            r[0]
            for r in db.execute(
                "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'"
            )
        }


def digests(database: str, other: str) -> dict[str, tuple[int, str]]:
    a, b = open_side(database), open_side(other)
    try:
        return {t.name: digest(a, t) for t in plan(a, b)}
    finally:
        a.close()
        b.close()


def test_every_table_goes_to_postgres_and_back_the_same(tmp_path: Path) -> None:
    source = tmp_path / "archive.db"
    fill(source)
    every = tables_of(source)
    with sqlite3.connect(source) as db:
        empty = [t for t in every if db.execute(f'SELECT COUNT(*) FROM "{t}"').fetchone()[0] == 0]
    assert not empty, f"tables with no rows in the test archive: {empty}"
    url = new_pg_database(migrated=False)

    proc = run_cli(config(tmp_path, str(source)), "migrate", "--to", url, "--json")
    summary = json.loads(proc.stdout)
    assert summary["ok"] and not summary["resumed"]
    # Every table of the source schema is in the copy (a table a migration adds included).
    assert set(summary["tables"]) == every - BOOKKEEPING, "a table of the archive was not copied"
    assert all(t["rows"] > 0 and t["rows"] == t["target_rows"] for t in summary["tables"].values())

    pg = open_store(url)  # the copy works as an archive
    try:
        original = SQLiteStore(source)
        try:
            assert pg.count_entries() == original.count_entries() and pg.max_rev() == original.max_rev()
            assert [u.name for u in pg.list_users()] == ["读者"]
            assert pg.changes_since(0) == original.changes_since(0)
            assert pg.unread_counts(1) == original.unread_counts(1)
            assert pg.catalogue() == original.catalogue()
        finally:
            original.close()
        new_user = pg.add_user("第二", "hash", admin=False, now=NOW)  # keys go on after the copied ones
        assert new_user.id == 2
        assert pg.remove_user("第二")
    finally:
        pg.close()

    back = tmp_path / "back.db"
    proc = run_cli(config(tmp_path, url), "migrate", "--to", str(back))
    assert "counts and hashes match" in proc.stdout and "tables" in proc.stdout
    assert digests(str(source), str(back)) == digests(str(back), str(source))


def test_a_copy_killed_in_the_middle_goes_on_and_ends_the_same(tmp_path: Path) -> None:
    source = tmp_path / "archive.db"
    fill(source, feeds=6, entries=60)
    url = new_pg_database()  # migrated: the test holds a lock on one of its tables
    command = [
        sys.executable,
        "-m",
        "newsdesk",
        "--config",
        str(config(tmp_path, str(source))),
        "migrate",
        "--to",
        url,
        "--batch",
        "25",
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSDESK_")}
    with psycopg.connect(url) as holder:
        # The trigger-kept tables go last: the copy stops at this one with the rest committed.
        holder.execute("LOCK TABLE reader_feed_counts IN ACCESS EXCLUSIVE MODE")
        proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            with psycopg.connect(url, autocommit=True) as watcher:
                poll(
                    lambda: watcher.execute(
                        "SELECT 1 FROM pg_stat_activity WHERE datname=current_database()"
                        " AND wait_event_type='Lock' AND pid<>pg_backend_pid()"
                    ).fetchone(),
                    "the copy waiting for the locked table",
                )
                copied = watcher.execute("SELECT COUNT(*) FROM entries").fetchone()[0]
                assert copied > 0
                assert watcher.execute("SELECT COUNT(*) FROM copy_progress WHERE done=1").fetchone()[0] > 0
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.communicate()
        holder.rollback()
    assert proc.returncode == -signal.SIGKILL

    done = subprocess.run(
        [*command, "--json"], env=env, capture_output=True, text=True, timeout=300, check=True
    )
    summary = json.loads(done.stdout)
    assert summary["ok"] and summary["resumed"]
    assert all(t["rows"] == t["target_rows"] for t in summary["tables"].values())
    with psycopg.connect(url) as db:
        assert db.execute("SELECT to_regclass('copy_progress')").fetchone() == (None,)  # the record goes
    assert digests(str(source), url) == digests(url, str(source))

    again = run_cli(config(tmp_path, str(source)), "migrate", "--to", url, check=False)
    assert again.returncode == 1 and "already holds an archive" in again.stderr  # never copied twice


def test_copying_onto_itself_or_from_nothing_is_one_line(tmp_path: Path) -> None:
    source = tmp_path / "archive.db"
    proc = run_cli(config(tmp_path, str(source)), "migrate", "--to", str(tmp_path / "copy.db"), check=False)
    assert proc.returncode == 1 and "no archive to copy" in proc.stderr and len(proc.stderr.splitlines()) == 1
    fill(source, feeds=1, entries=1)
    proc = run_cli(config(tmp_path, str(source)), "migrate", "--to", str(source), check=False)
    assert proc.returncode == 1 and "is the archive itself" in proc.stderr


def test_a_terminal_sees_a_progress_bar_and_a_pipe_log_lines(tmp_path: Path) -> None:
    source = tmp_path / "archive.db"
    fill(source, feeds=2, entries=3)
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSDESK_")}
    env["COLUMNS"] = "120"
    command = [sys.executable, "-m", "newsdesk", "--config", str(config(tmp_path, str(source))), "migrate"]
    # `script` runs the command on a pseudo-terminal of its own: what a person at a terminal sees.
    shown = subprocess.run(
        ["script", "-qec", shlex.join([*command, "--to", str(tmp_path / "a.db")]), "/dev/null"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=True,
    )
    assert "copying" in shown.stdout and "━" in shown.stdout and "INFO" not in shown.stdout
    assert "counts and hashes match" in shown.stdout
    piped = subprocess.run(
        [*command, "--to", str(tmp_path / "b.db")],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=True,
    )
    assert "━" not in piped.stderr and "INFO entries: 3 of 3 rows" in piped.stderr  # one feed deleted
