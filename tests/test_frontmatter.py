"""The front-matter emitter: every value must read back exactly, under YAML 1.1 and YAML 1.2."""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml
from hypothesis import example, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from newsdesk.publish.frontmatter import (
    FMValue,
    Quoted,
    double_quoted,
    emit_front_matter,
    plain_safe,
    quoted,
    scalar,
    single_quoted,
)

DATE = "Mon, 20 Dec 2021 15:00:52 GMT"

# PyYAML reads YAML 1.1; ruamel.yaml's pure safe loader reads YAML 1.2 (as js-yaml/yaml, Hexo's
# parsers, do). A value must come back identical from both.
_YAML12 = YAML(typ="safe", pure=True)

# hexo-front-matter's split() for files that open with the separator (the variant that accepts a
# separator line that merely *starts* with ---, the laxest one shipped).
_HEXO_SPLIT = re.compile(r"^(-{3,}|;{3,})\n([\s\S]+?)\n\1\n?([\s\S]*)")

HOSTILE = [
    "",
    " ",
    "'",
    "''",
    '"',
    "it's",
    'say "hi"',
    "a: b",
    "a:",
    "key: value # comment",
    "#hashtag",
    "a #b",
    "{{ title }}",
    "{% raw %}x{% endraw %}",
    "{# note #}",
    "---",
    "...",
    "--- a",
    "line1\n---\nline3",
    "line1\nline2",
    "\n",
    "trailing newline\n",
    "\r\n",
    "tab\there",
    "\t",
    "@at",
    "*alias",
    "&anchor",
    "!tag",
    "!!str",
    "%YAML",
    "-dash",
    "- item",
    "?q",
    "? q",
    "|",
    ">",
    "`tick",
    "[a, b]",
    "{a: b}",
    ",comma",
    "<<",
    "=",
    "~",
    "null",
    "Null",
    "yes",
    "No",
    "on",
    "OFF",
    "y",
    "n",
    "true",
    "False",
    "123",
    "0x1F",
    "0o17",
    "017",
    "1e3",
    "1_000",
    "1:30",
    ".inf",
    "-.inf",
    ".NaN",
    "2021-12-20",
    "2021-12-20 15:00:52",
    "2021-12-20T15:00:52Z",
    "12:30:00",
    "+1",
    " leading",
    "trailing ",
    "double  space",
    "😀 emoji 👨\u200d👩\u200d👧",
    "全角：冒号，逗号！＃井号",
    "新浪财经－国內",
    "\u3000全角空格\u3000",
    "\xa0nbsp\xa0",
    "\x00nul",
    "\x07bell\x1b[0m",
    "\x7fdel",
    "\x85nel",
    "line\u2028sep\u2029para",
    "\ufeffbom",
    "\ufffe\uffff",
    "\u202eRTL override",
    "back\\slash",
    '\\"',
    "private\ue000use",
    "astral \U0001f600 \U0010fffd",
    DATE,
]

# Members of HOSTILE that are nonetheless safe plain: non-ASCII punctuation is never YAML syntax.
PLAIN_IN_HOSTILE = {"新浪财经－国內", DATE, "全角：冒号，逗号！＃井号"}


def _inner(fm: str) -> str:
    assert fm.startswith("---\n")
    assert fm.endswith("\n---\n")
    return fm[len("---\n") : -len("---\n")]


def _load_both(fm: str) -> dict[str, Any]:
    inner = _inner(fm)
    data11 = yaml.safe_load(inner)
    data12 = _YAML12.load(inner)
    assert data11 == data12
    assert isinstance(data11, dict)
    return data11


def _check_layout(fm: str, body: str = "\nbody\n") -> None:
    """No line between the fences can be mistaken for a fence, by YAML or by Hexo's splitter."""
    inner_lines = _inner(fm).split("\n")[:-1]
    for line in inner_lines:
        assert re.match(r"[A-Za-z_]\w*: | - ", line), line
    m = _HEXO_SPLIT.match(fm + body)
    assert m is not None
    assert m.group(2) == _inner(fm)[:-1]
    assert m.group(3) == body


def _post_items(title: str, names: list[str], author: str) -> list[tuple[str, FMValue]]:
    return [
        ("title", Quoted(title)),
        ("categories", names),
        ("author", author),
        ("comments", False),
        ("date", DATE),
    ]


# Text biased towards YAML syntax: arbitrary text interleaved with indicators and keywords.
_fragments = st.sampled_from([h for h in HOSTILE if h]) | st.text(max_size=8)
hostile_text = st.text() | st.lists(_fragments, max_size=6).map("".join)


@settings(max_examples=300)
@given(title=hostile_text, names=st.lists(hostile_text, min_size=1, max_size=4), author=hostile_text)
@example(
    title="工信部部署2022年六方面重点任务", names=["金融", "新浪财经", "新浪财经－国內"], author="新浪财经"
)
def test_front_matter_round_trips(title: str, names: list[str], author: str) -> None:
    fm = emit_front_matter(_post_items(title, names, author))
    data = _load_both(fm)
    assert data == {"title": title, "categories": names, "author": author, "comments": False, "date": DATE}
    _check_layout(fm)
    # The title is always quoted: single quotes unless it needs escapes.
    title_line = fm.split("\n")[1]
    assert title_line.startswith(("title: '", 'title: "'))


@given(st.text() | hostile_text)
def test_scalar_and_quoted_round_trip(s: str) -> None:
    for written in (scalar(s), quoted(s), double_quoted(s)):
        assert "\n" not in written
        assert yaml.safe_load(f"k: {written}\n") == {"k": s}
        assert _YAML12.load(f"k: {written}\n") == {"k": s}


@given(st.text())
def test_plain_only_when_it_reads_back(s: str) -> None:
    if plain_safe(s):
        assert scalar(s) == s
        assert yaml.safe_load(f"k: {s}\n") == {"k": s}
        assert _YAML12.load(f"k: {s}\n") == {"k": s}


@pytest.mark.parametrize("title", HOSTILE)
def test_hostile_titles(title: str) -> None:
    fm = emit_front_matter(_post_items(title, [title, "金融"], title))
    assert _load_both(fm)["title"] == title
    assert _load_both(fm)["categories"] == [title, "金融"]
    assert _load_both(fm)["author"] == title
    _check_layout(fm)


@pytest.mark.parametrize(
    "s",
    ["新浪财经", "新浪财经－国內", "金融", DATE, "Reuters", "Sina Finance", "財新網·財經", "A.B/C_D-E (F)"],
)
def test_plain_when_safe(s: str) -> None:
    assert plain_safe(s)
    assert scalar(s) == s


@pytest.mark.parametrize("s", [h for h in HOSTILE if h not in PLAIN_IN_HOSTILE])
def test_hostile_strings_are_not_plain(s: str) -> None:
    # Everything in the hostile list is either syntax, a non-string in some YAML version, or has
    # characters a conservative emitter should not write bare.
    assert not plain_safe(s)
    assert scalar(s) != s


def test_single_quotes_double_the_quote() -> None:
    assert single_quoted("it's") == "'it''s'"
    assert quoted("it's") == "'it''s'"
    assert single_quoted("工信部部署2022年六方面重点任务") == "'工信部部署2022年六方面重点任务'"


@pytest.mark.parametrize("s", ["a\nb", "a\tb", "\r", "\x00", "\x85", "\u2028", "\ufeff", "\ud800"])
def test_single_quotes_refuse_what_they_cannot_carry(s: str) -> None:
    with pytest.raises(ValueError):
        single_quoted(s)
    assert quoted(s).startswith('"')


def test_double_quoted_escapes() -> None:
    assert double_quoted('a\nb\t"c"\\') == '"a\\nb\\t\\"c\\"\\\\"'
    assert double_quoted("\x00\x85\u2028\ufeff") == '"\\x00\\x85\\u2028\\ufeff"'
    # Astral characters are written literally, never as surrogate-pair escapes.
    assert double_quoted("\n😀") == '"\\n😀"'


def test_lone_surrogate_round_trips_through_pyyaml() -> None:
    fm = emit_front_matter([("title", Quoted("a\ud800b"))])
    assert "\ud800" not in fm
    assert yaml.safe_load(_inner(fm)) == {"title": "a\ud800b"}


def test_reference_layout() -> None:
    fm = emit_front_matter(
        [
            ("title", Quoted("工信部部署2022年六方面重点任务")),
            ("categories", ["金融", "新浪财经", "新浪财经－国內"]),
            ("author", "新浪财经"),
            ("comments", False),
            ("date", DATE),
        ]
    )
    assert fm == (
        "---\n"
        "title: '工信部部署2022年六方面重点任务'\n"
        "categories: \n"
        " - 金融\n"
        " - 新浪财经\n"
        " - 新浪财经－国內\n"
        "author: 新浪财经\n"
        "comments: false\n"
        f"date: {DATE}\n"
        "---\n"
    )


def test_values_of_each_kind() -> None:
    fm = emit_front_matter([("a", True), ("b", False), ("c", []), ("d", Quoted("x")), ("e", "x")])
    assert fm == "---\na: true\nb: false\nc: []\nd: 'x'\ne: x\n---\n"
    assert _load_both(fm) == {"a": True, "b": False, "c": [], "d": "x", "e": "x"}


@pytest.mark.parametrize("key", ["", "a b", "a:", "1a", "-a", "yes", "on", "Null", "ключ"])
def test_bad_keys_are_refused(key: str) -> None:
    with pytest.raises(ValueError):
        emit_front_matter([(key, "x")])


def test_duplicate_keys_are_refused() -> None:
    with pytest.raises(ValueError, match="duplicate"):
        emit_front_matter([("title", "a"), ("title", "b")])


def test_bad_values_are_refused() -> None:
    with pytest.raises(TypeError):
        emit_front_matter([("num", 3)])  # type: ignore[list-item]
    with pytest.raises(TypeError):
        emit_front_matter([("lst", ["a", 3])])  # type: ignore[list-item]
