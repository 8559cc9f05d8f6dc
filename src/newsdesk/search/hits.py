"""What every search backend shares: the `SearchIndex` Protocol, the hit, and `collect`, which
turns an engine's ranking into hits (one per story, the character fallback, snippets).

The backends (`index.TantivyIndex`, `pgindex.PostgresIndex`) differ only in how they rank the
documents matching a query; everything a reader sees of a hit is made here, the same for both.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from ..errors import SearchError
from ..models import ClusterRef
from ..store import Store
from .query import Filters, ParsedQuery, QuerySyntaxError, Sort, parse_query
from .snippet import Snippet, make_snippet, patterns
from .text import strip_html

__all__ = ["Ranked", "SearchHit", "SearchIndex", "collect", "parse"]

log = logging.getLogger("newsdesk.search")

# An engine's ranking: `ranked(wide, fetch, offset)` is the best `fetch` (uid, score, story)
# after the first `offset`; `wide` also matches each word as a run of characters. The story
# is the engine's record of the hit's story cluster (None: ask the archive).
Ranked = Callable[[bool, int, int], list[tuple[str, float | None, str | None]]]


@dataclass(frozen=True)
class SearchHit:
    uid: str
    title: str
    link: str | None
    group: str
    site: str
    feed: str
    feed_key: str
    published: datetime | None
    snippet: Snippet
    score: float | None  # relevance (bm25 on tantivy, ts_rank_cd on PostgreSQL); None by date
    cluster: ClusterRef | None  # the story cluster this hit stands for, if it has other members

    @property
    def also_in(self) -> int:
        """Other sources carrying the same story."""
        return max(0, self.cluster.sources - 1) if self.cluster else 0

    def as_dict(self) -> dict[str, Any]:
        """The hit as JSON (`search --json`, `GET /api/v1/search`)."""
        return {
            "id": self.uid,
            "title": self.title,
            "link": self.link,
            "group": self.group,
            "site": self.site,
            "feed": self.feed,
            "published": self.published,
            "snippet": self.snippet.to_html(),
            "score": None if self.score is None else round(self.score, 4),
            "cluster": None
            if self.cluster is None
            else {
                "id": self.cluster.id,
                "size": self.cluster.size,
                "sources": self.cluster.sources,
                "also_in": self.also_in,
            },
        }


class SearchIndex(Protocol):
    """What every search backend offers: tantivy beside a SQLite archive (`index`), or the
    PostgreSQL archive's own tables (`pgindex`)."""

    def sync(self, store: Store) -> int:
        """Apply the store's changes since the last sync; returns how many entries were touched."""

    def rebuild(self, store: Store) -> int:
        """Index the whole archive afresh; returns how many entries were indexed."""

    def reset(self) -> None:
        """Empty the index (the next sync indexes the whole archive)."""

    def catch_up(self, store: Store, *, clusters: bool) -> tuple[int, int]:
        """Apply the store's changes to the index and (if `clusters`) the story clusters in one
        pass; returns how many changes each took in: (index, clusters)."""

    def search(
        self,
        query: str | ParsedQuery,
        *,
        filters: Filters | None = None,
        sort: Sort = "relevance",
        limit: int = 10,
    ) -> list[SearchHit]:
        """Best hits first; one hit per story cluster."""

    def close(self) -> None: ...


def parse(query: str | ParsedQuery) -> ParsedQuery:
    """The parsed query; a query that cannot be understood is a SearchError."""
    if not isinstance(query, str):
        return query
    try:
        return parse_query(query)
    except QuerySyntaxError as e:
        raise SearchError(str(e)) from e


def collect(store: Store, query: ParsedQuery, ranked: Ranked, *, sort: Sort, limit: int) -> list[SearchHit]:
    """The hits of `query` from an engine's ranking: words first, then (when they find less
    than a page) words or runs of characters; one hit per story; snippets and clusters."""
    found, chosen = _one_per_story(store, ranked, limit, sort, engine_stories=True)
    if chosen:
        # The engine's stories are as the archive's clusters were when each entry was indexed;
        # a rebuild of the clusters alone could have changed them. The hits shown say whether
        # they still hold: if not, the archive decides every copy (and a reindex is due).
        shown = [uid for uid, _, story in chosen if story is not None]
        kept = store.story_keys(shown)
        # (An entry gone from the archive since the last sync is no disagreement: it is not shown.)
        if any(kept.get(uid, story) != story for uid, _, story in chosen if story is not None):
            # Between a change's storing and the index taking it in, an entry that changed
            # story disagrees too: no warning, but a line saying what to do if it persists.
            log.info(
                "search: the index's stories of the hits shown differ from the archive's (an entry"
                " changed since the last catch-up, or the clusters were rebuilt without the index:"
                " `newsdesk reindex` if this persists)"
            )
            found, chosen = _one_per_story(store, ranked, limit, sort, engine_stories=False)
    return _hits(store, query, found, [(uid, score) for uid, score, _ in chosen])


def _one_per_story(
    store: Store, ranked: Ranked, limit: int, sort: Sort, *, engine_stories: bool
) -> tuple[list[tuple[str, float | None, str | None]], list[tuple[str, float | None, str | None]]]:
    """(the ranking read, the best hit of each of the first `limit` stories in it)."""
    # An engine's ranking costs about the same for a hundred hits as for ten (it scores every
    # match either way), so the first round asks enough for a page of distinct stories in all
    # but archives of very large stories, and a second round many times more.
    fetch = max(limit * 5, 50)
    wide = False
    stories: dict[str, str] = {}  # uid → its story (cluster id), as looked up so far
    looked_up: set[str] = set()
    found: list[tuple[str, float | None, str | None]] = []
    while True:
        # Each round reads only the hits after the last round's.
        found += ranked(wide, fetch - len(found), len(found))
        if len(found) < limit and not wide:
            # Segmentation depends on context: 专精特新 is cut 专精 + 特新 on its own but
            # 中专 + 精特新 after 公司中. When the words find less than a page, search again
            # matching each word as a run of characters too, so such text is found.
            wide = True
            found = []
            continue
        # A story is shown once, where its best member ranks. Stories the engine does not know
        # are looked up a batch of hits at a time, only as far down the ranking as a page needs
        # (a big story's copies rank side by side and can fill hundreds of hits).
        chosen: list[tuple[str, float | None, str | None]] = []
        seen: set[str] = set()
        for i, (uid, score, known) in enumerate(found):
            story = known if engine_stories else None
            if story is None:
                if uid not in looked_up:
                    batch = [
                        u
                        for u, _, k in found[i : i + max(limit * 3, 30)]
                        if u not in looked_up and (k is None or not engine_stories)
                    ]
                    stories.update(store.story_keys(batch))
                    looked_up.update(batch)
                story = stories.get(uid, uid)
            if story in seen:
                continue  # a copy of a story already in the results
            seen.add(story)
            kept = None if sort != "relevance" or score is None else float(score)
            chosen.append((uid, kept, known if engine_stories else None))
            if len(chosen) == limit:
                break
        if len(chosen) == limit or len(found) < fetch or fetch >= 5000:
            return found, chosen
        fetch = min(fetch * 10, 5000)


def _hits(
    store: Store,
    query: ParsedQuery,
    found: list[tuple[str, float | None, str | None]],
    chosen: list[tuple[str, float | None]],
) -> list[SearchHit]:
    # The story of each hit shown (of two or more entries), and the hit shown as its canonical
    # (earliest) entry when that one matched too.
    refs = store.cluster_refs(uid for uid, _ in chosen)
    matched = {uid for uid, _, _ in found}
    clusters: dict[str, ClusterRef] = {}
    for n, (uid, score) in enumerate(chosen):
        ref = refs.get(uid)
        if ref is not None:
            shown = ref.canonical if ref.canonical in matched else uid
            chosen[n] = (shown, score)
            clusters[shown] = ref
    # What a hit shows, without the entries' bodies and fetched pages (`entry_texts`).
    entries = {x.uid: x for x in store.entry_texts(uid for uid, _ in chosen)}
    looked_for = patterns(query.positive_matches())
    hits: list[SearchHit] = []
    for uid, score in chosen:
        entry = entries.get(uid)
        if entry is None:  # removed from the archive since the last sync
            continue
        hits.append(
            SearchHit(
                uid=entry.uid,
                title=entry.title,
                link=entry.link,
                group=entry.group,
                site=entry.site,
                feed=entry.feed,
                feed_key=entry.feed_key,
                published=entry.when,
                snippet=make_snippet(entry.cleaned or strip_html(entry.html), looked_for),
                score=score,
                cluster=clusters.get(uid),
            )
        )
    return hits
