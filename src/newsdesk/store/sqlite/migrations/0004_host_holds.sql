-- Hosts that asked not to be requested before a time (HTTP 429/503 with Retry-After): the
-- fetcher skips them until not_before has passed, in this run and later ones.
CREATE TABLE host_holds (
    host TEXT PRIMARY KEY,
    not_before TEXT NOT NULL,
    reason TEXT NOT NULL
) WITHOUT ROWID;
