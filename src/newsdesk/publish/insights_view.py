"""Insights as readers see them, shared by the command line, the static site and the web app:
keywords ranked against the archive at read time, where a target stands against a clock, the
weeks of a trend and the metrics worth a chart."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any, Literal

from ..dates import SHANGHAI
from ..insights_json import insights_dict
from ..models import Change, ClusterSummary, Insights, TermRise, TermWeek
from ..store import Store

KEYWORDS = 10  # keywords shown per article
DUE_SOON_DAYS = 90  # a target due within this many days of the clock is "due soon"

Status = Literal["overdue", "due-soon", "open", "no-deadline"]
STATUS_LABELS: dict[Status, str] = {
    "overdue": "已到期",
    "due-soon": "即将到期",
    "open": "未到期",
    "no-deadline": "未定期限",
}


def keywords_of(store: Store, found: Mapping[str, Insights], k: int = KEYWORDS) -> dict[str, list[str]]:
    """uid → its keywords, for many entries with one read of the document frequencies."""
    from ..insights import rank_keywords  # the stage (and its tokenizer) only where keywords are shown

    n_docs, freqs = store.insight_doc_freqs({t for ins in found.values() for t, _ in ins.terms})
    return {uid: rank_keywords(ins.terms, freqs, n_docs, k) for uid, ins in found.items()}


def public_insights(store: Store, uid: str) -> dict[str, Any] | None:
    """An entry's insights as `entries show --json` prints them (None when it has none)."""
    found = store.get_insights([uid])
    if uid not in found:
        return None
    return insights_dict(found[uid], keywords=keywords_of(store, found)[uid])


def today() -> date:
    """Today in Beijing: the day deadlines and the brief are counted by."""
    return datetime.now(SHANGHAI).date()


def target_status(deadline: str | None, on: date, soon_days: int = DUE_SOON_DAYS) -> Status:
    if deadline is None:
        return "no-deadline"
    try:
        due = date.fromisoformat(deadline)
    except ValueError:
        return "no-deadline"
    if due < on:
        return "overdue"
    return "due-soon" if (due - on).days <= soon_days else "open"


def day_start(day: date) -> datetime:
    """Midnight of `day` in Beijing."""
    return datetime(day.year, day.month, day.day, tzinfo=SHANGHAI)


CLUSTER_BATCH = 500


def clusters_since(store: Store, start: datetime) -> list[ClusterSummary]:
    """The story clusters that grew at `start` or later (most recently grown first: read in
    batches until one ends before `start`)."""
    found: list[ClusterSummary] = []
    offset = 0
    while True:
        batch = store.list_clusters(limit=CLUSTER_BATCH, offset=offset)
        found += [c for c in batch if c.last >= start]
        if len(batch) < CLUSTER_BATCH or batch[-1].last < start:
            return found
        offset += CLUSTER_BATCH


def brief_summary(stories: int, targets: int, figures: int) -> str:
    """A daily brief in one line (the site's brief feed and the web app's)."""
    return f"{stories} 个多家媒体报道的事件，{targets} 项新目标，{figures} 项新数据"


def monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def weeks_ending(last: str, n: int) -> list[str]:
    """The `n` weeks (Mondays, YYYY-MM-DD) ending with week `last`, oldest first."""
    end = date.fromisoformat(last)
    return [(end - timedelta(weeks=i)).isoformat() for i in range(n - 1, -1, -1)]


def series(rows: Iterable[TermWeek], weeks: Sequence[str]) -> dict[str, list[int]]:
    """term → articles per week over `weeks` (0 for weeks without)."""
    at = {w: i for i, w in enumerate(weeks)}
    out: dict[str, list[int]] = {}
    for r in rows:
        counts = out.setdefault(r.term, [0] * len(weeks))
        if r.week in at:
            counts[at[r.week]] = r.docs
    return out


def rising(store: Store, week: str, limit: int = 20) -> list[TermRise]:
    """Terms of `week` against the four weeks before it."""
    return store.rising_terms(week, weeks_ending(week, 5)[:4], limit=limit)


def canonical_body(name: str) -> str:
    """A body's canonical name from any alias (工信部 → 工业和信息化部); unknown names as given."""
    from ..insights.entities import aliases

    return aliases().get(name.strip(), name.strip())


_DIRECTION = {"up": "增长", "down": "下降", "flat": "持平"}


def number_text(value: float | None) -> str:
    """A value as readers write it: whole numbers without a decimal point."""
    if value is None:
        return ""
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return f"{value:g}"


def change_text(c: Change | None) -> str:
    """同比增长35.4%."""
    if c is None:
        return ""
    return f"{c.kind}{_DIRECTION[c.direction]}{number_text(c.value)}{c.unit}"


def box(ins: Insights, keywords: Sequence[str]) -> dict[str, Any]:
    """What an article page's 要点 box shows (the site's and the web app's): numbered tasks per
    run (runs of other kinds left out), targets and figures with their numbers as text, bodies,
    meetings, officials and keywords. Plain data: the templates escape all of it."""
    runs: dict[int, list[dict[str, Any]]] = {}
    for t in ins.tasks:
        if t.kind == "tasks":
            runs.setdefault(t.run, []).append(
                {"ordinal": t.ordinal, "marker": t.marker, "lead": t.lead, "run": t.run}
            )
    return {
        "task_runs": list(runs.values()),
        "tasks": [t for run in runs.values() for t in run],
        "targets": [
            {
                "metric": t.metric,
                "comparator": t.comparator,
                "display": number_text(t.value),
                "unit": t.unit,
                "deadline": t.deadline,
                "body": t.body,
                "sentence": t.sentence,
            }
            for t in ins.targets
        ],
        "figures": [
            {
                "metric": f.metric,
                "scope": f.scope,
                "period": f.period,
                "display": number_text(f.value),
                "unit": f.unit,
                "change_text": change_text(f.change),
            }
            for f in ins.figures
        ],
        "bodies": list(ins.bodies),
        "meetings": list(ins.meetings),
        "officials": [{"name": o.name, "title": o.title} for o in ins.officials],
        "keywords": list(keywords),
    }


def boxes(store: Store, uids: Iterable[str]) -> dict[str, dict[str, Any]]:
    """uid → its 要点 box, for the entries among `uids` that have insights."""
    found = store.get_insights(uids)
    if not found:
        return {}
    ranked = keywords_of(store, found)
    return {uid: box(ins, ranked[uid]) for uid, ins in found.items()}
