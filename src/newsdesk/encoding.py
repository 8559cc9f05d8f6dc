"""Turn the bytes of a feed or page into text, whatever its charset label says.

Chinese sites mislabel their encoding often: GB18030 text served as "gb2312", GBK pages
served as "utf-8" by a misconfigured proxy, Java servers that add "ISO-8859-1" to
everything, pages with no label at all. `decode_document` tries, in order:

1. a byte-order mark (it always wins);
2. the declared labels, strictly: HTTP header, then XML declaration, then HTML <meta>;
   except that a body which is valid UTF-8 with plenty of non-ASCII text is UTF-8
   whatever the label says (other encodings practically never produce such bytes);
3. UTF-8, strictly;
4. a declared label or UTF-8 that decodes with only a stray bad byte or two;
5. a guess: GB18030 versus Big5 scored by how common the resulting Chinese characters
   are, then charset_normalizer for other languages (it confuses short GBK text with
   Korean or Latin-2, so Chinese is settled first), then GB18030 strictly;
6. GB18030 or UTF-8 with replacement characters, whichever needs fewer of them.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator

import charset_normalizer

__all__ = ["decode_document"]

# Longest BOMs first: the UTF-32-LE BOM starts with the UTF-16-LE one.
_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)

# Labels browsers treat as a family; the first codec listed is tried first. GB2312 and
# GBK are subsets of GB18030, and a "gb2312" page routinely contains GBK-only characters
# (镕 in 朱镕基), so decoding with the label itself would fail on real pages.
_GB = ("gb18030",)
_BIG5 = ("cp950", "big5hkscs")  # Taiwan's Windows Big5 (has €), then Hong Kong's
_LATIN = ("cp1252", "latin-1")  # WHATWG: "iso-8859-1" and "ascii" mean windows-1252
_FAMILIES: dict[str, tuple[str, ...]] = {
    "gb2312": _GB,
    "gbk": _GB,
    "gb18030": _GB,
    "x-gbk": _GB,
    "cp936": _GB,
    "ms936": _GB,
    "windows-936": _GB,
    "euc-cn": _GB,
    "euccn": _GB,
    "csgb2312": _GB,
    "gb_2312": _GB,
    "gb_2312-80": _GB,
    "chinese": _GB,
    "big5": _BIG5,
    "big-5": _BIG5,
    "big5-hkscs": _BIG5,
    "big5hkscs": _BIG5,
    "cn-big5": _BIG5,
    "csbig5": _BIG5,
    "x-x-big5": _BIG5,
    "cp950": _BIG5,
    "iso-8859-1": _LATIN,
    "iso8859-1": _LATIN,
    "latin1": _LATIN,
    "latin-1": _LATIN,
    "l1": _LATIN,
    "us-ascii": _LATIN,
    "ascii": _LATIN,
    "windows-1252": _LATIN,
    "cp1252": _LATIN,
}
_CHINESE_CODECS = frozenset(("gb18030", "cp950", "big5hkscs"))

_HEADER_CHARSET = re.compile(r"""charset\s*=\s*["']?\s*([^\s;"',]+)""", re.IGNORECASE)
_XML_DECL = re.compile(rb"""^\s*<\?xml[^>]*?encoding\s*=\s*["']\s*([A-Za-z0-9._:\-]+)""", re.IGNORECASE)
_XML_START = re.compile(rb"^\s*<(?:\?xml|rss|feed|rdf:rdf)\b", re.IGNORECASE)
# Matches both <meta charset="x"> and <meta http-equiv="Content-Type" content="...; charset=x">.
_META_CHARSET = re.compile(rb"""<meta\b[^>]*?charset\s*=\s*["']?\s*([A-Za-z0-9._:\-]+)""", re.IGNORECASE)
_META_WINDOW = 8192  # <meta> belongs in <head>; scanning further risks matching article text

# Above this many extra bytes beyond one per character, valid UTF-8 is trusted over any
# label: GBK or Big5 text forms valid UTF-8 by accident only for a few characters.
_UTF8_EVIDENCE = 16
# A label "nearly" fits if at most one character in this many is undecodable.
_NEARLY = 200
# Share of non-ASCII characters that must be common Chinese for a Chinese guess to stand.
_CHINESE_SCORE = 0.15
# Non-ASCII characters needed before the characters' score may overrule a declared label.
_MIN_EVIDENCE = 20
_SCORE_SAMPLE = 2000

# The most frequent Chinese characters (general and news text), simplified and
# traditional, plus full-width punctuation. Real Chinese text scores 0.5 or more against
# this set; Big5 read as GBK (and the reverse), Korean or Japanese read as GBK score low.
_COMMON_CHINESE = frozenset(
    "的一是不了在人有我他这个们中来上大为和国地到以说时要就出会可也你对生能而子那得于着下"
    "自之年过发后作里用道行所然家种事成方多经么去法学如都同现当没动面起看定天分还进好小部"
    "其些主样理心她本前开但因只从想实日新政府市场济展工业企公司银金融股价格投资记者报今月"
    "元亿万美最高全社问题关表示通已重情况员长期与将等此被外内加比及产务区省北京海改革"
    "环境保护建设计划组织领导部门委书记党民共和总统议院联合际经管制度法律规定标准要求提"
    "這個們來為國會說時對後裡過發從當沒動麼還進實見長開種經學現樣點問題兩間話應關電東軍"
    "車書頭義與產體場濟億萬記報導價資於議員總統際業務區環護設劃組織領導門黨聯規準團"
    "，。、；：？！“”‘’《》（）【】「」『』…—·"
)

_UTF16_32 = ("utf-16", "utf-32")


def decode_document(body: bytes, content_type: str | None) -> tuple[str, str]:
    """Decode a feed or page body; return (text, name of the codec that decoded it).

    `content_type` is the HTTP Content-Type header value, if any. The text never starts
    with a byte-order mark. Never raises for any input.
    """
    if not body:
        return "", "utf-8"

    for bom, codec in _BOMS:
        if body.startswith(bom):
            return _strip_bom(body[len(bom) :].decode(codec, "replace")), codec
    utf16 = _utf16_without_bom(body)
    if utf16 is not None:
        return _strip_bom(body.decode(utf16, "replace")), utf16

    # The common case, a UTF-8 feed, costs one strict decode. Valid UTF-8 wins unless a
    # label names another charset and the body has so few multi-byte characters that the
    # label could still be right (a short GBK string can form valid UTF-8 by accident).
    try:
        utf8: str | None = body.decode("utf-8")
    except UnicodeDecodeError:
        utf8 = None
    declared = list(_declared_codecs(body, content_type))
    if utf8 is not None and (
        not declared or declared[0] == "utf-8" or len(body) - len(utf8) >= _UTF8_EVIDENCE
    ):
        return _strip_bom(utf8), "utf-8"

    for codec in declared:
        try:
            text = body.decode(codec)
        except UnicodeDecodeError:
            continue
        if codec in _CHINESE_CODECS or codec in _LATIN:
            better = _mislabeled_chinese(body, text)
            if better is not None:
                return _strip_bom(better[2]), better[1]
        return _strip_bom(text), codec
    if utf8 is not None:
        return _strip_bom(utf8), "utf-8"

    for codec in dict.fromkeys([*declared, "utf-8"]):
        nearly = _nearly(body, codec)
        if nearly is not None:
            return _strip_bom(nearly), codec

    guessed = _guess(body)
    if guessed is not None:
        return _strip_bom(guessed[0]), guessed[1]

    gb = body.decode("gb18030", "replace")
    u8 = body.decode("utf-8", "replace")
    if u8.count("\ufffd") < gb.count("\ufffd"):
        return _strip_bom(u8), "utf-8"
    return _strip_bom(gb), "gb18030"


def _strip_bom(text: str) -> str:
    # GB18030 and UTF-8-with-replacement paths can also yield U+FEFF at the start.
    return text[1:] if text.startswith("\ufeff") else text


def _utf16_without_bom(body: bytes) -> str | None:
    """UTF-16 XML without a BOM announces itself by a NUL next to its first '<'."""
    if body.startswith(b"<\x00?\x00"):
        return "utf-16-le"
    if body.startswith(b"\x00<\x00?"):
        return "utf-16-be"
    return None


def _declared_codecs(body: bytes, content_type: str | None) -> Iterator[str]:
    """Codecs named by the header, the XML declaration and <meta>, in that order, deduplicated."""
    labels: list[str] = []
    if content_type:
        header = _HEADER_CHARSET.search(content_type)
        if header:
            labels.append(header.group(1))
    head = body[:_META_WINDOW]
    xml = _XML_DECL.match(head)
    if xml:
        labels.append(xml.group(1).decode("ascii"))
    # A feed is XML: a <meta> in it is article HTML inside CDATA, not the feed's charset.
    if not _XML_START.match(head):
        meta = _META_CHARSET.search(head)
        if meta:
            labels.append(meta.group(1).decode("ascii"))
    seen: set[str] = set()
    has_nul = b"\x00" in body[:1024]
    for label in labels:
        for codec in _codecs_for(label):
            # We read the label as ASCII, so the body cannot be UTF-16/32 unless it has NULs.
            if codec.startswith(_UTF16_32) and not has_nul:
                continue
            if codec not in seen:
                seen.add(codec)
                yield codec


def _codecs_for(label: str) -> tuple[str, ...]:
    """Python codecs for a charset label; () when unknown or not a text encoding."""
    key = label.strip().strip("\"'").lower()
    if key in _FAMILIES:
        return _FAMILIES[key]
    try:
        info = codecs.lookup(key)
    except LookupError:
        return ()
    # codecs.lookup also knows "base64", "rot13", "zlib"…; UTF-7 is a known XSS vector.
    if not getattr(info, "_is_text_encoding", True) or info.name == "utf-7":
        return ()
    return _FAMILIES.get(info.name, (info.name,))


def _nearly(body: bytes, codec: str) -> str | None:
    """The body decoded with `codec` if only a stray byte or two is wrong, else None."""
    text = body.decode(codec, "replace")
    bad = text.count("\ufffd")
    good = len(text) - bad - sum(1 for ch in text if ch < "\x80")
    return text if bad * _NEARLY <= good else None


def _chinese_score(text: str) -> float:
    """Share of the non-ASCII characters that are common Chinese characters or punctuation."""
    return _chinese_score_and_count(text)[0]


def _chinese_score_and_count(text: str) -> tuple[float, int]:
    # A few thousand characters decide it; scoring a whole 10 MB page would only cost time.
    total = hits = 0
    for ch in text:
        if ch >= "\x80":
            total += 1
            hits += ch in _COMMON_CHINESE
            if total >= _SCORE_SAMPLE:
                break
    return (hits / total if total else 0.0), total


def _best_chinese(body: bytes) -> tuple[float, str, str] | None:
    """(score, codec, text) of the Chinese codec whose strict decode scores best, if any decodes."""
    chinese: list[tuple[float, str, str]] = []
    for codec in ("gb18030", *_BIG5):
        try:
            text = body.decode(codec)
        except UnicodeDecodeError:
            continue
        chinese.append((_chinese_score(text), codec, text))
    # max() keeps the first of equal scores, so ties go to GB18030 (mainland sources).
    return max(chinese, key=lambda c: c[0], default=None)


def _mislabeled_chinese(body: bytes, text: str) -> tuple[float, str, str] | None:
    """A better Chinese decode of a body whose declared GBK/Big5/Latin-1 label decoded it.

    GBK and Big5 byte ranges overlap so much that each decodes the other "strictly", and
    Latin-1 decodes anything (Java servers label everything ISO-8859-1): only the
    characters produced tell. A few characters are too little evidence to overrule a label.
    """
    score, non_ascii = _chinese_score_and_count(text)
    if score >= _CHINESE_SCORE or non_ascii < _MIN_EVIDENCE:
        return None
    best = _best_chinese(body)
    if best is not None and best[0] >= _CHINESE_SCORE and best[0] > score:
        return best
    return None


def _guess(body: bytes) -> tuple[str, str] | None:
    """Guess the encoding of unlabeled (or wrongly labeled) text; (text, codec) or None."""
    best = _best_chinese(body)
    if best is not None and best[0] >= _CHINESE_SCORE:
        return best[2], best[1]

    match = charset_normalizer.from_bytes(body).best()
    if match is not None and match.encoding:
        for codec in _codecs_for(str(match.encoding)):
            if codec in _CHINESE_CODECS:
                break  # already scored above and found wanting
            try:
                return body.decode(codec), codec
            except UnicodeDecodeError:
                continue

    if best is not None:
        return best[2], best[1]
    return None
