"""Outgoing feeds (publish/feeds.py): valid RSS 2.0 / Atom 1.0 / JSON Feed 1.1 whatever the text."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from newsdesk.publish.site import feed_formats as F

ATOM = "{http://www.w3.org/2005/Atom}"
INFO = F.FeedInfo(
    key="c/金融/",
    title="金融 & <新闻>",
    home_url="index.html",
    description="描述",
    rss_url="rss.xml",
    atom_url="atom.xml",
    json_url="feed.json",
)


def item(uid: str = "0123456789abcdef", title: str = "标题", content: str = "<p>正文</p>") -> F.FeedItem:
    when = datetime(2021, 12, 20, 15, 0, 52, tzinfo=UTC)
    return F.FeedItem(
        uid=uid,
        title=title,
        url="a/01/0123456789abcdef.html",
        external_url="https://finance.sina.com.cn/x.shtml?a=1&b=2",
        content_html=content,
        summary="摘要",
        published=when,
        updated=when,
        author="中国新闻网",
        tags=("金融", "新浪财经"),
    )


def test_three_formats_agree() -> None:
    items = [item(), item("fedcba9876543210", "第二篇")]
    rss = ET.fromstring(F.render_rss(INFO, items))
    atom = ET.fromstring(F.render_atom(INFO, items))
    jf = json.loads(F.render_json_feed(INFO, items))
    assert rss.findtext("channel/title") == "金融 & <新闻>"
    assert rss.findtext("channel/lastBuildDate") == "Mon, 20 Dec 2021 15:00:52 GMT"
    guids = [g.text for g in rss.iter("guid")]
    assert guids == [e.findtext(f"{ATOM}id") for e in atom.iter(f"{ATOM}entry")]
    assert guids == [i["id"] for i in jf["items"]]
    assert guids[0] == F.guid("0123456789abcdef") and guids[0].startswith("urn:uuid:")
    assert rss.findtext("channel/item/description") == "<p>正文</p>"  # full content
    assert atom.find(f"{ATOM}entry/{ATOM}content").text == "<p>正文</p>"  # type: ignore[union-attr]
    assert atom.findtext(f"{ATOM}updated") == "2021-12-20T15:00:52Z"
    assert jf["items"][0]["content_html"] == "<p>正文</p>"
    assert jf["items"][0]["external_url"].endswith("a=1&b=2")
    assert jf["version"] == "https://jsonfeed.org/version/1.1" and jf["language"] == "zh-CN"


def test_guids_are_stable_and_distinct() -> None:
    assert F.guid("0123456789abcdef") == F.guid("0123456789abcdef")
    assert F.guid("0123456789abcdef") != F.guid("0123456789abcdee")
    # Pinned: a GUID that changed between releases would make every reader show old items as new.
    assert F.guid("0123456789abcdef") == "urn:uuid:" + str(
        __import__("uuid").uuid5(F.GUID_NAMESPACE, "0123456789abcdef")
    )


def test_empty_feed_is_valid_and_byte_stable() -> None:
    a = F.render_rss(INFO, [])
    assert a == F.render_rss(INFO, [])
    ET.fromstring(a)
    ET.fromstring(F.render_atom(INFO, []))
    assert json.loads(F.render_json_feed(INFO, []))["items"] == []


def test_hostile_text_stays_valid() -> None:
    nasty = "a\x00b\x01c\x0bd\x1f\x7f\x85e\ufffe\uffff]]><![CDATA[<script>&amp;\ud800"
    items = [item(title=nasty, content=f"<p>{nasty}</p>")]
    for render in (F.render_rss, F.render_atom):
        raw = render(INFO, items)
        doc = ET.fromstring(raw)
        assert b"\x00" not in raw and b"\x01" not in raw
        assert "<script>" in "".join(doc.itertext())  # as text, not markup
    jf = json.loads(F.render_json_feed(INFO, items))
    assert "\x00" not in jf["items"][0]["title"] and "\ud800" not in jf["items"][0]["title"]


@settings(max_examples=60, deadline=None)
@given(st.text(min_size=0, max_size=80), st.text(min_size=0, max_size=200))
def test_any_text_gives_well_formed_feeds(title: str, body: str) -> None:
    items = [item(title=title, content=body)]
    ET.fromstring(F.render_rss(INFO, items))
    ET.fromstring(F.render_atom(INFO, items))
    json.loads(F.render_json_feed(INFO, items))
