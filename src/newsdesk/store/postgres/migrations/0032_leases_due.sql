-- Each feed's due time kept on its lease row (store/postgres/leases.py), and the catalogue's own
-- index of next checks dropped.
--
-- `feed_leases.due` is the feed's `next_check` while the scheduler checks it (enabled, not
-- paused), NULL otherwise, kept by the triggers below in the transaction that changes the feed.
-- A claim then reads its candidates (due, lease run out, host known) from one index of the
-- narrow lease table instead of walking `feeds_due` and looking up each feed's lease row: at
-- 100,000 feeds, 400 candidates cost ~1,850 buffer reads that way.
--
-- Why `feeds_due` goes: every check moves a feed's `next_check`, and an indexed column that
-- changes makes every update of the wide catalogue row a new row version with new entries in
-- all of its indexes; the old ones wait for a vacuum that reads most of the table (the checked
-- feeds are spread over all of its pages) and every one of its indexes. At 100,000 feeds that
-- vacuum came every 5,000 checks and took the second core from the claims meanwhile. Without
-- an indexed column changing, a check's update stays on its page (HOT: no index entry, pruned
-- on the page) as long as the page has room, which the fill factor below leaves.
ALTER TABLE feed_leases ADD COLUMN due text COLLATE "C";

UPDATE feed_leases AS l SET due = f.next_check
FROM feeds AS f WHERE f.key = l.feed_key AND f.enabled = 1 AND f.paused IS NULL;

CREATE INDEX feed_leases_due ON feed_leases (due) WHERE due IS NOT NULL;

DROP INDEX feeds_due;

ALTER TABLE feeds SET (fillfactor = 80);

CREATE OR REPLACE FUNCTION feed_lease_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO feed_leases (feed_key, due)
    VALUES (NEW.key, CASE WHEN NEW.enabled = 1 AND NEW.paused IS NULL THEN NEW.next_check END)
    ON CONFLICT (feed_key) DO UPDATE SET due = excluded.due;
    RETURN NEW;
END
$$;

CREATE FUNCTION feed_lease_due() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE feed_leases
    SET due = CASE WHEN NEW.enabled = 1 AND NEW.paused IS NULL THEN NEW.next_check END
    WHERE feed_key IN (OLD.key, NEW.key);  -- under either key: before or after a new key's cascade
    RETURN NEW;
END
$$;

CREATE TRIGGER feeds_lease_due AFTER UPDATE OF next_check, enabled, paused ON feeds FOR EACH ROW
    WHEN (OLD.next_check IS DISTINCT FROM NEW.next_check OR OLD.enabled IS DISTINCT FROM NEW.enabled
          OR OLD.paused IS DISTINCT FROM NEW.paused)
    EXECUTE FUNCTION feed_lease_due();
