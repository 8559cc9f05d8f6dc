"""A small YAML front-matter emitter that writes exactly the reference post's style.

No YAML library emits that style (``categories: `` with a trailing space, list items indented by one
space, titles always single-quoted, names plain), so we write it ourselves. Every scalar is chosen so
that it reads back as the very same string under YAML 1.1 (PyYAML) and YAML 1.2 (js-yaml and
``yaml``, which Hexo's front-matter parser has used over the years):

- plain only for a conservative whitelist that no YAML 1.1 or 1.2 resolver turns into anything but
  a string (see `plain_safe`);
- single quotes when every character can be written literally on one line;
- double quotes with escapes otherwise (line breaks, tabs, control characters, BOM, surrogates).

Each scalar stays on one line, so no line between the fences can start with ``---`` and end the
front matter early.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

import yaml


@dataclass(frozen=True)
class Quoted:
    """A string that is always quoted, even when it could be written plain (titles, URLs)."""

    text: str


# A bare str is written plain when that is safe and quoted otherwise.
FMValue = str | Quoted | bool | list[str]

# Words some YAML version reads as a bool or null when plain (YAML 1.1 also has y/n/on/off), compared
# case-insensitively; "nan"/"inf" are only special with a leading dot, listed anyway for safety.
_RESERVED_WORDS = frozenset({"y", "n", "yes", "no", "on", "off", "true", "false", "null", "nan", "inf"})

# ASCII allowed in a plain scalar besides letters and digits. Every other ASCII character is an
# indicator somewhere (comments, quotes, anchors, tags, flow collections, block scalars, ...).
# ":" is allowed only when not followed by a space or the end (checked separately).
_PLAIN_ASCII_EXTRA = frozenset(" _-./,:()+")

_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")

# Characters written as escapes: what YAML does not allow literally (C0 controls, DEL, C1 controls,
# surrogates, U+FFFE/U+FFFF), what would break the one-line layout or be folded (tab, CR, LF, and NEL,
# U+2028, U+2029, which YAML 1.1 counts as line breaks) and the BOM, which parsers may strip.
# Everything else, private-use and not-yet-assigned code points included, is YAML-printable, and
# deciding by code point (not by Unicode category) keeps the output stable across Python versions.
_MUST_ESCAPE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff\ud800-\udfff]")

_SHORT_ESCAPES = {"\\": "\\\\", '"': '\\"', "\t": "\\t", "\n": "\\n", "\r": "\\r"}


def single_quoted(s: str) -> str:
    """``s`` as a YAML single-quoted scalar (``'`` doubled).

    Raises ValueError when ``s`` holds a character single quotes cannot carry exactly
    (see `quoted` for the fallback).
    """
    if _MUST_ESCAPE.search(s):
        raise ValueError(f"cannot single-quote {s!r}: it holds a line break or control character")
    return "'" + s.replace("'", "''") + "'"


def double_quoted(s: str) -> str:
    """``s`` as a one-line YAML double-quoted scalar, escaping what cannot appear literally."""
    out: list[str] = []
    for ch in s:
        if ch in _SHORT_ESCAPES:
            out.append(_SHORT_ESCAPES[ch])
        elif _MUST_ESCAPE.match(ch):
            code = ord(ch)
            # \x, \u and \U are understood alike by PyYAML, js-yaml and yaml; the named escapes
            # (\N, \L, \P, \e, ...) are avoided because not every parser knows all of them.
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def quoted(s: str) -> str:
    """``s`` single-quoted when possible, double-quoted with escapes otherwise."""
    return double_quoted(s) if _MUST_ESCAPE.search(s) else single_quoted(s)


def _plain_char_ok(ch: str) -> bool:
    if ch.isascii():
        return ch.isalnum() or ch in _PLAIN_ASCII_EXTRA
    # Non-ASCII letters, marks, numbers, punctuation and symbols are never YAML syntax. Separators
    # (U+3000, NBSP, U+2028/U+2029) and other/format characters (BOM, controls) are kept out.
    return unicodedata.category(ch)[0] in "LMNPS"


# RFC 822 dates as Hexo's `date:` carries them: plain, and read back as the same string.
_RFC822_GMT = re.compile(
    r"(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4}"
    r" \d\d:\d\d:\d\d GMT"
)


@functools.lru_cache(maxsize=4096)  # categories and authors repeat on every post
def plain_safe(s: str) -> bool:
    """True when ``s`` can be written as a plain scalar and reads back as the same string.

    Deliberately conservative: starts with a letter, holds only letters, digits, marks, non-ASCII
    punctuation and symbols and a few harmless ASCII characters, no leading, trailing or doubled
    spaces, no ``: ``, is not a bool/null word of YAML 1.1 or 1.2, and PyYAML agrees. Starting with
    a letter rules out every number, date, timestamp, ``~``, ``.inf``, ``<<`` and indicator.
    """
    if not s or not unicodedata.category(s[0]).startswith("L"):
        return False
    if s.endswith((" ", ":")) or "  " in s or ": " in s:
        return False
    if s.casefold() in _RESERVED_WORDS or not all(_plain_char_ok(ch) for ch in s):
        return False
    if _RFC822_GMT.fullmatch(s):
        return True
    # Belt and braces: the whitelist should already guarantee this.
    try:
        loaded: object = yaml.safe_load(f"k: {s}\n")
    except yaml.YAMLError:
        return False
    return loaded == {"k": s}


def scalar(s: str) -> str:
    """``s`` plain when provably safe, else single-quoted, else double-quoted."""
    return s if plain_safe(s) else quoted(s)


def _check_key(key: str) -> None:
    if not _KEY.match(key) or key.casefold() in _RESERVED_WORDS:
        raise ValueError(f"unsupported front-matter key {key!r}")


def emit_front_matter(items: Sequence[tuple[str, FMValue]]) -> str:
    """The front-matter block, from the opening ``---`` line to the closing one (newline included).

    Values: `Quoted` (always quoted), str (plain when safe), bool, list[str] (block list in the
    reference style: ``key: `` then `` - item`` lines; ``key: []`` when empty).
    """
    lines = ["---"]
    seen: set[str] = set()
    for key, value in items:
        _check_key(key)
        if key in seen:
            raise ValueError(f"duplicate front-matter key {key!r}")
        seen.add(key)
        if isinstance(value, bool):
            lines.append(f"{key}: {'true' if value else 'false'}")
        elif isinstance(value, Quoted):
            lines.append(f"{key}: {quoted(value.text)}")
        elif isinstance(value, str):
            lines.append(f"{key}: {scalar(value)}")
        elif isinstance(value, list):
            if not value:
                # "key: " alone would read back as null.
                lines.append(f"{key}: []")
                continue
            # The trailing space after the colon and the one-space indent are the reference's.
            lines.append(f"{key}: ")
            for item in value:
                if not isinstance(item, str):
                    raise TypeError(f"front-matter list {key!r} holds a {type(item).__name__}")
                lines.append(f" - {scalar(item)}")
        else:
            raise TypeError(f"unsupported front-matter value for {key!r}: {type(value).__name__}")
    lines.append("---")
    return "\n".join(lines) + "\n"
