"""The static news site: `newsdesk build` (publisher "site"), and publisher "feeds".

Output (all links relative, so it works from any static host and from `file://`):

    index.html, page-N.html         home: the latest articles; older ones paginated
    c/<group>/[<site>/[<feed>/]]     a list per group, site and feed (+ rss.xml, atom.xml, feed.json)
    a/<xx>/<uid>.html                one page per article
    archive/, archive/YYYY/MM/[DD/]  date archives (month, day)
    categories.html, search.html, 404.html, sitemap.xml (+ sitemaps/), static/, search/
    rss.xml, atom.xml, feed.json     the whole site's feeds

Incremental (see site_output): the store's revision counter says which entries changed
since the manifest's revision; only those are read from the store (in batches, bodies are
never all in memory), while every list page, feed and sitemap is re-planned from the small
per-entry records the manifest keeps and rendered only if its inputs' key changed.

Clusters: `build_site(..., related=provider)` takes a function uid → uids of the other
entries reporting the same story; the article page then lists them ("其他媒体报道").
"""

from __future__ import annotations

import contextlib
import gc
import os
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import quote

from markupsafe import Markup

from .. import locks, procs
from ..config import Config
from ..errors import PublishError
from ..models import StoredEntry
from ..store import Store
from . import feeds as fmt
from .base import Need, Progress, PublishReport
from .site_lists import Listing, newest_on_page, page_at, page_count, plan
from .site_model import Meta, category_paths, entry_mark, entry_summary, href, item_details, plain, shorten
from .site_output import STATE_DIR, Output, boot_id, digest, load_manifest, quick_key, save_manifest
from .site_pool import (
    ARTICLES_POOL_FROM,
    ARTICLES_POOL_UP_TO,
    POOL_FROM,
    EntryJob,
    EntryPages,
    PageRenderer,
    page_renderer,
    worker_count,
)
from .site_render import STATIC, DetailsLookup, Renderer, article_body, fmt_time, safe_body
from .site_search import SearchIndex, load_segmenter, search_doc, segmenter_id

FORMAT = "6"  # 2: entry records without the unused link; 3: SHA-256 page hashes; 4: no summaries;
# 5: a page's key and hash in one string; 6: records as rows, their names by index
BATCH = 200
# List pages the build process leaves to the workers at the end, to write the search index and
# feeds meanwhile (it takes back those not started when it is done: `PageRenderer.drain`).
LEAVE_TO_WORKERS = 1500
# See `_fewer_collections` (Python's default is 700). Not higher: at 50,000 the garbage
# waiting between collections cost 14 MB more at 100,000 entries (both processes).
GC_GEN0 = 5_000

# uid → uids of the other entries of the same story (clusters); None: no cluster section.
RelatedProvider = Callable[[str], Sequence[str]]


@dataclass(frozen=True)
class SiteOptions:
    title: str = "新闻台"
    base_url: str | None = None  # absolute URL the site is served at; feeds and sitemap need it
    page_size: int = 20
    feed_items: int = 20
    templates_dir: Path | None = None

    @classmethod
    def from_config(cls, config: Config) -> SiteOptions:
        return cls(
            title=config.site_title,
            base_url=config.base_url.rstrip("/") + "/" if config.base_url else None,
            page_size=config.page_size,
            feed_items=config.feed_items,
            templates_dir=config.path(config.templates_dir) if config.templates_dir else None,
        )


class _Build:
    """One build: the manifest's state in, every file of the site out."""

    def __init__(
        self,
        store: Store,
        config: Config,
        out_root: Path,
        *,
        feeds_only: bool,
        related: RelatedProvider | None,
        progress: Progress | None,
    ) -> None:
        self.store = store
        self.here = _store_here(store)  # the archive for whichever process renders
        self.opts = SiteOptions.from_config(config)
        self.root = out_root
        self.feeds_only = feeds_only
        self.related = related
        self.progress = progress
        self.fmt = f"{FORMAT}:{'feeds' if feeds_only else 'site'}"
        self.manifest_name = "feeds-manifest.json" if feeds_only else "manifest.json"
        self.old = load_manifest(out_root, self.manifest_name, self.fmt)
        self.out = Output(out_root, self.old.get("pages", {}))
        # The raw records are dropped once read: at 100,000 entries they are 40 MB of lists.
        old_metas = self.old.pop("metas", None)
        self.metas: dict[str, Meta] = {}
        try:
            names = [sys.intern(n) for n in self.old.pop("names", [])]
            while isinstance(old_metas, list) and old_metas:
                m = Meta.from_row(old_metas.pop(), names)
                self.metas[m.uid] = m
        except (IndexError, TypeError, ValueError):  # a damaged manifest: a full build
            self.metas, self.old = {}, {}
            self.out = Output(out_root, {})
        self.touched = True  # whether any entry changed since the manifest
        self.renderer: Renderer | None = None
        self.search: SearchIndex | None = None
        self.pages: PageRenderer
        # Uids the first pass sent to the workers (each page rendered, or found fresh, unless
        # it has a story cluster); None: every entry (a full build). Uids, not a set of all
        # 100,000 pages' paths, which cost 11 MB.
        self._first_pass: set[str] | None = None
        self._vanished: set[str] = set()  # uids of the first pass whose entry was gone
        self.parallel: bool | None = None  # None: worker processes for large builds only

    # -- the steps ---------------------------------------------------------------------
    def run(self, groups: list[tuple[str, str]]) -> PublishReport:
        changed, removed, rev = self._changes()
        self.touched = bool(changed or removed)
        for uid in removed:
            self.metas.pop(uid, None)
        self.renderer = Renderer(
            self.opts.templates_dir,
            {"site_title": self.opts.title, "nav": groups},
            cache_dir=self.root / STATE_DIR / "jinja",
            details=_details_lookup(self.here),
        )
        # Everything every page depends on: format, templates, options, the navigation.
        self.global_key = digest(FORMAT, self.renderer.digest, self.opts, groups)
        parallel = not self.feeds_only and (
            self.parallel if self.parallel is not None else len(changed) >= POOL_FROM
        )
        # A smaller build: one worker for the article pages and search terms only (see site_pool).
        articles_only = (
            not parallel
            and not self.feeds_only
            and self.parallel is None
            and len(changed) >= ARTICLES_POOL_FROM
            and len(self.metas) <= ARTICLES_POOL_UP_TO
        )
        if not self.feeds_only:
            self.search = SearchIndex(self.out, self.old.get("search"), segmenter_id(), load_segmenter)
            for uid in removed:
                self.search.remove(uid)
        search = self.search
        # With one worker, it alone cuts search terms (this process never loads the
        # tokenizer); with more, the tokenizer is loaded before the fork and shared.
        shared_cut = parallel and worker_count() > 1
        # Workers are forked first, before anything of this build starts a thread. They also
        # cut the articles they render into search terms; `add_terms` takes them in order.
        with page_renderer(
            self.renderer,
            self.out,
            parallel=parallel or articles_only,
            cut=search.cutter(load_now=shared_cut)
            if search is not None and (parallel or articles_only)
            else None,
            sink=search.add_terms if search is not None else None,
            entries=EntryPages(_entry_reader(self.here), _article_context, _search_text),
            cut_here=shared_cut,
        ) as self.pages:
            if articles_only:
                self.pages.inline, self.pages.steal = True, False
            if search is not None and parallel:
                self.pages.chore, self.pages.chore_waiting = search.write_closed, search.closed_waiting
            self._load(changed, first_pass=True)
            changed = []  # 100,000 uids at a first build: the records hold their own copies
            ordered = sorted(self.metas.values(), key=lambda m: m.sort_key)
            lists = plan(ordered, self.opts.title)
            state: dict[str, Any] = {}
            if not self.feeds_only:
                self._articles(ordered)
                articles_sent = self.pages.mark()
                self._lists(lists)
                # The workers render the last list pages (or the article pages, with one
                # worker) while this process makes the other pages and feeds, then writes the
                # search index once every article's terms are in.
                self._specials(lists)
                self._feeds(lists)
                if self.search is not None:
                    self.search.prepare()
                self.pages.wait_for(articles_sent)
                if self.search is not None:
                    self.search.retain(self.metas)
                    state = self.search.finish()
            else:
                self._feeds(lists)
        self.out.sweep()
        return self._save(rev, state)

    def _changes(self) -> tuple[list[str], set[str], int]:
        """Uids to (re)read from the store, uids gone from it, and the store's revision."""
        top = self.store.max_rev()
        old_rev = self.old.get("rev")
        if isinstance(old_rev, int) and 0 <= old_rev <= top and self.metas:
            changed: dict[str, bool] = {}
            rev = old_rev
            while True:
                batch = self.store.changes_since(rev, 1000)
                if not batch:
                    break
                for r, uid, gone in batch:
                    changed[uid] = gone
                    rev = r
            gone_ = {u for u, g in changed.items() if g}
            live = [u for u, g in changed.items() if not g]
            # A store whose counter does not account for every entry: read everything.
            if len((self.metas.keys() - gone_) | set(live)) == self.store.count_entries():
                return live, gone_, top
        uids = list(self.store.iter_uids())
        uids.reverse()  # oldest first: search docids follow publication order
        return uids, self.metas.keys() - set(uids), top

    def _load(self, uids: Iterable[str], *, first_pass: bool) -> None:
        todo = list(uids)
        if first_pass and self.search is not None and self.search.full:
            seen = set(todo)
            todo += [u for u in self._chronological() if u not in seen]
        total = len(todo)
        if first_pass and (self.feeds_only or self.pages.parallel):
            full = self.search is not None and self.search.full
            self._first_pass = None if full or self.feeds_only else set(todo)
            # The records alone, read without the bodies (at 100,000 entries reading bodies
            # was a fifth of the build's time in the process that feeds the workers). With
            # workers, each entry goes to them at once: they read its body themselves, cut
            # its search terms and, unless it has a story cluster (whose records must all be
            # read first), render its page.
            step = BATCH * 5
            for start in range(0, total, step):
                chunk = todo[start : start + step]
                heads = [Meta.from_head(h) for h in self.store.get_entry_heads(chunk)]
                if len(heads) < len(chunk):  # deleted since `_changes`: nothing was sent for them
                    self._vanished.update(set(chunk) - {m.uid for m in heads})
                heads.sort(key=lambda m: m.sort_key)  # search docids follow publication order
                for m in heads:
                    self.metas[m.uid] = m
                    if not self.feeds_only:
                        self._send_entry(m)
                if self.progress:
                    self.progress(min(start + step, total), total)
            return
        for start in range(0, total, BATCH):
            entries = self.store.get_entries(todo[start : start + BATCH])
            entries.sort(key=lambda e: (int((e.published or e.first_seen).timestamp()), e.uid))
            for e in entries:
                # A record read earlier in this build is reused: a second copy of every string
                # of 100,000 records is what the second pass would otherwise leave behind.
                had = self.metas.get(e.uid)
                if first_pass or had is None or had.mark != entry_mark(e):
                    m = self.metas[e.uid] = Meta.from_entry(e)
                else:
                    m = had
                if first_pass and self.search is not None and self.search.needs(m):
                    self.search.add(m, e.article.text if e.article is not None else plain(e.content))
                # Article pages need the related entries' records current: with a cluster
                # provider they are rendered in the second pass, once every record is read.
                if self.related is None or not first_pass:
                    self._article(m, e)
            if self.progress:
                self.progress(min(start + BATCH, total), total)

    def _send_entry(self, m: Meta) -> None:
        """First pass with workers: the entry's terms, and its page if it can be rendered now."""
        terms = self.search is not None and self.search.needs(m)
        render = False
        if not self._in_cluster(m):
            key = self._article_key(m)
            render = not self.out.fresh(m.path, key)
        else:
            key = ""
        if render or terms:
            self.pages.entry_page(m.path, key, EntryJob(m, [], render, terms))

    def _in_cluster(self, m: Meta) -> bool:
        """Whether the entry's page waits for the second pass (its story's records)."""
        return bool(self.related and self.related(m.uid))

    def _chronological(self) -> list[str]:
        return [m.uid for m in sorted(self.metas.values(), key=lambda m: m.sort_key)]

    # -- articles ----------------------------------------------------------------------
    def _related(self, uid: str) -> list[Meta]:
        if self.related is None:
            return []
        return [self.metas[r] for r in self.related(uid) if r in self.metas and r != uid]

    def _article_key(self, m: Meta) -> str:
        rel = self._related(m.uid)
        if not rel:  # most articles: a key for every one of them is made on every build
            return quick_key(self.global_key, m.mark)
        return digest(self.global_key, m.mark, [(r.uid, r.mark) for r in rel])

    def _articles(self, ordered: list[Meta]) -> None:
        if self.pages.parallel:
            # Pages the first pass could not send: those with a story cluster.
            done = self.out.pages  # found fresh in the first pass
            for m in ordered:
                first = (
                    self._first_pass is None or m.uid in self._first_pass
                ) and m.uid not in self._vanished
                if first and not self._in_cluster(m):
                    continue  # sent in the first pass, or found fresh there
                if m.path not in done and not self._article_fresh(m):
                    related = self._related(m.uid)
                    self.pages.entry_page(m.path, self._article_key(m), EntryJob(m, related, True, False))
            return
        done = self.out.pages  # rendered (or found fresh) in the first pass
        todo = [m.uid for m in ordered if m.path not in done and not self._article_fresh(m)]
        self._load(todo, first_pass=False)

    def _article_fresh(self, m: Meta) -> bool:
        return self.out.fresh(m.path, self._article_key(m))

    def _article(self, m: Meta, e: StoredEntry) -> None:
        """Render the article's page (in this process) unless it is fresh."""
        if m.path in self.out.pages:
            return
        key = self._article_key(m)
        if not self.out.fresh(m.path, key):
            self.pages.page("article.html", m.path, key, **_article_context(m, e, self._related(m.uid)))

    def _r(self) -> Renderer:
        assert self.renderer is not None
        return self.renderer

    # -- lists ---------------------------------------------------------------------------
    def _lists(self, lists: dict[str, Listing]) -> None:
        size = self.opts.page_size
        # In the order of their newest item, not list by list: an article is on six lists'
        # pages, which then come close together, so the renderer's small cache of rendered
        # list items (site_render.ITEM_CACHE) renders it once, at any size of archive.
        # Pages are made when needed, not all at once (30,000 pages of 20 items at 100,000
        # articles were 19 MB): here sorted as (newest item, path, list, page number).
        todo: list[tuple[tuple[int, str], str, Listing, int]] = []
        for lst in lists.values():
            for k in range(page_count(lst, size)):
                newest = newest_on_page(lst, size, k)
                path = f"{lst.folder}page-{k}.html" if k else f"{lst.folder}index.html"
                todo.append((newest.sort_key if newest is not None else (0, ""), path, lst, k))
        todo.sort(key=lambda x: (x[0], x[1]))
        stale: list[tuple[Listing, int, str]] = []
        for _, _, lst, k in todo:
            page = page_at(lst, size, k)
            # Made for each of the site's list pages on every build: strings and reprs
            # of plain tuples, no JSON.
            key = quick_key(
                self.global_key,
                lst.kind,
                lst.title,
                repr(lst.crumbs),
                repr(lst.children) if page.number == 0 else "",
                _marks(page.items),
                page.older or "",
                page.newer or "",
            )
            if not self.out.fresh(page.path, key):
                stale.append((lst, k, key))
        todo.clear()
        leave_from = len(stale) - LEAVE_TO_WORKERS
        for i, (lst, k, key) in enumerate(stale):
            if i == leave_from:
                self.pages.steal = False  # see `run`: the rest is the workers'
            page = page_at(lst, size, k)
            title = lst.title if page.number == 0 else f"{lst.title}（第{page.number}页）"
            self.pages.page(
                "list.html",
                page.path,
                key,
                # The listing without its items (the page has its own): cheap to send.
                listing=replace(lst, items=[]),
                page=page,
                page_title=title,
                crumbs=lst.crumbs,
                children=lst.children if page.number == 0 else [],
                feeds=lst.folder if lst.has_feeds else None,
                count=len(lst.items),
            )

    def _specials(self, lists: dict[str, Listing]) -> None:
        tree = [
            (g, [(lists[s[1]], [lists[f[1]] for f in lists[s[1]].children]) for s in g.children])
            for g in (lists[c[1]] for c in lists[""].children)
        ]
        shape: object = [(g.folder, g.children, [s.children for s, _ in ss]) for g, ss in tree]
        self._page("categories.html", digest(self.global_key, shape), "categories.html", tree=tree)
        months = sorted((x for x in lists.values() if x.kind == "month"), key=lambda x: x.folder)[::-1]
        shape = [(x.folder, len(x.items)) for x in months]
        self._page("archive/index.html", digest(self.global_key, shape), "archive.html", months=months)
        self._page("search.html", self.global_key, "search.html")
        # A 404 page is served at whatever address was missing: relative links cannot work
        # there, so it links from the site's root (base_url, else the host's root).
        self._page("404.html", self.global_key, "404.html", abs_root=self.opts.base_url or "/")
        for name in STATIC:
            self.out.put(f"static/{name}", "static", self._r().static(name))
        self._sitemaps(lists)

    _TITLES: ClassVar[dict[str, str]] = {
        "categories.html": "分类",
        "archive/index.html": "归档",
        "search.html": "搜索",
        "404.html": "页面不存在",
    }

    def _page(self, path: str, key: str, template: str, **ctx: Any) -> None:
        if not self.out.fresh(path, key):
            title = self._TITLES[path]
            data = self._r().render(template, path, crumbs=[("首页", "")], page_title=title, **ctx)
            self.out.put(path, key, data)

    def _abs(self, path: str) -> str:
        return (self.opts.base_url or "") + quote(path, safe="/")

    def _sitemaps(self, lists: dict[str, Listing]) -> None:
        """A sitemap index over one sitemap per month of articles, plus one for list pages:
        a new article rewrites its month's file only."""
        # By month of Beijing time: the month lists of the plan ("archive/YYYY/MM/").
        by_month = {x.folder[8:15].replace("/", "-"): x.items for x in lists.values() if x.kind == "month"}
        files = []
        for month, ms in sorted(by_month.items()):
            path = f"sitemaps/{month}.xml"
            files.append(path)
            key = quick_key(self.global_key, " ".join([f"{m.uid}{m.ts}" for m in ms]))
            if not self.out.fresh(path, key):
                urls: list[tuple[str, str | None]] = [(m.path, fmt_time(m.ts, "%Y-%m-%d")) for m in ms]
                self.out.put(path, key, _urlset(self._abs, urls))
        folders = sorted(lists)
        path = "sitemaps/pages.xml"
        files.append(path)
        key = digest(self.global_key, folders)
        if not self.out.fresh(path, key):
            pages_ = [f"{f}index.html" for f in folders]
            pages_ += ["categories.html", "archive/index.html", "search.html"]
            self.out.put(path, key, _urlset(self._abs, [(p, None) for p in pages_]))
        body = "".join(f"<sitemap><loc>{fmt.x(self._abs(f))}</loc></sitemap>\n" for f in files)
        doc = (
            '<?xml version="1.0" encoding="utf-8"?>\n'
            f'<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n{body}</sitemapindex>\n'
        )
        self.out.put("sitemap.xml", "sitemap", doc.encode("utf-8"))

    # -- feeds ---------------------------------------------------------------------------
    def _feeds(self, lists: dict[str, Listing]) -> None:
        n = self.opts.feed_items
        stale: list[tuple[Listing, list[Meta], str, list[str]]] = []
        for lst in lists.values():
            if not lst.has_feeds:
                continue
            items = lst.items[-n:][::-1]
            key = quick_key(self.global_key, lst.folder, lst.title, _marks(items))
            names = [f"{lst.folder}{x}" for x in ("rss.xml", "atom.xml", "feed.json")]
            if not all([self.out.fresh(p, key) for p in names]):
                stale.append((lst, items, key, names))
        # The newest entries are in the home, group, site and feed lists alike: read each once.
        wanted = list(dict.fromkeys(m.uid for _, items, _, _ in stale for m in items))
        entries: dict[str, StoredEntry] = {}
        for start in range(0, len(wanted), BATCH):
            entries.update((e.uid, e) for e in self.store.get_entries(wanted[start : start + BATCH]))
        made: dict[str, fmt.FeedItem] = {}  # uid → its item, to re-address for each folder
        for lst, items, key, names in stale:
            info = self._feed_info(lst)
            feed_items = []
            for m in items:
                e = entries.get(m.uid)
                if e is None:
                    continue
                item = made.get(m.uid)
                if item is None:
                    item = made[m.uid] = self._feed_item(lst, m, e)
                elif not self.feeds_only:  # the same item; links relative to this folder
                    item = replace(item, url=self._feed_url(lst, m.path))
                feed_items.append(item)
            self.out.put(names[0], key, fmt.render_rss(info, feed_items))
            self.out.put(names[1], key, fmt.render_atom(info, feed_items))
            self.out.put(names[2], key, fmt.render_json_feed(info, feed_items))

    def _feed_url(self, lst: Listing, to: str) -> str:
        if self.opts.base_url:
            return self._abs(to)
        return href(f"{lst.folder}rss.xml", to)  # relative to the feed file itself

    def _feed_info(self, lst: Listing) -> fmt.FeedInfo:
        title = self.opts.title if lst.kind == "home" else f"{lst.title} - {self.opts.title}"
        where = " → ".join([c[0] for c in lst.crumbs[1:]] + [lst.title]) if lst.kind != "home" else ""
        return fmt.FeedInfo(
            key=lst.folder,
            title=title,
            home_url=self._feed_url(lst, f"{lst.folder}index.html"),
            description=f"{self.opts.title}：{where or '最新文章'}",
            rss_url=self._feed_url(lst, f"{lst.folder}rss.xml"),
            atom_url=self._feed_url(lst, f"{lst.folder}atom.xml"),
            json_url=self._feed_url(lst, f"{lst.folder}feed.json"),
        )

    def _feed_item(self, lst: Listing, m: Meta, e: StoredEntry) -> fmt.FeedItem:
        a = e.article
        when = e.published or e.first_seen
        link = _http_link(e)
        return fmt.FeedItem(
            uid=m.uid,
            title=m.display_title,
            url=self._feed_item_url(lst, m, e),
            external_url=link,
            content_html=article_body(a.html) if a is not None else safe_body(e.content),
            summary=entry_summary(e),
            published=when,
            updated=max(when, e.updated or when),
            author=(a.source if a is not None and a.source else None) or e.author,
            tags=(m.group, m.site, m.feed),
            image=a.header_image if a is not None else None,
        )

    def _feed_item_url(self, lst: Listing, m: Meta, e: StoredEntry) -> str:
        if self.feeds_only:  # no article pages: its items point at the originals
            return _http_link(e) or fmt.guid(m.uid)
        return self._feed_url(lst, m.path)

    # -- the end -------------------------------------------------------------------------
    def _save(self, rev: int, search_state: dict[str, Any]) -> PublishReport:
        report = PublishReport("feeds" if self.feeds_only else "site", self.root)
        report.written, report.unchanged, report.removed = (
            self.out.written,
            self.out.unchanged,
            self.out.removed,
        )
        same = (
            self.old.get("rev") == rev
            and self.old.get("pages") == self.out.pages
            and self.old.get("search", {}) == search_state
            and not self.touched
        )
        if same:
            return report  # nothing changed: not even the manifest is written
        names = sorted(
            {n for m in self.metas.values() for n in (m.group, m.site, m.feed, m.source) if n is not None}
        )
        index = {n: i for i, n in enumerate(names)}
        head: dict[str, Any] = {"format": self.fmt, "rev": rev, "search": search_state, "names": names}
        # Pages on disk before the manifest that vouches for them: synced now, or trusted only
        # within this boot of the machine (see site_output).
        boot = boot_id()
        if boot is not None:
            head["boot"] = boot
        elif self.out.written or self.out.removed:
            os.sync()
        save_manifest(
            self.root,
            self.manifest_name,
            head,
            # Sorted keys, not items: 100,000 tuples would be the save's largest allocation.
            metas=(self.metas[u].to_row(index) for u in sorted(self.metas)),
            pages=self.out.pages,
        )
        return report


def _marks(items: Sequence[Meta]) -> str:
    """What a list of entries shows, as one string for a page's key: which and which version."""
    return " ".join([m.uid + m.mark for m in items])


def _article_context(m: Meta, e: StoredEntry, related: list[Meta]) -> dict[str, Any]:
    """What `article.html` gets for entry `e` (record `m`; `related`: its story's others)."""
    a = e.article
    body = article_body(a.html) if a is not None else safe_body(e.content)
    g, s, f = m.folders
    return {
        "m": m,
        "page_title": shorten(m.display_title, 100),
        "crumbs": [("首页", ""), (m.group, g), (m.site, s), (m.feed, f)],
        "body": Markup(body),
        "source": m.source,
        "editor": a.editor if a is not None else None,
        "reporters": list(a.reporters) if a is not None else [],
        "dateline": a.dateline if a is not None else None,
        "char_count": a.char_count if a is not None else None,
        "author": e.author,
        "link": _http_link(e),
        "updated": e.updated,
        "related": related,
    }


def _http_link(e: StoredEntry) -> str | None:
    return e.link if e.link and e.link.startswith(("http://", "https://")) else None


def _search_text(m: Meta, e: StoredEntry) -> str:
    return search_doc(m, e.article.text if e.article is not None else plain(e.content))


def _store_here(store: Store) -> Callable[[], Store]:
    """The archive for the process that calls: `store` in the build process, one connection
    of its own (opened once, shared by its lookups) in a forked worker."""
    owner = os.getpid()
    opened: dict[int, Store] = {}

    def here() -> Store:
        pid = os.getpid()
        if pid == owner:
            return store
        if pid not in opened:
            opened[pid] = store.reopen()
        return opened[pid]

    return here


def _entry_reader(here: Callable[[], Store]) -> Callable[[list[str]], dict[str, StoredEntry]]:
    """uids → their entries, read on the archive connection of whichever process calls."""
    return lambda uids: {e.uid: e for e in here().get_entries(uids)}


def _details_lookup(here: Callable[[], Store]) -> DetailsLookup:
    """uids → their list items' summaries and images, read like `_entry_reader`."""
    return lambda uids: {h.uid: item_details(h) for h in here().get_entry_heads(uids)}


def _urlset(absolute: Callable[[str], str], urls: list[tuple[str, str | None]]) -> bytes:
    rows = []
    for path, lastmod in urls:
        mod = f"<lastmod>{lastmod}</lastmod>" if lastmod else ""
        rows.append(f"<url><loc>{fmt.x(absolute(path))}</loc>{mod}</url>\n")
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n' + "".join(rows) + "</urlset>\n"
    ).encode("utf-8")


def build_site(
    store: Store,
    config: Config,
    out_dir: Path | None = None,
    *,
    related: RelatedProvider | None = None,
    progress: Progress | None = None,
    feeds_only: bool = False,
    parallel: bool | None = None,
) -> PublishReport:
    """Build (or bring up to date) the static site in `out_dir` (default: the config's site_dir).
    `parallel`: render in worker processes (None: when the build is large enough to gain)."""
    root = (out_dir or config.path(config.site_dir)).resolve()
    try:
        (root / STATE_DIR).mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise PublishError(f"{root}: cannot create the site folder: {e.strerror or e}") from e
    groups: dict[str, str] = {}
    for spec in config.feeds():
        groups.setdefault(spec.group, category_paths(spec.group, spec.site, spec.name)[0])
    # One build at a time in a folder, the site's and its feeds' alike (see `locks`).
    lock = locks.hold(root / STATE_DIR / "publish.lock", f"publishing to {root}")
    with lock, _fewer_collections():
        build = _Build(store, config, root, feeds_only=feeds_only, related=related, progress=progress)
        build.parallel = parallel
        try:
            return build.run(list(groups.items()))
        except procs.Stopped as e:  # what was done, for the CLI's last lines
            out = build.out
            e.add_note(f"{root}: {out.written} files written, {out.unchanged} unchanged, then stopped")
            raise


@contextlib.contextmanager
def _fewer_collections() -> Iterator[None]:
    """The cyclic garbage collector less often during a build (inherited by its workers): a
    build makes millions of small containers, almost none in cycles, and the collector's
    passes over them cost ~1-2 % of a cold build; a collection still runs every GC_GEN0 of them."""
    old = gc.get_threshold()
    gc.set_threshold(GC_GEN0, *old[1:])
    try:
        yield
    finally:
        gc.set_threshold(*old)


class SitePublisher:
    name = "site"
    needs: frozenset[Need] = frozenset({"clusters"})  # related stories on article pages

    def __init__(self, related: RelatedProvider | None = None) -> None:
        self.related = related

    def publish(
        self, store: Store, config: Config, out_dir: Path | None = None, progress: Progress | None = None
    ) -> PublishReport:
        related = self.related or _cluster_provider(store)
        return build_site(store, config, out_dir, related=related, progress=progress)


def _cluster_provider(store: Store) -> RelatedProvider:
    """uid → the other members of its story cluster, read once per build in one query."""
    members: dict[str, list[str]] = {}
    for cluster_id, uid in store.cluster_member_uids():
        members.setdefault(cluster_id, []).append(uid)
    others: dict[str, list[str]] = {}
    for uids in members.values():
        for uid in uids:
            others[uid] = [u for u in uids if u != uid]
    return lambda uid: others.get(uid, ())


class FeedsPublisher:
    """Only the feeds (site root, groups, sites, feeds), e.g. for a folder a feed reader polls."""

    name = "feeds"
    needs: frozenset[Need] = frozenset({"clusters"})

    def publish(
        self, store: Store, config: Config, out_dir: Path | None = None, progress: Progress | None = None
    ) -> PublishReport:
        return build_site(store, config, out_dir, progress=progress, feeds_only=True)
