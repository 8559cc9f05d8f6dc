"""Full-text search over the archive, with Chinese word segmentation, and story clusters.

    index = open_index(config)           # tantivy beside the archive, or the PostgreSQL archive's own
    update_index(config, store)          # catch up with the store: clusters, then the index
    index.search("千兆光网", filters=Filters(site="新浪财经"), sort="relevance", limit=10)

Submodules: `segment` (tokenize), `query` (the query language), `hits` (the SearchIndex
Protocol and what both backends share), `index` (tantivy), `pgindex` (PostgreSQL, with
`search_backend: postgres`), `snippet`, `text` (the commands are in `cli/search.py`). Heavy modules are
imported on use, so `import newsdesk.search.segment` stays cheap.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import SearchError
from .sidecar import SIDECAR, applied_rev

if TYPE_CHECKING:
    from ..config import Config
    from ..store import Store
    from .index import SearchIndex
    from .update import Follow

__all__ = [
    "SIDECAR",
    "SearchError",
    "changes_behind",
    "index_is_behind",
    "index_path",
    "open_index",
    "update_index",
]


def index_path(config: Config) -> Path:
    """Where the index of this config's archive lives: `<database path>.search/`."""
    url = config.database_url
    if url.startswith(("postgresql://", "postgres://")):
        raise SearchError(
            "a PostgreSQL archive keeps its search index in its own tables: set search_backend: postgres"
        )
    path = Path(url.removeprefix("sqlite:///"))
    return path.with_name(path.name + ".search")


def open_index(config: Config, *, store: Store | None = None) -> SearchIndex:
    """The search index of `config`'s archive (created empty if missing). Pass an open `store`
    to reuse it for snippets and clusters; otherwise the index opens its own when searching."""
    if config.search_backend == "postgres":
        from .pgindex import PostgresIndex

        return PostgresIndex(database_url=config.database_url, store=store)
    from .index import TantivyIndex

    return TantivyIndex(index_path(config), database_url=config.database_url, store=store)


def index_is_behind(config: Config, store: Store) -> bool:
    """True when clusters or the search index have changes to catch up (a few cheap queries)."""
    head = store.max_rev()
    return store.cluster_mark() != head or _index_mark(config, store) != head


def _index_mark(config: Config, store: Store) -> int | None:
    """The rev the search index has applied (None when unknown), without opening it."""
    if config.search_backend == "postgres":
        mark = getattr(store, "search_mark", None)
        return int(mark()) if mark is not None else None
    return applied_rev(index_path(config))


def changes_behind(config: Config, store: Store) -> int:
    """How many changes the clusters or the search index (whichever is further back) have to
    catch up; the whole archive when either must be rebuilt. A few cheap queries."""
    head = store.max_rev()
    marks = [store.cluster_mark(), _index_mark(config, store)]
    return head - min(m if m is not None and m <= head else 0 for m in marks)


def update_index(config: Config, store: Store, *, follow: Follow | None = None) -> int:
    """Bring the story clusters and the search index up to date with `store` (one pass over
    the changes for both); returns how many changes the index took in. Costs a few small
    queries and no heavy import when nothing changed.

    `follow`: another process is storing changes; keep applying them as they come until
    `follow` reports it finished (`update.catch_up`)."""
    if follow is None and not index_is_behind(config, store):
        return 0
    from .update import catch_up

    if config.search_backend == "postgres":
        from .pgindex import PostgresIndex

        pg = PostgresIndex(database_url=config.database_url, store=store)
        try:
            return pg.catch_up(store, clusters=True, follow=follow)[0]
        finally:
            pg.close()
    from .index import TantivyIndex

    index = TantivyIndex(index_path(config), database_url=config.database_url, store=store)
    try:
        return catch_up(store, index, clusters=True, follow=follow)[0]
    finally:
        index.close()
