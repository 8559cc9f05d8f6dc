"""Feed leases on PostgreSQL (store/postgres/leases.py): claims through real concurrent
transactions on the machine's server, expiry on an injected clock, the per-host limit across
holders, publishing leadership, and the one-line refusal on SQLite."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from newsdesk.config import parse_config
from newsdesk.errors import NewsdeskError, StoreError
from newsdesk.insights_pending import entry_insights
from newsdesk.models import (
    Article,
    FeedSchedule,
    FeedSpec,
    FetchResult,
    ParsedEntry,
    content_hash,
    entry_uid,
    format_time,
)
from newsdesk.store import SQLiteStore
from newsdesk.store.postgres import PostgresStore
from newsdesk.store.postgres.insights import AGGREGATES_LOCK
from newsdesk.worker import INSIGHTS_SHARES, INSIGHTS_TURN, SLOTS_ENV, Worker, default_slots, insights_share
from store_backends import new_pg_database

T0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
MIN = timedelta(minutes=1)


def spec(i: int, host: str = "a.example") -> FeedSpec:
    return FeedSpec("g", host, f"f{i:04d}", url=f"http://{host}/feed{i}.xml")


@pytest.fixture
def pg() -> Iterator[PostgresStore]:
    store = PostgresStore(new_pg_database())
    yield store
    store.close()


def test_a_claim_leases_due_feeds_to_one_holder_until_released_or_expired(pg: PostgresStore) -> None:
    pg.apply_config([spec(i) for i in range(10)], T0)
    first = pg.claim_feeds("w1", T0, T0 + 10 * MIN, limit=6, per_host=100)
    second = pg.claim_feeds("w2", T0, T0 + 10 * MIN, limit=6, per_host=100)
    assert len(first) == 6 and len(second) == 4
    assert not {f.key for f in first} & {f.key for f in second}
    assert pg.claim_feeds("w3", T0 + 9 * MIN, T0 + 20 * MIN, limit=10, per_host=100) == []
    leases = pg.feed_leases(T0)
    assert sorted(leases.values()) == ["w1"] * 6 + ["w2"] * 4

    # w1 stores its feeds' next checks and lets go; w2 dies holding its leases.
    for f in first:
        pg.save_schedule(FeedSchedule(f.key, T0 + 60 * MIN, 3600.0, "test"))
    assert pg.release_feeds("w1", [f.key for f in first]) == 6
    assert pg.release_feeds("w1", [f.key for f in second]) == 0  # not its own
    # Before w2's leases run out nobody gets them; after, another holder does, and only those.
    assert pg.claim_feeds("w3", T0 + 9 * MIN, T0 + 20 * MIN, limit=10, per_host=100) == []
    again = pg.claim_feeds("w3", T0 + 10 * MIN, T0 + 20 * MIN, limit=10, per_host=100)
    assert {f.key for f in again} == {f.key for f in second}
    assert pg.renew_feeds("w3", [f.key for f in again], T0 + 30 * MIN) == 4
    assert set(pg.feed_leases(T0 + 25 * MIN).values()) == {"w3"}


def test_claims_follow_the_catalogues_due_times_kept_on_the_lease_rows(pg: PostgresStore) -> None:
    """A claim reads each feed's due time from its lease row (PG 0032), which the catalogue's
    triggers keep through every change of next check, pause, enabling and key; `newsdesk
    check` reports a lease row out of step."""
    pg.apply_config([spec(i) for i in range(4)], T0)
    later, paused, disabled, renamed = (spec(i).key for i in range(4))
    pg.save_schedule(FeedSchedule(later, T0 + 60 * MIN, 3600.0, "test"))
    assert pg.pause_feed(paused, "admin: paused")
    assert pg.update_feed(disabled, now=T0, enabled=False) is not None
    moved = pg.update_feed(renamed, now=T0, name="改名")
    assert moved is not None and moved.key != renamed
    assert [f.key for f in pg.due_feeds(T0)] == [moved.key]
    assert pg.next_check_time() == moved.schedule.next_check
    assert pg.integrity_problems() == []
    assert [f.key for f in pg.claim_feeds("w1", T0, T0 + 10 * MIN, limit=10, per_host=100)] == [moved.key]

    assert pg.resume_feed(paused, T0) and pg.update_feed(disabled, now=T0, enabled=True) is not None
    again = pg.claim_feeds("w2", T0, T0 + 10 * MIN, limit=10, per_host=100)
    assert {f.key for f in again} == {paused, disabled}
    assert {f.key for f in pg.claim_feeds("w3", T0 + 60 * MIN, T0 + 70 * MIN, limit=10, per_host=100)} == {
        later,
        paused,
        disabled,
        moved.key,
    }
    assert pg.integrity_problems() == []

    with psycopg.connect(pg.url, autocommit=True) as conn:
        conn.execute("UPDATE feed_leases SET due = NULL WHERE feed_key = %s", (later,))
    assert pg.integrity_problems() == [
        f"the lease row of feed {later} says it is due never, the catalogue says {format_time(T0 + 60 * MIN)}"
    ]


def test_concurrent_claims_never_share_a_feed(pg: PostgresStore) -> None:
    pg.apply_config([spec(i, f"h{i % 7}.example") for i in range(400)], T0)
    got: dict[str, list[str]] = {}
    start = threading.Barrier(8)

    def claimer(name: str) -> None:
        start.wait()
        mine: list[str] = []
        while batch := pg.claim_feeds(name, T0, T0 + MIN, limit=7, per_host=1000):
            mine += [f.key for f in batch]
        got[name] = mine

    threads = [threading.Thread(target=claimer, args=(f"w{n}",)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    every = [k for keys in got.values() for k in keys]
    assert len(every) == len(set(every)) == 400
    assert sum(1 for keys in got.values() if keys) > 1  # they did share the work


def test_per_host_limit_holds_across_holders(pg: PostgresStore) -> None:
    pg.apply_config(
        [spec(i, "busy.example") for i in range(10)] + [spec(i, "quiet.example") for i in range(3)], T0
    )
    one = pg.claim_feeds("w1", T0, T0 + MIN, limit=3, per_host=2)
    two = pg.claim_feeds("w2", T0, T0 + MIN, limit=10, per_host=2)
    hosts = [f.spec.site for f in one + two]
    assert hosts.count("busy.example") == 2 and hosts.count("quiet.example") == 2
    # A released slot is free again; expired leases count for nobody.
    pg.release_feeds("w1", [f.key for f in one])
    assert len(pg.claim_feeds("w3", T0, T0 + MIN, limit=10, per_host=2)) <= 3
    later = pg.claim_feeds("w4", T0 + MIN, T0 + 2 * MIN, limit=20, per_host=2)
    assert sorted(f.spec.site for f in later) == ["busy.example"] * 2 + ["quiet.example"] * 2


def test_per_host_limit_holds_across_concurrent_claimers(pg: PostgresStore) -> None:
    # 8 claimers at once over 5 hosts of 30 feeds: without the claim lock two of them count the
    # same live leases and together lease more than 2 of a host.
    pg.apply_config([spec(i, f"h{i % 5}.example") for i in range(150)], T0)
    start = threading.Barrier(8)
    got: list[str] = []

    def claimer(name: str) -> None:
        start.wait()
        for _ in range(3):
            got.extend(f.spec.site for f in pg.claim_feeds(name, T0, T0 + MIN, limit=4, per_host=2))

    threads = [threading.Thread(target=claimer, args=(f"w{n}",)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(got) == sorted([f"h{h}.example" for h in range(5)] * 2)
    assert len(pg.feed_leases(T0)) == 10


def test_a_feeds_lease_host_follows_its_url(pg: PostgresStore) -> None:
    pg.apply_config([spec(0, "old.example"), spec(1, "new.example")], T0)
    first = pg.claim_feeds("w1", T0, T0 + MIN, limit=5, per_host=1)
    assert len(first) == 2
    pg.release_feeds("w1", [f.key for f in first if f.spec.site == "old.example"])
    # Feed 0 moves to new.example, whose one slot feed 1 holds: it now waits for that slot.
    moved = FeedSpec("g", "old.example", "f0000", url="http://NEW.example:80/feed0.xml")
    pg.apply_config([moved, spec(1, "new.example")], T0)
    assert pg.claim_feeds("w2", T0, T0 + MIN, limit=5, per_host=1) == []
    pg.save_schedule(FeedSchedule("g/new.example/f0001", T0 + 60 * MIN, 3600.0, "test"))
    pg.release_feeds("w1", [f.key for f in first])
    assert [f.key for f in pg.claim_feeds("w2", T0, T0 + MIN, limit=5, per_host=1)] == [moved.key]


def test_one_leader_at_a_time_and_the_next_takes_over(pg: PostgresStore) -> None:
    other = PostgresStore(pg.url)
    try:
        first = pg.lead("publish")
        assert first is not None and first.held()
        assert other.lead("publish") is None
        elsewhere = other.lead("something else")
        assert elsewhere is not None
        elsewhere.release()
        first.release()
        assert not first.held()
        second = other.lead("publish")
        assert second is not None
        second.release()
    finally:
        other.close()


def test_workers_refuse_sqlite_in_one_line(tmp_path: Path) -> None:
    config = parse_config(f"database: {tmp_path / 'a.db'}\n", tmp_path / "c.yaml")
    store = SQLiteStore(tmp_path / "a.db")
    try:
        with pytest.raises(NewsdeskError, match=r"a\.db: newsdesk worker needs a PostgreSQL archive") as e:
            Worker(config, store)
        assert "\n" not in str(e.value)
    finally:
        store.close()


def _pending_articles(pg: PostgresStore, count: int) -> FeedSpec:
    """A feed with `count` stored entries whose insights are pending, due only in 10 hours."""
    feed = spec(1)
    pg.apply_config([feed], T0)
    pg.save_schedule(FeedSchedule(feed.key, T0 + 600 * MIN, 3600.0, "test"))  # nothing to claim
    entries = [
        ParsedEntry(
            id=f"e{n}", title=f"标题{n}", link=f"http://a.example/{n}", published=T0, content="<p>x</p>"
        )
        for n in range(count)
    ]
    text = "国家统计局公布，全国粮食总产量达到13908亿斤，比上年增长1.6%。"
    article = Article(f"<p>{text}</p>", text, text, len(text), (), None, None, None, (), None, (), "generic")
    ok = FetchResult(url=feed.url or "", status=200, text="")
    pg.save_fetch(feed, ok, entries, T0, articles={e.id: article for e in entries})
    return feed


def test_workers_take_turns_on_shares_of_the_pending_insights(pg: PostgresStore, tmp_path: Path) -> None:
    _pending_articles(pg, 12)
    pending = pg.pending_insights()
    assert len(pending) == 12
    held_share = insights_share(pending[0])
    in_held = {u for u in pending if insights_share(u) == held_share}
    config = parse_config(f"database: {pg.url}\n", tmp_path / "c.yaml")
    worker = Worker(config, pg, clock=lambda: T0, poll=0)
    other = PostgresStore(pg.url)
    try:
        # Another worker holds one share's turn. A look takes half the shares behind (4 of
        # 8, then 2 of the 4 left, …: two workers looking at once split the work), so this
        # one has caught up every other share after four looks ...
        turn = other.lead(f"{INSIGHTS_TURN}/{held_share}")
        assert turn is not None
        done = [asyncio.run(worker.run_once()).insights for _ in range(4)]
        assert sum(done) == 12 - len(in_held) and set(pg.pending_insights()) == in_held
        # ... and that share at its next look, once it is free (its mark was kept).
        turn.release()
        assert asyncio.run(worker.run_once()).insights == len(in_held)
        assert pg.pending_insights() == []
        # Nothing new since: the next turn takes no turn at all, and leaves them free.
        assert asyncio.run(worker.run_once()).insights == 0
        for share in range(INSIGHTS_SHARES):
            again = other.lead(f"{INSIGHTS_TURN}/{share}")
            assert again is not None
            again.release()
    finally:
        other.close()


def test_a_look_takes_half_the_shares_behind_and_reads_the_pending_list_once(
    pg: PostgresStore, tmp_path: Path
) -> None:
    _pending_articles(pg, 40)
    config = parse_config(f"database: {pg.url}\n", tmp_path / "c.yaml")
    worker = Worker(config, pg, clock=lambda: T0, poll=0)
    reads: list[int] = []
    read = pg.pending_insights

    def counted(since: int = 0) -> list[str]:
        reads.append(since)
        return read(since)

    pg.pending_insights = counted  # type: ignore[method-assign]
    looks = []
    for _ in range(4):
        looks.append(asyncio.run(worker.run_once()).insights)
    # 4 shares, 2, 1, 1: every entry once, one read of the pending list per look.
    assert sum(looks) == 40 and len(reads) == 4
    assert read() == []
    assert sorted(worker._insights_marks) == [pg.max_rev()] * INSIGHTS_SHARES


def test_a_released_leadership_s_connection_serves_the_next_and_its_lock_is_gone(pg: PostgresStore) -> None:
    def holder(name: str) -> int:
        with psycopg.connect(pg.url, autocommit=True) as conn:
            row = conn.execute(
                "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND objid ="
                " CAST(hashtext(%s) AS oid)",
                (name,),
            ).fetchone()
        return int(row[0]) if row else 0

    other = PostgresStore(pg.url)
    try:
        first = pg.lead("a")
        assert first is not None
        pid = holder("a")
        first.release()
        assert holder("a") == 0 and not first.held()
        second = pg.lead("b")  # on the same server process: no new connection
        assert second is not None and holder("b") == pid
        first.release()  # again: must not give up "b", now held on that connection
        assert other.lead("b") is None
        second.release()
        third = other.lead("b")
        assert third is not None
        third.release()
    finally:
        other.close()


def test_claims_keep_one_connection_and_get_a_new_one_when_the_server_drops_it(pg: PostgresStore) -> None:
    pg.sync_feeds([spec(i) for i in range(6)])

    def claimer() -> int:  # the server process of the connection kept for the next claim
        assert len(pg._idle_claims) == 1
        return pg._idle_claims[0].info.backend_pid

    assert len(pg.claim_feeds("w1", T0, T0 + MIN, limit=2, per_host=100)) == 2
    first = claimer()
    assert len(pg.claim_feeds("w1", T0, T0 + MIN, limit=2, per_host=100)) == 2
    assert claimer() == first  # the same connection, not one per claim
    with psycopg.connect(pg.url, autocommit=True) as conn:  # as a server restart would
        conn.execute("SELECT pg_terminate_backend(%s)", (first,))
    assert len(pg.claim_feeds("w1", T0, T0 + MIN, limit=2, per_host=100)) == 2
    assert claimer() != first
    # Every claim committed: the six feeds leased to w1, none left for another.
    assert pg.feed_leases(T0) == {f"g/a.example/f{i:04d}": "w1" for i in range(6)}
    assert pg.claim_feeds("w2", T0, T0 + MIN, limit=6, per_host=100) == []


def test_machine_slots_hold_back_workers_beyond_them(pg: PostgresStore, tmp_path: Path) -> None:
    config = parse_config(f"database: {pg.url}\n", tmp_path / "c.yaml")
    other = PostgresStore(pg.url)
    try:
        one = Worker(config, pg, slots=1, machine="m1")
        two = Worker(config, other, slots=1, machine="m1")
        elsewhere = Worker(config, other, slots=1, machine="m2")
        unlimited = Worker(config, other, slots=0, machine="m1")
        slot = one._slot()
        assert slot is not None
        assert two._slot() is None  # m1's one slot is taken
        there = elsewhere._slot()  # another machine has slots of its own
        assert there is not None
        assert unlimited._slot() is not None
        slot.release()
        again = two._slot()
        assert again is not None
        again.release()
        there.release()
    finally:
        other.close()


def test_insights_stored_without_revs_do_not_wait_for_the_change_counter(pg: PostgresStore) -> None:
    _pending_articles(pg, 3)
    uids = pg.pending_insights()
    quick = PostgresStore(pg.url, lock_wait=1.0)
    try:
        records = [entry_insights(e, e.article) for e in quick.get_entries(uids) if e.article is not None]
        with psycopg.connect(pg.url) as writer:  # a writer of revs holds the counter's turn
            writer.execute("SELECT rev FROM rev_counter WHERE id = 1 FOR UPDATE")
            quick.save_insights(records[:2], bump=False)
            with pytest.raises(StoreError):  # revs moved: the counter's turn, after the writer
                quick.save_insights(records[2:], bump=True)
        assert pg.pending_insights() == uids[2:]
    finally:
        quick.close()


def test_deleting_entries_takes_the_insight_aggregates_turn(pg: PostgresStore) -> None:
    feed = _pending_articles(pg, 2)
    uids = pg.pending_insights()
    pg.save_insights([entry_insights(e, e.article) for e in pg.get_entries(uids) if e.article is not None])
    quick = PostgresStore(pg.url, lock_wait=1.0)
    try:
        with psycopg.connect(pg.url, autocommit=True) as writer:  # a writer of the aggregates
            writer.execute("SELECT pg_advisory_lock(%s, %s)", AGGREGATES_LOCK)
            with pytest.raises(StoreError):  # the delete waits for its turn, then gives up
                quick.delete_feed(feed.key)
            writer.execute("SELECT pg_advisory_unlock(%s, %s)", AGGREGATES_LOCK)
        assert quick.delete_feed(feed.key) == 2
        with psycopg.connect(pg.url, autocommit=True) as conn:  # counted out, nothing left
            assert conn.execute("SELECT COUNT(*) FROM insight_df").fetchone() == (0,)
    finally:
        quick.close()


def test_a_machines_slots_are_its_cores_unless_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(SLOTS_ENV, raising=False)
    assert default_slots() == (os.cpu_count() or 1)
    monkeypatch.setenv(SLOTS_ENV, "3")
    assert default_slots() == 3
    monkeypatch.setenv(SLOTS_ENV, "0")  # no limit
    assert default_slots() == 0
    monkeypatch.setenv(SLOTS_ENV, "many")
    with pytest.raises(NewsdeskError, match="NEWSDESK_WORKER_SLOTS='many'"):
        default_slots()


def _entries(*ids: str) -> list[ParsedEntry]:
    return [
        ParsedEntry(id=i, title=f"标题{i}", link=f"http://a.example/{i}", published=T0, content="<p>x</p>")
        for i in ids
    ]


def test_a_fetch_that_changed_nothing_does_not_wait_for_the_change_counter(pg: PostgresStore) -> None:
    feed = spec(1)
    pg.apply_config([feed], T0)
    ok = FetchResult(url=feed.url or "", status=200, text="")
    assert pg.save_fetch(feed, ok, _entries("e0", "e1"), T0).new == 2
    quick = PostgresStore(pg.url, lock_wait=1.0)
    try:
        with psycopg.connect(pg.url) as writer:  # a writer of revs holds the counter's turn
            writer.execute("SELECT rev FROM rev_counter WHERE id = 1 FOR UPDATE")
            counts = quick.save_fetch(feed, ok, _entries("e0", "e1"), T0 + MIN, feed_title="Same")
            assert (counts.new, counts.unchanged) == (0, 2)
            with pytest.raises(StoreError):  # a new entry gives out a rev: after the writer
                quick.save_fetch(feed, ok, _entries("e0", "e1", "e2"), T0 + 2 * MIN)
        assert quick.catalogue_feed(feed.key) is not None
        assert len(quick.known_hashes(feed.key)) == 2
        assert quick.save_fetch(feed, ok, _entries("e0", "e1", "e2"), T0 + 2 * MIN).new == 1
    finally:
        quick.close()


def test_a_feed_another_writer_stored_while_a_fetch_waited_for_the_counter_is_read_again(
    pg: PostgresStore,
) -> None:
    feed = spec(1)
    pg.apply_config([feed], T0)
    ok = FetchResult(url=feed.url or "", status=200, text="")
    first = _entries("e0")[0]
    outcome: list[object] = []
    with psycopg.connect(pg.url) as writer:  # another writer of this feed, holding the counter
        writer.execute("SELECT rev FROM rev_counter WHERE id = 1 FOR UPDATE")
        fetch = threading.Thread(
            target=lambda: outcome.append(_saved(pg, feed, ok, _entries("e0", "e1"))), name="fetch"
        )
        fetch.start()
        # The fetch read the feed's entries (none) and waits for the counter: the writer stores
        # e0 meanwhile, as it would be listed in the fetch.
        deadline = time.monotonic() + 30
        with psycopg.connect(pg.url, autocommit=True) as watch:
            while watch.execute(
                "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND wait_event_type = 'Lock' AND query LIKE '%rev_counter%'"
            ).fetchone() != (1,):
                assert time.monotonic() < deadline, "the fetch never waited for the counter"
                time.sleep(0.02)
        writer.execute(
            "INSERT INTO entries (uid, feed_key, entry_id, title, content, summary, first_seen,"
            " last_changed, sort_time, content_hash, rev) VALUES (%s, %s, %s, %s, %s, '', %s, %s, %s, %s,"
            " (SELECT rev + 1 FROM rev_counter WHERE id = 1))",
            (
                entry_uid(feed.key, first.id),
                feed.key,
                first.id,
                first.title,
                first.content,
                *[format_time(T0)] * 3,
                content_hash(first),
            ),
        )
        writer.execute("UPDATE rev_counter SET rev = rev + 1 WHERE id = 1")
    fetch.join(30)
    # Stored on what was committed: e0 is the writer's (unchanged), e1 new; not a duplicate key.
    assert outcome == [(1, 0, 1)]
    assert sorted(pg.known_hashes(feed.key)) == ["e0", "e1"]
    with psycopg.connect(pg.url) as conn:  # two revs, each given out once
        revs = conn.execute("SELECT rev FROM entries WHERE feed_key = %s", (feed.key,)).fetchall()
    assert len({r[0] for r in revs}) == 2


def _saved(pg: PostgresStore, feed: FeedSpec, ok: FetchResult, entries: list[ParsedEntry]) -> object:
    try:
        counts = pg.save_fetch(feed, ok, entries, T0)
    except StoreError as e:
        return e
    return (counts.new, counts.updated, counts.unchanged)


def test_the_last_feeds_due_are_shared_out_not_taken_in_one_batch(pg: PostgresStore) -> None:
    pg.apply_config([spec(i) for i in range(30)], T0)
    sizes = []
    while batch := pg.claim_feeds("w", T0, T0 + MIN, limit=10, per_host=100, share=2):
        sizes.append(len(batch))
    # Whole batches while 20 or more are left, then half of what is left (rounded up).
    assert sizes == [10, 10, 5, 3, 1, 1]
    pg.apply_config([spec(i) for i in range(30, 45)], T0)
    assert len(pg.claim_feeds("w", T0, T0 + MIN, limit=10, per_host=100)) == 10  # share 1: as before
    with pytest.raises(ValueError):
        pg.claim_feeds("w", T0, T0 + MIN, limit=10, per_host=100, share=0)


def test_pending_insights_walked_in_chunks_give_the_one_statement_s_list(
    pg: PostgresStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    from newsdesk.store.postgres import insights as pg_insights
    from newsdesk.store.sqlite.insights import InsightsMixin

    pg.fill_synthetic(3, 10, T0)  # 30 entries with articles, revs 1-30
    with psycopg.connect(pg.url, autocommit=True) as conn:
        # Revs 11-16 become one rev (a group larger than a chunk); two entries lose their article.
        conn.execute("UPDATE entries SET rev = 11 WHERE rev BETWEEN 11 AND 16")
        conn.execute("DELETE FROM articles WHERE uid IN (SELECT uid FROM entries WHERE rev IN (3, 20))")
    done = pg.get_entries(pg.pending_insights()[:5])
    pg.save_insights([entry_insights(e, e.article) for e in done if e.article is not None])
    chunk = 4
    monkeypatch.setattr(pg_insights, "PENDING_CHUNK", chunk)
    monkeypatch.setattr(
        pg_insights, "_PENDING_AFTER", pg_insights._PENDING_AFTER.replace("LIMIT 2000", f"LIMIT {chunk}")
    )
    walked = []
    for since in (0, 2, 10, 11, 15, 29, 30):
        expected = InsightsMixin.pending_insights(pg, since)  # SQLite's one statement
        assert pg.pending_insights(since) == expected, since
        walked.append(len(expected))
    assert walked[0] == 30 - 2 - 5 and walked[-1] == 0
    monkeypatch.setattr(pg_insights, "PENDING_WALK", 5)  # a long stretch: the one statement
    assert pg.pending_insights(0) == InsightsMixin.pending_insights(pg, 0)


def test_rows_sent_as_json_refuse_what_json_cannot_carry() -> None:
    from newsdesk.store.postgres.base import rows_source

    source, params = rows_source(("text", "float8"), [("a", 1.5), ("b", None)])
    assert params == ['[["a",1.5],["b",null]]'] and "CAST(v->>1 AS float8)" in source
    for bad in (float("nan"), float("inf")):
        with pytest.raises(ValueError):
            rows_source(("text", "float8"), [("a", 1.0), ("b", bad)])
