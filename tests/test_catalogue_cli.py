"""The catalogue from the command line: `run` applies the config to the archive's catalogue and
schedules every feed it fetches, `run --due`, `feeds list --json`, `feeds export`."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

from cli_helpers import feeds_yaml, run_cli
from newsdesk.config import load_config
from newsdesk.models import REMOVED_FROM_CONFIG, FeedSpec
from newsdesk.store import open_store
from server import FeedServer

RSS = (
    '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>测试源</title>'
    "<item><title>标题</title><link>https://news.example.cn/1.html</link><guid>1</guid>"
    "<description>正文</description></item></channel></rss>"
)
HEAD = ["database: archive.db", "hexo_dir: posts", "search_index: false", "publishers: []"]


def test_run_schedules_feeds_list_shows_them_and_removal_pauses(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    feeds = [
        ("金融", "新浪", "国内", feed_server.route("/a.xml", RSS)),
        ("金融", "新浪", "yes", feed_server.route("/b.xml", RSS)),
    ]
    config = tmp_path / "newsdesk.yaml"
    config.write_text(feeds_yaml(feeds, clean=False, head=HEAD), encoding="utf-8")
    first = json.loads(run_cli(config, "run", "--json").stdout)
    assert [f["outcome"] for f in first["feeds"]] == ["ok", "ok"]

    listed = json.loads(run_cli(config, "feeds", "list", "--json").stdout)
    assert [f["key"] for f in listed] == ["金融/新浪/国内", "金融/新浪/yes"]
    row = listed[0]
    for key in (
        "last_fetch",
        "last_success",
        "next_check",
        "interval",
        "reason",
        "last_error",
        "paused",
        "origin",
        "hold",
    ):
        assert key in row, key
    last_fetch, next_check = (
        datetime.fromisoformat(row["last_fetch"]),
        datetime.fromisoformat(row["next_check"]),
    )
    # One entry: its rate is not known, so the new-feed interval (30 min ± 10 %).
    assert (row["interval"], row["reason"], row["origin"], row["paused"]) == (
        1800.0,
        "new feed",
        "config",
        None,
    )
    assert 1620 <= (next_check - last_fetch).total_seconds() <= 1990
    assert row["last_error"] is None and row["consecutive_failures"] == 0
    text = run_cli(config, "feeds", "list").stdout
    assert "every 30 min: new feed" in text

    # Nothing is due yet: `run --due` fetches nothing and says all is well.
    due = run_cli(config, "run", "--due", "--json")
    assert json.loads(due.stdout)["feeds"] == [] and feed_server.hits("/a.xml") == 1

    # A feed gone from the config is paused, its entries kept; `run` leaves it alone.
    config.write_text(feeds_yaml(feeds[:1], clean=False, head=HEAD), encoding="utf-8")
    again = json.loads(run_cli(config, "run", "--json").stdout)
    assert [f["key"] for f in again["feeds"]] == ["金融/新浪/国内"]
    listed = {f["key"]: f for f in json.loads(run_cli(config, "feeds", "list", "--json").stdout)}
    assert listed["金融/新浪/yes"]["paused"] == REMOVED_FROM_CONFIG
    store = open_store(str(tmp_path / "archive.db"))
    try:
        assert len(store.list_entries(feed_key="金融/新浪/yes")) == 1
    finally:
        store.close()


def test_export_round_trips_the_catalogue(tmp_path: Path, feed_server: FeedServer) -> None:
    url = feed_server.route("/a.xml", RSS)
    config = tmp_path / "newsdesk.yaml"
    config.write_text(
        "\n".join(
            [
                *HEAD,
                "rsshub: [https://rsshub.example.org]",
                "groups:",
                "  金融:",
                "    新浪财经:",
                "      - name: '404'",
                f"        url: {url}",
                "        full_text: auto",
                "      - name: 滚动",
                "        route: /sina/roll",
                "        clean: false",
                "        enabled: false",
                "  本地:",
                "    文件:",
                "      - name: 'on'",
                "        url: feeds/local.xml",  # relative: the catalogue holds it resolved
            ]
        )
        + "\n",
        encoding="utf-8",
    )
    store = open_store(str(tmp_path / "archive.db"))
    try:
        store.add_feed(
            FeedSpec("宏观", "央行", "公告", url="https://pbc.example.cn/rss.xml"),
            datetime.now().astimezone(),
        )
    finally:
        store.close()
    exported = run_cli(config, "feeds", "export", "--format", "yaml").stdout
    copy = tmp_path / "copy" / "newsdesk.yaml"
    copy.parent.mkdir()
    copy.write_text("\n".join(HEAD) + "\n" + exported, encoding="utf-8")
    store = open_store(str(tmp_path / "archive.db"))
    try:
        catalogue = [f.spec for f in store.catalogue()]
    finally:
        store.close()
    assert len(catalogue) == 4 and catalogue[-1].group == "宏观"
    assert load_config(copy).feeds() == catalogue

    opml = run_cli(config, "feeds", "export", "--format", "opml").stdout
    assert 'xmlUrl="https://rsshub.example.org/sina/roll"' in opml and "公告" in opml
    bad = run_cli(config, "feeds", "export", "--format", "csv", check=False)
    assert bad.returncode == 1 and bad.stderr.strip() == "error: --format: expected opml or yaml, got 'csv'"
