-- Story clusters (newsdesk.cluster): every clustered entry is a member of one cluster; the
-- clusters table holds only clusters of two or more members, so listing them reads no
-- singletons. Bands are the LSH keys of members' MinHash signatures (near-duplicate lookup).
CREATE TABLE cluster_members (
    uid TEXT PRIMARY KEY,
    cluster_id TEXT NOT NULL,
    feed_key TEXT NOT NULL,
    sort_time TEXT NOT NULL,
    reason TEXT NOT NULL,
    similarity REAL NOT NULL,
    link_key TEXT,
    text_key TEXT,
    signature BLOB
);

CREATE INDEX cluster_members_cluster ON cluster_members (cluster_id, sort_time);
CREATE INDEX cluster_members_link ON cluster_members (link_key) WHERE link_key IS NOT NULL;
CREATE INDEX cluster_members_text ON cluster_members (text_key) WHERE text_key IS NOT NULL;

CREATE TABLE cluster_bands (
    band INTEGER NOT NULL,
    uid TEXT NOT NULL,
    PRIMARY KEY (band, uid)
) WITHOUT ROWID;

CREATE INDEX cluster_bands_uid ON cluster_bands (uid);

CREATE TABLE clusters (
    id TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    sources INTEGER NOT NULL,
    first_time TEXT NOT NULL,
    last_time TEXT NOT NULL
);

CREATE INDEX clusters_last ON clusters (last_time DESC);

-- The store rev up to which clusters are current (one row).
CREATE TABLE cluster_state (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    rev INTEGER NOT NULL
);

INSERT INTO cluster_state (id, rev) VALUES (1, 0);
