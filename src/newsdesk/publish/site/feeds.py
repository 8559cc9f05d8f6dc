"""The feeds of the site's lists (the whole site, every group, site and feed folder), as RSS,
Atom and JSON Feed: written by the site build beside its list pages, and by publisher
"feeds" alone (its own plan and manifest, e.g. for a folder a feed reader polls; its items
then link to the original articles, there being no article pages).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

from ...config import Config
from ...models import StoredEntry
from ...store import Store
from ..base import Need, Progress, PublishReport
from . import feed_formats as fmt
from .lists import Listing, plan
from .model import EntryRecord, entry_summary, href
from .output import Output, digest, quick_key
from .plan import BATCH, FORMAT, ArchivePlan, SiteOptions, absolute_url, run_in_folder
from .render import article_body, safe_body

FEED_FILES = ("rss.xml", "atom.xml", "feed.json")


def marks(items: Sequence[EntryRecord]) -> str:
    """What a list of entries shows, as one string for a page's key: which and which version."""
    return " ".join([m.uid + m.mark for m in items])


def http_link(e: StoredEntry) -> str | None:
    return e.link if e.link and e.link.startswith(("http://", "https://")) else None


class FeedWriter:
    """Writes the stale feeds of a plan's lists through `out`. `to_pages`: items link to the
    site's article pages (the site build); else to the original articles."""

    def __init__(
        self,
        store: Store,
        out: Output,
        opts: SiteOptions,
        global_key: str,
        absolute: Callable[[str], str],
        *,
        to_pages: bool,
    ) -> None:
        self.store = store
        self.out = out
        self.opts = opts
        self.global_key = global_key
        self.absolute = absolute
        self.to_pages = to_pages

    def write(self, lists: dict[str, Listing]) -> None:
        n = self.opts.feed_items
        stale: list[tuple[Listing, list[EntryRecord], str, list[str]]] = []
        for lst in lists.values():
            if not lst.has_feeds:
                continue
            items = lst.items[-n:][::-1]
            key = quick_key(self.global_key, lst.folder, lst.title, marks(items))
            names = [f"{lst.folder}{x}" for x in FEED_FILES]
            if not all([self.out.fresh(p, key) for p in names]):
                stale.append((lst, items, key, names))
        # The newest entries are in the home, group, site and feed lists alike: read each once.
        wanted = list(dict.fromkeys(m.uid for _, items, _, _ in stale for m in items))
        entries: dict[str, StoredEntry] = {}
        for start in range(0, len(wanted), BATCH):
            entries.update((e.uid, e) for e in self.store.get_entries(wanted[start : start + BATCH]))
        made: dict[str, fmt.FeedItem] = {}  # uid → its item, to re-address for each folder
        for lst, items, key, names in stale:
            info = self._info(lst)
            feed_items = []
            for m in items:
                e = entries.get(m.uid)
                if e is None:
                    continue
                item = made.get(m.uid)
                if item is None:
                    item = made[m.uid] = self._item(lst, m, e)
                elif self.to_pages:  # the same item; links relative to this folder
                    item = replace(item, url=self._url(lst, m.path))
                feed_items.append(item)
            self.out.put(names[0], key, fmt.render_rss(info, feed_items))
            self.out.put(names[1], key, fmt.render_atom(info, feed_items))
            self.out.put(names[2], key, fmt.render_json_feed(info, feed_items))

    def _url(self, lst: Listing, to: str) -> str:
        if self.opts.base_url:
            return self.absolute(to)
        return href(f"{lst.folder}rss.xml", to)  # relative to the feed file itself

    def _info(self, lst: Listing) -> fmt.FeedInfo:
        title = self.opts.title if lst.kind == "home" else f"{lst.title} - {self.opts.title}"
        where = " → ".join([c[0] for c in lst.crumbs[1:]] + [lst.title]) if lst.kind != "home" else ""
        return fmt.FeedInfo(
            key=lst.folder,
            title=title,
            home_url=self._url(lst, f"{lst.folder}index.html"),
            description=f"{self.opts.title}：{where or '最新文章'}",
            rss_url=self._url(lst, f"{lst.folder}rss.xml"),
            atom_url=self._url(lst, f"{lst.folder}atom.xml"),
            json_url=self._url(lst, f"{lst.folder}feed.json"),
        )

    def _item(self, lst: Listing, m: EntryRecord, e: StoredEntry) -> fmt.FeedItem:
        a = e.article
        when = e.published or e.first_seen
        link = http_link(e)
        # Without article pages (publisher "feeds"), items point at the originals.
        url = self._url(lst, m.path) if self.to_pages else link or fmt.guid(m.uid)
        return fmt.FeedItem(
            uid=m.uid,
            title=m.display_title,
            url=url,
            external_url=link,
            content_html=article_body(a.html) if a is not None else safe_body(e.content),
            summary=entry_summary(e),
            published=when,
            updated=max(when, e.updated or when),
            author=(a.source if a is not None and a.source else None) or e.author,
            tags=(m.group, m.site, m.feed),
            image=a.header_image if a is not None else None,
        )


class FeedsPlan(ArchivePlan):
    """Publisher "feeds": the records of the changed entries, the lists, their feeds."""

    def __init__(self, store: Store, config: Config, out_root: Path, progress: Progress | None) -> None:
        super().__init__(store, config, out_root, kind="feeds", progress=progress)

    def run(self, groups: list[tuple[str, str]]) -> PublishReport:
        changed, removed, rev = self.changes()
        self.touched = bool(changed or removed)
        for uid in removed:
            self.records.pop(uid, None)
        # The feeds use no template: their key is the format, the options and the navigation.
        global_key = digest(FORMAT, "feeds", self.opts, groups)
        self.read_records(changed)
        lists = plan(self.ordered(), self.opts.title)
        FeedWriter(self.store, self.out, self.opts, global_key, self._absolute, to_pages=False).write(lists)
        self.out.sweep()
        return self.save(rev, {})

    def _absolute(self, path: str) -> str:
        return absolute_url(self.opts, path)


def build_feeds(
    store: Store, config: Config, out_dir: Path | None = None, *, progress: Progress | None = None
) -> PublishReport:
    """Write (or bring up to date) the feeds alone in `out_dir` (default: the site_dir)."""
    root = (out_dir or config.path(config.site_dir)).resolve()
    return run_in_folder(root, config, lambda: FeedsPlan(store, config, root, progress))


class FeedsPublisher:
    """Only the feeds (site root, groups, sites, feeds), e.g. for a folder a feed reader polls."""

    name = "feeds"
    needs: frozenset[Need] = frozenset({"clusters"})

    def publish(
        self, store: Store, config: Config, out_dir: Path | None = None, progress: Progress | None = None
    ) -> PublishReport:
        return build_feeds(store, config, out_dir, progress=progress)
