"""A list's rows as `web/pages/rows.py` writes them (string building, not Jinja2's autoescape):
every value from the archive escaped, copies folded under their story's first row, and the
markup the page's script and the tests read (`.entries > .entry`, data-id/read/starred/link)."""

from __future__ import annotations

from datetime import UTC, datetime

import lxml.html

from newsdesk.models import ClusterRef, ListedEntry
from newsdesk.web.pages.messages import translator
from newsdesk.web.pages.rows import fold, rows_html

HOSTILE = '<script>alert(1)</script>"\'&<img src=x onerror=alert(2)>'
WHEN = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def listed(uid: str, **kw: object) -> ListedEntry:
    values: dict[str, object] = {
        "uid": uid,
        "group": "金融",
        "site": "新浪财经",
        "feed": "国内",
        "title": "标题",
        "link": "https://finance.sina.com.cn/a.shtml",
        "when": WHEN,
        "summary": "摘要",
        "summary_is_html": False,
        "source": None,
        "read": False,
        "starred": False,
        "cluster": None,
    }
    values.update(kw)
    return ListedEntry(**values)  # type: ignore[arg-type]


def test_every_value_from_the_archive_is_escaped() -> None:
    story = ClusterRef("c1", 3, 3, "a" * 16)
    items = [
        listed("a" * 16, title=HOSTILE, site=HOSTILE, feed=HOSTILE, source=HOSTILE, summary=HOSTILE, cluster=story),
        listed("b" * 16, site=HOSTILE, feed=HOSTILE, cluster=story, read=True, starred=True),  # folded under the first
        listed("c" * 16, link="javascript:alert(3)", summary=f"<p>{HOSTILE}</p>", summary_is_html=True),
        listed("d" * 16, link='https://x.cn/"><script>alert(4)</script>', title=""),
    ]
    icons = {("金融", HOSTILE): 'g="><script>alert(5)</script>', ("金融", "新浪财经"): "g=%E9%87%91&s=x"}
    html = str(rows_html(fold(items), base="/news", view="unread", icons=icons, _=translator("zh-CN")))
    doc = lxml.html.fragment_fromstring(f"<div>{html}</div>")
    assert doc.xpath("//script") == [] and not doc.xpath("//@onerror")
    rows = doc.xpath("./article")
    assert [r.get("data-id") for r in rows] == ["a" * 16, "c" * 16, "d" * 16]  # the copy folded
    first, feedhtml, odd = rows
    assert first.xpath(".//a[@class='title']")[0].text == HOSTILE
    assert first.xpath(".//span[@class='where']")[0].text_content() == f"{HOSTILE} · {HOSTILE}"
    assert first.xpath(".//span[@class='source']")[0].text == f"来源 {HOSTILE}"
    assert first.xpath(".//p[@class='summary']")[0].text == HOSTILE
    assert first.xpath(".//summary")[0].text == "也见于 2 家媒体"
    copy = first.xpath(".//details//li/a")
    assert [a.get("href") for a in copy] == [f"/news/entry/{'b' * 16}", f"/news/entry/{'a' * 16}#others"]
    assert copy[0].text == f"{HOSTILE} · {HOSTILE}"
    assert first.xpath(".//img[@class='icon']")[0].get("src") == '/news/icon?g="><script>alert(5)</script>'
    assert feedhtml.xpath(".//img[@class='icon']")[0].get("src") == "/news/icon?g=%E9%87%91&s=x"
    assert feedhtml.get("data-link") == ""  # not an http(s) link: none
    assert feedhtml.xpath(".//p[@class='summary']")[0].text == "alert(1)\"'&"  # the feed's HTML: its text
    assert odd.get("data-link") == 'https://x.cn/"><script>alert(4)</script>'  # one attribute, whole
    assert odd.xpath(".//a[@class='title']")[0].text == "…"
    assert first.xpath(".//time")[0].get("datetime") == "2026-11-27T12:00:00+00:00"
    assert first.xpath(".//time")[0].text == "2026-11-27 20:00"  # Beijing time
    assert first.xpath(".//button[@name='above']")[0].get("value") == "2026-11-27T12:00:00+00:00"


def test_the_starred_list_has_no_mark_above_and_the_state_shows() -> None:
    items = [listed("a" * 16, read=True, starred=True), listed("b" * 16)]
    html = str(rows_html(fold(items), base="", view="starred", icons={}, _=translator("en")))
    doc = lxml.html.fragment_fromstring(f"<div>{html}</div>")
    read, unread = doc.xpath("./article")
    assert read.get("class") == "item entry read" and (read.get("data-read"), read.get("data-starred")) == ("1", "1")
    assert unread.get("class") == "item entry" and (unread.get("data-read"), unread.get("data-starred")) == ("0", "0")
    assert doc.xpath("//button") == [] and read.xpath(".//span[@class='star']")[0].get("aria-label") == "Starred"
    assert read.xpath(".//span[@class='icon none']")  # no icon for the site: the grey square
