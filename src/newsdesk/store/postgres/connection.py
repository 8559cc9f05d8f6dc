"""The PostgreSQL connections of one store: a pool, and an adapter that speaks the part of
sqlite3's Connection API the domain modules use (`execute`, `executemany`, rows as tuples,
`rowcount`), so the SQL the SQLite backend writes runs here too, translated once per statement.

Outside a transaction each statement borrows a pooled connection (autocommit) and returns it;
inside `transaction()` one connection is pinned to the calling thread until COMMIT/ROLLBACK.
A connection that failed is discarded by the pool (`check` on every borrow finds a dead one
after a server restart), so the next operation of a retrying caller gets a fresh one.
"""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg.adapt import Loader
from psycopg.types.string import TextLoader
from psycopg_pool import ConnectionPool

Params = Sequence[Any] | Mapping[str, Any]


class _Numeric(Loader):
    """SUM() of integers is `numeric` in PostgreSQL: read whole numbers back as int (as SQLite
    gives them), others as float; newsdesk stores no decimal column."""

    def load(self, data: Any) -> int | float:
        text = bytes(data).decode()
        return float(text) if "." in text or "e" in text.lower() else int(text)


def configure(conn: psycopg.Connection[Any], *, lock_timeout: float) -> None:
    """Every connection: numeric as numbers, and how long a statement waits for a lock."""
    conn.adapters.register_loader("numeric", _Numeric)
    # JSON the database renders (reader_entries_json) is passed on as text, never parsed.
    conn.adapters.register_loader("json", TextLoader)
    conn.execute(f"SET lock_timeout = {max(1, int(lock_timeout * 1000))}")


class Rows:
    """A statement's result, read whole: what a sqlite3 cursor gives the domain modules."""

    def __init__(self, rows: list[tuple[Any, ...]], rowcount: int) -> None:
        self._rows = rows
        self.rowcount = rowcount
        self.lastrowid: int | None = None

    def fetchone(self) -> tuple[Any, ...] | None:
        return self._rows[0] if self._rows else None

    def fetchall(self) -> list[tuple[Any, ...]]:
        return self._rows

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        return iter(self._rows)


class PgConnection:
    """sqlite3-style statements over a pool of PostgreSQL connections."""

    def __init__(self, pool: ConnectionPool) -> None:
        self.pool = pool
        self._local = threading.local()

    def _pinned(self) -> psycopg.Connection[Any] | None:
        return getattr(self._local, "conn", None)

    def execute(self, sql: str, params: Params = ()) -> Rows:
        text = translate(sql, isinstance(params, Mapping))
        values = _values(params)
        conn = self._pinned()
        if conn is not None:
            return _run(conn, text, values, sql)
        with self.pool.connection() as conn:
            return _run(conn, text, values, sql)

    def executemany(self, sql: str, seq: Iterable[Params]) -> Rows:
        text = translate(sql, False)
        rows = [_values(p) for p in seq]
        conn = self._pinned()
        if not rows:
            return Rows([], 0)
        if conn is not None:
            with conn.cursor() as cur:
                cur.executemany(text, rows)
                return Rows([], cur.rowcount)
        with self.pool.connection() as conn, conn.cursor() as cur:
            cur.executemany(text, rows)
            return Rows([], cur.rowcount)

    @contextmanager
    def transaction(self) -> Iterator[psycopg.Connection[Any]]:
        """BEGIN … COMMIT on one connection pinned to this thread, ROLLBACK on any error."""
        if self._pinned() is not None:
            raise RuntimeError("nested transaction")
        conn = self.pool.getconn()
        self._local.conn = conn
        try:
            conn.execute("BEGIN")
            try:
                yield conn
            except BaseException:
                if not conn.closed and not conn.broken:
                    conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        finally:
            self._local.conn = None
            self.pool.putconn(conn)  # a broken one is discarded, an open transaction rolled back

    def close(self) -> None:
        self.pool.close()


def _run(conn: psycopg.Connection[Any], text: str, values: Any, original: str) -> Rows:
    with conn.cursor() as cur:
        cur.execute(text, values)
        rows = cur.fetchall() if cur.description is not None else []
        out = Rows(rows, cur.rowcount)
        if _RETURNS_ID.search(text) and rows:
            out.lastrowid = rows[0][0]
        return out


def _values(params: Params) -> Any:
    # Booleans into integer columns (the schema keeps SQLite's 0/1, so the SQL is the same).
    if isinstance(params, Mapping):
        return {k: int(v) if isinstance(v, bool) else v for k, v in params.items()}
    return [int(v) if isinstance(v, bool) else v for v in params]


# Tables whose integer key PostgreSQL makes: their INSERT returns it (sqlite3's lastrowid).
_IDENTITY_INSERT = re.compile(
    r"^\s*INSERT INTO (users|keyword_rules|skip_rules)\b(?!.*\bRETURNING\b)", re.S | re.I
)
_RETURNS_ID = re.compile(r"RETURNING id$")
_REWRITES: list[tuple[re.Pattern[str], str]] = [
    (
        re.compile(r"SELECT value FROM json_each\(([^()]*)\)"),
        r"SELECT jsonb_array_elements_text(CAST(\1 AS jsonb))",
    ),
    (re.compile(r"\bIS NOT ([01])\b"), r"IS DISTINCT FROM \1"),
    (re.compile(r"\bIS ([01])\b"), r"IS NOT DISTINCT FROM \1"),
    (re.compile(r"\bjson_object\("), "json_build_object("),
    (re.compile(r"\bLIMIT (\?|:\w+)"), r"LIMIT NULLIF(\1, -1)"),  # SQLite's LIMIT -1: no limit
    (re.compile(r"\b(WHERE|AND|OR) 1(?=\s|\)|$)"), r"\1 TRUE"),
    (re.compile(r"\bWHEN (:\w+) THEN\b"), r"WHEN \1<>0 THEN"),
    (re.compile(r"\bNOT COALESCE\(([^()]*)\)"), r"NOT (COALESCE(\1)<>0)"),
    (
        re.compile(r"json\(CASE WHEN ([\w.]+) THEN 'true' ELSE 'false' END\)"),
        r"CASE WHEN \1<>0 THEN 'true'::json ELSE 'false'::json END",
    ),
    (re.compile(r"json\(COALESCE\(([\w.]+), '\[\]'\)\)"), r"CAST(COALESCE(\1, '[]') AS json)"),
    (re.compile(r"\bSUM\(([\w.]+) IS NULL\)"), r"COUNT(*) FILTER (WHERE \1 IS NULL)"),
    (re.compile(r"\(((?:\w+\.)?origin = 'api')\) \*"), r"(\1)::int *"),
    (re.compile(r"(?<=\s)\+(?=\w+\.feed_key)"), ""),  # SQLite's "not this index" hint
    (re.compile(r" INDEXED BY \w+"), ""),  # and its "this index"
    (
        re.compile(r"PRAGMA table_info\((\w+)\)"),
        r"SELECT ordinal_position, column_name FROM information_schema.columns WHERE table_name='\1'"
        r" AND table_schema=current_schema() AND column_name<>'rowid' ORDER BY ordinal_position",
    ),
    (re.compile(r"\bCROSS JOIN (\w+ \w+) ON\b"), r"JOIN \1 ON"),
    (re.compile(r"datetime\('now'\)"), "to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS')"),
    # SQLite's whole seconds since the epoch of a stored time (…SS.ffffffZ, UTC).
    (
        re.compile(r"\bunixepoch\(([\w.]+)\)"),
        r"CAST(EXTRACT(EPOCH FROM CAST(substr(\1, 1, 19) AS timestamp)) AS bigint)",
    ),
]
# INSERT OR REPLACE needs the key it replaces on, which PostgreSQL's upsert names: each table's
# primary key (the only unique key of the tables it is used on).
_REPLACE_KEYS = {"fever_keys": "key_hash", "feed_tokens": "user_id"}
_REPLACE = re.compile(r"^\s*INSERT OR REPLACE INTO (\w+) \(([^()]*)\)")
_UPSERT = re.compile(r"^\s*INSERT INTO (\w+).*?\bDO UPDATE SET\b", re.S)
_BARE_COLUMN = re.compile(r"(?<=[(\s=])([a-z_]+)(?=[,)+])")
_BARE_TESTED = re.compile(r"(?:(?<=WHERE )|(?<=AND ))([a-z_]+)(?==)")
# An aggregate's alias in HAVING (SQLite reads it; PostgreSQL wants the aggregate again).
_ALIASED = re.compile(r"(\w+\([^()]*\)) AS (\w+)\b")
_NAMED = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")


def _replacing(table: str, columns: str) -> str:
    if table not in _REPLACE_KEYS:
        raise RuntimeError(f"INSERT OR REPLACE INTO {table}: add its key to _REPLACE_KEYS")
    key = _REPLACE_KEYS[table]
    rest = [c.strip() for c in columns.split(",") if c.strip() != key]
    return f" ON CONFLICT ({key}) DO UPDATE SET " + ", ".join(f"{c}=excluded.{c}" for c in rest)


@functools.lru_cache(maxsize=4096)
def translate(sql: str, named: bool) -> str:
    """A statement written for SQLite as PostgreSQL (and psycopg's placeholders) take it."""
    text = sql
    ignore = text.lstrip().upper().startswith("INSERT OR IGNORE")
    if ignore:
        text = text.replace("INSERT OR IGNORE", "INSERT", 1) + " ON CONFLICT DO NOTHING"
    replace = _REPLACE.match(text)
    if replace:
        text = text.replace("INSERT OR REPLACE", "INSERT", 1) + _replacing(replace[1], replace[2])
    for pattern, repl in _REWRITES:
        text = pattern.sub(repl, text)
    upsert = _UPSERT.search(text)
    if upsert:
        # SQLite reads a bare column in DO UPDATE as the stored row's; PostgreSQL finds it
        # ambiguous with `excluded`'s: name the table.
        head, tail = text[: upsert.end()], text[upsert.end() :]
        tail = _BARE_COLUMN.sub(rf"{upsert.group(1)}.\1", tail)
        text = head + _BARE_TESTED.sub(rf"{upsert.group(1)}.\1", tail)
    if " HAVING " in text:
        for expr, alias in _ALIASED.findall(text):
            text = re.sub(rf"\bHAVING {alias}\b", f"HAVING {expr}", text)
    if _IDENTITY_INSERT.search(text):
        text += " RETURNING id"
    text = text.replace("%", "%%")
    text = _NAMED.sub(r"%(\1)s", text) if named else text.replace("?", "%s")
    return text
