"""The static news site (publisher "site") and its feeds alone (publisher "feeds").

    plan.py          what a build starts from and ends with: the manifest, the changed
                     entries, the per-entry records
    build.py         one build of the site (publisher "site"): its steps
    feeds.py         the feeds of the lists, and publisher "feeds" (the feeds alone)
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

from .build import SitePublisher, SiteReport, build_site
from .feeds import FeedsPublisher, build_feeds
from .pool import PoolOptions, PoolStats

__all__ = [
    "FeedsPublisher",
    "PoolOptions",
    "PoolStats",
    "SitePublisher",
    "SiteReport",
    "build_feeds",
    "build_site",
]
