"""A function following the store in a second process while this one fetches and stores.

`newsdesk run` starts two when there is much to catch up: the search index's
(`pipeline._index_work`) and the insights stage's (`insights_pending`). Each is told when
fetching is done (it then catches up and ends), waited for, or stopped.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import queue
from collections.abc import Callable
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Event
from typing import TYPE_CHECKING

from . import procs
from .config import Config
from .errors import NewsdeskError

if TYPE_CHECKING:
    from .store import Store

__all__ = ["Follower", "FollowerWork"]

NICENESS = 10  # a follower's scheduling priority below the run's: fetching comes first

# work(config, store, follow) -> how many entries it did. `follow(timeout)` waits up to
# `timeout` seconds for fetching to end and says whether it has (or the run died): the work
# catches up, and once `follow` says so, catches up a last time and returns.
FollowerWork = Callable[[Config, "Store", Callable[[float], bool]], int]


class Follower:
    def __init__(self, work: FollowerWork, config: Config, *, name: str, what: str) -> None:
        # Started in the middle of a run (its event loop, threads, open connection: none of
        # them reach the child, see procs); the child opens its own connection.
        ctx = procs.context()
        self._what = what
        self._results: Queue[int | str] = ctx.Queue()
        self._fetched = ctx.Event()
        self._process = procs.process(_follow, (work, config, self._fetched, self._results), name=name)

    def fetching_done(self) -> None:
        """Nothing more will be stored: the process catches up and ends."""
        self._fetched.set()

    def finish(self) -> int | str:
        """Wait for the process to catch up and end: what it sent (how many, or what failed)."""
        self._fetched.set()
        self._process.join()
        try:
            # A result is sent before a clean exit; after a crash or a signal there is none.
            outcome: int | str = self._results.get(timeout=5 if self._process.exitcode == 0 else 0.1)
        except queue.Empty:
            outcome = f"{self._what} process exited with code {self._process.exitcode}"
        self._results.close()
        self._results.join_thread()
        return outcome

    def stop(self) -> None:
        """End the process now (SIGTERM) and wait for it; what it stored stays."""
        self._process.terminate()
        self._process.join()
        self._results.close()
        self._results.join_thread()


def _follow(work: FollowerWork, config: Config, fetched: Event, results: Queue[int | str]) -> None:
    """The follower process: `work` on its own connection, one result sent back."""
    from .store import open_store

    parent = multiprocessing.parent_process()
    # Background work: fetching and publishing in the parent come first when the cores are busy.
    os.nice(NICENESS)
    # A short-lived process of records that form no cycles: the cyclic collector's full passes
    # cost about a tenth of a large catch-up.
    gc.disable()

    def follow(timeout: float) -> bool:
        # Fetching has ended, or the parent died without saying so: catch up, then stop.
        return fetched.wait(timeout) or (parent is not None and not parent.is_alive())

    try:
        store = open_store(config.database_url)
        try:
            results.put(work(config, store, follow))
        finally:
            store.close()
    except NewsdeskError as e:
        results.put(str(e))
