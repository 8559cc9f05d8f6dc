-- What the insights stage read out of each entry's article (issue 18): the whole record as JSON
-- beside the entry, with the extractor's version and the content hash it was read from (so
-- `reinsight` finds stale rows), and query tables kept with it: targets (by deadline, by body),
-- figures (by metric, period), and the article's top term counts with two aggregates kept as
-- rows come and go: document frequencies over the archive and per-week counts, so keyword
-- ranking, trends and the tracker never scan every article. The store counts a batch's terms
-- in (and a replaced record's out) with one upsert per distinct term; an entry deleted is
-- counted out by a trigger. The record keeps at most the article's 64 most frequent terms.
-- Rows are keyed by the entry's uid without a foreign key: a fetch stores them just before its
-- entries (one rev bump, the build sees both); an entry deleted takes them with it (trigger).
CREATE TABLE insights (
    uid TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    content_hash TEXT NOT NULL,
    sort_time TEXT NOT NULL,
    week TEXT NOT NULL,
    data TEXT NOT NULL
);

CREATE TABLE insight_targets (
    uid TEXT NOT NULL,
    idx INTEGER NOT NULL,
    metric TEXT NOT NULL,
    comparator TEXT NOT NULL,
    value REAL,
    unit TEXT NOT NULL,
    deadline TEXT,
    body TEXT,
    sentence TEXT NOT NULL,
    sort_time TEXT NOT NULL,
    PRIMARY KEY (uid, idx)
);

CREATE INDEX insight_targets_deadline ON insight_targets (deadline);
CREATE INDEX insight_targets_body ON insight_targets (body, deadline);
CREATE INDEX insight_targets_time ON insight_targets (sort_time);

CREATE TABLE insight_figures (
    uid TEXT NOT NULL,
    idx INTEGER NOT NULL,
    metric TEXT NOT NULL,
    scope TEXT,
    period TEXT,
    value REAL,
    unit TEXT NOT NULL,
    change TEXT,
    sentence TEXT NOT NULL,
    sort_time TEXT NOT NULL,
    PRIMARY KEY (uid, idx)
);

CREATE INDEX insight_figures_metric ON insight_figures (metric, period);
CREATE INDEX insight_figures_time ON insight_figures (sort_time);

CREATE TABLE insight_df (
    term TEXT PRIMARY KEY,
    docs INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE insight_term_weeks (
    week TEXT NOT NULL,
    term TEXT NOT NULL,
    docs INTEGER NOT NULL,
    mentions INTEGER NOT NULL,
    PRIMARY KEY (week, term)
) WITHOUT ROWID;

CREATE INDEX insight_term_weeks_term ON insight_term_weeks (term, week);

-- An entry deleted (a feed removed or renamed) takes its insights along, its terms counted out
-- of the aggregates from the record's own list (`data`'s "terms": [[term, count], ...]).
CREATE TRIGGER insights_entry_gone AFTER DELETE ON entries
BEGIN
    UPDATE insight_df SET docs = docs - 1 WHERE term IN (
        SELECT json_extract(j.value, '$[0]') FROM insights i, json_each(i.data, '$.terms') j
        WHERE i.uid = old.uid);
    DELETE FROM insight_df WHERE docs <= 0 AND term IN (
        SELECT json_extract(j.value, '$[0]') FROM insights i, json_each(i.data, '$.terms') j
        WHERE i.uid = old.uid);
    UPDATE insight_term_weeks SET docs = docs - 1, mentions = mentions - (
        SELECT json_extract(j.value, '$[1]') FROM insights i, json_each(i.data, '$.terms') j
        WHERE i.uid = old.uid AND json_extract(j.value, '$[0]') = insight_term_weeks.term)
    WHERE week = (SELECT week FROM insights WHERE uid = old.uid) AND term IN (
        SELECT json_extract(j.value, '$[0]') FROM insights i, json_each(i.data, '$.terms') j
        WHERE i.uid = old.uid);
    DELETE FROM insight_term_weeks WHERE docs <= 0 AND week = (SELECT week FROM insights WHERE uid = old.uid);
    DELETE FROM insights WHERE uid = old.uid;
    DELETE FROM insight_targets WHERE uid = old.uid;
    DELETE FROM insight_figures WHERE uid = old.uid;
END;
