"""Catching up with the store: one pass over `changes_since` feeds the index and the clusters.

Both keep their own mark (the index in its sidecar, clusters in the store) and each batch is
applied to whichever is behind. Reading an entry, stripping its HTML, normalising (t2s) and
cutting it happen once for both: they are most of the cost.

Large catch-ups (the first sync of a big archive, `newsdesk run` after a long pause) prepare
text in worker processes, one per core, a batch ahead of the main process, which reads the
store, clusters and feeds tantivy. Workers come from `procs.pool` (the fork server has this
module and the tokenizer loaded); `prepare` and its rows are all they need.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from .. import procs
from ..models import EntryText
from .cluster import Item, Session, shingle_text, update_clusters
from .segment import cut_joined, normalise
from .text import html_text

if TYPE_CHECKING:
    from ..store import Store

__all__ = ["CatchUpTarget", "Follow", "Prepared", "Preparer", "catch_up", "prepare"]

log = logging.getLogger("newsdesk.search")

BATCH = 5000  # changes read from the store at a time
FOLLOW_POLL = 0.5  # seconds between looks at the store while following it
# The index writer's memory budget: large for a rebuild or a big catch-up (fewer, larger
# segments), small for the few changes of a scheduler batch, where the large one would be most
# of a long-running `serve`'s peak memory.
LARGE_HEAP = 256_000_000
SMALL_HEAP = 48_000_000
SMALL_CATCH_UP = 2_000  # changes up to which a catch-up writes with SMALL_HEAP
POOL_FROM = 20_000  # changes behind before worker processes pay for themselves
COMMIT_EVERY = 100_000  # documents per tantivy commit during a long catch-up

# Following a store that another process is writing: `follow(timeout)` waits up to `timeout`
# seconds for that writer to finish and says whether it has (a multiprocessing Event's `wait`).
Follow = Callable[[float], bool]


@dataclass(frozen=True)
class Prepared:
    """An entry's text in the forms the index and clustering take."""

    title: str  # title tokens, separated by spaces (`segment.cut_joined`)
    body: str  # title and text tokens, separated by spaces, in order (positions for phrases)
    shingles: str  # normalised text without spaces or punctuation (cluster shingles)
    chars: str  # normalised title and text (the index cuts it into characters itself)


def prepare(rows: Sequence[tuple[str, str | None, str]]) -> list[Prepared]:
    """(title, cleaned text or None, HTML) → Prepared; the HTML's tags are dropped when there is
    no cleaned text (`text.entry_text`). Pure, so it can run in a worker process."""
    out = []
    for title, cleaned, html in rows:
        norm, norm_title = normalise(cleaned or html_text(html)), normalise(title)
        title_tokens = cut_joined(norm_title)
        body = f"{title_tokens} {cut_joined(norm)}"
        chars = norm_title + "\n" + norm
        out.append(Prepared(title_tokens, body, shingle_text(norm), chars))
    return out


@dataclass
class _Batch:
    changes: list[tuple[int, str, bool]]
    entries: list[EntryText]
    prepared: list[Future[list[Prepared]]] | list[Prepared]

    def result(self) -> list[Prepared]:
        out: list[Prepared] = []
        for part in self.prepared:
            out.extend(part.result() if isinstance(part, Future) else [part])
        return out


# What turns (title, cleaned text or None, HTML) rows into Prepared: `prepare`, or an index's
# own that also does its part of the work in the worker processes (`pgindex.prepare_vectors`).
Preparer = Callable[[Sequence[tuple[str, str | None, str]]], list[Prepared]]


def _read(store: Store, rev: int, pool: ProcessPoolExecutor | None, preparer: Preparer) -> _Batch | None:
    changes = store.changes_since(rev, limit=BATCH)
    if not changes:
        return None
    entries = store.entry_texts(u for _, u, removed in changes if not removed)
    rows = [(e.title, e.cleaned, e.html) for e in entries]
    if pool is None:
        return _Batch(changes, entries, preparer(rows))
    workers = os.cpu_count() or 1
    step = max(1, -(-len(rows) // workers))
    return _Batch(
        changes, entries, [pool.submit(preparer, rows[i : i + step]) for i in range(0, len(rows), step)]
    )


def _batches(
    store: Store, start: int, pool: ProcessPoolExecutor | None, follow: Follow | None, preparer: Preparer
) -> Iterator[_Batch]:
    """Batches of changes after `start`, the next one read and being prepared while the
    caller works on the current one. With `follow`, once caught up it waits for more changes
    until `follow` says the store's writer has finished, then ends caught up with the store."""
    rev = start
    current = _read(store, start, pool, preparer)
    while True:
        if current is None:
            if follow is None:
                return
            # Asked before looking: if the writer had finished, nothing new means caught up.
            finished = follow(0)
            current = _read(store, rev, pool, preparer)
            if current is None:
                if finished:
                    return
                follow(FOLLOW_POLL)
                continue
        rev = current.changes[-1][0]
        following = _read(store, rev, pool, preparer)
        yield current
        current = following


@contextlib.contextmanager
def _pool(behind: int) -> Iterator[ProcessPoolExecutor | None]:
    cores = os.cpu_count() or 1
    if behind < POOL_FROM or cores < 2 or not procs.available():
        yield None
        return
    pool = procs.pool(cores)
    try:
        yield pool
    finally:
        pool.shutdown(cancel_futures=True)


W = TypeVar("W")


class CatchUpTarget(Protocol[W]):
    """What a catch-up needs of the index (`index.TantivyIndex` and `pgindex.PostgresIndex`,
    which call `catch_up`); `W` is the index's writer."""

    def ready(self, head: int) -> int: ...

    def doc_count(self) -> int: ...

    def writer(self, heap_size: int = ...) -> AbstractContextManager[W]: ...

    def apply(
        self,
        writer: W,
        changes: Sequence[tuple[int, str, bool]],
        docs: Mapping[str, tuple[EntryText, Prepared]],
        *,
        added: set[str] | None = None,
    ) -> None: ...

    def commit(self, writer: W, rev: int) -> None: ...


def catch_up(
    store: Store,
    index: CatchUpTarget[Any],
    *,
    clusters: bool,
    follow: Follow | None = None,
    preparer: Preparer = prepare,
) -> tuple[int, int]:
    """Apply the store's changes to the index and (if `clusters`) the story clusters, each
    from its own mark. Returns how many changes each took in: (index, clusters).

    `follow` (another process is writing to the store, see `Follow`): keep one writer and one
    cluster session open and apply changes as they are stored, until `follow` reports the
    writer finished; then end exactly at the store's last change. Clusters are saved batch by
    batch (short write transactions, beside the writer's), the index committed at the end."""
    head = store.max_rev()
    imark = index.ready(head)
    cmark = head
    if clusters:
        cmark = store.cluster_mark()
        if cmark > head:  # a restored or different archive: start over
            store.reset_clusters()
            cmark = 0
    start = min(imark, cmark)
    if follow is None:
        if start >= head:
            return 0, 0
        if imark >= head:  # only clusters are behind: no index writer (and no wait for its lock)
            return 0, update_clusters(store)
    if head - start > 1000:
        log.info("search: indexing and clustering %d changes of the archive", head - start)
    done = clustered = 0
    session = Session(store) if clusters else None
    # Uids whose documents this catch-up added to an index that held none when it began: only
    # these can need deleting before an add (a first build skips a delete per document). None
    # when the index held documents: every change deletes first.
    added: set[str] | None = set() if imark == 0 and index.doc_count() == 0 else None
    heap = SMALL_HEAP if follow is None and head - start <= SMALL_CATCH_UP else LARGE_HEAP
    with _pool(head - start) as pool, index.writer(heap) as writer:
        pending = 0
        last = imark
        for batch in _batches(store, start, pool, follow, preparer):
            prepared = batch.result()
            if session is not None and batch.changes[-1][0] > cmark:
                behind = [c for c in batch.changes if c[0] > cmark]
                wanted = {uid for _, uid, _ in behind}
                items = [
                    Item(e.uid, "", e.feed_key, e.when, e.link, p.shingles)
                    for e, p in zip(batch.entries, prepared, strict=True)
                    if e.uid in wanted
                ]
                clustered += session.apply(behind, items)
            if batch.changes[-1][0] > imark:
                fresh = [c for c in batch.changes if c[0] > imark]
                docs = {e.uid: (e, p) for e, p in zip(batch.entries, prepared, strict=True)}
                index.apply(writer, fresh, docs, added=added)
                done += len(fresh)
                pending += len(fresh)
                last = batch.changes[-1][0]
            if pending >= COMMIT_EVERY:
                index.commit(writer, last)
                pending = 0
        if last > imark:
            index.commit(writer, last)
    return done, clustered
