"""`serve.ingest`: the scheduler in a child process of serve's (the default) or on its thread.

Through the real `newsdesk serve`: the ingest process is another process at a lower CPU
priority; what it does reaches serve's `/metrics`; a refresh and a catalogue edit reach it; one
killed is reported and started again, and goes on taking orders; SIGTERM stops it with serve.
`IngestProcess` alone: a child that cannot open the archive is reported as the reason it is not
running (what `/readyz` answers with). `ingest: thread` still ingests in one process."""

from __future__ import annotations

import os
import re
import signal
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from newsdesk.config import load_config
from newsdesk.ingester import IngestProcess, Ingests
from newsdesk.web import Metrics
from serve_helpers import ServeProcess, add_user, client, desk_config, poll, rss, stored
from server import FeedServer

ITEMS = 4
KEYS = ("金融/站点/甲", "金融/站点/乙")


@pytest.fixture
def feeds() -> Iterator[FeedServer]:
    with FeedServer() as server:
        server.route("/a.xml", rss(1, ITEMS))
        server.route("/b.xml", rss(2, ITEMS))
        yield server


def _config(tmp: Path, feeds: FeedServer, *extra: str) -> Path:
    specs = [("金融", "站点", "甲", feeds.url("/a.xml")), ("金融", "站点", "乙", feeds.url("/b.xml"))]
    return desk_config(tmp, specs, extra=extra)


def _ingest_pids(serve: ServeProcess) -> list[int]:
    """The ingest processes serve started, in order (each logs its start)."""
    return [int(p) for p in re.findall(r"event=ingest outcome=started pid=(\d+)", serve.log_text())]


def _metric(url: str, name: str) -> float:
    text = httpx.get(f"{url}/metrics", timeout=30).text
    found = re.search(rf"^{re.escape(name)} (\S+)$", text, re.MULTILINE)
    assert found, f"{name} not in /metrics:\n{text}"
    return float(found.group(1))


def test_the_ingest_process_runs_apart_reports_to_serve_and_is_started_again(
    tmp_path: Path, feeds: FeedServer
) -> None:
    config = _config(tmp_path, feeds)
    _, token = add_user(tmp_path / "archive.db", "admin", admin=True)
    serve = ServeProcess(config)
    try:
        first = poll(lambda: _ingest_pids(serve) or None, "the ingest process's start")[0]
        assert first != serve.proc.pid
        # Lower priority than serve's own process, by serve.ingest_nice (10 by default).
        own = os.getpriority(os.PRIO_PROCESS, serve.proc.pid)
        assert os.getpriority(os.PRIO_PROCESS, first) == min(own + 10, 19)
        poll(lambda: stored(tmp_path / "archive.db") == 2 * ITEMS, "both feeds stored")
        # What the ingest process did is in serve's metrics.
        poll(
            lambda: _metric(serve.url, 'newsdesk_entries_ingested_total{kind="new"}') == 2 * ITEMS,
            "the ingested entries in /metrics",
        )
        assert _metric(serve.url, 'newsdesk_fetch_duration_seconds_count{outcome="ok"}') == 2
        with client(f"{serve.url}/api/v1", token) as c:
            # A refresh reaches the scheduler: the feed is fetched again now, not in 30 minutes.
            assert c.post(f"/feeds/{KEYS[0]}/refresh").status_code == 202
            poll(lambda: feeds.hits("/a.xml") == 2, "the refreshed feed fetched again")
            # The lag of that check reached serve too (a feed's first check has none).
            poll(lambda: _metric(serve.url, "newsdesk_scheduler_lag_seconds_count") == 1, "the lag")

            os.kill(first, signal.SIGKILL)
            second = poll(lambda: _ingest_pids(serve)[1:] or None, "a new ingest process")[0]
            assert second != first
            assert _metric(serve.url, 'newsdesk_errors_total{kind="scheduler"}') == 1
            assert "ingest process ended (exit -9); starting it again" in serve.log_text()
            poll(lambda: httpx.get(f"{serve.url}/readyz").status_code == 200, "ready again")
            # The new process takes orders: a feed added through the API is checked at once,
            # and a refresh fetches again.
            body = {"group": "新增", "site": "站点", "name": "丙", "url": feeds.url("/b.xml")}
            assert c.post("/feeds", json=body).status_code == 201
            poll(lambda: feeds.hits("/b.xml") == 2, "the added feed checked")
            assert c.post(f"/feeds/{KEYS[0]}/refresh").status_code == 202
            poll(lambda: feeds.hits("/a.xml") == 3, "refreshed through the new process")

        code, _ = serve.stop(signal.SIGTERM, within=10.0)
        assert code == 0, serve.log_text()
        with pytest.raises(ProcessLookupError):
            os.kill(second, 0)
        assert "Traceback" not in serve.log_text()
    finally:
        serve.kill()


def test_an_ingest_process_that_cannot_open_the_archive_says_why(tmp_path: Path) -> None:
    (tmp_path / "archive.db").mkdir()  # a folder where the archive should be
    config = load_config(desk_config(tmp_path, []))
    metrics = Metrics()
    ingest = IngestProcess(config, Ingests(metrics, lambda: None), nice=0)
    ingest.start()
    try:
        why = poll(lambda: ingest.failure, "the failure reported")
        assert "the scheduler cannot open the archive" in why and "archive.db" in why
        assert b'newsdesk_errors_total{kind="scheduler"} 0.0' not in metrics.exposition()
    finally:
        ingest.stop()
        assert ingest.join(10.0)
    assert ingest.pid() is None


def test_ingest_on_a_thread_is_one_process(tmp_path: Path, feeds: FeedServer) -> None:
    config = _config(tmp_path, feeds, "  ingest: thread")
    _, token = add_user(tmp_path / "archive.db", "admin", admin=True)
    serve = ServeProcess(config)
    try:
        poll(lambda: stored(tmp_path / "archive.db") == 2 * ITEMS, "both feeds stored")
        with client(f"{serve.url}/api/v1", token) as c:
            assert c.post(f"/feeds/{KEYS[1]}/refresh").status_code == 202
            poll(lambda: feeds.hits("/b.xml") == 2, "the refreshed feed fetched again")
        assert _ingest_pids(serve) == []
        assert "event=fetch feed=金融/站点/甲 outcome=ok new=4" in serve.log_text()
        code, _ = serve.stop(signal.SIGTERM, within=10.0)
        assert code == 0, serve.log_text()
    finally:
        serve.kill()
