"""End to end: the real CLI against a real HTTP server on 127.0.0.1, a real SQLite file and
real Hexo post files. Faults are served by the server; every feed's result is checked."""

from __future__ import annotations

import contextlib
import gc
import json
import re
import socket
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from cli_helpers import run_cli
from newsdesk.config import load_config
from newsdesk.store import SQLiteStore
from server import FeedServer, Reply

SHARED = Path(__file__).resolve().parents[2] / "shared" / "reference"
REFERENCE_POST = SHARED / "000_64ad9eb2d24c9098.txt"
SEED = SHARED / "seed-feed.xml"

needs_shared = pytest.mark.skipif(not SEED.exists(), reason="../shared/reference is not beside the clone")


def newsdesk(config: Path, *args: str, check: bool = False) -> subprocess.CompletedProcess[str]:
    return run_cli(config, *args, check=check, timeout=120)


def write_config(
    tmp: Path, feeds: list[tuple[str, str, str, str]], extra: str = "", clean: bool = False, retries: int = 1
) -> Path:
    groups: dict[str, dict[str, list[tuple[str, str]]]] = {}
    for g, s, n, url in feeds:
        groups.setdefault(g, {}).setdefault(s, []).append((n, url))
    lines = [
        "database: archive.db",
        "hexo_dir: posts",
        "fetch:",
        "  timeout: 2",
        f"  retries: {retries}",
        "  backoff: 0.01",
        "  max_bytes: 200000",
        extra,
        "groups:",
    ]
    for g, sites in groups.items():
        lines.append(f"  {g}:")
        for s, items in sites.items():
            lines.append(f"    {s}:")
            for n, url in items:
                lines += [f"      - name: {n}", f"        url: {url}", f"        clean: {str(clean).lower()}"]
    path = tmp / "newsdesk.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def rss(items: list[tuple[str, str, str]], title: str = "测试源") -> str:
    body = "".join(
        f"<item><title><![CDATA[{t}]]></title><link>https://news.example.cn/{g}.html</link>"
        f"<guid>{g}</guid><pubDate>Mon, 20 Dec 2021 15:00:52 GMT</pubDate>"
        f"<description><![CDATA[{c}]]></description></item>"
        for g, t, c in items
    )
    return f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>{title}</title>{body}</channel></rss>'


def front_matter(text: str) -> str:
    start = text.index("---")
    end = text.index("\n---\n", start + 3) + len("\n---")
    return text[start:end]


def entry_count(tmp: Path) -> int:
    with sqlite3.connect(tmp / "archive.db") as con:
        return int(con.execute("SELECT COUNT(*) FROM entries").fetchone()[0])


@needs_shared
def test_reference_post_byte_for_byte(tmp_path: Path, feed_server: FeedServer) -> None:
    feed_server.conditional("/sina/finance/china", SEED.read_bytes(), etag='"seed"')
    config = write_config(
        tmp_path, [("金融", "新浪财经", "新浪财经－国內", feed_server.url("/sina/finance/china"))]
    )
    proc = newsdesk(config, "run", check=True)
    assert "1 new" in proc.stdout
    posts = list((tmp_path / "posts").glob("*.md"))
    assert len(posts) == 1
    written = posts[0].read_text(encoding="utf-8")
    reference = REFERENCE_POST.read_text(encoding="utf-8")
    assert front_matter(written) == front_matter(reference)
    ref_body = reference[reference.index("\n---\n", 4) + 5 :]
    assert ref_body.strip() in written
    # The body is the item's HTML exactly as served (clean: false).
    cdata = re.search(
        r"<item>.*?<description><!\[CDATA\[(.*?)\]\]></description>", SEED.read_text("utf-8"), re.S
    )
    assert cdata is not None and written.endswith(cdata.group(1) + "\n")


def test_rerun_adds_nothing_and_changes_update_in_place(tmp_path: Path, feed_server: FeedServer) -> None:
    v1 = rss([("a1", "央行开展逆回购操作", "<p>第一版</p>"), ("a2", "统计局发布数据", "<p>正文</p>")])
    feed_server.conditional("/feed.xml", v1, etag='"v1"')
    config = write_config(tmp_path, [("金融", "测试站", "测试源", feed_server.url("/feed.xml"))])
    first = newsdesk(config, "run", "--json", check=True)
    assert json.loads(first.stdout)["totals"]["new"] == 2
    # The search index caught up during the run (in a second process, beside the Hexo posts).
    assert json.loads(first.stdout)["indexed"] == 2
    hits = json.loads(newsdesk(config, "search", "逆回购", "--json", check=True).stdout)
    assert [h["title"] for h in hits] == ["央行开展逆回购操作"]
    posts = sorted((tmp_path / "posts").glob("*.md"))
    mtimes = [p.stat().st_mtime_ns for p in posts]
    inodes = [p.stat().st_ino for p in posts]

    second = newsdesk(config, "run", "--json", check=True)
    report = json.loads(second.stdout)
    assert report["indexed"] == 0
    assert report["feeds"][0]["outcome"] == "not_modified"
    assert feed_server.requests[-1].headers.get("If-None-Match") == '"v1"'
    assert [p.stat().st_mtime_ns for p in posts] == mtimes
    assert entry_count(tmp_path) == 2

    v2 = rss([("a1", "央行开展逆回购操作（更新）", "<p>第二版</p>"), ("a2", "统计局发布数据", "<p>正文</p>")])
    feed_server.conditional("/feed.xml", v2, etag='"v2"')
    third = json.loads(newsdesk(config, "run", "--json", check=True).stdout)
    assert third["totals"] == {
        "feeds": 1,
        "failed": 0,
        "deferred": 0,
        "new": 0,
        "updated": 1,
        "unchanged": 1,
        "skipped": 0,
    }
    assert entry_count(tmp_path) == 2
    assert sorted((tmp_path / "posts").glob("*.md")) == posts
    texts = [p.read_text("utf-8") for p in posts]
    assert sum("第二版" in t and "（更新）" in t for t in texts) == 1
    # Exactly one post was rewritten (atomically: a new inode); the other was left alone.
    assert sum(p.stat().st_ino != ino for p, ino in zip(posts, inodes, strict=True)) == 1


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


BOMB = """<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<rss version="2.0"><channel><title>&lol3;</title><item><title>&lol3;</title><guid>x</guid></item></channel></rss>"""


def test_one_bad_feed_never_stops_the_others(tmp_path: Path, feed_server: FeedServer) -> None:
    good = rss([("g1", "好的源", "<p>正常</p>")])
    broken = rss([("b1", "能读的条目", "<p>一</p>"), ("b2", "也能读", "<p>二</p>")]).replace(
        "</channel></rss>", "<item><title>坏的 & 条目</title><guid>b3</guid></item><item><title>截断"
    )
    s = feed_server
    urls = {
        "好的": s.route("/good.xml", good),
        "坏XML": s.route("/broken.xml", broken),
        "网页": s.route(
            "/page.html",
            "<!DOCTYPE html><html><head><title>首页</title></head><body>新闻</body></html>",
            content_type="text/html",
        ),
        "空": s.route("/empty.xml", b""),
        "404": s.route("/missing.xml", b"not here", status=404),
        "410": s.route("/gone.xml", b"", status=410),
        "500": s.route("/error.xml", b"oops", status=500),
        "超时": s.route("/slow.xml", good, delay=5),
        "拒绝": f"http://127.0.0.1:{_closed_port()}/feed.xml",
        "TLS": f"https://127.0.0.1:{s.port}/good.xml",
        "太大": s.route("/big.xml", Reply(b"<rss>" + b"x" * 400_000 + b"</rss>", chunked=True)),
        "重定向循环": s.redirect("/loop-a", s.url("/loop-b")),
        "实体炸弹": s.route("/bomb.xml", BOMB),
    }
    s.redirect("/loop-b", s.url("/loop-a"))
    # No retries: each timeout of the slow feed costs the whole 2 s (retries are test_fetch's).
    config = write_config(tmp_path, [("测试", "站点", name, url) for name, url in urls.items()], retries=0)
    proc = newsdesk(config, "run", "--json")
    assert proc.returncode == 3, proc.stderr
    assert "Traceback" not in proc.stderr
    report = {f["key"].split("/")[-1]: f for f in json.loads(proc.stdout)["feeds"]}
    assert report["好的"]["outcome"] == "ok" and report["好的"]["new"] == 1
    assert report["坏XML"]["outcome"] == "ok" and report["坏XML"]["new"] >= 2
    assert report["坏XML"]["warning"]
    expected_errors = {
        "网页": "not a feed",
        "空": "empty",
        "404": "HTTP 404",
        "410": "HTTP 410",
        "500": "HTTP 500",
        "超时": "timed out",
        "拒绝": "connection refused",
        "TLS": "TLS",
        "太大": "larger than",
        "重定向循环": "redirect",
        "实体炸弹": "entit",
    }
    for name, needle in expected_errors.items():
        r = report[name]
        assert r["outcome"] == "failed", name
        assert needle.lower() in r["error"].lower(), (name, r["error"])
        assert "\n" not in r["error"]
    # The good feeds were stored and published despite the failures.
    assert entry_count(tmp_path) == 1 + report["坏XML"]["new"]
    assert len(list((tmp_path / "posts").glob("*.md"))) == entry_count(tmp_path)
    # Failures are recorded per feed and shown by `feeds list`.
    listed = {f["name"]: f for f in json.loads(newsdesk(config, "feeds", "list", "--json").stdout)}
    assert listed["404"]["consecutive_failures"] == 1 and "HTTP 404" in listed["404"]["last_error"]
    assert listed["好的"]["last_error"] is None
    # A rerun does not double anything.
    newsdesk(config, "run")
    assert entry_count(tmp_path) == 1 + report["坏XML"]["new"]


def test_plain_log_lines_without_a_terminal(tmp_path: Path, feed_server: FeedServer) -> None:
    config = write_config(
        tmp_path, [("金融", "站", "源", feed_server.route("/f.xml", rss([("x", "标题", "<p>p</p>")])))]
    )
    proc = newsdesk(config, "run", check=True)
    assert re.search(r"INFO 金融/站/源: 1 new, 0 updated, 0 unchanged", proc.stderr)
    assert "\x1b[" not in proc.stderr  # no escape codes, no progress bar under cron


def test_invalid_config_is_one_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "newsdesk.yaml"
    path.write_text(
        "groups:\n  金融:\n    新浪:\n      - name: 国内\n        rout: /sina\n", encoding="utf-8"
    )
    proc = newsdesk(path, "run")
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert f"{path}:5: groups.金融.新浪.0.rout: unknown key" in proc.stderr


def test_unwritable_output_folder(tmp_path: Path, feed_server: FeedServer) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    config = write_config(
        tmp_path,
        [("金融", "站", "源", feed_server.route("/f.xml", rss([("x", "标题", "<p>p</p>")])))],
    )
    text = config.read_text("utf-8").replace("hexo_dir: posts", f"hexo_dir: {blocker}/posts")
    config.write_text(text, "utf-8")
    proc = newsdesk(config, "run")
    assert proc.returncode == 4
    assert "Traceback" not in proc.stderr
    assert "not-a-folder" in proc.stderr and "publish hexo" in proc.stderr
    assert entry_count(tmp_path) == 1  # fetched and stored all the same
    # Fixing the folder publishes what was missed, without refetching.
    config.write_text(text.replace(f"{blocker}/posts", "posts"), "utf-8")
    newsdesk(config, "publish", "hexo", check=True)
    assert len(list((tmp_path / "posts").glob("*.md"))) == 1


def test_entries_list_and_show_json(tmp_path: Path, feed_server: FeedServer) -> None:
    feed = rss([("e1", "工信部部署重点任务", "<p>一是</p>"), ("e2", "第二条", "<p>二</p>")])
    config = write_config(tmp_path, [("金融", "新浪财经", "国内", feed_server.route("/f.xml", feed))])
    newsdesk(config, "run", check=True)
    listed = json.loads(newsdesk(config, "entries", "list", "--json", check=True).stdout)
    assert {e["title"] for e in listed} == {"工信部部署重点任务", "第二条"}
    uid = next(e["id"] for e in listed if e["title"] == "工信部部署重点任务")
    shown = json.loads(newsdesk(config, "entries", "show", uid, "--json", check=True).stdout)
    assert shown["content"] == "<p>一是</p>"
    assert shown["published"] == "2021-12-20T15:00:52+00:00"
    assert (shown["group"], shown["site"], shown["feed"]) == ("金融", "新浪财经", "国内")
    missing = newsdesk(config, "entries", "show", "0000000000000000")
    assert missing.returncode == 1 and "no entry with id" in missing.stderr


def test_rsshub_route_fails_over_to_the_next_instance(tmp_path: Path, feed_server: FeedServer) -> None:
    with FeedServer() as second:
        feed_server.route("/sina/finance/china", b"down", status=503)
        second.route("/sina/finance/china", rss([("r1", "来自第二个实例", "<p>ok</p>")]))
        path = tmp_path / "newsdesk.yaml"
        path.write_text(
            "database: archive.db\nhexo_dir: posts\nfetch: {retries: 0}\n"
            f"rsshub: [{feed_server.url('')}, {second.url('')}]\n"
            "groups:\n  金融:\n    新浪财经:\n      - name: 国内\n        route: /sina/finance/china\n",
            encoding="utf-8",
        )
        report = json.loads(newsdesk(path, "run", "--json", check=True).stdout)
        assert report["totals"]["new"] == 1
        assert feed_server.hits("/sina/finance/china") == 1 and second.hits("/sina/finance/china") == 1


def test_feeds_commands(tmp_path: Path) -> None:
    config = tmp_path / "newsdesk.yaml"
    newsdesk(config, "init", check=True)
    listed = json.loads(newsdesk(config, "feeds", "list", "--json", check=True).stdout)
    assert any(f["name"] == "新浪财经－国內" and f["source"] == "rsshub:/sina/finance/china" for f in listed)
    newsdesk(
        config,
        "feeds",
        "add",
        "宏观",
        "统计局",
        "最新发布",
        "--url",
        "https://www.stats.gov.cn/rss.xml",
        check=True,
    )
    opml = newsdesk(config, "feeds", "export", check=True).stdout
    assert 'text="宏观"' in opml and 'xmlUrl="https://www.stats.gov.cn/rss.xml"' in opml
    assert 'xmlUrl="https://rsshub.app/sina/finance/china"' in opml
    newsdesk(config, "feeds", "remove", "最新发布", check=True)
    other = tmp_path / "other.yaml"
    other.write_text("groups: {}\n", encoding="utf-8")
    (tmp_path / "subs.opml").write_text(opml, encoding="utf-8")
    imported = json.loads(
        newsdesk(other, "feeds", "import", str(tmp_path / "subs.opml"), "--json", check=True).stdout
    )
    assert imported["added"] == len(listed) + 1  # exported while 最新发布 was still there
    again = newsdesk(config, "init")
    assert again.returncode == 1 and "already exists" in again.stderr


@needs_shared
def test_reference_cleaned_metadata_and_post(tmp_path: Path, feed_server: FeedServer) -> None:
    feed_server.route("/sina/finance/china", SEED.read_bytes())
    config = write_config(
        tmp_path, [("金融", "新浪财经", "新浪财经－国內", feed_server.url("/sina/finance/china"))], clean=True
    )
    newsdesk(config, "run", check=True)
    [listed] = json.loads(newsdesk(config, "entries", "list", "--json", check=True).stdout)
    shown = json.loads(newsdesk(config, "entries", "show", listed["id"], "--json", check=True).stdout)
    assert shown["source"] == "中国新闻网"
    assert shown["editor"] == "刘万里"
    assert shown["reporters"] == ["刘育英"]
    assert shown["dateline"] == "中新社北京12月20日电"
    assert shown["images"] == [] and shown["header_image"] is None
    lines = shown["text"].split("\n")
    # Two opening paragraphs (the second holds 一是), then 二是 … 六是, one per line.
    assert len(lines) == 7 and "一是" in lines[1]
    assert [ln[:2] for ln in lines[2:]] == ["二是", "三是", "四是", "五是", "六是"]
    assert lines[0].startswith("中新社北京12月20日电") and not lines[0].startswith("\u3000")
    for junk in ("海量资讯", "责任编辑", "来源：", "appendQr", "SF014"):
        assert junk not in shown["text"] and junk not in shown["html"]
    assert shown["char_count"] == len("".join(shown["text"].split()))
    assert shown["summary"] and shown["text"].replace("\n", "").startswith(shown["summary"].rstrip("…"))
    assert len(shown["summary"]) <= 121
    # The Hexo post: the cleaned body, and no QR code chosen as header image.
    [post] = (tmp_path / "posts").glob("*.md")
    text = post.read_text("utf-8")
    assert "headimg" not in text and "thumbnail" not in text
    assert "appendQr" not in text and "<style" not in text and "<!--" not in text
    assert (
        "title: '工信部部署2022年六方面重点任务'\ncategories: \n - 金融\n - 新浪财经\n - 新浪财经－国內\n"
        in text
    )


ARTICLE_PAGE = """<!DOCTYPE html><html><head><meta charset="gb2312"><title>国务院部署稳外贸措施_新浪财经</title>
<meta name="keywords" content="稳外贸,出口退税"></head><body>
<div class="top-bar">新浪首页 | 新闻 | 财经</div>
<h1 class="main-title">国务院部署稳外贸措施</h1>
<div class="date-source"><span class="date">2026年11月25日 10:12</span><span class="source">经济日报</span></div>
<div class="article" id="artibody">
<p>　　新华社北京11月25日电（记者 周镕舟）国务院常务会议25日召开，部署进一步稳外贸稳外资的政策措施，要求加快出口退税进度，支持外贸企业拓展多元化市场。</p>
<p>　　会议指出，今年以来外贸运行总体平稳，但外部需求走弱、部分企业订单减少等问题依然存在，必须加大政策支持力度，帮助企业稳订单拓市场。</p>
<p>　　会议要求，各地区各部门要抓好已出台政策落实，优化跨境贸易便利化措施，提升口岸通关效率，降低企业物流成本，推动外贸保稳提质。</p>
<div class="appendQr_wrap"><div class="appendQr_normal"><img src="https://n.sinaimg.cn/finance/qr.png"></div><div class="appendQr_normal_txt">海量资讯、精准解读，尽在新浪财经APP</div></div>
<p class="article-editor">责任编辑：王晓明 SF009</p>
</div><div class="footer">新浪公司 版权所有</div></body></html>"""


def test_full_text_auto_fetches_the_page_and_keeps_feed_content_on_failure(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    s = feed_server
    s.route("/doc-1.shtml", ARTICLE_PAGE.encode("gb18030"), content_type="text/html; charset=gb2312")
    s.route("/doc-2.shtml", b"gone", status=404)
    feed = f"""<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>摘要源</title>
<item><title>国务院部署稳外贸措施</title><link>{s.url("/doc-1.shtml")}</link><guid>d1</guid>
<description><![CDATA[<p>国务院常务会议25日召开，部署进一步稳外贸稳外资的政策措施……</p>]]></description></item>
<item><title>页面已删除</title><link>{s.url("/doc-2.shtml")}</link><guid>d2</guid>
<description><![CDATA[<p>只有这一句摘要……</p>]]></description></item></channel></rss>"""
    path = tmp_path / "newsdesk.yaml"
    path.write_text(
        "database: archive.db\nhexo_dir: posts\nfetch: {retries: 0}\ngroups:\n  金融:\n    新浪财经:\n"
        f"      - name: 摘要源\n        url: {s.route('/feed.xml', feed)}\n        full_text: auto\n",
        encoding="utf-8",
    )
    newsdesk(path, "run", check=True)
    by_title = {e["title"]: e for e in json.loads(newsdesk(path, "entries", "list", "--json").stdout)}
    full = json.loads(
        newsdesk(path, "entries", "show", by_title["国务院部署稳外贸措施"]["id"], "--json").stdout
    )
    assert "周镕舟" in full["text"] and "降低企业物流成本" in full["text"]  # GB2312-labelled GB18030 page
    assert full["reporters"] == ["周镕舟"] and full["editor"] == "王晓明"
    assert "海量资讯" not in full["text"] and "版权所有" not in full["text"]
    assert full["page"] and "artibody" in full["page"]
    kept = json.loads(newsdesk(path, "entries", "show", by_title["页面已删除"]["id"], "--json").stdout)
    assert kept["text"] == "只有这一句摘要……" and kept["page"] is None


def test_reclean_runs_the_cleaner_again_from_raw_html(tmp_path: Path, feed_server: FeedServer) -> None:
    body = '<p>正文第一段，讲述央行操作。</p><p class="article-editor">责任编辑：李四 SF001</p>'
    config = write_config(
        tmp_path, [("金融", "新浪财经", "国内", feed_server.route("/f.xml", rss([("x", "标题", body)])))]
    )
    newsdesk(config, "run", check=True)
    # Switch cleaning on: stored entries are recleaned from their raw HTML, and posts follow.
    config.write_text(config.read_text("utf-8").replace("clean: false", "clean: true"), "utf-8")
    result = json.loads(newsdesk(config, "reclean", "--json", check=True).stdout)
    assert result == {"cleaned": 1, "failed": 0, "skipped": 0}
    [entry] = json.loads(newsdesk(config, "entries", "list", "--json").stdout)
    assert entry["editor"] == "李四"
    newsdesk(config, "publish", "hexo", check=True)
    [post] = (tmp_path / "posts").glob("*.md")
    assert "责任编辑" not in post.read_text("utf-8") and "正文第一段" in post.read_text("utf-8")


def test_feeds_list_shows_the_url_in_use_after_a_permanent_redirect(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    feed_server.route("/new.xml", rss([("n1", "新地址", "<p>搬家了。</p>")]))
    feed_server.redirect("/old.xml", feed_server.url("/new.xml"), status=301)
    config = write_config(tmp_path, [("g", "s", "搬家", feed_server.url("/old.xml"))])
    newsdesk(config, "run", check=True)
    [row] = json.loads(newsdesk(config, "feeds", "list", "--json", check=True).stdout)
    assert row["source"] == feed_server.url("/old.xml")
    assert row["url"] == feed_server.url("/new.xml")
    text = newsdesk(config, "feeds", "list", check=True).stdout
    assert feed_server.url("/new.xml") in text and "moved permanently" in text


def test_reclean_in_the_pipeline_counts_and_says_what_was_done_when_stopped(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    import signal

    from newsdesk import pipeline, procs
    from newsdesk.config import load_config
    from newsdesk.store import open_store

    items = [(f"g{i}", f"标题{i}", f"<p>正文第{i}段，讲述央行操作。</p>") for i in range(3)]
    config_path = write_config(
        tmp_path,
        [
            ("金融", "新浪财经", "国内", feed_server.route("/f.xml", rss(items))),
            (
                "金融",
                "新浪财经",
                "原样",
                feed_server.route("/g.xml", rss([("h", "原样标题", "<p>原样</p>")])),
            ),
        ],
    )
    newsdesk(config_path, "run", check=True)
    config_path.write_text(config_path.read_text("utf-8").replace("clean: false", "clean: true", 1), "utf-8")
    config = load_config(config_path)
    store = open_store(config.database_url)
    try:
        seen: list[tuple[int, int]] = []
        counts = pipeline.reclean(
            config, store, pipeline.select_feeds(config), lambda d, t: seen.append((d, t))
        )
        assert (counts.cleaned, counts.failed, counts.skipped) == (3, 0, 1)
        assert seen == [(1, 4), (2, 4), (3, 4)]

        def stop_after_two(done: int, total: int) -> None:
            if done == 2:
                raise procs.Stopped(signal.SIGTERM)

        with pytest.raises(procs.Stopped) as info:
            pipeline.reclean(config, store, pipeline.select_feeds(config), stop_after_two)
        assert info.value.__notes__ == ["reclean: 2 cleaned, 0 failed, then stopped"]
    finally:
        store.close()


def test_run_and_reclean_take_only_the_feeds_named(tmp_path: Path, feed_server: FeedServer) -> None:
    feed_server.route("/a.xml", rss([("a1", "甲", "<p>甲的正文。</p>")]))
    feed_server.route("/b.xml", rss([("b1", "乙", "<p>乙的正文。</p>")]))
    config = write_config(
        tmp_path,
        [("g", "s", "甲源", feed_server.url("/a.xml")), ("g", "s", "乙源", feed_server.url("/b.xml"))],
    )
    report = json.loads(newsdesk(config, "run", "--feed", "乙源", "--json", check=True).stdout)
    assert [f["key"] for f in report["feeds"]] == ["g/s/乙源"]
    assert feed_server.hits("/a.xml") == 0 and feed_server.hits("/b.xml") == 1
    counts = json.loads(newsdesk(config, "reclean", "--feed", "乙源", "--json", check=True).stdout)
    assert counts["skipped"] == 1  # clean: false


def test_run_holds_a_site_builds_process_settings_around_the_site_alone(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    """The collector's threshold and the switch interval a site build wants are set by the
    process's entry (the CLI) around the site's build alone, and restored; a run without the
    site does not even import the site's pool."""
    feed_server.route("/a.xml", rss([("a1", "央行开展公开市场操作", "<p>稳妥推进千兆光网建设。</p>")]))
    config = write_config(tmp_path, [("金融", "站", "甲", feed_server.url("/a.xml"))])
    probe = (
        "import atexit, sys\n"
        "atexit.register(lambda: print('pool imported:', 'newsdesk.publish.site.pool' in sys.modules))\n"
        "from newsdesk.cli import main\n"
        "sys.argv = ['newsdesk', '--config', sys.argv[1], 'run', '--json']\n"
        "main()\n"
    )
    hexo_only = subprocess.run(
        [sys.executable, "-c", probe, str(config)], capture_output=True, text=True, timeout=120, check=False
    )
    assert hexo_only.returncode == 0, hexo_only.stderr
    assert hexo_only.stdout.rstrip().endswith("pool imported: False")

    from newsdesk import pipeline
    from newsdesk.cli.publish import publisher_settings
    from newsdesk.publish.site.pool import GC_GEN0, SWITCH_INTERVAL

    seen: list[tuple[str, int, float]] = []

    @contextlib.contextmanager
    def recording(name: str) -> Iterator[None]:
        with publisher_settings(name):
            seen.append((name, gc.get_threshold()[0], sys.getswitchinterval()))
            yield

    before = (gc.get_threshold(), sys.getswitchinterval())
    assert before[0][0] != GC_GEN0 and before[1] != SWITCH_INTERVAL
    store = SQLiteStore(tmp_path / "archive.db")
    try:
        report = pipeline.run(load_config(config), store, publishers=("hexo", "site"), settings=recording)
    finally:
        store.close()
    assert report.publish_errors == [] and len(report.published) == 2 and report.published[1].written > 0
    assert seen == [("hexo", before[0][0], before[1]), ("site", GC_GEN0, SWITCH_INTERVAL)]
    assert (gc.get_threshold(), sys.getswitchinterval()) == before
