"""CLI: `newsdesk search`, `newsdesk reindex` and `newsdesk clusters list|show`."""

from __future__ import annotations

import contextlib
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from .. import locks
from ..dates import SHANGHAI
from ..entry_json import cluster_dict, cluster_member_dicts
from ..errors import NewsdeskError
from ..search import SearchError, open_index, update_index
from ..store.common import is_postgres_url
from .common import JsonOpt, WaitOpt, current_config, err, gc_paused, open_archive, out, print_json

# Segmentation (rjieba loads its dictionary on import), tantivy and numpy are imported by the
# commands that need them: every other `newsdesk` command loads this module too.
if TYPE_CHECKING:
    from ..search.index import SearchHit
    from ..search.query import Sort

clusters_app = typer.Typer(
    help="Story clusters: the same story carried by several sources.", no_args_is_help=True
)


def register(app: typer.Typer) -> None:
    """Add `search`, `reindex` and the `clusters` group to the main app."""
    # ignore_unknown_options: `newsdesk search 央行 -房地产` passes -房地产 on as a query word.
    app.command("search", context_settings={"ignore_unknown_options": True})(search)
    app.command("reindex")(reindex)
    app.add_typer(clusters_app, name="clusters")


def _when(value: str | None, *, end: bool) -> datetime | None:
    """YYYY-MM-DD or an ISO date-time; without a zone it is Beijing time. A bare date as
    --until includes that whole day."""
    if value is None:
        return None
    try:
        dt = datetime.fromisoformat(value)
    except ValueError as e:
        raise NewsdeskError(f"{value!r}: not a date (use YYYY-MM-DD or YYYY-MM-DDTHH:MM)") from e
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=SHANGHAI)
    if end and len(value) <= 10:
        dt += timedelta(days=1)
    return dt


def _snippet_text(h: SearchHit) -> Text:
    s = h.snippet
    text = Text("…" if s.truncated_start else "", style="dim")
    pos = 0
    for start, end in s.spans:
        text.append(s.text[pos:start], style="dim")
        text.append(s.text[start:end], style="bold yellow")
        pos = end
    text.append(s.text[pos:] + ("…" if s.truncated_end else ""), style="dim")
    return text


def search(
    query: Annotated[
        list[str], typer.Argument(help='Words (all must match), "a phrase", -excluded, a OR b.')
    ],
    group: Annotated[str | None, typer.Option(help="Only this group.")] = None,
    site: Annotated[str | None, typer.Option(help="Only this site.")] = None,
    feed: Annotated[str | None, typer.Option(help="Only this feed (name or group/site/name).")] = None,
    source: Annotated[str | None, typer.Option(help="Only articles with this 来源, e.g. 中国新闻网.")] = None,
    since: Annotated[
        str | None, typer.Option(help="Published on or after (YYYY-MM-DD, Beijing time).")
    ] = None,
    until: Annotated[
        str | None, typer.Option(help="Published on or before (YYYY-MM-DD, Beijing time).")
    ] = None,
    sort: Annotated[str, typer.Option(help="relevance or date (newest first).")] = "relevance",
    limit: Annotated[int, typer.Option(min=1, max=1000, help="How many results.")] = 10,
    as_json: JsonOpt = False,
) -> None:
    """Search the archive (Simplified and Traditional alike); copies of one story show once."""
    from ..search.query import Filters

    if sort not in ("relevance", "date"):
        raise NewsdeskError(f"--sort must be relevance or date, not {sort!r}")
    order: Sort = "date" if sort == "date" else "relevance"
    filters = Filters(group, site, feed, source, _when(since, end=False), _when(until, end=True))
    config = current_config()
    with open_archive(config) as store:
        try:
            with gc_paused():
                update_index(config, store)
        except SearchError as e:  # e.g. a `run` is writing the index right now: search what is there
            err.print(f"[yellow]warning:[/] {escape(str(e))}; searching the index as it is")
        index = open_index(config, store=store)
        try:
            hits = index.search(" ".join(query), filters=filters, sort=order, limit=limit)
        finally:
            index.close()
    if as_json:
        print_json([h.as_dict() for h in hits])
        return
    if not hits:
        err.print("no results")
        return
    table = Table(show_lines=True)
    for col in ("id", "published", "feed", "title"):
        table.add_column(col, overflow="fold")
    for h in hits:
        cell = Text(h.title, style="bold")
        if h.also_in:
            cell.append(f"  (also in {h.also_in} sources)", style="cyan")
        cell.append("\n")
        cell.append_text(_snippet_text(h))
        when = f"{h.published.astimezone(SHANGHAI):%Y-%m-%d %H:%M}" if h.published else ""
        table.add_row(h.uid, when, h.feed_key, cell)
    out.print(table)


def reindex(as_json: JsonOpt = False, wait: WaitOpt = locks.DEFAULT_WAIT) -> None:
    """Rebuild the story clusters and the search index from the archive."""
    config = current_config()
    # Under the archive's fetch lock, like a run's indexing (see `locks`). A PostgreSQL archive
    # has no lock file: processes catching up there take turns on the marks' rows instead, and
    # one that finds a mark reset by this rebuild leaves the rebuilding to it.
    fetch_lock: contextlib.AbstractContextManager[object] = (
        contextlib.nullcontext()
        if is_postgres_url(config.database_url)
        else locks.hold(locks.fetch_lock_path(config.database_url), "reindexing")
    )
    with locks.waiting(wait), fetch_lock, open_archive(config) as store, gc_paused():
        store.reset_clusters()
        index = open_index(config, store=store)
        try:
            index.reset()
            indexed, clustered = index.catch_up(store, clusters=True)
        finally:
            index.close()
    if as_json:
        print_json({"indexed": indexed, "clustered": clustered})
    else:
        err.print(f"indexed {indexed} entries, clustered {clustered}")


@clusters_app.command("list")
def clusters_list(
    limit: Annotated[int, typer.Option(min=1, help="How many, most recently grown first.")] = 20,
    offset: Annotated[int, typer.Option(min=0, help="Skip this many.")] = 0,
    as_json: JsonOpt = False,
) -> None:
    """List stories carried more than once (clusters of two or more entries)."""
    from ..search.cluster import update_clusters

    config = current_config()
    with open_archive(config) as store:
        update_clusters(store)
        rows = store.list_clusters(limit=limit, offset=offset)
    if as_json:
        print_json([cluster_dict(c) for c in rows])
        return
    table = Table()
    for col in ("id", "entries", "sources", "first", "last", "title"):
        table.add_column(col, overflow="fold")
    for c in rows:
        table.add_row(
            c.id,
            str(c.size),
            str(c.sources),
            f"{c.first.astimezone(SHANGHAI):%Y-%m-%d %H:%M}",
            f"{c.last.astimezone(SHANGHAI):%Y-%m-%d %H:%M}",
            escape(c.title),
        )
    out.print(table)


@clusters_app.command("show")
def clusters_show(
    cluster_id: Annotated[str, typer.Argument(metavar="ID", help="A cluster id or the id of any entry.")],
    as_json: JsonOpt = False,
) -> None:
    """Show a cluster: its canonical (earliest) entry and every member, which outlet and when."""
    from ..search.cluster import update_clusters

    config = current_config()
    with open_archive(config) as store:
        update_clusters(store)
        found = store.get_cluster(cluster_id)
    if found is None:
        raise NewsdeskError(f"no cluster or entry with id {cluster_id!r} (see `newsdesk clusters list`)")
    summary, members = found
    if as_json:
        data = cluster_dict(summary)
        data["members"] = cluster_member_dicts(summary, members)
        print_json(data)
        return
    out.print(f"[bold]{escape(summary.title)}")
    out.print(f"cluster {summary.id}: {summary.size} entries from {summary.sources} sources")
    table = Table()
    for col in ("id", "published", "feed", "how", "similarity"):
        table.add_column(col, overflow="fold")
    for m in members:
        how = "canonical" if m.uid == summary.canonical else m.reason
        table.add_row(
            m.uid,
            f"{m.sort_time.astimezone(SHANGHAI):%Y-%m-%d %H:%M}",
            escape(m.feed_key),
            how,
            f"{m.similarity:.2f}",
        )
    out.print(table)
