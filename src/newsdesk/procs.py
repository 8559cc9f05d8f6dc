"""Worker processes that die with their parent, and stopping cleanly on SIGINT/SIGTERM.

Every process newsdesk starts is started here: `pool` (a ProcessPoolExecutor: the site
build's render workers, `publish/site/pool.py`; the search catch-up's text workers,
`search/update.py`), `process` (one process running a function: the run's index
follower, `pipeline._IndexProcess`) and `python` (a few lines of Python in a fresh, isolated
interpreter that imports nothing of newsdesk: the build's archive check,
`store/sqlite/guard.QuickCheck`, which must start in milliseconds). Each child, first thing:

* asks the kernel to kill it when its parent dies (``PR_SET_PDEATHSIG`` = SIGKILL, through
  ctypes' prctl, Linux), then checks that its parent is still the process that started it (the
  parent may have died before the request), and where prctl is not available watches
  multiprocessing's parent sentinel (a pipe that closes when the parent dies) from a thread;
  so a killed build or run (SIGKILL included) leaves no worker behind holding the database;
* ignores SIGINT (Ctrl-C reaches the whole process group: the parent stops its workers) and
  dies on SIGTERM (the default, not the parent's handler it inherits through fork);
* closes the lock descriptors it inherited (`locks.forget_in_child`).

SIGINT and SIGTERM are blocked around the start, so a signal in that moment waits until the
child has set this up (and the parent receives it right after).

Start methods. The two pools **fork**: their workers inherit what the parent has loaded (the
site's renderer and templates, the tokenizer's 34 MB dictionary, frozen out of the garbage
collector's reach so the pages stay shared) instead of loading it again, and they are forked at
a point of the build or catch-up where the process runs no thread of its own. The index
follower is **spawned**: it is started in the middle of a run, from the fetch's event loop,
while threads run (aiohttp's resolver, the progress bar), where a forked child could inherit a
lock some thread held. One method for all would cost: forkserver or spawn for the pools would
make every render worker load templates and the tokenizer again (and hold its own copy), and
fork for the follower would need it started at a thread-free point before every large run.
``PR_SET_PDEATHSIG`` fires when the *thread* that started the child ends: every start here
happens on the main thread (a ProcessPoolExecutor with fork starts all its workers in the
first `submit`, which `pool` makes).

Stopping: `stop_on_signals` (the CLI's `main`) turns SIGINT and SIGTERM into `Stopped`, raised
in the main thread, so `finally` blocks and context managers run: the current transaction rolls
back, workers are stopped, temporary files are removed, locks are released. A second signal
during that clean-up ends the process at once (its workers die with it).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from types import FrameType
from typing import TYPE_CHECKING, Any, Literal

from . import locks

if TYPE_CHECKING:  # imported when a process is started: the CLI imports this module for every command
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing.process import BaseProcess

Method = Literal["fork", "spawn"]
PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
_STOP_SIGNALS = {signal.SIGINT, signal.SIGTERM}


class Stopped(BaseException):
    """SIGINT or SIGTERM arrived. A BaseException, like KeyboardInterrupt, so that handlers of
    ordinary errors let it through to the clean-up and the CLI."""

    def __init__(self, signum: int) -> None:
        self.signum = signum
        self.signame = signal.Signals(signum).name
        self.exit_code = 128 + signum  # 130 for SIGINT, 143 for SIGTERM, as a shell reports them
        super().__init__(f"stopped by {self.signame}")


def stop_on_signals() -> None:
    """From now on SIGINT and SIGTERM raise `Stopped` in the main thread (call it there); a
    second one ends the process at once."""
    stopping: list[int] = []

    def handler(signum: int, frame: FrameType | None) -> None:
        if stopping:  # already cleaning up: the user insists
            os._exit(128 + stopping[0])
        stopping.append(signum)
        raise Stopped(signum)

    for sig in _STOP_SIGNALS:
        signal.signal(sig, handler)


def available(method: Method) -> bool:
    import multiprocessing

    return method in multiprocessing.get_all_start_methods()


def pool(
    workers: int, *, method: Method = "fork", initializer: Callable[[], None] | None = None
) -> ProcessPoolExecutor:
    """`workers` processes, all started before this returns (on the calling thread, which
    must be the main thread; for fork, one that no other thread of this process runs beside).
    `initializer`: the worker's own start (its process-wide settings), run in each worker
    after the common start. Raises OSError (or another Exception) when processes cannot be
    started here."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    ctx = multiprocessing.get_context(method)
    executor = ProcessPoolExecutor(
        max_workers=workers,
        mp_context=ctx,
        initializer=_child_start,
        initargs=(os.getpid(), initializer),
    )
    try:
        with _signals_blocked():
            for f in [executor.submit(_started) for _ in range(workers)]:
                f.result()
    except BaseException:
        executor.shutdown(wait=False, cancel_futures=True)
        raise
    return executor


def process(
    target: Callable[..., None], args: tuple[Any, ...], *, name: str, method: Method = "spawn"
) -> BaseProcess:
    """A started process running `target(*args)` (a module-level function, for spawn)."""
    import multiprocessing

    run_args = (os.getpid(), target, args)
    child: BaseProcess
    if method == "spawn":
        child = multiprocessing.get_context("spawn").Process(target=_child_main, args=run_args, name=name)
    else:
        child = multiprocessing.get_context("fork").Process(target=_child_main, args=run_args, name=name)
    with _signals_blocked():
        child.start()
    return child


# What `python` runs before its code: the same start as `_child_start`, without newsdesk.
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
    a pipe (read it with `communicate`), its input and errors go nowhere. Raises OSError when
    no process can be started."""
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


def _child_main(parent: int, target: Callable[..., None], args: tuple[Any, ...]) -> None:
    _child_start(parent)
    target(*args)


def _child_start(parent: int, initializer: Callable[[], None] | None = None) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if not _die_with_parent():
        _watch_parent()
    if os.getppid() != parent:  # the parent died before the request took effect
        os._exit(1)
    locks.forget_in_child()
    signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP_SIGNALS)
    if initializer is not None:
        initializer()


def _die_with_parent() -> bool:
    """PR_SET_PDEATHSIG: the kernel sends SIGKILL when the parent dies. False where prctl is
    not available (not Linux)."""
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        prctl = libc.prctl
    except (OSError, AttributeError):
        return False
    return bool(prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0)


def _watch_parent() -> None:
    """Without prctl: a thread waits on the parent's sentinel (readable once the parent is
    gone) and ends this process."""
    import multiprocessing
    from multiprocessing.connection import wait as wait_for_ready

    parent = multiprocessing.parent_process()
    if parent is None or parent.sentinel is None:
        return

    def watch(sentinel: int) -> None:
        wait_for_ready([sentinel])
        os._exit(1)

    threading.Thread(target=watch, args=(parent.sentinel,), name="parent-watch", daemon=True).start()
