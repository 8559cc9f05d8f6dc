"""Waiting inside a run, end to end: the real CLI, a real SQLite archive and real local servers.

A server asking to wait (429/503 with Retry-After) puts its host on hold in the archive; the
run neither sleeps for it nor asks it again until then, in this run or later ones.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cli_helpers import feeds_yaml, run_cli
from newsdesk.store import Store, open_store
from server import FeedServer, Reply

RSS = (
    '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>测试源</title>'
    "<item><title>标题</title><link>https://news.example.cn/1.html</link><guid>1</guid>"
    "<description>正文</description></item></channel></rss>"
)
FETCH = ["database: archive.db", "hexo_dir: posts", "search_index: false", "fetch:", "  backoff: 0.01"]


def write_config(tmp: Path, feeds: list[tuple[str, str, str, str]], *head: str) -> Path:
    path = tmp / "newsdesk.yaml"
    path.write_text(feeds_yaml(feeds, clean=False, head=[*FETCH, *head]), encoding="utf-8")
    return path


def run(config: Path) -> tuple[int, dict[str, dict[str, Any]]]:
    proc = run_cli(config, "run", "--json", check=False, timeout=60)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc.returncode, {f["key"]: f for f in json.loads(proc.stdout)["feeds"]}


def archive(tmp: Path) -> Store:
    return open_store(str(tmp / "archive.db"))


def host(server: FeedServer) -> str:
    return f"127.0.0.1:{server.port}"


def test_a_host_that_asks_to_wait_is_skipped_until_then(tmp_path: Path, feed_server: FeedServer) -> None:
    busy = feed_server.route("/busy.xml", Reply("slow down", 429, {"Retry-After": "3600"}))
    queued = feed_server.route("/queued.xml", RSS)
    with FeedServer() as other:
        fine = other.route("/feed.xml", RSS)
        # One connection per host: `queued` waits behind `busy` and must not go out after the 429.
        config = write_config(
            tmp_path,
            [("g", "busy", "feed", busy), ("g", "busy", "queued", queued), ("g", "other", "feed", fine)],
            "  per_host: 1",
            "  retries: 3",
        )
        before = datetime.now(UTC)
        code, feeds = run(config)
        # The feed that got the 429 failed (exit 3) at once, without the three retries.
        assert code == 3
        assert feeds["g/busy/feed"]["outcome"] == "failed"
        error = feeds["g/busy/feed"]["error"]
        assert error.startswith(f"HTTP 429 Too Many Requests; {host(feed_server)} asked to wait until ")
        assert feeds["g/busy/queued"]["outcome"] == "deferred"
        assert feeds["g/busy/queued"]["error"].endswith("(HTTP 429 Too Many Requests)")
        assert (feeds["g/other/feed"]["outcome"], feeds["g/other/feed"]["new"]) == ("ok", 1)
        assert [r.path for r in feed_server.requests] == ["/busy.xml"]

        store = archive(tmp_path)
        try:
            holds = store.host_holds(datetime.now(UTC))
        finally:
            store.close()
        until, reason = holds[host(feed_server)]
        assert reason == "HTTP 429 Too Many Requests"
        assert before + timedelta(seconds=3599) <= until <= datetime.now(UTC) + timedelta(seconds=3601)
        assert until.strftime("%Y-%m-%dT%H:%M:%SZ") in error

        # `feeds list` shows the hold on both feeds of that host, and when they may go again.
        listed = {
            f"{f['site']}/{f['name']}": f
            for f in json.loads(run_cli(config, "feeds", "list", "--json").stdout)
        }
        for key in ("busy/feed", "busy/queued"):
            assert listed[key]["hold"] == {
                "host": host(feed_server),
                "until": until.isoformat(),
                "reason": "HTTP 429 Too Many Requests",
            }
        assert listed["other/feed"]["hold"] is None
        text = run_cli(config, "feeds", "list").stdout
        assert (
            text.count(f"⏸ next allowed {until:%Y-%m-%dT%H:%M:%SZ}: {host(feed_server)} asked to wait") == 2
        )

        # A second run asks nothing of the held host, reports its feeds deferred and succeeds.
        code, feeds = run(config)
        assert code == 0, feeds
        assert [feeds[k]["outcome"] for k in ("g/busy/feed", "g/busy/queued", "g/other/feed")] == [
            "deferred",
            "deferred",
            "ok",
        ]
        assert len(feed_server.requests) == 1 and other.hits("/feed.xml") == 2

        # Once the hold has passed (set in the past here), the host is asked again.
        store = archive(tmp_path)
        try:
            store.hold_host(host(feed_server), datetime.now(UTC) - timedelta(seconds=1), reason)
        finally:
            store.close()
        feed_server.route("/busy.xml", RSS)
        code, feeds = run(config)
        assert code == 0, feeds
        assert feeds["g/busy/feed"]["outcome"] == feeds["g/busy/queued"]["outcome"] == "ok"
        assert feed_server.hits("/busy.xml") == 2 and feed_server.hits("/queued.xml") == 1
        assert json.loads(run_cli(config, "feeds", "list", "--json").stdout)[0]["hold"] is None


def test_rsshub_route_fails_over_from_a_held_instance(tmp_path: Path, feed_server: FeedServer) -> None:
    with FeedServer() as second:
        second.route("/sina/finance", RSS)
        config = tmp_path / "newsdesk.yaml"
        config.write_text(
            "\n".join(
                [
                    *FETCH,
                    f"rsshub: [{feed_server.url()}, {second.url()}]",
                    "groups:",
                    "  g:",
                    "    sina:",
                    "      - name: finance",
                    "        route: /sina/finance",
                ]
            )
            + "\n",
            encoding="utf-8",
        )
        store = archive(tmp_path)
        try:
            store.hold_host(
                host(feed_server), datetime.now(UTC) + timedelta(hours=1), "HTTP 503 Service Unavailable"
            )
        finally:
            store.close()
        code, feeds = run(config)
        assert (code, feeds["g/sina/finance"]["outcome"]) == (0, "ok")
        assert feed_server.requests == [] and second.hits("/sina/finance") == 1
        # One instance is free, so the route is not held.
        assert json.loads(run_cli(config, "feeds", "list", "--json").stdout)[0]["hold"] is None


def test_stalled_and_gzip_garbage_feeds_fail_quickly_and_clearly(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    stalled = feed_server.stall("/stalled.xml", RSS, seconds=60)
    garbage = feed_server.route(
        "/garbage.xml", Reply(b"<rss>plain</rss>", headers={"Content-Encoding": "gzip"})
    )
    fine = feed_server.route("/feed.xml", RSS)
    config = write_config(
        tmp_path,
        [("g", "s", "stalled", stalled), ("g", "s", "garbage", garbage), ("g", "s", "fine", fine)],
        "  retries: 2",
        "  read_timeout: 0.2",
        "  deadline: 30",
    )
    proc = run_cli(config, "run", check=False, timeout=60)
    assert proc.returncode == 3 and "Traceback" not in proc.stderr, proc.stderr
    # The summary table names each feed beside its reason.
    assert "g/s/garbage" in proc.stdout and "not valid gzip data" in proc.stdout
    store = archive(tmp_path)
    try:
        states = store.feed_states()
    finally:
        store.close()
    assert states["g/s/stalled"].last_error == (
        "server stalled: no data for 0.2 s after the response headers (3 attempts)"
    )
    assert states["g/s/garbage"].last_error == (
        "the body is not valid gzip data although the server declared Content-Encoding: gzip"
    )
    assert states["g/s/fine"].last_error is None and states["g/s/fine"].last_success is not None
    assert (feed_server.hits("/stalled.xml"), feed_server.hits("/garbage.xml")) == (3, 1)
