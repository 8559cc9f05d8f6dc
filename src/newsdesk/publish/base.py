"""The publisher interface and registry: Hexo posts, the static site, its feeds and any
installed plugin are found the same way, as `newsdesk.publishers` entry points."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from typing import Literal, Protocol

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


# What a publisher can need before it runs. "clusters": story clusters (and the search index)
# caught up with the archive, so `newsdesk run` waits for its indexing process first.
# "insights": the insights stage's records caught up (newsdesk.insights_pending): `run` waits
# for its insights process, and `run_publisher` computes whatever is still pending first.
Need = Literal["clusters", "insights"]


class Publisher(Protocol):
    """Registered under `ENTRY_POINT_GROUP`; the entry point names a class (or any callable)
    that takes no arguments and returns the publisher."""

    name: str
    needs: frozenset[Need]

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
    a folder made read-only) as a one-line PublishError: the caller reports it and goes on.
    A publisher that needs insights gets them caught up first, whoever stored the entries."""
    if "insights" in publisher.needs and config.insights:
        from ..insights_pending import catch_up_insights

        # `bump`: a page another process built from an entry meanwhile is built again.
        catch_up_insights(store, bump=True)
    try:
        return publisher.publish(store, config, out_dir, progress)
    except OSError as e:
        from ..errors import PublishError

        where = e.filename or out_dir or publisher.name
        raise PublishError(f"{where}: {e.strerror or e}") from e


# The registry: publishers are entry points in this group, ours included (pyproject.toml);
# an installed package adds one by declaring its own.
ENTRY_POINT_GROUP = "newsdesk.publishers"


def _entry_points() -> dict[str, EntryPoint]:
    found: dict[str, EntryPoint] = {}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        found.setdefault(ep.name, ep)  # the first on sys.path wins, as for an import
    return found


def publisher_names() -> list[str]:
    """Every registered publisher's name, sorted (nothing is imported)."""
    return sorted(_entry_points())


def get_publisher(name: str) -> Publisher:
    """The publisher registered as `name`, made by calling what its entry point names."""
    from ..errors import PublishError

    found = _entry_points()
    if name not in found:
        raise PublishError(f"unknown publisher {name!r} (known: {', '.join(sorted(found))})")
    ep = found[name]
    try:
        factory: Callable[[], Publisher] = ep.load()
    except (ImportError, AttributeError) as e:  # e.g. a plugin's missing dependency
        raise PublishError(f"publisher {name!r} ({ep.value}) cannot be loaded: {e}") from e
    return factory()
