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
from .entities import body_spans, may_name_body, trie_pattern
from .numbers import Quantity, quantities
from .periods import Deadline, deadlines, figure_period, periods
from .text import Sentence
from .words import words

__all__ = ["MAX_PER_ARTICLE", "SCOPES", "Found", "may_hold_deadline", "paragraph_quantities", "read_sentence"]

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
_SCOPE = re.compile(trie_pattern(list(SCOPES)))

_UP = "增长|增加|上涨|上升|提高|提升|回升|扩大|加快|增|涨|升"
_DOWN = "下降|下跌|减少|降低|回落|收窄|缩小|下滑|放缓|降|减|跌"
_DIRECTION = re.compile(rf"(?P<d>{_UP}|{_DOWN}|持平)(?:了)?(?:约|近|逾|超过|超)?$")
_UP_WORDS = frozenset(_UP.split("|"))
_DIRECTION_ANY = re.compile(f"{_UP}|{_DOWN}|持平")
_KIND = re.compile(
    r"(?=[同环比较与两累])(?:(?P<yoy>同比|比上年同期|比去年同期|较上年同期|较去年同期|比上年|比去年|较上年|较去年|与上年同期相比)"
    r"|(?P<mom>环比|比上月|较上月|比上季度|较上季度)"
    r"|(?P<two>两年平均)|(?P<cum>累计)|(?P<base>比(?:19|20)\d{2}年|较(?:19|20)\d{2}年))"
)
_CHANGE_UNITS = frozenset({"%", "个百分点", "倍", "个基点"})
_STRUCTURE_UNITS = frozenset({"个", "项", "条", "", "类"})

# Words that make a quantity a commitment even without a stated deadline.
_FUTURE = re.compile(r"力争|目标|确保|争取|预计|(?<!《)计划(?!》)|要求|任务")
# Words of a forecast or an opinion: such quantities are neither commitments nor reports.
_FORECAST = re.compile(
    r"可能|或将|大概率|有望|预测|估计|料将|认为|(?:我们|市场|机构|分析师|人士|专家|业内|普遍)预计"
)
# The same said by someone at the head of the sentence (我们预计，欧洲央行将…每月购买约300亿欧元):
# every quantity after it is theirs.
_FORECAST_SAID = re.compile(
    r"(?=[我市机分人专业普])(?:我们|市场|机构|分析师|人士|专家|业内|普遍)(?:预计|认为|预测|估计)"
)
# Advice (美联储应将利率下调至1%, 可以再降息20个基点): an opinion, not a report.
_ADVICE = re.compile(r"(?=[应可建])(?:应将|应该|应当|可以再|可再|建议)")
# "在41个工业大类行业中": a count of the groups the figures are about, not a figure.
_AMONG = re.compile(r"[^，,。；;]{0,12}?中")
# A count of the document's own parts (六个方面33项措施, 9个主要指标): not a statistic.
_STRUCTURE = re.compile(
    r"^(?:个|项|条|类|大)?(?:方面|大|重点|主要|具体|专项|配套|工作)?(?:任务|措施|举措|工程|行动|指标|方面|工作|政策|意见)"
)
# Comparators that, with a weak deadline (今年, 全年), say a quantity is aimed at, not reported.
_AIMED = re.compile(r"不低于|不少于|不超过|不高于|控制在|力争|达到|突破|超过|提高到|提升到|增加到|增长到")
_BEFORE = re.compile(
    r"(?P<c>不低于|不少于|不高于|不超过|不到|超过|达到|提高到|提高至|提升到|提升至|增加到|增加至|增长到|降低到|降低至|"
    r"降至|下降到|下降至|控制在|保持在|稳定在|突破|高于|低于|力争|达|超|约|近|逾|下降|降低|减少|提高|提升|增长)"
    r"(?:了)?$"
)
_AFTER = re.compile(r"^(?P<c>以上|左右|以内|以下|上下)")
# Words cut off the end of a metric (…增加值同比, …总额为). Matched on the reversed text, so one
# anchored match replaces a search from every position.
_TAIL_WORDS = words("metric_tail")
_VERB_TAIL_REV = re.compile(
    r"^(?:" + "|".join(re.escape(w[::-1]) for w in sorted(_TAIL_WORDS, key=len, reverse=True)) + r"|\s)+"
)
_LEAD_NOISE = re.compile(
    r"^(?:其中|同时|此外|另外|而|并|且|和|与|及|全年|今年|去年|当月|本月|以来|由于|当日|同日|截至|"
    r"[一二三四五六七八九十]{1,3}是|第[一二三四五六七八九十]{1,3}(?=[，,、：:])|[（(][一二三四五六七八九十\d]{1,3}[）)]|"
    r"\d{1,2}日|\d{1,2}月|，|,|、|：|:|\s)+"
)
# Verbs after which the quantity comes before its noun (开展1000亿元逆回购操作, 新设58个项目).
_VERB_FIRST = re.compile(
    r"(?:开展|实现|完成|发行|新增|投放|达成|签约|引进|新设|建成|开通|培育|打造|用好|安排|下达|拨付|筹集|"
    r"吸纳|带动|减免|退还|支付|偿还|节约|新建|审批|核准|批准|发放|投入|惠及|覆盖|提供|接待|销售|生产|"
    r"实施|推出|举办|受理|办理|查处|共有|拥有|有|净投放|回笼|开立|设立|建设)"
)
_POST_NOUN = re.compile(
    r"^(?:以上|左右|以内|以下)?(?:\d{1,4}[天年月]期)?[“\"]?(?P<n>[\u4e00-\u9fffA-Za-z0-9（）()]{2,12}?)(?=的|[”\"，,。；;、：:\s和]|$)"
)
# Qualifiers that leave a change with the figure before it (，按可比口径同比增长14.4%).
_QUALIFIERS = re.compile(
    r"(?=[按扣以名折比较同环当增转均])(?:按[\u4e00-\u9fff]{1,8}?(?:计算|计)|按可比口径|扣除[\u4e00-\u9fff]{1,10}?因素后?|"
    r"以人民币计|以美元计|名义|折合|比上年同期|较上年同期|比去年同期|较去年同期|比上年|较上年|比去年|较去年|"
    r"比上月|较上月|同比|环比|当月|增速|增幅|转为|转|均)"
)
_CJK = re.compile(r"[\u4e00-\u9fff]")
_NOUN_AFTER = re.compile(
    r"^(?:以上|左右|以内|以下)?(?P<n>[\u4e00-\u9fff]{1,8}?)(?=的|[，,。；;、：:）)（(\s]|$)"
)
_NOT_NOUN = re.compile(r"^(?:同比|环比|比|较|占|其中|增长|下降|以上|左右|和|与|及|或|是|为)")


@dataclass
class Found:
    targets: list[Target] = field(default_factory=list)
    figures: list[Figure] = field(default_factory=list)
    paragraph_deadline: dict[int, Deadline] = field(default_factory=dict)
    # The last figure of the sentence before, when it has no change yet: a line that is only a
    # change (同比增长21.7% under 全社会累计完成货运量292亿吨) belongs to it.
    open_figure: int | None = None
    today: str | None = None  # the article's date (YYYY-MM-DD), for deadlines already past


def _clause_start(text: str, end: int) -> int:
    """Where the clause holding offset `end` starts (after the last ，；：、 before it)."""
    for i in range(end - 1, max(-1, end - 60), -1):
        if text[i] in "，,；;：:。":
            return i + 1
    return max(0, end - 60)


def _cut_tail(pattern: re.Pattern[str], text: str) -> str:
    """`text` without what `pattern` (anchored at the end) matches in its last 16 characters:
    a search from the end's neighbourhood, not from every position."""
    m = pattern.search(text, max(0, len(text) - 16))
    return text[: m.start()] if m else text


def _cut_verbs(text: str) -> str:
    m = _VERB_TAIL_REV.match(text[::-1])
    return text[: len(text) - m.end()] if m else text


def _metric(pre: str, post: str, *spans: tuple[int, int]) -> str:
    """The clause before the quantity, without periods, scopes, deadlines and verbs, plus the noun
    right after the quantity (覆盖超过4亿户家庭 → …覆盖家庭)."""
    text = pre
    # The spans cut out (they may overlap or reach outside `pre`), by slices, not per character.
    cuts = sorted((max(0, a), min(len(pre), b)) for a, b in spans if b > 0 and a < len(pre) and a < b)
    if cuts:
        pieces, pos = [], 0
        for a, b in cuts:
            if a > pos:
                pieces.append(pre[pos:a])
            pos = max(pos, b)
        pieces.append(pre[pos:])
        text = "".join(pieces)
    text = text.replace("具备", "").replace("具有", "")
    text = _cut_verbs(_cut_tail(_BEFORE, _cut_verbs(text)))
    text = _LEAD_NOISE.sub("", text)
    if may_name_body(text):  # most metrics name no body: skip the scan
        for _, _, name in body_spans(text):
            text = text.replace(name, "")
    text = _LEAD_NOISE.sub("", text)
    if not text or _VERB_FIRST.fullmatch(text):
        m = _POST_NOUN.match(post)
        if m and not _NOT_NOUN.match(m.group("n")):
            return m.group("n").strip("（）()")
    m = _NOUN_AFTER.match(post)
    if m and not _NOT_NOUN.match(m.group("n")):
        text += m.group("n")
    return text[-24:].strip('“”"《》（）() ')


def _change(window: str, q: Quantity) -> Change | None:
    if q.unit not in _CHANGE_UNITS:
        return None
    d = _DIRECTION.search(window, max(0, len(window) - 8))
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
    if q.unit == "倍":  # 增长1.77倍: 177%
        return Change(kind, round(q.value * 100, 6), "%", direction)
    if q.unit == "个基点":
        return Change(kind, round(q.value / 100, 6), "个百分点", direction)
    return Change(kind, q.value, q.unit, direction)


def _strip_change(pre: str) -> str:
    """The text before a change without its kind and direction (CPI同比上涨 → CPI)."""
    k = _KIND.search(pre)
    if k is not None:
        return pre[: k.start()]
    d = _DIRECTION.search(pre, max(0, len(pre) - 8))
    return pre[: d.start()] if d is not None else pre


def _is_target(dl: Deadline | None, clause: str, sentence: str, after: str, today: str | None) -> bool:
    """Whether a quantity is aimed at (a target) rather than reported (a figure). `clause` and
    `sentence` are the text before the quantity in its clause and in its sentence."""
    if dl is None:
        return _FUTURE.search(clause) is not None
    if dl.status:
        return False  # 截至…: the state reached by then
    if today is not None and dl.date < today:
        return False  # a deadline already past when the article was written: a report
    if dl.strong or dl.date[:4] > (today[:4] if today else "9999"):
        return True
    return bool(_FUTURE.search(sentence) or _AIMED.search(clause[-12:]) or _AFTER.match(after))


# What separates the members of a list (分别增长24.4%、5.2%、37%以及25.1%).
_LIST_SEPARATORS = frozenset({"、", "和", "及", "以及", "与", "，", ","})

# Cheap tests before the full patterns: most sentences have neither.
_MAYBE_QUANTITY = re.compile(r"\d|[十百千万亿][个项家户人元吨]|[千万亿]")
_MAYBE_DEADLINE = re.compile(r"年|季度|十[一二三四五]五|底前|末")

# A deadline opens a sentence (到2025年，… / 《规划》提出，到2025年末，…) and then holds for the
# paragraph's next sentences too.
_OPENING = re.compile(r"^\s{0,2}(?:[^，。,]{0,12}[，,：:])?\s{0,2}(?:力争|争取|计划)?$")
# A scope word in a byline or dateline (北京报道, 北京时间) is not the figure's scope.
_NOT_SCOPE_AFTER = ("报道", "电", "讯", "时间")


class _Reader:
    """Reads one sentence's quantities in order, remembering what the next one may attach to."""

    __slots__ = (
        "body",
        "dls",
        "found",
        "group",
        "group_next",
        "last_change",
        "last_comparator",
        "last_figure",
        "notes",
        "pending",
        "periods",
        "prev_end",
        "s",
        "sentence",
        "today",
    )

    def __init__(
        self,
        s: Sentence,
        today: date | None,
        body: str | None,
        found: Found,
        notes: list[str],
        dls: list[Deadline],
    ) -> None:
        self.s, self.today, self.body, self.found, self.notes, self.dls = s, today, body, found, notes, dls
        self.prev_end = 0
        self.last_figure: int | None = None
        self.last_change: Change | None = None
        self.last_comparator = ""
        self.group: list[int] = []  # figures of one list (分别进出口8746.4亿元、8704.7亿元)
        self.group_next = 0  # the member the next listed change belongs to
        self.pending: Change | None = None  # 提升1.1个百分点至48.2%: the change waits for its value
        self.periods: list[tuple[str, int, int]] | None = None  # the sentence's periods, when first needed
        self.sentence: str | None = None  # the sentence as stored with each item, made once

    def stored_sentence(self) -> str:
        if self.sentence is None:
            self.sentence = self.s.text.strip()
        return self.sentence

    def full(self, kind: str, limit: int) -> bool:
        if limit >= MAX_PER_ARTICLE:
            self.notes.append(f"more than {MAX_PER_ARTICLE} {kind}: the rest not kept")
            return True
        return False

    def target(self, q: Quantity, dl: Deadline | None, clause: int, window: str, listed: bool) -> None:
        text = self.s.text
        after = text[q.end : q.end + 4]
        after_m = _AFTER.match(after)
        before_m = _BEFORE.search(window, max(0, len(window) - 8))
        comparator = after_m.group("c") if after_m else before_m.group("c") if before_m else ""
        if not comparator and listed:
            comparator = self.last_comparator
        if not comparator and "力争" in text[clause : q.start]:
            comparator = "力争"
        self.last_comparator = comparator
        spans = [(d.start - clause, d.end - clause) for d in self.dls]
        start = q.end + (after_m.end() if after_m else 0)
        post = text[start : start + 40]
        metric = _metric(text[clause : q.start], post, *spans)
        deadline = dl.date if dl is not None else None
        self.found.targets.append(
            Target(metric, comparator, q.value, q.unit, deadline, self.body, self.stored_sentence())
        )

    def attach(self, index: int, change: Change) -> None:
        self.found.figures[index] = replace(self.found.figures[index], change=change)
        self.found.open_figure = None
        self.last_change = change

    def figure(self, q: Quantity, clause: int, window: str, listed: bool) -> None:
        text, figures = self.s.text, self.found.figures
        change = _change(window, q)
        if change is None and listed and self.last_change is not None and q.unit == self.last_change.unit:
            change = replace(self.last_change, value=q.value)  # 分别增长56.2%、35.4%
        if (
            change is not None
            and text[q.end : q.end + 1] == "至"
            and len(text) > q.end + 1
            and text[q.end + 1].isdigit()
        ):
            self.pending = change  # 提升1.1个百分点至48.2%
            return
        if change is None and self.pending is not None:
            change, pending, self.pending = None, self.pending, None
        else:
            pending = None
        absolute = (
            change is None and _DIRECTION.search(window, max(0, len(window) - 8)) is not None
        )  # 增加74亿斤
        if change is not None:
            if len(self.group) > 1 and self.group_next < len(self.group):
                index = self.group[self.group_next]  # 分别进口X、Y，增长a、b: a to X, b to Y
                self.group_next += 1
                if figures[index].change is None:
                    self.attach(index, change)
                    return
            rest = _QUALIFIERS.sub("", _strip_change(window))
            own_metric = len(_CJK.findall(rest)) >= 2
            last = self.last_figure
            if not listed and not own_metric and last is not None and figures[last].change is None:
                self.attach(last, change)
                return
        if self.full("figures", len(figures)):
            return
        pre = "" if listed else text[clause : q.start]
        if change is not None:
            pre = _strip_change(pre)
        if self.periods is None:
            self.periods = periods(text, self.today)
        period, p0, p1 = figure_period(self.periods, q.start)
        scope_m = _SCOPE.search(pre)
        scope = scope_m.group() if scope_m else None
        if scope is None:
            for head in _SCOPE.finditer(text, max(0, clause - 300), clause):
                if not text[head.end() : head.end() + 2].startswith(_NOT_SCOPE_AFTER):
                    scope = head.group()
                    break
        spans = [(p0 - clause, p1 - clause)]
        if scope_m:
            spans.append(scope_m.span())
        metric = _metric(pre, "" if change else text[q.end : q.end + 40], *spans)
        if listed and not metric and self.group:
            metric = figures[self.group[0]].metric
        value = None if change is not None else q.value
        unit = "" if change is not None else q.unit
        figures.append(Figure(metric, scope, period, value, unit, change or pending, self.stored_sentence()))
        index = len(figures) - 1
        if change is None and not absolute:
            self.last_figure = index
            self.group = [*self.group, index] if listed and self.group else [index]
            self.group_next = 0
        self.found.open_figure = index if change is None and not absolute and pending is None else None
        self.last_change = change or pending


def may_hold_deadline(text: str) -> bool:
    """False when `text` cannot state a deadline (a cheap test before reading its sentences)."""
    return _MAYBE_DEADLINE.search(text) is not None


def paragraph_quantities(para: str, notes: list[str]) -> list[Quantity]:
    """The quantities of a paragraph, read in one pass (then shared out to its sentences)."""
    return quantities(para, notes) if _MAYBE_QUANTITY.search(para) else []


def read_sentence(
    s: Sentence, qs: list[Quantity], today: date | None, body: str | None, found: Found, notes: list[str]
) -> None:
    """The targets and figures of one sentence (`qs`: its quantities, offsets in the sentence),
    appended to `found`."""
    text = s.text
    # Deadlines are read where they may matter: sentences with quantities, and the opening of
    # every sentence (到2025年，… holds for the paragraph's next sentences).
    if qs:
        dls = deadlines(text, today, notes) if _MAYBE_DEADLINE.search(text) else []
    else:
        dls = deadlines(text[:40], today, notes) if _MAYBE_DEADLINE.search(text, 0, 40) else []
    if dls and dls[0].strong and not dls[0].status and _OPENING.match(text[: dls[0].start]):
        found.paragraph_deadline[s.paragraph] = dls[0]
    if not qs:
        if len(text) > 16:  # a sentence of prose between a figure and a change line: not one
            found.open_figure = None
        return
    para_deadline = found.paragraph_deadline.get(s.paragraph)
    said = _FORECAST_SAID.search(text)  # one search a sentence with quantities
    reader = _Reader(s, today, body, found, notes, dls)
    head = text.lstrip()
    if _KIND.match(head) or _DIRECTION_ANY.match(head):
        reader.last_figure = found.open_figure  # a line that is only a change
    found.open_figure = None
    next_dl = 0
    for i, q in enumerate(qs):
        if q.unit in _STRUCTURE_UNITS and _STRUCTURE.match(text[q.end - len(q.unit) if q.unit else q.end :]):
            continue
        if q.start and text[q.start - 1] in "×÷=*/＝":
            continue  # a formula's constant (利润总额÷营业收入×100%), not a figure
        nxt = qs[i + 1] if i + 1 < len(qs) else None
        threshold = (
            nxt is not None and nxt.unit == q.unit and text[q.end : nxt.start] in ("达到", "至", "后达到")
        )
        if threshold and _BEFORE.search(text[max(0, q.start - 3) : q.start]):
            continue  # 突破9000亿美元达到9734.5亿美元: the threshold is not a figure
        clause = _clause_start(text, q.start)
        if _FORECAST.search(text[clause : q.start]) or (said is not None and said.start() < q.start):
            reader.prev_end = q.end
            continue
        if q.start and text[q.start - 1] == "在" and _AMONG.match(text, q.end):
            reader.prev_end = q.end  # 在41个行业中: the groups counted
            continue
        window = text[max(reader.prev_end, clause) : q.start]
        listed = reader.prev_end > 0 and window.strip() in _LIST_SEPARATORS
        while next_dl < len(dls) and dls[next_dl].start < q.start:  # both in order: one sweep
            next_dl += 1
        dl = dls[next_dl - 1] if next_dl else para_deadline
        # The sentence before the quantity, bounded so a huge "sentence" costs linear time.
        sentence = text[max(0, q.start - 300) : q.start]
        if _is_target(dl, text[clause : q.start], sentence, text[q.end : q.end + 4], found.today):
            if reader.full("targets", len(found.targets)):
                return
            reader.target(q, dl, clause, window, listed)
        elif not _ADVICE.search(text, clause, q.start):
            reader.figure(q, clause, window, listed)
        reader.prev_end = q.end
