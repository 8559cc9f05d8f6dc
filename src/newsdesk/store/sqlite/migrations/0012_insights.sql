-- What the insights stage read out of each entry's article (issue 18): the whole record as JSON
-- beside the entry, with the extractor's version and the content hash it was read from (so
-- `reinsight` finds stale rows), and query tables kept with it: targets (by deadline, by body),
-- figures (by metric, period), and the article's top term counts with two aggregates kept by
-- triggers as rows come and go: document frequencies over the archive and per-week counts, so
-- keyword ranking, trends and the tracker never scan every article.
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

CREATE TABLE insight_terms (
    uid TEXT NOT NULL,
    term TEXT NOT NULL,
    count INTEGER NOT NULL,
    week TEXT NOT NULL,
    PRIMARY KEY (uid, term)
) WITHOUT ROWID;

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

CREATE TRIGGER insight_terms_insert AFTER INSERT ON insight_terms
BEGIN
    INSERT INTO insight_df (term, docs) VALUES (new.term, 1)
        ON CONFLICT (term) DO UPDATE SET docs = docs + 1;
    INSERT INTO insight_term_weeks (week, term, docs, mentions) VALUES (new.week, new.term, 1, new.count)
        ON CONFLICT (week, term) DO UPDATE SET docs = docs + 1, mentions = mentions + new.count;
END;

CREATE TRIGGER insight_terms_delete AFTER DELETE ON insight_terms
BEGIN
    UPDATE insight_df SET docs = docs - 1 WHERE term = old.term;
    DELETE FROM insight_df WHERE term = old.term AND docs <= 0;
    UPDATE insight_term_weeks SET docs = docs - 1, mentions = mentions - old.count
        WHERE week = old.week AND term = old.term;
    DELETE FROM insight_term_weeks WHERE week = old.week AND term = old.term AND docs <= 0;
END;

CREATE TRIGGER insights_entry_gone AFTER DELETE ON entries
BEGIN
    DELETE FROM insights WHERE uid = old.uid;
    DELETE FROM insight_targets WHERE uid = old.uid;
    DELETE FROM insight_figures WHERE uid = old.uid;
    DELETE FROM insight_terms WHERE uid = old.uid;
END;
