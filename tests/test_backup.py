"""`newsdesk backup` and `restore` through the real CLI on real SQLite files and a real tantivy
index, with a second process writing entries (and indexing them) while the backup runs; and the
backup the store takes before migrating an archive of an older schema."""

from __future__ import annotations

import json
import logging
import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from cli_helpers import run_cli, write_desk_config
from newsdesk import locks
from newsdesk.backup import BackupError, restore
from newsdesk.config import load_config
from newsdesk.models import FetchResult, ParsedEntry
from newsdesk.search import update_index
from newsdesk.store import SQLiteStore, open_store
from newsdesk.store.sqlite import migrations
from newsdesk.store.sqlite.base import _split_sql
from newsdesk.store.sqlite.snapshot import KEEP_PRE_MIGRATION, pre_migration_path
from serve_helpers import poll

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
FEEDS = [("金融", "新浪财经", "新浪财经－国內", "http://127.0.0.1:9/feed.xml")]
DEADLINE = 60.0  # seconds any poll below waits at most

# Stores 5 entries per transaction and catches the search index up every third batch, until told
# to stop; after each batch it writes how many batches are done (atomically) to `progress`. Paced
# (a steady writer, like a desk fetching, not a flood): what it stores, the restore indexes again.
WRITER = r"""
import os, sys, time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from newsdesk.config import load_config
from newsdesk.models import FetchResult, ParsedEntry
from newsdesk.search import update_index
from newsdesk.store import open_store

config = load_config(Path(sys.argv[1]))
progress, stop = Path(sys.argv[2]), Path(sys.argv[3])
spec = config.feeds()[0]
store = open_store(config.database_url)
now = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
n, batch = 1000, 0
while not stop.exists() and batch < 3000:
    entries = [
        ParsedEntry(id=f"w{n + i}", title=f"并发写入{n + i}", link=f"https://example.org/w{n + i}",
                    published=now + timedelta(seconds=n + i), content=f"<p>压力测试正文{n + i}</p>")
        for i in range(5)
    ]
    store.save_fetch(spec, FetchResult(url=spec.url or "", status=200, text=""), entries, now)
    n += 5
    batch += 1
    if batch % 3 == 0:
        update_index(config, store)
    tmp = progress.with_name(progress.name + ".tmp")
    tmp.write_text(str(batch))
    os.replace(tmp, progress)
    time.sleep(0.02)
store.close()
"""


def entries(start: int, count: int) -> list[ParsedEntry]:
    return [
        ParsedEntry(
            id=f"e{n}",
            title=f"央行发布第{n}号公告",
            link=f"https://example.org/e{n}",
            published=NOW + timedelta(minutes=n),
            content=f"<p>公告正文{n}，存款准备金率保持不变。</p>",
        )
        for n in range(start, start + count)
    ]


@pytest.fixture
def desk(tmp_path: Path) -> Iterator[Path]:
    """A config with one feed and an archive of 50 entries, indexed."""
    config_path = write_desk_config(tmp_path, FEEDS)
    config = load_config(config_path)
    store = open_store(config.database_url)
    try:
        spec = config.feeds()[0]
        store.sync_feeds([spec])
        store.save_fetch(spec, FetchResult(url=spec.url or "", status=200, text=""), entries(0, 50), NOW)
        update_index(config, store)
    finally:
        store.close()
    yield config_path


def counts(config_path: Path) -> dict[str, int]:
    data = json.loads(run_cli(config_path, "stats", "--json").stdout)
    return {k: v for k, v in data["counts"].items() if k in ("feeds", "entries", "rev", "schema")}


def batches(progress: Path) -> int:
    try:
        return int(progress.read_text() or 0)
    except FileNotFoundError:
        return 0


def test_backup_under_load_restores_to_an_archive_that_passes_check(desk: Path, tmp_path: Path) -> None:
    progress, stop = tmp_path / "progress", tmp_path / "stop"
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(desk), str(progress), str(stop)])
    try:
        poll(lambda: batches(progress) >= 3 or writer.poll() is not None, "the writer's first batches")
        assert writer.poll() is None, "the writer stopped early"
        before = batches(progress)
        made = run_cli(desk, "backup", str(tmp_path / "bk"), "--json")
        manifest = json.loads(made.stdout)
        # The writer went on storing throughout, and after: the live archive moves past the backup.
        after = batches(progress)
        assert after > before, "the writer stored nothing while the backup ran"
        poll(lambda: batches(progress) > after or writer.poll() is not None, "a batch after the backup")
        assert writer.poll() is None, "the writer stopped during the backup"
    finally:
        stop.touch()
        writer.wait(timeout=DEADLINE)
    assert writer.returncode == 0
    archive, index = manifest["archive"], manifest["index"]
    assert archive["entries"] >= 50 + 5 * before and archive["entries"] % 5 == 0  # whole batches
    assert archive["rev"] >= archive["entries"]
    assert index is not None and index["rev"] <= archive["rev"]  # the index at or behind the archive
    live = counts(desk)
    assert live["entries"] > archive["entries"]

    done = run_cli(desk, "restore", str(tmp_path / "bk"), "--json")
    restored = json.loads(done.stdout)
    assert Path(restored["kept"]).name.startswith("archive.db.before-restore-")
    kept = sqlite3.connect(restored["kept"])
    assert kept.execute("SELECT COUNT(*) FROM entries").fetchone()[0] == live["entries"]  # kept whole
    kept.close()
    assert counts(desk) == {k: archive[k] for k in ("feeds", "entries", "rev", "schema")}
    check = json.loads(run_cli(desk, "check", "--json").stdout)
    assert all(r["ok"] for r in check), check
    # The restore caught the restored index up from its own mark, to exactly the restored archive.
    assert any(r["check"] == "search index" and "up to date" in r["detail"] for r in check), check


def test_restore_checks_the_backup_before_touching_the_archive(desk: Path, tmp_path: Path) -> None:
    run_cli(desk, "backup", str(tmp_path / "bk"))
    config = load_config(desk)
    before = live_counts(desk)

    def refused(folder: Path, *words: str) -> None:
        with pytest.raises(BackupError) as e:
            restore(config, folder)
        for w in words:
            assert w in str(e.value) and "\n" not in str(e.value), str(e.value)

    refused(tmp_path / "nowhere", "no such backup folder")
    (tmp_path / "empty").mkdir()
    refused(tmp_path / "empty", "manifest.json", "not a newsdesk backup")
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "manifest.json").write_text("{not json", encoding="utf-8")
    refused(bad, "unreadable")
    (bad / "manifest.json").write_text('{"format": "something else"}', encoding="utf-8")
    refused(bad, "not a manifest")
    newer = json.loads((tmp_path / "bk" / "manifest.json").read_text(encoding="utf-8"))
    newer["archive"]["schema"] = 9999
    (bad / "manifest.json").write_text(json.dumps(newer), encoding="utf-8")
    for name in ("archive.db", "search"):
        (bad / name).symlink_to(tmp_path / "bk" / name)
    refused(bad, "schema 9999, newer than this newsdesk's")
    (tmp_path / "bk" / "search" / "meta.json").unlink()
    refused(tmp_path / "bk", "meta.json", "missing from the backup")
    run_cli(desk, "backup", str(tmp_path / "bk2"))
    data = bytearray((tmp_path / "bk2" / "archive.db").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (tmp_path / "bk2" / "archive.db").write_bytes(bytes(data))
    proc = run_cli(desk, "restore", str(tmp_path / "bk2"), check=False)  # one line from the CLI
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 1 and len(lines) == 1 and "Traceback" not in proc.stderr
    assert lines[0].startswith("error:") and "archive.db: checksum mismatch" in lines[0]
    assert live_counts(desk) == before
    assert not list(tmp_path.glob("archive.db.before-restore-*"))


def live_counts(config_path: Path) -> dict[str, int]:
    store = SQLiteStore(load_config(config_path).database_url)
    try:
        return store.archive_counts()
    finally:
        store.close()


def test_restore_refuses_while_a_fetch_holds_the_lock_or_the_archive_is_open(
    desk: Path, tmp_path: Path
) -> None:
    run_cli(desk, "backup", str(tmp_path / "bk"))
    config = load_config(desk)
    with locks.hold(locks.fetch_lock_path(config.database_url), "test"):
        proc = run_cli(desk, "restore", str(tmp_path / "bk"), check=False)
    assert proc.returncode == locks.EXIT_LOCKED
    assert "holds the lock" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    store = open_store(config.database_url)  # like a running `serve`
    try:
        store.count_entries()
        proc = run_cli(desk, "restore", str(tmp_path / "bk"), check=False)
    finally:
        store.close()
    assert proc.returncode == 1 and "another process has the archive open" in proc.stderr
    assert not list(tmp_path.glob("archive.db.before-restore-*"))
    run_cli(desk, "restore", str(tmp_path / "bk"))  # once nothing else has it open


def test_backup_refuses_a_used_folder_and_a_missing_archive(desk: Path, tmp_path: Path) -> None:
    used = tmp_path / "used"
    used.mkdir()
    (used / "x").write_text("x")
    proc = run_cli(desk, "backup", str(used), check=False)
    assert proc.returncode == 1 and "not an empty folder" in proc.stderr
    nothing = tmp_path / "other"
    nothing.mkdir()
    config = write_desk_config(nothing, FEEDS)
    proc = run_cli(config, "backup", str(tmp_path / "bk2"), check=False)
    assert proc.returncode == 1 and "no archive to back up" in proc.stderr
    assert not (nothing / "archive.db").exists() and not (tmp_path / "bk2").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary folder left


# --- the backup before a migration ---------------------------------------------------------------
def older_archive(path: Path) -> int:
    """An archive at the schema before the newest migration, holding one feed and one entry
    (what an earlier version of newsdesk left); its schema version."""
    steps = migrations()[:-1]
    con = sqlite3.connect(path, isolation_level=None)
    for _, _, sql in steps:
        for statement in _split_sql(sql):
            con.execute(statement)
    version = steps[-1][0]
    con.execute(f"PRAGMA user_version={version}")
    con.execute(
        "INSERT INTO feeds (key, grp, site, name, source) VALUES ('k1', '金融', '新浪财经', '国內', 'url')"
    )
    con.execute(
        "INSERT INTO entries (uid, feed_key, entry_id, title, content, summary, first_seen, last_changed,"
        " sort_time, content_hash) VALUES ('0123456789abcdef', 'k1', 'e1', '旧标题', '<p>旧</p>', '',"
        " '2026-11-01T00:00:00+00:00', '2026-11-01T00:00:00+00:00', '2026-11-01T00:00:00+00:00', 'h')"
    )
    con.close()
    return version


def test_an_older_archive_is_backed_up_before_it_is_migrated(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    db = tmp_path / "archive.db"
    old = older_archive(db)
    latest = migrations()[-1][0]
    # Earlier backups of this archive: only the newest KEEP_PRE_MIGRATION stay.
    for n in range(KEEP_PRE_MIGRATION):
        stale = db.with_name(f"archive.db.pre-migration-{n:04d}-to-{n + 1:04d}.bak")
        stale.write_bytes(b"old")
        os.utime(stale, (1_000_000 + n, 1_000_000 + n))
    with caplog.at_level(logging.WARNING, logger="newsdesk.store"):
        store = SQLiteStore(db)
    try:
        assert store.count_entries() == 1
    finally:
        store.close()
    bak = pre_migration_path(db, old, latest)
    assert bak.name == f"archive.db.pre-migration-{old:04d}-to-{latest:04d}.bak"
    copy = sqlite3.connect(bak)
    try:
        assert copy.execute("PRAGMA user_version").fetchone()[0] == old
        assert copy.execute("SELECT title FROM entries").fetchall() == [("旧标题",)]
        assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        copy.close()
    assert any(str(bak) in r.getMessage() and "before migrating" in r.getMessage() for r in caplog.records)
    kept = sorted(p.name for p in tmp_path.glob("archive.db.pre-migration-*.bak"))
    assert len(kept) == KEEP_PRE_MIGRATION and bak.name in kept
    assert "archive.db.pre-migration-0000-to-0001.bak" not in kept  # the oldest went
    # Opened again at the newest schema: nothing more to back up.
    SQLiteStore(db).close()
    assert len(list(tmp_path.glob("archive.db.pre-migration-*.bak"))) == KEEP_PRE_MIGRATION


def test_new_and_empty_archives_are_not_backed_up(tmp_path: Path) -> None:
    SQLiteStore(tmp_path / "new.db").close()
    con = sqlite3.connect(tmp_path / "empty.db", isolation_level=None)
    for _, _, sql in migrations()[:-1]:
        for statement in _split_sql(sql):
            con.execute(statement)
    con.execute(f"PRAGMA user_version={migrations()[-2][0]}")
    con.close()
    SQLiteStore(tmp_path / "empty.db").close()
    assert not list(tmp_path.glob("*.bak"))


def test_an_index_that_cannot_be_copied_is_left_out_and_rebuilt_on_restore(
    desk: Path, tmp_path: Path
) -> None:
    index = tmp_path / "archive.db.search"
    segment = next(index.glob("*.idx"))  # a file its meta.json names: the copy cannot open
    segment.unlink()
    manifest = json.loads(run_cli(desk, "backup", str(tmp_path / "bk"), "--json").stdout)
    assert manifest["index"] is None and "not copied" in manifest["index_note"]
    assert not (tmp_path / "bk" / "search").exists() and manifest["archive"]["entries"] == 50
    restored = json.loads(run_cli(desk, "restore", str(tmp_path / "bk"), "--json").stdout)
    assert Path(restored["kept_index"]).name.startswith("archive.db.search.before-restore-")
    check = json.loads(run_cli(desk, "check", "--json").stdout)
    assert all(r["ok"] for r in check), check
    assert any(r["check"] == "search index" and "50 documents" in r["detail"] for r in check), check


def test_a_full_disk_is_one_line_and_leaves_nothing_behind(desk: Path, tmp_path: Path) -> None:
    from damage_helpers import small_disk

    with small_disk(tmp_path / "small", "16k") as small:
        proc = run_cli(desk, "backup", str(small / "bk"), check=False)  # the index fills it
        lines = proc.stderr.strip().splitlines()
        assert proc.returncode == 1 and len(lines) == 1 and "No space left on device" in lines[0], proc.stderr
        shutil.rmtree(tmp_path / "archive.db.search")
        proc = run_cli(desk, "backup", str(small / "bk"), check=False)  # now the archive does
        lines = proc.stderr.strip().splitlines()
        assert proc.returncode == 1 and len(lines) == 1 and "the disk is full" in lines[0], proc.stderr
        assert list(small.iterdir()) == []  # no half-written backup
