"""Numbered runs: 一是…二是…, 第一…第二…, （一）（二）, 一、二、, 1. 2., 首先/其次/最后.

A marker counts where a sentence may start (a paragraph's start, after 。；：！？ and for 一是/第一 also
after ，). Markers of one family whose ordinals go 1, 2, 3… in document order make a run; a run of
one item is not a run. An item's text runs from its marker to the next marker in its paragraph,
or to the end of the paragraph; its lead is its first sentence, up to 。 or ；. Each run gets a kind: tasks,
figures (most leads are statistics), headings (short titled lines, questions of a Q&A) or steps
(第一步…, and 首先/其次 that order an argument rather than ask for action).
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass

from ..models import TaskItem, TaskKind

__all__ = ["MAX_ITEMS", "numbered_runs"]

# At most this many items are kept per article (a long list is a table, not a set of tasks).
MAX_ITEMS = 200

_CN = "一二三四五六七八九十"
_CN_ORD = r"[一二三四五六七八九十]{1,3}"
# After a sentence end or the paragraph start only; 一是/第一 also after a comma.
# A marker at a place a sentence may start (see the module docstring), read with one anchored
# match at each such place rather than a scan of every character.
# A boundary followed by what may open a marker: most boundaries are not, and are not kept.
_BOUNDARY = re.compile(r"[。；;：:！？!?，,](?=\s{0,3}[一二三四五六七八九十第（(0-9首其再然最])")
_MARKER_AT = re.compile(
    rf"\s{{0,3}}(?:(?P<shi>(?P<shi_n>{_CN_ORD})是)(?=[^，,、。；\s])"
    rf"|(?P<di>第(?P<di_n>{_CN_ORD})(?P<di_step>步)?(?:是)?)(?=[，,、：:]|步)"
    rf"|(?P<paren>[（(](?P<paren_n>{_CN_ORD})[）)])"
    rf"|(?P<dun>(?P<dun_n>{_CN_ORD})、)"
    rf"|(?P<arabic>(?P<arabic_n>\d{{1,3}})(?:[.．、]|\s)(?!\d))"
    rf"|(?P<aparen>[（(](?P<aparen_n>\d{{1,3}})[）)])"
    rf"|(?P<seq>首先|其次|再次|然后|最后)(?=[，,]))"
)
_AFTER_COMMA = frozenset({"shi", "di", "seq"})  # the families that may follow a comma
_AFTER_END = frozenset("。；;：:^")  # where a 1. 2. list may start
_SEQ = {"首先": 1, "其次": 2, "再次": 3, "然后": 3, "最后": 0}
_FAMILIES = ("shi", "di", "paren", "dun", "arabic", "aparen", "seq")

_LEAD = re.compile(r"[^。；;！？!?]{1,400}[。；;！？!?]?")
_STAT = re.compile(r"\d(?:\.\d{1,6})?(?:%|个百分点|亿|万|元|吨|千瓦时)|增长|下降|回落|上涨")
# A reported statistic in an item's text: a percentage or a change against a base.
_STAT_TEXT = re.compile(r"\d(?:\.\d{1,6})?(?:%|个百分点)|同比|环比|比上年|比上月|较上月|较上年")
# Leads that ask for action: policy tasks, even when their text holds numbers.
_IMPERATIVE = re.compile(
    r"^(?:要|加快|推进|推动|加大|加强|强化|实施|提升|提高|完善|健全|坚持|深化|扩大|优化|促进|支持|鼓励|落实|"
    r"做好|抓好|着力|大力|积极|全面|持续|进一步|切实|坚决|严格|建立|构建|打造|培育|发展|保持|增强|统筹|"
    r"防范|规范|明确|引导|发挥|用好|降低|减轻|提供|开展|组织|探索|创新|夯实|筑牢|维护|保障|营造|拓展|巩固|"
    r"稳妥|稳步|不断|努力|确保|严肃|均衡|依法|增加|给予|执行|简化|吸引|组建|建设|推广|聚焦|围绕|壮大|培养|"
    r"稳定|全力|深入|继续|着眼|立足|聚力|狠抓|精准|分类|加速|力争)"
)
_QUESTION = re.compile(r"[？?]\s{0,2}$|^问|^关于|^为什么|^如何|^怎样|^怎么|^什么|^哪些")


def _cn_number(text: str) -> int:
    if text == "十":
        return 10
    if len(text) == 1:
        return _CN.index(text) + 1 if text in _CN else 0
    if text[0] == "十":
        return 10 + _cn_number(text[1:])
    if len(text) == 2 and text[1] == "十":
        return _cn_number(text[0]) * 10
    if len(text) == 3 and text[1] == "十":
        return _cn_number(text[0]) * 10 + _cn_number(text[2])
    return 0


@dataclass
class _Marker:
    family: str
    ordinal: int  # 0: 最后 (closes a 首先 run)
    marker: str
    paragraph: int
    start: int  # offset of the marker in its paragraph
    body: int  # offset where the item's text starts (after the marker)
    step: bool


def _markers(paragraphs: list[str]) -> list[_Marker]:
    found: list[_Marker] = []
    for index, para in enumerate(paragraphs):
        places = [(0, "^")] + [(m.end(), m.group()) for m in _BOUNDARY.finditer(para)]
        for pos, after in places:
            m = _MARKER_AT.match(para, pos)
            if m is None:
                continue
            family = next(f for f in _FAMILIES if m.group(f) is not None)
            if after in "，," and family not in _AFTER_COMMA:
                continue
            if family == "arabic" and after not in _AFTER_END:
                continue
            written = m.group(family)
            if family == "seq":
                ordinal = _SEQ[written]
            elif family in ("arabic", "aparen"):
                ordinal = int(m.group(f"{family}_n"))
            else:
                ordinal = _cn_number(m.group(f"{family}_n"))
            if ordinal < 0 or (ordinal == 0 and family != "seq"):
                continue
            step = family == "di" and m.group("di_step") is not None
            found.append(
                _Marker(family, ordinal, written.strip(), index, m.start(family), m.end(family), step)
            )
    return found


def _runs(markers: list[_Marker]) -> list[list[_Marker]]:
    """Markers of one family with ordinals 1, 2, 3… (最后 closing a 首先 run) in document order."""
    runs: list[list[_Marker]] = []
    open_runs: dict[str, list[_Marker]] = {}
    for mk in markers:
        current = open_runs.get(mk.family)
        last = current[-1].ordinal if current else 0
        if current and (mk.ordinal == last + 1 or (mk.family == "seq" and mk.ordinal == 0 and last >= 1)):
            current.append(mk)
            if mk.ordinal == 0:
                runs.append(current)
                del open_runs[mk.family]
            continue
        if current and len(current) > 1:
            runs.append(current)
        if mk.ordinal == 1:
            open_runs[mk.family] = [mk]
        else:
            open_runs.pop(mk.family, None)
    runs.extend(r for r in open_runs.values() if len(r) > 1)
    runs = [r for r in runs if len(r) > 1]
    runs.sort(key=lambda r: (r[0].paragraph, r[0].start))
    return runs


def _item_text(run: list[_Marker], i: int, paragraphs: list[str], all_starts: dict[int, list[int]]) -> str:
    mk = run[i]
    para = paragraphs[mk.paragraph]
    end = len(para)
    nxt = run[i + 1] if i + 1 < len(run) else None
    if nxt is not None and nxt.paragraph == mk.paragraph:
        end = nxt.start
    else:
        # Stop at the next marker of any run in the same paragraph (a nested list is its own run).
        starts = all_starts.get(mk.paragraph, [])
        k = bisect_right(starts, mk.start)
        if k < len(starts):
            end = min(end, starts[k])
    return para[mk.body : end].strip(" ：:，,")


def _lead(text: str) -> str:
    m = _LEAD.match(text)
    lead = m.group() if m else text
    return lead.rstrip("。；;！？!?").strip()


# Reference matter: definitions (利润总额：指…, 资产负债率=…) and notes under 注：/附注：.
_DEFINITION = re.compile(r"^[^，。；]{1,20}?(?:[：:]\s{0,2}指|是指|=)")
_NOTES = re.compile(r"^(?:注|附注|说明|备注)\s{0,2}[：:]?\s{0,2}$")
# A run introduced as the causes of something (其主要原因是：（一）…（二）…) explains; it commits
# to nothing, even when its items read like actions (加强统计执法…).
_REASONS = re.compile(r"(?:原因|因素|理由)(?:主要)?(?:是|为|有|包括|在于)?\s{0,2}[：:]?\s{0,2}$")


def _kind(run: list[_Marker], leads: list[str], texts: list[str], paragraphs: list[str]) -> TaskKind:
    if any(mk.step for mk in run):
        return "steps"
    half = len(leads) / 2
    first = run[0]
    before = paragraphs[first.paragraph][: first.start].strip() or (
        paragraphs[first.paragraph - 1].strip() if first.paragraph > 0 else ""
    )
    if _NOTES.match(before) or sum(1 for lead in leads if _DEFINITION.match(lead)) > half:
        return "headings"
    if _REASONS.search(before[-12:]):
        return "steps"
    if sum(1 for lead in leads if _QUESTION.search(lead)) > half:
        return "headings"
    if sum(1 for lead in leads if _STAT.search(lead)) > half:
        return "figures"
    stats = sum(1 for t in texts if _STAT_TEXT.search(t))
    if stats > half and sum(1 for lead in leads if _IMPERATIVE.match(lead)) < half:
        return "figures"  # 一是经济总量再上新台阶。全年国内生产总值…增长3.0%
    short = sum(1 for t in texts if len(t) <= 16 and "。" not in t)
    imperative = sum(1 for lead in leads if _IMPERATIVE.match(lead))
    if run[0].family in ("paren", "dun", "arabic", "aparen") and short > half and imperative <= half:
        return "headings"  # 一、指导思想 二、基础制度: section titles
    if run[0].family == "seq" and imperative <= half:
        return "steps"  # 首先…其次… of an argument or a procedure, not commitments
    return "tasks"


def numbered_runs(paragraphs: list[str], notes: list[str]) -> list[TaskItem]:
    """The numbered runs of an article as items, in document order."""
    runs = _runs(_markers(paragraphs))
    # Where each run starts, per paragraph: a later run's first marker ends an item before it.
    starts: dict[int, list[int]] = {}
    for run in runs:
        for mk in run:
            starts.setdefault(mk.paragraph, []).append(mk.start)
    for positions in starts.values():
        positions.sort()
    items: list[TaskItem] = []
    for number, run in enumerate(runs):
        texts = [_item_text(run, i, paragraphs, starts) for i in range(len(run))]
        leads = [_lead(t) for t in texts]
        kind = _kind(run, leads, texts, paragraphs)
        for i, mk in enumerate(run):
            if len(items) >= MAX_ITEMS:
                notes.append(f"more than {MAX_ITEMS} numbered items: the rest not kept")
                return items
            items.append(TaskItem(i + 1, mk.marker, leads[i], texts[i], number, kind))
    return items
