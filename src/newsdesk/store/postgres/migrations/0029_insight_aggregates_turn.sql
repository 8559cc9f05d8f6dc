-- The term aggregates' own turn (store/postgres/insights.py): an entry deleted counts its terms
-- out of `insight_df` and `insight_term_weeks`, so its trigger takes the same transaction-scoped
-- advisory lock as every other writer of them before it touches a row. Deletes hold the change
-- counter already; the counter first, then the aggregates, as `save_insights(bump=True)` does.
CREATE OR REPLACE FUNCTION insights_entry_gone() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    gone_week text;
    gone_terms jsonb;
BEGIN
    SELECT week, COALESCE(CAST(data AS jsonb) -> 'terms', '[]') INTO gone_week, gone_terms
    FROM insights WHERE uid = OLD.uid;
    IF FOUND THEN
        PERFORM pg_advisory_xact_lock(28268, 6383463);  -- insights.AGGREGATES_LOCK
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
