-- SQLite's 0012 in PostgreSQL: what the insights stage read out of each entry (the record as
-- JSON text, as SQLite keeps it), targets and figures as rows to query, and the term aggregates
-- (document frequencies, per-week counts) the store counts in and out as records come and go.
-- Writers of the aggregates take the change counter's turn first (`save_insights`'s rev), so
-- their upserts of shared term rows run one transaction after another, never in a deadlock.
CREATE TABLE insights (
    uid text COLLATE "C" PRIMARY KEY,
    version bigint NOT NULL,
    content_hash text COLLATE "C" NOT NULL,
    sort_time text COLLATE "C" NOT NULL,
    week text COLLATE "C" NOT NULL,
    data text COLLATE "C" NOT NULL
);

CREATE TABLE insight_targets (
    uid text COLLATE "C" NOT NULL,
    idx bigint NOT NULL,
    metric text COLLATE "C" NOT NULL,
    comparator text COLLATE "C" NOT NULL,
    value double precision,
    unit text COLLATE "C" NOT NULL,
    deadline text COLLATE "C",
    body text COLLATE "C",
    sentence text COLLATE "C" NOT NULL,
    sort_time text COLLATE "C" NOT NULL,
    PRIMARY KEY (uid, idx)
);

CREATE INDEX insight_targets_deadline ON insight_targets (deadline);
CREATE INDEX insight_targets_body ON insight_targets (body, deadline);
CREATE INDEX insight_targets_time ON insight_targets (sort_time);

CREATE TABLE insight_figures (
    uid text COLLATE "C" NOT NULL,
    idx bigint NOT NULL,
    metric text COLLATE "C" NOT NULL,
    scope text COLLATE "C",
    period text COLLATE "C",
    value double precision,
    unit text COLLATE "C" NOT NULL,
    change text COLLATE "C",
    sentence text COLLATE "C" NOT NULL,
    sort_time text COLLATE "C" NOT NULL,
    PRIMARY KEY (uid, idx)
);

CREATE INDEX insight_figures_metric ON insight_figures (metric, period);
CREATE INDEX insight_figures_time ON insight_figures (sort_time);

CREATE TABLE insight_df (
    term text COLLATE "C" PRIMARY KEY,
    docs bigint NOT NULL
);

CREATE TABLE insight_term_weeks (
    week text COLLATE "C" NOT NULL,
    term text COLLATE "C" NOT NULL,
    docs bigint NOT NULL,
    mentions bigint NOT NULL,
    PRIMARY KEY (week, term)
);

CREATE INDEX insight_term_weeks_term ON insight_term_weeks (term, week);

-- An entry deleted takes its insights along, its terms counted out of the aggregates from the
-- record's own list (`data`'s "terms": [[term, count], ...]), as SQLite's trigger does.
CREATE FUNCTION insights_entry_gone() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    gone_week text;
    gone_terms jsonb;
BEGIN
    SELECT week, COALESCE(CAST(data AS jsonb) -> 'terms', '[]') INTO gone_week, gone_terms
    FROM insights WHERE uid = OLD.uid;
    IF FOUND THEN
        UPDATE insight_df d SET docs = d.docs - 1
        FROM jsonb_array_elements(gone_terms) t WHERE d.term = t ->> 0;
        DELETE FROM insight_df WHERE docs <= 0
            AND term IN (SELECT t ->> 0 FROM jsonb_array_elements(gone_terms) t);
        UPDATE insight_term_weeks w SET docs = w.docs - 1, mentions = w.mentions - CAST(t ->> 1 AS bigint)
        FROM jsonb_array_elements(gone_terms) t WHERE w.week = gone_week AND w.term = t ->> 0;
        DELETE FROM insight_term_weeks WHERE docs <= 0 AND week = gone_week;
        DELETE FROM insights WHERE uid = OLD.uid;
    END IF;
    DELETE FROM insight_targets WHERE uid = OLD.uid;
    DELETE FROM insight_figures WHERE uid = OLD.uid;
    RETURN NULL;
END $$;

CREATE TRIGGER insights_entry_gone AFTER DELETE ON entries FOR EACH ROW EXECUTE FUNCTION insights_entry_gone();
