"""What every CLI command module shares: consoles, the chosen config, the archive, JSON
output, progress bars.

Command modules (`cli/feeds.py`, `cli/search.py`, …) import from here, never from each other.
"""

from __future__ import annotations

import gc
import json
import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from ..config import Config, find_config_path, load_config
from ..publish.base import PublishReport, publisher_names
from ..store import Store, open_store

# soft_wrap: messages and log lines are never broken at 80 columns when piped.
out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)
log = logging.getLogger("newsdesk")

JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]
FeedOpt = Annotated[list[str] | None, typer.Option("--feed", help="Only these feeds (name/site/group).")]
# Commands that write the archive or an output folder take a lock (see `locks`).
WaitOpt = Annotated[
    float,
    typer.Option(
        "--wait",
        min=0,
        metavar="SECONDS",
        help="How long to wait while another process holds the lock (then exit 5).",
    ),
]


class State:
    config_path: Path | None = None


state = State()


def config_path() -> Path:
    return state.config_path or find_config_path(None)


def current_config() -> Config:
    """The chosen config, its publishers checked against the registry."""
    return load_config(config_path(), publishers=publisher_names())


@contextmanager
def open_archive(config: Config) -> Iterator[Store]:
    store = open_store(config.database_url)
    try:
        yield store
    finally:
        store.close()


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=_json_default) + "\n")


def _json_default(o: Any) -> Any:
    if isinstance(o, datetime):
        return o.isoformat()
    if isinstance(o, Path):
        return str(o)
    if isinstance(o, tuple | set | frozenset):
        return list(o)
    raise TypeError(type(o).__name__)


def print_publish(p: PublishReport) -> None:
    out.print(
        f"{p.publisher}: {p.written} written, {p.unchanged} unchanged, {p.removed} removed → {p.out_dir}"
    )


@contextmanager
def progress_bar(label: str, total: int | None = None) -> Iterator[Callable[[int, int | None], None]]:
    """A progress bar on a terminal, advanced by calling it with (done, total or None when
    unchanged); nothing under cron (summary lines say it all there)."""
    if not err.is_terminal:
        yield lambda done, total: None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    ) as bar:
        task = bar.add_task(label, total=total)
        yield lambda done, total: bar.update(task, completed=done, total=total)


@contextmanager
def gc_paused() -> Iterator[None]:
    """No cyclic garbage collection in this process while a command catches the search index
    up: a large catch-up allocates millions of objects that form no cycles, and the
    collector's full passes over the growing cluster memory cost ~10 % of it (measured on
    50,000 entries). Set here, by the process's owner, never inside the library."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
