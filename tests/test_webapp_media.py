"""Sites' icons and `images: cache` through the real `serve`: two local sites (each its own
server, so its own host), one with an icon named by its home page, one with none; article
images fetched once by the desk (an image, a page pretending to be one, one over the size
cap), kept beside the archive and served by the app under stable URLs, the article's `<img>`
pointing there and the pages' CSP allowing images from the desk alone. `newsdesk run` with the
setting fetches them too."""

from __future__ import annotations

import hashlib
import json
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

import test_xss
from cli_helpers import run_cli, write_desk_config
from newsdesk.media import ICON_MAX_BYTES, IMAGE_MAX_BYTES, image_type
from newsdesk.models import EntryQuery
from serve_helpers import BASE_TIME, ServeProcess, add_user, desk_config, poll
from server import FeedServer
from test_browser import CHROMIUM
from webapp_helpers import csrf_of

sync_api = pytest.importorskip("playwright.sync_api")
browser = test_xss.browser  # the fixture: Debian's Chromium where only 127.0.0.1 resolves

SHOTS = Path(__file__).resolve().parent.parent / "test-output" / "webapp"
DEMO_IMAGES = Path(__file__).resolve().parents[1] / "demo" / "images"
PNG = (DEMO_IMAGES / "appliances.png").read_bytes()
ICON = (DEMO_IMAGES / "bank-deposit.png").read_bytes()


def article_feed(server: FeedServer, *numbers: int) -> str:
    """A feed of articles with three pictures each: a real one, an HTML page, one too big."""
    items = "".join(_item(server, n) for n in numbers)
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>源</title>'
        f"{items}</channel></rss>"
    )


def _item(server: FeedServer, n: int) -> str:
    rng = random.Random(n)  # text of its own: the two articles are not one story
    words = ["".join(chr(rng.randrange(0x4E00, 0x9FA5)) for _ in range(60)) for _ in range(3)]
    body = (
        f"<p>第{n}篇：{words[0]}。</p>"
        f'<p><img src="{server.url(f"/photos/{n}/real.png")}" alt="图一"></p>'
        f"<p>{words[1]}。</p>"
        f'<p><img src="{server.url(f"/photos/{n}/page.png")}" alt="图二"></p>'
        f"<p>{words[2]}。</p>"
        f'<p><img src="{server.url(f"/photos/{n}/big.jpg")}" alt="图三"></p>'
    )
    published = format_datetime(BASE_TIME + timedelta(hours=n))
    return (
        f"<item><title>第{n}篇：新型基础设施建设</title><link>{server.url(f'/a/{n}.html')}</link>"
        f"<guid>a{n}</guid><pubDate>{published}</pubDate>"
        f"<description><![CDATA[{body}]]></description></item>"
    )


def serve_pictures(server: FeedServer, n: int) -> None:
    server.route(f"/photos/{n}/real.png", PNG, content_type="image/png")
    server.route(f"/photos/{n}/page.png", "<html><body>登录后查看</body></html>", content_type="image/png")
    server.route(f"/photos/{n}/big.jpg", b"\xff\xd8\xff" + b"0" * IMAGE_MAX_BYTES, content_type="image/jpeg")


@dataclass
class MediaDesk:
    url: str
    token: str  # an admin's API token
    serve: ServeProcess
    tmp: Path
    iconic: FeedServer  # the site with an icon
    plain: FeedServer  # the site without one


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MediaDesk]:
    tmp = tmp_path_factory.mktemp("media")
    with FeedServer() as iconic, FeedServer() as plain:
        iconic.route("/", '<html><head><link rel="shortcut icon" href="/static/site.png"></head><body></body></html>')
        iconic.route("/static/site.png", ICON, content_type="image/png")
        iconic.route("/feed.xml", article_feed(iconic, 1))
        serve_pictures(iconic, 1)
        plain.route("/feed.xml", article_feed(plain, 2))
        serve_pictures(plain, 2)
        config = desk_config(
            tmp,
            [("政策", "有图标", "要闻", iconic.url("/feed.xml")), ("政策", "无图标", "要闻", plain.url("/feed.xml"))],
            extra=["images: cache"],
        )
        add_user(tmp / "archive.db", "reader", admin=False)
        _, token = add_user(tmp / "archive.db", "chief", admin=True)
        serve = ServeProcess(config)
        try:
            serve.wait_healthy()
            yield MediaDesk(serve.url, token, serve, tmp, iconic, plain)
        finally:
            serve.stop()


@pytest.fixture(scope="module")
def reader(desk: MediaDesk) -> Iterator[httpx.Client]:
    with httpx.Client(timeout=30) as c:
        token = csrf_of(c.get(f"{desk.url}/login").text)
        r = c.post(f"{desk.url}/login", data={"csrf": token, "name": "reader", "password": "pw-reader-secret"})
        assert r.status_code == 303
        yield c


def name_of(url: str) -> str:
    return hashlib.sha256(url.encode()).hexdigest()


def test_a_sites_icon_is_fetched_once_and_served_from_the_desk(desk: MediaDesk, reader: httpx.Client) -> None:
    def listed() -> str | None:
        page = reader.get(f"{desk.url}/").text
        return page if 'class="icon" src="/icon?' in page and page.count('class="item entry') == 2 else None

    page = poll(listed, "both articles listed, the icon shown")
    # The sidebar and the rows: the icon for the site that has one, a neutral square for the other.
    links = set(re.findall(r'<img class="icon" src="(/icon\?[^"]+)"', page))
    assert links == {"/icon?g=%E6%94%BF%E7%AD%96&amp;s=%E6%9C%89%E5%9B%BE%E6%A0%87"}
    assert page.count('<span class="icon none"></span>') >= 2  # the other site's sidebar node and row
    icon = reader.get(f"{desk.url}{links.pop().replace('&amp;', '&')}")
    assert icon.status_code == 200 and icon.content == ICON
    assert icon.headers["content-type"] == "image/png" and "max-age=2592000" in icon.headers["cache-control"]
    # Fetched once: a later batch (refresh now, a new article) asks for the feed and the new
    # article's images (the batch's last step, after the icons), not for the icons again.
    desk.iconic.route("/feed.xml", article_feed(desk.iconic, 1, 3))
    serve_pictures(desk.iconic, 3)
    # The site without an icon first, then the other: batches run one after another, so once
    # the second batch's images are kept, the first batch has ended too.
    with httpx.Client(base_url=f"{desk.url}/api/v1", headers={"Authorization": f"Bearer {desk.token}"}) as api:
        assert api.post("/feeds/政策/无图标/要闻/refresh").status_code == 202
        poll(lambda: desk.plain.hits("/feed.xml") == 2 or None, "the plain site's feed fetched again")
        assert api.post("/feeds/政策/有图标/要闻/refresh").status_code == 202
    third = desk.iconic.url("/photos/3/real.png")
    poll(lambda: (desk.tmp / "archive.db-images" / name_of(third)[:2] / name_of(third)).is_file() or None, "image 3")
    assert desk.iconic.hits("/feed.xml") == 2 and desk.plain.hits("/feed.xml") == 2
    assert desk.iconic.hits("/static/site.png") == 1 and desk.iconic.hits("/") == 1
    assert desk.plain.hits("/favicon.ico") == 1 and desk.plain.hits("/") == 1
    none = reader.get(f"{desk.url}/icon", params={"g": "政策", "s": "无图标"})
    assert none.status_code == 200 and none.headers["content-type"].startswith("image/svg+xml")
    assert "no-cache" in none.headers["cache-control"]
    # Behind the login, like every page.
    with httpx.Client(timeout=30) as anonymous:
        assert anonymous.get(f"{desk.url}/icon", params={"g": "政策", "s": "有图标"}).status_code == 401


def test_article_images_are_cached_beside_the_archive_and_served_locally(
    desk: MediaDesk, reader: httpx.Client
) -> None:
    real = desk.iconic.url("/photos/1/real.png")
    kept = desk.tmp / "archive.db-images" / name_of(real)[:2] / name_of(real)
    poll(lambda: kept.is_file() or None, "the article's image kept beside the archive")
    page = reader.get(f"{desk.url}/").text
    uid = next(u for u, t in re.findall(r'data-id="([0-9a-f]{16})".*?class="title"[^>]*>([^<]+)<', page, re.S) if "第1篇" in t)
    article = reader.get(f"{desk.url}/entry/{uid}")
    csp = article.headers["content-security-policy"]
    assert "img-src 'self' data:;" in csp and "https:" not in csp
    sources = re.findall(r'<img [^>]*src="([^"]+)"', article.text)
    assert sources == [f"/images/{name_of(desk.iconic.url(f'/photos/1/{p}'))}" for p in ("real.png", "page.png", "big.jpg")]
    assert 'alt="图一"' in article.text and 'referrerpolicy="no-referrer"' in article.text  # otherwise as sanitised
    image = reader.get(f"{desk.url}{sources[0]}")
    assert image.status_code == 200 and image.content == PNG and image.headers["content-type"] == "image/png"
    assert "immutable" in image.headers["cache-control"]
    # A page posing as an image and one over the cap are not kept: the placeholder, not cached.
    for refused in sources[1:]:
        r = reader.get(f"{desk.url}{refused}")
        assert r.headers["content-type"].startswith("image/svg+xml") and "no-cache" in r.headers["cache-control"]
    folder = desk.tmp / "archive.db-images"
    assert sorted(p.name for p in folder.rglob("*") if p.is_file()) == sorted(
        name_of(url)
        for url in (real, desk.plain.url("/photos/2/real.png"), desk.iconic.url("/photos/3/real.png"))
    )
    assert desk.iconic.hits("/photos/1/real.png") == 1  # fetched once
    assert reader.get(f"{desk.url}/images/{'0' * 63}").status_code == 422  # not a name


def test_what_is_kept_is_an_image_of_its_declared_type() -> None:
    assert image_type("image/png", PNG) == "image/png"
    assert image_type("image/jpeg; charset=binary", b"\xff\xd8\xff\xe0rest") == "image/jpeg"
    assert image_type("image/png", b"<html>") is None  # says PNG, is a page
    assert image_type("text/html", PNG) is None  # is PNG, says a page
    assert image_type("image/svg+xml", b"<svg xmlns='http://www.w3.org/2000/svg'/>") is None  # may carry script
    assert image_type("image/webp", b"RIFF\x00\x00\x00\x00WAVE") is None
    assert image_type("application/octet-stream", b"\x00\x00\x01\x00icon") == "image/x-icon"  # a bare favicon.ico
    assert image_type(None, PNG) == "image/png"
    assert image_type("application/octet-stream", b"<html>") is None
    assert ICON_MAX_BYTES < IMAGE_MAX_BYTES


def test_newsdesk_run_applies_rules_skips_and_caches_images(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from newsdesk.store import open_store

    with FeedServer() as site:
        site.route("/feed.xml", article_feed(site, 1))
        serve_pictures(site, 1)
        config = write_desk_config(tmp_path, [("政策", "某站", "要闻", site.url("/feed.xml"))], publishers=())
        config.write_text(config.read_text(encoding="utf-8") + "images: cache\n", encoding="utf-8")
        add_user(tmp_path / "archive.db", "reader", admin=False)
        now = datetime.now(UTC)
        store = open_store(str(tmp_path / "archive.db"))
        try:
            reader = store.get_user("reader")
            assert reader is not None
            store.add_rule(reader.id, "第4篇", is_regex=False, matching=True, action="star", feed_key=None, now=now)
            store.add_skip_rule(r"第5篇", is_regex=True, matching=True, feed_key=None, by="chief", now=now)
        finally:
            store.close()
        first = json.loads(run_cli(config, "run", "--json").stdout)
        assert first["totals"]["new"] == 1
        real = site.url("/photos/1/real.png")
        assert (tmp_path / "archive.db-images" / name_of(real)[:2] / name_of(real)).read_bytes() == PNG
        site.route("/feed.xml", article_feed(site, 1, 4, 5))
        serve_pictures(site, 4)
        serve_pictures(site, 5)
        second = json.loads(run_cli(config, "run", "--json").stdout)
        assert second["totals"]["new"] == 1 and second["totals"]["skipped"] == 1
        assert second["feeds"][0]["skipped"] == 1
        text = run_cli(config, "run").stdout  # the summary says it too
        assert "1 skipped by rule" in text
        store = open_store(str(tmp_path / "archive.db"))
        try:
            titles = {e.title[:3] for e in store.get_entries(list(store.iter_uids()))}
            assert titles == {"第1篇", "第4篇"}  # 5 never stored
            starred = store.reader_entries(reader.id, EntryQuery(starred=True), limit=10)[0]
            assert [i.entry.title[:3] for i in starred] == ["第4篇"]  # the reader's rule, without any page
        finally:
            store.close()
        assert site.hits("/photos/4/real.png") == 1 and site.hits("/photos/5/real.png") == 0


def test_kept_images_follow_the_archive_through_prune_backup_and_restore(tmp_path: Path) -> None:
    """Real files through the CLI: a backup takes the images its entries refer to; a feed
    removed with its entries takes its images along at the next run (and the folder's litter
    goes, what is not ours stays); a restore puts the backup's images back, and a backup that
    missed one (lost meanwhile) leaves the restored desk to fetch it again."""
    from newsdesk.atomic import temp_path
    from newsdesk.models import FeedSpec
    from newsdesk.store import open_store

    with FeedServer() as site:
        site.route("/feed.xml", article_feed(site, 1))
        site.route("/flash.xml", article_feed(site, 2))
        serve_pictures(site, 1)
        serve_pictures(site, 2)
        config = write_desk_config(tmp_path, [("政策", "某站", "要闻", site.url("/feed.xml"))], publishers=())
        config.write_text(config.read_text(encoding="utf-8") + "images: cache\n", encoding="utf-8")
        flash = FeedSpec(group="政策", site="某站", name="快讯", url=site.url("/flash.xml"))
        store = open_store(str(tmp_path / "archive.db"))
        try:
            store.add_feed(flash, BASE_TIME)  # an admin's feed (the API's): removed with its entries
        finally:
            store.close()
        assert json.loads(run_cli(config, "run", "--json").stdout)["totals"]["new"] == 2
        folder = tmp_path / "archive.db-images"
        one, two = name_of(site.url("/photos/1/real.png")), name_of(site.url("/photos/2/real.png"))

        def kept(name: str, under: Path = folder) -> Path:
            return under / name[:2] / name

        assert kept(one).read_bytes() == PNG and kept(two).read_bytes() == PNG

        manifest = json.loads(run_cli(config, "backup", str(tmp_path / "bk"), "--json").stdout)
        assert manifest["images"] == {"folder": "images", "files": 2, "bytes": 2 * len(PNG), "missing": 0}
        for name in (one, two):
            assert kept(name, tmp_path / "bk" / "images").read_bytes() == PNG
            assert manifest["files"][f"images/{name[:2]}/{name}"]["sha256"] == hashlib.sha256(PNG).hexdigest()

        # Litter no record names (an interrupted pass's file, a half-written one), and files
        # that are not the desk's.
        stray = kept("f" * 64)
        stray.parent.mkdir(exist_ok=True)
        stray.write_bytes(PNG)
        half = Path(temp_path(str(kept(one))))
        half.write_bytes(PNG[:10])
        foreign = [folder / "README.txt", folder / "ff" / "notes.txt"]
        for path in foreign:
            path.write_text("mine", encoding="utf-8")
        store = open_store(str(tmp_path / "archive.db"))
        try:
            assert store.delete_feed(flash.key) == 1
        finally:
            store.close()
        run_cli(config, "run", "--json")  # its after-batch step prunes: an entry was removed
        assert kept(one).read_bytes() == PNG
        assert not kept(two).exists() and not stray.exists() and not half.exists()
        assert all(p.read_text(encoding="utf-8") == "mine" for p in foreign)
        store = open_store(str(tmp_path / "archive.db"))
        try:
            assert store.known_images([one, two]) == {one}
        finally:
            store.close()
        pruned = json.loads(run_cli(config, "images", "prune", "--json").stdout)
        assert pruned == {"records": 0, "files": 0, "bytes": 0}

        restored = json.loads(run_cli(config, "restore", str(tmp_path / "bk"), "--json").stdout)
        assert kept(one).read_bytes() == PNG and kept(two).read_bytes() == PNG
        aside = Path(restored["kept_images"])
        assert aside.name.startswith("archive.db-images.before-restore-")
        assert kept(one, aside).exists() and not kept(two, aside).exists()
        check = json.loads(run_cli(config, "check", "--json").stdout)
        assert all(r["ok"] for r in check), check

        kept(one).unlink()  # lost: the next backup misses it
        manifest = json.loads(run_cli(config, "backup", str(tmp_path / "bk2"), "--json").stdout)
        assert (manifest["images"]["files"], manifest["images"]["missing"]) == (1, 1)
        run_cli(config, "restore", str(tmp_path / "bk2"), "--json")
        hits = (site.hits("/photos/1/real.png"), site.hits("/photos/2/real.png"))
        run_cli(config, "run", "--json")
        assert kept(one).read_bytes() == PNG  # fetched again, and only that one
        assert (site.hits("/photos/1/real.png"), site.hits("/photos/2/real.png")) == (hits[0] + 1, hits[1])


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed")
def test_icons_and_cached_images_show_in_chromium_from_the_desk_alone(
    desk: MediaDesk, reader: httpx.Client, browser: Any
) -> None:
    origin = desk.url.rstrip("/")
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(15_000)
    asked: list[str] = []
    errors: list[str] = []
    page.on("request", lambda r: asked.append(r.url))
    page.on("console", lambda m: errors.append(f"{m.text} {m.location}") if m.type == "error" else None)
    try:
        page.goto(f"{origin}/login")
        page.fill('input[name="name"]', "reader")
        page.fill('input[name="password"]', "pw-reader-secret")
        page.click('#login-form button[type="submit"]')
        page.wait_for_selector("body[data-ready='1'] .list-head")
        loaded = "img => img.complete && img.naturalWidth > 0"
        icons = page.locator(".tree img.icon")
        assert icons.count() == 1 and icons.first.evaluate(loaded)
        assert page.locator(".tree span.icon.none").count() == 1  # the site without one
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / "icons-list.png"))
        page.goto(f"{origin}/all")  # 第1篇 was read by the test before
        page.wait_for_selector("body[data-ready='1'] .list-head")
        page.locator("a.title", has_text="第1篇").click()
        page.wait_for_selector("body[data-ready='1'] .body")
        images = page.locator(".body img")
        assert images.count() == 3
        assert images.first.evaluate("img => img.naturalWidth") > 16  # the kept picture, not the placeholder
        page.screenshot(path=str(SHOTS / "cached-images-article.png"), full_page=True)
    finally:
        context.close()
    assert errors == []  # no CSP violation: every image came from the desk
    assert asked and all(url.startswith(origin) for url in asked), [u for u in asked if not u.startswith(origin)]
