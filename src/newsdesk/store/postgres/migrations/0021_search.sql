-- Full-text search in the database (`search_backend: postgres`, newsdesk.search.pgindex). Tokens
-- are cut in Python by the same tokenizer as the tantivy index (rjieba + OpenCC) and arrive as
-- pre-tokenised tsvector literals, so the server needs no Chinese parser (zhparser, pg_jieba).
-- `body`: title and text tokens at consecutive positions (title tokens weighted A, so a match
-- there ranks higher); `chars`: every Han character (Latin/digit runs whole) of the normalised
-- title and text, with positions, for words that jieba cut differently in their context.
-- The filters are copied from the entry and its feed so one row answers a query.
-- Derived data in a schema of its own: copies of the archive (`newsdesk migrate`), which take
-- the tables of the archive's schema, leave it out, and the target rebuilds it from its changes.
CREATE SCHEMA newsdesk_search;

CREATE TABLE newsdesk_search.docs (
    uid text COLLATE "C" PRIMARY KEY,
    body tsvector NOT NULL,
    chars tsvector NOT NULL,
    grp text COLLATE "C" NOT NULL,
    site text COLLATE "C" NOT NULL,
    feed text COLLATE "C" NOT NULL,
    feed_key text COLLATE "C" NOT NULL,
    source text COLLATE "C",
    ts bigint NOT NULL
);

-- `body` in the row itself (read by every query and every phrase check), `chars` out of line
-- and uncompressed (read only by the character fallback; tsvectors barely compress, so
-- trying costs writes for nothing).
ALTER TABLE newsdesk_search.docs ALTER COLUMN body SET STORAGE MAIN;
ALTER TABLE newsdesk_search.docs ALTER COLUMN chars SET STORAGE EXTERNAL;

CREATE INDEX docs_body ON newsdesk_search.docs USING gin (body);
CREATE INDEX docs_chars ON newsdesk_search.docs USING gin (chars);
-- Date order, date ranges, and the newest matches of a frequent word.
CREATE INDEX docs_ts ON newsdesk_search.docs (ts DESC, uid);

-- The store rev the search documents are current to (the tantivy index's sidecar, here).
CREATE TABLE newsdesk_search.state (
    id integer PRIMARY KEY CHECK (id = 1),
    rev bigint NOT NULL
);

INSERT INTO newsdesk_search.state (id, rev) VALUES (1, 0);
