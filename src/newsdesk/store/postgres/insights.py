"""The insights store on PostgreSQL: SQLite's module, its SQL translated, with one difference.
Writers of the term aggregates (`insight_df`, `insight_term_weeks`) upsert rows many
transactions share, each in its own order: two at once could lock them crosswise (a deadlock).
So every writer takes the change counter's turn first (store/postgres/base.py) — `save_insights`
and entry deletes do already, `prune_insights` does here — and they run one after another."""

from __future__ import annotations

from collections.abc import Sequence

from ..sqlite.insights import InsightsMixin, _Tally


class PgInsightsMixin(InsightsMixin):
    def _forget_insights(self, uids: Sequence[str], tally: _Tally) -> None:
        self._max_rev()  # the counter's turn (a no-op when the transaction holds it)
        super()._forget_insights(uids, tally)
