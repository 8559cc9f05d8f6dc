-- Feed leases (PostgreSQL's migration 0020, store/postgres/leases.py): workers sharing a
-- PostgreSQL archive lease feeds here. SQLite keeps the same table, one row per feed, so the
-- two backends' schemas stay alike and `newsdesk migrate` copies every table either way; a
-- SQLite archive has one fetching process and never takes a lease.
CREATE TABLE feed_leases (
    feed_key TEXT PRIMARY KEY REFERENCES feeds (key) ON UPDATE CASCADE ON DELETE CASCADE,
    holder TEXT,
    host TEXT,
    expires TEXT NOT NULL DEFAULT '1970-01-01T00:00:00.000000Z'
);

INSERT INTO feed_leases (feed_key) SELECT key FROM feeds;

CREATE TRIGGER feeds_lease_row AFTER INSERT ON feeds BEGIN
    INSERT OR IGNORE INTO feed_leases (feed_key) VALUES (NEW.key);
END;
