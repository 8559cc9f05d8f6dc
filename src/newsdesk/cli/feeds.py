"""`newsdesk feeds list|add|remove|import|export`."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from ..errors import NewsdeskError
from ..models import FeedSpec, FeedState
from .common import JsonOpt, config_path, current_config, err, open_archive, out, print_json

feeds_app = typer.Typer(help="List, add, remove, import and export feeds.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(feeds_app, name="feeds")


@feeds_app.command("list")
def feeds_list(as_json: JsonOpt = False) -> None:
    """Show the group → site → feed tree with each feed's last fetch, and the hold on its host
    when its server asked to wait (the feed is fetched again after that time)."""
    from ..holds import feed_hold, until_text

    config = current_config()
    with open_archive(config) as store:
        states = store.feed_states()
        host_holds = store.host_holds(datetime.now(UTC))
    holds = {
        f.key: feed_hold(_url_in_use(f, states.get(f.key)), f.route, config.rsshub, host_holds)
        for f in config.feeds()
    }
    rows = []
    for f in config.feeds():
        s = states.get(f.key)
        hold = holds[f.key]
        rows.append(
            {
                "group": f.group,
                "site": f.site,
                "name": f.name,
                "source": f.source,
                # After a permanent redirect the archive fetches another URL than the config names.
                "url": _url_in_use(f, s),
                "enabled": f.enabled,
                "clean": f.clean,
                "last_success": s.last_success if s else None,
                "last_error": s.last_error if s else None,
                "consecutive_failures": s.consecutive_failures if s else 0,
                "hold": {"host": hold.host, "until": hold.until, "reason": hold.reason} if hold else None,
            }
        )
    if as_json:
        print_json(rows)
        return
    from .. import sources  # lxml and ruamel.yaml: only the feeds commands need them

    for group, sites in sources.feed_tree(config).items():
        out.print(f"[bold]{group}")
        for site, feeds in sites.items():
            out.print(f"  {site}")
            for f in feeds:
                s = states.get(f.key)
                status = ""
                if s and s.last_error:
                    status = f" [red]✗ {escape(s.last_error)}"
                elif s and s.last_success:
                    status = f" [green]✓ {s.last_success:%Y-%m-%d %H:%M}"
                hold = holds[f.key]
                if hold:
                    status += (
                        f" [yellow]⏸ next allowed {until_text(hold.until)}:"
                        f" {escape(hold.host)} asked to wait ({escape(hold.reason)})"
                    )
                off = "" if f.enabled else " [dim](disabled)"
                moved = ""
                if s and s.url and f.url and s.url != f.url:
                    moved = f" [dim]→ {escape(s.url)} (moved permanently)[/]"
                out.print(f"    {escape(f.name)}  [dim]{escape(f.source)}[/]{moved}{off}{status}")


def _url_in_use(spec: FeedSpec, state: FeedState | None) -> str | None:
    """The feed's URL, or the one a permanent redirect moved it to."""
    if spec.url and state and state.url:
        return state.url
    return spec.url


@feeds_app.command("add")
def feeds_add(
    group: str,
    site: str,
    name: str,
    url: Annotated[str | None, typer.Option(help="Feed URL or local path.")] = None,
    route: Annotated[str | None, typer.Option(help="RSSHub route, e.g. /sina/finance/china.")] = None,
    clean: Annotated[bool, typer.Option(help="Clean articles (strip portal boilerplate).")] = True,
) -> None:
    """Add a feed under GROUP → SITE as NAME."""
    if (url is None) == (route is None):
        raise NewsdeskError("give exactly one of --url or --route")
    path = config_path()
    current_config()  # refuse to edit a config that does not validate
    from .. import sources  # lxml and ruamel.yaml: only the feeds commands need them

    added, _ = sources.add_feeds(path, [sources.ImportedFeed(group, site, name, url, route)], clean=clean)
    current_config()
    err.print(f"added {group}/{site}/{name}" if added else f"{group}/{site}/{name} is already configured")


@feeds_app.command("remove")
def feeds_remove(
    name: str,
    group: Annotated[str | None, typer.Option(help="Only in this group.")] = None,
    site: Annotated[str | None, typer.Option(help="Only under this site.")] = None,
) -> None:
    """Remove a feed from the config (its stored entries stay in the archive)."""
    path = config_path()
    from .. import sources  # lxml and ruamel.yaml: only the feeds commands need them

    removed = sources.remove_feed(path, name, group=group, site=site)
    if not removed:
        raise NewsdeskError(f"{path}: no feed named {name!r}")
    for k in removed:
        err.print(f"removed {k}")


@feeds_app.command("import")
def feeds_import(file: Path, as_json: JsonOpt = False) -> None:
    """Add the feeds of an OPML file (outline nesting becomes group → site)."""
    config = current_config()
    try:
        data = file.read_bytes()
    except OSError as e:
        raise NewsdeskError(f"{file}: cannot read: {e.strerror or e}") from e
    from .. import sources  # lxml and ruamel.yaml: only the feeds commands need them

    feeds = sources.read_opml(data, source=str(file), rsshub=config.rsshub)
    added, skipped = sources.add_feeds(config_path(), feeds)
    current_config()
    if as_json:
        print_json({"added": added, "already_present": skipped})
    else:
        err.print(f"imported {added} feeds ({skipped} already present)")


@feeds_app.command("export")
def feeds_export(
    output: Annotated[Path | None, typer.Option("--out", help="Write to a file instead of stdout.")] = None,
) -> None:
    """Print the feeds as OPML (group → site → feed outlines)."""
    config = current_config()
    from .. import sources  # lxml and ruamel.yaml: only the feeds commands need them

    text = sources.write_opml(config.feeds(), rsshub=config.rsshub)
    if output:
        output.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
