"""The plain text of an entry that search and clustering look at.

The cleaned article's text when there is one; else the entry's HTML with its tags stripped.
A regex stripper, not an HTML parser: the input is what the cleaning stage did not touch
(feeds with `clean: false`), it only has to yield words, and it runs on every entry indexed.
"""

from __future__ import annotations

import html
import re

from ..models import StoredEntry

__all__ = ["entry_text", "html_text", "strip_html"]


_COMMENT = re.compile(r"<!--.*?-->", re.S)
_INVISIBLE = re.compile(r"<(script|style|noscript|template|iframe)\b.*?</\1\s*>", re.S | re.I)
_BLOCK = re.compile(r"</?(?:p|div|br|li|h[1-6]|tr|td|th|section|article|blockquote|figcaption)\b[^>]*>", re.I)
_TAG = re.compile(r"<[^>]*>")
_SPACES = re.compile(r"[ \t\r\f\v\u3000\xa0]+")
_BLANK_LINES = re.compile(r"\n\s*\n+")


def html_text(fragment: str) -> str:
    """Text of an HTML fragment, without comments, scripts, styles and tags, its whitespace
    left as it comes: `strip_html` without the tidying, for words and shingles (both ignore
    whitespace), so indexing does not pay for it."""
    if "<" not in fragment and "&" not in fragment:
        return fragment
    text = _COMMENT.sub("", fragment)
    text = _INVISIBLE.sub("", text)
    text = _BLOCK.sub("\n", text)
    return html.unescape(_TAG.sub("", text))


def strip_html(fragment: str) -> str:
    """Text of an HTML fragment, one block per line, without comments, scripts and styles."""
    if "<" not in fragment and "&" not in fragment:
        return fragment.strip()
    text = _SPACES.sub(" ", html_text(fragment))
    return _BLANK_LINES.sub("\n", "\n".join(line.strip() for line in text.split("\n"))).strip()


def entry_text(entry: StoredEntry) -> str:
    """Cleaned article text when present, else the tags-stripped content (or summary)."""
    if entry.article is not None and entry.article.text:
        return entry.article.text
    return strip_html(entry.content or entry.summary)
