"""The insights stage off the ingest path: what ingest leaves pending, caught up afterwards.

Ingest stores an entry and its cleaned article and nothing more: the stage costs about as much
as cleaning, and run inside the fetching process it made ingest half as slow again (issue 18).
An entry whose insights are pending is one with an article and no insights row, or a row read
from another content of the entry (`Store.pending_insights`): the marker is the store's own
state, so nothing is lost when a process dies between the two steps; the next catch-up, at any
process's start, finds it.

Who catches up, off the path that stores entries:
- `newsdesk run`: a second process (`insights_process`, a `followers.Follower`) follows the
  store while feeds are fetched, beside the search index's, once a run has stored enough to be
  worth it (`pipeline.FOLLOW_FROM`); a small run catches up in its own process after fetching.
- the scheduler (`serve`) and `newsdesk worker`: after each batch, before the search index and
  before `on_ingest` publishes.
- every publisher that shows insights (`Publisher.needs` holds "insights", the static site)
  catches up first (`publish.base.run_publisher`), so no page is built from an entry whose
  insights are still pending, whichever process stored it.

Background catch-ups store without moving the entries' `rev` (the search index would read every
entry twice); a publisher's own catch-up, the last before a build, moves it, so a page built
meanwhile by another process is built again.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from .config import Config
from .followers import Follower
from .insights import extract as extract_insights
from .models import Article, Insights, InsightsOf, StoredEntry
from .store import Store

__all__ = ["BATCH", "catch_up_insights", "entry_insights", "insights_of", "insights_process"]

# Entries read from the store, computed and stored in one transaction at a time: small, so the
# archive's write lock is held briefly (about 20 ms) while ingest stores feeds beside it, yet
# large enough that the term aggregates' upserts (one per distinct term of a batch) and the
# commits stay a small part of the work (storing 5,000 articles: 1.5 s of CPU in batches of 50,
# 1.1 s in batches of 100, 0.9 s in batches of 200 holding the lock twice as long).
BATCH = 100
POLL = 0.5  # seconds between looks at the store while following it


def insights_of(article: Article, title: str, published: datetime | None) -> Insights:
    """The insights stage's record of one article. The stage is pure and must not fail, but
    should one article trip it, that is a note on the entry (version 0: `reinsight` tries it
    again), never a failed feed."""
    try:
        return extract_insights(article, title, published)
    except Exception as e:  # any bug of the stage, on one article: recorded, not raised
        return Insights(notes=(f"insights failed: {type(e).__name__}: {e}",), version=0)


def entry_insights(entry: StoredEntry, article: Article) -> InsightsOf:
    return InsightsOf(
        entry.uid,
        entry.content_hash,
        entry.published or entry.first_seen,
        insights_of(article, entry.title, entry.published),
    )


def compute(
    store: Store,
    uids: Sequence[str],
    *,
    bump: bool,
    batch: int = BATCH,
    stored: Callable[[list[InsightsOf], int], None] | None = None,
) -> int:
    """Compute and store the insights of `uids` (those with an article), `batch` a
    transaction; how many. `stored(records, position)` is told after each transaction."""
    done = 0
    for start in range(0, len(uids), batch):
        records = [
            entry_insights(e, e.article)
            for e in store.get_entries(uids[start : start + batch])
            if e.article is not None
        ]
        store.save_insights(records, bump=bump)
        done += len(records)
        if stored is not None:
            stored(records, min(start + batch, len(uids)))
    return done


def catch_up_insights(store: Store, *, since: int = 0, bump: bool = False) -> tuple[int, int]:
    """Compute the pending insights of entries changed after rev `since` (0: all of them);
    returns (how many, the rev to pass as `since` next time). `bump`: move the entries' rev on
    (see the module's docstring)."""
    # Read before looking: whatever becomes pending later has a higher rev than this.
    head = store.max_rev()
    uids = store.pending_insights(since)
    return (compute(store, uids, bump=bump) if uids else 0), head


def insights_process(config: Config) -> Follower:
    """`catch_up_insights` following the store in a second process while this one fetches."""
    return Follower(_follow_work, config, name="newsdesk-insights", what="insights")


def _follow_work(config: Config, store: Store, follow: Callable[[float], bool]) -> int:
    return follow_store(store, lambda: follow(0), follow)


def follow_store(store: Store, finished: Callable[[], bool], wait: Callable[[float], object]) -> int:
    """Catch up, then keep catching up with what is stored until `finished()`, asked before
    each look so the last look finds everything; how many entries were done."""
    total, mark = 0, 0
    while True:
        last = finished()
        done, mark = catch_up_insights(store, since=mark)
        total += done
        if last:
            return total
        if not done:
            wait(POLL)
