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
  Once the run would only wait for that process, it computes the newest pending entries
  itself while the process computes the oldest (`Shares`).
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

import functools
from collections.abc import Callable, Sequence
from datetime import datetime

from . import procs
from .config import Config
from .followers import Follower
from .insights import extract as extract_insights
from .models import Article, Insights, InsightsOf, StoredEntry
from .store import Store

__all__ = [
    "BATCH",
    "InsightsFollower",
    "Shares",
    "catch_up_insights",
    "entry_insights",
    "insights_of",
    "insights_process",
]

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


# Whether this side computes an entry (else it is the other side's, and so is the rest of
# this side's list, ordered away from its end); see `Shares`.
Take = Callable[[StoredEntry], bool]


def compute(
    store: Store,
    uids: Sequence[str],
    *,
    bump: bool,
    batch: int = BATCH,
    stored: Callable[[list[InsightsOf], int], None] | None = None,
    take: Take | None = None,
) -> int:
    """Compute and store the insights of `uids` (those with an article), `batch` a
    transaction; how many. `stored(records, position)` is told after each transaction.
    `take`: asked before each entry, in the order of `uids`; at its first no, what was computed
    is stored and this stops."""
    done = 0
    for start in range(0, len(uids), batch):
        chunk = uids[start : start + batch]
        entries = store.get_entries(chunk)
        records: list[InsightsOf] = []
        stop = False
        if take is None:
            records = [entry_insights(e, e.article) for e in entries if e.article is not None]
        else:
            order = {uid: n for n, uid in enumerate(chunk)}
            for e in sorted(entries, key=lambda e: order[e.uid]):
                if not take(e):
                    stop = True
                    break
                if e.article is not None:
                    records.append(entry_insights(e, e.article))
        if records or take is None:
            store.save_insights(records, bump=bump)
        done += len(records)
        if stored is not None:
            stored(records, min(start + batch, len(uids)))
        if stop:
            break
    return done


def catch_up_insights(
    store: Store, *, since: int = 0, bump: bool = False, take: Take | None = None
) -> tuple[int, int]:
    """Compute the pending insights of entries changed after rev `since` (0: all of them);
    returns (how many, the rev to pass as `since` next time). `bump`: move the entries' rev on
    (see the module's docstring). `take`: see `compute` (oldest first)."""
    # Read before looking: whatever becomes pending later has a higher rev than this.
    head = store.max_rev()
    uids = store.pending_insights(since)
    return (compute(store, uids, bump=bump, take=take) if uids else 0), head


_NO_CEILING = 2**62


class Shares:
    """Which pending entries a run's insights process computes, and which the run itself,
    once its own work is done and it would otherwise wait for that process: the process
    works up from the oldest rev, the run down from the newest, and each entry is taken by
    one side only. The run works at its own priority, not the process's (niced), so on a
    busy machine the run's end is not left to a process that gets little of the cores.

    Revs up to `floor` are the process's, from `ceiling` on the run's; each side takes an
    entry just before computing it, under a lock shared by the two processes, and only when
    the other side's bound has not reached its rev, so the two never take the same entry (the
    same rev) and meet within an entry of each other, whatever their batches."""

    def __init__(self) -> None:
        self._bounds = procs.context().Array("q", [0, _NO_CEILING])

    def floor(self) -> int:
        with self._bounds.get_lock():
            return int(self._bounds[0])

    def from_oldest(self, entry: StoredEntry) -> bool:
        with self._bounds.get_lock():
            if entry.rev >= self._bounds[1]:
                return False
            self._bounds[0] = max(self._bounds[0], entry.rev)
            return True

    def from_newest(self, entry: StoredEntry) -> bool:
        with self._bounds.get_lock():
            if entry.rev <= self._bounds[0]:
                return False
            self._bounds[1] = min(self._bounds[1], entry.rev)
            return True


class InsightsFollower(Follower):
    """`catch_up_insights` following the store in a second process while this one fetches;
    `share` has this process compute its part of what is left (see `Shares`)."""

    def __init__(self, config: Config) -> None:
        self._shares = Shares()
        work = functools.partial(_follow_work, self._shares)
        super().__init__(work, config, name="newsdesk-insights", what="insights")

    def share(self, store: Store) -> int:
        """Nothing more will be stored: compute the newest pending entries here while the
        process computes the oldest; how many were computed here. Then `finish` waits for
        the process's part."""
        self.fetching_done()
        newest_first = store.pending_insights(self._shares.floor())[::-1]
        return compute(store, newest_first, bump=False, take=self._shares.from_newest)


def insights_process(config: Config) -> InsightsFollower:
    """`catch_up_insights` following the store in a second process while this one fetches."""
    return InsightsFollower(config)


def _follow_work(shares: Shares, config: Config, store: Store, follow: Callable[[float], bool]) -> int:
    return follow_store(store, lambda: follow(0), follow, take=shares.from_oldest)


def follow_store(
    store: Store, finished: Callable[[], bool], wait: Callable[[float], object], *, take: Take | None = None
) -> int:
    """Catch up, then keep catching up with what is stored until `finished()`, asked before
    each look so the last look finds everything; how many entries were done."""
    total, mark = 0, 0
    while True:
        last = finished()
        done, mark = catch_up_insights(store, since=mark, take=take)
        total += done
        if last:
            return total
        if not done:
            wait(POLL)
