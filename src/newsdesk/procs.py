"""Worker processes that die with their parent, and stopping cleanly on SIGINT/SIGTERM.

Every worker process newsdesk starts is started here, with one start method, **forkserver**:
`pool` (a ProcessPoolExecutor: the site build's render workers, `publish/site/pool.py`; the
search catch-up's text workers, `search/update.py`) and `process` (one process running a
function: the run's followers of the store, `followers.Follower`). `context()` is that method's
multiprocessing context, for the queues and events a worker shares with its starter.

Why forkserver. The first start in a process starts a fork server: a fresh interpreter (not a
fork of the caller) that imports `PRELOAD` once (the site's renderer and Jinja, the tokenizer
with its 34 MB dictionary, the catch-up and the store) and then forks every worker from itself.
So a worker starts in milliseconds with those modules already loaded, and shares their pages
with the server and its sibling workers (what it inherited stays out of its garbage collector's
reach: `gc.freeze`). Nothing of the caller is inherited: no thread, no lock some thread held, no
open SQLite connection, no lock descriptor, so a worker may be started at any moment, from any
thread, of any process (a run's fetch with its event loop and progress bar, a threaded server).
Fork would inherit all of those; spawn would make every worker import newsdesk again (a third
of a second, and its own copy of the dictionary). What a worker needs of its caller is passed:
`process`'s arguments, the pool's `initargs` (pickled once per worker at its start; the site
build's renderer, and the archive as a connection of the worker's own). The fork server's
start costs its preload once per process (about half a second on a busy machine), which the
first worker waits for; `start_server` starts it early, without waiting.

Each worker, first thing:

* ignores SIGINT (Ctrl-C reaches the whole process group: the parent stops its workers) and
  dies on SIGTERM (the default). The fork server ignores SIGINT from its start (`_fork_server`
  below), so a worker never runs a moment with Python's KeyboardInterrupt handler;
* dies with the process that started it: a thread waits on multiprocessing's parent sentinel
  (a pipe that closes when that process dies, SIGKILL included) and ends the worker; and
  ``PR_SET_PDEATHSIG`` (Linux, through ctypes' prctl) kills it should the fork server die. The
  fork server itself ends when its starter has gone and its last worker with it, so a killed
  build or run leaves no process behind holding the database.

Not a worker: `python` runs a few lines of stdlib Python (the build's archive check,
`store/sqlite/guard.QuickCheck`) in an exec'd isolated interpreter, `python -I -c`. It runs no
newsdesk code and needs nothing preloaded; it starts in about 20 ms even where no fork server
runs yet (a small incremental build starts none), where starting the fork server costs its
preload first (see docs/site-build.md for the figures); and an exec'd program, like any
subprocess, inherits nothing of its caller either.

Stopping: `stop_on_signals` (the CLI's `main`) turns SIGINT and SIGTERM into `Stopped`, raised
in the main thread, so `finally` blocks and context managers run: the current transaction rolls
back, workers are stopped, temporary files are removed, locks are released. A second signal
during that clean-up ends the process at once (its workers die with it).
"""

from __future__ import annotations

import contextlib
import gc
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from types import FrameType
from typing import TYPE_CHECKING, Any

from . import locks

if TYPE_CHECKING:  # imported when a process is started: the CLI imports this module for every command
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing.context import ForkServerContext
    from multiprocessing.process import BaseProcess

METHOD = "forkserver"
# Imported once by the fork server, before it forks any worker: what workers need, loaded once
# and shared. `newsdesk.cli`: multiprocessing runs `python -m newsdesk`'s main module in every
# worker (as `__mp_main__`), which imports the CLI.
PRELOAD = (
    "newsdesk.procs",
    "newsdesk.cli",
    "newsdesk.store.sqlite",
    "newsdesk.publish.site.build",
    "newsdesk.search.update",
    # The insights stage with cn2an (a quarter of a second to import): a run's insights
    # process would otherwise import it at its start, while its backlog grows.
    "newsdesk.insights_pending",
)
PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
_STOP_SIGNALS = {signal.SIGINT, signal.SIGTERM}


class Stopped(SystemExit):
    """SIGINT or SIGTERM arrived. Not an `Exception`, so handlers of ordinary errors let it
    through to the clean-up and the CLI; a `SystemExit` because asyncio re-raises only
    SystemExit and KeyboardInterrupt from a callback or a socket write it was raised in (any
    other BaseException there is logged as "Fatal write error on socket transport" and lost,
    and the run would go on). Escaping every handler, it ends the process with `exit_code`."""

    def __init__(self, signum: int) -> None:
        self.signum = signum
        self.signame = signal.Signals(signum).name
        self.exit_code = 128 + signum  # 130 for SIGINT, 143 for SIGTERM, as a shell reports them
        super().__init__(f"stopped by {self.signame}")
        self.code = self.exit_code


_stopping: list[int] = []  # the signal that asked this process to stop, once one has


def stop_requested() -> Stopped | None:
    """The stop a signal asked for, even if its `Stopped` was lost on the way: raised inside a
    library's clean-up (psycopg leaving a busy pipeline) it can come out as that library's
    error, which a caller then handles as an ordinary failure. A loop that must end on a
    signal checks this each round."""
    return Stopped(_stopping[0]) if _stopping else None


def stop_on_signals() -> None:
    """From now on SIGINT and SIGTERM raise `Stopped` in the main thread (call it there); a
    second one ends the process at once."""
    stopping = _stopping

    def handler(signum: int, frame: FrameType | None) -> None:
        if stopping:  # already cleaning up: the user insists
            os._exit(128 + stopping[0])
        stopping.append(signum)
        raise Stopped(signum)

    for sig in _STOP_SIGNALS:
        signal.signal(sig, handler)


M_ARENA_MAX = -8  # glibc's <malloc.h>


def limit_malloc_arenas(arenas: int = 2) -> bool:
    """At most `arenas` glibc malloc arenas in this process (call it before starting threads).
    glibc gives each thread that allocates while another holds an arena an arena of its own,
    up to eight per core, and what a thread frees stays in its arena: a long-lived threaded
    process (serve: the scheduler's thread, the route threads, the event loop) then holds the
    high-water mark of each, measured at 364 MB against 212 MB with two (docs/benchmarks.md).
    False where there is no glibc."""
    import ctypes

    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(M_ARENA_MAX, arenas) == 1)


def available() -> bool:
    """Whether worker processes can be started here (the start method exists: POSIX)."""
    import multiprocessing

    return METHOD in multiprocessing.get_all_start_methods()


def context() -> ForkServerContext:
    """The multiprocessing context of the one start method (its queues and events are the
    ones a worker can be given)."""
    import multiprocessing

    ctx = multiprocessing.get_context(METHOD)
    ctx.set_forkserver_preload(list(PRELOAD))  # taken when the fork server starts
    return ctx  # type: ignore[return-value]


def start_server() -> None:
    """Start the fork server now, without waiting for it: its preload (a third of a second or
    more) then runs beside the caller's own work instead of delaying the first worker. For a
    process's entry that will probably start workers (`newsdesk build`); it stays idle if none
    is started."""
    from multiprocessing import forkserver

    context()
    forkserver.ensure_running()


def pool(
    workers: int,
    *,
    initializer: Callable[..., None] | None = None,
    initargs: tuple[Any, ...] = (),
) -> ProcessPoolExecutor:
    """`workers` processes, all started before this returns. `initializer(*initargs)`: the
    worker's own start (its process-wide settings, and what it needs of the caller:
    `initargs` are pickled once per worker), run in each worker after the common start.
    Raises OSError (or another Exception) when processes cannot be started here."""
    from concurrent.futures import ProcessPoolExecutor

    # SIGINT and SIGTERM wait until every worker runs: a stop while a worker is still being
    # made would remove the pool's semaphores under it as it unpickles them (a traceback from
    # the worker on the user's terminal). A stop held back meanwhile is taken as the signals
    # are let through, and the pool, idle, is shut down before it goes on.
    executor: ProcessPoolExecutor | None = None
    try:
        with _signals_blocked():
            executor = ProcessPoolExecutor(
                max_workers=workers,
                mp_context=context(),
                initializer=_child_start,
                initargs=(initializer, initargs),
            )
            # One task per worker: each submit made while none is idle starts a worker.
            for f in [executor.submit(_started) for _ in range(workers)]:
                f.result()
    except BaseException:
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)
        raise
    return executor


def process(target: Callable[..., None], args: tuple[Any, ...], *, name: str) -> BaseProcess:
    """A started process running `target(*args)` (a module-level function; `args` pickled)."""
    child = context().Process(target=_child_main, args=(target, args), name=name)
    child.start()
    return child


# What `python` runs before its code: the same start as `_child_start`, without newsdesk. The
# parent is the caller itself here (an exec'd child, no fork server), so its death signal is it.
_PYTHON_START = """\
import ctypes, os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_IGN)
signal.signal(signal.SIGTERM, signal.SIG_DFL)
try:
    ctypes.CDLL(None).prctl({pdeathsig}, signal.SIGKILL, 0, 0, 0)
except (OSError, AttributeError):
    pass
if os.getppid() != {parent}:
    os._exit(1)
signal.pthread_sigmask(signal.SIG_UNBLOCK, {{signal.SIGINT, signal.SIGTERM}})
"""


def python(code: str, *args: str) -> subprocess.Popen[bytes]:
    """`python -I -c CODE ARGS…` started now, dying with this process; its standard output is
    a pipe (read it with `communicate`), its input and errors go nowhere. Not a worker (see
    the module's docstring). Raises OSError when no process can be started. Call it on the
    main thread: the kernel's death signal follows the thread that started the child."""
    start = _PYTHON_START.format(pdeathsig=PR_SET_PDEATHSIG, parent=os.getpid())
    with _signals_blocked():
        return subprocess.Popen(
            [sys.executable, "-I", "-c", start + code, *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )


@contextlib.contextmanager
def _signals_blocked() -> Iterator[None]:
    """SIGINT and SIGTERM held back (not lost): a child started now inherits the mask and sets
    its own dispositions before it takes them; the parent receives them when this ends."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def _started() -> None:
    """The first task of every pool worker: it proves the worker runs."""


def _child_main(target: Callable[..., None], args: tuple[Any, ...]) -> None:
    _child_start()
    target(*args)


def _child_start(initializer: Callable[..., None] | None = None, initargs: tuple[Any, ...] = ()) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    _die_with_fork_server()
    _watch_parent()
    # What the fork server loaded stays out of this worker's collector: a collection writes to
    # every object it visits, which would copy the shared pages into the worker.
    gc.freeze()
    locks.forget_in_child()  # none are inherited from the fork server; kept should that change
    if initializer is not None:
        initializer(*initargs)


def _die_with_fork_server() -> bool:
    """PR_SET_PDEATHSIG: the kernel sends SIGKILL when the parent (the fork server) dies.
    False where prctl is not available (not Linux)."""
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        prctl = libc.prctl
    except (OSError, AttributeError):
        return False
    return bool(prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0)


def _watch_parent() -> None:
    """A thread waits on the sentinel of the process that started this one (readable once
    that process is gone, also when it already is) and ends this process."""
    import multiprocessing
    from multiprocessing.connection import wait as wait_for_ready

    parent = multiprocessing.parent_process()
    if parent is None or parent.sentinel is None:
        return

    def watch(sentinel: int) -> None:
        wait_for_ready([sentinel])
        os._exit(1)

    threading.Thread(target=watch, args=(parent.sentinel,), name="parent-watch", daemon=True).start()


def _fork_server() -> bool:
    """Whether this module is being imported by the fork server (as one of `PRELOAD`): the
    server's command is `from multiprocessing.forkserver import main; main(...)`."""
    server = sys.modules.get("multiprocessing.forkserver")
    return server is not None and getattr(sys.modules.get("__main__"), "main", None) is server.main


if _fork_server():
    # The fork server gives each worker the signal dispositions it had before its own loop:
    # SIGINT ignored from a worker's first instruction, not from its `_child_start` on.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
