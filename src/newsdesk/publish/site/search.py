"""The static site's offline search index: sharded, append-only, loaded on demand.

Design
======
Documents are tokenized at build time with `newsdesk.search.segment.tokenize` (OpenCC t2s,
lowercase, jieba word cut) — the same tokenizer as the archive's search — title plus body.
Tokens are split at non-word characters (so the browser can split a query the same way)
and kept when at most 24 characters long. Every document gets a *docid*, assigned in
chronological order at a full build and appended afterwards; docids are grouped in
*segments* of 4096.

Files (under `search/`, each a script `NDS("<name>", <json>)` so that it loads from
`file://` too, where `fetch` is not allowed):

* `index.js`           constants (segment size, bucket counts, format version);
* `t2s.js`             Traditional→Simplified table: OpenCC's mapping for every character
                       whose simplified form occurs in the vocabulary (a few KB);
* `d/<b>.js`           dictionary, 1024 shards by CRC-32 of a token's *first character*:
                       token → hex bitmask of the segments that contain it;
* `s<k>/<b>.js`        postings of segment k, 512 shards by CRC-32 of the token:
                       token → delta-encoded local docids (so no file exceeds a segment's worth);
* `s<k>/t<b>.js`       the tail of segment k (at most one segment has one, `tl` in index.js,
                       and `tm` the mask of its shards that exist): postings of up to 512
                       documents added after the segment's postings were written, in 64
                       shards, same encoding, docids after all of the segment's;
* `m/<n>.js`           result records of docids [256n, 256n+256): [path, title, date, where],
                       or 0 for a dead docid.

Query in the browser (`static/search.js`, no jieba there): normalise (t2s table + lowercase),
split at non-word characters, load the dictionary shards of the query's distinct characters
(a token always starts with one of them), cover each run with the fewest vocabulary tokens
(dynamic programming over the substrings that are tokens), AND the tokens' segment masks,
then per segment load only the postings shards of those tokens and intersect. Results are
newest docid first; their records load 256 at a time. So a query costs a few dictionary
shards plus one small postings shard per token per segment that holds all its tokens: for
千兆光网 on 100,000 articles a few hundred KB (see docs; `bench` measures it), not the index.

Incremental: new and changed entries are appended to the open segment: to its tail (only the
touched tail shards are rewritten: a build of 100 new articles writes at most 64 postings
files, not 512), or, when the tail would pass 512 documents or the segment is full, to its
postings shards, with the tail folded in and deleted. The touched dictionary and record
shards are rewritten; the manifest keeps the newest segment's vocabulary, so that only tokens
new to the segment touch the dictionary. A changed entry gets a new
docid and its old one is marked dead (records `0`, filtered in the browser); a removed
entry's docid is marked dead. Closed segments are never rewritten. When dead docids pass
30%, or the tokenizer or format changes, the whole index is rebuilt from the store.
"""

from __future__ import annotations

import json
import re
import zlib
from array import array
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import filterfalse
from typing import Any

import orjson

from .model import EntryRecord, local_time, shorten
from .output import Output

FORMAT = "3"  # the index files' layout: an index of another format is rebuilt from scratch
SEG_SIZE = 4096
POST_BUCKETS = 512
TAIL_BUCKETS = 64
TAIL_MAX = 512  # documents in a tail; one more and it is folded into its segment's postings
DICT_BUCKETS = 1024
META_SHARD = 256
MAX_TOKEN = 24
CLOSED_MAX = 2  # closed segments a full build keeps unwritten at most (memory: ~12 MB each)
PREFIX = "search/"

Tokenizer = Callable[[str], list[str]]


@dataclass(frozen=True)
class Segmenter:
    """The tokenizer and what else the search stage's `segment` module offers."""

    tokenize: Tokenizer
    id: str  # enters the index's version: another tokenizer means a rebuilt index
    subwords: Callable[[Iterable[str]], list[str]] | None = None
    normalise: Callable[[str], str] | None = None
    # `tokenize` with punctuation and whitespace tokens left in (cheaper, same `terms`)
    raw_tokens: Tokenizer | None = None


# Separators between the parts of a token, in Python's and in JavaScript's regex alike
# (JS: /[^\p{L}\p{N}]+/u): a query is split the same way in the browser.
_SPLIT = re.compile(r"[\W_]+")
_TAIL_SHARD = re.compile(r"search/s\d+/t\d+\.js$")
_CJK_RANGES = ((0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF))


def bucket(text: str, n: int) -> int:
    """The shard of a token (or character): CRC-32 of its UTF-8 modulo n, as in static/search.js.
    (CRC-32 rather than a hash written in Python: zlib computes it in C.)"""
    return zlib.crc32(text.encode("utf-8", "surrogatepass")) % n


SEGMENTER_ID = "segment:1"  # recorded in the manifest: another tokenizer means a fresh index


def load_segmenter() -> Segmenter:
    """The archive search's tokenizer (imported here: loading jieba's dictionary takes half a
    second, which a build with nothing new to index does not pay)."""
    from ...search import segment

    return Segmenter(
        tokenize=segment.tokenize,
        id=SEGMENTER_ID,
        subwords=segment.subwords,
        normalise=segment.normalise,
        raw_tokens=segment.raw_tokens,
    )


def load_normaliser() -> Callable[[str], str]:
    """`Segmenter.normalise` of `load_segmenter`, without loading the tokenizer."""
    from ...search.normalise import normalise

    return normalise


def segmenter_id() -> str:
    """Which tokenizer `load_segmenter` gives, without importing it."""
    return SEGMENTER_ID


def terms(seg: Segmenter, text: str) -> set[str]:
    """The index terms of a text: its tokens and their dictionary sub-words (准备金率 → 准备金,
    so either cut of a word is found), split at non-word characters, not too long."""
    # A cold build cuts every article: each pass over a document's ~200 distinct tokens costs
    # ~0.2 s per 10,000 articles, so the passes below are few and in C (set, filterfalse, map).
    tokens = set(seg.raw_tokens(text) if seg.raw_tokens is not None else seg.tokenize(text))
    # Tokens with a separator in them (punctuation, "3.5%", "a-b") are few: split only those.
    # (str.isalnum is exactly "no match of _SPLIT": \w is alphanumerics and "_".)
    odd = set(filterfalse(str.isalnum, tokens))
    if odd:
        tokens -= odd
    if seg.subwords is not None:
        tokens.update(seg.subwords(tokens))
        if odd:
            odd.update(seg.subwords(odd))
    if odd:
        tokens.update(_SPLIT.split(" ".join(odd)))
        tokens.discard("")
    if max(map(len, tokens), default=0) > MAX_TOKEN:
        tokens = {t for t in tokens if len(t) <= MAX_TOKEN}
    return tokens


def search_doc(m: EntryRecord, text: str) -> str:
    """What the index cuts for an entry: its title and plain body."""
    return f"{m.title}\n{text}"


def _script(name: str, data: object) -> bytes:
    # orjson: the same bytes as json.dumps(ensure_ascii=False, compact, sorted keys) at a fifth
    # of the time (a cold build writes 2,600 shards, 7 MB); json for what orjson refuses
    # (lone surrogates, from names in the config).
    try:
        body = orjson.dumps(data, option=orjson.OPT_SORT_KEYS)
    except TypeError:
        body = json.dumps(data, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode(
            "utf-8", "surrogatepass"
        )
    return b'NDS("' + name.encode() + b'",' + body + b");\n"


def _unscript(raw: bytes | None) -> Any:
    if raw is None:
        return None
    try:
        inner = raw[raw.index(b",") + 1 : raw.rindex(b")")]
    except ValueError:
        return None
    try:
        return orjson.loads(inner)
    except orjson.JSONDecodeError:
        try:
            return json.loads(inner.decode("utf-8", "surrogatepass"))
        except ValueError:
            return None


def _by_bucket(
    new: Mapping[str, Sequence[int]], n: int, *, every: bool = False
) -> dict[int, dict[str, Sequence[int]]]:
    """Postings grouped by shard (of n); with `every`, all n shards, empty ones included."""
    out: dict[int, dict[str, Sequence[int]]] = {b: {} for b in range(n)} if every else {}
    for t, ids in new.items():
        out.setdefault(bucket(t, n), {})[t] = ids
    return out


def _docids() -> array[int]:
    return array("H")  # local docids < SEG_SIZE (4096) < 65536


def _decode_postings(deltas: list[int]) -> list[int]:
    total = 0
    out = []
    for d in deltas:
        total += d
        out.append(total)
    return out


def _encode_postings(ids: Sequence[int]) -> list[int]:
    prev = 0
    out = []
    for i in ids:
        out.append(i - prev)
        prev = i
    return out


@dataclass
class TermCutter:
    """`terms` of a `search_doc` joined by newlines: one string crosses between processes faster
    than 250 small ones. Pickled to a worker process at its start: the tokenizer's functions go
    by name (the worker has the module loaded), or, not loaded yet, the function that loads it."""

    load: Callable[[], Segmenter]
    seg: Segmenter | None = None

    def __call__(self, doc: str) -> str:
        if self.seg is None:
            self.seg = self.load()
        return "\n".join(terms(self.seg, doc))


class OfflineSearchIndex:
    """Builds and extends the index; `finish` writes what changed through the `Output`."""

    def __init__(
        self, out: Output, state: dict[str, Any] | None, seg_id: str, seg: Callable[[], Segmenter]
    ) -> None:
        self.out = out
        self._load_seg = seg
        self._seg: Segmenter | None = None
        self.version = f"{FORMAT}:{seg_id}"
        st = state or {}
        self.full = st.get("v") != self.version
        if not self.full:
            nxt = int(st.get("next", 0))
            dead = int(st.get("dead", 0))
            self.full = dead > 1000 and dead * 10 > nxt * 3  # too much garbage: rebuild
        if self.full:
            st = {}
        self.ids: dict[str, list[Any]] = st.get("ids", {})  # uid → [docid, mark]
        self.next: int = int(st.get("next", 0))
        self.dead: int = int(st.get("dead", 0))
        self.chars: str = st.get("chars", "")
        self.t2s_all: str = st.get("t2s_all", "")
        # open segment: token → local docids, two bytes each (a million per segment at 100,000
        # articles: as Python ints in lists they took 40 MB)
        self._open: defaultdict[str, array[int]] = defaultdict(_docids)
        self._open_docs = 0  # documents in `_open`
        # A full build's closed segments whose postings are not written yet (`write_closed`).
        self._closed: list[tuple[int, defaultdict[str, array[int]]]] = []
        self._seg_no = self.next // SEG_SIZE
        self._loaded_next = self.next
        # The tail: documents added to a segment after its postings were written, in
        # TAIL_BUCKETS small shards, so that a small build does not rewrite 512 shards.
        tail = st.get("tail")
        self.tail: dict[str, int] | None = tail if isinstance(tail, dict) else None
        # Tokens of one segment (the newest), so a small build knows which of its tokens are
        # new to the segment (their dictionary entry gains its bit) without reading shards.
        vocab = st.get("vocab")
        self._vocab_seg: int | None = vocab["seg"] if isinstance(vocab, dict) else None
        self._vocab_text: str = vocab["tokens"] if isinstance(vocab, dict) else ""
        self._vocab: set[str] | None = None  # the text as a set, made when needed
        self._records: dict[int, dict[int, Any]] = {}  # meta shard → {docid: record}
        self._dicts: dict[int, dict[str, str]] = {}  # loaded dictionary shards
        self._dirty_dicts: set[int] = set()
        self._new_chars: set[str] = set()
        self._written: set[str] = set()

    @property
    def seg(self) -> Segmenter:
        if self._seg is None:
            self._seg = self._load_seg()
        return self._seg

    @property
    def tokenizer_loaded(self) -> bool:
        """Whether this process has loaded the tokenizer (a forked worker has its own copy)."""
        return self._seg is not None

    def needs(self, m: EntryRecord) -> bool:
        have = self.ids.get(m.uid)
        return have is None or have[1] != m.mark

    def add(self, m: EntryRecord, text: str) -> None:
        """Index (or re-index) an entry; `text` is its plain body."""
        self.add_terms(m, terms(self.seg, search_doc(m, text)))

    def cutter(self, *, load_now: bool = True) -> TermCutter:
        """`terms` of a `search_doc` joined by newlines, for a worker process to run (see
        `TermCutter`). `load_now`: load the tokenizer now (this process cuts texts too), else
        in the first process that cuts a text."""
        return TermCutter(self._load_seg, self.seg if load_now else None)

    def add_terms(self, m: EntryRecord, doc_terms: Iterable[str] | str) -> None:
        """Index (or re-index) an entry from its terms (`terms` of its `search_doc`, or what
        `cutter` made of it)."""
        if isinstance(doc_terms, str):
            doc_terms = doc_terms.split("\n") if doc_terms else ()
        old = self.ids.get(m.uid)
        if old is not None:
            self._kill(int(old[0]))
        docid = self.next
        if docid // SEG_SIZE != self._seg_no:
            if self.full and self._open:
                # Written later (`write_closed`), when the build process has time: written
                # here, inside the loop that collects the workers' results, it left them idle.
                self._closed.append((self._seg_no, self._open))
                self._open, self._open_docs = defaultdict(_docids), 0
                if len(self._closed) > CLOSED_MAX:
                    self.write_closed()
            else:
                self._flush_segment(closing=True)
            self._seg_no = docid // SEG_SIZE
        self.next += 1
        self._open_docs += 1
        self.ids[m.uid] = [docid, m.mark]
        local = docid % SEG_SIZE
        seg = self._open
        for t in doc_terms:  # the build's hottest loop: a defaultdict saves a test per term
            seg[t].append(local)
        when = local_time(m.ts).strftime("%Y-%m-%d %H:%M")
        where = m.source or f"{m.site} · {m.feed}"
        self._record(docid, [m.path, shorten(m.display_title, 120), when, where])

    def remove(self, uid: str) -> None:
        old = self.ids.pop(uid, None)
        if old is not None:
            self._kill(int(old[0]))

    def retain(self, uids: Iterable[str]) -> None:
        """Mark dead every indexed entry not in `uids` (entries gone from the store)."""
        keep = set(uids)
        for uid in [u for u in self.ids if u not in keep]:
            self.remove(uid)

    def _kill(self, docid: int) -> None:
        self.dead += 1
        self._record(docid, 0)

    def _record(self, docid: int, rec: Any) -> None:
        shard = docid // META_SHARD
        recs = self._records.get(shard)
        if recs is None:
            # Records are written a shard at a time and dropped: docids come in order, so at
            # 100,000 entries only the newest shards are in memory, not every title.
            for done in [k for k in self._records if k < shard and k < self.next // META_SHARD]:
                self._write_records(done)
            recs = self._records[shard] = {}
            old = None if self.full else _unscript(self.out.read(f"{PREFIX}m/{shard}.js"))
            if isinstance(old, list):
                recs.update(enumerate(old, shard * META_SHARD))
        recs[docid] = rec

    def _write_records(self, shard: int) -> None:
        recs = self._records.pop(shard)
        base = shard * META_SHARD
        top = max(recs) - base + 1
        self._put(f"m/{shard}", [recs.get(base + i, 0) for i in range(top)])

    def _dict_shard(self, b: int) -> dict[str, str]:
        d = self._dicts.get(b)
        if d is None:
            old = None if self.full else _unscript(self.out.read(f"{PREFIX}d/{b}.js"))
            d = self._dicts[b] = old if isinstance(old, dict) else {}
        return d

    def _segment_vocab(self, k: int) -> set[str] | None:
        """Tokens of segment k's postings (tail included), when known without reading them."""
        if self._vocab_seg != k:
            return None
        if self._vocab is None:
            self._vocab = set(self._vocab_text.split("\n")) if self._vocab_text else set()
        return self._vocab

    def _flush_segment(self, *, closing: bool = False) -> None:
        """Write the open segment's new postings: into its tail when the segment's postings
        exist and the tail stays small, else merged into the segment's postings (with its
        tail, which then goes). `closing`: the segment is full."""
        k = self._seg_no
        if not self._open:
            return
        if self.tail is not None and self.tail["seg"] != k:
            self._fold_tail()  # one tail at a time: the newest segment's
        new: Mapping[str, Sequence[int]] = self._open
        docs = self._open_docs
        self._open, self._open_docs = defaultdict(_docids), 0
        vocab = self._segment_vocab(k)
        in_tail = self.tail["docs"] if self.tail is not None else 0
        if (
            not self.full
            and not closing
            and vocab is not None
            and k * SEG_SIZE < self._loaded_next  # the segment's postings exist
            and in_tail + docs <= TAIL_MAX
        ):
            mask = self._write_tail(k, new, vocab)
            self.tail = {"seg": k, "docs": in_tail + docs, "mask": mask}
        else:
            if self.tail is not None:
                new = self._merged_with_tail(new)
            self._write_postings(k, new, vocab)
        # What the next build needs to know of the newest segment's tokens.
        if closing:
            self._vocab_seg, self._vocab = None, None
        else:
            if vocab is None:
                vocab = set(new) if k * SEG_SIZE >= self._loaded_next or self.full else self._read_vocab(k)
            vocab.update(new)
            self._vocab_seg, self._vocab = k, vocab
        self._vocab_text = ""  # made again from the set at `finish`

    def _write_postings(self, k: int, new: Mapping[str, Sequence[int]], vocab: set[str] | None) -> None:
        """Merge postings (local docids after every docid already there) into segment k's
        shards, and give tokens new to the segment its bit in the dictionary."""
        bit = 1 << k
        # A new segment has every shard, empty or not: a token only in its tail later is still
        # looked up in its postings shard, and a missing script is a console error.
        every = self.full or k * SEG_SIZE >= self._loaded_next
        buckets = _by_bucket(new, POST_BUCKETS, every=every)
        for b, part in buckets.items():
            name = f"s{k}/{b}"
            old = None if self.full else _unscript(self.out.read(f"{PREFIX}{name}.js"))
            merged: dict[str, list[int]] = old if isinstance(old, dict) else {}
            for t in self._append(merged, part):
                # A token already in the segment has its bit: its dictionary shard is neither
                # read nor rewritten, which an incremental build would pay for.
                if vocab is None or t not in vocab:
                    self._mark(t, bit)
            self._put(name, merged)

    def _write_tail(self, k: int, new: Mapping[str, Sequence[int]], vocab: set[str]) -> int:
        """Append postings to segment k's tail; returns the mask of tail shards that exist
        (index.js tells the browser, which asks for no other)."""
        bit = 1 << k
        buckets = _by_bucket(new, TAIL_BUCKETS)
        mask = self.tail["mask"] if self.tail is not None else 0
        for b, part in buckets.items():
            name = f"s{k}/t{b}"
            old = _unscript(self.out.read(f"{PREFIX}{name}.js")) if mask >> b & 1 else None
            merged: dict[str, list[int]] = old if isinstance(old, dict) else {}
            self._append(merged, part)
            self._put(name, merged)
            mask |= 1 << b
        for t in new:
            if t not in vocab:
                self._mark(t, bit)
        return mask

    @staticmethod
    def _append(merged: dict[str, list[int]], new: Mapping[str, Sequence[int]]) -> list[str]:
        """Append `new` postings to delta-encoded `merged` in place; returns tokens it lacked.
        New docids follow every old one, so a token's new deltas go on the end of its old
        ones and nothing else is decoded."""
        added = []
        for t, ids in new.items():
            deltas = _encode_postings(ids)
            have = merged.get(t)
            if have is None:
                merged[t] = deltas
                added.append(t)
            else:
                merged[t] = [*have, deltas[0] - sum(have), *deltas[1:]]
        return added

    def _merged_with_tail(self, new: Mapping[str, Sequence[int]]) -> dict[str, list[int]]:
        """The tail's postings followed by `new` (decoded), the tail dropped."""
        assert self.tail is not None
        k, mask = self.tail["seg"], self.tail["mask"]
        out: dict[str, list[int]] = {}
        for b in range(TAIL_BUCKETS):
            if not mask >> b & 1:
                continue
            part = _unscript(self.out.read(f"{PREFIX}s{k}/t{b}.js"))
            if isinstance(part, dict):
                for t, deltas in part.items():
                    out[t] = _decode_postings(deltas)
        for t, ids in new.items():
            out.setdefault(t, []).extend(ids)
        self.tail = None  # its files are not kept: the build's sweep deletes them
        return out

    def _fold_tail(self) -> None:
        assert self.tail is not None
        k = self.tail["seg"]
        self._write_postings(k, self._merged_with_tail({}), self._segment_vocab(k))

    def _read_vocab(self, k: int) -> set[str]:
        """Tokens of segment k, read from its postings (once, when the state lacks them)."""
        vocab: set[str] = set()
        for b in range(POST_BUCKETS):
            part = _unscript(self.out.read(f"{PREFIX}s{k}/{b}.js"))
            if isinstance(part, dict):
                vocab.update(part)
        return vocab

    def _mark(self, t: str, bit: int) -> None:
        db = bucket(t[0], DICT_BUCKETS)
        d = self._dict_shard(db)
        mask = int(d.get(t, "0"), 16)
        if not mask & bit:
            d[t] = format(mask | bit, "x")
            self._dirty_dicts.add(db)
            self._new_chars.update(t)

    def _put(self, name: str, data: object) -> None:
        path = f"{PREFIX}{name}.js"
        self.out.put(path, "search", _script(name, data))
        self._written.add(path)

    def closed_waiting(self) -> bool:
        """Whether a closed segment waits for `write_closed`."""
        return bool(self._closed)

    def write_closed(self) -> None:
        """Write the postings of the oldest closed segment of a full build (if any)."""
        if self._closed:
            k, new = self._closed.pop(0)
            self._write_postings(k, new, None)

    def prepare(self) -> None:
        """Work of `finish` that needs no terms (done while the workers still cut them)."""
        if not self.t2s_all:
            self.t2s_all = self._t2s_pairs()

    def finish(self) -> dict[str, Any]:
        """Write every changed shard, keep the others; returns the state for the manifest."""
        while self._closed:
            self.write_closed()
        self._flush_segment()
        for shard in list(self._records):
            self._write_records(shard)
        # Every dictionary shard exists, empty or not: the browser asks for the shard of any
        # character typed, and a missing script would be an error in its console.
        for b in range(DICT_BUCKETS):
            if b in self._dirty_dicts or self.full or f"{PREFIX}d/{b}.js" not in self.out.old:
                self._put(f"d/{b}", self._dicts.get(b, {}))
        chars = "".join(sorted(set(self.chars) | self._new_chars))
        if chars != self.chars or f"{PREFIX}t2s.js" not in self.out.old or self.full:
            self.chars = chars
            self._put("t2s", self._t2s_table(chars))
        tail_seg = self.tail["seg"] if self.tail is not None else -1
        tail_mask = format(self.tail["mask"], "x") if self.tail is not None else "0"
        self._put(
            "index",
            {
                "v": FORMAT,
                "seg": SEG_SIZE,
                "pb": POST_BUCKETS,
                "db": DICT_BUCKETS,
                "ms": META_SHARD,
                "tb": TAIL_BUCKETS,
                "tl": tail_seg,  # the segment whose tail shards (s<k>/t<b>) a query also reads
                "tm": tail_mask,  # which of them exist (hex bit mask)
            },
        )
        if self._vocab is not None and not self._vocab_text:
            self._vocab_text = "\n".join(sorted(self._vocab))
        if not self.full:
            tail = f"{PREFIX}s{tail_seg}/t"
            for path in self.out.old:
                if path.startswith(PREFIX) and path not in self._written:
                    # A folded tail's shards are not kept: the sweep deletes them.
                    if _TAIL_SHARD.match(path) and not path.startswith(tail):
                        continue
                    self.out.keep(path)
        return {
            "v": self.version,
            "ids": self.ids,
            "next": self.next,
            "dead": self.dead,
            "chars": self.chars,
            "t2s_all": self.t2s_all,
            "tail": self.tail,
            "vocab": {"seg": self._vocab_seg, "tokens": self._vocab_text}
            if self._vocab_seg is not None
            else None,
        }

    def _t2s_table(self, chars: str) -> str:
        """Pairs (traditional, simplified) as one string, for simplified characters in `chars`."""
        if not self.t2s_all:
            self.t2s_all = self._t2s_pairs()
        present = set(chars)
        pairs = self.t2s_all
        return "".join(pairs[i : i + 2] for i in range(0, len(pairs), 2) if pairs[i + 1] in present)

    def _t2s_pairs(self) -> str:
        # Through the same normalisation as the tokenizer: whatever OpenCC configuration the
        # archive search uses, the browser folds Traditional input the same way. Character by
        # character (phrase-level conversions are lost; single characters are what matter).
        chars = [chr(cp) for lo, hi in _CJK_RANGES for cp in range(lo, hi + 1)]
        # The tokenizer's own normalisation when it is loaded, else the same function from its
        # light module (a build whose articles were all cut in a worker does not load jieba).
        normalise = self._seg.normalise if self._seg is not None else load_normaliser()
        if normalise is not None:
            # One call; newlines keep OpenCC from matching phrases across characters.
            got = normalise("\n".join(chars)).split("\n")
            if len(got) != len(chars):
                got = [normalise(c) for c in chars]
        else:
            got = ["".join(self.seg.tokenize(c)) for c in chars]
        return "".join(c + g for c, g in zip(chars, got, strict=True) if len(g) == 1 and g != c)
