"""The publisher interface: Hexo posts, the static site and feeds all plug in here."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from ..config import Config
from ..store import Store

# Called with (done, total) as a publisher works through entries.
Progress = Callable[[int, int], None]


@dataclass
class PublishReport:
    publisher: str
    out_dir: Path
    written: int = 0
    unchanged: int = 0
    removed: int = 0
    errors: list[str] = field(default_factory=list)


class Publisher(Protocol):
    name: str

    def publish(
        self, store: Store, config: Config, out_dir: Path | None = None, progress: Progress | None = None
    ) -> PublishReport: ...


def run_publisher(
    publisher: Publisher,
    store: Store,
    config: Config,
    out_dir: Path | None = None,
    progress: Progress | None = None,
) -> PublishReport:
    """`publisher.publish(...)`, with any OSError it let through (a full disk, an I/O error,
    a folder made read-only) as a one-line PublishError: the caller reports it and goes on."""
    try:
        return publisher.publish(store, config, out_dir, progress)
    except OSError as e:
        from ..errors import PublishError

        where = e.filename or out_dir or publisher.name
        raise PublishError(f"{where}: {e.strerror or e}") from e


_REGISTRY: dict[str, Callable[[], Publisher]] = {}


def register(name: str, factory: Callable[[], Publisher]) -> None:
    _REGISTRY[name] = factory


def get_publisher(name: str) -> Publisher:
    from . import hexo, site  # noqa: F401  (built-ins register themselves on import)

    try:
        return _REGISTRY[name]()
    except KeyError:
        from ..errors import PublishError

        raise PublishError(f"unknown publisher {name!r} (known: {', '.join(sorted(_REGISTRY))})") from None


def publisher_names() -> list[str]:
    from . import hexo, site  # noqa: F401

    return sorted(_REGISTRY)
