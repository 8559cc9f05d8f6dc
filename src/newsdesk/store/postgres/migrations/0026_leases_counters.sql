-- Lease hosts kept (store/postgres/leases.py), and versions moved once per transaction (below).
-- `feed_leases.host` now holds the host a feed's lease counts against for as long as the feed's
-- URL and route stay the same, not only while it is leased, so a claim picks feeds per host in
-- one statement instead of reading every candidate's catalogue row. The host is computed in
-- Python (`lease_host`: the fetcher's own `host_key`, IDNA included, which SQL cannot do), so
-- this migration cannot backfill it: a NULL host means "not known yet" and the next claim
-- fills every such row first (one pass, then only feeds added or changed since). A change of
-- URL or route forgets the host here.
CREATE INDEX feed_leases_unhosted ON feed_leases (feed_key) WHERE host IS NULL;

CREATE FUNCTION feed_lease_host_reset() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE feed_leases SET host = NULL WHERE feed_key = NEW.key;
    RETURN NEW;
END
$$;

CREATE TRIGGER feeds_lease_host AFTER UPDATE OF spec_url, route ON feeds FOR EACH ROW
    WHEN (OLD.spec_url IS DISTINCT FROM NEW.spec_url OR OLD.route IS DISTINCT FROM NEW.route)
    EXECUTE FUNCTION feed_lease_host_reset();

-- The tree's and a reader's version (PG 0024) move once per transaction, not once per row: they
-- are cache keys, and any move tells a cache the same. Once per row, a transaction that adds
-- 100,000 feeds (or marks 20,000 feeds read) updated one row 100,000 times, each update walking
-- the chain of the versions before it: 94 s instead of 3 s. A transaction-local setting marks
-- "moved already" (undone with the transaction or the savepoint that set it).
CREATE OR REPLACE FUNCTION tree_version_moved() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('newsdesk.tree_moved', true) = 'y' THEN
        RETURN NULL;
    END IF;
    PERFORM set_config('newsdesk.tree_moved', 'y', true);
    UPDATE tree_version SET version = version + 1 WHERE id = 1;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION reader_version_moved() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    reader bigint := CASE WHEN TG_OP = 'DELETE' THEN OLD.user_id ELSE NEW.user_id END;
    moved text := 'newsdesk.reader_moved_' || reader;
BEGIN
    IF current_setting(moved, true) = 'y' THEN
        RETURN NULL;
    END IF;
    IF TG_OP = 'DELETE' AND NOT EXISTS (SELECT 1 FROM users WHERE id = reader) THEN
        RETURN NULL;
    END IF;
    PERFORM set_config(moved, 'y', true);
    INSERT INTO reader_versions AS v (user_id, version) VALUES (reader, 1)
    ON CONFLICT (user_id) DO UPDATE SET version = v.version + 1;
    RETURN NULL;
END $$;

-- Each feed's entry count moves once per statement, by the rows the statement inserted, instead
-- of once per row. A statement inserting many entries (a copy by `newsdesk migrate`, a bulk
-- build, a feed's entries moved under a new key) updated a feed's one count row once per entry,
-- all in one transaction, where no old version can be pruned yet: 20,000 feeds × 50 entries
-- left feed_counts at 6,862 pages for 20,000 rows, and every unread list sums it (18 ms instead
-- of 0.8). Rows in key order: two statements lock the count rows they share in the same order.
DROP TRIGGER entry_counted ON entries;

CREATE OR REPLACE FUNCTION entries_counted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO feed_counts AS c (feed_key, entries)
    SELECT feed_key, COUNT(*) FROM inserted GROUP BY feed_key ORDER BY feed_key
    ON CONFLICT (feed_key) DO UPDATE SET entries = c.entries + excluded.entries;
    RETURN NULL;
END $$;

CREATE TRIGGER entries_counted AFTER INSERT ON entries REFERENCING NEW TABLE AS inserted
FOR EACH STATEMENT EXECUTE FUNCTION entries_counted();

DROP FUNCTION entry_counted();

-- Count rows are updated in place all day (an entry stored, a reader's mark): room on each page
-- for the new version keeps the update on the page (HOT, no index entry) and lets the page
-- prune the old ones, so the tables stay as small as their rows. For pages written from now.
ALTER TABLE feed_counts SET (fillfactor = 50);
ALTER TABLE reader_feed_counts SET (fillfactor = 50);

-- A claimed feed's next check moves on, and its old entry in `feeds_due` stays at the head of
-- the index (due long ago) until a vacuum: every claim steps over all of them. Vacuuming the
-- catalogue and the leases after 5 % of their rows changed (not PostgreSQL's 20 %) keeps that
-- head short; a vacuum of 100,000 feeds' rows is a few tens of milliseconds.
ALTER TABLE feeds SET (autovacuum_vacuum_scale_factor = 0.05);
ALTER TABLE feed_leases SET (autovacuum_vacuum_scale_factor = 0.05);
