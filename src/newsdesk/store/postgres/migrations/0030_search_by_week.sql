-- Search documents partitioned by week of `ts` (Monday 00:00 UTC to the next), not by month
-- (docs/search.md, "Search on PostgreSQL": how a query stays fast as the archive grows).
-- A frequent word's slice reads every match its partitions hold (the GIN bitmap, one heap
-- visit a match) to keep the newest it needs; with a month per partition that was a month's
-- matches even when a day's were enough, and a month of a large desk holds ~80,000 articles.
-- A week bounds it at a quarter of that, and a search sizes each slice in weeks from the
-- matches found so far (store/postgres/search.py). The writer adds a week's partition with
-- its first document, as it added months.
-- Derived data: the documents are dropped here and the next catch-up (`newsdesk reindex`,
-- or any command that updates the index) writes them again from the archive.
DROP TABLE newsdesk_search.docs;

CREATE TABLE newsdesk_search.docs (
    uid text COLLATE "C" NOT NULL,
    body tsvector NOT NULL,
    chars tsvector NOT NULL,
    grp text COLLATE "C" NOT NULL,
    site text COLLATE "C" NOT NULL,
    feed text COLLATE "C" NOT NULL,
    feed_key text COLLATE "C" NOT NULL,
    source text COLLATE "C",
    ts bigint NOT NULL,
    -- A key of a partitioned table includes the partition key; the writer deletes an entry's
    -- document (by uid, this key's first column) before writing its new one, so a uid is
    -- there once.
    PRIMARY KEY (uid, ts)
) PARTITION BY RANGE (ts);

-- Partitions take these from the parent; tsvectors barely compress, so trying costs writes.
ALTER TABLE newsdesk_search.docs ALTER COLUMN body SET STORAGE EXTERNAL;
ALTER TABLE newsdesk_search.docs ALTER COLUMN chars SET STORAGE EXTERNAL;

CREATE INDEX docs_body ON newsdesk_search.docs USING gin (body);
CREATE INDEX docs_chars ON newsdesk_search.docs USING gin (chars);
CREATE INDEX docs_ts ON newsdesk_search.docs (ts DESC, uid);

UPDATE newsdesk_search.state SET rev = 0 WHERE id = 1;
