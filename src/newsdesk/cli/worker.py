"""`newsdesk worker`: fetch due feeds beside other workers sharing a PostgreSQL archive."""

from __future__ import annotations

import asyncio
import logging
import random
import socket
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from .. import procs
from ..config import Config
from ..errors import NewsdeskError, StoreError
from ..slots import SLOT_WAIT, default_slots, file_clock, slot_names
from ..store import Store
from ..store.common import is_postgres_url
from .common import current_config, err, open_archive, state

if TYPE_CHECKING:
    from ..store.protocol import Leadership


def register(app: typer.Typer) -> None:
    app.command("worker")(worker)


def worker(
    publish: Annotated[
        bool,
        typer.Option(
            "--publish",
            help="Take part in publishing: one such worker at a time (elected) indexes and runs the"
            " publishers, into this machine's folders.",
        ),
    ] = False,
    lease: Annotated[
        float,
        typer.Option(min=1.0, help="Seconds a claimed feed stays this worker's (renewed while fetched)."),
    ] = 600.0,
    batch: Annotated[int, typer.Option(min=1, help="Feeds claimed per turn.")] = 100,
    poll: Annotated[
        float, typer.Option(min=0.01, help="Seconds between turns when nothing is due, or after an error.")
    ] = 5.0,
    slots: Annotated[
        int | None,
        typer.Option(
            min=0,
            help="Workers of this machine working at once (the others wait as standbys): by default"
            " NEWSDESK_WORKER_SLOTS, else the machine's cores; 0: no limit.",
        ),
    ] = None,
    clock_file: Annotated[
        Path | None,
        typer.Option(
            "--clock-file",
            hidden=True,
            help="Read the time from this file (an ISO time), for drills and tests.",
        ),
    ] = None,
    config: Annotated[
        Path | None, typer.Option("--config", "-c", help="Config file (as `newsdesk --config`).")
    ] = None,
) -> None:
    """Fetch due feeds with any number of other workers (any machine, same config) sharing a
    PostgreSQL archive: each feed is leased to one worker at a time. Stops on SIGTERM or
    Ctrl-C (leases of unfinished feeds are released). See docs/scaling.md."""
    if config is not None:
        state.config_path = config
    settings = current_config()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    count = default_slots() if slots is None else slots
    machine = socket.gethostname()
    # A worker beyond the machine's slots waits for one before it loads the pipeline and opens
    # the archive: the loading is a second of CPU the busy workers would lose.
    clock = file_clock(clock_file) if clock_file is not None else None
    first = standby(settings.database, machine, count, max(poll, SLOT_WAIT), clock or _utc_now)
    try:
        from ..worker import Worker, holder_name

        with open_archive(settings) as store:
            desk = Worker(
                settings,
                store,
                holder=holder_name(),
                lease=lease,
                batch=batch,
                poll=poll,
                publish=publish,
                slots=count,
                machine=machine,
                clock=clock,
            )
            apply_config(settings, store, desk.clock())
            err.print(f"newsdesk worker {desk.holder} started", highlight=False)

            async def main() -> None:
                await desk.run(asyncio.Event(), slot=first)

            asyncio.run(main())
    finally:
        if first is not None:
            first.release()  # (once only: the worker gives it back when it goes idle)


def standby(
    database: str, machine: str, slots: int, wait: float, now: Callable[[], datetime]
) -> Leadership | None:
    """One of `machine`'s `slots` worker slots, once one is free (a look every `wait` seconds;
    SIGTERM ends the wait); None with no limit, on SQLite, or when the server cannot be asked
    (the archive's opening then says why).

    A slot that frees up while this worker waits is taken only when some feed is there to
    claim at `now`: its worker gave it back because it found nothing, and loading the pipeline
    to find the same (a second of CPU) would be taken from the workers still busy with a
    round's last feeds. A worker's first look takes any free slot: workers starting apply the
    config's feeds, and the first ones must not wait for feeds to be due."""
    if slots <= 0 or not is_postgres_url(database):
        return None
    import psycopg  # (here: every other command starts without it)

    from ..store.postgres.leases import SlotLooker

    rng = random.Random()
    said = False
    looker = SlotLooker(database)
    try:
        while True:
            try:
                slot = None
                if not said or looker.claimable(now()):
                    slot = looker.take(slot_names(machine, slots, rng))
            except (psycopg.Error, NewsdeskError):
                stopped = procs.stop_requested()  # a signal that came out as psycopg's error
                if stopped is not None:
                    raise stopped from None
                return None
            if slot is not None:
                return slot
            if not said:
                err.print(
                    f"newsdesk worker: this machine's {slots} worker slots are taken; waiting for one",
                    highlight=False,
                )
                said = True
            time.sleep(wait)
    finally:
        looker.close()


def _utc_now() -> datetime:
    return datetime.now(UTC)


def apply_config(settings: Config, store: Store, now: datetime) -> None:
    """The config's feeds into the catalogue. Workers starting together may race on a new
    feed's row: the loser's transaction rolls back, and its next try finds the rows there."""
    for attempt in range(3):
        try:
            store.apply_config(settings.feeds(), now)
            return
        except StoreError:
            if attempt == 2:
                raise
