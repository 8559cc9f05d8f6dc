"""The search index inside a PostgreSQL archive (`search_backend: postgres`): for desks whose
workers and web fronts run on several machines, where a tantivy folder beside one process
cannot be shared.

The same tokenizer as tantivy's index (`segment`: OpenCC t2s, rjieba's precise cut) turns each
entry into tokens here, in Python; they reach PostgreSQL as tsvector literals with their
positions (`body`: title and text words, title weighted A; `chars`: the Han characters), so
the server needs no Chinese parser, and the GIN indexes (migration 0021) find them. Queries
(`query`: words, phrases, OR, -exclusion, filters) compile to tsquery with `<->` between the
tokens of a word or phrase, exactly as tantivy's phrase queries; the character fallback, one
hit per story and the snippets are `hits.collect`'s, the same for both backends.

Limits of tsvector, which tantivy does not have: positions stop at 16,383 (so only the first
16,383 tokens and characters of an entry are indexed), a lexeme keeps at most 256 positions,
and a lexeme is at most 2,047 bytes (words of 64 bytes or more are dropped, as on tantivy).

Staying in step: documents are saved batch by batch with the store rev they are current to
(`store.save_search_docs`), under the mark's row lock, so several processes may catch up at
once: one writes, the others find the mark moved and go on from it.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import cast

import regex

from ..errors import SearchError
from ..models import DocQuery, EntryText, SearchDoc
from ..store import Store, open_store
from ..store.protocol import SearchDocStore
from .hits import SearchHit, collect, parse
from .query import AnyOf, Filters, Match, ParsedQuery, Sort
from .segment import normalise
from .update import Follow, Prepared, catch_up, prepare

__all__ = ["PostgresIndex", "Vectors", "compile_query", "document", "prepare_vectors", "searchable"]

log = logging.getLogger("newsdesk.search")

MAX_TOKEN = 64  # bytes: longer words are noise (tantivy's index drops them too)
MAX_POSITION = 16_383  # tsvector's last position
MAX_POSITIONS = 256  # positions a tsvector keeps per lexeme
MAX_LEXEME = 2_047  # bytes
RANK_WINDOW = 1_000  # relevance ranks the newest matches, this many (store/postgres/search.py)
# tantivy's `chars` tokenizer (index.CHARS): one token per Han character, runs of other letters
# and digits whole (a run that starts with a Latin letter or digit takes the Han after it).
_CHARS = regex.compile(r"\p{Han}|[\p{L}\p{N}]+")


def _quote(lexeme: str) -> str:
    if "'" in lexeme or "\\" in lexeme:
        lexeme = lexeme.replace("\\", "\\\\").replace("'", "''")
    return f"'{lexeme}'"


def _vector(tokens: Sequence[str], *, weighted: int = 0, limit: int = MAX_TOKEN) -> str:
    """A tsvector literal of tokens at positions 1, 2, …; the first `weighted` weighted A.
    Tokens of `limit` bytes or more are left out but keep their position."""
    places: dict[str, list[int]] = {}
    for pos, token in enumerate(tokens[:MAX_POSITION], start=1):
        at = places.get(token)
        if at is None:
            places[token] = [pos]
        else:
            at.append(pos)
    out = []
    for token, at in places.items():
        if len(token) * 4 >= limit and len(token.encode("utf-8")) >= limit:
            continue
        if len(at) > MAX_POSITIONS:
            del at[MAX_POSITIONS:]
        if at[0] <= weighted:
            out.append(f"{_quote(token)}:{','.join(f'{p}A' if p <= weighted else str(p) for p in at)}")
        else:
            out.append(f"{_quote(token)}:{','.join(map(str, at))}")
    return " ".join(out)


@dataclass(frozen=True)
class Vectors(Prepared):
    """Prepared text with its tsvector literals, made in the catch-up's worker processes."""

    body_vector: str = ""
    chars_vector: str = ""


def _vectors(p: Prepared) -> tuple[str, str]:
    if isinstance(p, Vectors):
        return p.body_vector, p.chars_vector
    return (
        _vector(p.body.split(), weighted=len(p.title.split())),
        _vector(_CHARS.findall(p.chars), limit=MAX_LEXEME + 1),
    )


def prepare_vectors(rows: Sequence[tuple[str, str | None, str]]) -> list[Prepared]:
    """`update.prepare` and the tsvector literals (a worker process's share of the work)."""
    out: list[Prepared] = []
    for p in prepare(rows):
        body, chars = _vectors(p)
        out.append(Vectors(p.title, p.body, p.shingles, p.chars, body, chars))
    return out


def document(entry: EntryText, prepared: Prepared) -> SearchDoc:
    """The search document of an entry whose text has been prepared (`update.prepare`)."""
    body, chars = _vectors(prepared)
    return SearchDoc(
        uid=entry.uid,
        body=body,
        chars=chars,
        group=entry.group,
        site=entry.site,
        feed=entry.feed,
        feed_key=entry.feed_key,
        source=entry.source or None,
        ts=int(entry.when.timestamp()),
    )


def _phrase(tokens: Sequence[str]) -> str:
    # A word the index could not hold (64 bytes or more) still finds nothing, as on tantivy.
    return " <-> ".join(_quote(t if len(t.encode("utf-8")) < MAX_TOKEN else t[:MAX_TOKEN]) for t in tokens)


def _option(m: Match) -> tuple[str, str | None]:
    chars = _CHARS.findall(normalise(m.text))
    return _phrase(m.tokens), (_phrase(chars) if chars else None)


def compile_query(q: ParsedQuery, filters: Filters, *, wide: bool = False) -> DocQuery:
    """The database's form of a parsed query and its filters (see the module doc)."""
    required = tuple(
        tuple(_option(m) for m in (r.options if isinstance(r, AnyOf) else (r,))) for r in q.required
    )
    excluded = tuple(_option(m) for m in q.excluded)
    words = [" | ".join(f"({b})" for b, _ in item) for item in required]
    words += [f"!({b})" for b, _ in excluded]
    return DocQuery(
        body=" & ".join(f"({w})" for w in words),
        wide=wide,
        required=required,
        excluded=excluded,
        group=filters.group,
        site=filters.site,
        feed=filters.feed,
        source=filters.source,
        since=int(filters.since.timestamp()) if filters.since else None,
        until=int(filters.until.timestamp()) if filters.until else None,
    )


class _Moved(Exception):
    """Another process saved search documents since this catch-up began."""


@dataclass
class _Writer:
    mark: int  # the rev the saved documents are current to


def searchable(store: Store) -> SearchDocStore:
    """The store's search documents; SearchError when it keeps none (a SQLite archive)."""
    if not hasattr(store, "save_search_docs"):
        raise SearchError("search_backend: postgres needs a PostgreSQL archive (database: postgresql://…)")
    return cast(SearchDocStore, store)


class PostgresIndex:
    """The search index in the PostgreSQL archive's own tables (`newsdesk_search.docs`)."""

    def __init__(self, *, database_url: str, store: Store | None = None) -> None:
        self._database_url = database_url
        self._store = store  # opened on first use if not given
        self._own_store = False

    def _archive(self) -> Store:
        if self._store is None:
            self._store = open_store(self._database_url)
            self._own_store = True
        return self._store

    def close(self) -> None:
        if self._own_store and self._store is not None:
            self._store.close()
            self._store = None

    # writing (update.catch_up drives these) -------------------------------------------------
    def ready(self, head: int) -> int:
        """The rev applied so far, after starting over if the documents are ahead of the store
        (restored from another database's dump)."""
        docs = searchable(self._archive())
        rev = docs.search_mark()
        if rev > head:
            log.warning("search documents are ahead of the archive (rev %d > %d): rebuilding", rev, head)
            docs.reset_search()
            return 0
        return rev

    def doc_count(self) -> int:
        return searchable(self._archive()).search_count()

    @contextlib.contextmanager
    def writer(self, heap_size: int = 0) -> Iterator[_Writer]:
        """Documents are saved as each batch is applied; `heap_size` is tantivy's."""
        yield _Writer(searchable(self._archive()).search_mark())

    def apply(
        self,
        writer: _Writer,
        changes: Sequence[tuple[int, str, bool]],
        docs: Mapping[str, tuple[EntryText, Prepared]],
        *,
        added: set[str] | None = None,
    ) -> None:
        """Save the documents of these changes (an entry's latest state, or its removal) with
        the batch's last rev; `_Moved` if another process saved some meanwhile."""
        if not changes:
            return
        last: dict[str, bool] = {}
        for _, uid, removed in changes:
            last[uid] = removed or uid not in docs
        rows = [document(*docs[uid]) for uid, gone in last.items() if not gone]
        dropped = [uid for uid, gone in last.items() if gone]
        mark = changes[-1][0]
        if not searchable(self._archive()).save_search_docs(rows, dropped, mark=mark, expect=writer.mark):
            raise _Moved
        writer.mark = mark

    def commit(self, writer: _Writer, rev: int) -> None:
        """Nothing to do: each batch was committed with its rev by `apply`."""

    # the SearchIndex Protocol --------------------------------------------------------------
    def catch_up(self, store: Store, *, clusters: bool, follow: Follow | None = None) -> tuple[int, int]:
        """`update.catch_up` (with `follow`: see there), begun again from the marks another
        process left whenever one caught up meanwhile."""
        for _ in range(100):
            try:
                return catch_up(store, self, clusters=clusters, follow=follow, preparer=prepare_vectors)
            except _Moved:
                continue
        raise SearchError("search index: other processes kept changing it; try again")

    def sync(self, store: Store) -> int:
        return self.catch_up(store, clusters=False)[0]

    def reset(self) -> None:
        searchable(self._archive()).reset_search()

    def rebuild(self, store: Store) -> int:
        self.reset()
        return self.sync(store)

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
        docs = searchable(store)
        filters = filters or Filters()
        compiled = {wide: compile_query(parsed, filters, wide=wide) for wide in (False, True)}

        def ranked(wide: bool, fetch: int, offset: int) -> list[tuple[str, float | None, str | None]]:
            found = docs.search_docs(
                compiled[wide], sort=sort, fetch=fetch, offset=offset, window=RANK_WINDOW
            )
            return [(uid, score, None) for uid, score in found]  # stories: from the archive

        return collect(store, parsed, ranked, sort=sort, limit=limit)
