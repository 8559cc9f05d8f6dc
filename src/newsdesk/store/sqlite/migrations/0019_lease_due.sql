-- Due times on the lease rows (PostgreSQL's migration 0032, store/postgres/leases.py):
-- `feed_leases.due` is the feed's next check while the scheduler checks it (enabled, not
-- paused), NULL otherwise. SQLite's scheduler reads `feeds_due` and never this column, but
-- keeps it as PostgreSQL does, so an archive copied between the two compares the same and
-- arrives with what the claims there read.
ALTER TABLE feed_leases ADD COLUMN due TEXT;

UPDATE feed_leases SET due = (
    SELECT f.next_check FROM feeds AS f
    WHERE f.key = feed_leases.feed_key AND f.enabled = 1 AND f.paused IS NULL
);

DROP TRIGGER feeds_lease_row;

CREATE TRIGGER feeds_lease_row AFTER INSERT ON feeds BEGIN
    INSERT INTO feed_leases (feed_key, due)
    VALUES (NEW.key, CASE WHEN NEW.enabled = 1 AND NEW.paused IS NULL THEN NEW.next_check END)
    ON CONFLICT (feed_key) DO UPDATE SET due = excluded.due;
END;

-- The row under either key: whether the foreign key's cascade of a new key ran before or not.
CREATE TRIGGER feeds_lease_due AFTER UPDATE OF next_check, enabled, paused ON feeds
    WHEN OLD.next_check IS NOT NEW.next_check OR OLD.enabled IS NOT NEW.enabled
        OR OLD.paused IS NOT NEW.paused
BEGIN
    UPDATE feed_leases
    SET due = CASE WHEN NEW.enabled = 1 AND NEW.paused IS NULL THEN NEW.next_check END
    WHERE feed_key IN (OLD.key, NEW.key);
END;
