"""What keeps SQLite's own failures from reaching the user as tracebacks, and half-made files.

* `driver_error` turns a `sqlite3.Error` into the `StoreError` subclass for its cause, told by
  SQLite's result code (`sqlite_errorcode`, not the message text): damaged, locked, disk full,
  I/O error, read-only, cannot open; each message names the file and what to do about it.
* `guard_driver_errors` applies that to every public method of a store class, generators
  included, so a method added later is covered without doing anything. A method call costs
  one more Python frame (0.3 µs); a generator one more resumption per row, lost in the noise
  of reading a million rows (`bench/bench_store_reads.py`).
* `create_archive` makes a new archive under a temporary name and links it into place once
  its schema is committed, so a crash never leaves an empty file where the archive belongs:
  an empty database file is then always damage from outside, and is refused.
* `QuickCheck` runs SQLite's quick consistency check in a separate process beside a build, so
  a build over a damaged archive fails instead of reporting success (see its doc).
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import shlex
import sqlite3
import subprocess
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

from ... import atomic, procs
from ...errors import StoreCorruptError, StoreError, StoreFullError, StoreIOError, StoreLockedError
from ..common import guarding

_PRIMARY = 0xFF  # extended result codes carry the primary code in their low byte


def recover_hint(path: Path) -> str:
    """The shell commands that save what a damaged archive still holds."""
    return f'sqlite3 {shlex.quote(str(path))} ".recover" | sqlite3 fixed.db'


def driver_error(e: sqlite3.Error, path: Path, *, busy_timeout: float) -> StoreError:
    """The StoreError for a driver error on the archive at `path`: one line, with what to do."""
    code = getattr(e, "sqlite_errorcode", None)
    primary = code & _PRIMARY if isinstance(code, int) else None
    name = getattr(e, "sqlite_errorname", None) or "?"
    if code is None and str(e).startswith(_UNDECODABLE):
        # Python's own error (no SQLite code): a text column that is not UTF-8, which newsdesk
        # never stores. A damaged page SQLite cannot tell from text (an overflow page's bytes).
        # The message quotes the bytes: only the column is kept.
        column = str(e).removeprefix(_UNDECODABLE).split(" with text", 1)[0]
        return StoreCorruptError(
            f"{path}: the archive is damaged (column {column} holds bytes that are not text);"
            f" {_RECOVER.format(hint=recover_hint(path))}"
        )
    if primary == sqlite3.SQLITE_CORRUPT:
        return StoreCorruptError(
            f"{path}: the archive is damaged ({e}); {_RECOVER.format(hint=recover_hint(path))}"
        )
    if primary == sqlite3.SQLITE_NOTADB:
        return StoreCorruptError(
            f"{path}: not a SQLite database, or its first page is damaged ({e}); restore a backup"
            " or set `database:` to the archive's file"
        )
    if primary in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
        return StoreLockedError(
            f"{path}: the archive is locked ({e}): another process has held a lock on it longer than"
            f" the busy timeout ({busy_timeout:g} s), e.g. a long `run` or `reindex`, or a sqlite3"
            " shell with a transaction open; try again once it has finished"
        )
    if primary == sqlite3.SQLITE_FULL:
        return StoreFullError(
            f"{path}: the disk is full ({e}); nothing of the failed step was stored: free space on"
            " the disk that holds the archive (and the temporary folder) and run again"
        )
    if primary == sqlite3.SQLITE_IOERR:
        return StoreIOError(
            f"{path}: disk I/O error ({name}): check the disk (its kernel log, free space), then run"
            " `newsdesk check`"
        )
    if primary in (sqlite3.SQLITE_READONLY, sqlite3.SQLITE_PERM, sqlite3.SQLITE_AUTH):
        return StoreIOError(
            f"{path}: the archive cannot be written ({e}): newsdesk needs write access to the file"
            " and to its folder (SQLite keeps -wal and -shm files beside it)"
        )
    if primary == sqlite3.SQLITE_CANTOPEN:
        return StoreIOError(
            f"{path}: cannot open the archive ({e}): check that the path is a file, in a folder"
            " newsdesk may read and write"
        )
    return StoreError(f"{path}: database error ({name}): {_one_line(str(e))}")


_UNDECODABLE = "Could not decode to UTF-8 column "
# Debian 12's sqlite3 shell (3.40.1) lacks what .recover needs: the backup comes first.
_RECOVER = (
    "restore a backup, or save what it holds with `{hint}` (an sqlite3 shell whose .recover works)"
    " and set `database:` to fixed.db (`newsdesk check` lists the problems)"
)


def _one_line(text: str, limit: int = 300) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def is_bug(e: sqlite3.Error) -> bool:
    """Misuse of the driver (a closed connection, a wrong parameter count): a bug in newsdesk,
    which keeps its traceback."""
    return isinstance(e, sqlite3.ProgrammingError | sqlite3.InterfaceError)


# Every public method of a store class, generators included: driver errors become StoreErrors.
guard_driver_errors = guarding((sqlite3.Error,), is_bug)


# --- creating an archive -----------------------------------------------------------------------
_NEW = ".new"  # `.NAME.PID.new`: an archive being made by process PID


def connect_uri(path: Path, mode: str) -> str:
    """A `file:` URI for sqlite3.connect(uri=True): `mode=rw` opens only an existing file
    (SQLite's default would create an empty one), `mode=ro` only reads."""
    return f"file:{quote(str(path.absolute()))}?mode={mode}"


def create_archive(path: Path, prepare: Callable[[sqlite3.Connection], None]) -> None:
    """Make the archive at `path`, unless another process makes it first: `prepare` builds it
    in a temporary file (rollback journal, so closing leaves everything in that one file), which
    is synced and only then linked to `path`. A crash at any point leaves no file at `path`."""
    _remove_stale(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}{_NEW}")
    try:
        _unlink(tmp)
        con = sqlite3.connect(tmp, isolation_level=None)
        try:
            prepare(con)
        finally:
            con.close()
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.link(tmp, path)  # fails if `path` exists: a concurrent creator's archive stays
        except FileExistsError:
            pass
        except OSError:  # a file system without hard links
            if not path.exists():
                os.replace(tmp, path)
        atomic.sync_folder(path.parent)
    finally:
        _unlink(tmp)
        _unlink(tmp.with_name(tmp.name + "-journal"))


def _remove_stale(path: Path) -> None:
    """Temporary archives of processes that died while making one."""
    prefix = f".{path.name}."
    for name in glob.glob(glob.escape(str(path.with_name(prefix))) + f"*{_NEW}*"):
        pid = Path(name).name[len(prefix) :].split(".", 1)[0]
        if pid.isdigit() and not _alive(int(pid)):
            _unlink(Path(name))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, owned by someone else
        return True
    return True


def _unlink(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


def empty_file_error(path: Path) -> StoreCorruptError:
    return StoreCorruptError(
        f"{path}: the database file is empty (0 bytes), so it holds no archive (newsdesk never"
        " leaves one empty): restore a backup, or delete the file to start a new archive"
    )


# --- the quick check beside a build -------------------------------------------------------------
# Run by `python -I -c`: a process of its own, not a thread (the site build forks render workers,
# and a thread inside SQLite at that moment could leave a worker's SQLite locked for good) and not
# a fork (the caller may hold threads and an open connection). Not at a lower priority: the
# caller waits for it at the end.
_QUICK_CHECK = """
import json, sqlite3, sys
try:
    con = sqlite3.connect(sys.argv[1], uri=True)
    con.execute("PRAGMA busy_timeout=" + sys.argv[2])
    rows = con.execute("PRAGMA quick_check(20)")
    found = [ln for (text,) in rows for ln in text.splitlines() if not ln.startswith("***")]
    print(json.dumps({"problems": [] if found == ["ok"] else found}))
except sqlite3.Error as e:
    print(json.dumps({"error": str(e), "code": getattr(e, "sqlite_errorcode", None)}))
"""


class QuickCheck:
    """`PRAGMA quick_check` of the archive in another process, started now: it reads every page
    of the file (a tenth of a second per 100 MB once cached) on the other core while the
    caller works. `problems()` waits for it: [] when the archive's structure holds (asked
    again, the same answer)."""

    def __init__(self, path: Path, *, busy_timeout: float) -> None:
        self._path = path
        self._busy_timeout = busy_timeout
        self._proc: subprocess.Popen[bytes] | None
        self._found: list[str] | None = None
        try:
            timeout_ms = f"{busy_timeout * 1000:.0f}"
            self._proc = procs.python(_QUICK_CHECK, connect_uri(path, "ro"), timeout_ms)
        except OSError:  # no process to spare: the build goes on without the check
            self._proc = None

    def problems(self) -> list[str]:
        if self._found is None:
            self._found = self._wait()
        return self._found

    def _wait(self) -> list[str]:
        if self._proc is None:
            return []
        out, _ = self._proc.communicate()
        self._proc = None
        try:
            result = json.loads(out)
        except ValueError:  # the checker itself failed (killed, no memory): nothing known
            return []
        code = result.get("code")
        if isinstance(code, int) and code & _PRIMARY in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB):
            return [str(result.get("error"))]
        problems = result.get("problems") or []
        return [str(p) for p in problems]

    def cancel(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
        if self._proc is not None:
            self._proc.communicate()
            self._proc = None

    def damage(self) -> StoreCorruptError | None:
        """The error to raise when the check found damage, else None (waits for the check)."""
        found = self.problems()
        if not found:
            return None
        more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
        hint = _RECOVER.format(hint=recover_hint(self._path))
        return StoreCorruptError(f"{self._path}: the archive is damaged: {_one_line(found[0])}{more}; {hint}")
