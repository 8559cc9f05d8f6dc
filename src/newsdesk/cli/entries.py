"""`newsdesk entries list|show`."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from ..entry_json import entry_dict
from ..errors import NewsdeskError
from .common import JsonOpt, current_config, open_archive, out, print_json

entries_app = typer.Typer(help="Show what the archive holds.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(entries_app, name="entries")


@entries_app.command("list")
def entries_list(
    feed: Annotated[str | None, typer.Option(help="Only this feed (group/site/name key).")] = None,
    limit: Annotated[int, typer.Option(help="How many, newest first.")] = 20,
    offset: Annotated[int, typer.Option(help="Skip this many.")] = 0,
    as_json: JsonOpt = False,
) -> None:
    """List stored entries, newest first."""
    config = current_config()
    with open_archive(config) as store:
        rows = store.list_entries(feed_key=feed, limit=limit, offset=offset)
    if as_json:
        print_json([entry_dict(e, False) for e in rows])
        return
    table = Table()
    for col in ("id", "published", "feed", "title"):
        table.add_column(col)
    for e in rows:
        when = e.published or e.first_seen
        table.add_row(e.uid, f"{when:%Y-%m-%d %H:%M}", escape(e.feed), escape(e.title))
    out.print(table)


@entries_app.command("show")
def entries_show(uid: Annotated[str, typer.Argument(metavar="ID")], as_json: JsonOpt = False) -> None:
    """Show one entry in full."""
    config = current_config()
    from ..publish.insights_view import public_insights

    with open_archive(config) as store:
        e = store.get_entry(uid)
        insights = public_insights(store, uid) if e is not None else None
    if e is None:
        raise NewsdeskError(f"no entry with id {uid!r} (see `newsdesk entries list`)")
    if as_json:
        # `keywords` above are the portal's own tags; the stage's ranked terms are insights' own.
        print_json({**entry_dict(e, True), "insights": insights})
        return
    out.print(f"[bold]{escape(e.title)}")
    out.print(f"{e.group} → {e.site} → {e.feed}", markup=False)
    out.print(f"link: {e.link}\npublished: {e.published}\nauthor: {e.author}", markup=False)
    if e.clean_error:
        out.print(f"clean error: {e.clean_error}", markup=False, highlight=False)
    if insights is not None:
        _print_insights(insights)
    out.print("", markup=False)
    out.print(e.content, markup=False, highlight=False)


def _print_insights(d: dict[str, Any]) -> None:
    lines = ["要点:"]
    lines += [f"  {t['ordinal']}. {t['lead']}" for t in d["tasks"] if t["kind"] == "tasks"]
    lines += [
        f"  目标: {t['metric']} {t['comparator']} {t['value']}{t['unit']} (期限 {t['deadline'] or '—'})"
        for t in d["targets"]
    ]
    lines += [f"  数据: {f['metric']} {f['period'] or ''} {f['value']}{f['unit']}" for f in d["figures"]]
    if d["bodies"]:
        lines.append("  机构: " + "、".join(d["bodies"]))
    if d["keywords"]:
        lines.append("  关键词: " + "、".join(d["keywords"]))
    out.print("\n".join(lines), markup=False, highlight=False)
