"""Shared fixtures."""

from __future__ import annotations

import compileall
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

import newsdesk
from server import FeedServer


@pytest.fixture(scope="session", autouse=True)
def compiled_sources() -> None:
    """newsdesk's bytecode, written once before the first test.

    The tests start the CLI, serve and their workers as new Python processes, hundreds of
    them. Installed in editable mode, newsdesk's modules have no .pyc until Python writes one,
    and with PYTHONDONTWRITEBYTECODE set it never does: each of those processes would compile
    the same sources again (about a tenth of a second each). The .pyc files go beside the
    sources, in the `__pycache__` folders Python itself uses (ignored by git); a changed source
    makes its .pyc stale, which Python notices and ignores."""
    if sys.dont_write_bytecode:
        compileall.compile_dir(Path(newsdesk.__file__).parent, quiet=1)


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    """A started FeedServer on 127.0.0.1 (see tests/server.py for its API)."""
    with FeedServer() as server:
        yield server


# Hypothesis's default 200 ms deadline per example is a wall-clock assertion: a loaded CI
# machine fails it without any change in behaviour. Tests that guard against hangs set their own.
settings.register_profile("newsdesk", deadline=None)
settings.load_profile("newsdesk")
