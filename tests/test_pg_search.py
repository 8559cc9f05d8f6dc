"""The PostgreSQL search documents' layout (migration 0030: one partition per week, read
newest slice first, each slice sized from the matches found so far) gives the answers of the plain statement over the whole table: the newest
matches, ranked, for words, phrases, exclusions and date filters, whatever months the
documents fall in (the real server on 127.0.0.1, a database of this test's own)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Literal

import psycopg
import pytest

from newsdesk.models import DocQuery, SearchDoc
from newsdesk.store.postgres import PostgresStore
from newsdesk.store.postgres.search import _next_take
from store_backends import new_pg_database

SORTS: tuple[Literal["relevance", "date"], ...] = ("relevance", "date")
WORDS = ["央行", "降准", "债券", "汇率", "基金"]


def at(year: int, month: int, day: int = 1, hour: int = 0) -> int:
    return int(datetime(year, month, day, hour, tzinfo=UTC).timestamp())


def doc(uid: str, tokens: list[str], ts: int, *, grp: str = "财经") -> SearchDoc:
    places: dict[str, list[int]] = {}
    for pos, token in enumerate(tokens, start=1):
        places.setdefault(token, []).append(pos)
    body = " ".join(f"'{t}':{','.join(map(str, p))}" for t, p in places.items())
    return SearchDoc(uid, body, body, grp, "站", "财经/站/源", "k", None, ts)


@pytest.fixture
def store() -> Iterator[PostgresStore]:
    s = PostgresStore(new_pg_database())
    try:
        yield s
    finally:
        s.close()


def reference(url: str, q: DocQuery, where: str, *, sort: str, n: int) -> list[tuple[str, float | None]]:
    """The plain statement over the whole table: the newest n matches, ranked when `relevance`."""
    with psycopg.connect(url) as db:
        rows = db.execute(
            "SELECT uid, ts, ts_rank_cd(body, %s::tsquery)::float8 FROM newsdesk_search.docs"
            f" WHERE {where} ORDER BY ts DESC, uid LIMIT %s",
            (q.body, n),
        ).fetchall()
    if sort == "date":
        return [(uid, None) for uid, _, _ in rows]
    rows.sort(key=lambda r: (-r[2], -r[1], r[0].encode()))
    return [(uid, score) for uid, _, score in rows]


def test_newest_matches_across_months_are_those_of_one_plain_statement(store: PostgresStore) -> None:
    rng = random.Random(16)
    months = [(2019, 3), (2023, 11), (2024, 12), (2025, 1), (2025, 6), (2025, 10), (2025, 11), (2025, 12)]
    docs = []
    for n in range(160):
        year, month = months[n % len(months)]
        tokens = [rng.choice(WORDS) for _ in range(rng.randint(2, 6))]
        docs.append(doc(f"d{n:03d}", tokens, at(year, month, rng.randint(1, 28), rng.randint(0, 23))))
    docs.append(doc("old", ["央行", "降准"], at(1975, 5)))  # far older than the rest
    assert store.save_search_docs(docs, [], mark=1, expect=0)
    url = str(store._pg.pool.conninfo)
    with psycopg.connect(url) as db:
        parts = db.execute(
            "SELECT count(*) FROM pg_inherits WHERE inhparent = 'newsdesk_search.docs'::regclass"
        ).fetchone()
    weeks = {(d.ts - at(1970, 1, 5)) // (7 * 86400) for d in docs}
    assert parts == (len(weeks),)  # a partition per week holding documents

    cases = [
        (DocQuery(body="'央行'"), "body @@ '''央行'''::tsquery"),
        (DocQuery(body="'央行' <-> '降准'", required=((("'央行' <-> '降准'", None),),)), None),
        (
            DocQuery(
                body="('基金') & !('债券' <-> '汇率')",
                required=((("'基金'", None),),),
                excluded=(("'债券' <-> '汇率'", None),),
            ),
            None,
        ),
        (
            DocQuery(body="'降准'", since=at(2025, 1, 15)),
            f"body @@ '''降准'''::tsquery AND ts >= {at(2025, 1, 15)}",
        ),
        (
            DocQuery(body="'降准'", until=at(2024, 12, 20)),
            f"body @@ '''降准'''::tsquery AND ts < {at(2024, 12, 20)}",
        ),
    ]
    checked = 0
    for q, where in cases:
        where = where or f"body @@ '{q.body.replace(chr(39), chr(39) * 2)}'::tsquery"
        for sort in SORTS:
            for window, fetch, offset in ((1, 1, 0), (3, 2, 1), (7, 5, 0), (30, 10, 20), (1000, 200, 0)):
                got = store.search_docs(q, sort=sort, fetch=fetch, offset=offset, window=window)
                n = offset + fetch if sort == "date" else max(window, offset + fetch)
                want = reference(url, q, where, sort=sort, n=n)[offset : offset + fetch]
                assert [u for u, _ in got] == [u for u, _ in want], (q.body, sort, window)
                if sort == "relevance":
                    assert [s for _, s in got] == pytest.approx([s for _, s in want])
                checked += len(want)
    assert checked > 500
    # A phrase is its words in a row: documents holding both apart are not matches.
    apart = store.search_docs(
        DocQuery(body="'降准' <-> '央行'", required=((("'降准' <-> '央行'", None),),)),
        sort="date",
        fetch=1000,
    )
    assert "old" not in {u for u, _ in apart}
    assert store.search_docs(DocQuery(body="'央行' <-> '降准'"), sort="date", fetch=1000)[-1][0] == "old"


def test_a_document_moved_to_another_month_is_there_once(store: PostgresStore) -> None:
    assert store.save_search_docs([doc("a", ["央行"], at(2025, 1, 5))], [], mark=1, expect=0)
    assert store.save_search_docs([doc("a", ["央行"], at(2026, 3, 5))], [], mark=2, expect=1)
    assert store.search_count() == 1
    found = store.search_docs(DocQuery(body="'央行'"), sort="date", fetch=10)
    assert found == [("a", None)]
    assert store.search_docs(DocQuery(body="'央行'", until=at(2026, 1, 1)), sort="date", fetch=10) == []
    assert store.save_search_docs([], ["a"], mark=3, expect=2)
    assert store.search_count() == 0
    assert store.search_docs(DocQuery(body="'央行'"), sort="relevance", fetch=10) == []


def test_slices_sized_from_the_matches_found_give_the_plain_statements_answers(store: PostgresStore) -> None:
    # 30 weeks of documents, a word much denser in some weeks than others and gaps of weeks
    # with none: each slice after the first is sized from the matches found before it, so its
    # guess is too small or too large somewhere here; the answers must not depend on it.
    rng = random.Random(30)
    docs = []
    start = at(2025, 3, 3)  # a Monday
    for week in range(30):
        if week in (7, 8, 19):
            continue
        dense = 0.9 if week % 5 == 0 else 0.1
        for n in range(rng.randint(5, 40)):
            tokens = ["央行" if rng.random() < dense else "基金", rng.choice(WORDS)]
            ts = start + week * 7 * 86400 + rng.randint(0, 7 * 86400 - 1)
            docs.append(doc(f"w{week:02d}-{n:02d}", tokens, ts))
    assert store.save_search_docs(docs, [], mark=1, expect=0)
    url = str(store._pg.pool.conninfo)
    checked = 0
    for since, until in ((None, None), (at(2025, 5, 7, 13), None), (None, at(2025, 8, 14, 6))):
        q = DocQuery(body="'央行'", since=since, until=until)
        where = "body @@ '''央行'''::tsquery"
        where += "" if since is None else f" AND ts >= {since}"
        where += "" if until is None else f" AND ts < {until}"
        for sort in SORTS:
            for window in (1, 5, 17, 40, 90, 200, 1000):
                got = store.search_docs(q, sort=sort, fetch=min(window, 10), window=window)
                n = min(window, 10) if sort == "date" else window
                want = reference(url, q, where, sort=sort, n=n)[: min(window, 10)]
                assert [u for u, _ in got] == [u for u, _ in want], (since, until, sort, window)
                checked += len(want)
    assert checked > 300


def test_the_next_slice_takes_the_weeks_the_matches_so_far_say() -> None:
    week = 7 * 86400
    weeks = [at(2025, 1, 6) + i * week for i in range(40)]
    lo = weeks[39]
    # 100 matches in the newest week (read up to its end), 1,000 wanted: 9 weeks more, a
    # fifth more than that (10.8): 11 weeks.
    assert _next_take(weeks, 39, lo, lo + week, 100, 1000) == 11
    # Nothing matched in 2 weeks: the next slice reads twice that.
    assert _next_take(weeks, 38, weeks[38], lo + week, 0, 1000) == 4
    # Almost enough: still one whole week.
    assert _next_take(weeks, 39, lo, lo + week, 999, 1000) == 1
    # Half a week read (the newest week so far): the time read counts, not the weeks (5.4).
    assert _next_take(weeks, 39, lo, lo + week // 2, 50, 500) == 6
    # 10.8 weeks back in time from a gap of 20 weeks without documents: the week before it.
    gappy = weeks[:10] + weeks[30:]
    assert _next_take(gappy, 10, weeks[30], weeks[30] + week, 100, 1000) == 1
    assert _next_take(gappy, 10, weeks[30], weeks[30] + week, 10, 1000) == 10
    # Rare matches: every week left.
    assert _next_take(weeks, 39, lo, lo + week, 1, 1000) == 39
