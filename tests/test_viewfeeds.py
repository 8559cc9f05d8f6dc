"""Feeds of any view (`{base}/out/…`: RSS, Atom, JSON Feed of a group, site, feed, search,
story, and a reader's starred and unread lists), the OPML export (web app and JSON API) and
the keys page (app passwords for reader apps, the revocable feed token), through the real
`serve` under a base path, as a feed reader and a browser use them."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from contextlib import contextmanager
from html import unescape
from pathlib import Path
from typing import Any

import httpx
import pytest

from insights_helpers import FEED, OTHER, make_archive
from newsdesk import accounts
from serve_helpers import ServeProcess, add_user, desk_config
from webapp_helpers import ITEMS, REF_FEED, Desk, csrf_of, log_in, running_desk

ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desk]:
    with running_desk(tmp_path_factory.mktemp("viewfeeds"), base_path="/news") as d:
        yield d


@contextmanager
def _browser(desk: Desk) -> Iterator[httpx.Client]:
    with httpx.Client(timeout=30) as web:
        assert log_in(web, desk).status_code == 303
        yield web


def _guids(fmt: str, body: bytes) -> list[str]:
    """The items' ids of a feed in any of the three formats (each parsed as its format)."""
    if fmt == "rss":
        return [g.text or "" for g in ET.fromstring(body).iter("guid")]
    if fmt == "atom":
        return [e.findtext(f"{ATOM}id") or "" for e in ET.fromstring(body).iter(f"{ATOM}entry")]
    return [i["id"] for i in json.loads(body)["items"]]


def _feed(desk: Desk, path: str, fmt: str = "rss", **params: Any) -> httpx.Response:
    return httpx.get(f"{desk.url}/out/{path}.{fmt}", params=params, timeout=30)


def _guid(uid: str) -> str:
    from newsdesk.publish.site.feed_formats import guid

    return guid(uid)


def test_public_views_in_three_formats(desk: Desk) -> None:
    """Everything, a group, a site and a feed: the JSON API's entries, newest first, in each
    format, with the sanitised article and the original link."""
    with desk.api() as api:
        everything = api.get("/entries", params={"limit": 100}).json()["entries"]
    cases: list[tuple[dict[str, str], list[str]]] = [
        ({}, [e["id"] for e in everything]),
        ({"group": "政策"}, [e["id"] for e in everything if e["group"] == "政策"]),
        ({"group": "金融", "site": "中新网"}, [e["id"] for e in everything if e["site"] == "中新网"]),
        (
            {"feed": REF_FEED},
            [e["id"] for e in everything if f"{e['group']}/{e['site']}/{e['feed']}" == REF_FEED],
        ),
    ]
    for params, uids in cases:
        assert uids, params
        for fmt, kind in (("rss", "rss+xml"), ("atom", "atom+xml"), ("json", "feed+json")):
            r = _feed(desk, "all", fmt, **params)
            assert r.status_code == 200 and r.headers["content-type"].startswith(f"application/{kind}"), (
                r.text
            )
            assert _guids(fmt, r.content) == [_guid(u) for u in uids], (params, fmt)
    doc = json.loads(_feed(desk, "all", "json", group="政策").content)
    first = doc["items"][0]
    assert first["external_url"].startswith("http") and "<script" not in first["content_html"]
    assert doc["feed_url"].startswith(desk.url + "/out/all.json?group=")  # under the base path
    rss = ET.fromstring(_feed(desk, "all", "rss", feed=REF_FEED).content)
    assert "新浪财经" in (rss.findtext("channel/item/category") or "") + "".join(
        c.text or "" for c in rss.iter("category")
    )


def test_search_and_story_feeds(desk: Desk) -> None:
    with desk.api() as api:
        hits = api.get("/search", params={"q": "千兆光网", "sort": "date"}).json()["hits"]
        entries = api.get("/entries", params={"limit": 100}).json()["entries"]
    found = _feed(desk, "search", "atom", q="千兆光网")
    assert found.status_code == 200 and _guids("atom", found.content) == [_guid(h["id"]) for h in hits]
    story = next(e["cluster"] for e in entries if e["cluster"])
    members = [e["id"] for e in entries if e["cluster"] and e["cluster"]["id"] == story["id"]]
    r = _feed(desk, "cluster", "json", id=story["id"])
    assert r.status_code == 200 and sorted(_guids("json", r.content)) == sorted(_guid(u) for u in members)
    assert len(members) == 2
    assert _feed(desk, "cluster", "rss", id="nope").status_code == 404
    assert _feed(desk, "search", "rss").status_code == 400


def test_private_views_need_a_revocable_token(desk: Desk) -> None:
    """The starred list's links on the page carry the reader's token; the feed follows the
    reader's stars; revoked on the keys page, the links stop working; a new token works."""
    assert _feed(desk, "starred").status_code == 401
    assert _feed(desk, "starred", token="1-" + "0" * 40).status_code == 403
    with desk.api() as api:
        uid = api.get("/entries", params={"limit": 1}).json()["entries"][0]["id"]
        assert api.patch(f"/entries/{uid}", json={"starred": True}).status_code == 200
    with _browser(desk) as web:
        page = web.get(f"{desk.url}/starred").text
        links = {
            m[1]: unescape(m[0])
            for m in re.findall(r'href="([^"]+)" class="feed-link" data-format="(\w+)"', page)
        }
        assert set(links) == {"rss", "atom", "json"} and "token=" in links["rss"]
        head = re.findall(
            r'<link rel="alternate" type="application/rss\+xml" title="RSS" href="([^"]+)"', page
        )
        assert [unescape(h) for h in head] == [links["rss"]]
        origin = desk.url.removesuffix(desk.base)
        starred = httpx.get(origin + links["rss"])
        assert starred.status_code == 200 and _guids("rss", starred.content) == [_guid(uid)]
        unread_page = web.get(f"{desk.url}/").text
        assert "/out/unread.rss?token=" in unread_page
        # Revoked on the keys page: the old link is refused, a renewed token works.
        keys = web.get(f"{desk.url}/keys")
        assert "feed-link" in keys.text
        r = web.post(
            f"{desk.url}/keys/action", data={"csrf": csrf_of(keys.text), "action": "revoke-feed-token"}
        )
        assert r.status_code == 303
        assert httpx.get(origin + links["rss"]).status_code == 403
        keys = web.get(f"{desk.url}/keys")
        assert 'data-view="starred"' not in keys.text
        web.post(f"{desk.url}/keys/action", data={"csrf": csrf_of(keys.text), "action": "feed-token"})
        renewed = re.search(
            r'href="([^"]+)" class="feed-link" data-view="starred" data-format="json"',
            web.get(f"{desk.url}/keys").text,
        )
        assert renewed
        again = httpx.get(unescape(renewed[1]))
        assert again.status_code == 200 and _guids("json", again.content) == [_guid(uid)]
    with desk.api() as api:
        assert api.patch(f"/entries/{uid}", json={"starred": False}).status_code == 200
    assert _guids("json", httpx.get(unescape(renewed[1])).content) == []


def test_opml_export_from_the_ui_and_the_api(desk: Desk) -> None:
    with _browser(desk) as web:
        feeds_page = web.get(f"{desk.url}/feeds").text
        assert f'href="{desk.base}/feeds/export.opml"' in feeds_page
        ui = web.get(f"{desk.url}/feeds/export.opml")
    assert ui.status_code == 200 and ui.headers["content-type"].startswith("text/x-opml")
    with desk.api() as api:
        from_api = api.get("/opml")
    assert from_api.status_code == 200 and from_api.content == ui.content
    tree = ET.fromstring(ui.content)
    groups = {g.get("text"): [s.get("text") for s in g] for g in tree.find("body") or []}
    assert groups == {"金融": ["新浪财经", "中新网"], "政策": ["人民银行"]}
    assert httpx.get(f"{desk.url}/api/v1/opml").status_code == 401
    assert httpx.get(f"{desk.url}/feeds/export.opml").status_code == 303  # to the login page


def test_keys_page_makes_app_passwords_for_both_apis(desk: Desk) -> None:
    """An app password made on the keys page logs in to the Google Reader API and, as md5 of
    "name:password", to Fever; the page lists each with its label and last use; revoking one
    ends it alone, at once; revoking them all ends the rest."""

    def make(web: httpx.Client, label: str) -> str:
        keys = web.get(f"{desk.url}/keys").text
        made = web.post(f"{desk.url}/keys/app-password", data={"csrf": csrf_of(keys), "label": label})
        found = re.search(r'id="new-app-password">([a-z2-7]{32})<', made.text)
        assert made.status_code == 200 and found, made.text[:300]
        return found[1]

    def login(password: str) -> int:
        data = {"Email": "reader", "Passwd": password}
        return httpx.post(f"{desk.url}/api/greader/accounts/ClientLogin", data=data).status_code

    def fever_auth(key: str) -> int:
        return int(httpx.post(f"{desk.url}/api/fever/?api", data={"api_key": key}).json()["auth"])

    with _browser(desk) as web:
        keys = web.get(f"{desk.url}/keys").text
        assert f"{desk.url}/api/greader" in keys and f"{desk.url}/api/fever/" in keys
        phone, tablet = make(web, "手机"), make(web, "平板")
        page = web.get(f"{desk.url}/keys").text
        assert phone not in page and tablet not in page  # shown once
        assert login(phone) == 200
        key = accounts.fever_api_key("reader", phone)
        fever = httpx.post(f"{desk.url}/api/fever/?api&feeds", data={"api_key": key}).json()
        assert fever["auth"] == 1 and len(fever["feeds"]) == 3
        page = web.get(f"{desk.url}/keys").text
        rows = re.findall(r'<tr data-app-password="([0-9a-f]{8})">(.*?)</tr>', page, re.S)
        assert [("手机" in r, "平板" in r, "从未使用" in r) for _, r in rows] == [
            (True, False, False),  # used: ClientLogin and Fever
            (False, True, True),
        ]
        revoke = {"csrf": csrf_of(page), "action": "revoke-app", "id": rows[0][0]}
        web.post(f"{desk.url}/keys/action", data=revoke)
        # Refused at once (serve answers with one process: its cache forgot them), the other kept.
        assert login(phone) == 401 and fever_auth(key) == 0 and login(tablet) == 200
        page = web.get(f"{desk.url}/keys").text
        assert re.findall(r'data-app-password="([0-9a-f]{8})"', page) == [rows[1][0]]
        web.post(f"{desk.url}/keys/action", data={"csrf": csrf_of(page), "action": "revoke-apps"})
    assert login(tablet) == 401
    tablet_key = accounts.fever_api_key("reader", tablet)
    # A running app's key is refused once serve's short cache lets go (as for Google Reader).
    from serve_helpers import poll

    poll(lambda: fever_auth(tablet_key) == 0, "the revoked Fever key refused")


@pytest.mark.parametrize(
    ("path", "params", "status"),
    [
        ("all.xml", {}, 422),
        ("everything.rss", {}, 422),
        ("all.rss", {"feed": "no/such/feed"}, 404),
        ("all.rss", {"limit": "0"}, 422),
        ("all.rss", {"limit": "many"}, 422),
        ("unread.atom", {"token": "garbage"}, 403),
        ("cluster.json", {}, 404),
    ],
)
def test_bad_feed_requests_get_a_clear_4xx(
    desk: Desk, path: str, params: dict[str, str], status: int
) -> None:
    r = httpx.get(f"{desk.url}/out/{path}", params=params)
    assert r.status_code == status, (r.status_code, r.text)
    assert "Traceback" not in r.text and r.json()["error"]["message"]
    assert ITEMS > 0


def test_daily_brief_page_and_feed(tmp_path: Path) -> None:
    """The daily brief in the web app through the real serve, over an archive whose insights
    and story were made by hand (insights_helpers): the list of days up to a day, one day's
    page (its story of two outlets, its target and figures, linking into the app), the feed in
    the three formats, and the nav link."""
    database = tmp_path / "archive.db"
    uids = make_archive(database)
    config = desk_config(tmp_path, [(f.group, f.site, f.name, f.url or "") for f in (FEED, OTHER)])
    password, _ = add_user(database, "reader", admin=False)
    serve = ServeProcess(config)
    try:
        serve.wait_healthy()
        with httpx.Client(timeout=30) as web:
            form = web.get(f"{serve.url}/login")
            data = {"csrf": csrf_of(form.text), "name": "reader", "password": password, "next": "/"}
            assert web.post(f"{serve.url}/login", data=data).status_code == 303
            assert 'href="/brief" id="nav-brief"' in web.get(f"{serve.url}/").text
            days = web.get(f"{serve.url}/brief", params={"until": "2026-10-20"}).text
            listed = re.findall(r'<li data-day="([\d-]+)">', days)
            assert listed[0] == "2026-10-19" and listed == sorted(listed, reverse=True), listed
            assert "/out/brief.rss?until=2026-10-20" in days
            day = web.get(f"{serve.url}/brief/2026-10-19").text
            story = re.search(r'<section id="brief-stories">(.*?)</section>', day, re.S)
            assert story is not None and f'href="/entry/{uids[0]}"' in story[1] and "2 家媒体" in story[1]
            assert "千兆光网覆盖家庭 超过 400000000户" in day and "吸收外资" in day
            assert "当天没有多家媒体报道的新闻" in web.get(f"{serve.url}/brief/2026-10-18").text
            assert web.get(f"{serve.url}/brief/2026-13-45").status_code == 404
            assert "最近一个月没有简报" in web.get(f"{serve.url}/brief").text  # nothing in the last month
        feeds = {
            fmt: httpx.get(f"{serve.url}/out/brief.{fmt}", params={"until": "2026-10-20"}, timeout=30)
            for fmt in ("rss", "atom", "json")
        }
        assert all(r.status_code == 200 for r in feeds.values())
        assert [_guids(fmt, r.content)[0] for fmt, r in feeds.items()] == [_guid("brief:2026-10-19")] * 3
        item = json.loads(feeds["json"].content)["items"][0]
        assert item["url"] == f"{serve.url}/brief/2026-10-19" and "千兆光网覆盖家庭" in item["content_html"]
        assert httpx.get(f"{serve.url}/out/brief.rss", params={"until": "2026-02-30"}).status_code == 422
    finally:
        serve.kill()
