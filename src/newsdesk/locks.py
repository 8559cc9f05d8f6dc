"""Locks between processes: one per operation, not one per archive.

* ``fetch``: one fetch batch at a time per archive (`newsdesk run`, `fetch`, `reclean`,
  `reindex`: everything that stores entries or rewrites the search index and clusters). The
  lock file lives beside the archive: ``<database>-fetch.lock``.
* ``publish``: one publish at a time per output folder (the Hexo posts folder; the site folder,
  shared by the site and its feeds). The lock file lives inside the folder under a hidden name
  (``.newsdesk-publish.lock`` for Hexo posts, ``.newsdesk/publish.lock`` in the site), which no
  publisher sweeps or publishes.

Anything else (searching, listing, a long-running server reading the archive, adding users)
takes no lock and runs beside these. The stages take the locks themselves (`pipeline.run`, the
publishers), so a library caller gets the same protection as the CLI.

A lock is an OS lock (`fcntl.flock`) on its file: the kernel drops it when the holder exits,
however it exits, so the lock of a dead process is free without any clean-up. Once acquired,
the holder writes its pid, command line and start time into the file, and empties it when it
lets go; a process that finds the lock taken polls until its deadline (`waiting`, the CLI's
``--wait``), then raises `LockBusy` naming the holder (the CLI exits with status 5).

Worker processes forked while a lock is held share its open file: `forget_in_child` closes
their copies (closing, never unlocking, which would free the parent's lock).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from contextvars import ContextVar
from datetime import UTC, datetime
from pathlib import Path

from .errors import NewsdeskError

DEFAULT_WAIT = 60.0  # seconds a second process waits for a lock before it gives up
POLL = 0.2  # seconds between attempts while waiting
EXIT_LOCKED = 5  # the CLI's exit status when a lock was not had in time

_wait: ContextVar[float] = ContextVar("newsdesk_lock_wait", default=DEFAULT_WAIT)
_held: set[int] = set()  # descriptors of the locks this process holds


class LockBusy(NewsdeskError):
    """Another process held a lock past the wait."""

    exit_code = EXIT_LOCKED


@contextlib.contextmanager
def waiting(seconds: float) -> Iterator[None]:
    """Locks taken in this block wait up to `seconds` for another holder (0: do not wait)."""
    token = _wait.set(max(0.0, seconds))
    try:
        yield
    finally:
        _wait.reset(token)


def fetch_lock_path(database: str) -> Path:
    """The fetch lock of the archive at `database` (a SQLite path or sqlite:/// URL); for a
    server's database (postgresql://…) a file in the temporary folder named after the URL's
    hash: it keeps this machine's processes apart (workers on several machines coordinate in
    the database itself)."""
    if "://" in database and not database.startswith("sqlite:///"):
        digest = hashlib.sha256(database.encode()).hexdigest()[:16]
        return Path(tempfile.gettempdir()) / f"newsdesk-{digest}-fetch.lock"
    path = Path(database.removeprefix("sqlite:///"))
    return path.with_name(path.name + "-fetch.lock")


@contextlib.contextmanager
def hold(path: Path, what: str) -> Iterator[None]:
    """Hold the lock at `path` (created if missing) for the block. `what` names the operation
    and its object in the message when another process holds it, e.g. "publishing to /srv/site"."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o666)
    except OSError as e:
        raise NewsdeskError(f"{path}: cannot open the lock file: {e.strerror or e}") from e
    try:
        wait = _wait.get()
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise LockBusy(_busy_message(path, what, wait)) from None
                time.sleep(min(POLL, left))
        _held.add(fd)
        try:
            _write_holder(fd)
            yield
        finally:
            _held.discard(fd)
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)  # still locked: no one reads a former holder as current
    finally:
        os.close(fd)  # releases the lock


def forget_in_child() -> None:
    """In a forked child: close the inherited lock descriptors (the parent keeps its locks,
    and the child, once its parent is gone, holds none)."""
    for fd in list(_held):
        with contextlib.suppress(OSError):
            os.close(fd)
    _held.clear()


def _write_holder(fd: int) -> None:
    program = Path(sys.argv[0]) if sys.argv and sys.argv[0] else Path("python")
    name = program.parent.name if program.name == "__main__.py" else program.name  # python -m newsdesk
    info = {
        "pid": os.getpid(),
        "command": " ".join([name, *sys.argv[1:]]),
        "since": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    data = json.dumps(info, ensure_ascii=False).encode("utf-8", "surrogateescape")
    with contextlib.suppress(OSError):  # the lock holds without its note (e.g. a full disk)
        os.ftruncate(fd, 0)
        os.pwrite(fd, data, 0)


def holder(path: Path) -> dict[str, object] | None:
    """What the lock file at `path` says about its holder (None: free, or not yet written)."""
    try:
        data = json.loads(path.read_bytes() or b"null")
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _busy_message(path: Path, what: str, wait: float) -> str:
    info: dict[str, object] | None = None
    # The holder writes its note right after taking the lock: give it a moment.
    for _ in range(10):
        info = holder(path)
        if info is not None:
            break
        time.sleep(0.02)
    who = "another process"
    if info is not None:
        who = f"pid {info.get('pid')} ({info.get('command')}) since {info.get('since')}"
    waited = f"waited {wait:g} s" if wait else "did not wait"
    return f"{what}: {who} holds the lock {path} ({waited}; see --wait)"
