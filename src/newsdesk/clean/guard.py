"""Input checks before parsing: size, binary garbage, mojibake, pathological nesting.

Everything here is linear-time string work (``str.count``, one regex pass, a sampled
look at the characters) so a hostile 10 MB item costs milliseconds before we decide to
refuse it or hand it to libxml2, whose own depth limit (256) keeps the parse bounded.
"""

from __future__ import annotations

import re

from lxml import etree

from newsdesk.errors import CleanError

# A feed item is a few KB and a full portal page a few hundred; 16 MB is far past both.
MAX_CHARS = 16_000_000
# Tags, not bytes, drive the cost of every later tree walk. A 400 KB Sina page has ~8,000.
MAX_TAGS = 250_000
# Binary garbage and mojibake show from the first bytes on; a 4,000-character look suffices
# and keeps these checks at a few microseconds on a typical item.
_SAMPLE = 4_000

_CJK = re.compile(r"[\u4e00-\u9fff]")
_LATIN1_RUN = re.compile(
    r"[\u00c0-\u00ff][\u0080-\u00ff\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192\u02c6\u02dc\u2013-\u203a\u20ac\u2122]"
)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# Anything the checks below care about: controls, Latin-1 letters (mojibake), U+FFFD.
_SUSPICIOUS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u00c0-\u00ff\ufffd]")
# Structural tags kept when flattening a too-deep document; everything else is dropped.
_KEEP_TAGS = re.compile(
    r"<(?!/?(?:p|br|h[1-6]|li|img|a|table|tr|td|th|figure|figcaption|blockquote)\b)/?[A-Za-z][^<>]*>",
    re.I,
)
_DEPTH_ERROR = "Excessive depth"
# Character references are decoded by libxml2, so "&#1;" would smuggle a control character
# into the tree (and lxml refuses to write such text back): drop references to characters
# XML cannot hold. Bounded digit counts keep int() cheap on hostile input.
_NUMREF = re.compile(r"&#(?:[xX]([0-9a-fA-F]{1,8})|([0-9]{1,10}));?")


def _bad_ref(m: re.Match[str]) -> str:
    code = int(m.group(1), 16) if m.group(1) else int(m.group(2))
    bad = (code < 32 and code not in (9, 10, 13)) or code == 127 or 0xD800 <= code <= 0xDFFF
    return "" if bad or code in (0xFFFE, 0xFFFF) or code > 0x10FFFF else m.group(0)


_XML_DECL = re.compile(r"^\s*<\?xml[^>]*>")
# Characters cp1252 puts at 0x80-0x9F, mapped back to the Latin-1 code point of that byte.
_CP1252_TO_LATIN1 = {
    ord(ch): b for b in range(0x80, 0xA0) if (ch := bytes([b]).decode("cp1252", errors="ignore"))
}


def _repair_mojibake(text: str) -> str:
    """Undo the two common wrong-charset decodings, or return ``text`` unchanged.

    UTF-8 bytes read as Latin-1/cp1252 give runs like ``ä¸­æ–°``; GBK bytes read as Latin-1
    give ``ÖÐÐÂ``. Either way the text has almost no CJK but many Latin-1 letter pairs, and
    re-encoding to the wrong charset restores the original bytes.
    """
    sample = text[:_SAMPLE]
    if not _LATIN1_RUN.search(sample):
        return text
    pairs = len(_LATIN1_RUN.findall(sample))
    if pairs < 8 or len(_CJK.findall(sample)) > pairs:
        return text
    # cp1252 where it defines a character, Latin-1 elsewhere (what browsers do); a U+FFFD
    # left by a lossy first decoding becomes "?" and costs one character, not the repair.
    raw = text.translate(_CP1252_TO_LATIN1).replace("\ufffd", "?").encode("latin-1", errors="replace")
    for right in ("utf-8", "gb18030"):
        fixed = raw.decode(right, errors="replace")
        cjk = len(_CJK.findall(fixed[:_SAMPLE]))
        if cjk >= pairs // 2 and fixed.count("\ufffd") * 4 < cjk:
            return fixed
    return text


def check_input(text: str) -> str:
    """Return ``text`` ready to parse (mojibake repaired), or raise CleanError saying why not."""
    if len(text) > MAX_CHARS:
        raise CleanError(f"article too large to clean: {len(text):,} characters (limit {MAX_CHARS:,})")
    if _SUSPICIOUS.search(text) is None:
        # The common case, clean UTF-8 Chinese HTML: one scan and nothing to repair.
        tags = text.count("<")
        if tags > MAX_TAGS:
            raise CleanError(f"too many tags to clean: {tags:,} (limit {MAX_TAGS:,})")
        if text.lstrip().startswith("<?xml"):
            text = _XML_DECL.sub("", text, count=1)
        return _NUMREF.sub(_bad_ref, text) if "&#" in text else text
    sample = text[:_SAMPLE]
    if _CONTROL.search(sample):
        controls = len(_CONTROL.findall(sample))
        if controls > max(8, len(sample) // 100):
            raise CleanError(
                f"input looks like binary data, not HTML "
                f"({controls} control characters in the first {len(sample):,})"
            )
    if "\ufffd" in sample:
        bad = sample.count("\ufffd")
        if bad > max(16, len(sample) // 10):
            raise CleanError(
                f"input is mostly undecodable (wrong charset?): "
                f"{bad} replacement characters in the first {len(sample):,}"
            )
    tags = text.count("<")
    if tags > MAX_TAGS:
        raise CleanError(f"too many tags to clean: {tags:,} (limit {MAX_TAGS:,})")
    text = _repair_mojibake(_XML_DECL.sub("", text, count=1))
    if "&#" in text:
        text = _NUMREF.sub(_bad_ref, text)
    # A few stray control characters (NUL included) would make libxml2 drop text: remove them.
    return _CONTROL.sub("", text) if _CONTROL.search(text) else text


# A plain etree parser: lxml.html's parser looks up a Python element class for every
# element proxy, which costs more than the rest of the cleaning of a feed item.
_PARSER = etree.HTMLParser(remove_comments=False, remove_pis=True, collect_ids=False, default_doctype=False)
_STRING = etree.XPath("string()", smart_strings=False)


def text_of(el: etree._Element) -> str:
    """All text inside ``el`` (one libxml2 call)."""
    return str(_STRING(el))


# Where libxml2's HTML parser and a browser's (HTML5) disagree in ways that lose an article's
# text: elements void in HTML5 that libxml2 keeps open (swallowing what follows, which is then
# dropped with them); elements whose content the cleaner drops or that hold raw text, left
# unclosed (a browser would show the rest: libxml2 puts it inside them); <plaintext>.
_HTML5_VOID = frozenset(["embed", "source", "track", "wbr", "keygen", "bgsound"])
# Raw text (and RCDATA) elements: their content runs to their first end tag, tags in it are text.
_RAW = frozenset(["script", "style", "xmp", "iframe", "noembed", "noframes", "noscript", "textarea", "title"])
# Of those, what libxml2 parses as markup: a <style> in a <noscript> would swallow the rest of
# the document (a browser running scripts reads "<style>" there as text, up to </noscript>).
_RAW_AS_MARKUP = frozenset(["noscript"])
# Tags removed, content kept: <plaintext> (libxml2 would read the rest as text); <mglyph> and
# <malignmark>, unknown inline elements to a browser outside MathML, which the sanitiser drops
# with their content (libxml2 nests the rest of a document in them after a stray <table>).
_REMOVED = frozenset(["plaintext", "mglyph", "malignmark"])
# Containers whose content is dropped: matched with their end tags (they nest).
_DROPPED = frozenset(
    [
        *("object", "applet", "svg", "math", "template", "form", "select", "button", "canvas", "video"),
        *("audio", "map", "dialog", "frameset", "option", "optgroup"),
    ]
)


def _trie(words: list[str]) -> str:
    """An alternation of ``words`` factored by their first letters: the regex engine then
    rejects an ordinary tag (<p>, <div>…) after a letter or two instead of trying every word,
    which halves the cost of the scan below."""
    by_first: dict[str, list[str]] = {}
    for w in words:
        by_first.setdefault(w[0], []).append(w[1:])
    parts = []
    for first, rests in sorted(by_first.items()):
        tails = [r for r in rests if r]
        alt = _trie(tails) if len(tails) > 1 else re.escape(tails[0]) if tails else ""
        if len(tails) > 1:
            alt = f"(?:{alt})"
        parts.append(first + (f"(?:{alt})?" if len(tails) < len(rests) and tails else alt))
    return "|".join(parts)


_FIXUP_TAG = re.compile(
    # [^<>]*: the regex stops at the next "<"; a tag with no ">" before it (an attribute name
    # may hold "<") is run on to its ">" by a cached search, so such tags stay linear.
    r"<!--|<(/?)(" + _trie(sorted(_HTML5_VOID | _RAW | _DROPPED | _REMOVED)) + r")(?=[\s/>])[^<>]*(>)?",
    re.I,
)
_GT = re.compile(">")
_RAW_END = {name: re.compile(rf"</{name}(?=[\s/>])", re.I) for name in _RAW}
# HTML tags that end SVG/MathML content in a browser (the HTML5 "breakout" start tags).
_BREAKOUT = re.compile(
    r"<(?:b|big|blockquote|body|br|center|code|dd|div|dl|dt|em|embed|h[1-6]|head|hr|i|img|li|listing|menu"
    r"|meta|nobr|ol|p|pre|ruby|s|small|span|strong|strike|sub|sup|table|tt|u|ul|var)(?=[\s/>])",
    re.I,
)


def browser_like(text: str) -> str:
    """``text`` rewritten so that libxml2 keeps what a browser shows after the elements above:
    an HTML5 void element gets its end tag; an unclosed raw-text or dropped element is closed
    right after its start tag (it is empty, not the rest of the document); ``<plaintext>``,
    ``<mglyph>`` and ``<malignmark>`` tags go (what follows or what they hold is parsed as
    HTML); markup in a ``<noscript>`` is escaped up to its end tag (raw text in a browser that
    runs scripts). One linear scan; comments are skipped, so Sina's marker comments holding
    HTML are left alone."""
    cuts: list[tuple[int, int, str]] = []  # (start, end, replacement) of text, in order
    stacks: dict[str, list[int]] = {}
    # Each search's answer is kept: thousands of unclosed tags must not rescan the rest of the
    # text each (quadratic; found by bench/fuzz.py). Tags come in order, so one answer serves
    # every later tag until the scan passes it.
    ends: dict[str, tuple[int, int | None]] = {}  # name → (searched from, first end tag there)
    pos = 0
    while (m := _FIXUP_TAG.search(text, pos)) is not None:
        if m.group(2) is None:  # a comment: skip to its end (an unclosed one runs to the end)
            close = text.find("-->", m.end())
            if close < 0:
                break
            pos = close + 3
            continue
        name = m.group(2).lower()
        pos = end = m.end()
        if m.group(3) is None:
            # A "<" before the tag's ">": in a browser the tag runs on to that ">" (swallowing
            # what is between); with no ">" left it is dropped, so nothing needs closing.
            gt = _next(ends, ">", end, _GT, text)
            if gt is None:
                continue
            pos = end = gt + 1
        if name in _REMOVED:
            cuts.append((m.start(), end, ""))
        elif m.group(1):  # an end tag
            if stacks.get(name):
                stacks[name].pop()
        elif name in _HTML5_VOID:
            cuts.append((end, end, f"</{name}>"))
        elif name in _RAW:
            end_at = _next(ends, name, end, _RAW_END[name], text)
            if end_at is None:
                cuts.append((end, end, f"</{name}>"))
            else:
                if name in _RAW_AS_MARKUP and "<" in text[end:end_at]:
                    cuts.append((end, end_at, text[end:end_at].replace("<", "&lt;")))
                pos = end_at  # the end tag itself is read next
        else:
            stacks.setdefault(name, []).append(len(cuts))
            cuts.append((end, end, f"</{name}>"))  # kept only if no end tag matches it
    if not cuts:
        return text
    matched = {i for i, (_s, _e, rep) in enumerate(cuts) if rep.startswith("</") and rep[2:-1] in _DROPPED}
    for name, stack in stacks.items():
        matched.difference_update(stack)  # left on a stack: unclosed, so the end tag is inserted
        if name in ("svg", "math"):
            # Foreign content ends at the first HTML tag a browser breaks out at, not at once
            # (its <circle>, <mi>… outside it would be dropped by the sanitiser, with the text).
            for i in stack:
                at = _next(ends, "", cuts[i][1], _BREAKOUT, text)
                where = len(text) if at is None else at
                cuts[i] = (where, where, cuts[i][2])
    out: list[str] = []
    last = 0
    for i, (start, end, rep) in sorted(enumerate(cuts), key=lambda c: c[1][0]):
        if i in matched:
            continue
        # An end tag moved to a breakout tag inside an escaped <noscript> goes after it instead.
        start = max(start, last)
        out += (text[last:start], rep)
        last = max(end, start)
    out.append(text[last:])
    return "".join(out)


def _next(
    cache: dict[str, tuple[int, int | None]], key: str, at: int, pattern: re.Pattern[str], text: str
) -> int | None:
    """Where ``pattern`` first matches ``text`` from ``at``, reusing the last answer for ``key`` while it
    still holds (it was searched from at or before ``at`` and found nothing, or a match at or
    after ``at``)."""
    known = cache.get(key)
    if known is not None and known[0] <= at and (known[1] is None or known[1] >= at):
        return known[1]
    m = pattern.search(text, at)
    found = None if m is None else m.start()
    cache[key] = (at, found)
    return found


def parse(text: str) -> etree._Element:
    """Parse to an ``<html>`` root. Too-deep nesting (libxml2 stops at depth 256 and drops the
    rest) is retried once on a flattened copy that keeps only paragraph-level tags."""
    text = browser_like(text)
    root = _parse_once(text)
    if _limit_hit(_DEPTH_ERROR):
        root = _parse_once(_KEEP_TAGS.sub(" ", text))
        if _limit_hit(_DEPTH_ERROR):
            raise CleanError("HTML nested too deeply to clean (over 256 levels even after flattening)")
    if _limit_hit(""):
        # libxml2 drops what it cannot hold (e.g. one text run over 10 MB): refuse rather
        # than return an article silently missing its text.
        raise CleanError("HTML exceeds the parser's resource limits (a single text run over 10 MB?)")
    return root


def _limit_hit(marker: str) -> bool:
    return any(e.type_name == "ERR_RESOURCE_LIMIT" and marker in e.message for e in _PARSER.error_log)


def _parse_once(text: str) -> etree._Element:
    try:
        root = etree.fromstring(text, _PARSER) if text.strip() else None
    except (etree.ParserError, ValueError) as exc:
        raise CleanError(f"HTML could not be parsed: {exc}") from exc
    if root is None:
        root = etree.fromstring("<html><body></body></html>", _PARSER)
    return root
