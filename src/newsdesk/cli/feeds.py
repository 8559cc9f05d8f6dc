"""`newsdesk feeds list|add|remove|import|export`."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from ..errors import NewsdeskError
from ..models import REMOVED_FROM_CONFIG, CatalogueFeed, FeedSpec, FeedState

if TYPE_CHECKING:
    from ..holds import Hold

from .common import JsonOpt, config_path, current_config, err, open_archive, out, print_json

feeds_app = typer.Typer(help="List, add, remove, import and export feeds.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(feeds_app, name="feeds")


@feeds_app.command("list")
def feeds_list(as_json: JsonOpt = False) -> None:
    """Show the group → site → feed tree of the archive's catalogue (the config's feeds, applied
    first, and those added through the API): each feed's last fetch and error, when it is
    checked next and why, why it is paused, and the hold on its host when its server asked to
    wait (the feed is fetched again after that time)."""
    from ..holds import feed_hold, until_text
    from ..schedule import duration_text

    config = current_config()
    now = datetime.now(UTC)
    with open_archive(config) as store:
        store.apply_config(config.feeds(), now)
        feeds = store.catalogue()
        host_holds = store.host_holds(now)
    holds = {
        f.key: feed_hold(_url_in_use(f.spec, f.state), f.spec.route, config.rsshub, host_holds) for f in feeds
    }
    if as_json:
        print_json([_row(f, holds[f.key]) for f in feeds])
        return
    from .. import sources  # lxml and ruamel.yaml: only the feeds commands need them

    by_key = {f.key: f for f in feeds}
    for group, sites in sources.spec_tree(f.spec for f in feeds).items():
        out.print(f"[bold]{escape(group)}")
        for site, specs in sites.items():
            out.print(f"  {escape(site)}")
            for spec in specs:
                f = by_key[spec.key]
                s = f.state
                status = ""
                if s.last_error:
                    status = f" [red]✗ {escape(s.last_error)}"
                elif s.last_success:
                    status = f" [green]✓ {s.last_success:%Y-%m-%d %H:%M}"
                hold = holds[f.key]
                if hold:
                    status += (
                        f" [yellow]⏸ next allowed {until_text(hold.until)}:"
                        f" {escape(hold.host)} asked to wait ({escape(hold.reason)})"
                    )
                off = "" if spec.enabled else " [dim](disabled)"
                if f.paused:
                    off += f" [yellow](paused: {escape(f.paused)})"
                elif spec.enabled:
                    sched = f.schedule
                    every = f", every {duration_text(sched.interval)}" if sched.interval else ""
                    off += f" [dim]next {until_text(sched.next_check)}{every}: {escape(sched.reason)}[/]"
                moved = ""
                if s.url and spec.url and s.url != spec.url:
                    moved = f" [dim]→ {escape(s.url)} (moved permanently)[/]"
                out.print(f"    {escape(spec.name)}  [dim]{escape(spec.source)}[/]{moved}{off}{status}")


def _row(f: CatalogueFeed, hold: Hold | None) -> dict[str, object]:
    spec, s, sched = f.spec, f.state, f.schedule
    return {
        "key": f.key,
        "group": spec.group,
        "site": spec.site,
        "name": spec.name,
        "source": spec.source,
        # After a permanent redirect the archive fetches another URL than the config names.
        "url": _url_in_use(spec, s),
        "route": spec.route,
        "enabled": spec.enabled,
        "clean": spec.clean,
        "full_text": spec.full_text,
        "origin": f.origin,
        "paused": f.paused,
        "last_fetch": s.last_attempt,
        "last_success": s.last_success,
        "last_error": s.last_error,
        "consecutive_failures": s.consecutive_failures,
        "next_check": sched.next_check,
        "interval": sched.interval,
        "reason": sched.reason,
        "hold": {"host": hold.host, "until": hold.until, "reason": hold.reason} if hold else None,
    }


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
    fmt: Annotated[
        str,
        typer.Option("--format", help="opml (group → site → feed outlines) or yaml (the config's groups:)."),
    ] = "opml",
) -> None:
    """Write the archive's feed catalogue (the config's feeds and those added through the API;
    not the config feeds paused because they left the config) as OPML or as the config's
    `groups:` YAML."""
    if fmt not in ("opml", "yaml"):
        raise NewsdeskError(f"--format: expected opml or yaml, got {fmt!r}")
    config = current_config()
    with open_archive(config) as store:
        store.apply_config(config.feeds(), datetime.now(UTC))
        specs = [f.spec for f in store.catalogue() if f.paused != REMOVED_FROM_CONFIG]
    from .. import sources  # lxml and ruamel.yaml: only the feeds commands need them

    if fmt == "yaml":
        text = sources.write_groups_yaml(specs)
    else:
        text = sources.write_opml(specs, rsshub=config.rsshub)
    if output:
        try:
            output.write_text(text, encoding="utf-8")
        except OSError as e:
            raise NewsdeskError(f"{output}: cannot write: {e.strerror or e}") from e
    else:
        sys.stdout.write(text)
