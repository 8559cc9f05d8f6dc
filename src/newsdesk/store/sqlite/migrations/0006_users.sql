-- People who read the desk, their API tokens and browser sessions, and each reader's read and
-- starred state over the one shared archive. Secrets are stored hashed only: passwords by
-- argon2, tokens and session ids by SHA-256 (hex). Removing a user removes their tokens,
-- sessions and state (foreign keys with ON DELETE CASCADE: the connection runs with
-- foreign_keys=ON); removing an entry removes every reader's state of it (a trigger, below).
-- AUTOINCREMENT: a removed user's id is never given to someone else.
CREATE TABLE users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
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
-- sort_time repeat the entry's (a uid never changes feed; the trigger below follows a changed
-- sort time). The key starts (reader, feed): a reader's per-feed unread counts read one range
-- of the table in order, and marking a feed or everything read writes rows in key order (the
-- entries index it reads is in feed order too), with no other index to update.
CREATE TABLE entry_state (
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    feed_key TEXT NOT NULL,
    uid TEXT NOT NULL,
    sort_time TEXT NOT NULL,
    read INTEGER NOT NULL DEFAULT 0,
    starred INTEGER NOT NULL DEFAULT 0,
    read_at TEXT,
    starred_at TEXT,
    PRIMARY KEY (user_id, feed_key, uid)
) WITHOUT ROWID;

-- Starred lists in list order. Partial (starred rows only), its condition written as the
-- queries write it (`starred=1`), so SQLite may use it; it holds every column they read.
CREATE INDEX entry_state_starred ON entry_state (user_id, starred, sort_time DESC, uid, feed_key)
WHERE starred=1;

-- How many entries of each feed each reader has read, kept with entry_state in the same
-- transactions (store/sqlite/reading.py): with feed_counts below it gives every feed's unread
-- count at once, and tells a reader's unread list which feeds have anything unread at all.
CREATE TABLE reader_feed_counts (
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    feed_key TEXT NOT NULL,
    read INTEGER NOT NULL,
    PRIMARY KEY (user_id, feed_key)
) WITHOUT ROWID;

-- An entry removed from the archive takes every reader's state of it along. A trigger, not a
-- foreign key: a key on uid would need an index on it, which every mark-read would update.
-- `user_id IN users` turns each statement into one key lookup per reader.
CREATE TRIGGER entry_state_entry_gone AFTER DELETE ON entries
BEGIN
    UPDATE reader_feed_counts SET read=read-1
    WHERE feed_key=old.feed_key AND user_id IN (
        SELECT user_id FROM entry_state
        WHERE user_id IN (SELECT id FROM users) AND feed_key=old.feed_key AND uid=old.uid AND read=1
    );
    DELETE FROM entry_state
    WHERE user_id IN (SELECT id FROM users) AND feed_key=old.feed_key AND uid=old.uid;
END;

CREATE TRIGGER entry_state_sort_time AFTER UPDATE OF sort_time ON entries
WHEN new.sort_time IS NOT old.sort_time
BEGIN
    UPDATE entry_state SET sort_time=new.sort_time
    WHERE user_id IN (SELECT id FROM users) AND feed_key=new.feed_key AND uid=new.uid;
END;

-- How many entries each feed has, kept by triggers: every reader's feed tree shows it, and
-- counting 100,000 entries for each request would cost more than the rest of the answer.
CREATE TABLE feed_counts (
    feed_key TEXT PRIMARY KEY,
    entries INTEGER NOT NULL
) WITHOUT ROWID;

INSERT INTO feed_counts (feed_key, entries) SELECT feed_key, COUNT(*) FROM entries GROUP BY feed_key;

CREATE TRIGGER feed_counts_insert AFTER INSERT ON entries
BEGIN
    INSERT INTO feed_counts (feed_key, entries) VALUES (new.feed_key, 1)
    ON CONFLICT (feed_key) DO UPDATE SET entries=entries+1;
END;

CREATE TRIGGER feed_counts_delete AFTER DELETE ON entries
BEGIN
    UPDATE feed_counts SET entries=entries-1 WHERE feed_key=old.feed_key;
END;

-- Readers' lists page by (sort_time DESC, uid): these indexes give that order without a sort,
-- carry feed_key for the group/site filters, and seek straight to a page's cursor; with
-- first_seen, mark-read reads the feed index alone, never the entries' rows (their bodies).
-- They extend the two sort indexes of 0001, which go (every query they served uses these).
CREATE INDEX entries_page ON entries (sort_time DESC, uid, feed_key);
CREATE INDEX entries_feed_page ON entries (feed_key, sort_time DESC, uid, first_seen);
DROP INDEX entries_sort;
DROP INDEX entries_feed_sort;
