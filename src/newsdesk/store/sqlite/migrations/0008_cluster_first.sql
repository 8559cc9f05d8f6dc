-- A cluster's first member (its canonical entry: earliest sort time, then uid) read from the
-- index alone: with uid in it, `ORDER BY sort_time, uid LIMIT 1` stops at the first index row
-- instead of sorting every member of the cluster (every entry list of the API asks it).
CREATE INDEX cluster_members_first ON cluster_members (cluster_id, sort_time, uid);
DROP INDEX cluster_members_cluster;
