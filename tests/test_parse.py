"""Tests of the parse stage.

The corpus in tests/data/feeds holds NAME.xml / NAME.json / NAME.html beside NAME.expected.json; the
expected files were written by hand and are the statement of truth.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

import newsdesk.parse as parse_mod
from newsdesk.dates import parse_date
from newsdesk.errors import ParseError
from newsdesk.models import ParsedEntry, ParsedFeed
from newsdesk.parse import parse_feed

FEEDS = Path(__file__).resolve().parent / "data" / "feeds"
SEED = Path(__file__).resolve().parents[2] / "shared/reference/seed-feed.xml"
CASES = sorted(p.name.removesuffix(".expected.json") for p in FEEDS.glob("*.expected.json"))


def _source(name: str) -> Path:
    found = [p for p in FEEDS.glob(f"{name}.*") if not p.name.endswith(".expected.json")]
    assert len(found) == 1, f"{name}: expected exactly one source file, found {found}"
    return found[0]


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    assert value.utcoffset() is not None and value.utcoffset() == UTC.utcoffset(None), value
    return value.isoformat()


def _check_entry(entry: ParsedEntry, want: dict[str, Any], where: str) -> None:
    got = {
        "id": entry.id,
        "title": entry.title,
        "link": entry.link,
        "published": _iso(entry.published),
        "updated": _iso(entry.updated),
        "author": entry.author,
        "content": entry.content,
        "summary": entry.summary,
    }
    for key in ("id", "title", "link", "published", "author"):
        assert key in want, f"{where}: expected file must state {key!r}"
    for key, value in want.items():
        if key == "content_startswith":
            assert entry.content.startswith(value), where
        elif key == "content_sha256":
            assert hashlib.sha256(entry.content.encode()).hexdigest() == value, where
        else:
            assert got[key] == value, f"{where}: {key}"


def test_corpus_is_complete() -> None:
    assert len(CASES) >= 12
    for name in CASES:
        _source(name)


@pytest.mark.parametrize("name", CASES)
def test_corpus(name: str) -> None:
    expected = json.loads((FEEDS / f"{name}.expected.json").read_text("utf-8"))
    text = _source(name).read_text("utf-8")
    base_url = expected.get("base_url")
    if "error" in expected:
        with pytest.raises(ParseError) as info:
            parse_feed(text, base_url=base_url)
        assert str(info.value) == expected["error"]
        return
    feed = parse_feed(text, base_url=base_url)
    assert feed.title == expected["title"]
    assert feed.link == expected["link"]
    if "warning_contains" in expected:
        assert feed.warning is not None
        for part in expected["warning_contains"]:
            assert part in feed.warning
    else:
        assert feed.warning is None
    assert len(feed.entries) == len(expected["entries"]), [e.id for e in feed.entries]
    for i, (entry, want) in enumerate(zip(feed.entries, expected["entries"], strict=True)):
        _check_entry(entry, want, f"{name} entry {i}")


# --- the reference item ----------------------------------------------------------------------------


@pytest.mark.skipif(not SEED.exists(), reason="shared/reference is not beside the checkout")
def test_seed_feed_content_is_the_exact_cdata() -> None:
    raw = SEED.read_text("utf-8")
    item = raw[raw.index("<item>") :]
    cdata = re.search(r"<description><!\[CDATA\[(.*?)\]\]></description>", item, re.DOTALL)
    guid = re.search(r"<guid[^>]*>(.*?)</guid>", item)
    assert cdata is not None and guid is not None
    feed = parse_feed(raw, base_url="https://rsshub.app/sina/finance")
    assert feed.warning is None
    assert feed.title == "新浪财经－国內"
    assert feed.link == "http://finance.sina.com.cn/china/"
    (entry,) = feed.entries
    assert entry.content == cdata.group(1)
    assert entry.content.startswith("<div>   \n<p cms-style")
    assert "&#123;" in entry.content  # CDATA: character references stay as written
    assert entry.published == datetime(2021, 12, 20, 15, 0, 52, tzinfo=UTC)
    assert entry.id == guid.group(1)
    assert entry.title == "工信部部署2022年六方面重点任务"
    assert entry.link == guid.group(1)
    assert entry.summary == ""


# --- security --------------------------------------------------------------------------------------


def _no_feedparser(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(doc: str, base_url: str | None) -> ParsedFeed | None:
        raise AssertionError("feedparser must not see this document")

    monkeypatch.setattr(parse_mod, "_parse_with_feedparser", refuse)


@pytest.mark.parametrize(
    "doc",
    [
        # billion laughs, then broken so that only a fallback parser would read it
        '<!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
        '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]><rss><channel><item><title>&c;</title></channel>',
        '<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        "<rss><channel><item><title>&x;</title><guid>1</guid></item></channel></rss>",
        '<!DOCTYPE rss [<!ENTITY % p SYSTEM "http://127.0.0.1:9/x.dtd"> %p;]><rss><channel></channel></rss>',
        '<!doctype rss [<!entity x "y">]><rss><channel><item><title>&x;</item></channel></rss>',
    ],
    ids=["bomb-malformed", "xxe", "parameter-entity", "lowercase"],
)
def test_entity_declarations_are_refused(doc: str, monkeypatch: pytest.MonkeyPatch) -> None:
    _no_feedparser(monkeypatch)
    with pytest.raises(ParseError, match="XML entity declarations are not allowed"):
        parse_feed(doc)


def test_entity_bomb_fixture_never_expands(monkeypatch: pytest.MonkeyPatch) -> None:
    _no_feedparser(monkeypatch)
    with pytest.raises(ParseError, match="not allowed"):
        parse_feed((FEEDS / "entity_bomb.xml").read_text("utf-8"))


def test_entity_text_inside_cdata_is_harmless() -> None:
    doc = (
        '<rss version="2.0"><channel><title>XML 教程</title><item><guid>x1</guid><title>实体</title>'
        '<description><![CDATA[<pre>&lt;!ENTITY</pre> <!ENTITY x "y"> 是声明]]></description>'
        "</item></channel></rss>"
    )
    (entry,) = parse_feed(doc).entries
    assert entry.content == '<pre>&lt;!ENTITY</pre> <!ENTITY x "y"> 是声明'


def test_external_dtd_is_never_loaded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dtd = tmp_path / "evil.dtd"
    dtd.write_text('<!ENTITY secret "LEAKED">', "utf-8")
    doc = (
        f'<!DOCTYPE rss SYSTEM "{dtd.as_uri()}"><rss version="2.0"><channel><title>t</title>'
        "<item><guid>g</guid><title>a &secret; b</title></item></channel></rss>"
    )
    _no_feedparser(monkeypatch)
    feed = parse_feed(doc)
    assert "LEAKED" not in repr(feed)
    # With an external subset that is not loaded, libxml2 leaves &secret; as an unresolved reference.
    assert feed.entries[0].title == "a &secret; b"


# --- errors and edge documents ---------------------------------------------------------------------


@pytest.mark.parametrize("text", ["", "   \n\t ", "\ufeff", '<?xml version="1.0" encoding="gbk"?>\n  '])
def test_empty_document(text: str) -> None:
    with pytest.raises(ParseError, match=r"^empty document$"):
        parse_feed(text)


@pytest.mark.parametrize(
    "text",
    [
        "<!DOCTYPE html><html><head><title>x</title></head><body><p>a<br>b</body></html>",
        "<!-- 跳转 -->\n<HTML><BODY>moved</BODY></HTML>",
        '<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml"><body/></html>',
        '<html lang="zh"><head><meta charset="gbk"><body><p>页面 & 链接</p>',
    ],
)
def test_html_page(text: str) -> None:
    with pytest.raises(ParseError, match=r"^not a feed: looks like an HTML page$"):
        parse_feed(text)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"items": []}', "not a feed: JSON document is not a JSON Feed"),
        ('[{"version": "https://jsonfeed.org/version/1.1"}]', "not a feed: JSON document is not a JSON Feed"),
        ('{"version": "https://jsonfeed.org/version/1.1", "items": [', "malformed JSON"),
        ("<opml version='2.0'><body/></opml>", "not a feed: unexpected root element <opml>"),
        ("just some text", "not a feed: malformed XML"),
        ("<rss><channel><title>t<", "malformed XML (line 1: StartTag: invalid element name); no entries"),
    ],
)
def test_not_a_feed(text: str, message: str) -> None:
    with pytest.raises(ParseError, match=f"^{re.escape(message)}"):
        parse_feed(text)


def test_zero_items_is_a_valid_feed() -> None:
    feed = parse_feed('<rss version="2.0"><channel><title>空</title></channel></rss>')
    assert feed == ParsedFeed(title="空", link=None, entries=())


def test_stale_encoding_declaration_and_bom_are_ignored() -> None:
    doc = (
        '\ufeff<?xml version="1.0" encoding="GB2312" standalone="yes"?>\n'
        "<rss><channel><title>中文</title></channel></rss>"
    )
    assert parse_feed(doc).title == "中文"


def test_feedparser_wins_when_it_keeps_more_entries() -> None:
    # Items after a premature </rss>: lxml's recovery stops at the end of the root element.
    doc = (
        '<rss version="2.0"><channel><title>t</title><link>https://a.example.cn/</link>'
        "<item><title>一</title><guid>1</guid><link>/1</link></item></channel></rss>"
        "<item><title>二</title><guid>2</guid><link>/2</link>"
        "<pubDate>Mon, 20 Dec 2021 23:00:00 CST</pubDate></item>"
    )
    feed = parse_feed(doc)
    assert [e.id for e in feed.entries] == ["1", "2"]
    assert feed.entries[1].link == "https://a.example.cn/2"
    # Dates follow our rules (CST = +08:00), not feedparser's.
    assert feed.entries[1].published == datetime(2021, 12, 20, 15, tzinfo=UTC)
    assert feed.warning is not None and feed.warning.endswith("kept 2 entries")


def test_lxml_wins_a_tie(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []

    def fake(doc: str, base_url: str | None) -> ParsedFeed:
        calls.append(doc)
        return ParsedFeed("fp", None, (ParsedEntry(id="fp", title="fp", link=None, published=None),))

    monkeypatch.setattr(parse_mod, "_parse_with_feedparser", fake)
    doc = "<rss><channel><title>lx</title><item><guid>lx</guid><category>x</item></channel></rss>"
    feed = parse_feed(doc)
    assert calls and feed.title == "lx" and [e.id for e in feed.entries] == ["lx"]


def test_bare_lt_is_repaired() -> None:
    doc = "<rss><channel><item><guid>1</guid><title>市盈率< 10倍 & 股息率 <5%</title></item></channel></rss>"
    feed = parse_feed(doc)
    assert feed.entries[0].title == "市盈率< 10倍 & 股息率 <5%"
    assert feed.warning is not None and "repaired, kept 1 entries" in feed.warning


# --- fields ----------------------------------------------------------------------------------------


def test_links_resolve_against_base_url_without_channel_link() -> None:
    doc = "<rss><channel><title>t</title><item><guid>1</guid><link>../a/1.html</link></item></channel></rss>"
    feed = parse_feed(doc, base_url="https://www.example.cn/feeds/rss.xml")
    assert feed.entries[0].link == "https://www.example.cn/a/1.html"
    assert parse_feed(doc).entries[0].link == "../a/1.html"  # nothing to resolve against


def test_relative_channel_link_resolves_against_base_url() -> None:
    doc = "<rss><channel><link>/news/</link><item><guid>1</guid><link>2.html</link></item></channel></rss>"
    feed = parse_feed(doc, base_url="https://www.example.cn/rss.xml")
    assert feed.link == "https://www.example.cn/news/"
    assert feed.entries[0].link == "https://www.example.cn/news/2.html"


def test_hash_id_formula() -> None:
    doc = (
        "<rss><channel><item><title> 无链接\n标题 </title>"
        "<pubDate>2021年12月20日 23:00</pubDate></item></channel></rss>"
    )
    (entry,) = parse_feed(doc).entries
    digest = hashlib.sha1("无链接 标题\x002021-12-20T15:00:00+00:00".encode()).hexdigest()
    assert entry.id == f"sha1:{digest}"


def test_unescaped_html_in_description_is_serialised() -> None:
    doc = (
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/">'
        '<item rdf:about="urn:x:1"><title>t</title><description>正文 &lt; <p>段落<br/>二</p>尾</description>'
        "</item></rdf:RDF>"
    )
    (entry,) = parse_feed(doc).entries
    assert entry.content == "正文 &lt; <p>段落<br>二</p>尾"


def test_xml_comment_in_escaped_description_is_dropped() -> None:
    doc = (
        "<rss><channel><item><guid>1</guid>"
        "<description>&lt;p&gt;正文&lt;/p&gt;<!-- 广告位 -->&lt;p&gt;尾&lt;/p&gt;</description>"
        "</item></channel></rss>"
    )
    assert parse_feed(doc).entries[0].content == "<p>正文</p><p>尾</p>"


def test_atom_text_content_and_out_of_line_content() -> None:
    doc = (
        '<feed xmlns="http://www.w3.org/2005/Atom"><entry><id>1</id><title>t</title>'
        "<content>价格 &lt; 10 &amp; 量</content></entry>"
        '<entry><id>2</id><title>t</title><summary type="html">&lt;p&gt;摘要&lt;/p&gt;</summary>'
        '<content src="https://example.cn/2.pdf" type="application/pdf"/></entry></feed>'
    )
    first, second = parse_feed(doc).entries
    assert first.content == "<p>价格 &lt; 10 &amp; 量</p>"
    assert (second.content, second.summary) == ("<p>摘要</p>", "")


def test_parser_is_safe_to_use_from_threads() -> None:
    text = (FEEDS / "rss2_rsshub.xml").read_text("utf-8")
    expected = parse_feed(text)
    results: list[ParsedFeed] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(30):
                results.append(parse_feed(text))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(results) == 120 and all(r == expected for r in results)


# --- dates -----------------------------------------------------------------------------------------


def _utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("value", "chinese", "expected"),
    [
        ("Mon, 20 Dec 2021 15:00:52 GMT", True, _utc(2021, 12, 20, 15, 0, 52)),
        ("Mon, 20 Dec 2021 23:00:52 +0800", True, _utc(2021, 12, 20, 15, 0, 52)),
        ("Mon, 20 Dec 2021 23:00:52 +08:00", True, _utc(2021, 12, 20, 15, 0, 52)),
        ("Mon, 20 Dec 2021 23:00:52 CST", True, _utc(2021, 12, 20, 15, 0, 52)),
        ("Mon, 20 Dec 2021 09:00:52 CST", False, _utc(2021, 12, 20, 15, 0, 52)),
        ("Mon, 20 Dec 2021 23:00:52", True, _utc(2021, 12, 20, 15, 0, 52)),
        ("Mon, 20 Dec 2021 23:00:52", False, _utc(2021, 12, 20, 23, 0, 52)),
        ("Mon, 20 Dec 2021 15:00:52 -0000", True, _utc(2021, 12, 20, 15, 0, 52)),
        ("20 Dec 21 15:00 UT", True, _utc(2021, 12, 20, 15, 0)),
        ("Mon Dec 20 23:00:52 CST 2021", True, _utc(2021, 12, 20, 15, 0, 52)),
        ("2021-12-20T15:00:52Z", True, _utc(2021, 12, 20, 15, 0, 52)),
        ("2021-12-20T23:00:52.123+08:00", True, datetime(2021, 12, 20, 15, 0, 52, 123000, tzinfo=UTC)),
        ("2021-12-20T23:00:52", True, _utc(2021, 12, 20, 15, 0, 52)),
        ("2021-12-20 23:00", True, _utc(2021, 12, 20, 15, 0)),
        ("2021-12-20 23:00", False, _utc(2021, 12, 20, 23, 0)),
        ("2021-12-20", True, _utc(2021, 12, 19, 16, 0)),
        ("2021/12/20 23:00:05", True, _utc(2021, 12, 20, 15, 0, 5)),
        ("2021-1-5 8:00 +0800", True, _utc(2021, 1, 5, 0, 0)),
        ("2021年12月20日 23:00", True, _utc(2021, 12, 20, 15, 0)),
        ("2021年12月20日23:00:05", True, _utc(2021, 12, 20, 15, 0, 5)),
        ("2021年12月20日 23时05分", False, _utc(2021, 12, 20, 15, 5)),
        ("2021年12月20日 下午3:30", True, _utc(2021, 12, 20, 7, 30)),
        ("发布时间：2021年12月20日", True, _utc(2021, 12, 19, 16, 0)),
        ("  Mon,  20 Dec 2021\n 15:00:52 GMT ", True, _utc(2021, 12, 20, 15, 0, 52)),
        ("", True, None),
        (None, True, None),
        ("昨天 23:00", True, None),
        ("2021年13月40日", True, None),
        ("2021-02-30T10:00:00Z", True, None),
        ("not a date", True, None),
        ("Mon, 99 Foo 2021 25:61:00 GMT", True, None),
    ],
)
def test_parse_date(value: str | None, chinese: bool, expected: datetime | None) -> None:
    got = parse_date(value, chinese=chinese)
    assert got == expected
    if got is not None:
        assert got.tzinfo is UTC


@pytest.mark.parametrize("ref", ["&#99999999999;", "&#x110000;", "&#0;", "&#xD800;"])
def test_reference_to_a_character_xml_cannot_hold(ref: str) -> None:
    # Found by bench/fuzz.py: feedparser (the last resort for broken XML) crashed on these
    # with OverflowError/ValueError; the repair escapes them, so the text reads as served.
    doc = (
        '<rss version="2.0"><channel><title>t</title><item><title>标题</title><guid>1</guid>'
        f"<description>正文{ref}</description></item></channel></rss>"
    )
    feed = parse_feed(doc)
    assert [e.content for e in feed.entries] == ["正文" + ref]  # the description as served
    assert feed.warning is not None and "repaired" in feed.warning


def test_json_feed_with_half_a_surrogate_pair_or_deep_nesting() -> None:
    # Found by bench/fuzz.py: "\ud800" in a JSON string made the entry id's hash (and the
    # archive) fail with UnicodeEncodeError; a deeply nested document raised RecursionError.
    doc = (
        '{"version": "https://jsonfeed.org/version/1.1", "title": "t", "items": [{"id": "1",'
        ' "title": "\\ud800标题\\ud83d\\ude00", "content_html": "<p>正文\\udc00</p>"}]}'
    )
    (entry,) = parse_feed(doc).entries
    assert entry.title == "\ufffd标题😀" and entry.content == "<p>正文\ufffd</p>"
    with pytest.raises(ParseError, match="nested too deeply"):
        parse_feed("[" * 100_000)


def test_a_control_character_does_not_garble_the_entities_after_it() -> None:
    doc = (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>t</title>'
        "<item><title>甲\x00乙 &amp;gt; &amp;amp; &lt;</title><guid>1</guid>"
        "<description><![CDATA[<p>正\x01文</p>]]></description></item></channel></rss>"
    )
    feed = parse_feed(doc)
    [entry] = feed.entries
    assert entry.title == "甲乙 > & <"
    assert entry.content == "<p>正文</p>"
    assert feed.warning is not None and "repaired" in feed.warning


# -- how often the feed says it changes -------------------------------------------------------
_SY_NS = 'xmlns:sy="http://purl.org/rss/1.0/modules/syndication/"'


@pytest.mark.parametrize(
    ("channel", "ttl", "period"),
    [
        ("<ttl>60</ttl>", 3600.0, None),
        ("<sy:updatePeriod>hourly</sy:updatePeriod><sy:updateFrequency>2</sy:updateFrequency>", None, 1800.0),
        ("<sy:updatePeriod> weekly </sy:updatePeriod>", None, 604800.0),
        ("<sy:updateFrequency>4</sy:updateFrequency>", None, 21600.0),  # period daily by default
        ("<ttl>soon</ttl><sy:updatePeriod>fortnightly</sy:updatePeriod>", None, None),
        ("<ttl>0</ttl><sy:updateFrequency>0</sy:updateFrequency>", None, None),
        ("", None, None),
    ],
)
def test_ttl_and_syndication_hints(channel: str, ttl: float | None, period: float | None) -> None:
    item = "<item><title>标题</title><guid>1</guid></item>"
    rss = f'<rss version="2.0" {_SY_NS}><channel><title>t</title>{channel}{item}</channel></rss>'
    got = parse_feed(rss)
    assert (got.ttl, got.update_period) == (ttl, period)
    # Broken XML read by lxml's recovery or feedparser keeps them too.
    broken = parse_feed(rss.replace("<title>t</title>", "<title>t & co</title>"))
    assert broken.warning is not None and (broken.ttl, broken.update_period) == (ttl, period)


def test_syndication_hints_in_rdf_and_atom() -> None:
    rdf = (
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/"'
        f' {_SY_NS}><channel rdf:about="x"><title>t</title><sy:updatePeriod>daily</sy:updatePeriod>'
        '</channel><item rdf:about="https://e.cn/1"><title>a</title></item></rdf:RDF>'
    )
    assert parse_feed(rdf).update_period == 86400.0
    atom = (
        f'<feed xmlns="http://www.w3.org/2005/Atom" {_SY_NS}><title>t</title>'
        "<sy:updatePeriod>hourly</sy:updatePeriod><entry><id>1</id><title>a</title></entry></feed>"
    )
    assert parse_feed(atom).update_period == 3600.0


def test_feedparser_fallback_reads_the_hints(monkeypatch: pytest.MonkeyPatch) -> None:
    # lxml's recovery gives up on this document; feedparser still reads it.
    monkeypatch.setattr(parse_mod, "_try_parse", lambda doc, recover: None)
    rss = (
        f'<rss version="2.0" {_SY_NS}><channel><title>t & co</title><ttl>30</ttl>'
        "<sy:updatePeriod>hourly</sy:updatePeriod><item><title>a</title><guid>1</guid></item></channel></rss>"
    )
    got = parse_feed(rss)
    assert got.warning is not None and (got.ttl, got.update_period) == (1800.0, 3600.0)
