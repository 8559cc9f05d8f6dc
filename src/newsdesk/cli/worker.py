"""`newsdesk worker`: fetch due feeds beside other workers sharing a PostgreSQL archive."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from ..config import Config
from ..errors import StoreError
from ..store import Store
from .common import current_config, err, open_archive, state


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
    from ..worker import Worker, file_clock, holder_name

    if config is not None:
        state.config_path = config
    settings = current_config()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    with open_archive(settings) as store:
        desk = Worker(
            settings,
            store,
            holder=holder_name(),
            lease=lease,
            batch=batch,
            poll=poll,
            publish=publish,
            slots=slots,
            clock=file_clock(clock_file) if clock_file is not None else None,
        )
        apply_config(settings, store, desk.clock())
        err.print(f"newsdesk worker {desk.holder} started", highlight=False)

        async def main() -> None:
            await desk.run(asyncio.Event())

        asyncio.run(main())


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
