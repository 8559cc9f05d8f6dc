"""The insights store on PostgreSQL: SQLite's module, its SQL translated, with two differences.

Writers of the term aggregates (`insight_df`, `insight_term_weeks`) upsert rows many
transactions share, each in its own order: two at once could lock them crosswise (a deadlock).
So every writer takes the aggregates' turn first (a transaction-scoped advisory lock) and they
run one after another: `save_insights` and `prune_insights` here, entry deletes in their trigger
(PG 0029). It is not the change counter's turn (store/postgres/base.py): a catch-up that stores
insights without moving revs (`bump=False`, every worker's after each batch) held the counter for
its whole transaction, and every feed another worker stored meanwhile waited for it. A writer
that needs both takes the counter first (deletes, `bump=True`), so the two never cross.

A batch's rows go in as one statement per table (the rows one JSON parameter, `base.rows_source`),
not one statement per row: a batch of 50 articles touches ~2,000 distinct terms in each
aggregate, and a statement per term cost the worker and the server ~0.4 ms each per article
stored (each row a round of the protocol, parsed, bound and executed) — more than the insert of
the entry. SQLite runs them in its own process, where a statement per row costs little.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import orjson

from ...models import InsightsOf
from ..sqlite.insights import _FIGURE_COLUMNS, _RECORD_COLUMNS, _TARGET_COLUMNS, InsightsMixin, _Tally
from .base import rows_source

_RECORD_TYPES = ("text", "bigint", "text", "text", "text", "text")
_TARGET_TYPES = ("text", "bigint", "text", "text", "float8", "text", "text", "text", "text", "text")
_FIGURE_TYPES = ("text", "bigint", "text", "text", "text", "float8", "text", "text", "text", "text")
# Entries changed after a rev (or at one), in (rev, uid) order, each with its rev and whether its
# insights are pending (an article, and no record or one of another content).
PENDING_CHUNK = 2000
PENDING_WALK = 10 * PENDING_CHUNK  # revs after `since` beyond which the tables are scanned instead
_PENDING_JOIN = """
SELECT c.uid, c.rev, a.uid IS NOT NULL AND (i.uid IS NULL OR i.content_hash != c.content_hash)
FROM changed c LEFT JOIN articles a ON a.uid = c.uid LEFT JOIN insights i ON i.uid = c.uid
ORDER BY c.rev, c.uid
"""
_PENDING_AFTER = (
    "WITH changed AS (SELECT uid, rev, content_hash FROM entries WHERE rev > ?"
    f" ORDER BY rev LIMIT {PENDING_CHUNK}) {_PENDING_JOIN}"
)
_PENDING_AT = f"WITH changed AS (SELECT uid, rev, content_hash FROM entries WHERE rev = ?) {_PENDING_JOIN}"
# The aggregates' turn: (space, key) of its advisory lock; PG 0029's trigger takes the same.
AGGREGATES_LOCK = (0x6E6C, 0x616767)  # "nl", "agg"


class PgInsightsMixin(InsightsMixin):
    _local: threading.local  # PostgresBase's

    def save_insights(self, items: Sequence[InsightsOf], *, bump: bool = False) -> None:
        # Without `bump` no rev is given out: the counter is read, not taken (`_max_rev`).
        self._local.revs_unused = not bump
        try:
            super().save_insights(items, bump=bump)
        finally:
            self._local.revs_unused = False

    def pending_insights(self, since: int = 0) -> list[str]:
        # SQLite's one statement read the whole of entries, articles and insights on every look
        # here: without statistics (a new archive, or autovacuum off) `rev > ?` is estimated at
        # a third of the table, so the planner scanned and hashed all three (73 ms a look at
        # 50,000 entries, 1,000 of them changed; 10 ms this way). Here the entries changed after
        # `since` are walked in rev order on the rev index, `PENDING_CHUNK` at a time (a literal
        # limit: an ordered index scan whatever the estimate), each chunk joined by key. A
        # chunk ends before its last rev (continued from there), so a rev is never split. A
        # long stretch of revs (a first look, a catch-up from 0) is read SQLite's way: scanning
        # the tables once costs less than probing them per entry past ~20,000 entries.
        row = self._db.execute("SELECT MAX(rev) FROM entries").fetchone()
        if row is None or row[0] is None or row[0] - since > PENDING_WALK:
            return super().pending_insights(since)
        out: list[str] = []
        after = since
        while True:
            rows = self._db.execute(_PENDING_AFTER, (after,)).fetchall()
            if len(rows) < PENDING_CHUNK:
                return out + [r[0] for r in rows if r[2]]
            last = rows[-1][1]
            whole = [r for r in rows if r[1] != last]
            if not whole:  # one rev fills the chunk: that rev whole
                whole = self._db.execute(_PENDING_AT, (last,)).fetchall()
            out += [r[0] for r in whole if r[2]]
            after = whole[-1][1]

    def _aggregates_turn(self) -> None:
        self._db.execute("SELECT pg_advisory_xact_lock(?, ?)", list(AGGREGATES_LOCK))

    def _forget_insights(self, uids: Sequence[str], tally: _Tally) -> None:
        self._aggregates_turn()  # before any row of the aggregates (or of insights) is touched
        # Only entries with a record have targets and figures (the three are written together,
        # here and in PG 0023's trigger, and deleted together): the deletes are for those, and
        # a catch-up of new entries has none. SQLite's `uid IN (…500…)` on insight_figures,
        # whose key only starts with uid, was a scan of the table without statistics (32 ms a
        # batch at 150,000 figures), three times a batch, with nothing to delete.
        if not uids:
            return
        rows = self._db.execute(
            "SELECT uid, week, data FROM insights WHERE uid = ANY(CAST(? AS text[]))", [list(uids)]
        ).fetchall()
        for _uid, week, data in rows:
            tally.add(week, orjson.loads(data).get("terms", ()), -1)
        if rows:
            held = [r[0] for r in rows]
            for table in ("insights", "insight_targets", "insight_figures"):
                self._db.execute(f"DELETE FROM {table} WHERE uid = ANY(CAST(? AS text[]))", [held])

    def _insert_insights(
        self, records: list[tuple[Any, ...]], targets: list[tuple[Any, ...]], figures: list[tuple[Any, ...]]
    ) -> None:
        for table, columns, types, rows in (
            ("insights", _RECORD_COLUMNS, _RECORD_TYPES, records),
            ("insight_targets", _TARGET_COLUMNS, _TARGET_TYPES, targets),
            ("insight_figures", _FIGURE_COLUMNS, _FIGURE_TYPES, figures),
        ):
            if rows:
                source, params = rows_source(types, rows)
                self._db.execute(f"INSERT INTO {table} ({columns}) SELECT * FROM {source}", params)

    def _set_revs(self, revs: list[tuple[int, str]]) -> None:
        if revs:
            source, params = rows_source(("bigint", "text"), revs)
            self._db.execute(f"UPDATE entries e SET rev=r.c1 FROM {source} WHERE e.uid=r.c2", params)

    def _apply_tally(self, tally: _Tally) -> None:
        # One upsert per table, its rows in key order: writers take the counter's turn anyway,
        # and an ordered statement locks rows as any other ordered one does.
        docs = sorted((t, n) for t, n in tally.docs.items() if n)
        weeks = sorted(tally.week_rows())
        if docs:
            source, params = rows_source(("text", "bigint"), docs)
            self._db.execute(
                f"INSERT INTO insight_df AS d (term, docs) SELECT c1, c2 FROM {source} ORDER BY c1"
                " ON CONFLICT (term) DO UPDATE SET docs = d.docs + excluded.docs",
                params,
            )
        if weeks:
            source, params = rows_source(("text", "text", "bigint", "bigint"), weeks)
            self._db.execute(
                "INSERT INTO insight_term_weeks AS w (week, term, docs, mentions)"
                f" SELECT c1, c2, c3, c4 FROM {source} ORDER BY c1, c2"
                " ON CONFLICT (week, term) DO UPDATE SET docs = w.docs + excluded.docs,"
                " mentions = w.mentions + excluded.mentions",
                params,
            )
        gone = [t for t, n in tally.docs.items() if n < 0]
        if gone:
            self._db.execute(
                "DELETE FROM insight_df WHERE docs <= 0 AND term = ANY(CAST(? AS text[]))", [gone]
            )
        gone_weeks = tally.weeks_gone()
        if gone_weeks:
            source, params = rows_source(("text", "text"), gone_weeks)
            self._db.execute(
                f"DELETE FROM insight_term_weeks w USING {source}"
                " WHERE w.week = r.c1 AND w.term = r.c2 AND w.docs <= 0",
                params,
            )
