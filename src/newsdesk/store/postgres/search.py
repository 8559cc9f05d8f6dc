"""Full-text search documents in the database (`search_backend: postgres`; migration 0021).

`newsdesk.search.pgindex` cuts the text and compiles queries; this holds the SQL. Documents are
written together with the store rev they are current to (`newsdesk_search.state`), and a writer first
moves that mark from the rev it started at (`expect`) with the mark's row locked: two processes
catching up at once take turns, and the one that finds the mark moved by the other writes
nothing and starts again from there, so documents never go back to an older state of an entry.

Relevance ranks the newest `window` matches (ts_rank_cd, title tokens weighted A): a word that
a large share of the archive holds is then answered by walking the date index to the first
matches rather than by ranking hundreds of thousands of rows (docs/search.md).
"""

from __future__ import annotations

from collections.abc import Sequence
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
        if sort == "date":
            sql = (
                f"SELECT uid, NULL::float8 FROM newsdesk_search.docs WHERE {where}"
                " ORDER BY ts DESC, uid LIMIT %s OFFSET %s"
            )
            params += [fetch, offset]
        else:
            rank = "ts_rank_cd(d.body, %s::tsquery)"
            rank_params: list[Any] = [q.body]
            chars = [c for item in q.required for _, c in item if c is not None] if q.wide else []
            if chars:  # words that matched only as characters still rank among themselves
                rank += " + 0.5 * ts_rank_cd(d.chars, %s::tsquery)"
                rank_params.append(" | ".join(f"({c})" for c in chars))
            # The newest matches are chosen on (ts, uid) alone, then only they are read whole
            # to be ranked: sorting the matches with their tsvectors spills to disk.
            # (By their keys, so that they are looked up one by one, never joined by a scan.)
            sql = (
                f"SELECT d.uid, {rank} AS score FROM newsdesk_search.docs d WHERE d.uid = ANY(ARRAY("
                f"SELECT uid FROM newsdesk_search.docs WHERE {where} ORDER BY ts DESC, uid LIMIT %s))"
                " ORDER BY score DESC, d.ts DESC, d.uid LIMIT %s OFFSET %s"
            )
            params = [*rank_params, *params, max(window, offset + fetch), fetch, offset]
        with self._pg.pool.connection() as conn:
            rows = conn.execute(sql, params).fetchall()
        return [(str(uid), None if score is None else float(score)) for uid, score in rows]


def _conditions(q: DocQuery) -> tuple[str, list[Any]]:
    """The WHERE clause of a compiled query, and its parameters."""
    parts: list[str] = []
    params: list[Any] = []

    def option(body: str, chars: str | None) -> str:
        params.append(body)
        if chars is None:
            return "body @@ %s::tsquery"
        params.append(chars)
        return "(body @@ %s::tsquery OR chars @@ %s::tsquery)"

    if q.wide:
        for item in q.required:
            parts.append("(" + " OR ".join(option(b, c) for b, c in item) + ")")
        for b, c in q.excluded:
            parts.append("NOT " + option(b, c))
    else:
        parts.append("body @@ %s::tsquery")
        params.append(q.body)
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
    return " AND ".join(parts), params
