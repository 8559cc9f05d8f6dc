-- Cleaned articles beside their raw entries (the raw HTML stays, so `reclean` can run again),
-- the full article page for full-text feeds, and a store-wide change counter (`rev`) that
-- search indexes and other derived data catch up from.
CREATE TABLE articles (
    uid TEXT PRIMARY KEY REFERENCES entries(uid),
    html TEXT NOT NULL,
    text TEXT NOT NULL,
    summary TEXT NOT NULL,
    char_count INTEGER NOT NULL,
    images TEXT NOT NULL,
    header_image TEXT,
    source TEXT,
    editor TEXT,
    reporters TEXT NOT NULL,
    dateline TEXT,
    keywords TEXT NOT NULL,
    profile TEXT NOT NULL
);

ALTER TABLE entries ADD COLUMN clean_error TEXT;
ALTER TABLE entries ADD COLUMN page TEXT;
ALTER TABLE entries ADD COLUMN rev INTEGER NOT NULL DEFAULT 0;

CREATE INDEX entries_rev ON entries (rev);

-- Entries removed from the archive, so derived data (search index, site) can drop them too.
CREATE TABLE removed_entries (
    uid TEXT PRIMARY KEY,
    rev INTEGER NOT NULL
);
