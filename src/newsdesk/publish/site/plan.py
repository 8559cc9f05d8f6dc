"""What a build of the site (or of its feeds alone) starts from and ends with: the manifest
of the previous build, the entries changed since (the store's revision counter), the small
per-entry records every list page, feed and sitemap is planned from, and the new manifest.

`SitePlan` (build.py) and `FeedsPlan` (feeds.py) each add their own steps in between.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar
from urllib.parse import quote

from ... import locks, procs
from ...config import Config
from ...errors import PublishError
from ...store import Store
from ..base import Progress, PublishReport
from .model import EntryRecord, category_paths
from .output import STATE_DIR, Output, boot_id, load_manifest, save_manifest

# The manifest's layout (and part of every page's key): a manifest of another format is not
# read, so changing what the manifest holds or how keys are made means a new number, and the
# next build is a full one. (Its history is in git log.)
FORMAT = "6"
BATCH = 200  # entries read from the store at a time (with their bodies)
HEAD_BATCH = BATCH * 5  # records read at a time without the bodies


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


def nav_groups(config: Config) -> list[tuple[str, str]]:
    """(group, its folder) of every configured group, in the config's order: the navigation."""
    groups: dict[str, str] = {}
    for spec in config.feeds():
        groups.setdefault(spec.group, category_paths(spec.group, spec.site, spec.name)[0])
    return list(groups.items())


class ArchivePlan:
    """The manifest's state in; which entries changed; the records; the manifest out.

    `kind` names the publisher ("site" or "feeds"): each keeps its own manifest, so the two
    can publish into different folders, or the same one, without trusting each other's."""

    def __init__(
        self, store: Store, config: Config, out_root: Path, *, kind: str, progress: Progress | None
    ) -> None:
        self.store = store
        self.kind = kind
        self.opts = SiteOptions.from_config(config)
        self.root = out_root
        self.progress = progress
        self.fmt = f"{FORMAT}:{kind}"
        self.manifest_name = "manifest.json" if kind == "site" else f"{kind}-manifest.json"
        self.old = load_manifest(out_root, self.manifest_name, self.fmt)
        self.out = Output(out_root, self.old.get("pages", {}))
        # The raw records are dropped once read: at 100,000 entries they are 40 MB of lists.
        old_records = self.old.pop("metas", None)
        self.records: dict[str, EntryRecord] = {}
        try:
            names = [sys.intern(n) for n in self.old.pop("names", [])]
            while isinstance(old_records, list) and old_records:
                m = EntryRecord.from_row(old_records.pop(), names)
                self.records[m.uid] = m
        except (IndexError, TypeError, ValueError):  # a damaged manifest: a full build
            self.records, self.old = {}, {}
            self.out = Output(out_root, {})
        self.touched = True  # whether any entry changed since the manifest

    def changes(self) -> tuple[list[str], set[str], int]:
        """Uids to (re)read from the store, uids gone from it, and the store's revision."""
        top = self.store.max_rev()
        old_rev = self.old.get("rev")
        if isinstance(old_rev, int) and 0 <= old_rev <= top and self.records:
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
            if len((self.records.keys() - gone_) | set(live)) == self.store.count_entries():
                return live, gone_, top
        uids = list(self.store.iter_uids())
        uids.reverse()  # oldest first: search docids follow publication order
        return uids, self.records.keys() - set(uids), top

    def read_records(self, todo: list[str], each: Callable[[EntryRecord], None] | None = None) -> set[str]:
        """Read the records of `todo` without their bodies, in publication order per batch
        (search docids follow it), and call `each` with every one; the uids gone from the
        store since `changes`."""
        vanished: set[str] = set()
        total = len(todo)
        for start in range(0, total, HEAD_BATCH):
            chunk = todo[start : start + HEAD_BATCH]
            heads = [EntryRecord.from_head(h) for h in self.store.get_entry_heads(chunk)]
            if len(heads) < len(chunk):  # deleted since `changes`: nothing was sent for them
                vanished.update(set(chunk) - {m.uid for m in heads})
            heads.sort(key=lambda m: m.sort_key)
            for m in heads:
                self.records[m.uid] = m
                if each is not None:
                    each(m)
            if self.progress:
                self.progress(min(start + HEAD_BATCH, total), total)
        return vanished

    def ordered(self) -> list[EntryRecord]:
        return sorted(self.records.values(), key=lambda m: m.sort_key)

    def save(self, rev: int, search_state: dict[str, Any]) -> PublishReport:
        """The new manifest (unless nothing changed at all), and the build's report."""
        report = PublishReport(self.kind, self.root)
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
            {n for m in self.records.values() for n in (m.group, m.site, m.feed, m.source) if n is not None}
        )
        index = {n: i for i, n in enumerate(names)}
        head: dict[str, Any] = {"format": self.fmt, "rev": rev, "search": search_state, "names": names}
        # Pages on disk before the manifest that vouches for them: synced now, or trusted only
        # within this boot of the machine (see output.py).
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
            metas=(self.records[u].to_row(index) for u in sorted(self.records)),
            pages=self.out.pages,
        )
        return report


def absolute_url(opts: SiteOptions, path: str) -> str:
    """`path` (relative to the site's root) at the site's base URL, or as it is without one."""
    return (opts.base_url or "") + quote(path, safe="/")


_Report = TypeVar("_Report", bound=PublishReport, covariant=True)


class FolderPlan(Protocol[_Report]):
    """A plan writing into one output folder (`SitePlan`, `FeedsPlan`)."""

    out: Output

    def run(self, groups: list[tuple[str, str]]) -> _Report: ...


def run_in_folder(root: Path, config: Config, start: Callable[[], FolderPlan[_Report]]) -> _Report:
    """Create `root`, hold its publish lock (one build at a time in a folder, the site's and its
    feeds' alike: see `locks`), make the plan with `start` and run it; a stop by a signal notes
    what was written, for the CLI's last lines."""
    try:
        (root / STATE_DIR).mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise PublishError(f"{root}: cannot create the site folder: {e.strerror or e}") from e
    with locks.hold(root / STATE_DIR / "publish.lock", f"publishing to {root}"):
        plan = start()
        try:
            return plan.run(nav_groups(config))
        except procs.Stopped as e:
            out = plan.out
            e.add_note(f"{root}: {out.written} files written, {out.unchanged} unchanged, then stopped")
            raise
