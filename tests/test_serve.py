"""`newsdesk serve` end to end, as one real process over feeds from the local feed server:
16 API clients reading and marking while the scheduler ingests 200 feeds; SIGTERM in the
middle of an ingest, then a restart (nothing lost, nothing doubled, nothing fetched again
before it is due); the publish child writing the site and the Hexo posts, and a failing
publisher that does not stop fetching."""

from __future__ import annotations

import random
import re
import shutil
import signal
import threading
from collections.abc import Iterator
from multiprocessing.queues import Queue
from pathlib import Path

import httpx
import pytest

from newsdesk.config import Config
from newsdesk.models import entry_uid
from newsdesk.serve import PublishResult
from newsdesk.store import open_store
from serve_helpers import ServeProcess, add_user, client, desk_config, poll, rss
from serve_helpers import stored as _count
from server import FeedServer, Reply

FEEDS = 200


@pytest.fixture
def feeds() -> Iterator[FeedServer]:
    with FeedServer() as server:
        yield server


def _config(tmp: Path, server: FeedServer, items: int, *, delay: float = 0.0, **kwargs: object) -> Path:
    for n in range(FEEDS):
        server.route(f"/f{n}.xml", Reply(rss(n, items), delay=delay))
    specs = [(f"组{n % 4}", f"站{n % 10}", f"源{n}", server.url(f"/f{n}.xml")) for n in range(FEEDS)]
    return desk_config(tmp, specs, **kwargs)  # type: ignore[arg-type]


def test_sixteen_clients_read_and_mark_while_200_feeds_are_ingested(
    tmp_path: Path, feeds: FeedServer
) -> None:
    items = 5
    config = _config(tmp_path, feeds, items, delay=0.05)
    tokens = [add_user(tmp_path / "archive.db", f"reader{i}", admin=False)[1] for i in range(16)]
    seed = random.SystemRandom().randrange(1 << 32)
    serve = ServeProcess(config)
    errors: list[str] = []
    marked: list[set[str]] = [set() for _ in tokens]
    starred: list[set[str]] = [set() for _ in tokens]
    ingested = threading.Event()

    def reader(i: int) -> None:
        rng = random.Random(seed + i)
        rounds = 0
        with client(f"{serve.url}/api/v1", tokens[i]) as c:
            while not ingested.is_set() or rounds < 5:
                rounds += 1
                try:
                    page = c.get("/entries", params={"status": "unread", "limit": 20})
                    if page.status_code != 200:
                        errors.append(f"reader{i} list: {page.status_code} {page.text}")
                        continue
                    entries = page.json()["entries"]
                    if not entries:
                        continue
                    one = rng.choice(entries)["id"]
                    star = rng.random() < 0.3
                    r = c.patch(f"/entries/{one}", json={"read": True, "starred": star or None})
                    if r.status_code != 200 or not r.json()["read"]:
                        errors.append(f"reader{i} patch: {r.status_code} {r.text}")
                    marked[i].add(one)
                    if star:
                        starred[i].add(one)
                    several = [e["id"] for e in rng.sample(entries, min(3, len(entries)))]
                    r = c.post("/entries/mark-read", json={"ids": several})
                    if r.status_code != 200:
                        errors.append(f"reader{i} mark-read: {r.status_code} {r.text}")
                    marked[i].update(several)
                    if rng.random() < 0.2:
                        for path in ("/tree", "/feeds", "/me"):
                            if c.get(path).status_code != 200:
                                errors.append(f"reader{i} {path}")
                except httpx.HTTPError as e:
                    errors.append(f"reader{i}: {type(e).__name__}: {e}")

    try:
        serve.wait_healthy()
        threads = [threading.Thread(target=reader, args=(i,)) for i in range(16)]
        for t in threads:
            t.start()
        poll(lambda: _count(tmp_path / "archive.db") == FEEDS * items, "200 feeds ingested")
        ingested.set()
        for t in threads:
            t.join(120)
        assert not errors, f"seed {seed}: {errors[:5]}"
        # Nothing lost: each reader's read (and starred) entries are exactly those it marked.
        for i, token in enumerate(tokens):
            with client(f"{serve.url}/api/v1", token) as c:
                read = _all_ids(c, status="read")
                assert read == marked[i], f"seed {seed}: reader{i}"
                assert _all_ids(c, status="all", starred="true") == starred[i], f"seed {seed}: reader{i}"
        code, _ = serve.stop()
        assert code == 0, serve.log_text()
        log = serve.log_text()
        assert "Traceback" not in log, log
        # One structured line per fetch.
        assert len(re.findall(r"event=fetch feed=\S+ outcome=ok new=5 ", log)) == FEEDS, log[-2000:]
    finally:
        ingested.set()
        serve.kill()


def _all_ids(c: httpx.Client, **params: str) -> set[str]:
    out: set[str] = set()
    cursor = None
    while True:
        query = {**params, "limit": "500", **({"cursor": cursor} if cursor else {})}
        page = c.get("/entries", params=query).json()
        out.update(e["id"] for e in page["entries"])
        cursor = page["next"]
        if cursor is None:
            return out


def test_sigterm_mid_ingest_then_restart_loses_and_doubles_nothing(tmp_path: Path, feeds: FeedServer) -> None:
    items = 3
    # Slow answers (8 at a time per host): the ingest takes seconds, so the stop lands in it.
    config = _config(tmp_path, feeds, items, delay=0.12)
    database = tmp_path / "archive.db"
    serve = ServeProcess(config)
    try:
        poll(lambda: _count(database) >= 20 * items, "some feeds stored", deadline=60)
        code, _ = serve.stop(signal.SIGTERM, within=10.0)
        assert code == 0, serve.log_text()
        assert "Traceback" not in serve.log_text()
    finally:
        serve.kill()
    stored = _per_feed(database)
    assert 0 < len(stored) < FEEDS, "the stop was meant to land mid-ingest"
    # Nothing half-stored: a feed is there with all its items or not at all.
    assert set(stored.values()) == {items}, stored
    hits_before = {n: feeds.hits(f"/f{n}.xml") for n in range(FEEDS)}

    again = ServeProcess(config)
    try:
        poll(lambda: _count(database) == FEEDS * items, "the rest after the restart")
        code, _ = again.stop()
        assert code == 0, again.log_text()
    finally:
        again.kill()
    after = _per_feed(database)
    assert after == {f"组{n % 4}/站{n % 10}/源{n}": items for n in range(FEEDS)}
    store = open_store(str(database))
    try:
        entries = store.list_entries()
    finally:
        store.close()
    assert len(entries) == len({e.uid for e in entries}) == FEEDS * items
    assert {e.uid for e in entries} == {
        entry_uid(f"组{n % 4}/站{n % 10}/源{n}", f"f{n}-n{i}") for n in range(FEEDS) for i in range(items)
    }
    # The restart resumed: feeds stored before the stop were not due, so not fetched again.
    for key in stored:
        n = int(key.rsplit("源", 1)[1])
        assert feeds.hits(f"/f{n}.xml") == hits_before[n] == 1, key


def _per_feed(database: Path) -> dict[str, int]:
    store = open_store(str(database))
    try:
        counts: dict[str, int] = {}
        for e in store.list_entries():
            counts[e.feed_key] = counts.get(e.feed_key, 0) + 1
        return counts
    finally:
        store.close()


def test_publisher_child_writes_the_site_and_posts_and_a_failing_one_stops_nothing(
    tmp_path: Path, feeds: FeedServer
) -> None:
    feeds.route("/a.xml", rss(1, 6))
    feeds.route("/b.xml", rss(2, 4))
    config = desk_config(
        tmp_path,
        [("金融", "站点", "甲", feeds.url("/a.xml")), ("金融", "站点", "乙", feeds.url("/b.xml"))],
        publishers=("hexo", "site"),
        debounce=0.5,
    )
    _, admin = add_user(tmp_path / "archive.db", "admin", admin=True)
    posts, site = tmp_path / "posts", tmp_path / "site"
    serve = ServeProcess(config)
    try:
        serve.wait_healthy()
        poll(lambda: posts.is_dir() and len(list(posts.glob("*.md"))) == 10, "10 Hexo posts")
        poll(
            lambda: (
                (site / "index.html").is_file() and "第2源第3条" in (site / "index.html").read_text("utf-8")
            ),
            "the site",
        )
        # Hexo's folder becomes a file: every later Hexo run fails, the site still publishes
        # and feeds are still fetched.
        shutil.rmtree(posts)
        posts.write_text("not a folder", encoding="utf-8")
        feeds.route("/a.xml", rss(1, 3, start=6))
        with client(f"{serve.url}/api/v1", admin) as c:
            assert c.post("/feeds/金融/站点/甲/refresh").status_code == 202
            poll(
                lambda: len(c.get("/entries", params={"feed": "金融/站点/甲"}).json()["entries"]) == 9,
                "new items",
            )
        poll(lambda: "第1源第8条" in (site / "index.html").read_text("utf-8"), "the site with the new items")
        poll(lambda: "step=hexo outcome=failed" in serve.log_text(), "the Hexo failure logged")
        metrics = httpx.get(f"{serve.url}/metrics").text
        assert re.search(
            r'newsdesk_publish_duration_seconds_count\{outcome="failed",publisher="hexo"\} [1-9]', metrics
        )
        assert re.search(
            r'newsdesk_publish_duration_seconds_count\{outcome="ok",publisher="site"\} [1-9]', metrics
        )
        assert httpx.get(f"{serve.url}/readyz").status_code == 200
        code, _ = serve.stop()
        assert code == 0
        assert "Traceback" not in serve.log_text()
    finally:
        serve.kill()


def test_a_taken_port_is_one_line_and_exit_1(tmp_path: Path, feeds: FeedServer) -> None:
    import socket

    from cli_helpers import run_cli

    config = desk_config(tmp_path, [])
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = run_cli(config, "serve", "--port", str(port), check=False, timeout=60)
    assert proc.returncode == 1
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert lines == [f"error: cannot listen on 127.0.0.1:{port}: address already in use"], proc.stderr


def _slow_publish(config: Config, results: Queue[PublishResult]) -> None:
    """A publish run for the loop test (in the child): notes its start and end in a file
    beside the archive, and lasts until the test creates `release` (so the test's requests
    land during the run however slow the machine)."""
    import os
    import time

    marks = config.path("runs.txt")
    with marks.open("a", encoding="utf-8") as f:
        f.write(f"start {os.getpid()} {time.monotonic()}\n")
    (config.path("started")).touch()
    deadline = time.monotonic() + 60
    while not config.path("release").exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    with marks.open("a", encoding="utf-8") as f:
        f.write(f"end {os.getpid()} {time.monotonic()}\n")
    results.put(("slow", 0.0, None))


def test_publish_runs_one_at_a_time_and_once_more_after_requests_during_a_run(tmp_path: Path) -> None:
    from newsdesk.serve import PublishLoop
    from newsdesk.web import Metrics

    config = Config(base_dir=tmp_path)
    runs = tmp_path / "runs.txt"
    loop = PublishLoop(config, Metrics(), debounce=0.0, target=_slow_publish)
    loop.start()
    try:
        loop.request()
        poll(lambda: (tmp_path / "started").exists(), "the first run")
        for _ in range(5):  # during the first run: one more run, not five
            loop.request()
        (tmp_path / "release").touch()  # the first run ends; the second, when it comes, at once
        poll(lambda: loop.runs == 2, "the second run")
        lines = [line.split() for line in runs.read_text(encoding="utf-8").splitlines()]
        assert [kind for kind, _, _ in lines] == ["start", "end", "start", "end"], lines
        assert lines[0][1] == lines[1][1] != lines[2][1] == lines[3][1]  # two processes, in turn
        assert float(lines[2][2]) >= float(lines[1][2])  # the second began after the first ended
    finally:
        loop.stop()
        loop.join(10)
    assert loop.runs == 2


def test_serve_reads_the_archive_through_a_memory_map_only_when_configured(tmp_path: Path) -> None:
    from newsdesk.config import load_config
    from newsdesk.web import create_app

    for extra, expected in (((), 0), (("  sqlite_mmap_mb: 16",), 16 << 20)):
        folder = tmp_path / str(expected)
        folder.mkdir()
        config = load_config(desk_config(folder, [], extra=extra), env={})
        app = create_app(config)
        store = app.state.desk.store()
        try:
            assert store._db.execute("PRAGMA mmap_size").fetchone()[0] == expected
            assert store.max_rev() == 0  # and it reads
        finally:
            store.close()
