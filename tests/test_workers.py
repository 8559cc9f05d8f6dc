"""`newsdesk worker` processes sharing a PostgreSQL archive, through real parts: the test feed
server (requests counted per feed), real worker processes on one injected clock (a file they
read: leases run out when the test moves it, never by waiting), the machine's PostgreSQL, and a
private PostgreSQL cluster the test starts, restarts and removes itself."""

from __future__ import annotations

import signal
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg

from newsdesk.config import load_config
from newsdesk.slots import SLOT_TURN
from newsdesk.store.postgres import PostgresStore
from newsdesk.store.protocol import Leadership
from serve_helpers import ServeProcess, add_user, client, poll
from server import FeedServer
from store_backends import new_pg_database
from worker_helpers import (
    T0,
    Clock,
    Feeds,
    PrivatePostgres,
    WorkerProcess,
    entry_counts,
    workers,
    write_config,
)

LEASE = 60.0


def prepare(config: Path, url: str) -> None:
    """The config's feeds in the catalogue before the workers start (all due at T0)."""
    store = PostgresStore(url)
    try:
        store.apply_config(load_config(config).feeds(), T0)
    finally:
        store.close()


def settled(url: str, now: datetime) -> bool:
    """Nothing due and nothing leased at `now`: no worker will fetch anything more."""
    store = PostgresStore(url)
    try:
        return not store.due_feeds(now, limit=1) and not store.feed_leases(now)
    finally:
        store.close()


def wait_stored(feeds: Feeds, url: str, items: int, procs: list[WorkerProcess], what: str) -> None:
    def done() -> bool:
        for p in procs:
            assert p.alive(), f"a worker died:\n{p.log_text()}"
        counts = entry_counts(url)
        return len(counts) == feeds.count and all(n == items for n, _ in counts.values())

    try:
        poll(done, what, deadline=150)
    except AssertionError as e:
        counts = entry_counts(url)
        short = {
            feeds.key(n): counts.get(feeds.key(n))
            for n in range(feeds.count)
            if counts.get(feeds.key(n), (0,))[0] != items
        }
        store = PostgresStore(url)
        try:
            detail = [(f.key, f.schedule, f.state) for f in store.catalogue() if f.key in short][:5]
            leases = store.feed_leases(T0 + timedelta(days=30))
        finally:
            store.close()
        raise AssertionError(
            f"{e}: {len(short)} short: {list(short.items())[:5]} {detail} leases={leases}"
        ) from None


def test_four_workers_fetch_every_due_feed_once_per_period(tmp_path: Path) -> None:
    url = new_pg_database()
    with FeedServer() as server:
        feeds = Feeds(server, 2000, items=2)
        feeds.delay = 0.05
        config = write_config(tmp_path, url, feeds, per_host=40)
        prepare(config, url)
        clock = Clock(tmp_path / "clock")
        # A slot each (as on a machine of four cores or more): the four work side by side.
        with workers(config, clock, 4, "--batch", "25", "--lease", str(LEASE), slots=4) as procs:
            wait_stored(feeds, url, 2, procs, "the first period's entries")
            poll(lambda: settled(url, clock.now), "the first period to settle")
            assert set(feeds.requests().values()) == {1}, "a feed was fetched twice in one period"
            # Half an hour on, the feeds whose next check (30 min ± 10 %) has come are due
            # again, each with one new article; the others are not.
            later = T0 + timedelta(minutes=30)
            store = PostgresStore(url)
            try:
                due = {f.key for f in store.due_feeds(later)}
            finally:
                store.close()
            assert 0 < len(due) < 2000
            feeds.items = 3
            clock.set(later)

            def second_done() -> bool:
                counts = entry_counts(url)
                return sum(1 for k in due if counts[k][0] == 3) == len(due)

            poll(second_done, "the second period's entries", deadline=150)
            poll(lambda: settled(url, clock.now), "the second period to settle")
            logs = [p.log_text() for p in procs]
        requests = feeds.requests()
        assert {n: requests[n] for n in range(2000)} == {
            n: 2 if feeds.key(n) in due else 1 for n in range(2000)
        }
        counts = entry_counts(url)  # none lost, none doubled
        assert counts == {feeds.key(n): (3, 3) if feeds.key(n) in due else (2, 2) for n in range(2000)}
        # Every worker took part, and the per-host limit held across all four.
        assert all("batch feeds=" in text for text in logs), logs
        assert 1 < server.max_in_flight <= 40, server.max_in_flight
        assert all("Traceback" not in text for text in logs), logs


def looks(url: str) -> dict[int, datetime]:
    """Server process → when it last looked for a free slot or for feeds to claim, of the
    connections looking (those holding no advisory lock)."""
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pid, query_start FROM pg_stat_activity WHERE datname = current_database()"
            " AND (query LIKE 'SELECT pg_try_advisory_lock%%' OR query LIKE 'SELECT EXISTS%%feed_leases%%')"
            " AND pid <> pg_backend_pid()"
            " AND pid NOT IN (SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted)"
        ).fetchall()
    return {int(pid): started for pid, started in rows}


@dataclass
class SlotTaken:
    """Three due feeds, and this machine's only worker slot held by another worker (`other`,
    a store of its own; `busy`, its slot)."""

    url: str
    server: FeedServer
    feeds: Feeds
    config: Path
    clock: Clock
    other: PostgresStore
    busy: Leadership


@contextmanager
def slot_taken(tmp_path: Path) -> Iterator[SlotTaken]:
    url = new_pg_database()
    with FeedServer() as server:
        feeds = Feeds(server, 3, 2)
        config = write_config(tmp_path, url, feeds, per_host=10)
        prepare(config, url)
        other = PostgresStore(url)
        try:
            busy = other.lead(f"{SLOT_TURN}/{socket.gethostname()}/0")
            assert busy is not None
            yield SlotTaken(url, server, feeds, config, Clock(tmp_path / "clock"), other, busy)
        finally:
            other.close()


def test_a_worker_beyond_the_slots_waits_before_loading_the_pipeline(tmp_path: Path) -> None:
    with slot_taken(tmp_path) as desk, workers(desk.config, desk.clock, 2, slots=1) as (standby, stopped):
        url = desk.url
        for p in (standby, stopped):
            poll(lambda p=p: "worker slots are taken; waiting for one" in p.log_text(), "the wait")
        # They look on one connection each, kept from look to look.
        first = looks(url)
        assert len(first) == 2
        poll(lambda: all(looks(url).get(pid, first[pid]) > first[pid] for pid in first), "next looks")
        assert set(looks(url)) == set(first)
        # Waiting, it has loaded no stage (lxml parses every feed) and opened nothing.
        maps = Path(f"/proc/{standby.proc.pid}/maps").read_text(encoding="utf-8")
        assert "lxml" not in maps and "aiohttp" not in maps
        assert "started" not in standby.log_text() and desk.server.requests == []
        assert stopped.stop() == 128 + signal.SIGTERM  # a wait ends on SIGTERM, cleanly
        assert "Traceback" not in stopped.log_text()
        desk.busy.release()  # the slot is free: the standby starts and fetches
        wait_stored(desk.feeds, url, 2, [standby], "the standby's feeds")
        assert "started" in standby.log_text() and standby.alive()
        standby.stop()
        assert "Traceback" not in standby.log_text()


def test_a_standby_takes_a_freed_slot_only_when_feeds_wait_to_be_claimed(tmp_path: Path) -> None:
    """A slot given back by a worker that found nothing is left free while nothing is there to
    claim (loading the pipeline would only find the same), and taken once a feed is."""
    with slot_taken(tmp_path) as desk:
        # The other worker holds every feed's lease too.
        held = desk.other.claim_feeds("other", T0, T0 + timedelta(minutes=10), limit=10, per_host=10)
        assert len(held) == 3
        with workers(desk.config, desk.clock, 1, slots=1) as (standby,):
            poll(lambda: "worker slots are taken; waiting for one" in standby.log_text(), "the wait")
            desk.busy.release()
            # Two more looks with the slot free: it stays a standby.
            for _ in range(2):
                before = looks(desk.url)
                assert len(before) == 1
                poll(lambda b=before: looks(desk.url).keys() == b.keys() and looks(desk.url) != b, "a look")
            assert "started" not in standby.log_text() and desk.server.requests == []
            desk.clock.set(T0 + timedelta(minutes=11))  # the other's leases ran out: its feeds are due
            wait_stored(desk.feeds, desk.url, 2, [standby], "the feeds, by the standby")
            assert "started" in standby.log_text()
            standby.stop()
            assert "Traceback" not in standby.log_text()


def test_a_killed_workers_feeds_go_to_others_once_its_leases_run_out(tmp_path: Path) -> None:
    url = new_pg_database()
    with FeedServer() as server:
        feeds = Feeds(server, 200, items=4)
        config = write_config(tmp_path, url, feeds, per_host=200)
        prepare(config, url)
        clock = Clock(tmp_path / "clock")
        # The victim claims a batch whose answers hang; it is killed holding their leases.
        feeds.stall = 60.0
        victim = WorkerProcess(config, clock, "--batch", "20", "--lease", str(LEASE))
        try:
            poll(lambda: sum(feeds.requests().values()) == 20, "the victim's requests")
            store = PostgresStore(url)
            try:
                held = store.feed_leases(clock.now)
            finally:
                store.close()
            assert len(held) == 20 and len(set(held.values())) == 1
            victim.proc.send_signal(signal.SIGKILL)
            victim.proc.wait()
        finally:
            victim.stop()
        feeds.stall = 0.0
        taken = {int(k.rsplit("feed", 1)[1]) for k in held}
        with workers(config, clock, 3, "--batch", "10", "--lease", str(LEASE)) as procs:

            def others_done() -> bool:
                counts = entry_counts(url)
                return len(counts) == 180

            poll(others_done, "the feeds the victim did not hold", deadline=120)
            poll(lambda: _only_held(url, clock.now, held), "only the victim's feeds left due")
            # Its leases still run: nobody has touched its feeds.
            assert not set(entry_counts(url)) & set(held)
            assert all(feeds.requests()[n] == 1 for n in taken)
            clock.set(T0 + timedelta(seconds=LEASE + 1))
            wait_stored(feeds, url, 4, procs, "the victim's feeds, by the others")
            poll(lambda: settled(url, clock.now), "the run to settle")
        requests = feeds.requests()
        assert {n: requests[n] for n in taken} == dict.fromkeys(taken, 2)  # its stalled try, and one more
        assert all(requests[n] == 1 for n in range(200) if n not in taken)
        assert set(entry_counts(url).values()) == {(4, 4)}


def _only_held(url: str, now: datetime, held: dict[str, str]) -> bool:
    """Every due feed is one the dead worker holds: the others have nothing left to claim."""
    store = PostgresStore(url)
    try:
        return {f.key for f in store.due_feeds(now)} == set(held)
    finally:
        store.close()


def test_workers_carry_on_across_a_postgresql_restart(tmp_path: Path) -> None:
    pg = PrivatePostgres()
    try:
        import psycopg

        with psycopg.connect(f"{pg.url}/postgres", autocommit=True) as admin:
            admin.execute("CREATE DATABASE desk")
        url = f"{pg.url}/desk"
        with FeedServer() as server:
            feeds = Feeds(server, 150, items=20)
            config = write_config(tmp_path, url, feeds, per_host=200)
            prepare(config, url)
            clock = Clock(tmp_path / "clock")
            with workers(config, clock, 2, "--batch", "10", "--lease", str(LEASE)) as procs:
                poll(lambda: len(entry_counts(url)) >= 40, "some feeds stored")
                before = [len(p.log_text()) for p in procs]
                pg.stop("immediate")  # a crash: whatever was not committed is gone
                pg.start()
                # Each feed's transaction: all of its entries or none.
                assert {n for n, _ in entry_counts(url).values()} <= {20}
                poll(lambda: settled(url, clock.now), "the run to settle after the restart", deadline=150)
                # A feed whose store the crash cut off counts one failed check (the archive's
                # error recorded) and is checked again after the backoff; the rest are complete.
                counts = entry_counts(url)
                store = PostgresStore(url)
                try:
                    cut = {f.key: f.state.last_error for f in store.catalogue() if f.key not in counts}
                finally:
                    store.close()
                assert all("postgresql://" in (error or "") for error in cut.values()), cut
                clock.set(T0 + timedelta(hours=3))
                wait_stored(feeds, url, 20, procs, "every feed after the restart")
                poll(lambda: settled(url, clock.now), "the run to settle")
                # The same processes carried on: each stored feeds after the restart.
                assert all(p.alive() for p in procs)
                after = [p.log_text()[n:] for p, n in zip(procs, before, strict=True)]
                assert all("batch feeds=" in text for text in after), after
                assert all("Traceback" not in text for text in after), after
            assert set(entry_counts(url).values()) == {(20, 20)}
    finally:
        pg.destroy()


def test_one_elected_publisher_and_a_web_front_without_scheduler(tmp_path: Path) -> None:
    url = new_pg_database()
    serve_lines = ["serve:", "  host: 127.0.0.1", "  port: 0"]
    with FeedServer() as server:
        feeds = Feeds(server, 20, items=2)
        config = write_config(tmp_path, url, feeds, per_host=50, publishers="hexo", extra=serve_lines)
        prepare(config, url)
        posts = tmp_path / "posts"
        _, token = add_user(url, "admin", admin=True)
        clock = Clock(tmp_path / "clock", datetime.now(UTC))
        front = ServeProcess(config, "--no-scheduler")
        try:
            front.wait_healthy()
            with workers(config, clock, 2, "--publish", "--lease", str(LEASE)) as procs:
                poll(lambda: len(list(posts.glob("*.md"))) == 40, "40 Hexo posts")
                leaders = [p for p in procs if "leading publishing" in p.log_text()]
                assert len(leaders) == 1, [p.log_text() for p in procs]
                # The front fetches nothing itself; a refresh asked of it goes to the workers.
                assert set(feeds.requests().values()) == {1}
                feeds.items = 3
                with client(f"{front.url}/api/v1", token) as c:
                    assert c.post(f"/feeds/{feeds.key(7)}/refresh").status_code == 202
                clock.set(datetime.now(UTC) + timedelta(seconds=1))
                # The leader dies; the other worker takes publishing over.
                leaders[0].proc.send_signal(signal.SIGKILL)
                leaders[0].proc.wait()
                other = next(p for p in procs if p is not leaders[0])
                poll(lambda: feeds.requests()[7] == 2, "the refreshed feed fetched")
                poll(lambda: "leading publishing" in other.log_text(), "a new leader")
                poll(lambda: len(list(posts.glob("*.md"))) == 41, "the new article's post")
            assert sum(feeds.requests().values()) == 21
        finally:
            front.kill()
