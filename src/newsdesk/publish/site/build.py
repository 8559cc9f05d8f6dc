"""The static news site: `newsdesk build` (publisher "site").

Output (all links relative, so it works from any static host and from `file://`):

    index.html, page-N.html         home: the latest articles; older ones paginated
    c/<group>/[<site>/[<feed>/]]     a list per group, site and feed (+ rss.xml, atom.xml, feed.json)
    a/<xx>/<uid>.html                one page per article
    archive/, archive/YYYY/MM/[DD/]  date archives (month, day)
    categories.html, search.html, 404.html, sitemap.xml (+ sitemaps/), static/, search/
    rss.xml, atom.xml, feed.json     the whole site's feeds

Incremental (see plan.py and output.py): the store's revision counter says which entries changed
since the manifest's revision; only those are read from the store (in batches, bodies are
never all in memory), while every list page, feed and sitemap is re-planned from the small
per-entry records the manifest keeps and rendered only if its inputs' key changed.

Clusters: `build_site(..., related=provider)` takes a function uid → uids of the other
entries reporting the same story; the article page then lists them ("其他媒体报道").

Worker processes render pages of large builds (pool.py; the scheduling is described in
docs/site-build.md); how and when is `PoolOptions`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from functools import partial
from pathlib import Path
from typing import Any, ClassVar

from markupsafe import Markup

from ...config import Config
from ...models import StoredEntry
from ...search.text import entry_text
from ...store import Store
from ..base import Need, Progress, PublishReport
from ..insights_view import boxes, today
from .feeds import FeedWriter, http_link, marks
from .insight_pages import InsightPages
from .lists import Listing, newest_on_page, page_at, page_count, plan
from .model import EntryRecord, entry_mark, item_details, shorten
from .output import STATE_DIR, digest, quick_key
from .plan import BATCH, FORMAT, ArchivePlan, absolute_url, run_in_folder
from .pool import EntryJob, EntryPages, PageRenderer, PoolOptions, PoolStats, page_renderer, start_early
from .render import STATIC, Renderer, article_body, safe_body
from .search import OfflineSearchIndex, load_segmenter, search_doc, segmenter_id
from .sitemap import write_sitemaps

# List pages the build process leaves to the workers at the end, to write the search index and
# feeds meanwhile (it takes back those not started when it is done: `PageRenderer.drain`).
LEAVE_TO_WORKERS = 1500
# uid → uids of the other entries of the same story (clusters); None: no cluster section.
RelatedProvider = Callable[[str], Sequence[str]]


class SitePlan(ArchivePlan):
    """One build of the site: the manifest's state in, every file of the site out."""

    def __init__(
        self,
        store: Store,
        config: Config,
        out_root: Path,
        *,
        related: RelatedProvider | None,
        progress: Progress | None,
        pool: PoolOptions,
        day: date | None = None,
    ) -> None:
        super().__init__(store, config, out_root, kind="site", progress=progress)
        self.related = related
        self.day = day  # the build's clock for the insight pages (today in Beijing when None)
        self.pool = pool
        self.renderer: Renderer | None = None
        self.search: OfflineSearchIndex | None = None
        self.pages: PageRenderer
        # Uids the first pass sent to the workers (each page rendered, or found fresh, unless
        # it has a story cluster); None: every entry (a full build). Uids, not a set of all
        # 100,000 pages' paths, which cost 11 MB.
        self._first_pass: set[str] | None = None
        self._vanished: set[str] = set()  # uids of the first pass whose entry was gone
        self._boxes: dict[str, dict[str, Any]] = {}  # 要点 boxes of the batch being rendered here

    # -- the steps ---------------------------------------------------------------------
    def run(self, groups: list[tuple[str, str]]) -> SiteReport:
        changed, removed, rev = self.changes()
        self.touched = bool(changed or removed)
        for uid in removed:
            self.records.pop(uid, None)
        pool = self.pool
        parallel = pool.parallel if pool.parallel is not None else len(changed) >= pool.pool_from
        # A smaller build: one worker for the article pages and search terms only (see pool.py).
        articles_only = (
            not parallel
            and pool.parallel is None
            and len(changed) >= pool.articles_pool_from
            and len(self.records) <= pool.articles_pool_up_to
        )
        if parallel or articles_only:
            start_early(pool)
        self.renderer = Renderer(
            self.opts.templates_dir,
            {"site_title": self.opts.title, "nav": groups},
            cache_dir=self.root / STATE_DIR / "jinja",
            details=partial(_read_details, self.store),
            own_url=self.opts.base_url,
        )
        # Everything every page depends on: format, templates, options, the navigation.
        self.global_key = digest(FORMAT, self.renderer.digest, self.opts, groups)
        search = self.search = OfflineSearchIndex(
            self.out, self.old.get("search"), segmenter_id(), load_segmenter
        )
        for uid in removed:
            search.remove(uid)
        # With one worker, it alone cuts search terms (this process never loads the
        # tokenizer); with more, this process cuts some too.
        shared_cut = parallel and pool.worker_count() > 1
        # Workers render pages and cut the articles they render into search terms;
        # `add_terms` takes them in order.
        with page_renderer(
            self.renderer,
            self.out,
            pool,
            parallel=parallel or articles_only,
            cut=search.cutter(load_now=shared_cut) if parallel or articles_only else None,
            sink=search.add_terms,
            entries=EntryPages(partial(_read_entries, self.store), _job_context, _job_text),
            cut_here=shared_cut,
        ) as self.pages:
            if articles_only:
                self.pages.inline, self.pages.steal = True, False
            if parallel:
                self.pages.chore, self.pages.chore_waiting = search.write_closed, search.closed_waiting
            self._load(changed, first_pass=True)
            changed = []  # 100,000 uids at a first build: the records hold their own copies
            ordered = self.ordered()
            lists = plan(ordered, self.opts.title)
            self._articles(ordered)
            articles_sent = self.pages.mark()
            self._lists(lists)
            # The workers render the last list pages (or the article pages, with one
            # worker) while this process makes the other pages and feeds, then writes the
            # search index once every article's terms are in.
            self._specials(lists)
            InsightPages(
                self.store,
                self.out,
                self._renderer(),
                self.global_key,
                self.day or today(),
                self.opts.base_url,
                self.opts.title,
            ).write(self.records.values())
            absolute = partial(absolute_url, self.opts)
            write_sitemaps(self.out, lists, self.global_key, absolute)
            FeedWriter(self.store, self.out, self.opts, self.global_key, absolute, to_pages=True).write(lists)
            search.prepare()
            self.pages.wait_for(articles_sent)
            search.retain(self.records)
            state = search.finish()
        self.out.sweep()
        report = self.save(rev, state)
        return SiteReport(**vars(report), pool=self.pages.stats, tokenizer_loaded=search.tokenizer_loaded)

    def _load(self, uids: Iterable[str], *, first_pass: bool) -> None:
        todo = list(uids)
        if first_pass and self.search is not None and self.search.full:
            seen = set(todo)
            todo += [u for u in self._chronological() if u not in seen]
        if first_pass and self.pages.parallel:
            full = self.search is not None and self.search.full
            self._first_pass = None if full else set(todo)
            # The records alone, read without the bodies (at 100,000 entries reading bodies
            # was a fifth of the build's time in the process that feeds the workers). With
            # workers, each entry goes to them at once: they read its body themselves, cut
            # its search terms and, unless it has a story cluster (whose records must all be
            # read first), render its page.
            self._vanished = self.read_records(todo, self._send_entry)
            return
        total = len(todo)
        for start in range(0, total, BATCH):
            entries = self.store.get_entries(todo[start : start + BATCH])
            self._boxes = boxes(self.store, [e.uid for e in entries])
            entries.sort(key=lambda e: (int((e.published or e.first_seen).timestamp()), e.uid))
            for e in entries:
                # A record read earlier in this build is reused: a second copy of every string
                # of 100,000 records is what the second pass would otherwise leave behind.
                had = self.records.get(e.uid)
                if first_pass or had is None or had.mark != entry_mark(e):
                    m = self.records[e.uid] = EntryRecord.from_entry(e)
                else:
                    m = had
                if first_pass and self.search is not None and self.search.needs(m):
                    self.search.add(m, entry_text(e))
                # Article pages need the related entries' records current: with a cluster
                # provider they are rendered in the second pass, once every record is read.
                if self.related is None or not first_pass:
                    self._article(m, e)
            if self.progress:
                self.progress(min(start + BATCH, total), total)

    def _send_entry(self, m: EntryRecord) -> None:
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

    def _in_cluster(self, m: EntryRecord) -> bool:
        """Whether the entry's page waits for the second pass (its story's records)."""
        return bool(self.related and self.related(m.uid))

    def _chronological(self) -> list[str]:
        return [m.uid for m in self.ordered()]

    # -- articles ----------------------------------------------------------------------
    def _related(self, uid: str) -> list[EntryRecord]:
        if self.related is None:
            return []
        return [self.records[r] for r in self.related(uid) if r in self.records and r != uid]

    def _article_key(self, m: EntryRecord) -> str:
        rel = self._related(m.uid)
        if not rel:  # most articles: a key for every one of them is made on every build
            return quick_key(self.global_key, m.mark)
        return digest(self.global_key, m.mark, [(r.uid, r.mark) for r in rel])

    def _articles(self, ordered: list[EntryRecord]) -> None:
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

    def _article_fresh(self, m: EntryRecord) -> bool:
        return self.out.fresh(m.path, self._article_key(m))

    def _article(self, m: EntryRecord, e: StoredEntry) -> None:
        """Render the article's page (in this process) unless it is fresh."""
        if m.path in self.out.pages:
            return
        key = self._article_key(m)
        if not self.out.fresh(m.path, key):
            ctx = _article_context(m, e, self._related(m.uid), self._boxes.get(m.uid))
            self.pages.page("article.html", m.path, key, **ctx)

    def _renderer(self) -> Renderer:
        assert self.renderer is not None
        return self.renderer

    # -- lists ---------------------------------------------------------------------------
    def _lists(self, lists: dict[str, Listing]) -> None:
        size = self.opts.page_size
        # In the order of their newest item, not list by list: an article is on six lists'
        # pages, which then come close together, so the renderer's small cache of rendered
        # list items (render.ITEM_CACHE) renders it once, at any size of archive.
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
                marks(page.items),
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
            self.out.put(f"static/{name}", "static", self._renderer().static(name))

    _TITLES: ClassVar[dict[str, str]] = {
        "categories.html": "分类",
        "archive/index.html": "归档",
        "search.html": "搜索",
        "404.html": "页面不存在",
    }

    def _page(self, path: str, key: str, template: str, **ctx: Any) -> None:
        if not self.out.fresh(path, key):
            title = self._TITLES[path]
            data = self._renderer().render(template, path, crumbs=[("首页", "")], page_title=title, **ctx)
            self.out.put(path, key, data)


def _article_context(
    m: EntryRecord, e: StoredEntry, related: list[EntryRecord], insights: dict[str, Any] | None = None
) -> dict[str, Any]:
    """What `article.html` gets for entry `e` (record `m`; `related`: its story's others;
    `insights`: its 要点 box, `insights_view.box`)."""
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
        "link": http_link(e),
        "updated": e.updated,
        "related": related,
        "insights": insights,
    }


def _search_text(m: EntryRecord, e: StoredEntry) -> str:
    # The text the archive search indexes too (one HTML-to-text conversion for both searches).
    return search_doc(m, entry_text(e))


# Given to the renderer and the entry pages with the build's store, as partials: pickled to a
# worker process, the store arrives as a connection of the worker's own (one for both).
def _read_entries(archive: Store, uids: list[str]) -> dict[str, tuple[StoredEntry, dict[str, Any] | None]]:
    """uids → their entries, with their 要点 boxes."""
    found = boxes(archive, uids)
    return {e.uid: (e, found.get(e.uid)) for e in archive.get_entries(uids)}


def _job_context(
    m: EntryRecord, read: tuple[StoredEntry, dict[str, Any] | None], related: list[EntryRecord]
) -> dict[str, Any]:
    return _article_context(m, read[0], related, read[1])


def _job_text(m: EntryRecord, read: tuple[StoredEntry, dict[str, Any] | None]) -> str:
    return _search_text(m, read[0])


def _read_details(archive: Store, uids: list[str]) -> dict[str, Any]:
    """uids → their list items' summaries and images."""
    return {h.uid: item_details(h) for h in archive.get_entry_heads(uids)}


@dataclass
class SiteReport(PublishReport):
    """A site build's report, with how its pages were rendered."""

    pool: PoolStats = field(default_factory=PoolStats)
    tokenizer_loaded: bool = False  # whether the build process loaded the search tokenizer


def build_site(
    store: Store,
    config: Config,
    out_dir: Path | None = None,
    *,
    related: RelatedProvider | None = None,
    progress: Progress | None = None,
    pool: PoolOptions | None = None,
    day: date | None = None,
) -> SiteReport:
    """Build (or bring up to date) the static site in `out_dir` (default: the config's site_dir).
    `pool`: whether and how worker processes render (default: when the build is large enough
    to gain, one per core but one). `day`: the build's clock for the insight pages (what is
    overdue, due soon), today in Beijing by default."""
    root = (out_dir or config.path(config.site_dir)).resolve()
    return run_in_folder(
        root,
        config,
        lambda: SitePlan(
            store,
            config,
            root,
            related=related,
            progress=progress,
            pool=pool or _pool_options(config),
            day=day,
        ),
    )


def _pool_options(config: Config) -> PoolOptions:
    return PoolOptions(articles_pool_from=config.site_workers_from)


class SitePublisher:
    name = "site"
    # Related stories on article pages; the 要点 box, tracker, metric, trend and brief pages.
    needs: frozenset[Need] = frozenset({"clusters", "insights"})

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
