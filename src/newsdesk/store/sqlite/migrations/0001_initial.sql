-- The initial archive: feeds with their fetch state, entries unique per feed and id,
-- and per-publisher marks so publishing only touches what changed.
CREATE TABLE feeds (
    key TEXT PRIMARY KEY,
    grp TEXT NOT NULL,
    site TEXT NOT NULL,
    name TEXT NOT NULL,
    source TEXT NOT NULL,
    url TEXT,
    title TEXT,
    etag TEXT,
    last_modified TEXT,
    last_attempt TEXT,
    last_success TEXT,
    last_error TEXT,
    last_warning TEXT,
    consecutive_failures INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE entries (
    uid TEXT PRIMARY KEY,
    feed_key TEXT NOT NULL REFERENCES feeds(key),
    entry_id TEXT NOT NULL,
    title TEXT NOT NULL,
    link TEXT,
    published TEXT,
    updated TEXT,
    author TEXT,
    content TEXT NOT NULL,
    summary TEXT NOT NULL,
    first_seen TEXT NOT NULL,
    last_changed TEXT NOT NULL,
    sort_time TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    UNIQUE (feed_key, entry_id)
);

CREATE INDEX entries_sort ON entries (sort_time DESC);
CREATE INDEX entries_feed_sort ON entries (feed_key, sort_time DESC);

CREATE TABLE publish_marks (
    publisher TEXT NOT NULL,
    uid TEXT NOT NULL,
    mark TEXT NOT NULL,
    PRIMARY KEY (publisher, uid)
);
