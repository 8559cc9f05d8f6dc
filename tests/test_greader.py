"""The Google Reader API (`/api/greader`) through the real `newsdesk serve` process, driven the
way reader apps drive it: one scenario per client behaviour we know of (NetNewsWire's short
hex ids, Reeder's "x" edit token and bare hex ids, FeedMe's empty token and long ids,
Liferea's decimal ids, continuation through every page, mark-all-as-read with `ts`, starring
through edit-tag), each checking the answers and then the reader's state through the JSON
API. Each scenario reads as a user of its own, so their read states never meet. Bad input gets
a clear 4xx, never a 5xx."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from cli_helpers import run_cli
from newsdesk import accounts
from newsdesk.store import open_store
from serve_helpers import BASE_TIME, ServeProcess, add_user, client, desk_config, poll, rss
from server import FeedServer

# Three feeds of one site (one label) and one of another group: 3 × 100 + 40 + 1 entries.
BIG = 100
SMALL = 40
TOTAL = 3 * BIG + SMALL + 1
LABEL_A = "金融/站点甲"
LABEL_B = "政策/站点乙"
READING_LIST = "user/-/state/com.google/reading-list"
READ = "user/-/state/com.google/read"
STARRED = "user/-/state/com.google/starred"
LONG = "tag:google.com,2005:reader/item/"
USERS = ("setup", "nnw", "reeder", "feedme", "liferea", "pager", "marker", "bad", "revoked", "tagger")


def _hostile_feed() -> str:
    when = format_datetime(BASE_TIME)
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>危险源</title>'
        "<item><title>带脚本的文章</title><link>https://news.example.cn/x/1.html</link>"
        f'<guid isPermaLink="false">x1</guid><pubDate>{when}</pubDate>'
        '<description><![CDATA[<p onclick="steal()">央行今天宣布了新的政策措施，市场反应积极，'
        "多家机构表示欢迎。</p><script>alert(1)</script><p>第二段正文内容较长，说明具体情况。</p>]]>"
        "</description></item></channel></rss>"
    )


@dataclass
class Account:
    name: str
    app_password: str
    token: str  # the JSON API's bearer token


@dataclass
class Desk:
    url: str
    greader: str
    api: str
    config: Path
    serve: ServeProcess
    accounts: dict[str, Account]
    feed_keys: list[str]


def _app_password(database: Path, name: str) -> str:
    """An app password made as `users app-password` makes one (the CLI is tested once, below)."""
    password = accounts.new_app_password()
    store = open_store(str(database))
    try:
        user = store.get_user(name)
        assert user is not None
        store.add_app_password(
            user.id,
            accounts.secret_hash(password),
            accounts.secret_hash(accounts.app_auth_token(password)),
            label="test",
            now=datetime.now(UTC),
        )
    finally:
        store.close()
    return password


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desk]:
    tmp = tmp_path_factory.mktemp("greader")
    with FeedServer() as feeds:
        for n in range(3):
            feeds.route(f"/feed{n}.xml", rss(n, BIG))
        feeds.route("/feed3.xml", rss(3, SMALL))
        feeds.route("/hostile.xml", _hostile_feed())
        spec = [("金融", "站点甲", f"源{n}", feeds.url(f"/feed{n}.xml")) for n in range(3)]
        spec += [
            ("政策", "站点乙", "源3", feeds.url("/feed3.xml")),
            ("政策", "站点乙", "危险", feeds.url("/hostile.xml")),
        ]
        config = desk_config(tmp, spec)
        database = tmp / "archive.db"
        made: dict[str, Account] = {}
        for name in USERS:
            _, token = add_user(database, name, admin=False)
            made[name] = Account(name, "", token)
        # One through the command line, as a user would make it.
        cli = run_cli(config, "users", "app-password", "setup", "--label", "phone")
        made["setup"].app_password = cli.stdout.strip()
        assert "not shown again" in cli.stderr
        for name in USERS[1:]:
            made[name].app_password = _app_password(database, name)
        serve = ServeProcess(config)
        try:
            serve.wait_healthy()
            d = Desk(
                serve.url,
                f"{serve.url}/api/greader",
                f"{serve.url}/api/v1",
                config,
                serve,
                made,
                [f"{g}/{s}/{n}" for g, s, n, _ in spec],
            )
            with client(d.api, made["setup"].token) as c:
                poll(lambda: c.get("/tree").json()["total"] == TOTAL, "ingest")
            yield d
        finally:
            serve.kill()
            assert "Traceback" not in serve.log_text(), serve.log_text()


def _login(desk: Desk, name: str) -> httpx.Client:
    """A client logged in as `name` the way apps do (ClientLogin, then the Auth header)."""
    r = httpx.post(
        f"{desk.greader}/accounts/ClientLogin",
        data={"Email": name, "Passwd": desk.accounts[name].app_password},
        timeout=30,
    )
    assert r.status_code == 200, r.text
    auth = dict(line.split("=", 1) for line in r.text.splitlines())["Auth"]
    return httpx.Client(
        base_url=f"{desk.greader}/reader/api/0",
        headers={"Authorization": f"GoogleLogin auth={auth}"},
        timeout=30,
    )


def _ok(r: httpx.Response) -> Any:
    assert r.status_code == 200, (r.status_code, r.text)
    return r.json() if r.headers["content-type"].startswith("application/json") else r.text


def _state(desk: Desk, name: str, uid: str) -> tuple[bool, bool]:
    """(read, starred) of an entry for `name`, as the JSON API says; the archive itself must
    say the same."""
    with client(desk.api, desk.accounts[name].token) as c:
        e = _ok(c.get(f"/entries/{uid}"))
    store = open_store(str(desk.config.parent / "archive.db"))
    try:
        user = store.get_user(name)
        assert user is not None
        kept = store.reader_entry(user.id, uid)
    finally:
        store.close()
    assert kept is not None and (kept.read, kept.starred) == (e["read"], e["starred"]), (uid, kept, e)
    return e["read"], e["starred"]


def _all_ids(gr: httpx.Client, n: int, **params: Any) -> list[str]:
    """Every item id of a stream, page by page through the continuations."""
    out: list[str] = []
    cont = None
    pages = 0
    while True:
        query = {"n": n, **params, **({"c": cont} if cont else {})}
        body = _ok(gr.get("/stream/items/ids", params=query))
        out += [ref["id"] for ref in body["itemRefs"]]
        pages += 1
        assert pages < 1000, "continuations never end"
        cont = body.get("continuation")
        if not cont:
            return out


def _hex(decimal_id: str) -> str:
    return f"{int(decimal_id):016x}"


def test_client_login_plain_json_and_refusals(desk: Desk) -> None:
    setup = desk.accounts["setup"]
    plain = httpx.post(
        f"{desk.greader}/accounts/ClientLogin", data={"Email": "setup", "Passwd": setup.app_password}
    )
    assert plain.status_code == 200
    lines = dict(line.split("=", 1) for line in plain.text.splitlines())
    assert set(lines) == {"SID", "LSID", "Auth"} and lines["Auth"] and setup.app_password not in plain.text
    as_json = httpx.get(
        f"{desk.greader}/accounts/ClientLogin",
        params={"Email": "setup", "Passwd": setup.app_password, "output": "json"},
    )
    assert _ok(as_json)["Auth"] == lines["Auth"]  # the same at every login: the app keeps working
    # The login password is not an app password; nor is another user's app password.
    for name, password in (
        ("setup", "pw-setup-secret"),
        ("nnw", setup.app_password),
        ("nobody", "x"),
        ("", ""),
    ):
        r = httpx.post(f"{desk.greader}/accounts/ClientLogin", data={"Email": name, "Passwd": password})
        assert r.status_code == 401 and "BadAuthentication" in r.text, (name, r.text)
    with _login(desk, "setup") as gr:
        assert len(_ok(gr.get("/token")).strip()) == 57
        info = _ok(gr.get("/user-info"))
        assert info["userName"] == "setup"
    for header in (
        {},
        {"Authorization": "GoogleLogin auth=nd_gr_wrong"},
        {"Authorization": f"Bearer {setup.token}"},
    ):
        r = httpx.get(f"{desk.greader}/reader/api/0/user-info", headers=header)
        assert r.status_code == 401 and r.headers["X-Reader-Google-Bad-Token"] == "true", (header, r.text)


def test_revoked_app_passwords_end_logins_and_auth(desk: Desk) -> None:
    """Listed with their IDs and last use, revoked one by one (by label, by ID) or all at once
    from the command line."""
    tablet = run_cli(desk.config, "users", "app-password", "revoked", "--label", "平板").stdout.strip()
    with _login(desk, "revoked") as gr:
        assert _ok(gr.get("/user-info"))["userName"] == "revoked"
        shown = run_cli(desk.config, "users", "app-password", "revoked", "--list", "--json").stdout
        listed = [(p["id"], p["label"], p["last_used"]) for p in json.loads(shown)]
        assert [(label, used is None) for _, label, used in listed] == [("test", False), ("平板", True)]
        assert "平板" in run_cli(desk.config, "users", "app-password", "revoked", "--list").stdout
        cli = run_cli(desk.config, "users", "app-password", "revoked", "--revoke", "平板")
        assert f"revoked app password(s) {listed[1][0]}" in cli.stderr, cli.stderr
        gone = httpx.post(f"{desk.greader}/accounts/ClientLogin", data={"Email": "revoked", "Passwd": tablet})
        assert gone.status_code == 401
        assert _ok(gr.get("/user-info"))["userName"] == "revoked"  # the other one still works
        cli = run_cli(desk.config, "users", "app-password", "revoked", "--revoke", listed[0][0])
        assert f"revoked app password(s) {listed[0][0]}" in cli.stderr, cli.stderr
        missing = run_cli(desk.config, "users", "app-password", "revoked", "--revoke", "平板", check=False)
        assert missing.returncode != 0 and "no app password" in missing.stderr
        cli = run_cli(desk.config, "users", "app-password", "revoked", "--revoke-all")
        assert "revoked 0 app password" in cli.stderr, cli.stderr
        r = httpx.post(
            f"{desk.greader}/accounts/ClientLogin",
            data={"Email": "revoked", "Passwd": desk.accounts["revoked"].app_password},
        )
        assert r.status_code == 401
        # The Auth token a running app holds stops working once serve's short cache lets go.
        poll(lambda: gr.get("/user-info").status_code == 401, "the revoked Auth token refused")


def test_labels_subscriptions_and_unread_counts(desk: Desk) -> None:
    with _login(desk, "setup") as gr:
        tags = [t["id"] for t in _ok(gr.get("/tag/list"))["tags"]]
        assert tags == [STARRED, f"user/-/label/{LABEL_A}", f"user/-/label/{LABEL_B}"]
        subs = _ok(gr.get("/subscription/list", params={"output": "json"}))["subscriptions"]
        assert [s["id"] for s in subs] == [f"feed/{k}" for k in desk.feed_keys]
        # Each feed under exactly one label: its group and site.
        assert [[c["label"] for c in s["categories"]] for s in subs] == [[LABEL_A]] * 3 + [[LABEL_B]] * 2
        counts = {c["id"]: c["count"] for c in _ok(gr.get("/unread-count"))["unreadcounts"]}
    with client(desk.api, desk.accounts["setup"].token) as c:
        tree = _ok(c.get("/tree"))
    per_feed = {f["key"]: f["unread"] for g in tree["groups"] for s in g["sites"] for f in s["feeds"]}
    assert {k: counts[f"feed/{k}"] for k in desk.feed_keys} == per_feed
    assert counts[f"user/-/label/{LABEL_A}"] == 3 * BIG and counts[READING_LIST] == tree["unread"] == TOTAL


def test_labels_on_single_items(desk: Desk) -> None:
    """A reader's own labels on items (edit-tag a/r user/-/label/X): listed as tags, a stream
    of their items, among the items' categories, renamed and removed by that reader (no admin)
    and nobody else's."""
    tag, renamed = "user/-/label/待读", "user/-/label/要闻"
    with _login(desk, "tagger") as gr:
        ids = _all_ids(gr, 5, s=f"feed/{desk.feed_keys[3]}")[:3]
        chosen = [_hex(i) for i in ids]
        assert _ok(gr.post("/edit-tag", data={"i": chosen, "a": [tag, STARRED], "T": "x"})) == "OK"
        assert _ok(gr.post("/edit-tag", data={"i": chosen[2], "r": tag})) == "OK"
        tags = _ok(gr.get("/tag/list"))["tags"]
        assert {"id": tag, "type": "tag"} in tags and {
            "id": f"user/-/label/{LABEL_A}",
            "type": "folder",
        } in tags
        assert _all_ids(gr, 10, s=tag) == ids[:2]  # newest first, as every stream
        items = _ok(gr.get("/stream/items/contents", params={"i": chosen}))["items"]
        assert [tag in it["categories"] for it in items] == [True, True, False]
        assert all(f"user/-/label/{LABEL_B}" in it["categories"] for it in items)  # the folder stays
        assert _state(desk, "tagger", chosen[0]) == (False, True)  # starred in the same request
        assert _ok(gr.post("/rename-tag", data={"s": tag, "dest": renamed})) == "OK"  # a reader may
        assert _all_ids(gr, 10, s=renamed) == ids[:2]
        assert gr.get("/stream/items/ids", params={"s": tag}).status_code == 404
        assert _ok(gr.post("/mark-all-as-read", data={"s": renamed})) == "OK"
        assert [_state(desk, "tagger", u)[0] for u in chosen] == [True, True, False]
    with _login(desk, "nnw") as other:  # another reader has none of these labels
        assert other.get("/stream/items/ids", params={"s": renamed}).status_code == 404
        assert {"id": renamed, "type": "tag"} not in _ok(other.get("/tag/list"))["tags"]
    with _login(desk, "tagger") as gr:
        assert _ok(gr.post("/disable-tag", data={"s": renamed})) == "OK"
        assert gr.get("/stream/items/ids", params={"s": renamed}).status_code == 404
        assert all(t.get("type", "folder") == "folder" for t in _ok(gr.get("/tag/list"))["tags"])
        # A folder is still the admins' to rename: a reader gets 403.
        assert gr.post("/rename-tag", data={"s": f"user/-/label/{LABEL_B}", "dest": "x/y"}).status_code == 403


def test_netnewswire_short_hex_ids(desk: Desk) -> None:
    """NetNewsWire: unread ids as decimal, turned into 16-hex short ids for contents and
    edit-tag, with the edit token it fetched."""
    with _login(desk, "nnw") as gr:
        unread = _all_ids(gr, 1000, s=READING_LIST, xt=READ)
        assert len(unread) == TOTAL
        short = [_hex(i) for i in unread[:5]]
        items = _ok(gr.post("/stream/items/contents", data={"i": short}))["items"]
        assert [it["id"] for it in items] == [LONG + h for h in short]
        token = _ok(gr.get("/token")).strip()
        assert _ok(gr.post("/edit-tag", data={"i": short[:3], "a": READ, "T": token})) == "OK"
        left = _all_ids(gr, 1000, s=READING_LIST, xt=READ)
        assert len(left) == TOTAL - 3 and not set(unread[:3]) & set(left)
    assert [_state(desk, "nnw", h) for h in short] == [(True, False)] * 3 + [(False, False)] * 2


def test_reeder_x_token_bare_hex_and_starring(desk: Desk) -> None:
    """Reeder: the edit token "x", bare 16-hex ids; starring and unstarring through edit-tag."""
    with _login(desk, "reeder") as gr:
        ids = _all_ids(gr, 20, s=f"feed/{desk.feed_keys[3]}")
        assert len(ids) == SMALL
        chosen = [_hex(i) for i in ids[:4]]
        assert _ok(gr.post("/edit-tag", data={"i": chosen, "a": STARRED, "T": "x"})) == "OK"
        starred = _ok(gr.get(f"/stream/contents/{STARRED}", params={"n": 50}))
        assert sorted(it["id"] for it in starred["items"]) == sorted(LONG + h for h in chosen)
        assert all(STARRED in it["categories"] for it in starred["items"])
        assert _ok(gr.post("/edit-tag", data={"i": chosen[0], "r": STARRED, "T": "x"})) == "OK"
        assert len(_all_ids(gr, 20, s=STARRED)) == 3
    assert [_state(desk, "reeder", h) for h in chosen] == [(False, False)] + [(False, True)] * 3


def test_feedme_empty_token_and_long_ids(desk: Desk) -> None:
    """FeedMe: no edit token at all; long ids; read, then unread again."""
    with _login(desk, "feedme") as gr:
        page = _ok(gr.get(f"/stream/contents/user/-/label/{LABEL_B}", params={"n": 5}))
        long_ids = [it["id"] for it in page["items"]]
        assert len(long_ids) == 5 and page["continuation"]
        assert all(it["origin"]["streamId"].startswith("feed/政策/站点乙/") for it in page["items"])
        # The stream id percent-encoded whole, slashes too, as most apps send it.
        encoded = _ok(
            gr.get(f"/stream/contents/{quote(f'user/-/label/{LABEL_B}', safe='')}", params={"n": 5})
        )
        assert [it["id"] for it in encoded["items"]] == [it["id"] for it in page["items"]]
        assert _ok(gr.post("/edit-tag", data={"i": long_ids, "a": READ})) == "OK"
        assert [_state(desk, "feedme", i.removeprefix(LONG)) for i in long_ids] == [(True, False)] * 5
        assert _ok(gr.post("/edit-tag", data={"i": long_ids[0], "r": READ, "T": ""})) == "OK"
    assert _state(desk, "feedme", long_ids[0].removeprefix(LONG)) == (False, False)


def test_liferea_decimal_ids_and_sanitised_items(desk: Desk) -> None:
    """Liferea: decimal ids, contents by GET with several `i`; items carry the cleaned,
    sanitised HTML (the JSON API's `html`), never the feed's own."""
    hostile = desk.feed_keys[4]
    with _login(desk, "liferea") as gr:
        ids = _all_ids(gr, 10, s=f"feed/{hostile}") + _all_ids(gr, 10, s=f"feed/{desk.feed_keys[0]}")[:2]
        body = _ok(gr.get("/stream/items/contents", params=[("i", i) for i in ids]))
        items = body["items"]
        assert [int(it["id"].removeprefix(LONG), 16) for it in items] == [int(i) for i in ids]
        first = items[0]
        assert "<script" not in first["summary"]["content"] and "onclick" not in first["summary"]["content"]
        assert first["canonical"][0]["href"] == "https://news.example.cn/x/1.html"
        assert (first["origin"]["streamId"], first["origin"]["title"]) == (f"feed/{hostile}", "站点乙·危险")
        with client(desk.api, desk.accounts["liferea"].token) as c:
            for it in items:
                full = _ok(c.get(f"/entries/{it['id'].removeprefix(LONG)}"))
                assert it["summary"]["content"] == full["html"] and it["title"] == full["title"]
        assert _ok(gr.post("/edit-tag", data={"i": ids[1:], "a": READ, "T": "whatever"})) == "OK"
        # An app that keeps ids as signed 64-bit numbers sends the upper half negative.
        big = next(i for i in _all_ids(gr, 1000, s=READING_LIST) if int(i) >= 1 << 63)
        assert _ok(gr.post("/edit-tag", data={"i": str(int(big) - (1 << 64)), "a": STARRED})) == "OK"
    assert [_state(desk, "liferea", _hex(i)) for i in ids] == [(False, False), (True, False), (True, False)]
    assert _state(desk, "liferea", _hex(big)) == (big in ids[1:], True)


def test_continuation_pages_through_the_whole_archive(desk: Desk) -> None:
    """No cap: small pages of ids, newest first and oldest first (`r=o`), and of contents,
    together list every entry once, in order; ot/nt narrow by time."""
    with _login(desk, "pager") as gr:
        newest = _all_ids(gr, 37, s=READING_LIST)
        oldest = _all_ids(gr, 41, s=READING_LIST, r="o")
        assert len(newest) == len(set(newest)) == TOTAL and oldest == newest[::-1]
        with client(desk.api, desk.accounts["pager"].token) as c:
            listed, cursor = [], None
            while True:
                page = _ok(c.get("/entries", params={"limit": 200, **({"cursor": cursor} if cursor else {})}))
                listed += [e["id"] for e in page["entries"]]
                if not (cursor := page["next"]):
                    break
        assert [_hex(i) for i in newest] == listed
        contents, cont = [], None
        while True:
            page = _ok(
                gr.get(
                    f"/stream/contents/user/-/label/{LABEL_A}",
                    params={"n": 70, **({"c": cont} if cont else {})},
                )
            )
            contents += [it["id"] for it in page["items"]]
            if not (cont := page.get("continuation")):
                break
        assert len(set(contents)) == 3 * BIG
        stamps = [
            int(ref["timestampUsec"])
            for ref in _ok(gr.get("/stream/items/ids", params={"s": READING_LIST, "n": 400}))["itemRefs"]
        ]
        assert stamps == sorted(stamps, reverse=True)
        middle = stamps[len(stamps) // 2] // 1_000_000
        newer = _all_ids(gr, 50, s=READING_LIST, ot=middle)
        older = _all_ids(gr, 50, s=READING_LIST, nt=middle)
        assert len(newer) + len(older) == TOTAL and not set(newer) & set(older)
        assert len(newer) == sum(1 for s in stamps if s // 1_000_000 >= middle)


def test_mark_all_as_read_with_ts(desk: Desk) -> None:
    """mark-all-as-read on one feed: a `ts` before the entries arrived marks nothing; `ts` now
    marks the whole feed and nothing else; then a label."""
    key = desk.feed_keys[3]
    with _login(desk, "marker") as gr:
        assert _ok(gr.post("/mark-all-as-read", data={"s": f"feed/{key}", "ts": "1000000", "T": "x"})) == "OK"
        counts = {c["id"]: c["count"] for c in _ok(gr.get("/unread-count"))["unreadcounts"]}
        assert counts[f"feed/{key}"] == SMALL
        ts = str(int(time.time() * 1_000_000))
        assert _ok(gr.post("/mark-all-as-read", data={"s": f"feed/{key}", "ts": ts, "T": "x"})) == "OK"
        counts = {c["id"]: c["count"] for c in _ok(gr.get("/unread-count"))["unreadcounts"]}
        assert counts[f"feed/{key}"] == 0 and counts[f"feed/{desk.feed_keys[4]}"] == 1
        assert counts[READING_LIST] == TOTAL - SMALL
        assert _ok(gr.post("/mark-all-as-read", data={"s": f"user/-/label/{LABEL_A}", "ts": ts})) == "OK"
        assert len(_all_ids(gr, 500, s=READING_LIST, xt=READ)) == 1
        read_ids = _all_ids(gr, 500, s=READ)
        assert len(read_ids) == TOTAL - 1
    with client(desk.api, desk.accounts["marker"].token) as c:
        unread = _ok(c.get("/entries", params={"status": "unread", "limit": 500}))["entries"]
    assert [e["feed"] for e in unread] == ["危险"]


@pytest.mark.parametrize(
    ("method", "path", "params", "status"),
    [
        ("POST", "/edit-tag", {"i": "not-an-id", "a": READ}, 400),
        ("POST", "/edit-tag", {"i": LONG + "xyz", "a": READ}, 400),
        ("POST", "/edit-tag", {"i": "123456789012345678901234", "a": READ}, 400),
        ("POST", "/edit-tag", {"i": "1", "a": "user/-/state/com.google/bogus"}, 400),
        ("POST", "/edit-tag", {"i": "1"}, 400),
        ("POST", "/edit-tag", {"i": "1", "a": f"user/-/label/{LABEL_A}"}, 400),  # a folder
        ("POST", "/edit-tag", {"i": "1", "a": "user/-/label/" + "长" * 101}, 400),
        ("POST", "/edit-tag", {"i": "1", "a": "user/-/label/"}, 400),
        ("POST", "/edit-tag", {"i": [str(n) for n in range(10_000)], "a": READ}, 413),
        ("GET", "/stream/items/contents", {}, 400),
        ("POST", "/stream/items/contents", {"i": [str(n) for n in range(10_000)]}, 413),
        ("GET", "/stream/items/ids", {"s": "feed/no/such/feed"}, 404),
        ("GET", "/stream/items/ids", {"s": "user/-/label/nowhere"}, 404),
        ("GET", "/stream/items/ids", {"s": "user/-/state/com.google/bogus"}, 400),
        ("GET", "/stream/items/ids", {}, 400),
        ("GET", "/stream/items/ids", {"s": READING_LIST, "n": "many"}, 400),
        ("GET", "/stream/items/ids", {"s": READING_LIST, "n": "0"}, 400),
        ("GET", "/stream/items/ids", {"s": READING_LIST, "c": "garbage!"}, 400),
        ("GET", "/stream/items/ids", {"s": READING_LIST, "c": "garbage", "r": "o"}, 400),
        ("GET", "/stream/items/ids", {"s": READING_LIST, "ot": "99999999999999999999"}, 400),
        ("GET", "/stream/items/ids", {"s": READING_LIST, "xt": "user/-/label/x"}, 400),
        ("GET", "/stream/contents/feed/nope", {}, 404),
        ("GET", "/edit-tag", {}, 405),
        ("GET", "/mark-all-as-read", {}, 405),
        ("POST", "/mark-all-as-read", {"s": "feed/nope"}, 404),
        ("POST", "/mark-all-as-read", {"s": READING_LIST, "ts": "soon"}, 400),
        ("PUT", "/stream/items/ids", {}, 405),
    ],
)
def test_bad_input_gets_a_clear_4xx(
    desk: Desk, method: str, path: str, params: dict[str, Any], status: int
) -> None:
    with _login(desk, "bad") as gr:
        r = gr.post(path, data=params) if method == "POST" else gr.request(method, path, params=params)
    assert r.status_code == status, (r.status_code, r.text)
    body = r.json()
    assert body["error"]["message"] and "Traceback" not in r.text, body
    # Nothing was changed by a refused request.
    with client(desk.api, desk.accounts["bad"].token) as c:
        assert _ok(c.get("/tree"))["unread"] == TOTAL
