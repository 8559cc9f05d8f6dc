"""Bodies (one canonical name per body, from `data/insights_bodies.yaml`), meetings and officials.

The names are found with one regular expression built as a trie of every alias, so a scan costs
one pass over the text whatever the number of names, and the longest name wins (国务院办公厅 over
国务院, 中国证监会 over 证监会).
"""

from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources
from typing import Any

import yaml

from ..models import Official
from .words import words

__all__ = ["aliases", "bodies", "body_spans", "may_name_body", "meetings", "officials", "trie_pattern"]

# A short alias after these is a local body (四川省统计局, 西安市商务局), not the national one.
_LOCAL = frozenset("省市县区州盟镇乡")
# A foreign central bank is not 中国人民银行.
_FOREIGN_BEFORE = (
    "美国",
    "欧洲",
    "日本",
    "英国",
    "各国",
    "全球",
    "韩国",
    "澳洲",
    "加拿大",
    "瑞士",
    "多国",
    "主要",
)


def trie_pattern(words: list[str]) -> str:
    """A regex alternation of `words` factored as a trie: linear to scan, longest match first.
    It opens with a lookahead on the possible first characters, so most places fail at once."""
    trie: dict[str, Any] = {}
    for word in words:
        node = trie
        for ch in word:
            node = node.setdefault(ch, {})
        node[""] = {}

    def render(node: dict[str, Any]) -> str:
        branches = [re.escape(ch) + render(child) for ch, child in sorted(node.items()) if ch]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        if "" in node:
            return "(?:" + body + ")?"
        return body

    firsts = "".join(sorted({re.escape(w[0]) for w in words if w}))
    return f"(?=[{firsts}])" + render(trie)


@lru_cache(maxsize=1)
def aliases() -> dict[str, str]:
    """Every name as written → its canonical name (canonical names map to themselves)."""
    raw = yaml.safe_load(resources.files("newsdesk").joinpath("data/insights_bodies.yaml").read_text("utf-8"))
    table: dict[str, str] = {}
    for canonical, names in raw.items():
        table[canonical] = canonical
        for name in names or ():
            table[name] = canonical
    return table


@lru_cache(maxsize=1)
def _body_re() -> re.Pattern[str]:
    return re.compile(trie_pattern(list(aliases())))


@lru_cache(maxsize=1)
def _last_chars() -> re.Pattern[str]:
    return re.compile("[" + "".join(sorted({re.escape(name[-1]) for name in aliases()})) + "]")


def may_name_body(text: str) -> bool:
    """False when `text` cannot name a body (no character a body's name ends with): a cheap test."""
    return _last_chars().search(text) is not None


def _local(text: str, start: int, name: str) -> bool:
    if name.startswith(("国家", "中国", "国务院", "中共", "全国", "中央")):
        return False
    before = text[max(0, start - 4) : start]
    if before[-1:] in _LOCAL:
        return True
    return name in ("央行", "人民银行") and before.endswith(_FOREIGN_BEFORE)


# A news agency as the article's source (its dateline, 据新华社) is not a body of the story.
_AGENCY_SOURCE = re.compile(r"^[\u4e00-\u9fff]{0,6}\d{1,2}月\d{1,2}日电|^电")


def body_spans(text: str) -> list[tuple[int, int, str]]:
    """(start, end, canonical name) of every body named in `text`."""
    table = aliases()
    out = []
    for m in _body_re().finditer(text):
        name = m.group()
        if table[name] == "新华通讯社" and (
            _AGENCY_SOURCE.match(text[m.end() : m.end() + 16])
            or text[max(0, m.start() - 1) : m.start()] == "据"
        ):
            continue
        if name.endswith("部") and text[m.end() : m.end() + 1] == "门":
            continue  # 财政部门, 商务部门: departments in general
        if _local(text, m.start(), name):
            continue
        out.append((m.start(), m.end(), table[name]))
    return out


def bodies(text: str) -> list[str]:
    """Canonical names of the bodies in `text`, in order of first mention, no repeats."""
    return list(dict.fromkeys(name for _, _, name in body_spans(text)))


# A meeting's name ends in a meeting word; it starts after the last boundary (punctuation, a
# verb that introduces it: 召开, 主持, 出席…) within the 24 characters before that word.
_MEETING_END = re.compile("|".join(words("meeting_words")))
_MEETING_START = re.compile(
    r".*(?:[^\u4e00-\u9fff\d]|召开|举行|主持|出席|参加|部署|审议|通过|在|的|于|是|日|月份|月|年度|年|期间|根据|按照|据)",
    re.S,
)
# Words that open a meeting's name: a name is cut to start at the last of them.
_MEETING_OPENER = re.compile(
    r"(?:第?[一二三四五六七八九十\d]{1,3}届)?(?:中央|全国|国务院|中共)|十[一二三四五六七八九]届"
)
_MEETING_LEAD = re.compile(r"^(?:第[一二三四五六七八九十百\d]{1,4}次)?\d{0,4}")
_GENERIC_MEETINGS = frozenset(
    {"会议", "工作会议", "常务会议", "发布会", "新闻发布会", "座谈会", "大会", "全会", "论坛"}
)
_NOT_MEETING = words("not_meeting")


def meetings(text: str) -> list[str]:
    """Names of the meetings in `text` (全国工业和信息化工作会议, 国务院常务会议), no repeats."""
    out: dict[str, None] = {}
    for m in _MEETING_END.finditer(text):
        before = text[max(0, m.start() - 24) : m.start()]
        cut = _MEETING_START.match(before)
        name = before[cut.end() :] if cut else before
        if m.start() >= 24 and not cut:
            continue  # no boundary within reach: not a name
        if text[m.end() : m.end() + 1] == "第":
            continue  # 全国人民代表大会第四次会议: the longer name is read at its own end
        opener = None
        for opener in _MEETING_OPENER.finditer(name):  # noqa: B007 (the last opener counts)
            pass
        if opener is not None:
            name = name[opener.start() :]  # …抓好中央经济工作会议 → 中央经济工作会议
        name = _MEETING_LEAD.sub("", name) + m.group()
        if name in _GENERIC_MEETINGS or len(name) < 4 or name.startswith(_NOT_MEETING):
            continue
        out.setdefault(name)
    return list(out)


_TITLES = words("titles")
# A name is a common surname and one or two more characters.
_SURNAMES = "".join(words("surnames"))
_DOUBLE_SURNAMES = words("double_surnames")
# A third character that is not part of a name: the verb or word right after the name.
_NOT_NAME = frozenset("".join(words("not_name")))
_NAME_VERBS = frozenset(words("name_verbs"))
_OFFICIAL = re.compile(
    "(?P<t>" + trie_pattern(list(_TITLES)) + ")"
    r"(?P<n>(?:" + "|".join(_DOUBLE_SURNAMES) + rf"|[{_SURNAMES}])[\u4e00-\u9fff]{{1,2}})"
)


def officials(text: str) -> list[Official]:
    """Officials named with their title (部长肖亚庆 → 肖亚庆, 部长), no repeats."""
    out: dict[Official, None] = {}
    for m in _OFFICIAL.finditer(text):
        name = m.group("n")
        surname = 2 if name.startswith(_DOUBLE_SURNAMES) else 1
        follows = text[m.end() : m.end() + 1]
        if len(name) == surname + 2 and (name[-1] in _NOT_NAME or name[-1] + follows in _NAME_VERBS):
            name = name[:-1]
        if len(name) - surname < 1 or name[-1] in _NOT_NAME:
            continue
        out.setdefault(Official(name, m.group("t")))
    return list(out)
