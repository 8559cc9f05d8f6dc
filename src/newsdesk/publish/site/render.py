"""Jinja2 templates of the static site: loading, user overrides, and rendering to bytes.

Templates are looked up first in the user's `templates_dir` (from the config), then in the
package's `publish/templates/`, so a user overrides one template by putting a file of the
same name there (the reader web app will share the same loader). Each template is compiled
once per build; the digest of every template's source enters every page's key, so editing a
template re-renders the pages (and writes those whose bytes change).
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Callable, Iterable
from datetime import datetime
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from ...dates import SHANGHAI
from .model import CONTROL, ItemDetails, href, local_time

TEMPLATES = (
    "base.html",
    "_macros.html",
    "list.html",
    "_item.html",
    "article.html",
    "categories.html",
    "archive.html",
    "search.html",
    "404.html",
    "_insights_box.html",
    "_insights_targets_table.html",
    "_insights_figures_table.html",
    "insights_index.html",
    "insights_targets.html",
    "insights_metrics.html",
    "insights_metric.html",
    "insights_trends.html",
    "insights_term.html",
    "insights_briefs.html",
    "insights_brief.html",
)
STATIC = ("site.css", "search.js")

# Stands for "the path from this page to the site root" in a cached list item: the NUL
# character, which no page text holds (every text passes CONTROL); checked on every render.
_ROOT = "\x00"
ITEM_CACHE = 5_000  # list items kept rendered (≈1.5 KB each); beyond it, the oldest go


def safe_body(html: str) -> str:
    # Bodies of uncleaned entries are the portal's HTML as served: through the cleaning stage's
    # allow-list, so no script, style or foreign request survives except images, which keep
    # referrerpolicy="no-referrer" (hotlink-protected portals still serve them).
    from ...clean.sanitise import allow_list  # the cleaning stage: only raw bodies need it

    return allow_list(CONTROL.sub("", html))


def article_body(html: str) -> str:
    # A cleaned article's HTML already went through the same allow-list in the cleaning stage
    # (nh3 is idempotent): a second pass would cost a fifth of a cold build and change nothing.
    return CONTROL.sub("", html)


def fmt_time(value: int | datetime | None, pattern: str = "%Y-%m-%d %H:%M") -> str:
    """A time in Asia/Shanghai (Beijing time), whatever the machine's zone."""
    if value is None:
        return ""
    if isinstance(value, int):
        return _fmt_ts(value, pattern)
    return value.astimezone(SHANGHAI).strftime(pattern)


@lru_cache(maxsize=4096)
def _fmt_ts(ts: int, pattern: str) -> str:
    # Times repeat across a build (sitemaps, related lists, list items): format each once.
    return local_time(ts).strftime(pattern)


@jinja2.pass_context
def _url_filter(ctx: jinja2.runtime.Context, to: str) -> str:
    url: Callable[[str], str] = ctx["url"]
    return url(to)


@jinja2.pass_context
def _item_filter(ctx: jinja2.runtime.Context, m: Any) -> Markup:
    item: Callable[[Any], Markup] = ctx["item"]
    return item(m)


def _chinese(message: str) -> str:
    return message


class _BytecodeCache(jinja2.FileSystemBytecodeCache):
    """Jinja's file cache of compiled templates, whose failures are not the build's: a cache
    file that cannot be written (a full disk) or read back whole is compiled again instead."""

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        try:
            super().load_bytecode(bucket)
        except (OSError, EOFError, ValueError, TypeError):  # unreadable or cut short
            bucket.reset()

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        with contextlib.suppress(OSError):  # Jinja removes its temporary file itself
            super().dump_bytecode(bucket)


def _bytecode_cache(folder: Path | None) -> jinja2.BytecodeCache | None:
    if folder is None:
        return None
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None  # a cache is an optimisation: without one, templates compile every build
    return _BytecodeCache(str(folder))


def _static_source(name: str) -> bytes:
    return (resources.files("newsdesk.publish") / "static" / name).read_bytes()


# uids → what their list items show beyond the EntryRecord (summary, image): read from the store.
DetailsLookup = Callable[[list[str]], dict[str, ItemDetails]]


class Renderer:
    def __init__(
        self,
        templates_dir: Path | None,
        globals_: dict[str, Any],
        *,
        cache_dir: Path | None = None,
        details: DetailsLookup | None = None,
        own_url: str | None = None,
    ) -> None:
        loaders: list[jinja2.BaseLoader] = []
        if templates_dir is not None:
            loaders.append(jinja2.FileSystemLoader(str(templates_dir)))
        loaders.append(jinja2.PackageLoader("newsdesk.publish", "templates"))
        self.env = jinja2.Environment(
            loader=jinja2.ChoiceLoader(loaders),
            autoescape=True,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
            undefined=jinja2.StrictUndefined,
            auto_reload=False,
            # Compiling the templates is a fifth of a small incremental build: keep the
            # bytecode between builds (keyed by each template's source, so edits recompile).
            bytecode_cache=_bytecode_cache(cache_dir),
        )
        self.env.filters["time"] = fmt_time
        # `x|url` is `url(x)`: a filter is called directly, where a template's function call goes
        # through Jinja's `Context.call` (a fifth of an article page's rendering, 16 links a page).
        self.env.filters["url"] = _url_filter
        self.env.filters["item"] = _item_filter  # `m|item` is `item(m)`, likewise
        # The site is in Chinese; templates shared with the web app (the 要点 box) mark their
        # words for its translations with `_`.
        self.env.globals["_"] = _chinese
        self.env.globals.update(globals_)
        self.templates_dir = templates_dir
        self._args = (templates_dir, globals_, cache_dir, details, own_url)
        h = hashlib.blake2b(digest_size=12)
        for name in TEMPLATES:
            source, _, _ = self.env.loader.get_source(self.env, name)  # type: ignore[union-attr]
            h.update(name.encode() + b"\0" + source.encode("utf-8") + b"\0")
        for name in STATIC:
            h.update(self.static(name))
        self.digest = h.hexdigest()
        self._compiled: dict[str, jinja2.Template] = {}
        self._globals: dict[jinja2.Template, dict[str, Any]] = {}
        # uid → (the record it was rendered from, its HTML with _ROOT for the root; None when
        # it cannot be cached). An article appears on about six list pages: rendered once.
        self._items: dict[str, tuple[Any, str | None]] = {}
        # uids → summaries and images, read on the calling process's own archive connection.
        self._details = details
        self._prefetched: dict[str, ItemDetails] = {}
        # Images at the site's own address (`base_url`, ending in "/") are linked relatively,
        # so they show on a site opened from disk too (the demo's images are such).
        self._own_src = f' src="{own_url}' if own_url else None

    def __reduce__(self) -> tuple[Callable[..., Renderer], tuple[Any, ...]]:
        # Pickled to a worker process: it makes its own from the same arguments (its templates
        # compiled from the bytecode cache), with none of this one's caches.
        return (_renderer, self._args)

    def static(self, name: str) -> bytes:
        """A static file: the user's `templates_dir/static/NAME` if present, else the package's."""
        if self.templates_dir is not None:
            mine = self.templates_dir / "static" / name
            if mine.is_file():
                return mine.read_bytes()
        return _static_source(name)

    def _template(self, name: str) -> jinja2.Template:
        tpl = self._compiled.get(name)
        if tpl is None:
            tpl = self._compiled[name] = self.env.get_template(name)
        return tpl

    def _run(self, tpl: jinja2.Template, ctx: dict[str, Any]) -> str:
        """`tpl.render(**ctx)`, with the template's globals merged in as one plain dict: Jinja
        copies them from a ChainMap, key by key in Python, for every render (a quarter of a
        list item's rendering). The copy is made at a template's first render: globals are
        set when the Renderer is made and not changed after."""
        g = self._globals.get(tpl)
        if g is None:
            g = self._globals[tpl] = dict(tpl.globals)
        try:
            return tpl.environment.concat(tpl.root_render_func(tpl.new_context({**g, **ctx}, shared=True)))
        except Exception:
            tpl.environment.handle_exception()

    def render(self, template: str, path: str, **ctx: Any) -> bytes:
        tpl = self._template(template)
        page = ctx.get("page")
        if page is not None and getattr(page, "items", None):
            self.prefetch(page.items)  # a list page: its items' details in one query
        abs_root = ctx.pop("abs_root", None)
        # Pages served at any address (404) link from the site's root; all others relatively.
        url: Callable[[str], str] = (
            (lambda to: abs_root + href("", to)) if abs_root is not None else (lambda to: href(path, to))
        )
        root = "../" * path.count("/")
        prefix = abs_root if abs_root is not None else root

        def item(m: Any) -> Markup:
            return self.item(m, prefix, url)

        html = self._run(tpl, dict(url=url, root=root, path=path, item=item, **ctx))
        if self._own_src is not None and self._own_src in html and abs_root is None:
            html = html.replace(self._own_src, f' src="{root}')
        return html.encode("utf-8", "surrogatepass")

    def prefetch(self, metas: Iterable[Any]) -> None:
        """Read the details of the items among `metas` that are not rendered yet, at once."""
        missing = []
        for m in metas:
            hit = self._items.get(m.uid)
            if hit is None or (hit[0] is not m and hit[0] != m):
                missing.append(m.uid)
        self._prefetched = self._lookup(missing) if missing else {}

    def _lookup(self, uids: list[str]) -> dict[str, ItemDetails]:
        return self._details(uids) if self._details is not None else {}

    def _item_details(self, uid: str) -> ItemDetails:
        found = self._prefetched.pop(uid, None)
        if found is None:
            found = self._lookup([uid]).get(uid, ("", None))
        return found

    def item(self, m: Any, prefix: str, url: Callable[[str], str]) -> Markup:
        """Entry `m` as a list item (`_item.html`) on a page whose links to the site root
        start with `prefix`: rendered once, then the root marker replaced per page."""
        hit = self._items.get(m.uid)
        if hit is None or (hit[0] is not m and hit[0] != m):
            hit = (m, self._render_item(m))
            if len(self._items) >= ITEM_CACHE:
                del self._items[next(iter(self._items))]
            self._items[m.uid] = hit
        html = hit[1]
        if html is None:  # a text holds the marker itself: render for this page alone
            summary, image = self._item_details(m.uid)
            return Markup(
                self._run(self._template("_item.html"), dict(url=url, m=m, summary=summary, image=image))
            )
        return Markup(html.replace(_ROOT, prefix))

    def _render_item(self, m: Any) -> str | None:
        links = 0

        def rooted(to: str) -> str:
            nonlocal links
            links += 1
            return _ROOT + href("", to)

        summary, image = self._item_details(m.uid)
        html = self._run(self._template("_item.html"), dict(url=rooted, m=m, summary=summary, image=image))
        return html if html.count(_ROOT) == links else None


def _renderer(
    templates_dir: Path | None,
    globals_: dict[str, Any],
    cache_dir: Path | None,
    details: DetailsLookup | None,
    own_url: str | None,
) -> Renderer:
    return Renderer(templates_dir, globals_, cache_dir=cache_dir, details=details, own_url=own_url)
