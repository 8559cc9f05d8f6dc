"""A function following the store in a second process while this one fetches and stores.

`newsdesk run` starts two when there is much to catch up: the search index's
(`pipeline._index_worker`) and the insights stage's (`insights_pending`). Each is told when
fetching is done (it then catches up and ends), waited for, or stopped.
"""

from __future__ import annotations

import queue
from collections.abc import Callable
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Event

from . import procs
from .config import Config

__all__ = ["Follower", "FollowerTarget"]

# target(config, fetched, results): follows the store until `fetched` is set, then puts one
# result in `results` (how many it did, or what failed) and ends.
FollowerTarget = Callable[[Config, Event, "Queue[int | str]"], None]


class Follower:
    def __init__(self, target: FollowerTarget, config: Config, *, name: str, what: str) -> None:
        # Started in the middle of a run (its event loop, threads, open connection: none of
        # them reach the child, see procs); the child opens its own connection.
        ctx = procs.context()
        self._what = what
        self._results: Queue[int | str] = ctx.Queue()
        self._fetched = ctx.Event()
        self._process = procs.process(target, (config, self._fetched, self._results), name=name)

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
