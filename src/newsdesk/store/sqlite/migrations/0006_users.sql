-- People who read the desk, their API tokens and browser sessions, and each reader's read and
-- starred state over the one shared archive. Secrets are stored hashed only: passwords by
-- argon2, tokens and session ids by SHA-256 (hex). Removing a user removes their tokens,
-- sessions and state; removing an entry removes every reader's state of it (foreign keys
-- with ON DELETE CASCADE: the connection runs with foreign_keys=ON).
CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    admin INTEGER NOT NULL DEFAULT 0,
    created TEXT NOT NULL
);

CREATE TABLE api_tokens (
    token_hash TEXT PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    label TEXT NOT NULL,
    created TEXT NOT NULL,
    last_used TEXT
) WITHOUT ROWID;

CREATE INDEX api_tokens_user ON api_tokens (user_id);

CREATE TABLE sessions (
    session_hash TEXT PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    expires TEXT NOT NULL,
    created TEXT NOT NULL
) WITHOUT ROWID;

CREATE INDEX sessions_user ON sessions (user_id);

-- One row per reader and entry that is read or starred: the default is unread and unstarred,
-- so a new entry costs no rows, and a row back at the default is deleted. feed_key and
-- sort_time repeat the entry's (kept equal by the trigger below; a uid never changes feed) so
-- per-feed unread counts and the starred list read this table's indexes alone.
CREATE TABLE entry_state (
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    uid TEXT NOT NULL REFERENCES entries(uid) ON DELETE CASCADE,
    feed_key TEXT NOT NULL,
    sort_time TEXT NOT NULL,
    read INTEGER NOT NULL DEFAULT 0,
    starred INTEGER NOT NULL DEFAULT 0,
    read_at TEXT,
    starred_at TEXT,
    PRIMARY KEY (user_id, uid)
) WITHOUT ROWID;

-- The cascade from entries looks rows up by uid. The partial indexes' conditions are written
-- as the queries write them (`read=1`), which is how SQLite knows it may use them.
CREATE INDEX entry_state_uid ON entry_state (uid);
CREATE INDEX entry_state_read ON entry_state (user_id, feed_key) WHERE read=1;
CREATE INDEX entry_state_starred ON entry_state (user_id, sort_time DESC, uid) WHERE starred=1;

CREATE TRIGGER entry_state_sort_time AFTER UPDATE OF sort_time ON entries
WHEN new.sort_time IS NOT old.sort_time
BEGIN
    UPDATE entry_state SET sort_time=new.sort_time WHERE uid=new.uid;
END;

-- Readers' lists page by (sort_time DESC, uid): these indexes give that order without a sort,
-- carry feed_key for the group/site filters, and seek straight to a page's cursor. They
-- extend the two sort indexes of 0001, which go (every query they served uses these).
CREATE INDEX entries_page ON entries (sort_time DESC, uid, feed_key);
CREATE INDEX entries_feed_page ON entries (feed_key, sort_time DESC, uid);
DROP INDEX entries_sort;
DROP INDEX entries_feed_sort;
