-- Reader apps beyond the Google Reader API: the Fever API's integer ids and keys, and the
-- per-user token of private view feeds (web/viewfeeds.py).
--
-- Fever names items, feeds and groups by integers, and pages items by `since_id`, so an
-- item's number must never change and must grow with arrival: a row per entry, numbered by
-- AUTOINCREMENT (never reused) when the entry is inserted (a trigger), removed with it.
-- Entries that move to a new key arrive again under new uids: new numbers, as new items.
CREATE TABLE fever_items (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    uid TEXT NOT NULL UNIQUE
);

INSERT INTO fever_items (uid) SELECT uid FROM entries ORDER BY first_seen, uid;

CREATE TRIGGER fever_items_insert AFTER INSERT ON entries
BEGIN
    INSERT OR IGNORE INTO fever_items (uid) VALUES (new.uid);
END;

CREATE TRIGGER fever_items_delete AFTER DELETE ON entries
BEGIN
    DELETE FROM fever_items WHERE uid=old.uid;
END;

-- Feeds (by key) and groups (a `group/site` label, as the Google Reader API's) get a number
-- the first time Fever lists them.
CREATE TABLE fever_feeds (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    feed_key TEXT NOT NULL UNIQUE
);

CREATE TABLE fever_groups (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE
);

-- A Fever api_key is md5("user:app password"): kept only as HMAC-SHA256 under the server's
-- secret (not in the archive), made with its app password and gone with it.
CREATE TABLE fever_keys (
    key_hash TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL REFERENCES app_passwords(password_hash) ON DELETE CASCADE
) WITHOUT ROWID;

CREATE INDEX fever_keys_password ON fever_keys (password_hash);

-- Private view feeds (starred, unread) carry a token derived from the server's secret and
-- this nonce: a new nonce (or none) revokes every link made before.
CREATE TABLE feed_tokens (
    user_id INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    nonce TEXT NOT NULL,
    created TEXT NOT NULL
);
