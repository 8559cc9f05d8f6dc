"""A list's rows: the page's entries with a story's copies folded under its first row, and
their markup.

The rows are the list page's bulk (fifty of them, three quarters of its bytes), so they are
written here by plain string building rather than by a Jinja2 loop: the template engine's
per-value work (a call, an `escape` and a `Markup` for each of some thirty values a row) cost
a list page about 0.9 ms of its CPU; this costs about a fifth of that (docs/benchmarks.md).
What is escaped is the same: every value from the archive goes through markupsafe's `escape`,
as Jinja2's autoescape does; the labels are the translator's (`messages.py`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from markupsafe import Markup, escape

from ...models import ListedEntry
from .render import beijing, web_url


@dataclass(slots=True)
class Row:
    """One row of a list: an entry and the copies of its story the same page holds (folded
    under it)."""

    item: ListedEntry
    copies: list[ListedEntry] = field(default_factory=list)


def fold(items: list[ListedEntry]) -> list[Row]:
    """Rows in list order; an entry whose story an earlier row of the page carries goes under
    that row."""
    rows: list[Row] = []
    by_story: dict[str, Row] = {}
    for item in items:
        story = item.cluster.id if item.cluster is not None else None
        if story is not None and story in by_story:
            by_story[story].copies.append(item)
            continue
        row = Row(item)
        rows.append(row)
        if story is not None:
            by_story[story] = row
    return rows


def rows_html(
    rows: list[Row],
    *,
    base: str,
    view: str,
    icons: Mapping[tuple[str, str], str],
    _: Callable[..., str],
) -> Markup:
    """The rows' markup (`.entries`' children): each an `<article class="item entry">` with its
    title, where and when, summary, folded copies and "mark all above read" (not on the
    starred list). `icons`: (group, site) → its icon's query, for the sites that have one."""
    b = escape(base)
    star, source, above, others = (escape(_(m)) for m in ("星标", "来源", "以上全部标为已读", "其他媒体报道"))
    # A page's rows come from a few feeds: each feed's markup is made once.
    wheres: dict[tuple[str, str, str], str] = {}

    def where(group: str, site: str, feed: str) -> str:
        key = (group, site, feed)
        found = wheres.get(key)
        if found is None:
            query = icons.get((group, site))
            icon = (
                f'<img class="icon" src="{b}/icon?{escape(query)}" alt="" width="16" height="16">'
                if query is not None
                else '<span class="icon none"></span>'
            )
            found = wheres[key] = icon + where_text(site, feed)
        return found

    def where_text(site: str, feed: str) -> str:
        return f"{escape(site)} · {escape(feed)}"

    # Not escaped, as they cannot hold markup: a uid (16 hex digits) and times we format.
    out: list[str] = []
    add = out.append
    for row in rows:
        e = row.item
        uid, when = e.uid, e.when.isoformat()
        # The feed's HTML: its text only.
        summary = Markup(e.summary).striptags()[:160] if e.summary_is_html else e.summary
        add(
            f'<article class="item entry{" read" if e.read else ""}" data-id="{uid}"'
            f' data-read="{1 if e.read else 0}" data-starred="{1 if e.starred else 0}"'
            f' data-link="{escape(web_url(e.link))}">\n<div class="text">\n'
            f'<h2><a class="title" href="{b}/entry/{uid}">{escape(e.title or "…")}</a>'
            f'<span class="star" aria-label="{star}">★</span></h2>\n'
            f'<p class="meta"><span class="where">{where(e.group, e.site, e.feed)}</span>'
            f' <time datetime="{when}">{beijing(e.when)}</time>'
        )
        if e.source:
            add(f' <span class="source">{source} {escape(e.source)}</span>')
        add("</p>\n")
        if summary:
            add(f'<p class="summary">{escape(summary)}</p>')
        add('<div class="row-actions">\n')
        if e.cluster is not None and e.cluster.sources > 1:
            also = escape(_("也见于 %(n)s 家媒体", n=e.cluster.sources - 1))
            add(f'<details class="copies">\n<summary>{also}</summary>\n<ul>\n')
            for c in row.copies:
                add(
                    f'<li><a href="{b}/entry/{c.uid}">{where_text(c.site, c.feed)}</a>'
                    f" <time>{beijing(c.when)}</time></li>"
                )
            add(f'<li><a href="{b}/entry/{uid}#others">{others}</a></li>\n</ul>\n</details>\n')
        if view != "starred":
            add(
                f'<button type="submit" form="mark-above" name="above" value="{when}"'
                f' class="above link">{above}</button>'
            )
        add("</div>\n</div>\n</article>\n")
    return Markup("".join(out))
