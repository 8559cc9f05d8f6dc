"""The reader web app's pages over HTTP, against the real `serve` process: logging in and out
(the cookie's flags, CSRF on every form, the shared login throttle), the security headers of
every page, the lists, the article, read/star/mark-read through the forms (checked through the
JSON API), search, today's stories, languages and themes. The browser tests are in
test_webapp_browser.py."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from newsdesk.web.pages.messages import EN, pick_language
from serve_helpers import poll, rss
from webapp_helpers import REF_TITLE, SEED, Desk, csrf_of, log_in, running_desk

pytestmark = pytest.mark.skipif(not SEED.exists(), reason="../shared/reference is not beside the clone")

TEMPLATES = Path(__file__).resolve().parents[1] / "src" / "newsdesk" / "web" / "templates"
PAGES = Path(__file__).resolve().parents[1] / "src" / "newsdesk" / "web" / "pages"


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desk]:
    with running_desk(tmp_path_factory.mktemp("webapp"), base_path="/news") as d:
        yield d


@pytest.fixture
def reader(desk: Desk) -> Iterator[httpx.Client]:
    with httpx.Client(timeout=30) as c:
        assert log_in(c, desk).status_code == 303
        yield c


def _ids(html: str) -> list[str]:
    return re.findall(r'class="item entry[^"]*" data-id="([0-9a-f]{16})"', html)


def _assert_secured(response: httpx.Response) -> None:
    csp = response.headers["content-security-policy"]
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert "script-src 'self'" in csp and "style-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["x-content-type-options"] == "nosniff"


def test_pages_need_a_login_and_every_page_is_secured(desk: Desk) -> None:
    with httpx.Client(timeout=30) as c:
        for path in ["/", "/all", "/starred", "/search?q=x", "/today", "/settings", "/password"]:
            r = c.get(f"{desk.url}{path}")
            assert r.status_code == 303, path
            assert r.headers["location"].startswith("/news/login?next=%2Fnews%2F"), r.headers["location"]
            _assert_secured(r)
        login = c.get(f"{desk.url}/login")
        assert login.status_code == 200
        _assert_secured(login)
        assert '<html lang="zh-CN"' in login.text and "登录" in login.text
        # No inline script or style anywhere: every script and stylesheet is a file of ours.
        assert "<style" not in login.text and " style=" not in login.text
        assert re.findall(r"<script[^>]*>", login.text) == [
            '<script src="/news/static/app.js?v='
            + login.text.split("app.js?v=")[1].split('"')[0]
            + '" defer>'
        ]
        css = c.get(f"{desk.url}/static/site.css")  # the static site's own stylesheet
        assert css.status_code == 200 and ".article h1" in css.text
        _assert_secured(css)
        missing = c.get(f"{desk.url}/no-such-page")
        assert missing.status_code == 404
        _assert_secured(missing)
        # The API and the published site keep their own headers.
        assert "content-security-policy" not in c.get(f"{desk.url}/api/v1/me").headers


def test_login_sets_a_safe_cookie_and_logout_ends_the_session(desk: Desk) -> None:
    with httpx.Client(timeout=30) as c:
        r = log_in(c, desk)
        assert r.status_code == 303 and r.headers["location"] == "/news/"
        cookie = next(v for k, v in r.headers.multi_items() if k == "set-cookie" and "newsdesk_session=" in v)
        assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/news/" in cookie
        assert "Secure" not in cookie  # plain http on loopback
        page = c.get(f"{desk.url}/")
        assert page.status_code == 200 and "reader" in page.text
        session = c.cookies["newsdesk_session"]
        # Logging out needs the form's token; without it nothing happens.
        assert c.post(f"{desk.url}/logout", data={"csrf": "forged"}).status_code == 403
        assert c.get(f"{desk.url}/").status_code == 200
        out = c.post(f"{desk.url}/logout", data={"csrf": csrf_of(page.text)})
        assert out.status_code == 303 and out.headers["location"] == "/news/login"
    with httpx.Client(timeout=30, cookies={"newsdesk_session": session}) as stale:
        assert stale.get(f"{desk.url}/").status_code == 303
        assert stale.get(f"{desk.url}/api/v1/me").status_code == 401


def test_login_behind_https_gets_a_secure_cookie(desk: Desk) -> None:
    # A proxy on this machine that terminates TLS says so; uvicorn trusts it from 127.0.0.1.
    with httpx.Client(timeout=30, headers={"X-Forwarded-Proto": "https"}) as c:
        form = c.get(f"{desk.url}/login")
        login_cookie = form.headers["set-cookie"]
        assert "Secure" in login_cookie and "SameSite=strict" in login_cookie
        r = c.post(
            f"{desk.url}/login",
            data={"csrf": csrf_of(form.text), "name": "reader", "password": desk.password},
            # httpx keeps a Secure cookie for https only: sent by hand, as the browser would.
            headers={"Cookie": f"newsdesk_login={form.cookies['newsdesk_login']}"},
        )
        assert r.status_code == 303
        cookie = next(v for k, v in r.headers.multi_items() if k == "set-cookie" and "newsdesk_session=" in v)
        assert "Secure" in cookie and "HttpOnly" in cookie


def test_login_form_needs_its_token_and_refuses_wrong_passwords(desk: Desk) -> None:
    with httpx.Client(timeout=30) as c:
        form = c.get(f"{desk.url}/login")
        # Another site's form: no token cookie of ours goes with it.
        with httpx.Client(timeout=30) as other:
            forged = other.post(
                f"{desk.url}/login",
                data={"csrf": csrf_of(form.text), "name": "reader", "password": desk.password},
            )
        assert forged.status_code == 403 and "newsdesk_session" not in forged.headers.get("set-cookie", "")
        wrong = c.post(
            f"{desk.url}/login", data={"csrf": csrf_of(form.text), "name": "reader", "password": "wrong"}
        )
        assert wrong.status_code == 401 and "用户名或密码错误" in wrong.text
        assert "newsdesk_session" not in c.cookies
        # Never sent elsewhere after logging in, whatever `next` says.
        for bad in ["//evil.example/", "https://evil.example/", "/\\evil.example", "/elsewhere"]:
            form = c.get(f"{desk.url}/login")
            r = c.post(
                f"{desk.url}/login",
                data={"csrf": csrf_of(form.text), "name": "reader", "password": desk.password, "next": bad},
            )
            assert r.status_code == 303 and r.headers["location"] == "/news/", bad
            c.cookies.clear()


def test_failed_logins_are_throttled_with_the_api(desk: Desk) -> None:
    # From an address of its own (all of 127/8 is this machine), so other tests' logins go on.
    transport = httpx.HTTPTransport(local_address="127.0.0.9")
    with httpx.Client(timeout=30, transport=transport) as c:
        for _ in range(5):  # half through the pages …
            form = c.get(f"{desk.url}/login")
            r = c.post(
                f"{desk.url}/login", data={"csrf": csrf_of(form.text), "name": "reader", "password": "x"}
            )
            assert r.status_code == 401
        for _ in range(5):  # … half through the API: one count
            assert (
                c.post(f"{desk.url}/api/v1/session", json={"name": "reader", "password": "x"}).status_code
                == 401
            )
        form = c.get(f"{desk.url}/login")
        right = c.post(
            f"{desk.url}/login",
            data={"csrf": csrf_of(form.text), "name": "reader", "password": desk.password},
        )
        assert right.status_code == 429 and "登录失败次数过多" in right.text
        assert "newsdesk_session" not in c.cookies


def test_lists_fold_a_storys_copies_and_page_by_cursor(desk: Desk, reader: httpx.Client) -> None:
    page = reader.get(f"{desk.url}/all")
    assert page.status_code == 200
    ids = _ids(page.text)
    with desk.api() as api:
        every = api.get("/entries", params={"status": "all", "limit": 100}).json()["entries"]
    copies = [e for e in every if e["title"] == REF_TITLE]
    assert len(copies) == 2
    # One row for the story, the other outlet folded under it.
    assert len(ids) == len(every) - 1
    assert "也见于 1 家媒体" in page.text
    assert sum(e["id"] in ids for e in copies) == 1
    # The tree: group → site → feed with unread counts.
    assert ">新浪财经</a>" in page.text and ">人民银行</a>" in page.text
    assert "data-key=" not in page.text  # a site's feeds are listed when it is the one read
    site_page = reader.get(f"{desk.url}/all", params={"group": "政策", "site": "人民银行"})
    assert 'data-key="政策/人民银行/公开市场"' in site_page.text and 'data-key="金融/' not in site_page.text
    # Newest first, as the API lists them.
    api_order = [e["id"] for e in every if e["id"] in ids]
    assert ids == api_order
    # A feed's list, paged: every entry once, in order.
    feed = "政策/人民银行/公开市场"
    seen: list[str] = []
    url: str | None = f"{desk.url}/all?feed={feed}&limit=5"
    while url is not None:
        r = reader.get(url)
        assert r.status_code == 200
        seen += _ids(r.text)
        older = re.search(r'id="older" href="([^"]+)"', r.text)
        url = f"{desk.url}/all{older.group(1).replace('&amp;', '&')}" if older else None
    with desk.api() as api:
        wanted = [e["id"] for e in api.get("/entries", params={"feed": feed, "limit": 100}).json()["entries"]]
    assert seen == wanted and len(wanted) == 12
    bad = reader.get(f"{desk.url}/all?cursor=nonsense")
    assert bad.status_code == 422 and "cursor" in bad.text


def test_article_marks_read_and_forms_change_state_only_with_their_token(
    desk: Desk, reader: httpx.Client
) -> None:
    with desk.api() as api:
        ref = next(
            e for e in api.get("/entries", params={"limit": 100}).json()["entries"] if e["title"] == REF_TITLE
        )
        uid = ref["id"]
        api.patch(f"/entries/{uid}", json={"read": False, "starred": False})
        page = reader.get(f"{desk.url}/entry/{uid}")
        assert page.status_code == 200
        _assert_secured(page)
        text = page.text
        assert f"<h1>{REF_TITLE}</h1>" in text
        assert "千兆光网" in text
        # The 要点 box the insights stage made at ingest: six tasks, the target, the official.
        box = re.search(r'<aside class="insights".*?</aside>', text, re.S)
        assert box is not None and box[0].count("<li value=") == 6
        assert "超过 400000000户" in box[0] and "2022-12-31" in box[0] and "部长 肖亚庆" in box[0]
        for label in ["来源", "责任编辑", "记者", "电头", "原文链接", "其他媒体报道", "北京时间"]:
            assert label in text, label
        assert "中国新闻网" in text and "刘育英" in text and "中新社北京12月20日电" in text
        assert "2021-12-20 23:00" in text  # 15:00 UTC, shown in Beijing time
        assert api.get(f"/entries/{uid}").json()["read"] is True  # opened: read
        # Star through the form: not without the token, then with it.
        forged = reader.post(f"{desk.url}/entry/{uid}/state", data={"starred": "1", "csrf": "x" * 64})
        assert forged.status_code == 403
        assert api.get(f"/entries/{uid}").json()["starred"] is False
        token = csrf_of(text)
        r = reader.post(
            f"{desk.url}/entry/{uid}/state",
            data={"starred": "1", "csrf": token, "next": f"/news/entry/{uid}"},
        )
        assert r.status_code == 303 and r.headers["location"] == f"/news/entry/{uid}"
        assert api.get(f"/entries/{uid}").json()["starred"] is True
        starred = reader.get(f"{desk.url}/starred")
        assert _ids(starred.text) == [uid]
        # The page's script asks for no redirect.
        r = reader.post(
            f"{desk.url}/entry/{uid}/state",
            data={"read": "0", "starred": "0", "csrf": token},
            headers={"Accept": "application/json"},
        )
        assert r.status_code == 204
        state = api.get(f"/entries/{uid}").json()
        assert (state["read"], state["starred"]) == (False, False)
        missing = reader.get(f"{desk.url}/entry/0000000000000000")
        assert missing.status_code == 404 and "找不到这篇文章" in missing.text


def test_mark_above_and_mark_the_list_read(desk: Desk, reader: httpx.Client) -> None:
    feed = "政策/人民银行/公开市场"
    with desk.api() as api:
        listed = api.get("/entries", params={"feed": feed, "limit": 100}).json()["entries"]
        for e in listed:
            api.patch(f"/entries/{e['id']}", json={"read": False})
        page = reader.get(f"{desk.url}/?feed={feed}")
        ids = _ids(page.text)
        assert ids == [e["id"] for e in listed]
        # "Mark all above read" on the fourth row: the first four.
        above = re.findall(r'name="above" value="([^"]+)"', page.text)[3]
        before = re.search(r'id="mark-above".*?name="before" value="([^"]+)"', page.text, re.S)
        assert before
        r = reader.post(
            f"{desk.url}/mark-read",
            data={
                "csrf": csrf_of(page.text),
                "feed": feed,
                "view": "unread",
                "above": above,
                "before": before.group(1),
                "next": f"/news/?feed={feed}",
            },
        )
        assert r.status_code == 303
        state = {
            e["id"]: e["read"]
            for e in api.get("/entries", params={"feed": feed, "limit": 100}).json()["entries"]
        }
        assert [state[i] for i in ids] == [True] * 4 + [False] * (len(ids) - 4)
        # The site's list read (the feed's is the same here), then the other group untouched.
        page = reader.get(f"{desk.url}/?group=政策&site=人民银行")
        assert _ids(page.text) == ids[4:]
        form = re.search(
            r'<form method="post" action="/news/mark-read" id="mark-read".*?</form>', page.text, re.S
        )
        assert form
        fields = dict(re.findall(r'name="(\w+)" value="([^"]*)"', form.group(0)))
        assert fields["group"] == "政策" and fields["site"] == "人民银行"
        assert reader.post(f"{desk.url}/mark-read", data=fields).status_code == 303
        unread = api.get("/entries", params={"status": "unread", "limit": 100}).json()["entries"]
        assert [e for e in unread if e["group"] == "政策"] == []
        assert {e["group"] for e in unread} <= {"金融"}
        # Without the token: nothing.
        for e in listed:
            api.patch(f"/entries/{e['id']}", json={"read": False})
        fields["csrf"] = "forged"
        assert reader.post(f"{desk.url}/mark-read", data=fields).status_code == 403
        unread = api.get("/entries", params={"feed": feed, "status": "unread", "limit": 100}).json()[
            "entries"
        ]
        assert len(unread) == len(listed)


def test_search_highlights_and_finds_traditional_input(desk: Desk, reader: httpx.Client) -> None:
    for query in ["千兆光网", "千兆光網"]:
        r = reader.get(f"{desk.url}/search", params={"q": query})
        assert r.status_code == 200
        titles = re.findall(r'<a href="/news/entry/[0-9a-f]{16}" class="title">([^<]+)</a>', r.text)
        assert titles == [REF_TITLE], query  # one hit per story
        assert "<mark>千兆光网</mark>" in r.text
        assert "也见于 1 家媒体" in r.text
    none = reader.get(f"{desk.url}/search", params={"q": "不存在的词语组合"})
    assert "没有找到" in none.text
    bad = reader.get(f"{desk.url}/search", params={"q": '"'})
    assert bad.status_code == 200 and ('class="error"' in bad.text or "没有找到" in bad.text)
    # The query as typed is shown back as text, never as markup.
    odd = reader.get(f"{desk.url}/search", params={"q": "<script>x</script>"})
    assert "<script>x</script>" not in odd.text


@pytest.mark.parametrize(
    ("filters", "found"),
    [
        ({"site": "新浪财经"}, True),
        ({"site": "人民银行"}, False),
        ({"group": "金融", "source": "中国新闻网"}, True),
        ({"source": "新华社"}, False),
        ({"since": "2021-12-20", "until": "2021-12-20"}, True),  # the day itself, in Beijing time
        ({"since": "2021-12-21"}, False),
        ({"until": "2021-12-19"}, False),
    ],
)
def test_search_filters(desk: Desk, reader: httpx.Client, filters: dict[str, str], found: bool) -> None:
    r = reader.get(f"{desk.url}/search", params={"q": "千兆光网", **filters})
    assert r.status_code == 200
    assert (REF_TITLE in r.text) == found
    for value in filters.values():
        assert f'value="{value}"' in r.text  # the form shows what was asked


def test_today_ranks_stories_by_outlets(desk: Desk, reader: httpx.Client) -> None:
    r = reader.get(f"{desk.url}/today", params={"day": "2021-12-20"})
    assert r.status_code == 200
    assert REF_TITLE in r.text and "2 家媒体" in r.text
    other = reader.get(f"{desk.url}/today", params={"day": "2021-12-19"})
    assert REF_TITLE not in other.text and "当天没有多家媒体报道的新闻" in other.text


def test_english_by_setting_or_accept_language_and_themes(desk: Desk, reader: httpx.Client) -> None:
    english = reader.get(f"{desk.url}/", headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert '<html lang="en"' in english.text and "Unread" in english.text
    chinese = reader.get(f"{desk.url}/", headers={"Accept-Language": "fr, zh-CN;q=0.8, en;q=0.5"})
    assert '<html lang="zh-CN"' in chinese.text and "未读" in chinese.text
    settings = reader.get(f"{desk.url}/settings")
    r = reader.post(
        f"{desk.url}/settings", data={"csrf": csrf_of(settings.text), "lang": "en", "theme": "dark"}
    )
    assert r.status_code == 303
    page = reader.get(f"{desk.url}/", headers={"Accept-Language": "zh-CN"})
    assert '<html lang="en" data-theme="dark"' in page.text
    assert "data-scroll-read" not in page.text
    r = reader.post(
        f"{desk.url}/settings", data={"csrf": csrf_of(settings.text), "lang": "en", "scroll_read": "1"}
    )
    assert 'data-scroll-read="1"' in reader.get(f"{desk.url}/").text
    r = reader.post(
        f"{desk.url}/settings", data={"csrf": csrf_of(settings.text), "lang": "", "theme": "auto"}
    )
    page = reader.get(f"{desk.url}/", headers={"Accept-Language": "zh-CN"})
    assert '<html lang="zh-CN" data-theme="auto"' in page.text


def test_changing_the_password_ends_sessions(desk: Desk) -> None:
    with httpx.Client(timeout=30) as c:
        assert log_in(c, desk).status_code == 303
        form = c.get(f"{desk.url}/password")
        token = csrf_of(form.text)
        wrong = c.post(
            f"{desk.url}/password", data={"csrf": token, "current": "nope", "new": "a1", "again": "a1"}
        )
        assert wrong.status_code == 422 and "当前密码不正确" in wrong.text
        differ = c.post(
            f"{desk.url}/password", data={"csrf": token, "current": desk.password, "new": "a1", "again": "a2"}
        )
        assert differ.status_code == 422 and "两次输入的新密码不一致" in differ.text
        new = desk.password + "-new"
        done = c.post(
            f"{desk.url}/password", data={"csrf": token, "current": desk.password, "new": new, "again": new}
        )
        assert done.status_code == 200 and "密码已修改" in done.text
        assert c.get(f"{desk.url}/").status_code == 303  # this session ended too
        assert log_in(c, desk).status_code == 401  # the old password
        assert log_in(c, desk, password=new).status_code == 303
        # Back to the old one for the other tests.
        form = c.get(f"{desk.url}/password")
        c.post(
            f"{desk.url}/password",
            data={"csrf": csrf_of(form.text), "current": new, "new": desk.password, "again": desk.password},
        )


def test_every_message_has_its_english() -> None:
    used = set()
    for path in [*TEMPLATES.glob("*.html"), *PAGES.glob("*.py")]:
        text = path.read_text(encoding="utf-8")
        used |= set(re.findall(r'_\(\s*"([^"]+)"', text))
        used |= set(re.findall(r"_\(\s*'([^']+)'", text))
        used |= set(re.findall(r'message_key="([^"]+)"', text))
    chinese = {m for m in used if re.search(r"[\u4e00-\u9fff]", m)}
    assert len(chinese) > 40
    assert sorted(chinese - set(EN)) == []


@pytest.mark.parametrize(
    ("setting", "accept", "wanted"),
    [
        (None, None, "zh-CN"),
        ("en", "zh-CN", "en"),
        ("fr", "en-US,en;q=0.9", "en"),
        (None, "fr;q=0.9, zh-TW;q=0.8", "zh-CN"),
        (None, "zh;q=0.2, en;q=0.9", "en"),
        (None, "de, fr", "zh-CN"),
        (None, "en;q=bogus, zh", "zh-CN"),
    ],
)
def test_language_choice(setting: str | None, accept: str | None, wanted: str) -> None:
    assert pick_language(setting, accept) == wanted


# -- feed health and the admins' pages -----------------------------------------------------------


@pytest.fixture
def chief(desk: Desk) -> Iterator[httpx.Client]:
    with httpx.Client(timeout=30) as c:
        assert log_in(c, desk, "chief", desk.admin_password).status_code == 303
        yield c


def _feed_rows(html: str) -> list[tuple[str, str]]:
    return re.findall(r'<tr class="(ok|failing|paused)" data-key="([^"]+)">', html)


def test_admins_add_refresh_edit_pause_and_remove_feeds(
    desk: Desk, chief: httpx.Client, reader: httpx.Client
) -> None:
    desk.feeds.route("/added", rss(7, 3))
    page = chief.get(f"{desk.url}/feeds")
    token = csrf_of(page.text)
    added = {
        "csrf": token,
        "group": "测试",
        "site": "本地",
        "name": "新增",
        "source": desk.feeds.url("/added"),
    }
    r = chief.post(f"{desk.url}/feeds/add", data={**added, "clean": "1"})
    assert r.status_code == 303
    key = "测试/本地/新增"
    # Refresh now: its entries arrive.
    assert (
        chief.post(
            f"{desk.url}/feeds/action", data={"csrf": token, "key": key, "action": "refresh"}
        ).status_code
        == 303
    )

    def arrived() -> bool:
        return len(_ids(reader.get(f"{desk.url}/all", params={"feed": key}).text)) == 3

    poll(arrived, "the added feed's entries")
    # The same key again: one line saying so.
    again = chief.post(f"{desk.url}/feeds/add", data=added)
    assert again.status_code == 409 and key in again.text
    # A feed that fails comes first on the health page, with why.
    broken = {**added, "name": "坏的", "source": desk.feeds.url("/missing")}
    assert chief.post(f"{desk.url}/feeds/add", data=broken).status_code == 303

    def failing_first() -> bool:
        rows = _feed_rows(reader.get(f"{desk.url}/feeds").text)
        return rows[0] == ("failing", "测试/本地/坏的")

    poll(failing_first, "the failing feed listed first")
    health = reader.get(f"{desk.url}/feeds").text
    assert "404" in health and "连续失败 1 次" in health
    # Readers see health, not the admin's forms, and may not use them.
    assert 'id="feed-add"' not in health and 'value="refresh"' not in health
    assert reader.post(f"{desk.url}/feeds/add", data={**added, "csrf": csrf_of(health)}).status_code == 403
    # Edit: a new place in the tree is a new key.
    edit = chief.get(f"{desk.url}/feeds/edit", params={"key": key})
    assert edit.status_code == 200 and desk.feeds.url("/added") in edit.text
    r = chief.post(
        f"{desk.url}/feeds/edit",
        data={
            "csrf": token,
            "key": key,
            "group": "测试",
            "site": "改名",
            "name": "新增",
            "source": desk.feeds.url("/added"),
            "clean": "1",
        },
    )
    assert r.status_code == 303
    moved = "测试/改名/新增"
    rows = dict((k, s) for s, k in _feed_rows(chief.get(f"{desk.url}/feeds").text))
    assert moved in rows and key not in rows
    # Pause, resume, remove.
    chief.post(f"{desk.url}/feeds/action", data={"csrf": token, "key": moved, "action": "pause"})
    rows = dict((k, s) for s, k in _feed_rows(chief.get(f"{desk.url}/feeds").text))
    assert rows[moved] == "paused"
    chief.post(f"{desk.url}/feeds/action", data={"csrf": token, "key": moved, "action": "resume"})
    rows = dict((k, s) for s, k in _feed_rows(chief.get(f"{desk.url}/feeds").text))
    assert rows[moved] != "paused"
    for k in (moved, "测试/本地/坏的"):
        assert (
            chief.post(
                f"{desk.url}/feeds/action", data={"csrf": token, "key": k, "action": "remove"}
            ).status_code
            == 303
        )
    # A feed from the config file is paused, never removed, from here.
    kept = chief.post(
        f"{desk.url}/feeds/action", data={"csrf": token, "key": "政策/人民银行/公开市场", "action": "remove"}
    )
    assert kept.status_code == 409 and "配置文件" in kept.text
    rows = dict((k, s) for s, k in _feed_rows(chief.get(f"{desk.url}/feeds").text))
    assert moved not in rows and "测试/本地/坏的" not in rows and "政策/人民银行/公开市场" in rows
    # Without the form's token: nothing.
    assert chief.post(f"{desk.url}/feeds/add", data={**added, "csrf": "forged"}).status_code == 403


def test_admins_add_and_remove_users_whose_sessions_end_at_once(
    desk: Desk, chief: httpx.Client, reader: httpx.Client
) -> None:
    assert reader.get(f"{desk.url}/users").status_code == 403
    page = chief.get(f"{desk.url}/users")
    token = csrf_of(page.text)
    r = chief.post(f"{desk.url}/users/add", data={"csrf": token, "name": "新人", "password": "pw-新人"})
    assert r.status_code == 303
    taken = chief.post(f"{desk.url}/users/add", data={"csrf": token, "name": "新人", "password": "x"})
    assert taken.status_code == 422 and "新人" in taken.text
    with httpx.Client(timeout=30) as newcomer:
        assert log_in(newcomer, desk, "新人", "pw-新人").status_code == 303
        assert newcomer.get(f"{desk.url}/").status_code == 200
        assert chief.post(f"{desk.url}/users/remove", data={"csrf": token, "name": "新人"}).status_code == 303
        assert newcomer.get(f"{desk.url}/").status_code == 303  # at once, not after the cache's 10 s
    assert 'data-name="新人"' not in chief.get(f"{desk.url}/users").text
    # Roles: a reader made an admin may open the admins' pages at once, and back.
    assert (
        chief.post(f"{desk.url}/users/role", data={"csrf": token, "name": "reader", "admin": "1"}).status_code
        == 303
    )
    assert reader.get(f"{desk.url}/users").status_code == 200
    assert (
        chief.post(f"{desk.url}/users/role", data={"csrf": token, "name": "reader", "admin": "0"}).status_code
        == 303
    )
    assert reader.get(f"{desk.url}/users").status_code == 403
    assert (
        chief.post(f"{desk.url}/users/role", data={"csrf": token, "name": "chief", "admin": "0"}).status_code
        == 409
    )
    assert (
        chief.post(f"{desk.url}/users/role", data={"csrf": token, "name": "nobody", "admin": "1"}).status_code
        == 404
    )
    mine = chief.post(f"{desk.url}/users/remove", data={"csrf": token, "name": "chief"})
    assert mine.status_code == 409


# -- keyword rules ---------------------------------------------------------------------------------


def test_keyword_rules_star_and_mark_read_what_arrives(
    desk: Desk, reader: httpx.Client, chief: httpx.Client
) -> None:
    page = reader.get(f"{desk.url}/rules")
    assert page.status_code == 200
    token = csrf_of(page.text)
    feed = "政策/人民银行/公开市场"
    add = f"{desk.url}/rules/add"
    # Words (Traditional input matches Simplified text), only this feed: star.
    assert (
        reader.post(
            add,
            data={
                "csrf": token,
                "pattern": "第1源第13條",
                "kind": "words",
                "when": "matching",
                "action": "star",
                "feed": feed,
            },
        ).status_code
        == 303
    )
    # A regular expression: mark read.
    assert (
        reader.post(
            add,
            data={
                "csrf": token,
                "pattern": r"第1源第1[24]条",
                "kind": "regex",
                "when": "matching",
                "action": "read",
                "feed": "",
            },
        ).status_code
        == 303
    )
    # Not matching: a rule for another feed's words changes nothing here.
    assert (
        reader.post(
            add,
            data={
                "csrf": token,
                "pattern": "工信部",
                "kind": "words",
                "when": "not_matching",
                "action": "read",
                "feed": "金融/新浪财经/国内",
            },
        ).status_code
        == 303
    )
    bad = reader.post(add, data={"csrf": token, "pattern": "(unclosed", "kind": "regex", "action": "read"})
    assert bad.status_code == 422 and "(unclosed" in bad.text
    forged = reader.post(add, data={"csrf": "forged", "pattern": "x", "kind": "words", "action": "read"})
    assert forged.status_code == 403
    listed = reader.get(f"{desk.url}/rules").text
    assert listed.count('<tr data-id="') == 3
    with desk.api() as api:
        before = {e["id"] for e in api.get("/entries", params={"feed": feed, "limit": 100}).json()["entries"]}
        # Three new items (12, 13, 14), then "refresh now".
        desk.feeds.route("/pboc", rss(1, 15))
        admin_token = csrf_of(chief.get(f"{desk.url}/feeds").text)
        chief.post(f"{desk.url}/feeds/action", data={"csrf": admin_token, "key": feed, "action": "refresh"})

        def arrived() -> list[dict[str, object]] | None:
            got = api.get("/entries", params={"feed": feed, "limit": 100}).json()["entries"]
            return got if len(got) == len(before) + 3 else None

        poll(arrived, "the three new items")
        want = {
            "第1源第12条": (True, False),
            "第1源第13条": (False, True),
            "第1源第14条": (True, False),
        }

        def applied() -> dict[str, tuple[bool, bool]] | None:
            # Through the API alone, the reader never opening a list: the scheduler applied
            # the rules right after the batch that stored the items.
            state = {
                e["title"][:7]: (e["read"], e["starred"])
                for e in api.get("/entries", params={"feed": feed, "limit": 100}).json()["entries"]
                if e["id"] not in before
            }
            return state if state == want else None

        poll(applied, "the rules applied by the scheduler")
        # Entries that were there before the rules are left alone.
        old = [
            e
            for e in api.get("/entries", params={"feed": feed, "limit": 100}).json()["entries"]
            if e["id"] in before
        ]
        assert not any(e["starred"] for e in old)
    # Rules are the reader's own: removing them.
    ids = re.findall(r'<tr data-id="(\d+)"', listed)
    assert chief.post(f"{desk.url}/rules/remove", data={"csrf": admin_token, "id": ids[0]}).status_code == 404
    for rule in ids:
        assert reader.post(f"{desk.url}/rules/remove", data={"csrf": token, "id": rule}).status_code == 303
    assert '<tr data-id="' not in reader.get(f"{desk.url}/rules").text


def test_a_feeds_interval_bounds_are_edited_validated_and_honoured(desk: Desk, chief: httpx.Client) -> None:
    key = "金融/中新网/财经"
    form = chief.get(f"{desk.url}/feeds/edit", params={"key": key}).text
    assert 'name="min_interval"' in form and 'placeholder="5"' in form  # the config's bound shown
    token = csrf_of(form)
    fields = {
        "csrf": token,
        "key": key,
        "group": "金融",
        "site": "中新网",
        "name": "财经",
        "source": desk.feeds.url("/chinanews"),
        "clean": "1",
    }
    for low, high in (("abc", ""), ("20", "10"), ("0", ""), ("", "99999999")):
        bad = chief.post(f"{desk.url}/feeds/edit", data={**fields, "min_interval": low, "max_interval": high})
        assert bad.status_code == 422 and "间隔须为正数" in bad.text, (low, high)
    ok = chief.post(f"{desk.url}/feeds/edit", data={**fields, "min_interval": "", "max_interval": "10"})
    assert ok.status_code == 303
    assert 'name="max_interval" inputmode="decimal" value="10"' in chief.get(
        f"{desk.url}/feeds/edit", params={"key": key}
    ).text
    chief.post(f"{desk.url}/feeds/action", data={"csrf": token, "key": key, "action": "refresh"})
    with desk.api() as api:

        def bounded() -> dict[str, object] | None:
            feed = api.get(f"/feeds/{key}").json()
            schedule = feed.get("schedule", feed)
            reason = str(schedule.get("reason", ""))
            return feed if "at least every 10 min" in reason and schedule["interval"] <= 600 else None

        poll(bounded, "the feed checked again within its own bound")
    back = chief.post(f"{desk.url}/feeds/edit", data={**fields, "min_interval": "", "max_interval": ""})
    assert back.status_code == 303


def test_admins_skip_rules_keep_matching_items_out_of_the_archive(
    desk: Desk, reader: httpx.Client, chief: httpx.Client
) -> None:
    feed = "政策/人民银行/公开市场"
    token = csrf_of(chief.get(f"{desk.url}/rules").text)
    add = f"{desk.url}/rules/skip/add"
    form = {"csrf": token, "pattern": "第1源第16條", "kind": "words", "when": "matching", "feed": feed}
    # Readers cannot make them, nor see them.
    reader_token = csrf_of(reader.get(f"{desk.url}/rules").text)
    assert reader.post(add, data={**form, "csrf": reader_token}).status_code == 403
    assert chief.post(add, data=form).status_code == 303
    regex = {**form, "pattern": r"第1源第1[7]条", "kind": "regex", "feed": ""}
    assert chief.post(add, data=regex).status_code == 303
    page = chief.get(f"{desk.url}/rules").text
    skips = re.findall(r'<tr data-skip="(\d+)"', page)
    assert len(skips) == 2 and "第1源第16條" in page
    assert 'data-skip="' not in reader.get(f"{desk.url}/rules").text
    with desk.api() as api:
        before = {e["title"][:7] for e in api.get("/entries", params={"feed": feed, "limit": 100}).json()["entries"]}
        desk.feeds.route("/pboc", rss(1, 19))  # items 15 … 18 are new
        admin_token = csrf_of(chief.get(f"{desk.url}/feeds").text)
        chief.post(f"{desk.url}/feeds/action", data={"csrf": admin_token, "key": feed, "action": "refresh"})

        def arrived() -> set[str] | None:
            got = {e["title"][:7] for e in api.get("/entries", params={"feed": feed, "limit": 100}).json()["entries"]}
            return got - before if "第1源第18条" in got else None

        # 16 (words, Traditional input) and 17 (the regular expression) were not stored.
        assert poll(arrived, "the new items") == {"第1源第15条", "第1源第18条"}
    poll(lambda: "skipped=2 " in desk.serve.log_text() or None, "the batch's log line counting the skipped")
    for rule in skips:
        assert chief.post(f"{desk.url}/rules/skip/remove", data={"csrf": token, "id": rule}).status_code == 303
    assert 'data-skip="' not in chief.get(f"{desk.url}/rules").text


def test_a_regular_expression_that_backtracks_gives_up_on_its_time_bound(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from datetime import UTC, datetime

    from newsdesk.models import EntryText, KeywordRule
    from newsdesk.rules import MAX_TIMEOUTS, compile_rule, judge

    when = datetime(2026, 12, 6, tzinfo=UTC)
    rule = KeywordRule(
        1, 1, r"(a|aa)+$", is_regex=True, matching=True, action="star", feed_key=None, created=when
    )
    quick = KeywordRule(
        2, 1, r"a{3}!", is_regex=True, matching=True, action="read", feed_key=None, created=when
    )
    entry = EntryText("u", "k", "g", "s", "f", "标题", None, when, "a" * 5000 + "!", "", None)
    rules = [compile_rule(rule), compile_rule(quick)]
    caplog.set_level("WARNING", logger="newsdesk.rules")
    for _ in range(MAX_TIMEOUTS + 2):
        assert judge(rules, entry) == (True, False)  # the slow rule: no match; the other still works
    timeouts = [r for r in caplog.records if "outcome=timeout" in r.getMessage()]
    assert len(timeouts) == MAX_TIMEOUTS  # then it sits the run out


def test_admins_preview_discover_and_import_opml(desk: Desk, chief: httpx.Client) -> None:
    desk.feeds.route("/found.xml", rss(8, 4))
    desk.feeds.route(
        "/news/page.html",
        "<!doctype html><html><head><title>某报</title>"
        '<link rel="alternate" type="application/rss+xml" title="要闻" href="../found.xml">'
        "</head><body><p>正文</p></body></html>",
    )
    token = csrf_of(chief.get(f"{desk.url}/feeds").text)
    form = {"csrf": token, "group": "测试", "site": "某报", "name": "要闻", "clean": "1"}
    # A page's URL: its feed is found, fetched and shown, and becomes the form's source.
    r = chief.post(f"{desk.url}/feeds/preview", data={**form, "source": desk.feeds.url("/news/page.html")})
    assert r.status_code == 200, re.sub(r"<[^>]+>", " ", r.text)[-800:]
    assert f"<code>{desk.feeds.url('/found.xml')}</code>" in r.text
    assert "共 4 条" in r.text and "第8源第3条" in r.text
    assert f'name="source" value="{desk.feeds.url("/found.xml")}"' in r.text
    assert 'data-key="测试/某报/要闻"' not in chief.get(f"{desk.url}/feeds").text  # nothing saved
    # What cannot be fetched: one line saying why.
    bad = chief.post(f"{desk.url}/feeds/preview", data={**form, "source": desk.feeds.url("/nothing-here")})
    assert bad.status_code == 422 and "404" in bad.text
    # OPML: its feeds join the catalogue; one already there is left alone.
    opml = (
        '<?xml version="1.0"?><opml version="2.0"><body><outline text="导入">'
        f'<outline text="甲" title="甲" xmlUrl="{desk.feeds.url("/found.xml")}"/>'
        f'<outline text="乙" title="乙" xmlUrl="{desk.feeds.url("/pboc")}"/>'
        "</outline></body></opml>"
    ).encode()
    files = {"opml": ("subs.opml", opml, "text/x-opml")}
    r = chief.post(f"{desk.url}/feeds/opml", data={"csrf": token}, files=files)
    assert r.status_code == 200 and "新增 2 个订阅" in r.text
    again = chief.post(f"{desk.url}/feeds/opml", data={"csrf": token}, files=files)
    assert "新增 0 个订阅，2 个未添加" in again.text
    keys = [k for _, k in _feed_rows(chief.get(f"{desk.url}/feeds").text)]
    assert "导入/导入/甲" in keys and "导入/导入/乙" in keys
    forged = chief.post(f"{desk.url}/feeds/opml", data={"csrf": "forged"}, files=files)
    assert forged.status_code == 403
    for key in ("导入/导入/甲", "导入/导入/乙"):
        chief.post(f"{desk.url}/feeds/action", data={"csrf": token, "key": key, "action": "remove"})


@pytest.mark.parametrize(
    ("link", "shown"),
    [
        ("https://finance.sina.com.cn/a.shtml", "https://finance.sina.com.cn/a.shtml"),
        ("HTTP://example.cn/", "HTTP://example.cn/"),
        ("javascript:alert(1)", ""),
        (" javascript:alert(1)", ""),
        ("data:text/html,x", ""),
        (None, ""),
    ],
)
def test_only_web_links_are_links(link: str | None, shown: str) -> None:
    from newsdesk.web.pages.render import web_url

    assert web_url(link) == shown
