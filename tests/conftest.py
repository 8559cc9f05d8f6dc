"""Shared fixtures."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import settings

from server import FeedServer


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    """A started FeedServer on 127.0.0.1 (see tests/server.py for its API)."""
    with FeedServer() as server:
        yield server


# Hypothesis's default 200 ms deadline per example is a wall-clock assertion: a loaded CI
# machine fails it without any change in behaviour. Tests that guard against hangs set their own.
settings.register_profile("newsdesk", deadline=None)
settings.load_profile("newsdesk")
