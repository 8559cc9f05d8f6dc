"""sitemap.xml: a sitemap index over one sitemap per month of articles (`sitemaps/YYYY-MM.xml`)
and one of the list pages (`sitemaps/pages.xml`), so a new article rewrites its month's file
only. The XML is made by ElementTree, written through the site's one writer."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from xml.etree import ElementTree

from .lists import Listing
from .output import Output, digest, quick_key
from .render import fmt_time

NAMESPACE = "http://www.sitemaps.org/schemas/sitemap/0.9"
DECLARATION = '<?xml version="1.0" encoding="utf-8"?>\n'


def write_sitemaps(
    out: Output, lists: dict[str, Listing], global_key: str, absolute: Callable[[str], str]
) -> None:
    """The sitemaps of a plan's lists; `absolute` makes a site path the URL to list."""
    # By month of Beijing time: the month lists of the plan ("archive/YYYY/MM/").
    by_month = {x.folder[8:15].replace("/", "-"): x.items for x in lists.values() if x.kind == "month"}
    files = []
    for month, records in sorted(by_month.items()):
        path = f"sitemaps/{month}.xml"
        files.append(path)
        key = quick_key(global_key, " ".join([f"{m.uid}{m.ts}" for m in records]))
        if not out.fresh(path, key):
            urls = [(absolute(m.path), fmt_time(m.ts, "%Y-%m-%d")) for m in records]
            out.put(path, key, urlset(urls))
    folders = sorted(lists)
    path = "sitemaps/pages.xml"
    files.append(path)
    key = digest(global_key, folders)
    if not out.fresh(path, key):
        pages = [f"{f}index.html" for f in folders]
        pages += ["categories.html", "archive/index.html", "search.html"]
        out.put(path, key, urlset([(absolute(p), None) for p in pages]))
    out.put("sitemap.xml", "sitemap", sitemap_index([absolute(f) for f in files]))


def urlset(urls: Sequence[tuple[str, str | None]]) -> bytes:
    """A sitemap of (URL, last modified date or None)."""
    root = _root("urlset")
    for loc, lastmod in urls:
        url = _child(root, "url")
        ElementTree.SubElement(url, "loc").text = loc
        if lastmod:
            ElementTree.SubElement(url, "lastmod").text = lastmod
    return _document(root)


def sitemap_index(locs: Sequence[str]) -> bytes:
    """A sitemap index over the sitemaps at `locs`."""
    root = _root("sitemapindex")
    for loc in locs:
        ElementTree.SubElement(_child(root, "sitemap"), "loc").text = loc
    return _document(root)


def _root(tag: str) -> ElementTree.Element:
    root = ElementTree.Element(tag, xmlns=NAMESPACE)
    root.text = "\n"  # one element per line, as a reader of the file expects
    return root


def _child(parent: ElementTree.Element, tag: str) -> ElementTree.Element:
    child = ElementTree.SubElement(parent, tag)
    child.tail = "\n"
    return child


def _document(root: ElementTree.Element) -> bytes:
    return (DECLARATION + ElementTree.tostring(root, encoding="unicode") + "\n").encode("utf-8")
