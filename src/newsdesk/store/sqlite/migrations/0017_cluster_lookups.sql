-- Which story each entry belongs to, read from an index alone (`story_keys`, which names it:
-- the planner prefers the primary key). Every search asks it of each ranked hit until a page
-- holds enough distinct stories: hundreds of hits when big stories fill the ranking. Through
-- the primary key each lookup also read the member's row, which holds its MinHash signature,
-- so the table is many times the page cache and a search's rows are scattered over it; this
-- index is a few MB for 100,000 entries and stays in the cache.
CREATE INDEX cluster_members_story ON cluster_members (uid, cluster_id);
