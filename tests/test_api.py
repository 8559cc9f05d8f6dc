"""The JSON API through the real `newsdesk serve` process on a free loopback port, behind a
base path, over feeds from the local feed server: auth on every route, readers and admins,
each reader's own read state, cursor paging, the error envelope, sessions, /metrics."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from cli_helpers import run_cli
from serve_helpers import ServeProcess, add_user, client, desk_config, poll, rss
from server import FeedServer

FEEDS = 3
ITEMS = 25  # per feed
BASE = "/desk"


@dataclass
class Desk:
    url: str  # http://127.0.0.1:PORT/desk
    api: str  # …/desk/api/v1
    database: Path
    feeds: FeedServer
    serve: ServeProcess
    admin: str  # tokens
    reader: str


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desk]:
    tmp = tmp_path_factory.mktemp("api")
    with FeedServer() as feeds:
        for n in range(FEEDS):
            feeds.route(f"/feed{n}.xml", rss(n, ITEMS))
        feeds.route("/added.xml", rss(9, 4))
        config = desk_config(
            tmp,
            [("金融", "站点甲", f"源{n}", feeds.url(f"/feed{n}.xml")) for n in range(FEEDS)],
            base_path=BASE,
        )
        _, admin = add_user(tmp / "archive.db", "alice", admin=True)
        _, reader = add_user(tmp / "archive.db", "bob", admin=False)
        serve = ServeProcess(config)
        try:
            serve.wait_healthy()
            url = serve.url
            assert url.endswith(BASE)
            d = Desk(url, f"{url}/api/v1", tmp / "archive.db", feeds, serve, admin, reader)
            with client(d.api, admin) as c:
                poll(
                    lambda: len(c.get("/entries", params={"limit": 500}).json()["entries"]) == FEEDS * ITEMS,
                    "ingest",
                )
                # The search index catches up after the batch's entries are stored (in the
                # ingest process, while the API already lists them).
                poll(
                    lambda: len(c.get("/search", params={"q": "央行", "limit": 200}).json().get("hits", []))
                    == FEEDS * ITEMS,
                    "the search index",
                )
            yield d
        finally:
            serve.kill()
            assert "Traceback" not in serve.log_text(), serve.log_text()


def _envelope(r: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    assert r.status_code == status, (r.status_code, r.text)
    assert r.headers["content-type"].startswith("application/json"), r.headers
    body = r.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}, body
    assert body["error"]["message"] and "Traceback" not in r.text and "<html" not in r.text.lower()
    if code is not None:
        assert body["error"]["code"] == code, body
    return body


def _routes(desk: Desk) -> list[tuple[str, str]]:
    """(method, path) of every API route in the live OpenAPI document, path parameters filled."""
    doc = httpx.get(f"{desk.api}/openapi.json").json()
    out = []
    for path, ops in doc["paths"].items():
        for method in ops:
            filled = re.sub(r"\{key\}", "金融/站点甲/源0", path)
            out.append((method.upper(), re.sub(r"\{[^}]+\}", "abc", filled)))
    return out


def test_every_api_route_needs_a_token_or_session(desk: Desk) -> None:
    routes = _routes(desk)
    assert len(routes) >= 17, routes
    checked = 0
    anonymous = httpx.Client()
    for method, path in routes:
        if (method, path) == ("POST", f"{BASE}/api/v1/session") or not path.startswith(f"{BASE}/api/v1/"):
            continue  # logging in is how a session is had; /healthz and the like are open
        url = desk.url.removesuffix(BASE) + path
        for headers in ({}, {"Authorization": "Bearer nd_not-a-token"}, {"Authorization": "Basic abc"}):
            anonymous.cookies.set("newsdesk_session", "nope")
            r = anonymous.request(method, url, headers=headers, json={})
            _envelope(r, 401, "unauthorized")
            assert r.headers["www-authenticate"].startswith("Bearer")
        checked += 1
    anonymous.close()
    assert checked == 17  # every route of issue 14 but logging in, and issue 19's OPML export


def test_readers_read_and_admins_manage_feeds(desk: Desk) -> None:
    key = "新增/站点乙/追加"
    body = {"group": "新增", "site": "站点乙", "name": "追加", "url": desk.feeds.url("/added.xml")}
    with client(desk.api, desk.reader) as bob, client(desk.api, desk.admin) as alice:
        assert bob.get("/me").json()["name"] == "bob" and not bob.get("/me").json()["admin"]
        assert len(bob.get("/feeds").json()["feeds"]) == FEEDS
        _envelope(bob.post("/feeds", json=body), 403, "forbidden")
        _envelope(bob.patch("/feeds/金融/站点甲/源0", json={"paused": "no"}), 403)
        _envelope(bob.delete("/feeds/金融/站点甲/源0"), 403)
        _envelope(bob.post("/feeds/金融/站点甲/源0/refresh"), 403)

        r = alice.post("/feeds", json=body)
        assert r.status_code == 201, r.text
        assert r.json()["key"] == key and r.json()["origin"] == "api"
        _envelope(alice.post("/feeds", json=body), 409)
        # Added feeds are checked at once: the scheduler is woken.
        poll(
            lambda: len(alice.get("/entries", params={"feed": key}).json()["entries"]) == 4, "the added feed"
        )
        assert alice.get(f"/feeds/{key}").json()["last_success"] is not None
        assert alice.post(f"/feeds/{key}/refresh").status_code == 202
        _envelope(alice.post("/feeds/无/此/源/refresh"), 404)
        paused = alice.patch(f"/feeds/{key}", json={"paused": "检修"})
        assert paused.status_code == 200 and paused.json()["paused"] == "检修"
        assert alice.patch(f"/feeds/{key}", json={"paused": None}).json()["paused"] is None
        _envelope(alice.patch(f"/feeds/{key}", json={"url": "file:///etc/passwd"}), 422)
        # A feed's own interval bounds (seconds), kept apart, checked in order.
        bounded = alice.patch(f"/feeds/{key}", json={"min_interval": 600, "max_interval": 3600}).json()
        assert (bounded["min_interval"], bounded["max_interval"]) == (600, 3600)
        assert alice.patch(f"/feeds/{key}", json={"max_interval": None}).json()["min_interval"] == 600
        _envelope(alice.patch(f"/feeds/{key}", json={"max_interval": 60}), 422)  # below the minimum
        _envelope(alice.patch(f"/feeds/{key}", json={"min_interval": 0}), 422)
        assert alice.get(f"/feeds/{key}").json()["max_interval"] is None
        _envelope(alice.delete("/feeds/金融/站点甲/源0"), 409, "in_config")
        assert alice.delete(f"/feeds/{key}").status_code == 204
        _envelope(alice.get(f"/feeds/{key}"), 404)
        assert alice.get("/entries", params={"feed": key}).json()["entries"] == []


def test_read_and_starred_state_is_each_readers_own(desk: Desk) -> None:
    _, carol_token = add_user(desk.database, "carol", admin=False)
    _, dave_token = add_user(desk.database, "dave", admin=False)
    feed = "金融/站点甲/源1"
    with client(desk.api, carol_token) as carol, client(desk.api, dave_token) as dave:
        first = carol.get("/entries", params={"feed": feed, "limit": 3}).json()["entries"]
        assert [e["read"] for e in first] == [False] * 3
        changed = carol.patch(f"/entries/{first[0]['id']}", json={"read": True, "starred": True}).json()
        assert changed["read"] and changed["starred"] and changed["content"]
        assert dave.get(f"/entries/{first[0]['id']}").json()["read"] is False
        carol_unread = carol.get("/entries", params={"feed": feed, "status": "unread", "limit": 500}).json()
        assert len(carol_unread["entries"]) == ITEMS - 1 and first[0]["id"] not in {
            e["id"] for e in carol_unread["entries"]
        }
        starred = carol.get("/entries", params={"starred": "true"}).json()["entries"]
        assert [e["id"] for e in starred] == [first[0]["id"]]
        assert dave.get("/entries", params={"starred": "true"}).json()["entries"] == []

        assert carol.post("/entries/mark-read", json={"ids": [first[1]["id"], "nope"]}).json() == {
            "marked": 1
        }
        before = datetime.now(UTC).isoformat()
        marked = carol.post("/entries/mark-read", json={"feed": feed, "before": before}).json()["marked"]
        assert marked == ITEMS - 2
        tree = {
            f["key"]: f for g in carol.get("/tree").json()["groups"] for s in g["sites"] for f in s["feeds"]
        }
        assert (tree[feed]["unread"], tree[feed]["total"]) == (0, ITEMS)
        dave_tree = dave.get("/tree").json()
        dave_feeds = {f["key"]: f for g in dave_tree["groups"] for s in g["sites"] for f in s["feeds"]}
        assert dave_feeds[feed]["unread"] == ITEMS and dave_tree["unread"] >= FEEDS * ITEMS
        assert carol.patch(f"/entries/{first[0]['id']}", json={"read": False}).json()["starred"] is True
        assert carol.get(f"/entries/{first[0]['id']}").json()["read"] is False


def test_cursor_pages_cover_the_list_once_newest_first(desk: Desk) -> None:
    seen: list[dict[str, Any]] = []
    with client(desk.api, desk.reader) as bob:
        cursor = None
        pages = 0
        while True:
            params: dict[str, Any] = {"group": "金融", "limit": 7}
            if cursor:
                params["cursor"] = cursor
            page = bob.get("/entries", params=params).json()
            seen += page["entries"]
            pages += 1
            cursor = page["next"]
            if cursor is None:
                break
        assert pages == -(-FEEDS * ITEMS // 7)
        ids = [e["id"] for e in seen]
        assert len(ids) == len(set(ids)) == FEEDS * ITEMS
        times = [e["published"] for e in seen]
        assert times == sorted(times, reverse=True)
        _envelope(bob.get("/entries", params={"cursor": "not-a-cursor"}), 422, "bad_cursor")


def test_entries_have_the_keys_of_the_cli_json(desk: Desk) -> None:
    cli = run_cli(desk.serve.config, "entries", "list", "--json", "--limit", "1")
    cli_keys = set(json.loads(cli.stdout)[0])
    with client(desk.api, desk.reader) as bob:
        entry = bob.get("/entries", params={"limit": 1}).json()["entries"][0]
    assert set(entry) == cli_keys | {"read", "starred", "cluster"}


def test_failures_answer_the_error_envelope(desk: Desk) -> None:
    root = desk.url.removesuffix(BASE)
    with client(desk.api, desk.reader) as bob:
        _envelope(bob.get("/no-such-route"), 404, "not_found")
        _envelope(bob.get("/entries/0000000000000000"), 404, "not_found")
        _envelope(bob.get("/clusters/nope"), 404)
        _envelope(bob.delete("/entries"), 405, "method_not_allowed")
        _envelope(bob.get("/entries", params={"limit": 0}), 422, "invalid")
        _envelope(bob.get("/entries", params={"status": "maybe"}), 422)
        _envelope(bob.get("/entries", params={"since": "yesterday"}), 422)
        _envelope(bob.get("/entries", params={"since": "0001-01-01T00:00:00"}), 422)
        _envelope(bob.patch("/entries/abc", json={"read": "perhaps"}), 422)
        _envelope(bob.patch("/entries/abc", json={"stared": True}), 422)
        _envelope(
            bob.post(
                "/entries/mark-read", content=b"{not json", headers={"content-type": "application/json"}
            ),
            422,
        )
        _envelope(bob.post("/entries/mark-read", json={}), 422)
        _envelope(bob.get("/search", params={"q": "-"}), 422, "bad_query")
    _envelope(httpx.get(f"{root}/api/v1/entries"), 404)  # outside the base path: nothing
    _envelope(httpx.get(f"{desk.url}/nope"), 404)


def test_health_and_metrics(desk: Desk) -> None:
    assert httpx.get(f"{desk.url}/healthz").json() == {"status": "ok"}
    assert httpx.get(f"{desk.url}/readyz").json() == {"status": "ready"}
    metrics = httpx.get(f"{desk.url}/metrics")
    assert metrics.status_code == 200 and metrics.headers["content-type"].startswith("text/plain")
    text = metrics.text
    ingested = float(re.search(r'newsdesk_entries_ingested_total\{kind="new"\} ([\d.]+)', text).group(1))  # type: ignore[union-attr]
    assert ingested >= FEEDS * ITEMS
    assert re.search(r'newsdesk_fetch_duration_seconds_count\{outcome="ok"\} [1-9]', text), text
    assert re.search(r'newsdesk_feeds\{status="ok"\} [1-9]', text), text
    for name in (
        "newsdesk_errors_total",
        "newsdesk_scheduler_lag_seconds_bucket",
        "newsdesk_scheduler_overdue_seconds",
    ):
        assert name in text, name
    # Another loopback address is not 127.0.0.1: /metrics is not there for it.
    other = httpx.Client(transport=httpx.HTTPTransport(local_address="127.0.0.2"))
    with other:
        _envelope(other.get(f"{desk.url}/metrics"), 404)
        assert other.get(f"{desk.url}/healthz").status_code == 200


def test_sessions_log_in_and_out(desk: Desk) -> None:
    password, _ = add_user(desk.database, "erin", admin=False)
    with httpx.Client(base_url=desk.api) as browser:
        _envelope(browser.post("/session", json={"name": "erin", "password": "wrong"}), 401)
        _envelope(browser.post("/session", json={"name": "nobody", "password": "x"}), 401)
        r = browser.post("/session", json={"name": "erin", "password": password})
        assert r.status_code == 200 and r.json()["user"]["name"] == "erin"
        cookie = r.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=lax" in cookie and f"Path={BASE}/" in cookie
        assert "Secure" not in cookie  # plain http on loopback
        assert browser.get("/me").json()["name"] == "erin"
        assert browser.get("/entries", params={"limit": 1}).status_code == 200
        assert browser.delete("/session").status_code == 204
        _envelope(browser.get("/me"), 401)
    # Behind an https proxy (X-Forwarded-Proto from a trusted loopback proxy), the cookie is Secure.
    r = httpx.post(
        f"{desk.api}/session",
        json={"name": "erin", "password": password},
        headers={"X-Forwarded-Proto": "https"},
    )
    assert "Secure" in r.headers["set-cookie"]


def test_too_many_failed_logins_are_refused_for_a_while(desk: Desk) -> None:
    with httpx.Client(base_url=desk.api, transport=httpx.HTTPTransport(local_address="127.0.0.3")) as guesser:
        for _ in range(10):
            _envelope(guesser.post("/session", json={"name": "alice", "password": "guess"}), 401)
        r = guesser.post("/session", json={"name": "alice", "password": "guess"})
        _envelope(r, 429, "too_many_requests")
        assert int(r.headers["retry-after"]) > 0


def test_search_and_clusters(desk: Desk) -> None:
    with client(desk.api, desk.reader) as bob:
        hits = bob.get("/search", params={"q": "第2源第7条", "limit": 5}).json()["hits"]
        assert hits and hits[0]["title"].startswith("第2源第7条") and "<mark>" in hits[0]["snippet"]
        only = bob.get("/entries", params={"q": "第1源", "limit": 500}).json()["entries"]
        assert len(only) == ITEMS and {e["feed"] for e in only} == {"源1"}
        clusters = bob.get("/clusters").json()["clusters"]
        assert isinstance(clusters, list)
        for c in clusters[:1]:
            assert bob.get(f"/clusters/{c['id']}").json()["members"]


def test_the_published_site_is_served_under_its_path_with_a_strict_csp(desk: Desk) -> None:
    """The static site folder is served at {base}/site/ without login, as published, each file
    with the site's CSP; before the first build the path answers the 404 envelope."""
    site = desk.database.parent / "site"
    missing = httpx.get(f"{desk.url}/site/")
    _envelope(missing, 404, "not_found")
    (site / "demo-images").mkdir(parents=True)
    (site / "index.html").write_text("<!doctype html><title>新闻台</title>", encoding="utf-8")
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(64))
    (site / "demo-images" / "a.png").write_bytes(png)
    try:
        page = httpx.get(f"{desk.url}/site/")
        assert page.status_code == 200 and "新闻台" in page.text
        csp = page.headers["content-security-policy"]
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp and "script-src 'self'" in csp
        assert page.headers["x-content-type-options"] == "nosniff"
        image = httpx.get(f"{desk.url}/site/demo-images/a.png")
        assert image.status_code == 200 and image.content == png
        assert image.headers["content-type"] == "image/png"
        _envelope(httpx.get(f"{desk.url}/site/no-such-page.html"), 404)
        _envelope(httpx.get(f"{desk.url}/site/../archive.db"), 404)
    finally:
        for path in sorted(site.rglob("*"), reverse=True):
            path.rmdir() if path.is_dir() else path.unlink()
        site.rmdir()
