"""`newsdesk run` and the search stage: the index process follows the store while feeds are
fetched and ends in step with it. Real HTTP server, real SQLite, real tantivy, real processes."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path

from newsdesk.config import load_config
from newsdesk.pipeline import FOLLOW_FROM, run
from newsdesk.publish.site import SitePublisher
from newsdesk.search import SIDECAR, index_path, open_index
from newsdesk.store import open_store
from server import FeedServer, Reply

WAIT = 30.0  # seconds the slow feed waits for the index process before giving up


def rss(prefix: str, n: int) -> str:
    items = "".join(
        f"<item><title>{prefix}第{i}号公告：央行开展逆回购操作</title>"
        f"<link>https://news.example.cn/{prefix}/{i}.html</link><guid>{prefix}-{i}</guid>"
        "<pubDate>Mon, 20 Dec 2021 15:00:52 GMT</pubDate>"
        f"<description><![CDATA[<p>{prefix}编号{i}：人民银行当日开展{i}亿元7天期逆回购操作，"
        "中标利率维持不变，公开市场实现净投放。</p>]]></description></item>"
        for i in range(n)
    )
    return f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>{prefix}</title>{items}</channel></rss>'


def write_config(tmp: Path, urls: list[str]) -> Path:
    lines = [
        "database: archive.db",
        "hexo_dir: posts",
        "fetch:",
        "  timeout: 60",
        "groups:",
        "  金融:",
        "    测试站:",
    ]
    for n, url in enumerate(urls):
        lines += [f"      - name: 源{n}", f"        url: {url}", "        clean: false"]
    path = tmp / "newsdesk.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_index_process_follows_the_store_while_feeds_are_fetched(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    first = FOLLOW_FROM + 200  # enough for the run to give indexing its own process
    feed_server.route("/first.xml", rss("甲", first))
    db = tmp_path / "archive.db"
    seen: list[int] = []

    async def slow(_request: object) -> Reply:
        # Answered only once the index process has clustered the first feed's entries: it
        # must be working on the store while this feed is still being fetched.
        mark = 0
        for _ in range(int(WAIT / 0.1)):
            with sqlite3.connect(db) as con:
                mark = con.execute("SELECT rev FROM cluster_state").fetchone()[0]
            if mark >= first:
                break
            await asyncio.sleep(0.1)
        seen.append(mark)
        return Reply(rss("乙", 30))

    feed_server.route("/second.xml", slow)
    config = load_config(
        write_config(tmp_path, [feed_server.url("/first.xml"), feed_server.url("/second.xml")])
    )
    store = open_store(config.database_url)
    try:
        report = run(config, store)
        assert [f.outcome for f in report.feeds] == ["ok", "ok"]
        assert seen == [first]  # clustered up to the first feed's last change, mid-fetch
        assert report.publish_errors == []
        # In step with the store at the end: the index took in every change exactly once.
        head = store.max_rev()
        assert head == first + 30 == report.indexed == store.count_entries()
        assert store.cluster_mark() == head
        sidecar = json.loads((index_path(config) / SIDECAR).read_text(encoding="utf-8"))
        assert sidecar["rev"] == head
        index = open_index(config, store=store)
        assert index.doc_count() == head
        assert [h.title for h in index.search("乙第7号公告")] == ["乙第7号公告：央行开展逆回购操作"]
        index.close()
        # Nothing new: no process, nothing indexed, still in step.
        feed_server.route("/second.xml", rss("乙", 30))
        again = run(config, store)
        assert again.indexed == 0 and again.publish_errors == []
        assert store.cluster_mark() == store.max_rev() == head
    finally:
        store.close()


def test_an_index_process_error_is_reported_and_the_run_goes_on(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    feed_server.route("/first.xml", rss("甲", FOLLOW_FROM + 10))
    config = load_config(write_config(tmp_path, [feed_server.url("/first.xml")]))
    store = open_store(config.database_url)
    index = open_index(config, store=store)
    try:
        with index.writer():  # someone else is writing the index: the index process cannot
            report = run(config, store)
        assert [f.outcome for f in report.feeds] == ["ok"]
        assert report.published[0].written == FOLLOW_FROM + 10  # Hexo posts written regardless
        assert len(report.publish_errors) == 1
        assert report.publish_errors[0].startswith("search index: ")
        assert "another process" in report.publish_errors[0]
        assert report.exit_code == 4
        # The next run catches up.
        again = run(config, store)
        assert again.publish_errors == [] and store.cluster_mark() == store.max_rev()
        assert index.applied_rev() == store.max_rev()
    finally:
        index.close()
        store.close()


def test_the_site_waits_for_the_index_process(tmp_path: Path, feed_server: FeedServer) -> None:
    """With the site among the publishers, the run builds it only after the index process has
    finished: every page is built from the final clusters (a rebuild right after writes
    nothing) and no page of the site is older than the index's last commit."""
    n = FOLLOW_FROM + 100
    feed_server.route("/first.xml", rss("甲", n))
    feed_server.route("/second.xml", rss("乙", 40))  # copies of the same notices: clusters
    path = write_config(tmp_path, [feed_server.url("/first.xml"), feed_server.url("/second.xml")])
    path.write_text(path.read_text("utf-8").replace("hexo_dir: posts\n", "site_dir: site\n"), "utf-8")
    config = load_config(path)
    store = open_store(config.database_url)
    try:
        report = run(config, store, publishers=("site",))
        assert report.publish_errors == [] and report.indexed == n + 40
        assert store.cluster_mark() == store.max_rev()
        committed = (index_path(config) / SIDECAR).stat().st_mtime
        site = tmp_path / "site"
        pages = [p for p in site.rglob("*.html")]
        assert len(pages) > n
        assert min(p.stat().st_mtime for p in pages) >= committed
        clustered = [p for p in (site / "a").rglob("*.html") if "其他媒体报道" in p.read_text("utf-8")]
        assert clustered, "no article page shows its story's other outlets"
        assert SitePublisher().publish(store, config).written == 0
    finally:
        store.close()
