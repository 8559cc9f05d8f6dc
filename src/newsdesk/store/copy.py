"""Copying an archive between backends, table by table (`newsdesk migrate`, PostgreSQL backups).

Every table of the source is copied, by column name, into the table of the same name in the
target (made by opening it as a store: its own migrations): nothing here names a table, so
tables later migrations add are copied too, and a source table the target lacks stops the copy
before anything is written. Tables go parents first (their foreign keys), and the tables the
target's triggers write (counts, readers' state) last, so their copied values are what stays.
Rows go in batches in primary-key order, each batch upserted in one target transaction together
with the table's progress (`copy_progress`), so a copy killed at any moment goes on from its
last batch when run again, writing nothing twice. `digest` then compares each table's rows on
both sides: count and a hash of every row (order-free), over the columns both sides have.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg

from ..errors import StoreError
from .common import is_postgres_url, mask_url

# Tables that say how each database is kept, not what the archive holds: never copied.
BOOKKEEPING = frozenset({"schema_migrations", "rev_counter", "copy_progress"})
_PROGRESS = "copy_progress"
_MOD = 2**256
_WRITES = re.compile(r"(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+(\w+)", re.I)
_LOCK_WAIT = 60.0  # seconds a copy waits for another connection's lock, as the stores do


@dataclass(frozen=True)
class TablePlan:
    name: str
    columns: tuple[str, ...]  # those both sides have, in the source's order
    key: tuple[str, ...]  # the source's primary key (empty: the table is copied whole)


class Side:
    """One end of a copy: a SQLite file or a PostgreSQL database, opened without a store."""

    kind = ""
    where = ""
    mark = "?"

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        raise NotImplementedError

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        raise NotImplementedError

    def stream(self, sql: str) -> Iterator[tuple[Any, ...]]:
        """The rows of a query, read as they come (a whole table's, without holding them all)."""
        raise NotImplementedError

    def insert(
        self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]], conflict: str
    ) -> None:
        """Insert `rows` of `columns`, `conflict` (an ON CONFLICT clause, or "") deciding on
        rows whose key is there already."""
        cols = ", ".join(_ident(c) for c in columns)
        marks = ", ".join("?" * len(columns))
        self.executemany(f"INSERT INTO {_ident(table)} ({cols}) VALUES ({marks}){conflict}", rows)

    def tables(self) -> list[str]:
        raise NotImplementedError

    def columns(self, table: str) -> list[str]:
        raise NotImplementedError

    def primary_key(self, table: str) -> list[str]:
        raise NotImplementedError

    def parents(self, table: str) -> set[str]:
        raise NotImplementedError

    def trigger_bodies(self) -> list[str]:
        raise NotImplementedError

    def begin(self) -> None:
        self.execute("BEGIN")

    def commit(self) -> None:
        self.execute("COMMIT")

    def rollback(self) -> None:
        self.execute("ROLLBACK")

    def finish(self) -> None:
        """After the rows: what the database keeps beside them (identity sequences, counters)."""

    def close(self) -> None:
        raise NotImplementedError


class SQLiteSide(Side):
    kind = "sqlite"

    def __init__(self, path: Path) -> None:
        self.where = str(path)
        # isolation_level=None: our BEGIN/COMMIT; foreign keys off (SQLite's default): the copy
        # writes parents first anyway, and a resumed copy rewrites rows in place.
        self.db = sqlite3.connect(path, isolation_level=None)
        self.db.execute(f"PRAGMA busy_timeout={int(_LOCK_WAIT * 1000)}")
        # As the store's own connection: WAL's NORMAL sync is crash-safe (a batch is whole or
        # absent), FULL would sync every batch; a larger page cache for the indexes being built.
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute("PRAGMA cache_size=-65536")

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._errors():
            return self.db.execute(sql, params).fetchall()

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        with self._errors():
            self.db.executemany(sql, rows)

    def stream(self, sql: str) -> Iterator[tuple[Any, ...]]:
        with self._errors():
            yield from self.db.execute(sql)

    @contextmanager
    def _errors(self) -> Iterator[None]:
        from .sqlite.guard import driver_error
        from .sqlite.guard import is_bug as sqlite_bug

        try:
            yield
        except sqlite3.Error as e:
            if sqlite_bug(e):
                raise
            raise driver_error(e, Path(self.where), busy_timeout=_LOCK_WAIT) from e

    def tables(self) -> list[str]:
        rows = self.execute("SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'")
        return sorted(r[0] for r in rows)

    def columns(self, table: str) -> list[str]:
        return [r[1] for r in self.execute(f"PRAGMA table_info({_ident(table)})")]

    def primary_key(self, table: str) -> list[str]:
        rows = self.execute(f"PRAGMA table_info({_ident(table)})")
        return [r[1] for r in sorted((r for r in rows if r[5] > 0), key=lambda r: r[5])]

    def parents(self, table: str) -> set[str]:
        return {r[2] for r in self.execute(f"PRAGMA foreign_key_list({_ident(table)})")}

    def trigger_bodies(self) -> list[str]:
        return [r[0] for r in self.execute("SELECT sql FROM sqlite_master WHERE type='trigger'")]

    def close(self) -> None:
        self.db.close()


class PostgresSide(Side):
    kind = "postgresql"
    mark = "%s"

    def __init__(self, url: str, *, lock_wait: float = _LOCK_WAIT) -> None:
        from .postgres.base import split_url
        from .postgres.connection import configure

        self.where = mask_url(url)
        self._url = url
        self._lock_wait = lock_wait
        self.db = psycopg.connect(split_url(url)[0], autocommit=True, connect_timeout=10)
        configure(self.db, lock_timeout=lock_wait)

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._errors(), self.db.cursor() as cur:
            cur.execute(sql.replace("?", "%s").encode(), params)
            return cur.fetchall() if cur.description is not None else []

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        with self._errors(), self.db.cursor() as cur:
            cur.executemany(sql.replace("?", "%s").encode(), rows)

    def stream(self, sql: str) -> Iterator[tuple[Any, ...]]:
        with self._errors(), self.db.cursor() as cur:
            yield from cur.stream(sql.encode())

    def insert(
        self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]], conflict: str
    ) -> None:
        # COPY into a staging table of the same column types, then one INSERT … SELECT with the
        # conflict clause: several times faster than a statement per row.
        stage = _ident(f"copy_stage_{table}")
        cols = ", ".join(_ident(c) for c in columns)
        with self._errors(), self.db.cursor() as cur:
            # IF NOT EXISTS: a rolled-back batch takes the staging table made in it along.
            made = f"SELECT {cols} FROM {_ident(table)} WITH NO DATA"
            cur.execute(f"CREATE TEMP TABLE IF NOT EXISTS {stage} AS {made}".encode())
            cur.execute(f"TRUNCATE {stage}".encode())
            with cur.copy(f"COPY {stage} ({cols}) FROM STDIN".encode()) as copy:
                for row in rows:
                    copy.write_row(row)
            cur.execute(f"INSERT INTO {_ident(table)} ({cols}) SELECT {cols} FROM {stage}{conflict}".encode())

    @contextmanager
    def _errors(self) -> Iterator[None]:
        from .postgres.errors import driver_error
        from .postgres.errors import is_bug as pg_bug

        try:
            yield
        except psycopg.Error as e:
            if pg_bug(e):
                raise
            raise driver_error(e, self._url, lock_wait=self._lock_wait) from e

    def tables(self) -> list[str]:
        rows = self.execute("SELECT tablename FROM pg_tables WHERE schemaname=current_schema()")
        return sorted(r[0] for r in rows)

    def columns(self, table: str) -> list[str]:
        rows = self.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema=current_schema()"
            " AND table_name=? ORDER BY ordinal_position",
            (table,),
        )
        return [r[0] for r in rows]

    def primary_key(self, table: str) -> list[str]:
        rows = self.execute(
            "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid=i.indrelid"
            " AND a.attnum=ANY(i.indkey) WHERE i.indrelid=to_regclass(?) AND i.indisprimary"
            " ORDER BY array_position(i.indkey::int2[], a.attnum)",
            (table,),
        )
        return [r[0] for r in rows]

    def parents(self, table: str) -> set[str]:
        rows = self.execute(
            "SELECT confrelid::regclass::text FROM pg_constraint"
            " WHERE contype='f' AND conrelid=to_regclass(?)",
            (table,),
        )
        return {r[0] for r in rows}

    def trigger_bodies(self) -> list[str]:
        rows = self.execute(
            "SELECT p.prosrc FROM pg_trigger t JOIN pg_proc p ON p.oid=t.tgfoid"
            " JOIN pg_class c ON c.oid=t.tgrelid WHERE NOT t.tgisinternal"
            " AND c.relnamespace=current_schema()::regnamespace"
        )
        return [r[0] for r in rows]

    def finish(self) -> None:
        # Keys copied as they were: the identity sequences go on after the highest.
        for table, column in self.execute(
            "SELECT table_name, column_name FROM information_schema.columns"
            " WHERE table_schema=current_schema() AND is_identity='YES'"
        ):
            self.execute(
                "SELECT setval(pg_get_serial_sequence(?, ?), GREATEST(1,"
                f" (SELECT COALESCE(MAX({_ident(column)}), 0) FROM {_ident(table)})))",
                (table, column),
            )
        if "rev_counter" in self.tables():
            self.execute(
                "UPDATE rev_counter SET rev=GREATEST((SELECT COALESCE(MAX(rev), 0) FROM entries),"
                " (SELECT COALESCE(MAX(rev), 0) FROM removed_entries))"
            )

    def close(self) -> None:
        self.db.close()


def open_side(database: str) -> Side:
    """The archive at `database` (a SQLite path or sqlite:/// URL, or a postgresql:// URL), which
    must exist with its schema (open it as a store first)."""
    try:
        if is_postgres_url(database):
            return PostgresSide(database)
        return SQLiteSide(Path(database.removeprefix("sqlite:///")))
    except (psycopg.Error, sqlite3.Error) as e:
        from .postgres.errors import driver_error

        raise driver_error(e, database, lock_wait=_LOCK_WAIT) from e


def _ident(name: str) -> str:
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        raise StoreError(f"table or column name {name!r} is not one newsdesk makes")
    return f'"{name}"'


def plan(source: Side, target: Side) -> list[TablePlan]:
    """What to copy, in order: every table of the source (but bookkeeping), parents first, the
    tables the target's triggers write last. A source table the target lacks, or a column of
    it, stops the copy here, before anything is written."""
    tables = [t for t in source.tables() if t not in BOOKKEEPING]
    present = set(target.tables())
    missing = [t for t in tables if t not in present]
    if missing:
        raise StoreError(
            f"{target.where}: has no table {', '.join(missing)} of {source.where}: the target's schema is"
            " older than the source's (run the newer newsdesk)"
        )
    plans = []
    for t in tables:
        theirs = set(target.columns(t))
        cols = source.columns(t)
        lacking = [c for c in cols if c not in theirs and c != "rowid"]
        if lacking:
            raise StoreError(
                f"{target.where}: table {t} has no column {', '.join(lacking)} of {source.where}"
            )
        plans.append(TablePlan(t, tuple(c for c in cols if c in theirs), tuple(source.primary_key(t))))
    bodies = " ".join(target.trigger_bodies())
    written = set(_WRITES.findall(bodies)) & set(tables)
    order = _parents_first(tables, {t: source.parents(t) | target.parents(t) for t in tables})
    by_name = {p.name: p for p in plans}
    return [by_name[t] for t in order if t not in written] + [by_name[t] for t in order if t in written]


def _parents_first(tables: list[str], parents: dict[str, set[str]]) -> list[str]:
    out: list[str] = []
    seen: set[str] = set()

    def visit(t: str, path: tuple[str, ...]) -> None:
        if t in seen or t in path:
            return
        for p in sorted(parents.get(t, ())):
            if p in parents:
                visit(p, (*path, t))
        seen.add(t)
        out.append(t)

    for t in tables:
        visit(t, ())
    return out


def start_progress(target: Side) -> dict[str, tuple[Any, ...] | None]:
    """The target's record of a copy under way: table → the key of its last copied row (None:
    the table is done)."""
    target.execute(
        f"CREATE TABLE IF NOT EXISTS {_PROGRESS} (tbl TEXT PRIMARY KEY, after TEXT, done INTEGER NOT NULL)"
    )
    out: dict[str, tuple[Any, ...] | None] = {}
    for table, after, done in target.execute(f"SELECT tbl, after, done FROM {_PROGRESS}"):
        out[table] = None if done else tuple(json.loads(after)) if after else ()
    return out


def end_progress(target: Side) -> None:
    target.execute(f"DROP TABLE IF EXISTS {_PROGRESS}")


@contextmanager
def snapshot(source: Side) -> Iterator[None]:
    """One read transaction on the source for the block: every batch reads the same state."""
    if source.kind == "postgresql":
        source.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
    else:
        source.execute("BEGIN")
    try:
        source.execute("SELECT 1 FROM " + _ident(source.tables()[0]) + " LIMIT 1")  # takes the snapshot
        yield
    finally:
        source.rollback()


def copy_batch(
    source: Side, target: Side, table: TablePlan, after: tuple[Any, ...], size: int
) -> tuple[int, tuple[Any, ...] | None]:
    """Copy the next `size` rows of `table` after key `after` (() from the start) in one target
    transaction with the table's progress; (rows copied, the new `after`, None when done)."""
    cols = ", ".join(_ident(c) for c in table.columns)
    if not table.key:  # no key to resume from: the whole table at once, replacing the target's
        rows = source.execute(f"SELECT {cols} FROM {_ident(table.name)}")
        target.begin()
        try:
            target.execute(f"DELETE FROM {_ident(table.name)}")
            _insert(target, table, rows)
            _note(target, table.name, None)
            target.commit()
        except BaseException:
            target.rollback()
            raise
        return len(rows), None
    key = ", ".join(_ident(c) for c in table.key)
    index = [table.columns.index(c) for c in table.key]
    where = f" WHERE ({key}) > ({', '.join('?' * len(after))})" if after else ""
    rows = source.execute(
        f"SELECT {cols} FROM {_ident(table.name)}{where} ORDER BY {key} LIMIT {int(size)}", after
    )
    last = tuple(rows[-1][i] for i in index) if rows else after
    following = last if len(rows) == size else None
    target.begin()
    try:
        _insert(target, table, rows)
        _note(target, table.name, following)
        target.commit()
    except BaseException:
        target.rollback()
        raise
    return len(rows), following


def _insert(target: Side, table: TablePlan, rows: Sequence[Sequence[Any]]) -> None:
    if not rows:
        return
    conflict = ""
    if table.key:
        rest = [c for c in table.columns if c not in table.key]
        update = ", ".join(f"{_ident(c)}=excluded.{_ident(c)}" for c in rest)
        keys = ", ".join(_ident(c) for c in table.key)
        conflict = f" ON CONFLICT ({keys}) " + (f"DO UPDATE SET {update}" if rest else "DO NOTHING")
    target.insert(table.name, table.columns, [_portable(r) for r in rows], conflict)


def _portable(row: Sequence[Any]) -> tuple[Any, ...]:
    return tuple(bytes(v) if isinstance(v, memoryview) else v for v in row)


def _note(target: Side, table: str, after: tuple[Any, ...] | None) -> None:
    target.execute(
        f"INSERT INTO {_PROGRESS} (tbl, after, done) VALUES (?, ?, ?) ON CONFLICT (tbl)"
        " DO UPDATE SET after=excluded.after, done=excluded.done",
        (table, None if after is None else json.dumps(list(after)), int(after is None)),
    )


def count(side: Side, table: str) -> int:
    return int(side.execute(f"SELECT COUNT(*) FROM {_ident(table)}")[0][0])


def digest(side: Side, table: TablePlan) -> tuple[int, str]:
    """(rows, hash) of the table over the plan's columns: the sum of each row's SHA-256, so the
    same rows give the same hash whatever order each database returns them in."""
    cols = ", ".join(_ident(c) for c in table.columns)
    total = n = 0
    for row in side.stream(f"SELECT {cols} FROM {_ident(table.name)}"):
        canonical = repr(tuple(_canonical(v) for v in row)).encode()
        total = (total + int.from_bytes(hashlib.sha256(canonical).digest(), "big")) % _MOD
        n += 1
    return n, f"{total:064x}"


def _canonical(value: Any) -> Any:
    if isinstance(value, memoryview):
        return bytes(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)  # REAL 60.0 and an integer 60 are the same value to both databases
    return value


@dataclass(frozen=True)
class TableCheck:
    """One table on both sides after a copy: rows and hash (`digest`) of each."""

    name: str
    source_rows: int
    source_hash: str
    target_rows: int
    target_hash: str

    @property
    def ok(self) -> bool:
        return (self.source_rows, self.source_hash) == (self.target_rows, self.target_hash)


Batches = Callable[[str, int, int], None]  # (table, its rows copied so far, its rows)


def copy_all(
    source: Side, target: Side, *, batch: int = 2000, on_batch: Batches | None = None, verify: bool = False
) -> list[TableCheck]:
    """Every table of `source` into `target`, from where an earlier copy stopped, as of one
    snapshot of the source; then what the target keeps beside the rows; with `verify`, each
    table compared on both sides (the source still at that snapshot). The target's record of
    the copy goes once everything compared equal (or was not compared)."""
    with snapshot(source):
        tables = plan(source, target)
        progress = start_progress(target)
        for table in tables:
            after = progress.get(table.name, ())
            total = count(source, table.name) if on_batch else 0
            done = total if after is None else count(target, table.name) if after else 0
            if on_batch:
                on_batch(table.name, min(done, total), total)
            while after is not None:
                n, after = copy_batch(source, target, table, after, batch)
                done += n
                if on_batch:
                    on_batch(table.name, total if after is None else min(done, total), total)
        target.finish()
        checks = [TableCheck(t.name, *digest(source, t), *digest(target, t)) for t in tables if verify]
    if all(c.ok for c in checks):
        end_progress(target)
    return checks


def resuming(target: Side) -> bool:
    """Whether the target holds an unfinished copy (one killed or stopped)."""
    return _PROGRESS in target.tables()


def backup_to_sqlite(url: str, path: Path, *, lock_wait: float) -> dict[str, int]:
    """A copy of the PostgreSQL archive at `url`, as of one snapshot, in the new SQLite archive
    file `path` (written under a temporary name beside it, then renamed: complete or absent);
    what the copy holds, in `archive_counts`' terms."""
    from .. import atomic
    from .sqlite import SQLiteStore
    from .sqlite.snapshot import count_rows

    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    if not path.parent.is_dir():
        raise StoreError(f"{path}: cannot write the backup: {path.parent} is not a folder")
    source = PostgresSide(url, lock_wait=lock_wait)
    try:
        tmp.unlink(missing_ok=True)
        SQLiteStore(tmp).close()  # the schema, SQLite's migrations
        target = SQLiteSide(tmp)
        try:
            copy_all(source, target)
            target.execute("PRAGMA journal_mode=DELETE")  # one file: no -wal beside it
            counts = count_rows(target.db)
        finally:
            target.close()
        counts["schema"] = int(source.execute("SELECT MAX(version) FROM schema_migrations")[0][0])
        os.replace(tmp, path)
        atomic.sync_folder(path.parent)
        return counts
    except sqlite3.Error as e:
        raise StoreError(f"{path}: cannot write the backup: {e}") from e
    except OSError as e:
        raise StoreError(f"{path}: cannot write the backup: {e.strerror or e}") from e
    finally:
        source.close()
        for leftover in (tmp, tmp.with_name(tmp.name + "-wal"), tmp.with_name(tmp.name + "-shm")):
            leftover.unlink(missing_ok=True)
