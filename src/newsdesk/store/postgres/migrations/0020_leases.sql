-- Leases: which worker fetches a feed now, and until when (`store/postgres/leases.py`). One row
-- per feed, made with the feed, so a claim locks lease rows (`FOR UPDATE SKIP LOCKED`) and never
-- races on a row that does not exist yet. `expires` is the fixed-width UTC text of feeds.next_check;
-- a released or never-taken lease has holder NULL and the epoch. `host`: the host the holder
-- fetches the feed from, for the per-host limit across workers. Not archive data: a copy of the
-- archive needs none of it (a fresh row per feed is made by the trigger).
CREATE TABLE feed_leases (
    feed_key text COLLATE "C" PRIMARY KEY REFERENCES feeds (key) ON UPDATE CASCADE ON DELETE CASCADE,
    holder text COLLATE "C",
    host text COLLATE "C",
    expires text COLLATE "C" NOT NULL DEFAULT '1970-01-01T00:00:00.000000Z'
);

CREATE INDEX feed_leases_host ON feed_leases (host, expires) WHERE holder IS NOT NULL;

INSERT INTO feed_leases (feed_key) SELECT key FROM feeds;

CREATE FUNCTION feed_lease_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO feed_leases (feed_key) VALUES (NEW.key) ON CONFLICT DO NOTHING;
    RETURN NEW;
END
$$;

CREATE TRIGGER feeds_lease_row AFTER INSERT ON feeds FOR EACH ROW EXECUTE FUNCTION feed_lease_row();
