-- Search documents partitioned by month of `ts`, with the tsvectors out of line
-- (docs/search.md, "Search on PostgreSQL": how a query stays fast as the archive grows).
-- Relevance and date order both want the newest matches: with one partition per month the
-- planner answers `ORDER BY ts DESC LIMIT n` partition by partition, newest first, and stops
-- once it has n, so a search reads the GIN index and rows of the last months only, however
-- many years the archive holds. The writer (store/postgres/search.py) adds a month's partition
-- when its first document arrives; there is no default partition, which would stop the
-- planner from taking the partitions in order.
-- `body` moves out of the row (as `chars` already was): the rows a bitmap scan visits are
-- then ~0.5 KB instead of ~3 KB, and a tsvector is read only for the few rows that are
-- checked for a phrase or ranked.
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
