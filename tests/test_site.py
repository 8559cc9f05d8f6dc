"""The static site end to end: the real CLI (`run`, `build`) against the real HTTP test server,
then the files it wrote: pages, links, feeds, sitemap, search index, incremental rebuilds."""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest

from cli_helpers import feeds_yaml, run_cli
from newsdesk.config import Config
from newsdesk.errors import PublishError
from newsdesk.models import Article, FeedSpec, FetchResult, ParsedEntry
from newsdesk.publish.site import PoolOptions, build_site
from newsdesk.store import SQLiteStore
from server import FeedServer

SEED = Path(__file__).resolve().parents[2] / "shared" / "reference" / "seed-feed.xml"
needs_shared = pytest.mark.skipif(not SEED.exists(), reason="../shared/reference is not beside the clone")
REF_TITLE = "工信部部署2022年六方面重点任务"


def newsdesk(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_cli(config, *args)


def build(config: Path, *args: str) -> dict[str, object]:
    report = json.loads(newsdesk(config, "build", "--json", *args).stdout)
    assert isinstance(report, dict)
    return report


def write_config(tmp: Path, feeds: list[tuple[str, str, str, str]], clean: bool = True) -> Path:
    head = ["database: archive.db", "site_dir: site", "fetch:", "  timeout: 5", "  retries: 0"]
    path = tmp / "newsdesk.yaml"
    path.write_text(feeds_yaml(feeds, clean=clean, head=head), encoding="utf-8")
    return path


def rss(items: list[tuple[str, str, str]], day: int = 20) -> str:
    body = "".join(
        f"<item><title><![CDATA[{t}]]></title><link>https://news.example.cn/{g}.html</link>"
        f"<guid>{g}</guid><pubDate>Mon, {day} Dec 2021 {10 + i % 10}:00:00 GMT</pubDate>"
        f"<description><![CDATA[{c}]]></description></item>"
        for i, (g, t, c) in enumerate(items)
    )
    head = '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>t</title>'
    return f"{head}{body}</channel></rss>"


def site_files(site: Path) -> dict[str, int]:
    """Relative path → mtime_ns of every file of the site (the build state excluded)."""
    return {
        p.relative_to(site).as_posix(): p.stat().st_mtime_ns
        for p in site.rglob("*")
        if p.is_file() and ".newsdesk" not in p.parts
    }


_HREF = re.compile(r'(?:href|src)="([^"]*)"')


def broken_links(site: Path, pages: list[Path]) -> list[str]:
    """Relative links (and script/style sources) of `pages` that point at no file."""
    bad = []
    for page in pages:
        for link in _HREF.findall(page.read_text("utf-8")):
            if link.startswith(("http://", "https://", "mailto:", "#", "?")) or not link:
                continue
            target = (page.parent / unquote(urlsplit(link).path)).resolve()
            if not target.is_file() or site.resolve() not in target.parents:
                bad.append(f"{page.relative_to(site)} → {link}")
    return bad


def parse_feeds(folder: Path) -> tuple[ET.Element, ET.Element, dict[str, object]]:
    rss_doc = ET.parse(folder / "rss.xml").getroot()
    atom_doc = ET.parse(folder / "atom.xml").getroot()
    feed_json = json.loads((folder / "feed.json").read_text("utf-8"))
    assert rss_doc.tag == "rss" and rss_doc.get("version") == "2.0"
    assert atom_doc.tag == "{http://www.w3.org/2005/Atom}feed"
    assert feed_json["version"] == "https://jsonfeed.org/version/1.1"
    return rss_doc, atom_doc, feed_json


# -- the reference article, through the real pipeline --------------------------------------
@needs_shared
def test_reference_article_site(tmp_path: Path, feed_server: FeedServer) -> None:
    feed_server.route("/sina/finance", SEED.read_bytes())
    config = write_config(
        tmp_path, [("金融", "新浪财经", "新浪财经－国內", feed_server.url("/sina/finance"))]
    )
    newsdesk(config, "run")
    report = build(config)
    site = tmp_path / "site"
    assert report["written"] and report["removed"] == 0

    home = (site / "index.html").read_text("utf-8")
    assert '<html lang="zh-CN">' in home
    for label in ("首页", "分类", "归档", "搜索"):
        assert label in home
    assert REF_TITLE in home
    # The list item shows the cleaned article's summary and source, read from the archive
    # when the item is rendered (the header image: test_template_override_and_related).
    item = re.search(r'<article class="item">.*?</article>', home, re.S)
    assert item is not None, home
    assert '<span class="source">中国新闻网</span>' in item[0]
    summary = re.search(r'<p class="summary">([^<]+)</p>', item[0])
    assert summary is not None and summary[1].startswith("中新社北京12月20日电") and len(summary[1]) <= 120
    articles = list((site / "a").rglob("*.html"))
    assert len(articles) == 1
    page = articles[0].read_text("utf-8")
    assert REF_TITLE in page and "千兆光网" in page
    assert "2021-12-20 23:00" in page  # 15:00:52 GMT in Asia/Shanghai
    assert "原文链接" in page and "https://finance.sina.com.cn/" in page
    # Group → site → feed pages, each with its feeds; date archives; the rest of the site.
    folder = site / "c" / "金融" / "新浪财经"
    feed_dirs = [d for d in folder.iterdir() if d.is_dir()]
    assert len(feed_dirs) == 1
    for d in (site, site / "c" / "金融", folder, feed_dirs[0]):
        assert (d / "index.html").is_file()
        rss_doc, _, jf = parse_feeds(d)
        assert rss_doc.findtext("channel/item/title") == REF_TITLE
        items = jf["items"]
        assert isinstance(items, list) and "千兆光网" in items[0]["content_html"]
    for p in ("archive/index.html", "archive/2021/12/index.html", "archive/2021/12/20/index.html"):
        assert REF_TITLE in (site / p).read_text("utf-8") or "2021年12月" in (site / p).read_text("utf-8")
    for p in (
        "categories.html",
        "search.html",
        "404.html",
        "sitemap.xml",
        "static/site.css",
        "static/search.js",
    ):
        assert (site / p).is_file(), p
    ET.parse(site / "sitemap.xml")
    # Everything a page loads is local: no stylesheet, script or font from another host.
    for p in site.rglob("*.html"):
        text = p.read_text("utf-8")
        assert not re.search(r'<(?:script|link)[^>]+(?:src|href)="(?:https?:)?//', text), p
    all_pages = [p for p in site.rglob("*.html") if p.name != "404.html"]
    assert broken_links(site, all_pages) == []
    # The search index knows the article's words.
    assert "千兆" in "".join(p.read_text("utf-8") for p in (site / "search" / "d").glob("*.js"))


# -- incremental builds ---------------------------------------------------------------------
def test_incremental_build(tmp_path: Path, feed_server: FeedServer) -> None:
    v1 = [(f"a{i}", f"央行公开市场操作第{i}期", f"<p>正文{i}：稳妥推进千兆光网建设。</p>") for i in range(30)]
    feed_server.route("/a.xml", rss(v1))
    feed_server.route("/b.xml", rss([("b1", "统计局发布数据", "<p>国家统计局今天发布数据。</p>")], day=21))
    config = write_config(
        tmp_path,
        [
            ("金融", "测试站", "源甲", feed_server.url("/a.xml")),
            ("宏观", "统计", "源乙", feed_server.url("/b.xml")),
        ],
        clean=False,
    )
    newsdesk(config, "fetch")
    site = tmp_path / "site"
    first = build(config)
    before = site_files(site)
    assert first["written"] == len(before) + 0  # every file written once, the manifest aside

    # Nothing changed: nothing is written, not even the manifest.
    manifest = site / ".newsdesk" / "manifest.json"
    m_time = manifest.stat().st_mtime_ns
    again = build(config)
    assert again["written"] == 0 and again["removed"] == 0
    assert site_files(site) == before and manifest.stat().st_mtime_ns == m_time

    # One new article in feed 乙: its page, and the lists and feeds it appears on.
    feed_server.route(
        "/b.xml",
        rss(
            [
                ("b1", "统计局发布数据", "<p>国家统计局今天发布数据。</p>"),
                ("b2", "新的文章", "<p>新内容</p>"),
            ],
            day=21,
        ),
    )
    newsdesk(config, "fetch")
    third = build(config)
    after = site_files(site)
    changed = {p for p in after if before.get(p) != after[p]}
    new_article = [p for p in changed if p.startswith("a/")]
    assert len(new_article) == 1
    assert "新的文章" in (site / new_article[0]).read_text("utf-8")
    # Feed 甲's pages, and the other articles, are untouched.
    assert not any(p.startswith("c/金融/") for p in changed), changed
    assert len([p for p in changed if p.startswith("a/")]) == 1
    assert "index.html" in changed and "rss.xml" in changed
    assert third["written"] == len(changed)

    # A removed entry: its page goes, and so does it from lists and search records.
    db = tmp_path / "archive.db"
    with sqlite3.connect(db) as con:
        uid = con.execute("SELECT uid FROM entries WHERE entry_id='a3'").fetchone()[0]
        rev = con.execute("SELECT MAX(rev) FROM entries").fetchone()[0] + 1
        con.execute("DELETE FROM articles WHERE uid=?", (uid,))
        con.execute("DELETE FROM entries WHERE uid=?", (uid,))
        con.execute("INSERT INTO removed_entries (uid, rev) VALUES (?, ?)", (uid, rev))
    fourth = build(config)
    assert fourth["removed"] == 1
    assert not (site / "a" / uid[:2] / f"{uid}.html").exists()
    listed = "".join(p.read_text("utf-8") for p in (site / "c" / "金融").rglob("*.html"))
    assert "央行公开市场操作第3期<" not in listed and "央行公开市场操作第4期<" in listed
    assert build(config)["written"] == 0


# -- bad input ------------------------------------------------------------------------------
BAD_NAMES = ["a/b", "..", "&amp", "<script>", "A"]


def _entry(i: int, title: str, body: str, when: datetime) -> ParsedEntry:
    return ParsedEntry(
        id=f"id{i}", title=title, link=f"https://news.example.cn/{i}.html", published=when, content=body
    )


def _store_with(tmp_path: Path, specs: list[FeedSpec], n: int, t0: datetime) -> SQLiteStore:
    """An archive with `n` entries in each feed, a minute apart from `t0`."""
    store = SQLiteStore(tmp_path / "archive.db")
    for spec in specs:
        entries = [
            _entry(i, f"{spec.group}第{i}篇", f"<p>内容{i}</p>", t0 + timedelta(minutes=i)) for i in range(n)
        ]
        store.save_fetch(spec, FetchResult(spec.source, 200), entries, datetime.now(UTC))
    return store


def test_bad_input_builds_with_working_links(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "archive.db")
    t0 = datetime(2024, 3, 1, tzinfo=UTC)
    now = datetime.now(UTC)
    # Category names that are paths, parent references and markup.
    for n, name in enumerate(BAD_NAMES):
        spec = FeedSpec(name, name, name, url=f"http://x/{n}")
        title = f"标题{name}\x01\x0b控制符"
        store.save_fetch(
            spec, FetchResult(spec.source, 200), [_entry(n, title, f"<p>{name}正文</p>", t0)], now
        )
    odd = FeedSpec("异常", "异常站", "异常源", url="http://x/odd")
    big = "<p>千兆光网建设稳步推进。</p>" * 130_000  # 5.2 MB of UTF-8
    assert len(big.encode()) > 5_000_000
    odd_entries = [
        _entry(100, "", "<p>没有标题的文章</p>", t0),
        _entry(101, "长" * 2000, "<p>标题很长</p>", t0 + timedelta(minutes=1)),
        _entry(102, "大文章", big, t0 + timedelta(minutes=2)),
        _entry(103, "脚本<script>alert(1)</script>]]>", "<script>alert(1)</script><p>x\x00y</p>", t0),
    ]
    store.save_fetch(odd, FetchResult(odd.source, 200), odd_entries, now)
    many = FeedSpec("大量", "大量站", "两千篇", url="http://x/many")
    store.save_fetch(
        many,
        FetchResult(many.source, 200),
        [_entry(1000 + i, f"第{i}篇", f"<p>内容{i}</p>", t0 + timedelta(minutes=i)) for i in range(2_000)],
        now,
    )
    store.close()
    config = tmp_path / "newsdesk.yaml"
    config.write_text("database: archive.db\nsite_dir: site\n", encoding="utf-8")
    report = build(config)
    assert report["written"]
    site = tmp_path / "site"

    # Every name got its own folder inside c/, none escaped it.
    assert len([d for d in (site / "c").iterdir() if d.is_dir()]) == len(BAD_NAMES) + 2
    outside = sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith("archive.db"))
    assert outside == ["newsdesk.yaml", "site"]
    # Links of every list page, and of the odd articles, lead to files of the site.
    pages = [p for p in site.rglob("*.html") if "a" not in p.relative_to(site).parts[:1]]
    check = SQLiteStore(tmp_path / "archive.db")
    pages += [
        site / "a" / e.uid[:2] / f"{e.uid}.html" for e in check.list_entries(feed_key="异常/异常站/异常源")
    ]
    check.close()
    pages = [p for p in pages if p.name != "404.html"]
    assert broken_links(site, pages) == []
    # The feed of 2,000 articles is paginated from its oldest end, 20 to a page (a larger feed
    # only takes longer: the site's scale is measured in bench/).
    many_dir = next(d for d in (site / "c").glob("大量*/*/*") if d.is_dir())
    assert len(list(many_dir.glob("page-*.html"))) == 100
    # Feeds are well-formed XML with the control characters gone, everywhere.
    for folder in [site, *(p.parent for p in site.rglob("rss.xml"))]:
        parse_feeds(folder)
    raw = (site / "rss.xml").read_bytes()
    assert b"\x01" not in raw and b"\x0b" not in raw
    # Markup in names and titles is text, never markup.
    text = "".join(p.read_text("utf-8") for p in (site / "c").rglob("index.html"))
    assert "<script>" not in text and "&lt;script&gt;" in text
    odd_list = (site / "c" / "异常" / "index.html").read_text("utf-8")
    assert "（无标题）" in odd_list and "长" * 150 in odd_list and "长" * 2000 not in odd_list


# -- templates and the cluster hook -----------------------------------------------------------
class SiteConfig(Config):
    templates_dir: str | None = None
    site_title: str | None = None


def _article(**changes: Any) -> Article:
    """A cleaned article (short body, source 中国新闻网), with `changes` applied."""
    fields: dict[str, Any] = dict(
        html="<p>正文</p>",
        text="正文",
        summary="摘要",
        char_count=2,
        images=(),
        header_image=None,
        source="中国新闻网",
        editor=None,
        reporters=(),
        dateline=None,
        keywords=(),
        profile="sina",
    )
    return Article(**{**fields, **changes})


def test_template_override_and_related(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "archive.db")
    spec = FeedSpec("金融", "站", "源", url="http://x/")
    t0 = datetime(2024, 3, 1, tzinfo=UTC)
    article = _article(
        images=("https://n.sinaimg.cn/finance/a.jpg",),
        header_image="https://n.sinaimg.cn/finance/a.jpg",
        editor="刘万里",
        reporters=("刘育英",),
        dateline="中新社北京12月20日电",
    )
    entries = [_entry(1, "甲报道", "<p>x</p>", t0), _entry(2, "乙报道", "<p>y</p>", t0 + timedelta(hours=1))]
    store.save_fetch(
        spec, FetchResult(spec.source, 200), entries, datetime.now(UTC), articles={"id1": article}
    )
    uids = [e.uid for e in store.list_entries()]
    tdir = tmp_path / "tpl"
    tdir.mkdir()
    (tdir / "404.html").write_text(
        '{% extends "base.html" %}{% block main %}自定义404{% endblock %}', "utf-8"
    )
    # A user's list item with links written both ways: url() and the url filter.
    item_tpl = (Path(__file__).parents[1] / "src/newsdesk/publish/templates/_item.html").read_text("utf-8")
    (tdir / "_item.html").write_text(
        item_tpl
        + '<a class="mine" href="{{ url(m.path) }}">1</a><a class="mine" href="{{ m.path|url }}">2</a>\n',
        "utf-8",
    )
    config = SiteConfig.model_validate(
        {"base_dir": tmp_path, "templates_dir": "tpl", "site_title": "我的新闻台"}
    )
    build_site(store, config, related=lambda uid: [u for u in uids if u != uid])
    site = tmp_path / "site"
    assert "自定义404" in (site / "404.html").read_text("utf-8")
    home = (site / "index.html").read_text("utf-8")
    assert "我的新闻台" in home
    for uid in uids:
        link = f"a/{uid[:2]}/{uid}.html"
        assert f'<a class="mine" href="{link}">1</a><a class="mine" href="{link}">2</a>' in home
    # Deeper pages: both forms give the same link, relative to the page.
    for page_file in (site / "c").rglob("index.html"):
        prefix = "../" * page_file.relative_to(site).as_posix().count("/")
        pairs = re.findall(
            r'<a class="mine" href="([^"]+)">1</a><a class="mine" href="([^"]+)">2</a>',
            page_file.read_text("utf-8"),
        )
        assert pairs and all(a == b and a.startswith(prefix + "a/") for a, b in pairs)
    # The cleaned article's list item: its header image, hotlinked without a referrer.
    item = re.search(r'<article class="item has-image">.*?</article>', home, re.S)
    assert item is not None and "甲报道" in item[0] and '<p class="summary">摘要</p>' in item[0]
    assert (
        '<img src="https://n.sinaimg.cn/finance/a.jpg" alt="" loading="lazy" referrerpolicy="no-referrer">'
        in item[0]
    )
    page = (site / "a" / uids[1][:2] / f"{uids[1]}.html").read_text("utf-8")
    for text in ("来源", "中国新闻网", "责任编辑", "刘万里", "记者", "刘育英", "其他媒体报道", "乙报道"):
        assert text in page, text
    # Without clusters the section is gone; a second build with the same provider writes nothing.
    assert build_site(store, config, related=lambda uid: [u for u in uids if u != uid]).written == 0
    build_site(store, config)
    assert "其他媒体报道" not in (site / "a" / uids[1][:2] / f"{uids[1]}.html").read_text("utf-8")
    store.close()


def _tree(root: Path) -> dict[str, bytes]:
    skip = root / ".newsdesk"
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in root.rglob("*")
        if p.is_file() and skip not in p.parents
    }


@pytest.mark.parametrize(("with_clusters", "small_segments"), [(True, False), (False, False), (False, True)])
def test_worker_processes_build_the_same_site(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, with_clusters: bool, small_segments: bool
) -> None:
    """A large build renders pages and cuts search terms in forked worker processes; the site
    (pages, feeds, search shards) is byte for byte the one a single process builds, and an
    incremental build after it (in one process) writes only what changed. With segments of 256
    documents, the search index's closed segments are written later, as chores of the build
    process while the workers have batches queued (or at the end), in one process or two."""
    if small_segments:
        from newsdesk.publish.site import search as site_search

        monkeypatch.setattr(site_search, "SEG_SIZE", 256)
    store = SQLiteStore(tmp_path / "archive.db")
    t0 = datetime(2024, 3, 1, tzinfo=UTC)
    for n in range(3):
        spec = FeedSpec("金融", f"站{n}", f"源{n}", url=f"http://x/{n}")
        entries = [
            _entry(
                n * 1000 + i,
                f"第{n}站第{i}篇：千兆光网建设",
                f"<p>工业和信息化部表示，第{i}批千兆光网项目在{n}号城市落地。</p><p>5G基站{i}个。</p>",
                t0 + timedelta(minutes=3 * i + n),
            )
            for i in range(400)
        ]
        store.save_fetch(spec, FetchResult(spec.source, 200), entries, datetime.now(UTC))
    uids = sorted(e.uid for e in store.list_entries(limit=None))
    pairs: dict[str, list[str]] = {}
    for u, v in zip(uids[::2], uids[1::2], strict=True):
        pairs[u], pairs[v] = [v], [u]
    related = (lambda uid: pairs.get(uid, [])) if with_clusters else None
    inline = SiteConfig.model_validate({"base_dir": tmp_path, "site_dir": "one"})
    forked = SiteConfig.model_validate({"base_dir": tmp_path, "site_dir": "two"})
    a = build_site(store, inline, related=related, pool=PoolOptions(parallel=False))
    # The build process takes over batches often (from one batch queued); with one worker
    # (whatever the machine: the path under test), it renders their pages and the worker cuts
    # their terms, so this process never loads the tokenizer.
    pool = PoolOptions(parallel=True, workers=1, steal_from=1)
    b = build_site(store, forked, related=related, pool=pool)
    assert a.written == b.written > 1200
    assert b.pool.workers == 1 and b.pool.terms_to_workers > 0 and not b.tokenizer_loaded
    # Again with workers and nothing changed: every file found fresh, once.
    again = build_site(store, forked, related=related, pool=pool)
    assert (again.written, again.unchanged, again.removed) == (0, b.written, 0)
    one, two = _tree(tmp_path / "one"), _tree(tmp_path / "two")
    assert one.keys() == two.keys()
    assert [k for k in one if one[k] != two[k]] == []
    assert any(k.startswith("search/s0/") for k in two)
    # List items carry summaries, which a worker reads from the archive on its own connection.
    assert (
        '<p class="summary">工业和信息化部表示，第399批千兆光网项目在2号城市落地。'
        in two["index.html"].decode()
    )
    # The manifest the workers' build saved drives the next (single-process) build exactly.
    spec = FeedSpec("金融", "站0", "源0", url="http://x/0")
    store.save_fetch(
        spec,
        FetchResult(spec.source, 200),
        [_entry(9999, "新文章", "<p>新的千兆光网报道</p>", t0 + timedelta(days=5))],
        datetime.now(UTC),
    )
    c = build_site(store, inline, related=related)
    d = build_site(store, forked, related=related)
    assert c.written == d.written < 60
    assert _tree(tmp_path / "one") == _tree(tmp_path / "two")
    # The incremental build put the new article's postings in the newest segment's tail (a few
    # small files, not the segment's 512); read through index.js, the index is the one a build
    # from nothing makes (the new article is the newest, so it gets the same docid either way).
    one = _tree(tmp_path / "one")
    newest = 1200 // (256 if small_segments else 4096)  # the segment of docid 1200
    assert [k for k in one if re.fullmatch(rf"search/s{newest}/t\d+\.js", k)]
    fresh = SiteConfig.model_validate({"base_dir": tmp_path, "site_dir": "three"})
    build_site(store, fresh, related=related)
    three = _tree(tmp_path / "three")
    assert not [k for k in three if re.fullmatch(r"search/s\d+/t\d+\.js", k)]
    assert _postings(one) == _postings(three)
    assert _postings(one)["千兆"] == list(range(1201))
    same = [k for k in three if k.startswith(("search/d/", "search/m/", "search/t2s"))]
    assert {k: one[k] for k in same} == {k: three[k] for k in same}
    store.close()


@pytest.mark.parametrize("with_clusters", [True, False])
def test_a_mid_sized_build_forks_one_worker_for_its_articles_only(
    tmp_path: Path, with_clusters: bool
) -> None:
    """From `articles_pool_from` changed entries (400 by default; 20 here, to keep the test
    small) and below the full pool's 5,000 one worker renders the article pages and cuts the
    search terms, loading the tokenizer itself, while the build process renders lists and
    feeds: the site is byte for byte the one a single process builds."""
    forks: list[int] = []  # per automatic build: the workers it forked

    store = SQLiteStore(tmp_path / "archive.db")
    t0 = datetime(2024, 3, 1, tzinfo=UTC)
    spec = FeedSpec("金融", "站", "源", url="http://x/")

    def add(start: int, n: int) -> None:
        entries = [
            _entry(i, f"第{i}篇：千兆光网", f"<p>第{i}批千兆光网项目落地。</p>", t0 + timedelta(minutes=i))
            for i in range(start, start + n)
        ]
        store.save_fetch(spec, FetchResult(spec.source, 200), entries, datetime.now(UTC))

    add(0, 60)
    uids = sorted(e.uid for e in store.list_entries(limit=None))
    related = (
        (lambda uid: [u for u in uids[:2] if u != uid] if uid in uids[:2] else []) if with_clusters else None
    )
    inline = SiteConfig.model_validate({"base_dir": tmp_path, "site_dir": "one"})
    auto = SiteConfig.model_validate({"base_dir": tmp_path, "site_dir": "two"})
    mid = PoolOptions(articles_pool_from=20)
    for _ in range(2):  # a first build of 60 entries, then 30 more
        a = build_site(store, inline, related=related, pool=PoolOptions(parallel=False))
        b = build_site(store, auto, related=related, pool=mid)
        forks.append(b.pool.workers > 0)
        assert a.written == b.written > 30
        assert _tree(tmp_path / "one") == _tree(tmp_path / "two")
        add(100, 30)
    assert forks == [True, True]  # the automatic builds forked; the single-process ones did not
    # A build of fewer changes stays in one process.
    add(200, 3)
    assert build_site(store, auto, related=related, pool=mid).pool.workers == 0
    # So does one over a larger archive (forked after reading the manifest, a worker would copy
    # much of the build process's memory).
    smaller = PoolOptions(articles_pool_from=20, articles_pool_up_to=80)
    add(300, 30)
    a = build_site(store, inline, related=related, pool=PoolOptions(parallel=False))
    b = build_site(store, auto, related=related, pool=smaller)
    assert b.pool.workers == 0 and a.written > b.written > 30  # "one" also takes the 3 above
    assert _tree(tmp_path / "one") == _tree(tmp_path / "two")
    store.close()


def _script_data(raw: bytes) -> Any:
    text = raw.decode("utf-8")
    return json.loads(text[text.index(",") + 1 : text.rindex(")")])


def _postings(tree: dict[str, bytes]) -> dict[str, list[int]]:
    """token → docids, as the browser's search.js reads them: each segment's postings and, for
    the segment index.js names, the tail shards its mask says exist."""
    info = _script_data(tree["search/index.js"])
    out: dict[str, list[int]] = {}
    segments = sorted({int(k.split("/")[1][1:]) for k in tree if re.match(r"search/s\d+/", k)})
    for seg in segments:
        names = [f"search/s{seg}/{b}.js" for b in range(info["pb"])]
        if seg == info["tl"]:
            mask = int(info["tm"], 16)
            names += [f"search/s{seg}/t{b}.js" for b in range(info["tb"]) if mask >> b & 1]
        for name in names:
            for token, deltas in _script_data(tree[name]).items():
                ids = out.setdefault(token, [])
                local = 0  # each list is delta-encoded from the segment's first docid
                for d in deltas:
                    local += d
                    ids.append(seg * info["seg"] + local)
    return {t: sorted(ids) for t, ids in out.items()}


def test_a_worker_that_cannot_write_fails_the_build_with_a_clear_error(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "archive.db")
    spec = FeedSpec("金融", "站", "源", url="http://x/")
    t0 = datetime(2024, 3, 1, tzinfo=UTC)
    entries = [_entry(i, f"第{i}篇", f"<p>内容{i}</p>", t0 + timedelta(minutes=i)) for i in range(300)]
    store.save_fetch(spec, FetchResult(spec.source, 200), entries, datetime.now(UTC))
    site = tmp_path / "site"
    site.mkdir()
    (site / "a").write_text("not a folder", "utf-8")  # article pages cannot go anywhere
    config = SiteConfig.model_validate({"base_dir": tmp_path})
    with pytest.raises(PublishError, match=r"/site/a/\w\w: cannot create folder"):
        build_site(store, config, pool=PoolOptions(parallel=True))
    # Nothing vouches for pages that were not written: the next build (folder fixed) does them all.
    (site / "a").unlink()
    assert build_site(store, config).written > 300
    store.close()


def test_search_tail_grows_then_folds_and_always_equals_a_fresh_index(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Small builds append to the newest segment's tail (a few small files); past the tail's
    limit, or when the segment fills up, the tail is folded into the segment's postings and its
    files go. At every step the index reads (as search.js reads it) exactly like a fresh one."""
    from newsdesk.publish.site import search as site_search

    monkeypatch.setattr(site_search, "SEG_SIZE", 64)  # small segments and tails: many of each
    monkeypatch.setattr(site_search, "TAIL_MAX", 20)
    store = SQLiteStore(tmp_path / "archive.db")
    spec = FeedSpec("金融", "站", "源", url="http://x/")
    t0 = datetime(2024, 3, 1, tzinfo=UTC)
    words = ["千兆光网", "存款准备金率", "专项债券", "新能源汽车", "跨境电商", "数字人民币"]

    def add(start: int, count: int) -> None:
        entries = [
            _entry(
                i,
                f"第{i}篇{words[i % 6]}",
                f"<p>{words[i % 5]}与{words[i % 4]}的消息。</p>",
                t0 + timedelta(minutes=i),
            )
            for i in range(start, start + count)
        ]
        store.save_fetch(spec, FetchResult(spec.source, 200), entries, datetime.now(UTC))

    config = SiteConfig.model_validate({"base_dir": tmp_path, "site_dir": "site"})
    add(0, 50)
    build_site(store, config)
    seen_tail = seen_fold = False
    n = 50
    for step, count in enumerate([5, 6, 4, 8, 3, 12, 2, 30, 1]):
        before = _tree(tmp_path / "site")
        had_tail = any(re.fullmatch(r"search/s\d+/t\d+\.js", k) for k in before)
        add(n, count)
        n += count
        build_site(store, config)
        tree = _tree(tmp_path / "site")
        tails = [k for k in tree if re.fullmatch(r"search/s\d+/t\d+\.js", k)]
        info = _script_data(tree["search/index.js"])
        if tails:
            seen_tail = True
            assert {int(k.split("/")[1][1:]) for k in tails} == {info["tl"]}
            assert len(tails) == bin(int(info["tm"], 16)).count("1")
            # A tail build leaves the segment's own postings shards as they were.
            own = [k for k in before if k.startswith(f"search/s{info['tl']}/") and "/t" not in k]
            assert own and [k for k in own if tree[k] != before[k]] == []
        else:
            assert info["tl"] == -1
            seen_fold = seen_fold or had_tail
        fresh = SiteConfig.model_validate({"base_dir": tmp_path, "site_dir": f"fresh{step}"})
        build_site(store, fresh)
        assert _postings(tree) == _postings(_tree(tmp_path / f"fresh{step}")), step
        assert _postings(tree)["千兆"] == sorted(
            i for i in range(n) if "千兆" in words[i % 6] + words[i % 5] + words[i % 4]
        )
        # Nothing changed: nothing written, the tail included.
        assert build_site(store, config).written == 0
    assert seen_tail and seen_fold
    store.close()


def test_records_from_heads_equal_records_from_whole_entries(tmp_path: Path) -> None:
    """Large builds make the list records from entries read without bodies: the same records."""
    from newsdesk.publish.site.model import EntryRecord, entry_summary, item_details

    def whole_uid(metas: dict[str, EntryRecord], title: str) -> str:
        return next(u for u, m in metas.items() if m.title == title)

    store = SQLiteStore(tmp_path / "archive.db")
    spec = FeedSpec("金融", "站", "源", url="http://x/")
    t0 = datetime(2024, 3, 1, tzinfo=UTC)
    cleaned = _article(
        summary="  摘要\x01 一句 ", header_image="https://n.sinaimg.cn/a.jpg", source=" 中国新闻网 "
    )
    entries = [
        _entry(1, "甲\x0b报道", "<p>x</p>", t0),
        _entry(2, "", "<p>没有摘要的<b>正文</b>" + "长" * 300 + "</p>", t0),
        ParsedEntry(
            id="id3", title="丙", link=None, published=None, content="<p>z</p>", summary="<i>原摘要</i>"
        ),
    ]
    store.save_fetch(
        spec, FetchResult(spec.source, 200), entries, datetime.now(UTC), articles={"id1": cleaned}
    )
    uids = [e.uid for e in store.list_entries(limit=None)]
    got = store.get_entry_heads(uids)
    heads = {h.uid: EntryRecord.from_head(h) for h in got}
    whole = {e.uid: EntryRecord.from_entry(e) for e in store.get_entries(uids)}
    assert heads == whole and len(whole) == 3
    assert {m.source for m in whole.values()} == {"中国新闻网", None}
    # A list item's summary and image, read from the head, are the feeds' summary and image.
    details = {h.uid: item_details(h) for h in got}
    for e in store.get_entries(uids):
        image = e.article.header_image if e.article is not None else None
        assert details[e.uid] == (entry_summary(e), image)
    assert {d[0] for d in details.values()} >= {"摘要 一句", "原摘要"}
    assert len(details[whole_uid(whole, "")][0]) == 120
    store.close()


def test_manifest_is_trusted_within_one_boot_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Pages are not synced: the manifest records the machine's boot id, and a manifest written
    in another boot (pages the kernel had not yet written may be lost) makes a full build.
    Where the kernel tells no boot id, the build syncs and the manifest carries none."""
    from newsdesk.publish.site import output as site_output

    spec = FeedSpec("金融", "站", "源", url="http://x/")
    t0 = datetime(2024, 3, 1, tzinfo=UTC)
    store = _store_with(tmp_path, [spec], 30, t0)
    config = SiteConfig.model_validate({"base_dir": tmp_path})
    manifest = tmp_path / "site" / ".newsdesk" / "manifest.json"
    first = build_site(store, config).written
    data = json.loads(manifest.read_text("utf-8"))
    assert data["boot"] == site_output.boot_id() is not None
    assert build_site(store, config).written == 0  # same boot: trusted
    data["boot"] = "00000000-0000-0000-0000-000000000000"  # as if written before a restart
    manifest.write_text(json.dumps(data), "utf-8")
    again = build_site(store, config)
    assert again.written + again.unchanged >= first and again.unchanged < first // 2
    # No boot id (another kernel): synced, no boot recorded, trusted by the next build.
    monkeypatch.setattr(site_output, "_BOOT_ID", tmp_path / "no-such-file")
    store.save_fetch(
        spec, FetchResult(spec.source, 200), [_entry(99, "新篇", "<p>新</p>", t0)], datetime.now(UTC)
    )
    assert build_site(store, config).written > 0
    assert "boot" not in json.loads(manifest.read_text("utf-8"))
    assert build_site(store, config).written == 0
    store.close()


def test_manifest_records_round_trip_and_a_damaged_one_means_a_full_build(tmp_path: Path) -> None:
    """The manifest keeps each entry's record as a row whose names (group, site, feed, 来源) are
    indexes into one list; read back, the records are the same (nothing is re-rendered).
    Rows that do not fit the list (a damaged manifest) make a full build, not an error."""
    specs = [
        FeedSpec(g, s, f"{s}－要闻", url=f"http://x/{g}")
        for g, s in (("金融", "新浪财经"), ("政策", "人民网"))
    ]
    store = _store_with(tmp_path, specs, 5, datetime(2024, 3, 1, tzinfo=UTC))
    config = SiteConfig.model_validate({"base_dir": tmp_path})
    manifest = tmp_path / "site" / ".newsdesk" / "manifest.json"
    first = build_site(store, config).written
    data = json.loads(manifest.read_text("utf-8"))
    names, rows = data["names"], data["metas"]
    assert len(rows) == 10 and {"金融", "政策", "新浪财经－要闻", "人民网－要闻"} <= set(names)
    assert all(isinstance(r[3], int) and names[r[5]].endswith("－要闻") for r in rows)
    assert build_site(store, config).written == 0  # read back: the same records, nothing to do
    data["names"] = names[:1]  # rows now point past the list
    manifest.write_text(json.dumps(data, ensure_ascii=False), "utf-8")
    again = build_site(store, config)
    assert again.unchanged == 0 and again.written + again.unchanged >= first - 1
    assert build_site(store, config).written == 0
    store.close()


def test_a_second_build_in_one_process_remakes_folders_deleted_since(tmp_path: Path) -> None:
    """The rendering processes remember which folders they made; a later build in the same
    process (a reader app, a test) must not trust that memory after the site was deleted."""
    import shutil

    spec = FeedSpec("金融", "站", "源", url="http://x/")
    store = _store_with(tmp_path, [spec], 400, datetime(2024, 3, 1, tzinfo=UTC))
    config = SiteConfig.model_validate({"base_dir": tmp_path})
    pool = PoolOptions(parallel=True, steal_from=1)  # this process renders batches too
    first = build_site(store, config, pool=pool).written
    shutil.rmtree(tmp_path / "site")
    again = build_site(store, config, pool=pool)
    assert again.written == first and (tmp_path / "site" / "index.html").exists()
    store.close()


def test_the_build_process_takes_back_batches_no_worker_has_started(tmp_path: Path) -> None:
    """At the end of a build the workers render what the build process left them while it
    writes the search index and feeds; when it is done, it renders the batches they have not
    started itself. Every page is still written once, recorded in the order sent, and the
    same as rendered in one process."""
    from newsdesk.publish.site.output import Output
    from newsdesk.publish.site.pool import BATCH, PageRenderer, PoolOptions
    from newsdesk.publish.site.render import Renderer

    def render_all(root: Path, parallel: bool) -> tuple[Output, PageRenderer]:
        renderer = Renderer(None, {"site_title": "新闻台", "nav": [("金融", "c/jr/")]})
        out = Output(root, {})
        pages = PageRenderer(renderer, out, PoolOptions(), parallel=parallel)
        pages.steal = False  # as at the end of `_lists`: everything goes to the worker
        try:
            for i in range(20 * BATCH):
                pages.page(
                    "search.html",
                    f"p/{i % 7}/{i}.html",
                    f"k{i}",
                    crumbs=[("首页", "")],
                    page_title=f"第{i}页",
                )
            pages.drain()
        finally:
            pages.close()
        out.close()
        return out, pages

    inline, _ = render_all(tmp_path / "one", parallel=False)
    forked, pool = render_all(tmp_path / "two", parallel=True)
    assert pool.stats.reclaimed > 0  # the worker had not started them: rendered here
    assert list(forked.pages) == list(inline.pages)  # recorded in the order sent
    assert forked.pages == inline.pages
    one, two = _tree(tmp_path / "one"), _tree(tmp_path / "two")
    assert len(two) == 20 * BATCH and one == two


def test_publisher_feeds_writes_the_feeds_alone_linking_to_the_originals(tmp_path: Path) -> None:
    """Publisher "feeds" has its own plan and manifest: the same lists' feeds as the site's,
    no pages, items linking to the original articles; a second run writes nothing, and a new
    entry rewrites only the feeds that show it."""
    from newsdesk.publish.base import get_publisher, run_publisher

    specs = [FeedSpec("金融", "站", "源", url="http://x/"), FeedSpec("政策", "部", "令", url="http://y/")]
    store = _store_with(tmp_path, specs, 5, datetime(2024, 3, 1, tzinfo=UTC))
    config = SiteConfig.model_validate({"base_dir": tmp_path, "site_dir": "feeds"})
    first = run_publisher(get_publisher("feeds"), store, config)
    tree = _tree(tmp_path / "feeds")
    assert first.publisher == "feeds" and first.written == len(tree) > 0
    assert {k.rpartition("/")[2] for k in tree} == {"rss.xml", "atom.xml", "feed.json"}
    assert "rss.xml" in tree and not any(k.endswith(".html") for k in tree)
    rss = ET.fromstring(tree["rss.xml"])
    assert [i.findtext("link") for i in rss.iter("item")][:1] == ["https://news.example.cn/4.html"]
    assert (tmp_path / "feeds" / ".newsdesk" / "feeds-manifest.json").exists()
    assert run_publisher(get_publisher("feeds"), store, config).written == 0
    spec = specs[1]
    new = [_entry(99, "新文章", "<p>新</p>", datetime(2024, 3, 2, tzinfo=UTC))]
    store.save_fetch(spec, FetchResult(spec.source, 200), new, datetime.now(UTC))
    again = run_publisher(get_publisher("feeds"), store, config)
    # The site's, the group's, the site's and the feed's three files; 金融's are unchanged.
    assert again.written == 4 * 3
    assert _tree(tmp_path / "feeds").keys() == tree.keys()
    store.close()
