"""What every CLI command module shares: consoles, the chosen config, the archive, JSON output.

Command modules (`cli.py`, `search/commands.py`, …) import from here, never from each other.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from .config import Config, find_config_path, load_config
from .store import Store, open_store

# soft_wrap: messages and log lines are never broken at 80 columns when piped.
out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)
log = logging.getLogger("newsdesk")

JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]
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
    return load_config(config_path())


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
