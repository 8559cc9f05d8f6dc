-- Feeds removed from the catalogue (deleted, or renamed away from this key): a fetch of the
-- feed that was in flight when it went stores nothing and does not bring the feed back.
-- Adding the key again (API or config) removes its tombstone.
CREATE TABLE feed_tombstones (
    key TEXT PRIMARY KEY,
    removed TEXT NOT NULL
) WITHOUT ROWID;
