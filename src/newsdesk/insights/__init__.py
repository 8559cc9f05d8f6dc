"""The insights stage: tasks, targets, figures, bodies and terms read out of a cleaned article.

A pure function over typed records: `extract(article, title, published)` returns an `Insights`;
no I/O. What could not be read (limits hit, dates that do not exist, numbers too large) is said
in `Insights.notes`; nothing in an article makes the stage fail. docs/insights.md has the rules.
"""

from __future__ import annotations

import re
from datetime import date, datetime

from ..dates import SHANGHAI
from ..models import Article, Insights
from .entities import body_spans, meetings, officials
from .numbers import Quantity
from .quantities import Found, may_hold_deadline, paragraph_quantities, read_sentence
from .tasks import numbered_runs
from .terms import rank_keywords, term_counts
from .text import normalise, paragraphs, sentences

__all__ = ["VERSION", "extract", "rank_keywords"]

# Bump when the rules change, so `reinsight` recomputes rows made by an older extractor.
VERSION = 2

# Month/day pairs are checked so a date that does not exist (2月30日) gets a note.
_MONTH_DAY = re.compile(r"(?=\d)(?<!\d)(?P<m>1[0-2]|0?[1-9])月(?P<d>[0-3]?\d)日")
_DAYS = (0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
# Reference matter at a release's end (附注：, 指标解释): definitions, scope and method, whose
# numbers (数值在0至-100%之间, 年主营业务收入2000万元及以上) are neither reported nor aimed at.
_NOTES_HEAD = re.compile(r"(?:附注|注释|指标解释|名词解释)(?:及相关说明)?\s{0,2}[：:]?$")
_NOTE_LINE = re.compile(r"注\s{0,2}[：:]|附注\s{0,2}[：:]|资料来源\s{0,2}[：:]")
# A question asking for a forecast (你的预测是什么？; not 如何看待一季度经济运行？): the
# answer's numbers are the speaker's expectation, not a report.
_ASKS_VIEW = re.compile(r"(?:预测|预计|预期|展望)[^？?]{0,20}[？?]\s{0,2}$")


def _bad_dates(text: str, notes: list[str]) -> None:
    seen: set[str] = set()
    for m in _MONTH_DAY.finditer(text):
        if not 1 <= int(m.group("d")) <= _DAYS[int(m.group("m"))] and m.group() not in seen:
            seen.add(m.group())
            notes.append(f"no such date: {m.group()}")


def extract(article: Article, title: str, published: datetime | None) -> Insights:
    """What `article` commits to and reports; `published` (UTC) resolves 今年/明年 and periods."""
    notes: list[str] = []
    text, changed = normalise(article.text)
    notes.extend(changed)
    today: date | None = published.astimezone(SHANGHAI).date() if published is not None else None
    # 原标题：… repeats the title: not read twice.
    paras = [p for p in paragraphs(text) if not p.startswith(("原标题", "原题"))]
    _bad_dates(text, notes)

    spans_by_para = [body_spans(p) for p in paras]
    title_bodies = [name for _, _, name in body_spans(normalise(title)[0])]
    all_bodies = list(
        dict.fromkeys([*title_bodies, *(name for spans in spans_by_para for _, _, name in spans)])
    )
    issuer = all_bodies[0] if all_bodies else None

    found = Found(today=today.isoformat() if today else None)
    for index, para in enumerate(paras):
        if _NOTES_HEAD.fullmatch(para):
            break  # the rest is the release's notes
        asked = paras[index - 1] if index else ""
        if _NOTE_LINE.match(para) or (asked.endswith(("？", "?")) and _ASKS_VIEW.search(asked)):
            found.open_figure = None
            continue
        pq = paragraph_quantities(para, notes)
        if not pq and not may_hold_deadline(para):
            found.open_figure = None  # prose: nothing to read, nothing to carry over
            continue
        i = 0
        for s in sentences(para, index):
            end = s.start + len(s.text)
            qs = []
            while i < len(pq) and pq[i].start < end:  # both in order: one sweep
                q = pq[i]
                qs.append(Quantity(q.value, q.unit, q.start - s.start, q.end - s.start, q.text))
                i += 1
            named = [name for a, _, name in spans_by_para[index] if s.start <= a < end] if qs else None
            read_sentence(s, qs, today, named[0] if named else issuer, found, notes)

    return Insights(
        tasks=tuple(numbered_runs(paras, notes)),
        targets=tuple(found.targets),
        figures=tuple(found.figures),
        bodies=tuple(all_bodies),
        meetings=tuple(meetings(text)),
        officials=tuple(officials(text)),
        terms=term_counts(text),
        notes=tuple(dict.fromkeys(notes)),
        version=VERSION,
    )
