-- What PostgreSQL keeps beside each entry stored — its Fever item number (PG 0022) and its
-- feed's entry count (PG 0026) — kept by one trigger per statement. A feed's new entries are
-- stored in one statement (store/postgres/archive.py), so both move once per feed stored
-- instead of once per entry: the number was a row trigger (~0.04 ms an entry), and the count,
-- per statement already, cost ~0.03 ms an entry while entries went in one per statement.
--
-- What stays the same: the numbering first takes the change counter's turn (PG 0022 says why),
-- only when the statement inserted a row; rows are numbered in the order the statement
-- inserted them (the transition table's order); counts move by the rows inserted, feeds in key
-- order (PG 0026).
DROP TRIGGER fever_item_numbered ON entries;
DROP TRIGGER entries_counted ON entries;

CREATE FUNCTION entries_added() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM rev_counter WHERE id = 1 AND EXISTS (SELECT 1 FROM inserted) FOR UPDATE;
    INSERT INTO fever_items (uid) SELECT uid FROM inserted ON CONFLICT DO NOTHING;
    INSERT INTO feed_counts AS c (feed_key, entries)
    SELECT feed_key, COUNT(*) FROM inserted GROUP BY feed_key ORDER BY feed_key
    ON CONFLICT (feed_key) DO UPDATE SET entries = c.entries + excluded.entries;
    RETURN NULL;
END $$;

CREATE TRIGGER entries_added AFTER INSERT ON entries REFERENCING NEW TABLE AS inserted
FOR EACH STATEMENT EXECUTE FUNCTION entries_added();

DROP FUNCTION fever_item_numbered();
DROP FUNCTION entries_counted();
