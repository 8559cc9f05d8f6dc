"""The admins' feed pages and a reader's keyword rules in Debian's Chromium (Playwright), against
the real `serve` process (issue 15, item 4): an admin adds a feed by its URL on a local feed
server through the preview the form shows, saves it, presses "refresh now" on its row and sees
the feed's new items in the list; a reader makes a rule on the rules page that stars what holds
its words, and the matching article arriving afterwards is starred while the other is not.
No request leaves 127.0.0.1 (test_browser.Watch stops and records any other), and console
errors fail the tests."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

import test_xss
from serve_helpers import BASE_TIME, ServeProcess, add_user, client, desk_config, poll, rss
from server import FeedServer
from test_browser import CHROMIUM
from test_browser import Watch as PageWatch
from test_webapp_browser import log_in

sync_api = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed")

browser = test_xss.browser  # the fixture: Debian's Chromium where only 127.0.0.1 resolves
WIDE = {"width": 1280, "height": 900}
WAIT = 15.0  # seconds a poll of the pages waits (ingest here takes well under one)


@dataclass
class AdminDesk:
    url: str
    feeds: FeedServer
    reader_password: str
    reader_token: str
    admin_password: str
    admin_token: str


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AdminDesk]:
    """A desk with no feeds yet (the tests add theirs), a reader and the admin `chief`."""
    tmp = tmp_path_factory.mktemp("webapp-admin")
    with FeedServer() as feeds:
        config = desk_config(tmp, [])
        reader_password, reader_token = add_user(tmp / "archive.db", "reader", admin=False)
        admin_password, admin_token = add_user(tmp / "archive.db", "chief", admin=True)
        serve = ServeProcess(config)
        try:
            serve.wait_healthy()
            yield AdminDesk(serve.url, feeds, reader_password, reader_token, admin_password, admin_token)
        finally:
            serve.stop()


def titles(page: Any, url: str) -> list[str]:
    """The list's titles at `url`, the page loaded afresh."""
    page.goto(url)
    page.wait_for_selector("body[data-ready='1'] .list-head")
    return [str(t) for t in page.locator(".entry a.title").all_inner_texts()]


def listed(page: Any, url: str, wanted: list[str], what: str) -> None:
    """Reload `url` until its list shows exactly `wanted` (in any order), within WAIT."""
    poll(lambda: sorted(titles(page, url)) == sorted(wanted), what, WAIT)


def test_an_admin_adds_a_feed_through_its_preview_and_refreshes_it(desk: AdminDesk, browser: Any) -> None:
    feed_path = "/admin-feed.xml"
    desk.feeds.route(feed_path, rss(7, 3))
    source = desk.feeds.url(feed_path)
    key = "政策/人民银行/公告"
    first = [f"第7源第{n}条：央行开展公开市场操作" for n in range(3)]
    context = browser.new_context(viewport=WIDE, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(15_000)
    watch = PageWatch(page)
    try:
        log_in(page, desk.url, "chief", desk.admin_password)
        page.goto(f"{desk.url}/feeds")
        page.wait_for_selector("body[data-ready='1'][data-page='feeds']")
        assert page.locator(f'tr[data-key="{key}"]').count() == 0
        form = page.locator("#feed-add")
        form.locator('input[name="group"]').fill("政策")
        form.locator('input[name="site"]').fill("人民银行")
        form.locator('input[name="name"]').fill("公告")
        form.locator('input[name="source"]').fill(source)

        # The preview: fetched by the desk from the local server, nothing saved yet.
        form.locator('button[formaction$="/feeds/preview"]').click()
        page.wait_for_selector("body[data-ready='1'][data-page='feed-preview']")
        assert page.locator(".error").count() == 0
        heading = page.locator("#preview h2").inner_text()
        assert heading.startswith("源7") and "共 3 条" in heading
        shown = page.locator("#preview ol.results li").all_inner_texts()
        assert [t.split(" ")[0] for t in shown] == list(reversed(first))  # newest first
        assert desk.feeds.hits(feed_path) == 1
        with client(f"{desk.url}/api/v1", desk.admin_token) as api:
            assert api.get(f"/feeds/{quote(key, safe='/')}").status_code == 404  # a preview saves nothing
        # The preview's form carries what was typed; saving it adds the feed.
        again = page.locator("#feed-add")
        assert again.locator('input[name="source"]').input_value() == source
        assert again.locator('input[name="group"]').input_value() == "政策"
        again.locator("button:not([formaction])").click()
        page.wait_for_url(f"{desk.url}/feeds")
        row = page.locator(f'tr[data-key="{key}"]')
        assert row.count() == 1
        assert row.locator(".source").inner_text() == source

        # Added feeds are checked at once: its three items come into the list.
        feed_list = f"{desk.url}/all?feed={quote(key)}"
        listed(page, feed_list, first, "the added feed's items listed")
        checked = desk.feeds.hits(feed_path)

        # Two new items; "refresh now" on the feed's row fetches them (the schedule would wait
        # minutes: at least schedule.min_interval).
        desk.feeds.route(feed_path, rss(7, 5))
        page.goto(f"{desk.url}/feeds")
        page.wait_for_selector("body[data-ready='1'][data-page='feeds']")
        page.locator(f'tr[data-key="{key}"] button[name="action"][value="refresh"]').click()
        page.wait_for_url(f"{desk.url}/feeds")
        assert page.locator(".error").count() == 0
        everything = [f"第7源第{n}条：央行开展公开市场操作" for n in range(5)]
        listed(page, feed_list, everything, "the refreshed feed's new items listed")
        assert desk.feeds.hits(feed_path) > checked
        watch.check()
    finally:
        context.close()


def _rule_feed(server: FeedServer) -> tuple[str, str, str]:
    """A feed of two articles, both about 央行, one of them about 降准 too: (url, that one's
    title, the other's)."""
    match, other = "央行宣布全面降准0.5个百分点", "央行开展逆回购操作"
    bodies = {
        match: "中国人民银行决定下调金融机构存款准备金率，降准释放长期资金。",
        other: "人民银行以利率招标方式开展了七天期逆回购操作。",
    }
    rng = random.Random(15)
    items = []
    for i, (title, body) in enumerate(bodies.items()):
        filler = "".join(chr(rng.randrange(0x4E00, 0x9FA5)) for _ in range(120))  # not one story
        items.append(
            f"<item><title>{title}</title><link>{server.url(f'/rules/{i}.html')}</link>"
            f"<guid>rule-{i}</guid><pubDate>{format_datetime(BASE_TIME + timedelta(hours=i))}</pubDate>"
            f"<description><![CDATA[<p>{body}{filler}</p>]]></description></item>"
        )
    feed = (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>规则测试</title>'
        + "".join(items)
        + "</channel></rss>"
    )
    return server.route("/rules-feed.xml", feed), match, other


def test_a_readers_rule_stars_the_articles_that_match(desk: AdminDesk, browser: Any) -> None:
    context = browser.new_context(viewport=WIDE, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(15_000)
    watch = PageWatch(page)
    key = "金融/规则测试/要闻"
    try:
        log_in(page, desk.url, "reader", desk.reader_password)
        # The rule first: a rule judges what arrives after it is made.
        page.goto(f"{desk.url}/rules")
        page.wait_for_selector("body[data-ready='1'][data-page='rules']")
        form = page.locator("#rule-add")
        form.locator('input[name="pattern"]').fill("降準 央行")  # Traditional 準: both scripts match
        form.locator('select[name="kind"]').select_option("words")
        form.locator('select[name="when"]').select_option("matching")
        form.locator('select[name="action"]').select_option("star")
        form.locator("button[type=submit]").click()
        page.wait_for_url(f"{desk.url}/rules")
        rows = page.locator("table.rules tbody tr")
        assert rows.count() == 1
        cells = rows.first.locator("td").all_inner_texts()
        assert cells[:4] == ["降準 央行", "匹配的文章", "加星标", "全部订阅"]

        # Then the articles: a feed the admin adds (checked at once).
        url, match, other = _rule_feed(desk.feeds)
        with client(f"{desk.url}/api/v1", desk.admin_token) as admin:
            added = admin.post(
                "/feeds", json={"group": "金融", "site": "规则测试", "name": "要闻", "url": url}
            )
            assert added.status_code == 201, added.text
        feed_list = f"{desk.url}/all?feed={quote(key)}"
        listed(page, feed_list, [match, other], "the rule feed's articles listed")
        # Whether the ingest batch's run applied the rule or this list caught it up on opening,
        # the rule has judged both articles by the time the list shows them.
        starred = {
            str(r.locator("a.title").inner_text()): r.get_attribute("data-starred")
            for r in page.locator(".entry").all()
        }
        assert starred == {match: "1", other: "0"}
        assert titles(page, f"{desk.url}/starred") == [match]
        with client(f"{desk.url}/api/v1", desk.reader_token) as api:
            entries = api.get("/entries", params={"limit": 50, "feed": key}).json()["entries"]
            by_title = {e["title"]: e for e in entries}
            assert by_title[match]["starred"] is True and by_title[other]["starred"] is False
            assert by_title[match]["read"] is False  # starred, not marked read
        # The admin's stars are the admin's own: the reader's rule stars nothing for them.
        with client(f"{desk.url}/api/v1", desk.admin_token) as admin:
            mine = admin.get("/entries", params={"limit": 50, "starred": "true"}).json()["entries"]
            assert mine == []
        watch.check()
    finally:
        context.close()
