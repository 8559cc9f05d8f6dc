"""The static news site (publisher "site") and its feeds alone (publisher "feeds").

    build.py         one build: the plan (what changed, which pages are stale) and its steps
    model.py         the per-entry records the manifest keeps, and the site's paths
    lists.py         the list pages: home, groups, sites, feeds, date archives
    render.py        Jinja templates to bytes
    output.py        the one writer: keys, hashes, the manifest, atomic writes
    pool.py          worker processes that render pages and cut search terms
    search.py        the offline search index the site's search page reads
    feed_formats.py  RSS 2.0, Atom 1.0 and JSON Feed 1.1 from one list of items
    sitemap.py       sitemap.xml and sitemaps/

The scheduling of the worker processes is described in docs/site-build.md.
"""

from .build import FeedsPublisher, SitePublisher, build_site

__all__ = ["FeedsPublisher", "SitePublisher", "build_site"]
