"""Story clusters: the same story published by several outlets (or twice by one) is one cluster.

An entry joins an existing cluster, in this order, when it has
1. the same canonical link (scheme, `www.`, fragment and tracking parameters ignored), or
2. the same normalised text (Traditional → Simplified, lowercase, no spaces or punctuation), or
3. nearly the same text: MinHash over character 5-shingles of the normalised text estimates
   Jaccard similarity ≥ NEAR_THRESHOLD with a member, found through LSH bands.

Why character shingles and not words: they need no segmentation (so no dictionary drift),
and five Chinese characters are about two words, specific enough that two reports on one
topic share few of them while a republished copy with a new title, other boilerplate, an
editor's note or a few rewritten sentences keeps most.

Why one-permutation MinHash (one hash per shingle, split into 128 bins, minimum per bin) and
not 128 independent hashes: it costs one hash per shingle instead of 128, vectorised with numpy
over a whole batch, which is what keeps clustering inside the ingest budget. Empty bins
(short texts) are filled from the next non-empty bin ("rotation" densification).

The canonical entry of a cluster is its earliest member (published, else first seen). A
cluster's id is the uid of the entry that founded it; it stays when members come and go.
Pure functions over texts are here; persistence goes through the Store (clusters tables).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlencode, urlsplit

from ..models import ClusterMember, ClusterReason
from .segment import normalise
from .text import entry_text

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    from ..models import StoredEntry
    from ..store import Store

__all__ = [
    "Features",
    "Item",
    "Session",
    "cluster_batch",
    "cluster_items",
    "features",
    "item_of",
    "link_key",
    "shingle_text",
    "similarity",
    "text_key",
    "update_clusters",
]

SHINGLE = 5  # characters per shingle
BINS = 128  # MinHash values per signature (sd of the estimate ≈ 0.045 at J = 0.5)
BANDS = 20  # LSH bands of ROWS values each (BANDS * ROWS <= BINS)
ROWS = 3
NEAR_THRESHOLD = 0.45  # estimated Jaccard similarity that makes a near-duplicate
MIN_TEXT = 20  # normalised characters below which text says too little to cluster on
CANDIDATES = 8  # candidates per entry checked against their signatures
BAND_CLUSTERS = 16  # clusters remembered per LSH band

_NON_WORD = re.compile(r"[\W_]+")
_TRACKING = re.compile(r"^(utm_\w+|spm|from|source|share_\w+|fbclid|gclid|wfr|cre|mod|loc|r|s|f)$", re.I)


@dataclass(frozen=True)
class Features:
    """What clustering needs of one entry."""

    uid: str
    feed_key: str
    sort_time: datetime  # published, else first seen (UTC)
    link: str | None  # canonical link key
    text: str | None  # hash of the normalised text (None when too short)
    signature: bytes | None  # BINS uint16 MinHash values (None when too short)
    bands: tuple[int, ...]  # LSH band keys (empty without a signature)


# pure functions ------------------------------------------------------------------------------
def link_key(link: str | None) -> str | None:
    """Canonical form of an article link, or None for links that cannot identify a story."""
    if not link:
        return None
    try:
        parts = urlsplit(link.strip())
    except ValueError:
        return None
    host = (parts.hostname or "").lower().removeprefix("www.")
    path = parts.path.rstrip("/")
    if not host or not path:  # a site's front page says nothing about the story
        return None
    if not parts.query:
        return host + path
    query = urlencode(sorted((k, v) for k, v in parse_qsl(parts.query) if not _TRACKING.match(k)))
    return f"{host}{path}" + (f"?{query}" if query else "")


def _shingle_text(text: str) -> str:
    return shingle_text(normalise(text))


def text_key(text: str) -> str | None:
    """Hash of the normalised text, for exact duplicates; None when too short to mean anything."""
    norm = _shingle_text(text)
    if len(norm) < MIN_TEXT:
        return None
    return hashlib.sha1(norm.encode("utf-8")).hexdigest()


def _signatures(texts: Sequence[str]) -> npt.NDArray[np.uint16] | None:
    """(len(texts), BINS) one-permutation MinHash values of normalised texts; rows of texts
    shorter than MIN_TEXT are all 0xFFFF. Vectorised over the whole batch."""
    import numpy as np

    n = len(texts)
    lengths = np.fromiter((len(t) for t in texts), dtype=np.int64, count=n)
    total = int(lengths.sum())
    if total < SHINGLE:
        return None
    cps = np.frombuffer("".join(texts).encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    ends = np.cumsum(lengths)
    doc = np.repeat(np.arange(n, dtype=np.int64), lengths)
    m = total - SHINGLE + 1
    h = np.zeros(m, dtype=np.uint64)
    mult = np.uint64(0x100000001B3)
    for j in range(SHINGLE):  # polynomial hash of each window of SHINGLE code points
        h = h * mult + cps[j : j + m]
    valid = (np.arange(m) + SHINGLE <= ends[doc[:m]]) & (lengths[doc[:m]] >= MIN_TEXT)
    h, d = h[valid], doc[:m][valid]
    # splitmix64 finaliser: spreads the bits so that bin and value are independent.
    z = h + np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    z = z ^ (z >> np.uint64(31))
    bins = (z >> np.uint64(64 - BINS.bit_length() + 1)).astype(np.int64)  # top log2(BINS) bits
    values = (z & np.uint64(0xFFFF)).astype(np.uint16)
    sig = np.full(n * BINS, 0xFFFF, dtype=np.uint16)
    filled = np.zeros(n * BINS, dtype=bool)
    keys = d * BINS + bins
    np.minimum.at(sig, keys, values)
    filled[keys] = True
    sig2, filled2 = sig.reshape(n, BINS), filled.reshape(n, BINS)
    rows = np.flatnonzero(~filled2.all(axis=1) & filled2.any(axis=1))
    if rows.size:
        sub, have = sig2[rows], filled2[rows]
        out, done = sub.copy(), have.copy()
        for step in range(1, BINS):  # rotation densification: borrow from the next filled bin
            if done.all():
                break
            take = ~done & np.roll(have, -step, axis=1)
            shifted = np.roll(sub, -step, axis=1) ^ np.uint16((step * 0x9E37) & 0xFFFF)
            out[take] = shifted[take]
            done |= take
        sig2[rows] = out
    return sig2


def _bands(sig: npt.NDArray[np.uint16]) -> list[tuple[int, ...]]:
    import numpy as np

    n = sig.shape[0]
    s = sig[:, : BANDS * ROWS].astype(np.uint64).reshape(n, BANDS, ROWS)
    key = np.zeros((n, BANDS), dtype=np.uint64) + np.arange(BANDS, dtype=np.uint64) * np.uint64(
        0xA24BAED4963EE407
    )
    for r in range(ROWS):
        key = (key ^ s[:, :, r]) * np.uint64(0x9FB21C651E98DF25)
    key = key >> np.uint64(1)  # fits SQLite's signed 64-bit integers
    return [tuple(int(v) for v in row) for row in key.tolist()]


def similarity(a: bytes, b: bytes) -> float:
    """Estimated Jaccard similarity of two signatures: the share of equal MinHash values."""
    import numpy as np

    x, y = np.frombuffer(a, dtype=np.uint16), np.frombuffer(b, dtype=np.uint16)
    return float(np.count_nonzero(x == y)) / BINS


@dataclass(frozen=True)
class Item:
    """One text to cluster. `shingles` is the text already passed through `shingle_text`
    (the search catch-up computes it once for both the index and clustering)."""

    uid: str
    text: str
    feed_key: str = ""
    sort_time: datetime = datetime(1970, 1, 1, tzinfo=UTC)
    link: str | None = None
    shingles: str | None = None


def item_of(entry: StoredEntry, text: str | None = None, shingles: str | None = None) -> Item:
    return Item(
        entry.uid,
        entry_text(entry) if text is None else text,
        entry.feed_key,
        entry.published or entry.first_seen,
        entry.link,
        shingles,
    )


def shingle_text(normalised: str) -> str:
    """What shingles are taken from: `segment.normalise`d text without spaces or punctuation."""
    return _NON_WORD.sub("", normalised)


def features(items: Sequence[Item]) -> list[Features]:
    """Features of a batch of items (signatures computed together, vectorised)."""
    norm = [i.shingles if i.shingles is not None else _shingle_text(i.text) for i in items]
    sig = _signatures(norm)
    bands = _bands(sig) if sig is not None else []
    out = []
    for n, (item, t) in enumerate(zip(items, norm, strict=True)):
        long_enough = len(t) >= MIN_TEXT and sig is not None
        out.append(
            Features(
                uid=item.uid,
                feed_key=item.feed_key,
                sort_time=item.sort_time,
                link=link_key(item.link),
                text=hashlib.sha1(t.encode("utf-8")).hexdigest() if long_enough else None,
                signature=sig[n].tobytes() if long_enough and sig is not None else None,
                bands=bands[n] if long_enough else (),
            )
        )
    return out


def cluster_items(items: Sequence[Item]) -> dict[str, str]:
    """uid → cluster id for a set of texts clustered on their own (no archive)."""
    members, _ = cluster_batch(features(items), _Known({}, {}, {}, {}))
    return {m.uid: m.cluster_id for m in members}


@dataclass
class _Known:
    """Members an entry can match: those stored before the batch, then the batch's own."""

    by_link: dict[str, tuple[str, str]]  # link key → (cluster id, uid)
    by_text: dict[str, tuple[str, str]]
    by_band: dict[int, list[tuple[str, str]]]  # band → [(cluster id, uid)], one uid per cluster
    signatures: dict[str, bytes]
    held: set[tuple[int, str]] = field(default_factory=set)  # (band, cluster id) in by_band


def cluster_batch(
    batch: Sequence[Features], known: _Known
) -> tuple[list[ClusterMember], list[tuple[int, str]]]:
    """Assign each entry of the batch (oldest first) to a cluster. Returns the members and the
    (band, uid) rows to store. `known` is updated with the batch as it goes."""
    members: list[ClusterMember] = []
    band_rows: list[tuple[int, str]] = []
    for f in sorted(batch, key=lambda f: (f.sort_time, f.uid)):
        found: tuple[str, ClusterReason, float] | None = None
        if f.link and f.link in known.by_link:
            found = (known.by_link[f.link][0], "link", 1.0)
        elif f.text and f.text in known.by_text:
            found = (known.by_text[f.text][0], "text", 1.0)
        elif f.signature is not None:
            found = _nearest(f, known)
        cid, reason, sim = found if found else (f.uid, "first", 1.0)
        members.append(
            ClusterMember(f.uid, cid, f.feed_key, f.sort_time, reason, sim, f.link, f.text, f.signature)
        )
        if f.link:
            known.by_link.setdefault(f.link, (cid, f.uid))
        if f.text:
            known.by_text.setdefault(f.text, (cid, f.uid))
        # Bands are kept once per cluster and for at most BAND_CLUSTERS clusters: boilerplate
        # that every article shares must not make each lookup a thousand candidates long.
        # A near copy is matched through the member it resembled, so only a cluster's founder
        # (and a same-link entry whose text changed) adds bands: copies of a copy are still
        # close to the founder, and a thousand copies cost no more than one.
        if f.signature is not None and reason in ("first", "link"):
            stored = False
            for b in f.bands:
                holders = known.by_band.setdefault(b, [])
                if len(holders) < BAND_CLUSTERS and (b, cid) not in known.held:
                    holders.append((cid, f.uid))
                    known.held.add((b, cid))
                    band_rows.append((b, f.uid))
                    stored = True
            if stored:
                known.signatures[f.uid] = f.signature
    return members, band_rows


def _nearest(f: Features, known: _Known) -> tuple[str, ClusterReason, float] | None:
    """The first member sharing a band whose signature is similar enough, checking at most
    CANDIDATES members. A republished copy shares most bands with its original, so the first
    candidate is nearly always the one: no voting, one comparison per copy."""
    import numpy as np

    assert f.signature is not None
    mine = np.frombuffer(f.signature, dtype=np.uint16)
    checked: set[str] = set()
    for b in f.bands:
        for cid, uid in known.by_band.get(b, ()):
            other = known.signatures.get(uid)
            if other is None or uid in checked or uid == f.uid:
                continue
            checked.add(uid)
            sim = float(np.count_nonzero(np.frombuffer(other, dtype=np.uint16) == mine)) / BINS
            if sim >= NEAR_THRESHOLD:
                return cid, "near", sim
            if len(checked) >= CANDIDATES:
                return None
    return None


# persistence --------------------------------------------------------------------------------
class Session:
    """What one catch-up has learnt so far. Members it saved are matched from memory, not
    looked up again; a store that had no clusters when it began (first run, reindex) is
    never asked at all. Memory is bounded: past MAX_REMEMBERED band entries it forgets and
    asks the store again.

    Several processes may cluster one archive at once (workers on PostgreSQL): each batch is
    saved only if the store's mark is still the one the session started the batch from
    (`save_clusters(expect=…)`, under the mark's row lock). The process that finds it moved
    forgets what it remembers and clusters what is left after the other's mark, so the
    clusters are always those of one process taking the changes in order: copies of one
    story stored by two workers at the same moment never found two clusters."""

    MAX_REMEMBERED = 2_000_000

    def __init__(self, store: Store) -> None:
        self.store = store
        self.mark = store.cluster_mark()
        self.cold = self.mark == 0  # the mark is 0 exactly when no entry is clustered
        self.known = _Known({}, {}, {}, {})
        self.remembered = 0

    def apply(self, changes: Sequence[tuple[int, str, bool]], items: Sequence[Item]) -> int:
        """Re-cluster the entries of one batch of `store.changes_since` (removed ones just leave
        their clusters) and save it with the batch's last rev in one transaction: a crash
        leaves the clusters at a consistent earlier rev and the next run re-applies from there.
        Changes at or before the store's mark (another process clustered them) are skipped."""
        while True:
            todo = [c for c in changes if c[0] > self.mark]
            if not todo:
                return 0
            saved = self._save(todo, items)
            if saved is not None:
                return saved
            mark = self.store.cluster_mark()
            if mark < self.mark:
                # The clusters were reset (a reindex is under way): that process clusters everything.
                self.mark = changes[-1][0]
                return 0
            self.known, self.remembered, self.cold, self.mark = _Known({}, {}, {}, {}), 0, False, mark

    def _save(self, changes: Sequence[tuple[int, str, bool]], items: Sequence[Item]) -> int | None:
        """Cluster and save; None when another process moved the mark first."""
        touched = list(dict.fromkeys(uid for _, uid, _ in changes))
        wanted = set(touched)
        feats = features([i for i in items if i.uid in wanted])
        known = self.known
        if not self.cold:
            by_link, by_text, by_band, sigs = self.store.cluster_lookup(
                links=[f.link for f in feats if f.link],
                texts=[f.text for f in feats if f.text],
                bands=[b for f in feats for b in f.bands],
                exclude=touched,
            )
            for k, v in by_link.items():
                known.by_link.setdefault(k, v)
            for k, v in by_text.items():
                known.by_text.setdefault(k, v)
            for band, holders in by_band.items():
                mine = known.by_band.setdefault(band, [])
                for cid, uid in holders:
                    if (band, cid) not in known.held:
                        mine.append((cid, uid))
                        known.held.add((band, cid))
            known.signatures.update(sigs)
        for uid in touched:  # entries being re-clustered must not match their old selves
            known.signatures.pop(uid, None)
        members, band_rows = cluster_batch(feats, known)
        last = changes[-1][0]
        if not self.store.save_clusters(members, band_rows, detached=touched, mark=last, expect=self.mark):
            return None
        self.mark = last
        self.remembered += len(band_rows)
        if self.remembered > self.MAX_REMEMBERED:
            self.known, self.remembered, self.cold = _Known({}, {}, {}, {}), 0, False
        return len(members)


def update_clusters(store: Store, *, batch: int = 5000) -> int:
    """Bring the clusters up to date with the store's changes; returns entries (re)clustered."""
    mark = store.cluster_mark()
    if mark > store.max_rev():  # a restored or different archive: start over
        store.reset_clusters()
        mark = 0
    done = 0
    session = Session(store)
    while changes := store.changes_since(max(mark, session.mark), limit=batch):
        entries = store.get_entries(u for _, u, removed in changes if not removed)
        done += session.apply(changes, [item_of(e) for e in entries])
        mark = changes[-1][0]
    return done
