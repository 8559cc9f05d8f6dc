"""The reader web app in Debian's Chromium (Playwright), against the real `serve` process:
log in, move through the list with the keyboard, open the reference article, star it, the
help overlay, search 千兆光網, mark everything read, the phone layout; then the XSS corpus
(tests/data/xss) through the app's pages with nothing executed. No request leaves 127.0.0.1:
host names do not resolve, and every request for another host is seen (article images are
answered with a local pixel and must carry no Referer). Console errors (a CSP violation is
one) fail the test. Screenshots go to test-output/webapp/ (gitignored)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import test_xss
from serve_helpers import ServeProcess, add_user, client, desk_config, poll
from server import FeedServer
from test_browser import CHROMIUM
from test_browser import Watch as PageWatch
from test_xss import _XML_ILLEGAL, CONTROL, GROUP, SITE, VECTORS, Vector, feed_of, rss
from test_xss import Watch as XssWatch
from webapp_helpers import REF_TITLE, SEED, Desk, running_desk

sync_api = pytest.importorskip("playwright.sync_api")
pytestmark = [
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed"),
    pytest.mark.skipif(not SEED.exists(), reason="../shared/reference is not beside the clone"),
]

SHOTS = Path(__file__).resolve().parent.parent / "test-output" / "webapp"
browser = test_xss.browser  # the fixture: Debian's Chromium where only 127.0.0.1 resolves
WIDE = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desk]:
    with running_desk(tmp_path_factory.mktemp("webapp-browser")) as d:
        yield d


def log_in(page: Any, url: str, name: str, password: str) -> None:
    page.goto(f"{url}/")
    assert "/login" in page.url  # sent to the login form first
    page.fill('input[name="name"]', name)
    page.fill('input[name="password"]', password)
    page.click('#login-form button[type="submit"]')
    page.wait_for_selector("body[data-ready='1'] .list-head")


def current_title(page: Any) -> str:
    return str(page.locator(".entry.current a.title").inner_text())


def test_reading_with_the_keyboard_search_and_mark_all_read(desk: Desk, browser: Any) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport=WIDE, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(15_000)
    watch = PageWatch(page)
    api = client(f"{desk.url}/api/v1", desk.token)
    try:
        log_in(page, desk.url, "reader", desk.password)
        assert page.locator("html").get_attribute("lang") == "zh-CN"
        assert page.locator("h1").inner_text() == "未读"
        rows = page.locator(".entry")
        count = rows.count()
        assert count == 13  # 12 items and one row for the story two outlets carry
        assert page.locator(".copies summary").inner_text() == "也见于 1 家媒体"
        page.screenshot(path=str(SHOTS / "list.png"), full_page=True)

        # j / k move the selection.
        page.keyboard.press("j")
        first = current_title(page)
        page.keyboard.press("j")
        second = current_title(page)
        page.keyboard.press("k")
        assert current_title(page) == first != second
        titles = rows.locator("a.title").all_inner_texts()
        assert [first, second] == titles[:2]
        # Down to the reference story, then o opens it.
        for _ in range(titles.index(REF_TITLE)):
            page.keyboard.press("j")
        assert current_title(page) == REF_TITLE
        uid = page.locator(".entry.current").get_attribute("data-id")
        page.keyboard.press("o")
        page.wait_for_url(f"**/entry/{uid}")
        page.wait_for_selector("body[data-ready='1']")
        assert page.locator("h1").inner_text() == REF_TITLE
        assert "千兆光网" in page.locator(".body").inner_text()
        info = page.locator(".info").inner_text()
        for label in ["来源", "责任编辑", "记者", "电头", "原文链接"]:
            assert label in info
        assert "2021-12-20 23:00" in info
        assert page.locator("#others li").count() == 1  # the other outlet
        images = page.locator(".body img")
        for i in range(images.count()):
            assert images.nth(i).get_attribute("referrerpolicy") == "no-referrer"
        assert api.get(f"/entries/{uid}").json()["read"] is True  # read on open

        # Infinite scroll: the next pages' rows come as the end of the list comes into view.
        page.goto(f"{desk.url}/all?limit=5")
        page.wait_for_selector("body[data-ready='1']")
        assert page.locator(".entry").count() == 5
        for _ in range(5):
            if page.locator("#older").count() == 0:
                break
            shown = page.locator("body").get_attribute("data-pages")
            page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
            page.wait_for_selector(f"body:not([data-pages='{shown}'])")
        assert page.locator("body").get_attribute("data-pages") == "3"
        assert page.locator(".entry").count() == 13  # 14 entries: the last page folds the story
        assert page.locator("#older").count() == 0
        page.go_back()
        page.wait_for_selector("body[data-ready='1']")

        # s stars it, in place.
        page.keyboard.press("s")
        page.wait_for_selector(f"body[data-last-action='starred:1:{uid}']")
        assert api.get(f"/entries/{uid}").json()["starred"] is True
        page.screenshot(path=str(SHOTS / "article.png"), full_page=True)

        # ? shows the shortcuts, Escape hides them.
        page.keyboard.press("?")
        assert page.locator("#help").is_visible()
        assert "j" in page.locator("#help").inner_text()
        page.keyboard.press("Escape")
        assert not page.locator("#help").is_visible()

        # g s: the starred list holds it.
        page.keyboard.press("g")
        page.keyboard.press("s")
        page.wait_for_url("**/starred")
        assert page.locator(".entry a.title").all_inner_texts() == [REF_TITLE]

        # / searches, Traditional input finding Simplified text.
        page.keyboard.press("/")
        page.keyboard.type("千兆光網")
        page.keyboard.press("Enter")
        page.wait_for_url("**/search?q=*")
        assert page.locator("#search-results a.title").all_inner_texts() == [REF_TITLE]
        assert set(page.locator("#search-results mark").all_inner_texts()) == {"千兆光网"}
        page.screenshot(path=str(SHOTS / "search.png"), full_page=True)

        # g u, then m on a row marks it read in place; then the whole list.
        page.keyboard.press("g")
        page.keyboard.press("u")
        page.wait_for_url(f"{desk.url}/")
        page.wait_for_selector("body[data-ready='1']")
        assert page.locator(".entry").count() == 12  # the reference story was read
        page.keyboard.press("j")
        row = page.locator(".entry.current").get_attribute("data-id")
        page.keyboard.press("m")
        page.wait_for_selector(f"body[data-last-action='read:1:{row}']")
        assert page.locator(".entry.current").get_attribute("class").split().count("read") == 1
        assert api.get(f"/entries/{row}").json()["read"] is True
        page.click("#mark-list-read")
        page.wait_for_selector(".empty")
        assert page.locator(".entry").count() == 0
        unread = api.get("/entries", params={"status": "unread"}).json()["entries"]
        assert unread == []
        assert page.locator(".tree .all .n").inner_text() == "0"
        watch.check()
    finally:
        api.close()
        context.close()


def test_phone_layout(desk: Desk, browser: Any) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(15_000)
    watch = PageWatch(page)
    try:
        log_in(page, desk.url, "reader", desk.password)
        page.goto(f"{desk.url}/all")
        width = "document.documentElement.scrollWidth"
        assert page.evaluate(width) <= 390
        # The feed tree folds away behind its label.
        assert not page.locator("aside.tree").is_visible()
        page.click("label.tree-label")
        assert page.locator("aside.tree").is_visible()
        assert page.evaluate(width) <= 390
        page.screenshot(path=str(SHOTS / "phone-list.png"), full_page=True)
        page.click(f".entry a.title >> text={REF_TITLE}")
        page.wait_for_selector("body[data-page='article']")
        assert page.evaluate(width) <= 390
        page.screenshot(path=str(SHOTS / "phone-article.png"), full_page=True)
        page.goto(f"{desk.url}/search?q=千兆光网")
        assert page.evaluate(width) <= 390
        # The setting "mark read on scroll": rows scrolled past are read.
        with client(f"{desk.url}/api/v1", desk.token) as api:
            for e in api.get("/entries", params={"limit": 100}).json()["entries"]:
                api.patch(f"/entries/{e['id']}", json={"read": False})
            page.goto(f"{desk.url}/settings")
            page.check("#scroll-read")
            page.click('#settings-form button[type="submit"]')
            page.goto(f"{desk.url}/")
            page.wait_for_selector("body[data-ready='1'][data-scroll-read='1']")
            first = page.locator(".entry").first.get_attribute("data-id")
            last = page.locator(".entry").last.get_attribute("data-id")
            page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
            # Waiting in the browser: its requests pass through this test's route handler.
            page.wait_for_selector(".entries > .entry:first-child[data-read='1']")
            assert api.get(f"/entries/{first}").json()["read"] is True
            assert api.get(f"/entries/{last}").json()["read"] is False  # still on the screen
        watch.check()
    finally:
        context.close()


# -- the XSS corpus through the app ------------------------------------------------------------


@pytest.fixture(scope="module")
def xss_desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, dict[str, Vector]]]:
    """A desk over the corpus (its feeds as test_xss.py makes them): (url, password, uid → vector)."""
    from newsdesk.models import entry_uid

    tmp = tmp_path_factory.mktemp("webapp-xss")
    everything = [CONTROL, *VECTORS]
    by_feed: dict[str, list[Vector]] = {}
    for v in everything:
        by_feed.setdefault(feed_of(v) if v is not CONTROL else "脚本与事件", []).append(v)
    with FeedServer() as server:
        base = server.url("").rstrip("/")
        feeds = [
            (GROUP, SITE, name, server.route(f"/feed{i}.xml", rss(vs, base)))
            for i, (name, vs) in enumerate(by_feed.items())
        ]
        config = desk_config(tmp, feeds)
        password, token = add_user(tmp / "archive.db", "reader", admin=False)
        serve = ServeProcess(config)
        try:
            serve.wait_healthy()
            with client(
                f"{serve.url}api/v1" if serve.url.endswith("/") else f"{serve.url}/api/v1", token
            ) as api:

                def ingested() -> bool:
                    got = api.get("/entries", params={"limit": 500}).json()["entries"]
                    return len(got) >= len(everything) - 1  # the feed of illegal XML may lose one

                poll(ingested, "the corpus ingested")
                stored = {e["id"] for e in api.get("/entries", params={"limit": 500}).json()["entries"]}
            vectors = {
                uid: v
                for name, vs in by_feed.items()
                for v in vs
                if (uid := entry_uid(f"{GROUP}/{SITE}/{name}", v.id)) in stored
            }
            yield serve.url, password, vectors
        finally:
            serve.stop()


def test_the_xss_corpus_through_the_app(xss_desk: tuple[str, str, dict[str, Vector]], browser: Any) -> None:
    url, password, vectors = xss_desk
    assert len(vectors) >= len(VECTORS)  # the control and every vector but at most one of illegal XML
    context = browser.new_context(viewport=WIDE, locale="zh-CN")
    try:
        login = context.new_page()
        log_in(login, url, "reader", password)
        login.close()
        watch = XssWatch(context)
        failures: dict[str, list[str]] = {}
        control_uid = next(uid for uid, v in vectors.items() if v is CONTROL)
        control = watch.visit("control", f"{url}/entry/{control_uid}", body=".body", title="h1")
        assert control.executed() == [] and control.dom == [] and control.foreign == [], control
        assert control.title == CONTROL.html  # the article itself, not the login form
        for uid, v in vectors.items():
            if v is CONTROL:
                continue
            seen = watch.visit(v.id, f"{url}/entry/{uid}", body=".body", wanted=[v.first, v.last], title="h1")
            problems = (
                seen.executed()
                + [f"navigated:{n}" for n in seen.navigations]
                + [f"request:{u}" for u in seen.foreign]
                + [f"dom:{d}" for d in seen.dom]
                + [f"missing:{m}" for m in seen.missing]
            )
            shown = " ".join(_XML_ILLEGAL.sub("", v.html).split())
            if seen.title is not None and seen.title != shown:
                problems.append(f"title shown as {seen.title!r}")
            if problems:
                failures[v.id] = problems
        for path in ["/all?limit=200", "/?limit=200", "/search?q=样本", "/today?day=2021-12-20"]:
            seen = watch.visit(path, f"{url}{path}")
            problems = (
                seen.executed() + [f"navigated:{n}" for n in seen.navigations] + seen.foreign + seen.dom
            )
            if problems:
                failures[path] = problems
        assert failures == {}
    finally:
        context.close()
