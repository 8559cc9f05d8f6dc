"""Users, their secrets and their read state: `newsdesk users …` through the real CLI, the
secrets of `newsdesk.accounts`, and what the SQLite archive keeps of them (read from the file).

argon2 is slow by design (~0.2 s a hash here): these tests make few hashes."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import pty
import select
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from newsdesk import accounts
from newsdesk.errors import NewsdeskError
from newsdesk.models import EntryQuery, FeedSpec, FetchResult, ParsedEntry, entry_uid
from newsdesk.store import SQLiteStore

NOW = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)
FEED = FeedSpec(group="金融", site="新浪财经", name="国内", url="http://127.0.0.1:9/feed.xml")
OK = FetchResult(url="http://127.0.0.1:9/feed.xml", status=200, text="")


def newsdesk(config: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    """`python -m newsdesk --config CONFIG ARGS…` with `stdin` as its (non-terminal) input."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSDESK_")}
    return subprocess.run(
        [sys.executable, "-m", "newsdesk", "--config", str(config), *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def one_error(proc: subprocess.CompletedProcess[str]) -> str:
    """The command failed with exit 1 and one `error:` line, no traceback; that line."""
    assert proc.returncode == 1, (proc.stdout, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    return lines[0]


def dump(db: Path) -> str:
    """Everything the archive holds, as SQL text (the WAL's pages included)."""
    with contextlib.closing(sqlite3.connect(db)) as con:
        return "\n".join(con.iterdump())


def save_three_entries(store: SQLiteStore) -> None:
    entries = [ParsedEntry(id=f"e{n}", title=f"标题{n}", link=None, published=NOW) for n in range(3)]
    store.save_fetch(FEED, OK, entries, NOW)


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "newsdesk.yaml"
    path.write_text("database: archive.db\n", encoding="utf-8")
    return path


def test_users_through_the_cli_keep_only_hashes(config: Path) -> None:
    db = config.parent / "archive.db"
    added = newsdesk(config, "users", "add", "编辑甲", "--admin", stdin="correct horse 电池\nignored\n")
    assert added.returncode == 0 and "added admin 编辑甲" in added.stderr, added.stderr
    assert newsdesk(config, "users", "add", "reader", stdin="pw-reader\n").returncode == 0
    listed = json.loads(newsdesk(config, "users", "list", "--json").stdout)
    assert [(u["name"], u["admin"]) for u in listed] == [("reader", False), ("编辑甲", True)]
    assert "编辑甲" in newsdesk(config, "users", "list").stdout

    # The password is stored as an argon2id hash only.
    with contextlib.closing(sqlite3.connect(db)) as con:
        [(stored,)] = con.execute("SELECT password_hash FROM users WHERE name='编辑甲'")
    assert stored.startswith("$argon2id$")
    assert accounts.verify_password(stored, "correct horse 电池")
    assert not accounts.verify_password(stored, "correct horse 电池\nignored")
    assert "correct horse" not in dump(db)

    # A token is printed once (stdout holds it alone) and only its SHA-256 is kept.
    made = newsdesk(config, "users", "token", "编辑甲", "--label", "手机")
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip()
    assert made.stdout == token + "\n" and token.startswith("nd_") and len(token) > 40
    assert "not shown again" in made.stderr
    text = dump(db)
    assert token not in text and token.removeprefix("nd_") not in text
    assert hashlib.sha256(token.encode()).hexdigest() in text
    store = SQLiteStore(db)
    try:
        user = store.user_for_token(accounts.secret_hash(token), NOW)
        assert user is not None and user.name == "编辑甲" and user.admin
    finally:
        store.close()

    changed = newsdesk(config, "users", "passwd", "reader", stdin="new-pw\n")
    assert changed.returncode == 0, changed.stderr
    with contextlib.closing(sqlite3.connect(db)) as con:
        [(stored,)] = con.execute("SELECT password_hash FROM users WHERE name='reader'")
    assert accounts.verify_password(stored, "new-pw") and not accounts.verify_password(stored, "pw-reader")


def on_terminal(config: Path, args: Sequence[str], dialogue: Sequence[tuple[str, str]]) -> tuple[int, str]:
    """Run `newsdesk --config CONFIG ARGS…` on a new pseudo-terminal, typing each answer of
    `dialogue` ((prompt, answer) pairs, in order) once its prompt shows; (exit status,
    everything the terminal showed)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSDESK_")}
    env["NO_COLOR"] = "1"  # plain `error:` lines on the terminal too
    pid, fd = pty.fork()
    if pid == 0:  # the child: the terminal is its controlling one, as a person's would be
        os.execve(sys.executable, [sys.executable, "-m", "newsdesk", "--config", str(config), *args], env)
    shown = b""
    pending = [(prompt.encode(), answer.encode()) for prompt, answer in dialogue]
    deadline = time.monotonic() + 60
    try:
        while (left := deadline - time.monotonic()) > 0:
            if not select.select([fd], [], [], left)[0]:
                continue
            try:
                chunk = os.read(fd, 4096)
            except OSError:  # EIO: the child has gone and closed the terminal
                break
            if not chunk:
                break
            shown += chunk
            if pending and shown.rstrip().endswith(pending[0][0]):
                os.write(fd, pending.pop(0)[1] + b"\n")
    finally:
        os.close(fd)
        if time.monotonic() >= deadline:
            os.kill(pid, signal.SIGKILL)  # stuck at a prompt: the assertion below says where
        _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), shown.decode(errors="replace")


def test_password_prompt_asks_twice_on_a_terminal(config: Path) -> None:
    code, shown = on_terminal(
        config, ["users", "add", "ann"], [("Password:", "终端密码"), ("Password again:", "终端密码")]
    )
    assert code == 0 and "Password again:" in shown and "added reader ann" in shown, shown
    assert "终端密码" not in shown  # not echoed
    code, shown = on_terminal(
        config, ["users", "passwd", "ann"], [("Password:", "new-one"), ("Password again:", "new-two")]
    )
    assert code == 1 and "error: the two passwords do not match" in shown, shown
    with contextlib.closing(sqlite3.connect(config.parent / "archive.db")) as con:
        [(stored,)] = con.execute("SELECT password_hash FROM users WHERE name='ann'")
    assert accounts.verify_password(stored, "终端密码")  # the refused change changed nothing


def test_cli_refuses_bad_input_with_one_line(config: Path) -> None:
    assert newsdesk(config, "users", "add", "ann", stdin="pw\n").returncode == 0
    assert "already exists" in one_error(newsdesk(config, "users", "add", "ann", stdin="pw\n"))
    assert "empty" in one_error(newsdesk(config, "users", "add", "bob", stdin="\n"))
    assert "printable" in one_error(newsdesk(config, "users", "add", "a\tb", stdin="pw\n"))
    assert one_error(newsdesk(config, "users", "remove", "x")) == (
        "error: no user named 'x' (see `newsdesk users list`)"
    )
    assert "no user named 'x'" in one_error(newsdesk(config, "users", "token", "x"))
    names = [u["name"] for u in json.loads(newsdesk(config, "users", "list", "--json").stdout)]
    assert names == ["ann"]  # nothing of the refused commands was stored


def test_every_users_command_has_help() -> None:
    from typer.testing import CliRunner

    from newsdesk.cli.app import app

    runner = CliRunner()
    for command in ("add", "passwd", "remove", "list", "token", "app-password"):
        shown = runner.invoke(app, ["users", command, "--help"])
        assert shown.exit_code == 0 and "Usage" in shown.output and len(shown.output) > 200, shown.output


def test_removing_a_user_drops_their_tokens_sessions_and_state(config: Path) -> None:
    db = config.parent / "archive.db"
    for name in ("ann", "bob"):
        assert newsdesk(config, "users", "add", name, stdin="pw\n").returncode == 0
    store = SQLiteStore(db)
    try:
        save_three_entries(store)
        uids = list(store.iter_uids())
        for name in ("ann", "bob"):
            user = store.get_user(name)
            assert user is not None
            store.set_entry_state(user.id, uids, read=True, starred=True, now=NOW)
            store.add_token(user.id, accounts.secret_hash(accounts.new_token()), label="", now=NOW)
            store.add_session(user.id, accounts.secret_hash(accounts.new_session_id()), expires=NOW, now=NOW)
    finally:
        store.close()
    assert newsdesk(config, "users", "remove", "ann").returncode == 0
    with contextlib.closing(sqlite3.connect(db)) as con:
        counts = [
            con.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
            for table in ("users", "api_tokens", "sessions", "entry_state")
        ]
    assert counts == [1, 1, 1, 3]  # bob's


def test_an_entry_removed_from_the_archive_takes_its_state_along(tmp_path: Path) -> None:
    """Whatever removes entries (an archive purge) leaves no state rows behind (a trigger), and
    the per-feed entry counts follow."""
    store = SQLiteStore(tmp_path / "archive.db")
    try:
        save_three_entries(store)
        user = store.add_user("ann", "hash", admin=False, now=NOW)
        store.set_entry_state(user.id, list(store.iter_uids()), starred=True, now=NOW)
        gone = entry_uid(FEED.key, "e1")
        store._db.execute("DELETE FROM entries WHERE uid=?", (gone,))  # as a purge would
        assert store.foreign_key_problems() == []
        page, _ = store.reader_entries(user.id, EntryQuery(starred=True), limit=10)
        assert len(page) == 2 and gone not in {r.entry.uid for r in page}
        assert store.unread_counts(user.id) == {FEED.key: (2, 2)}
        rows = store._db.execute("SELECT COUNT(*) FROM entry_state WHERE uid=?", (gone,)).fetchone()[0]
        assert rows == 0
    finally:
        store.close()


def test_reader_lists_walk_an_index_without_sorting(tmp_path: Path) -> None:
    """The hot lists read entries in index order from the cursor on (no sort of everything the
    filter matches, which would make deep pages and big archives slow): a plan check, not a
    timing. The statements are those `reader_entries` runs, caught by a trace."""
    store = SQLiteStore(tmp_path / "archive.db")
    try:
        save_three_entries(store)
        user = store.add_user("ann", "hash", admin=False, now=NOW).id
        _, cursor = store.reader_entries(user, EntryQuery(), limit=1)
        statements: list[str] = []
        store._db.set_trace_callback(statements.append)
        for query in (
            EntryQuery(status="unread"),
            EntryQuery(feed=FEED.key, status="unread"),
            EntryQuery(starred=True),
        ):
            store.reader_entries(user, query, limit=1, after=cursor)
        store._db.set_trace_callback(None)
        pages = [s for s in statements if s.startswith("WITH page")]
        assert len(pages) == 3
        plans = []
        for sql in pages:
            inner = sql[sql.index("(") + 1 : sql.index(") SELECT")]  # the page's own query
            plans.append(" | ".join(r[3] for r in store._db.execute("EXPLAIN QUERY PLAN " + inner)))
        assert all("TEMP B-TREE" not in p for p in plans), plans
        assert "entries_page" in plans[0] and "entries_feed_page" in plans[1], plans
        assert "entry_state_starred" in plans[2], plans
    finally:
        store.close()


# accounts ------------------------------------------------------------------------------------
def test_secrets_are_random_and_hashed_with_sha256() -> None:
    tokens = {accounts.new_token() for _ in range(100)}
    assert len(tokens) == 100 and all(t.startswith("nd_") and len(t) == 3 + 43 for t in tokens)
    assert len({accounts.new_session_id() for _ in range(100)}) == 100
    assert accounts.secret_hash("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


def test_password_hashes_verify_and_tell_when_to_rehash() -> None:
    stored = accounts.hash_password("密码 123")
    assert stored.startswith("$argon2id$") and stored != accounts.hash_password("密码 123")  # salted
    assert accounts.verify_password(stored, "密码 123")
    assert not accounts.verify_password(stored, "密码 124")
    assert not accounts.verify_password(None, "密码 123")  # no such user: False, as slowly
    assert not accounts.verify_password("not a hash", "密码 123")
    assert not accounts.verify_password(stored, "x" * (accounts.MAX_PASSWORD + 1))
    assert not accounts.needs_rehash(stored)
    weaker = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash("密码 123")
    assert accounts.verify_password(weaker, "密码 123") and accounts.needs_rehash(weaker)
    with pytest.raises(NewsdeskError, match="empty"):
        accounts.hash_password("")


@pytest.mark.parametrize(
    ("name", "problem"),
    [("", "empty"), ("a\nb", "printable"), ("x" * 65, "64"), (" ann", "spaces"), ("ann\u200b", "printable")],
)
def test_bad_user_names_are_refused_clearly(name: str, problem: str) -> None:
    with pytest.raises(NewsdeskError, match=problem):
        accounts.validate_name(name)


def test_user_names_are_stored_in_one_normal_form() -> None:
    assert accounts.validate_name("Ame\u0301lie") == "Am\u00e9lie"
    assert accounts.validate_name("x" * 64) == "x" * 64
    assert accounts.validate_name("编辑 甲") == "编辑 甲"


def test_token_use_is_noted_at_most_once_a_minute(tmp_path: Path) -> None:
    # A long busy timeout: were the lookup to wait for the writer below, it would fail the test
    # by raising StoreLockedError after it, not pass late.
    store = SQLiteStore(tmp_path / "archive.db", busy_timeout=20)
    try:
        user = store.add_user("ann", "hash", admin=False, now=NOW)
        store.add_token(user.id, "h", label="", now=NOW)

        def last_used() -> str | None:
            return store._db.execute("SELECT last_used FROM api_tokens").fetchone()[0]  # type: ignore[no-any-return]

        assert last_used() is None
        store.user_for_token("h", NOW)
        first = last_used()
        assert first is not None
        store.user_for_token("h", NOW + timedelta(seconds=30))
        assert last_used() == first
        store.user_for_token("h", NOW + timedelta(minutes=2))
        second = last_used()
        assert second != first
        # Another process writing (a fetch): the token still works at once; its use is noted later.
        with contextlib.closing(sqlite3.connect(store.path, isolation_level=None)) as fetch:
            fetch.execute("BEGIN IMMEDIATE")
            user_seen = store.user_for_token("h", NOW + timedelta(minutes=4))
            assert user_seen is not None and user_seen.name == "ann" and last_used() == second
            fetch.execute("ROLLBACK")
        store.user_for_token("h", NOW + timedelta(minutes=5))
        assert last_used() not in (first, second)
    finally:
        store.close()
