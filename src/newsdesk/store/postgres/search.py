"""Full-text search documents in the database (`search_backend: postgres`; migrations 0021, 0030).

`newsdesk.search.pgindex` cuts the text and compiles queries; this holds the SQL. Documents are
written together with the store rev they are current to (`newsdesk_search.state`), and a writer first
moves that mark from the rev it started at (`expect`) with the mark's row locked: two processes
catching up at once take turns, and the one that finds the mark moved by the other writes
nothing and starts again from there, so documents never go back to an older state of an entry.

Relevance ranks the newest `window` matches (ts_rank_cd, title tokens weighted A), and date
order wants the newest too: documents are partitioned by week (migration 0030), and a search
reads the week of the newest document first, then as many weeks before it as the matches found
so far say the rest needs (a fifth more; twice the time read when nothing matched yet), until
it has enough: its cost follows the matches it needs, not the size of the archive or of a
month. A phrase is first found as its words (exact in the GIN index), and only those rows,
newest first, are read to check the words' order (docs/search.md, "Search on PostgreSQL").
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
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
                _add_weeks(conn, {_week(d.ts) for d in docs})
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
            # Each statement planned for its own words and weeks: a generic plan (what a
            # prepared statement turns to after five runs) knows neither how common the words
            # are nor which partitions the slice needs.
            conn.execute("SET LOCAL plan_cache_mode = force_custom_plan")
            # Taken now, as every statement would: the weeks cannot change under this search
            # (a writer adding one locks the table), and a lock held elsewhere is reported here.
            conn.execute("LOCK TABLE newsdesk_search.docs IN ACCESS SHARE MODE")
            weeks = [
                w
                for w in sorted(_weeks(conn))
                if (q.until is None or w < q.until) and (q.since is None or w + _WEEK > q.since)
            ]
            if not weeks:
                return []
            top = _newest(conn, weeks[-1], q.until)  # read by the date index, before this:
            if need > _WALKED:
                # Walking the date index (or the table) checks each row's words, reading its
                # tsvector out of line: ~10 µs a row, which the planner prices as a fraction of
                # that, so for 1,000 matches of a word in 5 % of the articles it walked 20,000
                # rows (250 ms) where the GIN bitmap visits the matches alone, without their
                # tsvectors. Either stays possible if nothing else can answer (the settings
                # add a cost, they forbid nothing).
                conn.execute("SET LOCAL enable_indexscan = off")
                conn.execute("SET LOCAL enable_seqscan = off")
            left = len(weeks)  # weeks[:left] not read yet
            hi: int | None = None  # the newest slice has no upper end (beyond `until`)
            take = 1
            while left:
                first = left - take
                lo = weeks[first] if first > 0 else None  # the oldest slice: whatever is older
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
                if len(found) >= need or lo is None:
                    break
                take = _next_take(weeks, first, lo, top, len(found), need)
                hi, left = lo, first
        if sort == "relevance":
            found.sort(key=lambda f: (-(f[2] or 0.0), -f[1], f[0].encode()))
        return [(uid, score) for uid, _, score in found[offset : offset + fetch]]


def _weeks(conn: Any) -> list[int]:
    """The starts of the weeks that have a partition (a catalog lookup: no plan over them all)."""
    rows = conn.execute(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
        " WHERE i.inhparent = 'newsdesk_search.docs'::regclass"
    ).fetchall()
    return [_day(name[5:]) for (name,) in rows]


def _add_weeks(conn: Any, weeks: set[int]) -> None:
    """The partitions of these weeks (by their starts) that are missing (the mark's row lock,
    held by the caller, makes writers take turns)."""
    have = set(_weeks(conn))
    for start in sorted(weeks - have):
        conn.execute(
            f"CREATE TABLE newsdesk_search.{_partition(start)} PARTITION OF newsdesk_search.docs"
            f" FOR VALUES FROM ({start}) TO ({start + _WEEK})"
        )


def _newest(conn: Any, week: int, until: int | None) -> int:
    """The newest ts a match can have: that of the newest document (in the newest week's
    partition, by its date index), before `until`."""
    row = conn.execute(f"SELECT max(ts) FROM newsdesk_search.{_partition(week)}").fetchone()
    newest = week if row is None or row[0] is None else int(row[0]) + 1
    return newest if until is None else min(newest, until)


def _next_take(weeks: list[int], first: int, lo: int, top: int, found: int, need: int) -> int:
    """How many weeks before `weeks[first]` the next slice takes: as many as the matches found
    so far in [lo, top) say the rest of `need` takes, a fifth more, at least one week; twice
    the time read so far when nothing matched yet."""
    read = max(top - lo, 1)
    back = read * 2 if found == 0 else (need - found) * read * 6 // (found * 5)
    return max(first - max(bisect.bisect_right(weeks, lo - back, 0, first) - 1, 0), 1)


_PHRASE = " <-> "
# Matches wanted beyond which a search keeps the planner off the walks that check each row's
# words (a date page of a frequent word is found in a few rows that way; 1,000 are not).
_WALKED = 100
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


_WEEK = 7 * 86400
_MONDAY = 4 * 86400  # 1970-01-05, a Monday: weeks start on Mondays at 00:00 UTC


def _week(ts: int) -> int:
    """The start of the week of `ts` (epoch seconds; years before 1970 too)."""
    return ts - (ts - _MONDAY) % _WEEK


def _partition(week: int) -> str:
    return "docs_" + datetime.fromtimestamp(week, UTC).strftime("%Y%m%d")


def _day(digits: str) -> int:
    """Epoch seconds of a partition name's date (YYYYMMDD)."""
    at = datetime(int(digits[:4]), int(digits[4:6]), int(digits[6:8]), tzinfo=UTC)
    return int(at.timestamp())


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
