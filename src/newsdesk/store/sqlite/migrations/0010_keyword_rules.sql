-- Each reader's keyword rules (the reader pages): words or a regular expression over an entry's
-- title and text; the entries that match (or, `matching` = 0, those that do not) are marked read
-- or starred for that reader alone. One feed's entries, or every feed's (feed_key NULL).
-- A reader's rules are applied to what changed in the archive since their mark (the store's
-- rev), so each entry is judged once as it arrives. Removing a user removes their rules.
CREATE TABLE keyword_rules (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    pattern TEXT NOT NULL,
    is_regex INTEGER NOT NULL,
    matching INTEGER NOT NULL,
    action TEXT NOT NULL CHECK (action IN ('read', 'star')),
    feed_key TEXT,
    created TEXT NOT NULL
);

CREATE INDEX keyword_rules_user ON keyword_rules (user_id);

CREATE TABLE keyword_rule_marks (
    user_id INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    rev INTEGER NOT NULL
);
