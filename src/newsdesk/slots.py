"""A machine's worker slots: how many `newsdesk worker` processes of one machine work at once.

A slot is a leadership (`LeaseStore.lead`, a PostgreSQL session advisory lock) named
`cpu/<machine>/<n>`. A busy worker holds one (`Worker.run`); workers beyond the slots wait as
standbys and take over when a worker goes idle or dies. This module holds only what a worker
needs before it loads the pipeline (the slots' names and numbers, and the clock it reads in
drills), so `newsdesk worker` can wait for a slot first (see `cli/worker.py`): a standby costs
a connection and a look a second, not a loaded process.
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from .errors import NewsdeskError

SLOT_TURN = "cpu"  # a turn of a machine's workers: `cpu/<machine>/<n>`
# Seconds at least between a waiting worker's looks for a free slot: each look is a few try-locks
# and a turn of the loop (~4 ms of CPU on a busy 2-core machine), taken from the busy workers.
SLOT_WAIT = 1.0
SLOTS_ENV = "NEWSDESK_WORKER_SLOTS"  # a machine's worker slots, when not its cores (0: no limit)


def default_slots() -> int:
    """The worker slots of this machine: `NEWSDESK_WORKER_SLOTS`, else its cores."""
    text = os.environ.get(SLOTS_ENV, "").strip()
    if not text:
        return os.cpu_count() or 1
    try:
        return max(0, int(text))
    except ValueError as e:
        raise NewsdeskError(f"{SLOTS_ENV}={text!r}: a whole number of slots (0: no limit)") from e


def slot_names(machine: str, slots: int, rng: random.Random) -> list[str]:
    """The lock names of `machine`'s `slots` slots, in a random order (so the workers looking
    at once try different ones first)."""
    return [f"{SLOT_TURN}/{machine}/{n}" for n in rng.sample(range(slots), slots)]


def file_clock(path: Path) -> Callable[[], datetime]:
    """A clock read from a file holding an ISO time (for drills and tests: whoever writes
    the file moves the time of every worker reading it)."""

    def now() -> datetime:
        text = path.read_text(encoding="utf-8").strip()
        value = datetime.fromisoformat(text)
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)

    return now


__all__ = ["SLOTS_ENV", "SLOT_TURN", "SLOT_WAIT", "default_slots", "file_clock", "slot_names"]
