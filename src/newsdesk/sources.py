"""The group → site → feed tree: OPML in and out, editing the config's feed list.

OPML nesting maps to the tree: a top-level outline is a group, the next level a site, and
outlines carrying `xmlUrl` are feeds. URLs served by a configured RSSHub instance come back
as `route:` feeds so they can fail over to the other instances.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.sax.saxutils import quoteattr

import yaml
from lxml import etree
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from . import atomic
from .config import Config
from .errors import ConfigError, SourceError
from .models import FeedSpec

UNGROUPED = "未分组"


@dataclass(frozen=True)
class ImportedFeed:
    group: str
    site: str
    name: str
    url: str | None
    route: str | None


def _feed_outlines(node: Any, path: tuple[str, ...]) -> list[tuple[tuple[str, ...], Any]]:
    out: list[tuple[tuple[str, ...], Any]] = []
    for child in node:
        if not isinstance(child.tag, str) or child.tag != "outline":
            continue
        label = (child.get("text") or child.get("title") or "").strip()
        if child.get("xmlUrl"):
            out.append((path, child))
        else:
            out.extend(_feed_outlines(child, (*path, label or UNGROUPED)))
    return out


def read_opml(data: bytes, *, source: str, rsshub: list[str]) -> list[ImportedFeed]:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as e:
        raise SourceError(f"{source}: not valid OPML: {e}") from e
    body = root.find("body")
    if root.tag != "opml" or body is None:
        raise SourceError(f"{source}: not an OPML document (no <opml><body>)")
    feeds = []
    for path, el in _feed_outlines(body, ()):
        url = el.get("xmlUrl").strip()
        name = (el.get("title") or el.get("text") or url).strip()
        if len(path) == 0:
            group, site = UNGROUPED, name
        elif len(path) == 1:
            group, site = path[0], path[0]
        else:
            # Deeper trees keep their outermost level as group and innermost as site.
            group, site = path[0], path[-1]
        route = None
        for instance in rsshub:
            if url.startswith(instance.rstrip("/") + "/"):
                route, url = url[len(instance.rstrip("/")) :], None
                break
        feeds.append(ImportedFeed(group, site, name, url, route))
    return feeds


def write_opml(specs: list[FeedSpec], *, rsshub: list[str], title: str = "newsdesk feeds") -> str:
    tree = spec_tree(specs)
    out = io.StringIO()
    out.write('<?xml version="1.0" encoding="UTF-8"?>\n<opml version="2.0">\n')
    out.write(f"  <head><title>{_esc(title)}</title></head>\n  <body>\n")
    for group, sites in tree.items():
        out.write(f"    <outline text={quoteattr(group)}>\n")
        for site, feeds in sites.items():
            out.write(f"      <outline text={quoteattr(site)}>\n")
            for f in feeds:
                url = f.url or (rsshub[0] + (f.route or "") if rsshub else f.route or "")
                out.write(
                    f'        <outline type="rss" text={quoteattr(f.name)} title={quoteattr(f.name)}'
                    f" xmlUrl={quoteattr(url)}/>\n"
                )
            out.write("      </outline>\n")
        out.write("    </outline>\n")
    out.write("  </body>\n</opml>\n")
    return out.getvalue()


def _esc(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# Editing the config file: a round-trip YAML loader keeps the user's comments and order.
def _yaml() -> YAML:
    y = YAML()
    y.preserve_quotes = True
    y.width = 4096
    y.allow_unicode = True
    return y


def _load_rt(path: Path) -> Any:
    try:
        data = _yaml().load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as e:
        raise ConfigError(f"{path}: config file not found (run `newsdesk init` to create one)") from e
    except Exception as e:  # ruamel raises many error types; all mean the same here
        raise ConfigError(f"{path}: cannot edit config: {e}") from e
    return CommentedMap() if data is None else data


def _dump_rt(path: Path, data: Any) -> None:
    buf = io.StringIO()
    _yaml().dump(data, buf)
    try:
        atomic.write_bytes(path, buf.getvalue().encode("utf-8"), sync=True)
    except OSError as e:
        raise ConfigError(f"{path}: cannot write the config: {e.strerror or e}") from e


def add_feeds(path: Path, feeds: list[ImportedFeed], *, clean: bool = True) -> tuple[int, int]:
    """Add feeds to the config file; returns (added, already present)."""
    data = _load_rt(path)
    groups = data.setdefault("groups", CommentedMap())
    if groups is None:
        groups = data["groups"] = CommentedMap()
    added = skipped = 0
    for f in feeds:
        sites = groups.setdefault(f.group, CommentedMap())
        if sites is None:
            sites = groups[f.group] = CommentedMap()
        lst = sites.setdefault(f.site, CommentedSeq())
        if lst is None:
            lst = sites[f.site] = CommentedSeq()
        if any(item.get("name") == f.name for item in lst):
            skipped += 1
            continue
        item = CommentedMap()
        item["name"] = f.name
        if f.route:
            item["route"] = f.route
        else:
            item["url"] = f.url
        if not clean:
            item["clean"] = False
        lst.append(item)
        added += 1
    _dump_rt(path, data)
    return added, skipped


def remove_feed(path: Path, name: str, *, group: str | None = None, site: str | None = None) -> list[str]:
    """Remove feeds called `name` (optionally only under group/site); returns removed keys."""
    data = _load_rt(path)
    removed: list[str] = []
    groups = data.get("groups") or {}
    for g, sites in list(groups.items()):
        if group is not None and g != group:
            continue
        for s, lst in list((sites or {}).items()):
            if site is not None and s != site:
                continue
            for item in list(lst or []):
                if item.get("name") == name:
                    lst.remove(item)
                    removed.append(f"{g}/{s}/{name}")
            if lst is not None and len(lst) == 0:
                del sites[s]
        if sites is not None and len(sites) == 0:
            del groups[g]
    if removed:
        _dump_rt(path, data)
    return removed


def feed_tree(config: Config) -> dict[str, dict[str, list[FeedSpec]]]:
    return spec_tree(config.feeds())


def spec_tree(specs: Iterable[FeedSpec]) -> dict[str, dict[str, list[FeedSpec]]]:
    """group → site → feeds, each in the order first met."""
    tree: dict[str, dict[str, list[FeedSpec]]] = {}
    for f in specs:
        tree.setdefault(f.group, {}).setdefault(f.site, []).append(f)
    return tree


def write_groups_yaml(specs: Iterable[FeedSpec]) -> str:
    """The feeds as the config's `groups:` mapping (keys left at their defaults are left out),
    ready to paste into a config: loading it gives the same feeds."""
    groups: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for group, sites in spec_tree(specs).items():
        groups[group] = {}
        for site, feeds in sites.items():
            items = []
            for f in feeds:
                item: dict[str, Any] = {"name": f.name}
                item.update({"route": f.route} if f.route is not None else {"url": f.url})
                if not f.clean:
                    item["clean"] = False
                if f.full_text is not False:
                    item["full_text"] = f.full_text
                if not f.enabled:
                    item["enabled"] = False
                items.append(item)
            groups[group][site] = items
    # PyYAML, as the config is read with: it quotes what YAML 1.1 would read as another type
    # (a feed called "yes" or "404").
    return str(yaml.safe_dump({"groups": groups}, allow_unicode=True, sort_keys=False, width=4096))
