"""What keeps PostgreSQL's failures from reaching the user as tracebacks: `driver_error` turns
a psycopg error (or the pool's timeout) into the StoreError subclass for its cause, told by
its SQLSTATE class, each message one line naming the server's URL with the password masked;
`guard_driver_errors` applies it to every public method of the store, generators included."""

from __future__ import annotations

import psycopg
from psycopg import errors as pgerrors
from psycopg_pool import PoolTimeout

from ...errors import StoreCorruptError, StoreError, StoreFullError, StoreIOError, StoreLockedError
from ..common import guarding, mask_url

DriverError = psycopg.Error | PoolTimeout
DRIVER_ERRORS = (psycopg.Error, PoolTimeout)

# SQLSTATEs of a lock held too long or a conflict the caller can retry.
_LOCKED = {"55P03", "40P01", "40001", "57014"}


def _one_line(text: str, limit: int = 300) -> str:
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def driver_error(e: BaseException, url: str, *, lock_wait: float) -> StoreError:
    """The StoreError for a driver error on the archive at `url`: one line, with what to do."""
    where = mask_url(url)
    detail = _one_line(str(e).replace(url, where))
    state = getattr(e, "sqlstate", None) or ""
    if state in _LOCKED:
        return StoreLockedError(
            f"{where}: the archive is locked ({detail}): another connection has held a lock on it"
            f" longer than the lock timeout ({lock_wait:g} s), e.g. a long `run`, a migration or a psql"
            " session with a transaction open; try again once it has finished"
        )
    if state == "53100":
        return StoreFullError(
            f"{where}: the database server's disk is full ({detail}); nothing of the failed step was"
            " stored: free space on the server and run again"
        )
    if state.startswith("XX"):
        return StoreCorruptError(
            f"{where}: the database reports damage ({detail}); restore a backup (pg_dump) or ask the"
            " database's administrator"
        )
    if isinstance(e, PoolTimeout):
        return StoreIOError(f"{where}: no connection to PostgreSQL became free or could be made ({detail})")
    if isinstance(e, psycopg.OperationalError):
        return StoreIOError(f"{where}: cannot reach PostgreSQL ({detail}); is the server running?")
    return StoreError(f"{where}: {detail}")


def is_bug(e: BaseException) -> bool:
    """Wrong SQL or misuse of the driver: a bug in newsdesk, which keeps its traceback."""
    return (
        isinstance(e, psycopg.ProgrammingError | psycopg.InterfaceError | pgerrors.DataError)
        and getattr(e, "sqlstate", None) not in _LOCKED
    )


# Every public method of a store class, generators included: driver errors become StoreErrors.
guard_driver_errors = guarding(DRIVER_ERRORS, is_bug)
