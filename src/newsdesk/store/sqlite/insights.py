"""What the insights stage read out of each entry (migration 0012): the record as JSON, the
targets and figures as rows to query, and from the article's top term counts the archive's
document frequencies and per-week counts (trends, keyword ranking), kept as records come and
go (a deleted entry's by a trigger of the migration)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

import orjson

from ...insights_json import figure_dict, figure_from_dict, insights_dict, insights_from_dict
from ...models import (
    Figure,
    InsightRef,
    Insights,
    InsightsOf,
    ReportedFigure,
    Target,
    TermRise,
    TermWeek,
    TrackedTarget,
)
from ..common import format_time, parse_time, week_of
from .base import SQLiteBase, chunks

# An article's most frequent terms kept for ranking and trends: beyond these the counts are
# ones and twos that neither rank as keywords nor make a trend, and would grow the archive.
TERMS_KEPT = 64

_RECORD_COLUMNS = "uid, version, content_hash, sort_time, week, data"
_TARGET_COLUMNS = "uid, idx, metric, comparator, value, unit, deadline, body, sentence, sort_time"
_FIGURE_COLUMNS = "uid, idx, metric, scope, period, value, unit, change, sentence, sort_time"

_REF = "t.uid, e.title, f.site, t.sort_time, t.idx"
_REF_FROM = "JOIN entries e ON e.uid=t.uid JOIN feeds f ON f.key=e.feed_key"


class _Tally:
    """Changes to the term aggregates made by one transaction, applied at its end in one
    upsert per distinct term (and week): a batch of articles shares most of its terms. Kept
    per week, so an article's terms are counted in by two `Counter` updates rather than three
    lookups a term (a third of a background catch-up's storing time, issue 18)."""

    def __init__(self) -> None:
        self.docs: Counter[str] = Counter()
        self.weekly: dict[str, Counter[str]] = {}
        self.mentions: dict[str, Counter[str]] = {}

    def add(self, week: str, terms: Iterable[Sequence[Any]], sign: int) -> None:
        counts = [(term, count) for term, count in terms]
        names = [term for term, _ in counts]
        weekly = self.weekly.setdefault(week, Counter())
        mentions = self.mentions.setdefault(week, Counter())
        if sign > 0:
            self.docs.update(names)  # an iterable of names: counted in C
            weekly.update(names)
        else:
            self.docs.subtract(names)
            weekly.subtract(names)
        seen = mentions.get
        for term, count in counts:  # a loop, not update(mapping): a term listed twice counts twice
            mentions[term] = seen(term, 0) + sign * count

    def week_rows(self) -> list[tuple[str, str, int, int]]:
        """(week, term, docs, mentions) of every (week, term) whose counts changed."""
        rows = []
        for week, weekly in self.weekly.items():
            mentions = self.mentions[week]
            rows += [(week, t, n, mentions[t]) for t, n in weekly.items() if n or mentions[t]]
        return rows

    def weeks_gone(self) -> list[tuple[str, str]]:
        """(week, term) pairs counted out more than in: their rows may have reached zero."""
        return [(w, t) for w, weekly in self.weekly.items() for t, n in weekly.items() if n < 0]


class InsightsMixin(SQLiteBase):
    def save_insights(self, items: Sequence[InsightsOf], *, bump: bool = False) -> None:
        tally = _Tally()
        # The rows of all items first, then one statement per table: a batch's records are
        # stored in a few calls rather than three an item.
        records: list[tuple[Any, ...]] = []
        targets: list[tuple[Any, ...]] = []
        figures: list[tuple[Any, ...]] = []
        for item in items:
            ins = item.insights
            stamp = format_time(item.when)
            week = week_of(item.when)
            # Each term once, in order of first listing (with its last count), the first 64.
            kept = list(dict(ins.terms).items())[:TERMS_KEPT]
            data = orjson.dumps(insights_dict(replace(ins, terms=tuple(kept)), terms=True)).decode()
            records.append((item.uid, ins.version, item.content_hash, stamp, week, data))
            targets += [
                (item.uid, i, t.metric, t.comparator, t.value, t.unit, t.deadline, t.body, t.sentence, stamp)
                for i, t in enumerate(ins.targets)
            ]
            figures += [
                (
                    item.uid,
                    i,
                    f.metric,
                    f.scope,
                    f.period,
                    f.value,
                    f.unit,
                    None if f.change is None else orjson.dumps(figure_dict(f)["change"]).decode(),
                    f.sentence,
                    stamp,
                )
                for i, f in enumerate(ins.figures)
            ]
            tally.add(week, kept, 1)
        with self._tx():
            rev = self._max_rev()
            # Counted out of the aggregates (a replaced record) before the new ones are counted in.
            self._forget_insights([item.uid for item in items], tally)
            self._insert_insights(records, targets, figures)
            if bump:
                # Pages showing the entries' insights follow the store's change counter.
                self._set_revs([(rev + n, item.uid) for n, item in enumerate(items, start=1)])
            self._apply_tally(tally)

    def _insert_insights(
        self, records: list[tuple[Any, ...]], targets: list[tuple[Any, ...]], figures: list[tuple[Any, ...]]
    ) -> None:
        self._db.executemany(
            f"INSERT INTO insights ({_RECORD_COLUMNS}) VALUES ({','.join('?' * 6)})", records
        )
        self._db.executemany(
            f"INSERT INTO insight_targets ({_TARGET_COLUMNS}) VALUES ({','.join('?' * 10)})", targets
        )
        self._db.executemany(
            f"INSERT INTO insight_figures ({_FIGURE_COLUMNS}) VALUES ({','.join('?' * 10)})", figures
        )

    def _set_revs(self, revs: list[tuple[int, str]]) -> None:
        """(rev, uid): each entry's rev moved to its own."""
        self._db.executemany("UPDATE entries SET rev=? WHERE uid=?", revs)

    def _forget_insights(self, uids: Sequence[str], tally: _Tally) -> None:
        """Delete the insights of `uids`, their terms counted out into `tally`."""
        for chunk in chunks(list(uids)):
            marks = ",".join("?" * len(chunk))
            for week, data in self._db.execute(
                f"SELECT week, data FROM insights WHERE uid IN ({marks})", chunk
            ):
                tally.add(week, orjson.loads(data).get("terms", ()), -1)
            for table in ("insights", "insight_targets", "insight_figures"):
                self._db.execute(f"DELETE FROM {table} WHERE uid IN ({marks})", chunk)

    def _apply_tally(self, tally: _Tally) -> None:
        self._db.executemany(
            "INSERT INTO insight_df (term, docs) VALUES (?,?)"
            " ON CONFLICT (term) DO UPDATE SET docs=docs+excluded.docs",
            [(t, n) for t, n in tally.docs.items() if n],
        )
        self._db.executemany(
            "INSERT INTO insight_term_weeks (week, term, docs, mentions) VALUES (?,?,?,?)"
            " ON CONFLICT (week, term) DO UPDATE SET docs=docs+excluded.docs,"
            " mentions=mentions+excluded.mentions",
            tally.week_rows(),
        )
        self._db.executemany(
            "DELETE FROM insight_df WHERE term=? AND docs<=0", [(t,) for t, n in tally.docs.items() if n < 0]
        )
        self._db.executemany(
            "DELETE FROM insight_term_weeks WHERE week=? AND term=? AND docs<=0",
            tally.weeks_gone(),
        )

    def get_insights(self, uids: Iterable[str]) -> dict[str, Insights]:
        out: dict[str, Insights] = {}
        for chunk in chunks(list(uids)):
            rows = self._db.execute(
                f"SELECT uid, data FROM insights WHERE uid IN ({','.join('?' * len(chunk))})", chunk
            )
            out.update((uid, insights_from_dict(orjson.loads(data))) for uid, data in rows)
        return out

    def insight_doc_freqs(self, terms: Iterable[str]) -> tuple[int, dict[str, int]]:
        n_docs = int(self._db.execute("SELECT COUNT(*) FROM insights").fetchone()[0])
        freqs: dict[str, int] = {}
        for chunk in chunks(sorted(set(terms))):
            freqs.update(
                self._db.execute(
                    f"SELECT term, docs FROM insight_df WHERE term IN ({','.join('?' * len(chunk))})", chunk
                )
            )
        return n_docs, freqs

    def stale_insights(self, version: int, *, everything: bool = False) -> list[str]:
        """Entries with an article whose insights are missing, older than `version`, or read
        from another version of the entry; every entry with an article when `everything`."""
        sql = "SELECT e.uid FROM entries e JOIN articles a ON a.uid=e.uid LEFT JOIN insights i ON i.uid=e.uid"
        if not everything:
            sql += " WHERE i.uid IS NULL OR i.version < ? OR i.content_hash != e.content_hash"
        sql += " ORDER BY e.sort_time DESC, e.uid"
        return [r[0] for r in self._db.execute(sql, () if everything else (version,))]

    def pending_insights(self, since: int = 0) -> list[str]:
        """Uids, in rev order, of entries changed after rev `since` with an article whose
        insights are missing or were read from another content of the entry."""
        return [
            r[0]
            for r in self._db.execute(
                "SELECT e.uid FROM entries e JOIN articles a ON a.uid=e.uid"
                " LEFT JOIN insights i ON i.uid=e.uid WHERE e.rev > ?"
                " AND (i.uid IS NULL OR i.content_hash != e.content_hash) ORDER BY e.rev, e.uid",
                (since,),
            )
        ]

    def prune_insights(self) -> int:
        """Remove insights of entries that are not in the archive (a fetch that stored them
        but not its entries); how many."""
        with self._tx():
            gone = [
                r[0]
                for r in self._db.execute(
                    "SELECT i.uid FROM insights i LEFT JOIN entries e ON e.uid=i.uid WHERE e.uid IS NULL"
                )
            ]
            tally = _Tally()
            self._forget_insights(gone, tally)
            self._apply_tally(tally)
        return len(gone)

    def list_targets(
        self,
        *,
        body: str | None = None,
        due_before: str | None = None,
        since: datetime | None = None,
        limit: int | None = None,
    ) -> list[TrackedTarget]:
        where, params = _filters(body=body, due_before=due_before, since=since)
        rows = self._db.execute(
            f"SELECT {_REF}, t.metric, t.comparator, t.value, t.unit, t.deadline, t.body, t.sentence"
            f" FROM insight_targets t {_REF_FROM}{where}"
            " ORDER BY t.deadline IS NULL, t.deadline, t.sort_time, t.uid, t.idx LIMIT ?",
            (*params, -1 if limit is None else limit),
        )
        return [TrackedTarget(_ref(r), Target(*r[5:12])) for r in rows]

    def list_figures(
        self, *, metric: str | None = None, since: datetime | None = None, limit: int | None = None
    ) -> list[ReportedFigure]:
        where, params = _filters(metric=metric, since=since)
        rows = self._db.execute(
            f"SELECT {_REF}, t.metric, t.scope, t.period, t.value, t.unit, t.change, t.sentence"
            f" FROM insight_figures t {_REF_FROM}{where}"
            " ORDER BY t.metric, t.period IS NULL, t.period, t.sort_time, t.uid, t.idx LIMIT ?",
            (*params, -1 if limit is None else limit),
        )
        return [ReportedFigure(_ref(r), _figure(r[5:12])) for r in rows]

    def figure_metrics(self, *, min_entries: int = 2) -> list[tuple[str, int]]:
        return [
            (m, int(n))
            for m, n in self._db.execute(
                "SELECT metric, COUNT(DISTINCT uid) AS n FROM insight_figures GROUP BY metric"
                " HAVING n >= ? ORDER BY n DESC, metric",
                (min_entries,),
            )
        ]

    def term_weeks(self, terms: Sequence[str], *, since_week: str | None = None) -> list[TermWeek]:
        out: list[TermWeek] = []
        for chunk in chunks(sorted(set(terms))):
            sql = (
                "SELECT term, week, docs, mentions FROM insight_term_weeks"
                f" WHERE term IN ({','.join('?' * len(chunk))})"
            )
            params: list[Any] = list(chunk)
            if since_week is not None:
                sql += " AND week >= ?"
                params.append(since_week)
            out += [TermWeek(*r) for r in self._db.execute(sql, params)]
        out.sort(key=lambda w: (w.term, w.week))
        return out

    def top_terms(self, weeks: Sequence[str], *, limit: int = 20) -> list[tuple[str, int]]:
        if not weeks:
            return []
        return [
            (t, int(n))
            for t, n in self._db.execute(
                "SELECT term, SUM(docs) AS n FROM insight_term_weeks"
                f" WHERE week IN ({','.join('?' * len(weeks))}) GROUP BY term ORDER BY n DESC, term LIMIT ?",
                (*weeks, limit),
            )
        ]

    def rising_terms(
        self, week: str, previous: Sequence[str], *, min_docs: int = 2, limit: int = 20
    ) -> list[TermRise]:
        marks = ",".join("?" * len(previous)) or "NULL"
        rows = self._db.execute(
            "SELECT c.term, c.docs, COALESCE((SELECT SUM(p.docs) FROM insight_term_weeks p"
            f" WHERE p.term=c.term AND p.week IN ({marks})), 0) AS before"
            " FROM insight_term_weeks c WHERE c.week=? AND c.docs >= ?",
            (*previous, week, min_docs),
        ).fetchall()
        span = max(len(previous), 1)
        rises = [TermRise(t, int(d), b / span) for t, d, b in rows if d > b / span]
        rises.sort(key=lambda r: (-(r.docs - r.before) / (r.before + 1), -r.docs, r.term))
        return rises[:limit]

    def latest_insight_week(self) -> str | None:
        row = self._db.execute("SELECT MAX(week) FROM insight_term_weeks").fetchone()
        return row[0] if row else None


def _filters(
    *,
    body: str | None = None,
    due_before: str | None = None,
    since: datetime | None = None,
    metric: str | None = None,
) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    for clause, value in (
        ("t.body=?", body),
        ("t.deadline IS NOT NULL AND t.deadline<?", due_before),
        ("t.sort_time>=?", format_time(since) if since is not None else None),
        ("t.metric=?", metric),
    ):
        if value is not None:
            clauses.append(clause)
            params.append(value)
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), params


def _ref(r: Any) -> InsightRef:
    when = parse_time(r[3])
    assert when is not None
    return InsightRef(r[0], r[1], r[2], when, r[4])


def _figure(r: Any) -> Figure:
    metric, scope, period, value, unit, change, sentence = r
    return figure_from_dict(
        {
            "metric": metric,
            "scope": scope,
            "period": period,
            "value": value,
            "unit": unit,
            "change": None if change is None else orjson.loads(change),
            "sentence": sentence,
        }
    )
