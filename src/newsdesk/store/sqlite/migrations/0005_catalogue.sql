-- The feed catalogue in the archive: each feed's definition (the config's, or one added through
-- the API), where it came from, and its schedule (newsdesk.schedule): when it is checked next,
-- the interval settled on and why, or why it is paused. `url` stays the URL in use (a permanent
-- redirect moves it), `spec_url` is the URL as configured.
ALTER TABLE feeds ADD COLUMN spec_url TEXT;
ALTER TABLE feeds ADD COLUMN route TEXT;
ALTER TABLE feeds ADD COLUMN clean INTEGER NOT NULL DEFAULT 1;
ALTER TABLE feeds ADD COLUMN full_text TEXT NOT NULL DEFAULT 'false';
ALTER TABLE feeds ADD COLUMN enabled INTEGER NOT NULL DEFAULT 1;
ALTER TABLE feeds ADD COLUMN origin TEXT NOT NULL DEFAULT 'config';
ALTER TABLE feeds ADD COLUMN position INTEGER NOT NULL DEFAULT 0;
ALTER TABLE feeds ADD COLUMN paused TEXT;
ALTER TABLE feeds ADD COLUMN next_check TEXT NOT NULL DEFAULT '1970-01-01T00:00:00.000000Z';
ALTER TABLE feeds ADD COLUMN check_interval REAL NOT NULL DEFAULT 0;
ALTER TABLE feeds ADD COLUMN schedule_reason TEXT NOT NULL DEFAULT 'new feed: not checked yet';

-- Feeds stored before: `source` is the configured URL, or rsshub:<route>.
UPDATE feeds SET
    route = CASE WHEN source LIKE 'rsshub:%' THEN substr(source, 8) END,
    spec_url = CASE WHEN source LIKE 'rsshub:%' THEN NULL ELSE source END,
    position = rowid;

CREATE INDEX feeds_due ON feeds (next_check) WHERE paused IS NULL AND enabled = 1;
