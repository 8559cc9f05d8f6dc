"""The search index: a `SearchIndex` Protocol and its embedded implementation on tantivy.

Why tantivy: on the same 100,000 articles and 50 queries (bench/bench_search.py, docs/search.md)
it answers in p50 0.2 ms / p95 2 ms where SQLite FTS5 over the same jieba tokens needs
6 / 23 ms, in an index a third the size; at 1,000,000 articles p95 stays under 20 ms.

Fields: `body` holds the tokens of title and text at consecutive positions (so a split word
is found as a phrase), `title` the title's tokens again (a match there ranks higher), `chars`
the normalised text cut by tantivy into single Han characters (positions too). Tokens come
from `segment.tokenize` and reach tantivy joined by spaces through its whitespace tokenizer,
the cheapest way to hand over pre-cut words. A query matches words first; when that finds
less than a page it also matches each word as a run of characters, which finds words that
jieba cut differently in their context (专精特新 after 公司中 is 中专 + 精特新) and words inside
longer ones (准备金 in 准备金率). Filters are raw (untokenised) fields; `ts` (published, else
first seen, epoch seconds) is a fast field for date ranges and date order.

Consistency with the store: the index records, in a sidecar written after each commit, the
store rev it has applied. `sync` applies `changes_since(rev)` as delete-by-uid-then-add, so
re-applying after a crash between commit and sidecar is harmless. A missing or unreadable
index, another schema version, or a sidecar ahead of the store (a different or restored
database) make it rebuild from the store.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import json
import logging
import os
import re
import shutil
import struct
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import tantivy

from .. import atomic
from ..errors import SearchError
from ..models import EntryText
from ..store import Store, open_store
from .hits import SearchHit, SearchIndex, collect, parse
from .query import AnyOf, Filters, Match, ParsedQuery, Sort
from .segment import normalise
from .sidecar import SIDECAR
from .update import LARGE_HEAP, Prepared

__all__ = ["SearchError", "SearchHit", "SearchIndex", "TantivyIndex"]

log = logging.getLogger("newsdesk.search")

SCHEMA_VERSION = 5
_TANTIVY_VERSION = importlib.metadata.version("tantivy")
MAX_TOKEN = 64  # longer tokens (base64, URLs run together) are noise and tantivy caps term size
WORDS = "newsdesk_words"  # whitespace tokenizer over pre-cut words, dropping overlong ones
CHARS = "newsdesk_chars"  # one token per Han character, Latin/digit runs whole (normalised text)
_CHARS = tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.regex(r"\p{Han}|[\p{L}\p{N}]+")).build()
TITLE_BOOST = 2.0


def _schema() -> tantivy.Schema:
    b = tantivy.SchemaBuilder()
    b.add_text_field("uid", tokenizer_name="raw", index_option="basic")  # for delete-by-uid
    # The uid (16 hex digits) as a number in a fast field: reading it for a thousand hits is
    # a column lookup, where a stored field would decompress the document store.
    # Signed: documents built from Python ints are i64 (the uid's bits, two's complement).
    b.add_integer_field("uid64", fast=True)
    # The story cluster the entry was in when indexed (its id's 64 bits, 0: not clustered yet):
    # a ranking's copies of one story are known without asking the archive hit by hit.
    b.add_integer_field("story64", fast=True)
    b.add_text_field("body", tokenizer_name=WORDS, index_option="position")
    b.add_text_field("title", tokenizer_name=WORDS, index_option="position")
    b.add_text_field("chars", tokenizer_name=CHARS, index_option="position")
    for name in ("group", "site", "feed", "feed_key", "source"):
        b.add_text_field(name, tokenizer_name="raw", index_option="basic")
    b.add_integer_field("ts", indexed=True, fast=True)
    return b.build()


def _with_words(index: tantivy.Index) -> tantivy.Index:
    # Custom analyzers are not stored in the index: register ours on every open.
    index.register_tokenizer(CHARS, _CHARS)
    index.register_tokenizer(
        WORDS,
        tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.whitespace())
        .filter(tantivy.Filter.remove_long(MAX_TOKEN))
        .build(),
    )
    return index


def _id64(hex_id: str) -> int:
    return int.from_bytes(bytes.fromhex(hex_id), "big", signed=True)


def _hexes(values: Sequence[int | float | bool | None]) -> list[str]:
    """Uids or story ids back from their fast field, 16 hex digits each (0 for a missing value).
    One `struct.pack` and one `hex` for the whole list: a ranking's second round reads a
    thousand hits, and a call per value cost as much as tantivy's ranking of them. (The values
    are packed as they come, all ints but for a missing one: a generator over them cost as
    much as the packing.)"""
    try:
        packed = struct.pack(f">{len(values)}q", *values)
    except struct.error:
        packed = struct.pack(f">{len(values)}q", *(int(v or 0) for v in values))
    blob = packed.hex()
    return [blob[i : i + 16] for i in range(0, len(blob), 16)]


def _story_hexes(values: Sequence[int | float | bool | None]) -> list[str]:
    """`_hexes` of story ids, each distinct one made once: a ranking holds few stories (a big
    story's copies rank side by side), so most of its values repeat."""
    distinct = list(dict.fromkeys(values))
    names = dict(zip(distinct, _hexes(distinct), strict=True))
    return [names[v] for v in values]


# tantivy writes meta.json and .managed.json through a temporary file in the index's folder
# (the tempfile crate's `.tmp` and six characters), renamed into place: a writer killed between
# the two leaves it there, and tantivy never looks at it again.
_TANTIVY_TEMP = re.compile(r"\.tmp[0-9A-Za-z]{6}")


def sweep_tantivy_temp(path: Path) -> int:
    """Remove tantivy's temporary files from the index folder `path`; how many. Only while
    holding the index's writer lock: then none is being written."""
    removed = 0
    with contextlib.suppress(FileNotFoundError), os.scandir(path) as entries:
        for e in entries:
            if _TANTIVY_TEMP.fullmatch(e.name) and e.is_file(follow_symlinks=False):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(e.path)
                    removed += 1
    return removed


def document(entry: EntryText, prepared: Prepared, story: str | None = None) -> tantivy.Document:
    """The index document of an entry whose text has been prepared (`update.prepare`), in
    the story cluster `story` (None: not clustered yet)."""
    fields: dict[str, Any] = {
        "uid": entry.uid,
        "uid64": _id64(entry.uid),
        "story64": _id64(story) if story else 0,
        "title": prepared.title,
        "body": prepared.body,
        "chars": prepared.chars,
        "group": entry.group,
        "site": entry.site,
        "feed": entry.feed,
        "feed_key": entry.feed_key,
        "ts": int(entry.when.timestamp()),
    }
    if entry.source:
        fields["source"] = entry.source
    return tantivy.Document(**fields)


class _Stories(dict[str, str]):
    """uid → story of a batch's entries, for its changes up to `mark` (the cluster mark)."""

    def __init__(self, mark: int) -> None:
        super().__init__()
        self.mark = mark


class TantivyIndex:
    """The tantivy index in a folder beside the SQLite archive (`<db path>.search/`)."""

    def __init__(self, path: Path, *, database_url: str, store: Store | None = None) -> None:
        self.path = path
        self._database_url = database_url
        self._store = store  # for snippets and clusters; opened on first search if not given
        self._own_store = False
        self._schema = _schema()
        self._refill = False  # made empty in place of a damaged index: fill before searching
        self._index = self._open()

    # lifecycle ---------------------------------------------------------------------------------
    def _open(self) -> tantivy.Index:
        state = self._read_state()
        if state is not None and state.get("schema") == SCHEMA_VERSION:
            try:
                with _tantivy_errors(f"{self.path}: cannot open the search index"):
                    return _with_words(tantivy.Index.open(str(self.path)))
            except SearchError as e:
                log.warning("%s: rebuilding", e)
                self._refill = True
        return self._create()

    def _create(self) -> tantivy.Index:
        """A fresh, empty index (its sidecar says rev 0, so the next sync indexes everything)."""
        shutil.rmtree(self.path, ignore_errors=True)
        try:
            self.path.mkdir(parents=True)
            index = _with_words(tantivy.Index(self._schema, path=str(self.path), reuse=False))
        except (OSError, ValueError) as e:
            raise SearchError(f"{self.path}: cannot create the search index: {e}") from e
        self._write_state(0)
        return index

    def close(self) -> None:
        if self._own_store and self._store is not None:
            self._store.close()
            self._store = None

    # the sidecar -------------------------------------------------------------------------------
    def _read_state(self) -> dict[str, Any] | None:
        try:
            data = json.loads((self.path / SIDECAR).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) and isinstance(data.get("rev"), int) else None

    def applied_rev(self) -> int:
        state = self._read_state()
        return int(state["rev"]) if state else 0

    def _write_state(self, rev: int) -> None:
        """Atomically (write, fsync, rename, fsync folder): the sidecar never claims a rev the
        index has not committed, though after a crash it may claim less (harmless)."""
        data = {"schema": SCHEMA_VERSION, "rev": rev, "engine": f"tantivy {_TANTIVY_VERSION}"}
        try:
            atomic.write_bytes(self.path / SIDECAR, json.dumps(data).encode("utf-8"), sync=True)
        except OSError as e:
            raise SearchError(f"{self.path / SIDECAR}: cannot write: {e.strerror or e}") from e

    # writing -----------------------------------------------------------------------------------
    def ready(self, head: int) -> int:
        """The rev applied so far, after starting over if the index is ahead of the store
        (`head`): then it belongs to another or a restored database."""
        rev = self.applied_rev()
        if rev > head:
            log.warning(
                "search index %s is ahead of the archive (rev %d > %d): rebuilding", self.path, rev, head
            )
            self._index = self._create()
            return 0
        return rev

    @contextlib.contextmanager
    def writer(self, heap_size: int = LARGE_HEAP) -> Iterator[tantivy.IndexWriter]:
        """The index writer (one per index across processes); rolled back on error. `heap_size`:
        the memory it indexes in before writing a segment (`SMALL_HEAP` for a few changes)."""
        try:
            writer = self._index.writer(heap_size=heap_size)
        except ValueError as e:
            raise SearchError(
                f"{self.path}: the search index is being written by another process ({e})"
            ) from e
        # Left by a killed writer (tantivy's lock is ours now, so none is in use): the sidecar's,
        # and tantivy's own.
        atomic.sweep_temp(self.path)
        sweep_tantivy_temp(self.path)
        try:
            yield writer
        except BaseException:
            with contextlib.suppress(Exception):  # the error that led here is the one to report
                writer.rollback()
            raise
        finally:
            with _tantivy_errors(f"{self.path}: cannot write the search index"):
                writer.wait_merging_threads()

    def apply(
        self,
        writer: tantivy.IndexWriter,
        changes: Sequence[tuple[int, str, bool]],
        docs: Mapping[str, tuple[EntryText, Prepared]],
        *,
        added: set[str] | None = None,
    ) -> None:
        """Apply changes in order: delete by uid, then add the entry if it still exists, so
        applying a change twice (after a crash) changes nothing. `added`: the index held no
        documents when this catch-up began, and these are the uids it has added since (updated
        here); only they can need deleting (a first build skips a delete per document)."""
        stories = self._stories(changes)
        with _tantivy_errors(f"{self.path}: cannot write the search index"):
            for rev, uid, removed in changes:
                if added is None or uid in added:
                    writer.delete_documents_by_term("uid", uid)
                # A removal only deletes: if the entry came back, its own later change adds it.
                found = None if removed else docs.get(uid)
                if found is not None:
                    writer.add_document(document(*found, stories.get(uid) if rev <= stories.mark else None))
                    if added is not None:
                        added.add(uid)

    def _stories(self, changes: Sequence[tuple[int, str, bool]]) -> _Stories:
        """The story of each changed entry, for the changes the clusters have taken in (up to
        the archive's cluster mark; a catch-up clusters each batch before indexing it). An
        entry keeps its story until its own next change, which indexes it again."""
        store = self._archive()
        mark = store.cluster_mark()
        if not changes or changes[0][0] > mark:
            return _Stories(mark)
        stories = _Stories(mark)
        stories.update(store.story_keys(uid for rev, uid, removed in changes if rev <= mark and not removed))
        return stories

    def commit(self, writer: tantivy.IndexWriter, rev: int) -> None:
        """Commit, then record `rev` as applied (never before: see the module doc)."""
        with _tantivy_errors(f"{self.path}: cannot write the search index"):
            writer.commit()
        self._write_state(rev)
        with _tantivy_errors(f"{self.path}: cannot read the search index"):
            self._index.reload()

    def sync(self, store: Store) -> int:
        return self.catch_up(store, clusters=False)[0]

    def catch_up(self, store: Store, *, clusters: bool) -> tuple[int, int]:
        from .update import catch_up

        return catch_up(store, self, clusters=clusters)

    def reset(self) -> None:
        """Empty the index (the next sync indexes the whole archive)."""
        self._index = self._create()

    def rebuild(self, store: Store) -> int:
        self.reset()
        return self.sync(store)

    # searching ---------------------------------------------------------------------------------
    def _term(self, field: str, value: str) -> tantivy.Query:
        return tantivy.Query.term_query(self._schema, field, value)

    def _in_field(self, m: Match, field: str) -> tantivy.Query:
        if len(m.tokens) == 1:
            return self._term(field, m.tokens[0])
        return tantivy.Query.phrase_query(self._schema, field, list(m.tokens))

    def _in_title(self, m: Match) -> tantivy.Query:
        """The title boost's clause: every token of the word in the title. Not a phrase: a title
        is a line, so its tokens are nearly always the phrase's when all are there, and a phrase
        checks positions for every title of the word's documents (a third of a ranking's cost)."""
        if len(m.tokens) == 1:
            return self._term("title", m.tokens[0])
        must = tantivy.Occur.Must
        return tantivy.Query.boolean_query([(must, self._term("title", t)) for t in m.tokens])

    def _match(self, m: Match, wide: bool) -> tantivy.Query:
        should = tantivy.Occur.Should
        options = [self._in_field(m, "body")]
        if wide:
            chars = _CHARS.analyze(normalise(m.text))
            if chars:
                options.append(
                    self._term("chars", chars[0])
                    if len(chars) == 1
                    else tantivy.Query.phrase_query(self._schema, "chars", [*chars])
                )
        if len(options) == 1:
            return options[0]
        return tantivy.Query.boolean_query([(should, o) for o in options])

    def compile(self, q: ParsedQuery, filters: Filters, *, wide: bool = False) -> tantivy.Query:
        """The tantivy query for a parsed query and its filters. `wide` also matches each word
        as a run of characters (a substring), whatever the text's own cuts."""
        must, should = tantivy.Occur.Must, tantivy.Occur.Should
        clauses: list[tuple[tantivy.Occur, tantivy.Query]] = []
        for r in q.required:
            options = r.options if isinstance(r, AnyOf) else (r,)
            matched = [self._match(m, wide) for m in options]
            clauses.append(
                (
                    must,
                    matched[0]
                    if len(matched) == 1
                    else tantivy.Query.boolean_query([(should, x) for x in matched]),
                )
            )
            for m in options:
                clauses.append((should, tantivy.Query.boost_query(self._in_title(m), TITLE_BOOST)))
        for m in q.excluded:
            clauses.append((tantivy.Occur.MustNot, self._match(m, wide)))
        for field, value in (("group", filters.group), ("site", filters.site), ("source", filters.source)):
            if value:
                clauses.append((must, self._term(field, value)))
        if filters.feed:
            clauses.append(
                (
                    must,
                    tantivy.Query.boolean_query(
                        [
                            (should, self._term("feed", filters.feed)),
                            (should, self._term("feed_key", filters.feed)),
                        ]
                    ),
                )
            )
        if filters.since or filters.until:
            clauses.append(
                (
                    must,
                    tantivy.Query.range_query(
                        self._schema,
                        "ts",
                        tantivy.FieldType.Integer,
                        int(filters.since.timestamp()) if filters.since else -(2**62),
                        int(filters.until.timestamp()) if filters.until else 2**62,
                        include_upper=filters.until is None,
                    ),
                )
            )
        return tantivy.Query.boolean_query(clauses)

    def _archive(self) -> Store:
        if self._store is None:
            self._store = open_store(self._database_url)
            self._own_store = True
        return self._store

    def search(
        self,
        query: str | ParsedQuery,
        *,
        filters: Filters | None = None,
        sort: Sort = "relevance",
        limit: int = 10,
    ) -> list[SearchHit]:
        parsed = parse(query)
        store = self._archive()
        if self._refill:  # the damaged index was made empty: index the archive again first
            self._refill = False
            try:
                self.sync(store)
            except SearchError as e:  # e.g. a `run` is writing it: search what is there
                log.warning("%s", e)
        filters = filters or Filters()
        with self._damage():
            searcher = self._index.searcher()
        compiled: dict[bool, tantivy.Query] = {}  # the wide query only when the words find too few

        def ranked(wide: bool, fetch: int, offset: int) -> list[tuple[str, float | None, str | None]]:
            if wide not in compiled:
                compiled[wide] = self.compile(parsed, filters, wide=wide)
            return self._ranked(searcher, compiled[wide], fetch, sort, offset=offset)

        return collect(store, parsed, ranked, sort=sort, limit=limit)

    def _ranked(
        self, searcher: tantivy.Searcher, compiled: tantivy.Query, fetch: int, sort: Sort, offset: int = 0
    ) -> list[tuple[str, float | None, str | None]]:
        """The best `fetch` hits after the first `offset` as (uid, score, story when indexed)."""
        with self._damage():
            if sort == "date":
                found = searcher.search(
                    compiled, fetch, count=False, order_by_field="ts", order=tantivy.Order.Desc, offset=offset
                )
            else:
                found = searcher.search(compiled, fetch, count=False, offset=offset)
            hits = found.hits  # (a new list of new tuples at each reading)
            addrs = [addr for _, addr in hits]
            uids = _hexes(searcher.fast_field_values("uid64", addrs))
            stories = searcher.fast_field_values("story64", addrs)
            story_ids = _story_hexes(stories)
        return [
            (uid, float(score), story_id if story else None)
            for uid, story, story_id, (score, _) in zip(uids, stories, story_ids, hits, strict=True)
        ]

    def _damage(self) -> contextlib.AbstractContextManager[None]:
        """A failure of tantivy while searching: the index's files are damaged (a whole file
        gone or cut short is found on opening, and the index rebuilt; damage inside one only
        when it is read)."""
        return _tantivy_errors(f"{self.path}: the search index is damaged; `newsdesk reindex` rebuilds it")

    def doc_count(self) -> int:
        """Documents in the last committed state."""
        with _tantivy_errors(f"{self.path}: cannot read the search index"):
            return int(self._index.searcher().num_docs)


def inspect_index(path: Path) -> int:
    """Documents in the index at `path`, opened only to read (every segment file's footer is
    checked on opening); SearchError when it cannot be opened."""
    with _tantivy_errors(f"{path}: the search index cannot be read"):
        return int(_with_words(tantivy.Index.open(str(path))).searcher().num_docs)


@contextlib.contextmanager
def _tantivy_errors(message: str) -> Iterator[None]:
    """tantivy's failures (a damaged file, a full disk) as one SearchError line. Its Rust panics
    reach Python as pyo3's PanicException, a BaseException: caught here by name."""
    try:
        yield
    except (ValueError, OSError) as e:
        raise SearchError(f"{message} ({e})") from e
    except BaseException as e:
        if type(e).__name__ != "PanicException":
            raise
        raise SearchError(f"{message} ({e})") from e
