"""Synthetic archives for benchmarks (bench/pg_archive.py): feeds and entries made inside the
database by bulk SQL (`generate_series`), a million entries in minutes rather than the hours
fetching them would take. The rows have the shape real ones have (keys, times in the archive's
text format, revs in order, articles with Chinese text) but are not entries of any real feed:
uids are md5-based, not `models.entry_uid`. Never used by newsdesk itself."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from ..common import format_time
from .connection import PgConnection
from .leases import fill_lease_hosts

# Words the titles and texts are drawn from (finance and policy news).
WORDS = [
    "央行",
    "降准",
    "货币政策",
    "财政部",
    "国务院",
    "发改委",
    "证监会",
    "银保监会",
    "人民币",
    "汇率",
    "债券",
    "股市",
    "上证指数",
    "深成指",
    "创业板",
    "基金",
    "保险",
    "银行",
    "信贷",
    "利率",
    "通胀",
    "消费",
    "投资",
    "出口",
    "进口",
    "制造业",
    "服务业",
    "就业",
    "房地产",
    "地方政府",
    "专项债",
    "新能源",
    "半导体",
    "人工智能",
    "数字经济",
    "碳中和",
    "乡村振兴",
    "营商环境",
    "改革",
    "开放",
    "稳增长",
    "高质量发展",
]

_TIME = '\'YYYY-MM-DD"T"HH24:MI:SS.US"Z"\''


class SyntheticMixin:
    _pg: PgConnection  # PostgresBase's

    def fill_synthetic(
        self,
        feeds: int,
        per_feed: int,
        now: datetime,
        *,
        articles: bool = True,
        hosts: int = 1000,
        progress: Callable[[int], None] | None = None,
    ) -> int:
        """Add `feeds` feeds (`bench/sN/fN`, spread over `hosts` hosts, due at `now`), each
        with `per_feed` entries one to a few minutes apart before `now` (and their articles);
        the number of entries made. Feeds go in chunks, one transaction each, `progress(entries
        so far)` after each."""
        stamp = format_time(now)
        with self._pg.pool.connection() as conn:
            row = conn.execute("SELECT COALESCE(MAX(rowid), 0) FROM feeds").fetchone()
        first = int(row[0]) if row else 0  # one past the last feed's number: the new feeds' first
        with self._pg.transaction() as conn:
            conn.execute(
                "INSERT INTO feeds (key, grp, site, name, source, spec_url, url, position, next_check)"
                " SELECT 'bench/s' || (i / 100) || '/f' || i, 'bench', 's' || (i / 100), 'f' || i,"
                " u, u, u, i, %s"
                " FROM (SELECT i, 'http://h' || (i %% %s) || '.bench.example/feed/' || i || '.xml' AS u"
                " FROM generate_series(%s::bigint, %s::bigint) AS i) AS g",
                (stamp, hosts, first, first + feeds - 1),
            )
        with self._pg.pool.connection() as conn:
            fill_lease_hosts(conn)  # as a claim would first: the new feeds' lease hosts
        if per_feed <= 0:
            return 0
        words = list(WORDS)
        chunk = max(1, 100_000 // per_feed)
        made = 0
        for start in range(first, first + feeds, chunk):
            end = min(start + chunk, first + feeds) - 1
            with self._pg.transaction() as conn:
                rev = int(conn.execute("SELECT rev FROM rev_counter WHERE id=1 FOR UPDATE").fetchone()[0])  # type: ignore[index]
                conn.execute(
                    "INSERT INTO entries (uid, feed_key, entry_id, title, link, published, content, summary,"
                    " first_seen, last_changed, sort_time, content_hash, rev)"
                    " SELECT substr(md5(k || '/' || j), 1, 16), k, 'e' || j, t,"
                    " 'https://news.example/' || f || '/' || j,"
                    f" to_char(w, {_TIME}), '<p>' || t || '</p>', t,"
                    f" to_char(w, {_TIME}), to_char(w, {_TIME}),"
                    f" to_char(w, {_TIME}), md5(t), %(rev)s + (f - %(start)s) * %(per)s + j + 1"
                    " FROM (SELECT f, j, 'bench/s' || (f / 100) || '/f' || f AS k,"
                    "   %(now)s::timestamp - make_interval(secs => (j * 97 + f %% 89) * 60) AS w,"
                    "   (%(words)s::text[])[1 + (f * 7 + j * 13) %% %(n)s]"
                    "   || (%(words)s::text[])[1 + (f + j * 5) %% %(n)s]"
                    "   || '：' || (%(words)s::text[])[1 + (f * 3 + j) %% %(n)s] || '第' || j || '号' AS t"
                    "   FROM generate_series(%(start)s::bigint, %(end)s::bigint) AS f,"
                    "   generate_series(0, %(last)s::bigint) AS j) AS g",
                    {
                        "rev": rev,
                        "start": start,
                        "end": end,
                        "per": per_feed,
                        "last": per_feed - 1,
                        "now": now.replace(tzinfo=None),
                        "words": words,
                        "n": len(WORDS),
                    },
                )
                if articles:
                    conn.execute(
                        "INSERT INTO articles (uid, html, text, summary, char_count, images, reporters,"
                        " keywords, profile)"
                        " SELECT e.uid, '<p>' || x || '</p>', x, left(x, 80), char_length(x),"
                        " '[]', '[]', '[]',"
                        " 'bench' FROM entries e CROSS JOIN LATERAL (SELECT string_agg("
                        "   (%(words)s::text[])[1 + (e.rev * 31 + k * 7 + e.rev / (k + 3)) %% %(n)s], '')"
                        "   AS x FROM generate_series(1, 60) AS k) AS a"
                        " WHERE e.rev > %(rev)s",
                        {"rev": rev, "words": words, "n": len(WORDS)},
                    )
                conn.execute(
                    "UPDATE rev_counter SET rev = %s WHERE id = 1", (rev + (end - start + 1) * per_feed,)
                )
            made += (end - start + 1) * per_feed
            if progress is not None:
                progress(made)
        return made


__all__ = ["WORDS", "SyntheticMixin"]
