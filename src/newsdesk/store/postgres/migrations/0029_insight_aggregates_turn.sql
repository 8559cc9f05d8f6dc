-- The term aggregates' own turn (store/postgres/insights.py): an entry deleted counts its terms
-- out of `insight_df` and `insight_term_weeks` (PG 0023's row trigger), so a statement deleting
-- entries first takes the same transaction-scoped advisory lock as every other writer of them,
-- before it has locked any row. Deletes hold the change counter already: the counter first, then
-- the aggregates, as `save_insights(bump=True)` takes them, so the two turns never cross.
CREATE FUNCTION insight_aggregates_turn() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(28268, 6383463);  -- insights.AGGREGATES_LOCK: "nl", "agg"
    RETURN NULL;
END $$;

CREATE TRIGGER entries_deleted_aggregates_turn BEFORE DELETE ON entries
    FOR EACH STATEMENT EXECUTE FUNCTION insight_aggregates_turn();
