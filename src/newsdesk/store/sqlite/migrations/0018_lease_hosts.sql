-- Lease hosts kept (PostgreSQL's migration 0026, store/postgres/leases.py): `feed_leases.host`
-- is the host a feed's lease counts against, kept while the feed's URL and route stay the same.
-- SQLite never leases, but an archive copied here from PostgreSQL and back must not bring a
-- host that no longer matches the feed: a change of URL or route forgets it, as there.
CREATE TRIGGER feeds_lease_host AFTER UPDATE OF spec_url, route ON feeds
    WHEN OLD.spec_url IS NOT NEW.spec_url OR OLD.route IS NOT NEW.route
BEGIN
    UPDATE feed_leases SET host = NULL WHERE feed_key = NEW.key;
END;
