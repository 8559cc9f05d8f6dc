-- Lease hosts kept (store/postgres/leases.py): `feed_leases.host` now holds the host a feed's
-- lease counts against for as long as the feed's URL and route stay the same, not only while
-- it is leased, so a claim picks feeds per host in one statement instead of reading every
-- candidate's catalogue row. The host is computed in Python (`lease_host`: the fetcher's own
-- `host_key`, IDNA included, which SQL cannot do), so this migration cannot backfill it: a NULL
-- host means "not known yet" and the next claim fills every such row first (one pass, then
-- only feeds added or changed since). A change of URL or route forgets the host here.
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
