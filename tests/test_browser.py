"""The built site in a real browser: Debian's Chromium driven by Playwright (no browser download).

Needs `apt-get install chromium` and `pip install playwright`; skipped when either is missing.
Screenshots of the home and an article page are saved in the test's tmp folder.
"""

from __future__ import annotations

import functools
import http.server
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from server import FeedServer
from test_site import REF_TITLE, SEED, build, newsdesk, rss, write_config

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
sync_api = pytest.importorskip("playwright.sync_api")
pytestmark = [
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed"),
    pytest.mark.skipif(not SEED.exists(), reason="../shared/reference is not beside the clone"),
]

# Root needs --no-sandbox; the rest keeps Chromium from calling home on a closed network.
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-default-apps",
    "--disable-extensions",
]


@pytest.fixture(scope="module", params=["fresh", "grown"])
def site(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The reference article's site; "grown": built first without it, so that the reference
    reaches the search index in a small incremental build (the newest segment's tail). Built
    once per module: the tests only read it."""
    with FeedServer() as feed_server:
        yield _site(request.param, tmp_path_factory.mktemp(f"site-{request.param}"), feed_server)


def _site(kind: str, tmp_path: Path, feed_server: FeedServer) -> Path:
    feed_server.route("/sina/finance", SEED.read_bytes())
    ref = ("金融", "新浪财经", "新浪财经－国內", feed_server.url("/sina/finance"))
    if kind == "grown":
        items = [
            (f"g{i}", f"央行开展第{i}次逆回购操作", f"<p>公开市场操作第{i}期，光纤网络与千兆宽带。</p>")
            for i in range(30)
        ]
        feed_server.route("/policy", rss(items).encode())
        config = write_config(tmp_path, [("政策", "人民银行", "公开市场", feed_server.url("/policy"))])
        newsdesk(config, "run")
        build(config)
        write_config(tmp_path, [ref, ("政策", "人民银行", "公开市场", feed_server.url("/policy"))])
    config = write_config(tmp_path, [ref]) if kind == "fresh" else tmp_path / "newsdesk.yaml"
    newsdesk(config, "run")
    build(config)
    index = (tmp_path / "site" / "search" / "index.js").read_text("utf-8")
    assert ('"tl":-1' in index) == (kind == "fresh")
    return tmp_path / "site"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


# A 1×1 transparent PNG, answered in place of a portal's image.
PIXEL = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000d4944415478da63f8ffff3f0005fe02fea7d6a4f60000000049454e44ae426082"
)
LOCAL = ("file://", "http://127.0.0.1", "data:")


class Watch:
    """Console errors, page errors, and every request for another host — which is stopped in
    the browser, so nothing leaves the machine. Article bodies may show the portal's own
    images (hotlinked on purpose); those are answered with a local pixel and recorded with
    their Referer header, which must be absent (referrerpolicy="no-referrer")."""

    def __init__(self, page: Any) -> None:
        self.errors: list[str] = []
        self.foreign: list[str] = []  # anything else for another host: must stay empty
        self.images: list[tuple[str, str | None]] = []
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.route("**/*", self._route)

    def _route(self, route: Any) -> None:
        req = route.request
        if req.url.startswith(LOCAL):
            route.continue_()
        elif req.resource_type == "image":
            self.images.append((req.url, req.headers.get("referer")))
            route.fulfill(status=200, content_type="image/png", body=PIXEL)
        else:
            self.foreign.append(req.url)
            route.abort()

    def check(self) -> None:
        assert self.errors == []
        assert self.foreign == []
        assert [url for url, referer in self.images if referer] == []


def search(page: Any, query: str) -> list[str]:
    page.fill("#search-q", query)
    page.click("#search-form button")
    page.wait_for_function("q => document.body.getAttribute('data-search-done') === q", arg=query)
    return [str(t) for t in page.locator("#search-results li a").all_inner_texts()]


def test_site_in_chromium_from_file(site: Path, tmp_path: Path, browser: Any) -> None:
    page = browser.new_page(viewport={"width": 390, "height": 844})  # a phone
    watch = Watch(page)
    page.goto(site.joinpath("index.html").as_uri())
    assert page.locator("h1").inner_text() == "最新文章"
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    assert page.title() == "新闻台"
    # Nothing wider than the phone's screen.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=str(tmp_path / "home.png"), full_page=True)

    page.click(f"text={REF_TITLE}")
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == REF_TITLE
    assert "千兆光网" in page.locator(".body").inner_text()
    assert "原文链接" in page.locator(".info").inner_text()
    page.screenshot(path=str(tmp_path / "article.png"), full_page=True)

    page.click(".crumbs >> text=金融")
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == "金融"
    assert REF_TITLE in page.locator(".items").inner_text()

    page.click("nav.main >> text=搜索")
    page.wait_for_load_state()
    assert search(page, "千兆光网") == [REF_TITLE]
    assert search(page, "千兆光網") == [REF_TITLE]  # Traditional input, Simplified text
    assert search(page, "不存在的词语组合") == []
    # The search box of any page leads to the results.
    page.goto(site.joinpath("categories.html").as_uri())
    page.fill(".searchbox input", "千兆光網")
    page.press(".searchbox input", "Enter")
    page.wait_for_function("document.body.getAttribute('data-search-done') === '千兆光網'")
    assert page.locator("#search-results li a").all_inner_texts() == [REF_TITLE]

    watch.check()
    assert (tmp_path / "home.png").stat().st_size > 1000
    assert (tmp_path / "article.png").stat().st_size > 1000


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def test_site_in_chromium_over_http(site: Path, browser: Any) -> None:
    handler = functools.partial(_Quiet, directory=str(site))
    with http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler) as httpd:
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        try:
            base = f"http://127.0.0.1:{httpd.server_address[1]}/"
            page = browser.new_page()
            watch = Watch(page)
            page.goto(base + "search.html?q=" + "千兆光网")
            page.wait_for_function("document.body.getAttribute('data-search-done') === '千兆光网'")
            assert page.locator("#search-results li a").all_inner_texts() == [REF_TITLE]
            page.click(f"#search-results >> text={REF_TITLE}")
            page.wait_for_load_state()
            assert page.locator("h1").inner_text() == REF_TITLE
            watch.check()
        finally:
            httpd.shutdown()
