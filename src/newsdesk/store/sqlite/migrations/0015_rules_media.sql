-- The reader web app's rest (issue 15).

-- An admin's bounds on one feed's check interval (seconds), inside the config's `schedule:`
-- bounds (newsdesk.schedule.feed_bounds); NULL: the config's.
ALTER TABLE feeds ADD COLUMN min_interval REAL;
ALTER TABLE feeds ADD COLUMN max_interval REAL;

-- Admins' skip rules, for everyone: an arriving entry they match (or, `matching` = 0, one they
-- do not) is not stored (newsdesk.rules.skip_entries, before the store write). One feed's
-- entries, or every feed's (feed_key NULL).
CREATE TABLE skip_rules (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    pattern TEXT NOT NULL,
    is_regex INTEGER NOT NULL,
    matching INTEGER NOT NULL,
    feed_key TEXT,
    created TEXT NOT NULL,
    created_by TEXT NOT NULL
);

-- Each site's icon, fetched once (newsdesk.media): the bytes and their content type, or why
-- there is none (data NULL; tried again after a while).
CREATE TABLE favicons (
    grp TEXT NOT NULL,
    site TEXT NOT NULL,
    content_type TEXT,
    data BLOB,
    fetched TEXT NOT NULL,
    error TEXT,
    PRIMARY KEY (grp, site)
) WITHOUT ROWID;

-- Article images kept beside the archive (`images: cache`): the file under the images folder
-- (the SHA-256 of the URL, hex: `name`) and its content type, or why it could not be had.
CREATE TABLE cached_images (
    name TEXT PRIMARY KEY,
    url TEXT NOT NULL,
    content_type TEXT,
    size INTEGER NOT NULL DEFAULT 0,
    fetched TEXT NOT NULL,
    error TEXT
) WITHOUT ROWID;

-- How far background work that follows the archive's changes got (the rev): `images`.
CREATE TABLE change_marks (
    name TEXT PRIMARY KEY,
    rev INTEGER NOT NULL
) WITHOUT ROWID;

-- Counters the reader pages key their caches by (web/pages/tree.py): a reader's read state
-- (every change of their per-feed read counts), and the tree (feeds' places, sites' icons).
CREATE TABLE reader_versions (
    user_id INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    version INTEGER NOT NULL
);

CREATE TABLE tree_version (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL
);
INSERT INTO tree_version (id, version) VALUES (1, 0);

CREATE TRIGGER reader_versions_insert AFTER INSERT ON reader_feed_counts
BEGIN
    INSERT INTO reader_versions (user_id, version) VALUES (new.user_id, 1)
    ON CONFLICT (user_id) DO UPDATE SET version=version+1;
END;

CREATE TRIGGER reader_versions_update AFTER UPDATE ON reader_feed_counts
BEGIN
    INSERT INTO reader_versions (user_id, version) VALUES (new.user_id, 1)
    ON CONFLICT (user_id) DO UPDATE SET version=version+1;
END;

CREATE TRIGGER reader_versions_delete AFTER DELETE ON reader_feed_counts
WHEN old.user_id IN (SELECT id FROM users)
BEGIN
    INSERT INTO reader_versions (user_id, version) VALUES (old.user_id, 1)
    ON CONFLICT (user_id) DO UPDATE SET version=version+1;
END;

CREATE TRIGGER tree_version_feed_added AFTER INSERT ON feeds
BEGIN
    UPDATE tree_version SET version=version+1;
END;

CREATE TRIGGER tree_version_feed_gone AFTER DELETE ON feeds
BEGIN
    UPDATE tree_version SET version=version+1;
END;

CREATE TRIGGER tree_version_feed_moved AFTER UPDATE OF grp, site, name, position, origin, paused ON feeds
WHEN old.grp IS NOT new.grp OR old.site IS NOT new.site OR old.name IS NOT new.name
    OR old.position IS NOT new.position OR old.origin IS NOT new.origin OR old.paused IS NOT new.paused
BEGIN
    UPDATE tree_version SET version=version+1;
END;

CREATE TRIGGER tree_version_icon AFTER INSERT ON favicons
BEGIN
    UPDATE tree_version SET version=version+1;
END;

CREATE TRIGGER tree_version_icon_changed AFTER UPDATE ON favicons
BEGIN
    UPDATE tree_version SET version=version+1;
END;
