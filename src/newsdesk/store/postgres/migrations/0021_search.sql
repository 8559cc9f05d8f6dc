-- Full-text search in the database (`search_backend: postgres`, newsdesk.search.pgindex). Tokens
-- are cut in Python by the same tokenizer as the tantivy index (rjieba + OpenCC) and arrive as
-- pre-tokenised tsvector literals, so the server needs no Chinese parser (zhparser, pg_jieba).
-- `body`: title and text tokens at consecutive positions (title tokens weighted A, so a match
-- there ranks higher); `chars`: every Han character (Latin/digit runs whole) of the normalised
-- title and text, with positions, for words that jieba cut differently in their context.
-- The filters are copied from the entry and its feed so one row answers a query.
CREATE TABLE search_docs (
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
ALTER TABLE search_docs ALTER COLUMN body SET STORAGE MAIN;
ALTER TABLE search_docs ALTER COLUMN chars SET STORAGE EXTERNAL;

CREATE INDEX search_docs_body ON search_docs USING gin (body);
CREATE INDEX search_docs_chars ON search_docs USING gin (chars);
-- Date order, date ranges, and the newest matches of a frequent word.
CREATE INDEX search_docs_ts ON search_docs (ts DESC, uid);

-- The store rev the search documents are current to (the tantivy index's sidecar, here).
CREATE TABLE search_state (
    id integer PRIMARY KEY CHECK (id = 1),
    rev bigint NOT NULL
);

INSERT INTO search_state (id, rev) VALUES (1, 0);
