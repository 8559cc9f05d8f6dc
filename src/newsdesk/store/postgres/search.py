"""Full-text search documents in the database (`search_backend: postgres`; migrations 0021, 0028).

`newsdesk.search.pgindex` cuts the text and compiles queries; this holds the SQL. Documents are
written together with the store rev they are current to (`newsdesk_search.state`), and a writer first
moves that mark from the rev it started at (`expect`) with the mark's row locked: two processes
catching up at once take turns, and the one that finds the mark moved by the other writes
nothing and starts again from there, so documents never go back to an older state of an entry.

Relevance ranks the newest `window` matches (ts_rank_cd, title tokens weighted A), and date
order wants the newest too: documents are partitioned by month, and a search asks the month of
the newest document first, then the 2 months before, the 4 before those, … until it has enough,
so its cost follows the matches of the last months, not the size of the archive. A phrase is
first found as its words (exact in the GIN index), and only those rows, newest first, are read
to check the words' order (docs/search.md, "Search on PostgreSQL").
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any, Literal

from ...models import DocQuery, SearchDoc
from ..sqlite.base import SQLiteBase
from .connection import PgConnection

__all__ = ["PgSearchMixin"]

_COLUMNS = "uid, body, chars, grp, site, feed, feed_key, source, ts"


class PgSearchMixin(SQLiteBase):
    _pg: PgConnection  # PostgresBase's pool (listed first among PostgresStore's bases)

    def search_mark(self) -> int:
        """The store rev the search documents are current to."""
        with self._pg.pool.connection() as conn:
            row = conn.execute("SELECT rev FROM newsdesk_search.state WHERE id=1").fetchone()
        return int(row[0]) if row else 0

    def search_count(self) -> int:
        """Documents in the search index."""
        with self._pg.pool.connection() as conn:
            row = conn.execute("SELECT COUNT(*) FROM newsdesk_search.docs").fetchone()
        return int(row[0]) if row else 0

    def save_search_docs(
        self, docs: Sequence[SearchDoc], removed: Sequence[str], *, mark: int, expect: int
    ) -> bool:
        """In one transaction: move the mark from `expect` to `mark`, drop the `removed` uids'
        documents and replace those of `docs`. False (and nothing written) when the mark is no
        longer `expect`: another process has caught up meanwhile."""
        with self._tx():
            conn = self._pg._pinned()
            assert conn is not None
            moved = conn.execute(
                "UPDATE newsdesk_search.state SET rev=%s WHERE id=1 AND rev=%s", (mark, expect)
            ).rowcount
            if moved != 1:
                return False
            gone = sorted({*removed, *(d.uid for d in docs)})
            if gone:
                conn.execute("DELETE FROM newsdesk_search.docs WHERE uid = ANY(%s)", (gone,))
            if docs:
                _add_months(conn, {_month(d.ts) for d in docs})
                into = f"COPY newsdesk_search.docs ({_COLUMNS}) FROM STDIN"
                with conn.cursor() as cur, cur.copy(into) as copy:
                    for d in docs:
                        copy.write_row(
                            (d.uid, d.body, d.chars, d.group, d.site, d.feed, d.feed_key, d.source, d.ts)
                        )
            return True

    def reset_search(self) -> None:
        """Forget every search document (the next catch-up indexes the whole archive)."""
        with self._tx():
            conn = self._pg._pinned()
            assert conn is not None
            conn.execute("UPDATE newsdesk_search.state SET rev=0 WHERE id=1")  # first: writers wait on it
            conn.execute("TRUNCATE newsdesk_search.docs")

    def search_docs(
        self,
        q: DocQuery,
        *,
        sort: Literal["relevance", "date"],
        fetch: int,
        offset: int = 0,
        window: int = 1000,
    ) -> list[tuple[str, float | None]]:
        """(uid, score) of the best `fetch` matches after the first `offset`: by relevance among
        the newest `window` matches (at least `offset + fetch`), or newest first (score None)."""
        where, params = _conditions(q)
        phrases = [q.body, *(c for item in q.required for _, c in item if c and q.wide)]
        # (loose condition, the words' exact one) when a phrase needs checking; see below.
        phrased = (
            (_conditions(q, loose=True), _conditions(q, filters=False))
            if any(_PHRASE in p for p in phrases)
            else None
        )
        rank, rank_params = ("NULL::float8", []) if sort == "date" else _rank(q)
        need = offset + fetch if sort == "date" else max(window, offset + fetch)
        found: list[tuple[str, int, float | None]] = []
        with self._pg.pool.connection() as conn, conn.transaction():
            # One snapshot for every slice; a plan whose cost reaches jit_above_cost would
            # spend more compiling than it saves on these short statements.
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            conn.execute("SET LOCAL jit = off")
            # Each statement planned for its own words and months: a generic plan (what a
            # prepared statement turns to after five runs) knows neither how common the words
            # are nor which partitions the slice needs.
            conn.execute("SET LOCAL plan_cache_mode = force_custom_plan")
            # Taken now, as every statement would: the months cannot change under this search
            # (a writer adding one locks the table), and a lock held elsewhere is reported here.
            conn.execute("LOCK TABLE newsdesk_search.docs IN ACCESS SHARE MODE")
            months = sorted(_months(conn))
            if not months:
                return []
            top = _month_start(*months[-1])
            if q.until is not None:
                top = min(top, q.until - 1)
            for lo, hi in _slices(top, _month_start(*months[0]), q.since):
                span, span_params = _span(lo, hi)
                if phrased is None:
                    newest = (
                        f"SELECT {_KEPT} FROM newsdesk_search.docs WHERE {where}{span}"
                        " ORDER BY ts DESC, uid LIMIT %s"
                    )
                    newest_params = [*params, *span_params, need - len(found)]
                else:
                    loose, exact = phrased
                    # A phrase (`<->`) makes the GIN index lossy: each document holding the
                    # words would be read to check their order. The slice's documents holding
                    # the words are found exactly, then checked newest first, until enough.
                    newest = (
                        f"SELECT * FROM (SELECT {_KEPT} FROM newsdesk_search.docs"
                        f" WHERE {loose[0]}{span} ORDER BY ts DESC, uid OFFSET 0) c"
                        f" WHERE {exact[0]} ORDER BY ts DESC, uid LIMIT %s"
                    )
                    newest_params = [*loose[1], *span_params, *exact[1], need - len(found)]
                # Only the rows kept are ranked (their tsvectors read): the subquery's LIMIT
                # comes first.
                rows = conn.execute(
                    f"SELECT uid, ts, {rank} FROM ({newest}) w ORDER BY w.ts DESC, w.uid",
                    [*rank_params, *newest_params],
                ).fetchall()
                found += [
                    (str(uid), int(ts), None if score is None else float(score)) for uid, ts, score in rows
                ]
                if len(found) >= need:
                    break
        if sort == "relevance":
            found.sort(key=lambda f: (-(f[2] or 0.0), -f[1], f[0].encode()))
        return [(uid, score) for uid, _, score in found[offset : offset + fetch]]


def _months(conn: Any) -> list[tuple[int, int]]:
    """The (year, month)s that have a partition (a catalog lookup: no plan over them all)."""
    rows = conn.execute(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
        " WHERE i.inhparent = 'newsdesk_search.docs'::regclass"
    ).fetchall()
    return [(int(name[5:9]), int(name[9:11])) for (name,) in rows]


def _add_months(conn: Any, months: set[tuple[int, int]]) -> None:
    """The partitions of these (year, month)s that are missing (the mark's row lock, held by
    the caller, makes writers take turns)."""
    have = set(_months(conn))
    for y, m in sorted(months - have):
        conn.execute(
            f"CREATE TABLE newsdesk_search.docs_{y:04d}{m:02d} PARTITION OF newsdesk_search.docs"
            f" FOR VALUES FROM ({_month_start(y, m)}) TO ({_month_start(y, m + 1)})"
        )


_PHRASE = " <-> "
# What a slice's statement keeps of a row (the tsvectors as pointers to their TOAST, read only
# when checked or ranked): a few thousand of them are sorted in work_mem.
_KEPT = "uid, ts, body, chars"  # how pgindex joins the tokens of a word or phrase


def _rank(q: DocQuery) -> tuple[str, list[Any]]:
    """The relevance of a row `w` of the window, and its parameters."""
    rank = "ts_rank_cd(w.body, %s::tsquery)"
    params: list[Any] = [q.body]
    chars = [c for item in q.required for _, c in item if c is not None] if q.wide else []
    if chars:  # words that matched only as characters still rank among themselves
        rank += " + 0.5 * ts_rank_cd(w.chars, %s::tsquery)"
        params.append(" | ".join(f"({c})" for c in chars))
    return f"({rank})::float8", params


def _month(ts: int) -> tuple[int, int]:
    at = datetime.fromtimestamp(ts, UTC)
    return at.year, at.month


def _month_start(year: int, month: int) -> int:
    """Epoch seconds of the month's start; months before January count back into past years."""
    year, month = year + (month - 1) // 12, (month - 1) % 12 + 1
    return int(datetime(year, month, 1, tzinfo=UTC).timestamp())


def _slices(newest: int, oldest: int, since: int | None) -> Iterator[tuple[int | None, int | None]]:
    """[lo, hi) ranges of ts, newest first, each twice as many months as the one before (the
    month of the newest document, then the 2 before it, the 4 before those, …, the rest):
    a query that finds enough in the last months reads no older partition, and one whose
    matches are rare takes a few statements, not one per month."""
    year, month = _month(newest)
    hi: int | None = None
    back, months = 0, 1
    while True:
        back += months
        first = month - back + 1
        if year + (first - 1) // 12 < 1971:  # the rest, whatever it holds
            yield None, hi
            return
        lo = _month_start(year, first)
        if lo <= oldest or (since is not None and lo <= since):
            yield None, hi
            return
        yield lo, hi
        hi, months = lo, months * 2


def _span(lo: int | None, hi: int | None) -> tuple[str, list[Any]]:
    parts, params = "", []
    if lo is not None:
        parts += " AND ts >= %s"
        params.append(lo)
    if hi is not None:
        parts += " AND ts < %s"
        params.append(hi)
    return parts, params


def _conditions(q: DocQuery, *, loose: bool = False, filters: bool = True) -> tuple[str, list[Any]]:
    """The WHERE clause of a compiled query, and its parameters. `loose`: a condition every
    match meets that the GIN indexes answer exactly: each phrase as its words in any order
    and place, and no exclusions. Without `filters`: the words alone."""
    parts: list[str] = []
    params: list[Any] = []

    def tsquery(text: str) -> str:
        params.append(text.replace(_PHRASE, " & ") if loose else text)
        return "%s::tsquery"

    def option(body: str, chars: str | None) -> str:
        if chars is None or not q.wide:
            return f"body @@ {tsquery(body)}"
        return f"(body @@ {tsquery(body)} OR chars @@ {tsquery(chars)})"

    if q.wide or loose:
        for item in q.required:
            parts.append("(" + " OR ".join(option(b, c) for b, c in item) + ")")
        if not loose:
            for b, c in q.excluded:
                parts.append("NOT " + option(b, c))
    else:
        parts.append(f"body @@ {tsquery(q.body)}")
    if not filters:
        return " AND ".join(parts) or "true", params
    for column, value in (("grp", q.group), ("site", q.site), ("source", q.source)):
        if value:
            parts.append(f"{column} = %s")
            params.append(value)
    if q.feed:
        parts.append("(feed = %s OR feed_key = %s)")
        params += [q.feed, q.feed]
    if q.since is not None:
        parts.append("ts >= %s")
        params.append(q.since)
    if q.until is not None:
        parts.append("ts < %s")
        params.append(q.until)
    return " AND ".join(parts) or "true", params
