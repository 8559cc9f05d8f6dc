"""Jinja2 templates of the static site: loading, user overrides, and rendering to bytes.

Templates are looked up first in the user's `templates_dir` (from the config), then in the
package's `publish/templates/`, so a user overrides one template by putting a file of the
same name there (the reader web app will share the same loader). Each template is compiled
once per build; the digest of every template's source enters every page's key, so editing a
template re-renders the pages (and writes those whose bytes change).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2

from ..dates import SHANGHAI
from .site_model import CONTROL, href, local_time

TEMPLATES = (
    "base.html",
    "_macros.html",
    "list.html",
    "article.html",
    "categories.html",
    "archive.html",
    "search.html",
    "404.html",
)
STATIC = ("site.css", "search.js")


def safe_body(html: str) -> str:
    # Bodies of uncleaned entries are the portal's HTML as served: through the cleaning stage's
    # allow-list, so no script, style or foreign request survives except images, which keep
    # referrerpolicy="no-referrer" (hotlink-protected portals still serve them).
    from ..clean.sanitise import allow_list  # the cleaning stage: only raw bodies need it

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


@lru_cache(maxsize=16384)
def _fmt_ts(ts: int, pattern: str) -> str:
    # List pages show each article's time on about six pages, in two patterns.
    return local_time(ts).strftime(pattern)


def _bytecode_cache(folder: Path | None) -> jinja2.BytecodeCache | None:
    if folder is None:
        return None
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None  # a cache is an optimisation: without one, templates compile every build
    return jinja2.FileSystemBytecodeCache(str(folder))


def _static_source(name: str) -> bytes:
    return (resources.files("newsdesk.publish") / "static" / name).read_bytes()


class Renderer:
    def __init__(
        self, templates_dir: Path | None, globals_: dict[str, Any], *, cache_dir: Path | None = None
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
        self.env.globals.update(globals_)
        self.templates_dir = templates_dir
        h = hashlib.blake2b(digest_size=12)
        for name in TEMPLATES:
            source, _, _ = self.env.loader.get_source(self.env, name)  # type: ignore[union-attr]
            h.update(name.encode() + b"\0" + source.encode("utf-8") + b"\0")
        for name in STATIC:
            h.update(self.static(name))
        self.digest = h.hexdigest()
        self._compiled: dict[str, jinja2.Template] = {}

    def static(self, name: str) -> bytes:
        """A static file: the user's `templates_dir/static/NAME` if present, else the package's."""
        if self.templates_dir is not None:
            mine = self.templates_dir / "static" / name
            if mine.is_file():
                return mine.read_bytes()
        return _static_source(name)

    def render(self, template: str, path: str, **ctx: Any) -> bytes:
        tpl = self._compiled.get(template)
        if tpl is None:
            tpl = self._compiled[template] = self.env.get_template(template)
        abs_root = ctx.pop("abs_root", None)
        # Pages served at any address (404) link from the site's root; all others relatively.
        url: Callable[[str], str] = (
            (lambda to: abs_root + href("", to)) if abs_root is not None else (lambda to: href(path, to))
        )
        root = "../" * path.count("/")
        return tpl.render(url=url, root=root, path=path, **ctx).encode("utf-8", "surrogatepass")
