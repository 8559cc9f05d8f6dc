"""The archive's search index for the API: one open index per worker thread (beside that
thread's archive connection), reading what the publish process keeps indexed (tantivy), or
the PostgreSQL archive's own index (`search_backend: postgres`)."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from ..search import SIDECAR, SearchError, index_path, open_index
from ..store import Store
from .context import Desk
from .errors import ApiError

if TYPE_CHECKING:
    from ..search.index import SearchHit, SearchIndex
    from ..search.query import Filters, Sort

_local = threading.local()


def _index(desk: Desk, store: Store) -> SearchIndex:
    index: SearchIndex | None = getattr(_local, "index", None)
    if index is None or getattr(_local, "store", None) is not store:
        # Opening a missing index would create it beside the publish process building it
        # (the database's own index, `search_backend: postgres`, is always there).
        tantivy = desk.config.search_backend == "tantivy"
        if tantivy and not (index_path(desk.config) / SIDECAR).exists():
            raise ApiError(503, "the search index is being built: try again shortly", code="not_ready")
        index = open_index(desk.config, store=store)
        _local.index, _local.store = index, store
    return index


def search(
    desk: Desk, store: Store, query: str, filters: Filters, *, sort: Sort, limit: int
) -> list[SearchHit]:
    """Hits of `query` (the archive's query language, `search/query.py`); a query that cannot
    be understood is a 422."""
    try:
        return _index(desk, store).search(query, filters=filters, sort=sort, limit=limit)
    except SearchError as e:
        raise ApiError(422, str(e), code="bad_query") from e
