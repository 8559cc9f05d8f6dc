-- A search in one feed (`feed:` filter, store/postgres/search.py: `feed = … OR feed_key = …`)
-- finds its rows by these as well as by the GIN index of the words (a BitmapAnd), so a feed's
-- few matches do not cost a visit to every row of the archive holding the words: at 1,000,000
-- articles, 新能源汽车 in one feed of 100 needed the whole year for its 1,000 newest matches,
-- and its weeks' bitmaps visited ~100,000 rows to keep them.
CREATE INDEX docs_feed ON newsdesk_search.docs (feed);
CREATE INDEX docs_feed_key ON newsdesk_search.docs (feed_key);
