-- Each multi-member cluster's canonical entry (its earliest member by sort time, then uid)
-- kept in its row: every entry list and every search asks it for each entry they show, and a
-- column of the row already read costs nothing where a probe of the members' index per entry
-- was most of a search's work on an archive of large stories.
ALTER TABLE clusters ADD COLUMN canonical TEXT;
UPDATE clusters SET canonical = (
    SELECT uid FROM cluster_members WHERE cluster_id = clusters.id ORDER BY sort_time, uid LIMIT 1
);
