"""Targets (commitments about the future) and figures (reported statistics) from the quantities
of each sentence.

A quantity is a target when its sentence states a deadline (到2025年, 2025年前, "十四五"末, 今年…),
or its paragraph opens with one (到2025年，…), or its clause says 力争/目标/确保; otherwise a
figure. A percentage after a direction word (同比增长35.4%, 回落0.6个百分点) is a change: it joins
the figure before it in the sentence, or makes a figure of its own (CPI同比上涨0.9%).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import date

from ..models import Change, ChangeKind, Direction, Figure, Target
from .numbers import Quantity, quantities
from .periods import deadlines, figure_period
from .text import Sentence
from .words import words

__all__ = ["MAX_PER_ARTICLE", "SCOPES", "Found", "read_sentence"]

# At most this many targets and this many figures per article.
MAX_PER_ARTICLE = 300

_PROVINCES = words("provinces")
_CITIES = words("cities")
SCOPES = (
    *words("scopes"),
    *(f"{p}省" for p in _PROVINCES),
    *_PROVINCES,
    *(f"{c}市" for c in _CITIES),
    *_CITIES,
)
_SCOPE = re.compile("|".join(sorted((re.escape(s) for s in SCOPES), key=len, reverse=True)))

_UP = "增长|增加|上涨|上升|提高|提升|回升|扩大|加快|增"
_DOWN = "下降|下跌|减少|降低|回落|收窄|下滑|放缓|降|减|跌"
_DIRECTION = re.compile(rf"(?P<d>{_UP}|{_DOWN}|持平)(?:了)?(?:约|近|逾|超过|超)?$")
_UP_WORDS = frozenset(_UP.split("|"))
_KIND = re.compile(
    r"(?P<yoy>同比|比上年同期|比去年同期|较上年同期|较去年同期|比上年|比去年|较上年|较去年|与上年同期相比)"
    r"|(?P<mom>环比|比上月|较上月|比上季度|较上季度)"
    r"|(?P<two>两年平均)|(?P<cum>累计)|(?P<base>比(?:19|20)\d{2}年|较(?:19|20)\d{2}年)"
)
_CHANGE_UNITS = frozenset({"%", "个百分点", "倍", "个基点"})

_FUTURE = re.compile(r"力争|目标|确保|争取|预计到|计划到|将达到|将超过|规划到|到(?:19|20)\d{2}年|\d{4}年前")
_BEFORE = re.compile(
    r"(?P<c>不低于|不少于|不高于|不超过|不到|超过|达到|提高到|提高至|提升到|提升至|增加到|增加至|增长到|降低到|降低至|"
    r"降至|下降到|下降至|控制在|保持在|稳定在|突破|高于|低于|力争|达|超|约|近|逾|下降|降低|减少|提高|提升|增长)"
    r"(?:了)?$"
)
_AFTER = re.compile(r"^(?P<c>以上|左右|以内|以下|上下)")
_VERB_TAIL = re.compile(
    r"(?:总计|共计|合计|累计|分别|同比|全年|共|均|为|是|达到|达|实现|完成|超过|突破|约为|约|近|逾|超|具备|具有|的|了|和|，|,|：|:|\s)+$"
)
_LEAD_NOISE = re.compile(
    r"^(?:其中|同时|此外|另外|而|并|且|和|与|及|全年|今年|去年|当月|本月|以来|，|,|、|：|:|\s)+"
)
_NOUN_AFTER = re.compile(
    r"^(?:以上|左右|以内|以下)?(?P<n>[\u4e00-\u9fff]{1,8}?)(?=的|[，,。；;、：:）)（(\s]|$)"
)
_NOT_NOUN = re.compile(r"^(?:同比|环比|比|较|占|其中|增长|下降|以上|左右|和|与|及|或|是|为)")


@dataclass
class Found:
    targets: list[Target] = field(default_factory=list)
    figures: list[Figure] = field(default_factory=list)
    paragraph_deadline: dict[int, str] = field(default_factory=dict)


def _clause_start(text: str, end: int) -> int:
    """Where the clause holding offset `end` starts (after the last ，；：、 before it)."""
    for i in range(end - 1, max(-1, end - 60), -1):
        if text[i] in "，,；;：:。":
            return i + 1
    return max(0, end - 60)


def _metric(pre: str, post: str, *spans: tuple[int, int]) -> str:
    """The clause before the quantity, without periods, scopes, deadlines and verbs, plus the noun
    right after the quantity (覆盖超过4亿户家庭 → …覆盖家庭)."""
    chars = list(pre)
    for a, b in spans:
        for i in range(max(0, a), min(len(chars), b)):
            chars[i] = ""
    text = "".join(chars)
    text = text.replace("具备", "").replace("具有", "")
    text = _VERB_TAIL.sub("", _BEFORE.sub("", _VERB_TAIL.sub("", text)))
    text = _LEAD_NOISE.sub("", text)
    m = _NOUN_AFTER.match(post)
    if m and not _NOT_NOUN.match(m.group("n")):
        text += m.group("n")
    return text[-24:].strip('“”"《》（）() ')


def _change(window: str, q: Quantity) -> Change | None:
    if q.unit not in _CHANGE_UNITS:
        return None
    d = _DIRECTION.search(window)
    if d is None:
        return None
    word = d.group("d")
    direction: Direction = "flat" if word == "持平" else "up" if word in _UP_WORDS else "down"
    kind: ChangeKind = "同比"
    k = None
    for k in _KIND.finditer(window):  # noqa: B007 (the last one, nearest the number, counts)
        pass
    if k is not None:
        kind = (
            "环比"
            if k.group("mom")
            else "两年平均"
            if k.group("two")
            else "累计"
            if k.group("cum")
            else ("较基期" if k.group("base") else "同比")
        )
    unit = "个百分点" if q.unit in ("个百分点", "个基点") else q.unit
    value = q.value / 100 if q.unit == "个基点" else q.value
    return Change(kind, value, unit, direction)


def read_sentence(
    s: Sentence, para_text: str, today: date | None, body: str | None, found: Found, notes: list[str]
) -> None:
    """The targets and figures of one sentence, appended to `found`."""
    text = s.text
    qs = quantities(text, notes)
    if not qs:
        dl = deadlines(text, today, notes)
        if dl and dl[0].start < 3:
            found.paragraph_deadline.setdefault(s.paragraph, dl[0].date)
        return
    dls = deadlines(text, today, notes)
    sentence = text.strip()
    para_deadline = found.paragraph_deadline.get(s.paragraph)
    if dls and dls[0].start < 3 and s.start == 0:
        found.paragraph_deadline.setdefault(s.paragraph, dls[0].date)
    prev_end = 0
    last_figure: int | None = None
    for q in qs:
        clause = _clause_start(text, q.start)
        window = text[max(prev_end, clause) : q.start]
        before_dl = [d for d in dls if d.start < q.start]
        deadline = before_dl[-1].date if before_dl else (dls[0].date if dls else para_deadline)
        future = deadline is not None or _FUTURE.search(text[clause : q.start]) is not None
        if future:
            if len(found.targets) >= MAX_PER_ARTICLE:
                notes.append(f"more than {MAX_PER_ARTICLE} targets: the rest not kept")
                return
            after = _AFTER.match(text[q.end :])
            before = _BEFORE.search(window)
            comparator = after.group("c") if after else before.group("c") if before else ""
            if not comparator and "力争" in text[clause : q.start]:
                comparator = "力争"
            spans = [(d.start - clause, d.end - clause) for d in dls]
            post = text[q.end + (after.end() if after else 0) :]
            metric = _metric(text[clause : q.start], post, *spans)
            found.targets.append(Target(metric, comparator, q.value, q.unit, deadline, body, sentence))
            prev_end = q.end
            continue
        change = _change(window, q)
        if change is not None and last_figure is not None and found.figures[last_figure].change is None:
            fig = found.figures[last_figure]
            found.figures[last_figure] = replace(fig, change=change)
            prev_end = q.end
            continue
        if len(found.figures) >= MAX_PER_ARTICLE:
            notes.append(f"more than {MAX_PER_ARTICLE} figures: the rest not kept")
            return
        pre = text[clause : q.start]
        if change is not None:
            k = _KIND.search(pre)
            d = re.search(_DIRECTION.pattern.rstrip("$"), pre)
            cut = min(x.start() for x in (k, d) if x is not None) if (k or d) else len(pre)
            pre = pre[:cut]
        period, p0, p1 = figure_period(text[: q.start], today)
        scope_m = _SCOPE.search(pre)
        scope = scope_m.group() if scope_m else None
        if scope is None:
            head = _SCOPE.search(text[:clause])
            scope = head.group() if head else None
        spans = [(p0 - clause, p1 - clause)]
        if scope_m:
            spans.append(scope_m.span())
        metric = _metric(pre, "" if change else text[q.end :], *spans)
        value = None if change is not None else q.value
        unit = "" if change is not None else q.unit
        found.figures.append(Figure(metric, scope, period, value, unit, change, sentence))
        last_figure = len(found.figures) - 1
        prev_end = q.end
