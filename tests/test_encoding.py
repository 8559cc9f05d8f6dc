"""decode_document: declared, missing and wrong charsets for UTF-8, GB* and Big5 documents."""

from __future__ import annotations

import codecs

import pytest
from hypothesis import given
from hypothesis import strategies as st

from newsdesk.encoding import decode_document

SIMPLIFIED = (
    "国务院总理朱镕基今天在人民大会堂主持召开国务院常务会议，研究部署进一步深化金融体制改革的有关工作。"
    "会议指出，今年以来，我国经济运行总体平稳，工业生产保持较快增长，消费需求稳步扩大。"
)
TRADITIONAL = (
    "行政院長今天在立法院答詢時表示，政府將持續推動經濟結構轉型，加強對中小企業的融資支持。"
    "中央銀行總裁指出，目前國內通貨膨脹壓力仍然存在，貨幣政策將維持穩健。"
)


def rss(text: str, decl: str = "") -> str:
    """A small feed; `decl` is extra XML declaration text such as ' encoding="gbk"'."""
    return (
        f'<?xml version="1.0"{decl}?><rss version="2.0"><channel>'
        f"<title>{text[:8]}</title><description>{text}</description></channel></rss>"
    )


def test_gb2312_header_over_gbk_text() -> None:
    # 镕 is in GBK but not in GB2312: the label must be read as GB18030.
    doc = rss(SIMPLIFIED)
    text, encoding = decode_document(doc.encode("gbk"), "application/rss+xml; charset=gb2312")
    assert (text, encoding) == (doc, "gb18030")
    assert "朱镕基" in text


def test_big5_without_declaration() -> None:
    doc = rss(TRADITIONAL)
    text, encoding = decode_document(doc.encode("big5"), None)
    assert text == doc
    assert encoding in ("cp950", "big5hkscs")


def test_header_says_utf8_but_body_is_gbk() -> None:
    doc = rss(SIMPLIFIED)
    assert decode_document(doc.encode("gbk"), "text/xml; charset=UTF-8") == (doc, "gb18030")


def test_xml_declaration_gb2312_with_gb18030_only_characters() -> None:
    # 𠮷 (U+20BB7) needs GB18030's four-byte form; GBK cannot decode it.
    doc = rss(SIMPLIFIED + "𠮷野家", ' encoding="gb2312"')
    assert decode_document(doc.encode("gb18030"), None) == (doc, "gb18030")
    assert decode_document(doc.encode("gb18030"), "text/xml") == (doc, "gb18030")


def test_utf8_bom_wins_and_is_stripped() -> None:
    doc = rss(SIMPLIFIED)
    text, encoding = decode_document(codecs.BOM_UTF8 + doc.encode(), "text/xml; charset=gbk")
    assert (text, encoding) == (doc, "utf-8")
    assert not text.startswith("\ufeff")


@pytest.mark.parametrize(("codec", "expected"), [("utf-16", "utf-16-le"), ("utf-16-be", "utf-16-be")])
def test_utf16_with_bom(codec: str, expected: str) -> None:
    doc = rss(SIMPLIFIED, ' encoding="utf-16"')
    body = doc.encode(codec) if codec == "utf-16" else codecs.BOM_UTF16_BE + doc.encode(codec)
    assert decode_document(body, None) == (doc, expected)


def test_utf8_declared_missing_and_mislabeled() -> None:
    doc = rss(SIMPLIFIED)
    body = doc.encode()
    assert decode_document(body, "text/xml; charset=utf-8") == (doc, "utf-8")
    assert decode_document(body, None) == (doc, "utf-8")
    # Plenty of valid multi-byte UTF-8 outweighs a GBK or Latin-1 label.
    assert decode_document(body, "text/html; charset=gbk") == (doc, "utf-8")
    assert decode_document(body, 'text/html; charset="ISO-8859-1"') == (doc, "utf-8")


def test_gbk_mislabeled_latin1_or_big5() -> None:
    doc = rss(SIMPLIFIED)
    assert decode_document(doc.encode("gbk"), "text/html; charset=iso-8859-1") == (doc, "gb18030")
    assert decode_document(doc.encode("gbk"), "text/html; charset=big5") == (doc, "gb18030")
    text, encoding = decode_document(rss(TRADITIONAL).encode("big5"), "text/html; charset=gb2312")
    assert text == rss(TRADITIONAL) and encoding in ("cp950", "big5hkscs")


def test_latin1_label_is_kept_for_western_text() -> None:
    doc = "<p>Café au lait, naïve façade — déjà vu</p>"
    assert decode_document(doc.encode("cp1252"), "text/html; charset=iso-8859-1") == (doc, "cp1252")


@pytest.mark.parametrize(
    "meta",
    [
        '<meta charset="gbk">',
        "<meta http-equiv='Content-Type' content='text/html; charset=GB2312'>",
    ],
)
def test_html_meta_charset(meta: str) -> None:
    page = f"<!DOCTYPE html><html><head>{meta}<title>x</title></head><body>{SIMPLIFIED}</body></html>"
    assert decode_document(page.encode("gb18030"), "text/html") == (page, "gb18030")


def test_meta_inside_a_feed_is_not_the_feeds_charset() -> None:
    doc = f'<rss><item><description><![CDATA[<meta charset="big5">{SIMPLIFIED}]]></description></item></rss>'
    assert decode_document(doc.encode(), None) == (doc, "utf-8")


def test_short_labelled_gb_text() -> None:
    # Too little text to second-guess the label.
    body = '<?xml version="1.0" encoding="gb2312"?><title>朱镕基</title>'.encode("gb18030")
    assert decode_document(body, None)[0].endswith("<title>朱镕基</title>")


def test_stray_bad_byte_does_not_lose_the_document() -> None:
    body = SIMPLIFIED.encode() + b"\xff" + SIMPLIFIED.encode()
    text, encoding = decode_document(body, None)
    assert (text, encoding) == (SIMPLIFIED + "\ufffd" + SIMPLIFIED, "utf-8")
    gbk = SIMPLIFIED.encode("gbk") + b"\xff " + SIMPLIFIED.encode("gbk")
    text, encoding = decode_document(gbk, "text/plain; charset=gbk")
    assert encoding == "gb18030" and text.startswith(SIMPLIFIED) and text.endswith(SIMPLIFIED)


def test_empty_and_ascii() -> None:
    assert decode_document(b"", None) == ("", "utf-8")
    assert decode_document(b"<rss/>", "text/xml; charset=gbk") == ("<rss/>", "gb18030")


def test_unknown_or_dangerous_labels_are_ignored() -> None:
    doc = rss(SIMPLIFIED)
    for label in ("no-such-charset", "base64", "utf-7", "utf-16"):
        assert decode_document(doc.encode(), f"text/xml; charset={label}") == (doc, "utf-8")


def test_common_utf8_feed_takes_the_fast_path() -> None:
    # No clock here (a shared machine makes timed assertions flaky); that the common case decodes as UTF-8
    # whether or not the server names the charset.
    doc = rss(SIMPLIFIED * 200)  # ~60 KB
    body = doc.encode()
    assert decode_document(body, "application/rss+xml; charset=utf-8") == (doc, "utf-8")
    assert decode_document(body, None) == (doc, "utf-8")


@given(
    st.binary(max_size=2000), st.one_of(st.none(), st.sampled_from(["text/xml; charset=gbk", "text/html"]))
)
def test_never_raises(body: bytes, content_type: str | None) -> None:
    text, encoding = decode_document(body, content_type)
    assert isinstance(text, str) and codecs.lookup(encoding)
    assert not text.startswith("\ufeff")
