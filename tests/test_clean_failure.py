"""A failed clean never publishes the feed's raw HTML: end to end through `run`, `build`,
`entries show` and `reclean`, with the real CLI, a real HTTP server and a real SQLite file."""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

import pytest

from cli_helpers import run_cli
from newsdesk.clean import FALLBACK, CleanError, clean_article, fallback_article
from server import FeedServer

URL = "https://news.example.cn/a.html"
# Items the cleaner refuses ("no article body found": they look like pages, too short to
# hold an article), each carrying script, a refresh to another site and event handlers.
HOSTILE = {
    "refresh": (
        '<head><meta http-equiv="refresh" content="0;url=https://evil.example/"><script>alert(1)</script>'
        "</head><p>央行今日开展逆回购操作。</p><p>第二段文字。</p>"
    ),
    "handlers": (
        '<body onload="alert(2)"><p>央行今日开展逆回购操作。</p><img src="https://img.example.cn/a.jpg"'
        ' onerror="alert(3)"><p>第二段<a href="javascript:alert(4)">文字</a>。</p>'
    ),
}
BAD = ("<script", "alert(", "http-equiv", "evil.example", "onload", "onerror", "javascript:")


def _rss(items: dict[str, str], title: str = "测试源") -> str:
    body = "".join(
        f"<item><title>条目{g}</title><link>https://news.example.cn/{g}.html</link><guid>{g}</guid>"
        f"<pubDate>Mon, 20 Dec 2021 15:00:52 GMT</pubDate><description><![CDATA[{c}]]></description></item>"
        for g, c in items.items()
    )
    return f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>{title}</title>{body}</channel></rss>'


def _config(tmp: Path, url: str, *, clean: bool = True) -> Path:
    path = tmp / "newsdesk.yaml"
    path.write_text(
        "database: archive.db\nhexo_dir: posts\nsite_dir: site\nfetch:\n  timeout: 5\n  retries: 0\n"
        f"groups:\n  金融:\n    测试站:\n      - name: 测试源\n        url: {url}\n"
        f"        clean: {str(clean).lower()}\n",
        encoding="utf-8",
    )
    return path


def _site_text(path: Path) -> str:
    """A site file without the site's own search script (the one script a page may have)."""
    return re.sub(r'<script src="[^"]*search\.js"[^>]*></script>', "", path.read_text("utf-8"))


def _assert_safe(text: str, where: str) -> None:
    for bad in BAD:
        assert bad not in text, f"{bad!r} in {where}"


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_fallback_is_the_sanitised_item(name: str) -> None:
    with pytest.raises(CleanError, match="no article body"):
        clean_article(HOSTILE[name], url=URL)
    art = fallback_article(HOSTILE[name], url=URL)
    _assert_safe(art.html, "fallback html")
    assert art.profile == FALLBACK and art.source is None and art.keywords == ()
    assert art.text.split("\n")[0] == "央行今日开展逆回购操作。" and "第二段" in art.text
    assert art.summary.startswith("央行今日开展逆回购操作。")


def test_fallback_of_refused_input_is_empty() -> None:
    garbage = bytes(range(256)).decode("latin-1") * 40
    assert fallback_article(garbage, url=URL).html == ""
    assert fallback_article("", url=URL).text == ""


def test_failed_clean_publishes_only_sanitised_html(tmp_path: Path, feed_server: FeedServer) -> None:
    feed_server.route("/feed.xml", _rss(HOSTILE), content_type="application/rss+xml")
    config = _config(tmp_path, feed_server.url("/feed.xml"))
    run_cli(config, "run")
    run_cli(config, "build")
    posts = sorted((tmp_path / "posts").glob("*.md"))
    assert len(posts) == 2
    for post in posts:
        text = post.read_text("utf-8")
        _assert_safe(text, post.name)
        assert "央行今日开展逆回购操作。" in text and "第二段" in text
    site_files = [p for p in (tmp_path / "site").rglob("*") if p.suffix in (".html", ".xml", ".json")]
    pages = [p for p in site_files if "条目refresh" in p.read_text("utf-8")]
    assert pages, "the entry is on no site page"
    for path in site_files:
        _assert_safe(_site_text(path), str(path.relative_to(tmp_path)))
    entries = json.loads(run_cli(config, "entries", "list", "--json").stdout)
    for item in entries:
        shown = json.loads(run_cli(config, "entries", "show", item["id"], "--json").stdout)
        assert shown["clean_error"] == "clean: no article body found in the page"
        assert shown["profile"] == FALLBACK and "第二段" in shown["text"]
        _assert_safe(shown["html"], "entries show html")
        assert shown["content"] in HOSTILE.values()  # the raw item is kept (for reclean)
    plain = run_cli(config, "entries", "show", entries[0]["id"]).stdout
    assert "clean error: clean: no article body found in the page" in plain


def test_entries_stored_without_fallback_are_never_shown_raw(tmp_path: Path, feed_server: FeedServer) -> None:
    """Archives written before fallbacks existed hold a clean error and no article: the Hexo post
    is sanitised when rendered, and `reclean` stores the fallback."""
    feed_server.route("/feed.xml", _rss({"refresh": HOSTILE["refresh"]}), content_type="application/rss+xml")
    config = _config(tmp_path, feed_server.url("/feed.xml"))
    run_cli(config, "run")
    with sqlite3.connect(tmp_path / "archive.db") as db:
        db.execute("DELETE FROM articles")
        db.execute("DELETE FROM publish_marks")
    (post,) = (tmp_path / "posts").glob("*.md")
    post.unlink()
    run_cli(config, "publish", "hexo")
    text = post.read_text("utf-8")
    _assert_safe(text, "post of a stored failure")
    assert "<p>央行今日开展逆回购操作。</p>" in text
    report = json.loads(run_cli(config, "reclean", "--json").stdout)
    assert report == {"cleaned": 0, "failed": 1, "skipped": 0}
    (item,) = json.loads(run_cli(config, "entries", "list", "--json").stdout)
    shown = json.loads(run_cli(config, "entries", "show", item["id"], "--json").stdout)
    assert shown["profile"] == FALLBACK and shown["clean_error"].startswith("clean: no article body")


def test_clean_false_posts_stay_the_feeds_html(tmp_path: Path, feed_server: FeedServer) -> None:
    feed_server.route("/feed.xml", _rss({"refresh": HOSTILE["refresh"]}), content_type="application/rss+xml")
    config = _config(tmp_path, feed_server.url("/feed.xml"), clean=False)
    run_cli(config, "run")
    (post,) = (tmp_path / "posts").glob("*.md")
    assert post.read_text("utf-8").endswith(HOSTILE["refresh"] + "\n")  # as documented: byte for byte
    run_cli(config, "build")
    for path in (tmp_path / "site").rglob("*.html"):
        _assert_safe(_site_text(path), str(path))
