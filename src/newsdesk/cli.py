"""The `newsdesk` command: a thin layer of typer commands over the library."""

from __future__ import annotations

import errno
import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from . import __version__, locks, procs
from .cli_common import (
    JsonOpt,
    WaitOpt,
    config_path,
    current_config,
    err,
    log,
    open_archive,
    out,
    print_json,
    state,
)
from .config import Config, find_config_path
from .errors import NewsdeskError
from .models import FeedReport, FeedSpec, FeedState, StoredEntry
from .publish.base import PublishReport, get_publisher, run_publisher
from .search.commands import register as register_search
from .store import Store

if TYPE_CHECKING:
    from . import pipeline

app = typer.Typer(
    help="newsdesk: Chinese finance and policy news, fetched, archived and published.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
feeds_app = typer.Typer(help="List, add, remove, import and export feeds.", no_args_is_help=True)
entries_app = typer.Typer(help="Show what the archive holds.", no_args_is_help=True)
publish_app = typer.Typer(help="Write the archive out with a publisher.", no_args_is_help=True)
app.add_typer(feeds_app, name="feeds")
app.add_typer(entries_app, name="entries")
app.add_typer(publish_app, name="publish")


@app.callback()
def _main(
    config: Annotated[
        Path | None,
        typer.Option("--config", "-c", help="Config file (else $NEWSDESK_CONFIG, else ./newsdesk.yaml)."),
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log more.")] = False,
) -> None:
    state.config_path = find_config_path(config)
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(message)s",
        stream=sys.stderr,
    )


# init ------------------------------------------------------------------------
@app.command()
def init(
    path: Annotated[Path | None, typer.Argument(help="Where to write the config.")] = None,
    force: Annotated[bool, typer.Option(help="Overwrite an existing file.")] = False,
) -> None:
    """Write a commented starter config with real RSSHub routes for finance and policy news."""
    target = path or state.config_path or Path("newsdesk.yaml")
    if target.exists() and not force:
        raise NewsdeskError(f"{target}: already exists (use --force to overwrite)")
    text = (resources.files("newsdesk") / "data" / "starter.yaml").read_text(encoding="utf-8")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    err.print(f"wrote {target}; next: newsdesk --config {target} run")


# run / fetch -----------------------------------------------------------------
def _fetch_with_progress(
    config: Config, store: Store, names: list[str], *, publish: bool, report: pipeline.RunReport
) -> pipeline.RunReport:
    # Imported here: fetching pulls in aiohttp and the cleaning stage, which `build`,
    # `search` and friends do not need (half a second of every incremental build).
    from . import pipeline

    specs = pipeline.select_feeds(config, names)
    if not specs:
        raise NewsdeskError("no enabled feeds match" + (f": {', '.join(names)}" if names else ""))
    publishers = tuple(config.publishers) if publish else ()
    if err.is_terminal:
        with _progress("抓取 fetching", len(specs)) as tick:
            return pipeline.run(
                config, store, feeds=specs, publishers=publishers, progress=lambda r: tick(), report=report
            )

    # Under cron: one plain log line per feed.
    def line(r: FeedReport) -> None:
        if r.outcome == "failed":
            log.warning("%s: failed: %s", r.key, r.error)
        elif r.outcome == "not_modified":
            log.info("%s: not modified", r.key)
        elif r.outcome == "deferred":
            log.info("%s: deferred: %s", r.key, r.error)
        else:
            log.info("%s: %s new, %s updated, %s unchanged", r.key, r.new, r.updated, r.unchanged)

    return pipeline.run(config, store, feeds=specs, publishers=publishers, progress=line, report=report)


def _run_command(names: list[str], as_json: bool, *, publish: bool, wait: float) -> None:
    from . import pipeline

    config = current_config()
    with locks.waiting(wait), open_archive(config) as store:
        report = pipeline.RunReport()
        try:
            report = _fetch_with_progress(config, store, names, publish=publish, report=report)
        except procs.Stopped as e:
            _print_run(report, as_json, stopped=e)
            raise
    _print_run(report, as_json)
    raise typer.Exit(report.exit_code)


def _print_run(report: pipeline.RunReport, as_json: bool, stopped: procs.Stopped | None = None) -> None:
    if as_json:
        print_json(
            {
                "feeds": [asdict(f) for f in report.feeds],
                "published": [asdict(p) for p in report.published],
                "publish_errors": report.publish_errors,
                "indexed": report.indexed,
                "totals": report.totals(),
                "exit_code": stopped.exit_code if stopped else report.exit_code,
                **({"stopped": stopped.signame} if stopped else {}),
            }
        )
        return
    table = Table(title="本次抓取 run summary")
    for col in ("feed", "new", "updated", "unchanged", "status"):
        numeric = col in ("new", "updated", "unchanged")
        table.add_column(col, justify="right" if numeric else "left", overflow="fold")
    for f in report.feeds:
        status = {
            "ok": "ok",
            "not_modified": "not modified (304)",
            "failed": f"[red]failed: {escape(f.error or '')}",
            "deferred": f"[yellow]deferred: {escape(f.error or '')}",
        }[f.outcome]
        if f.warning:
            status += f" [yellow](warning: {escape(f.warning)})"
        table.add_row(escape(f.key), str(f.new), str(f.updated), str(f.unchanged), status)
    out.print(table)
    t = report.totals()
    done = " before the stop" if stopped else ""
    out.print(
        f"{t['feeds']} feeds{done}, {t['failed']} failed"
        + (f", {t['deferred']} deferred" if t["deferred"] else "")
        + f"; {t['new']} new, {t['updated']} updated,"
        f" {t['unchanged']} unchanged"
    )
    for p in report.published:
        _print_publish(p)
    for e in report.publish_errors:
        err.print(f"[red]error:[/] {escape(e)}")


def _print_publish(p: PublishReport) -> None:
    out.print(
        f"{p.publisher}: {p.written} written, {p.unchanged} unchanged, {p.removed} removed → {p.out_dir}"
    )


@app.command()
def run(
    feed: Annotated[
        list[str] | None, typer.Option("--feed", help="Only these feeds (name/site/group).")
    ] = None,
    as_json: JsonOpt = False,
    wait: WaitOpt = locks.DEFAULT_WAIT,
) -> None:
    """Fetch every enabled feed, store new and changed entries, then publish Hexo posts.

    Exit status: 0 all feeds fine; 3 some feeds failed (the others were still stored and
    published); 4 a publisher failed; 5 another process held the archive's fetch lock or an
    output folder past --wait; 1 nothing could run (config or database error); 130/143
    stopped by SIGINT/SIGTERM.
    """
    _run_command(feed or [], as_json, publish=True, wait=wait)


@app.command()
def fetch(
    feed: Annotated[
        list[str] | None, typer.Option("--feed", help="Only these feeds (name/site/group).")
    ] = None,
    as_json: JsonOpt = False,
    wait: WaitOpt = locks.DEFAULT_WAIT,
) -> None:
    """Fetch and store without publishing."""
    _run_command(feed or [], as_json, publish=False, wait=wait)


# publish ---------------------------------------------------------------------
@publish_app.command("hexo")
def publish_hexo(
    out_dir: Annotated[Path | None, typer.Option("--out", help="Posts folder (default: hexo_dir).")] = None,
    as_json: JsonOpt = False,
    wait: WaitOpt = locks.DEFAULT_WAIT,
) -> None:
    """Write one Hexo post per stored entry (only new or changed ones are rewritten)."""
    config = current_config()
    with locks.waiting(wait), open_archive(config) as store:
        report = run_publisher(get_publisher("hexo"), store, config, out_dir)
    if as_json:
        print_json(asdict(report))
    else:
        _print_publish(report)


# feeds -----------------------------------------------------------------------
@feeds_app.command("list")
def feeds_list(as_json: JsonOpt = False) -> None:
    """Show the group → site → feed tree with each feed's last fetch, and the hold on its host
    when its server asked to wait (the feed is fetched again after that time)."""
    from .holds import feed_hold, until_text

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
    from . import sources  # lxml and ruamel.yaml: only the feeds commands need them

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
    from . import sources  # lxml and ruamel.yaml: only the feeds commands need them

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
    from . import sources  # lxml and ruamel.yaml: only the feeds commands need them

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
    from . import sources  # lxml and ruamel.yaml: only the feeds commands need them

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
    from . import sources  # lxml and ruamel.yaml: only the feeds commands need them

    text = sources.write_opml(config.feeds(), rsshub=config.rsshub)
    if output:
        output.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)


# entries ---------------------------------------------------------------------
def _entry_dict(e: StoredEntry, full: bool) -> dict[str, Any]:
    d: dict[str, Any] = {
        "id": e.uid,
        "title": e.title,
        "link": e.link,
        "group": e.group,
        "site": e.site,
        "feed": e.feed,
        "published": e.published,
        "updated": e.updated,
        "author": e.author,
        "first_seen": e.first_seen,
        "last_changed": e.last_changed,
        "entry_id": e.entry_id,
    }
    a = e.article
    d.update(
        {
            "source": a.source if a else None,
            "editor": a.editor if a else None,
            "reporters": list(a.reporters) if a else [],
            "dateline": a.dateline if a else None,
            "keywords": list(a.keywords) if a else [],
            "images": list(a.images) if a else [],
            "header_image": a.header_image if a else None,
            "summary": a.summary if a else e.summary,
            "char_count": a.char_count if a else None,
            "profile": a.profile if a else None,
            "clean_error": e.clean_error,
        }
    )
    if full:
        d["text"] = a.text if a else None
        d["html"] = a.html if a else None
        d["feed_summary"] = e.summary
        d["content"] = e.content
        d["page"] = e.page
    return d


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
        print_json([_entry_dict(e, False) for e in rows])
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
    with open_archive(config) as store:
        e = store.get_entry(uid)
    if e is None:
        raise NewsdeskError(f"no entry with id {uid!r} (see `newsdesk entries list`)")
    if as_json:
        print_json(_entry_dict(e, True))
        return
    out.print(f"[bold]{escape(e.title)}")
    out.print(f"{e.group} → {e.site} → {e.feed}", markup=False)
    out.print(f"link: {e.link}\npublished: {e.published}\nauthor: {e.author}", markup=False)
    if e.clean_error:
        out.print(f"clean error: {e.clean_error}", markup=False, highlight=False)
    out.print("", markup=False)
    out.print(e.content, markup=False, highlight=False)


@app.command()
def reclean(
    feed: Annotated[
        list[str] | None, typer.Option("--feed", help="Only these feeds (name/site/group).")
    ] = None,
    as_json: JsonOpt = False,
    wait: WaitOpt = locks.DEFAULT_WAIT,
) -> None:
    """Clean stored entries again from their raw HTML (after a cleaner upgrade or a config change).

    Publishers pick the new articles up on their next run (`newsdesk publish hexo`, `newsdesk run`).
    """
    config = current_config()
    from . import pipeline

    specs = {f.key: f for f in pipeline.select_feeds(config, feed or [])}
    counts = {"cleaned": 0, "failed": 0, "skipped": 0}
    # Under the archive's fetch lock: a run storing the same entries meanwhile would race it.
    fetch_lock = locks.hold(locks.fetch_lock_path(config.database_url), "recleaning")
    with locks.waiting(wait), fetch_lock, open_archive(config) as store:
        uids = [u for key in specs for u in store.iter_uids(feed_key=key)]
        try:
            with _progress("清洗 recleaning", len(uids)) as tick:
                for start in range(0, len(uids), 200):
                    for entry in store.get_entries(uids[start : start + 200]):
                        outcome = pipeline.reclean_entry(entry, specs[entry.feed_key])
                        if outcome is None:
                            counts["skipped"] += 1
                            continue
                        store.set_article(entry.uid, outcome)
                        counts["cleaned" if outcome.error is None else "failed"] += 1
                        tick()
        except procs.Stopped as e:
            e.add_note(f"reclean: {counts['cleaned']} cleaned, {counts['failed']} failed, then stopped")
            raise
    if as_json:
        print_json(counts)
    else:
        c = counts
        out.print(f"{c['cleaned']} cleaned, {c['failed']} failed, {c['skipped']} not cleaned (clean: false)")


@contextmanager
def _progress(label: str, total: int) -> Iterator[Callable[[], None]]:
    """A progress bar on a terminal; nothing under cron (summary lines say it all there)."""
    if not err.is_terminal:
        yield lambda: None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    ) as bar:
        task = bar.add_task(label, total=total)
        yield lambda: bar.advance(task)


@app.command()
def build(
    out_dir: Annotated[Path | None, typer.Option("--out", help="Site folder (default: site_dir).")] = None,
    as_json: JsonOpt = False,
    wait: WaitOpt = locks.DEFAULT_WAIT,
) -> None:
    """Build the static news site (incremental: only pages whose inputs changed are written).

    The archive is checked for damage meanwhile (a quick check in a second process): a damaged
    archive fails the build (exit 1) even when the pages it changed could be read."""
    from .check import verifying
    from .publish.site.pool import build_process_settings

    config = current_config()
    with locks.waiting(wait), open_archive(config) as store, verifying(store), build_process_settings():
        report = run_publisher(get_publisher("site"), store, config, out_dir)
    if as_json:
        print_json(asdict(report))
    else:
        _print_publish(report)


@app.command()
def check(as_json: JsonOpt = False) -> None:
    """Check the archive (SQLite integrity_check), the search index, publish marks and the site.

    One line per check; exit 0 when every check holds, 1 when any does not. Reads only."""
    from .check import run_checks

    results = run_checks(current_config())
    if as_json:
        print_json([asdict(r) for r in results])
    else:
        for r in results:
            status = "[green]ok[/]     " if r.ok else "[red]problem[/]"
            out.print(f"{status} {escape(r.check)}: {escape(r.detail)}", highlight=False)
    raise typer.Exit(0 if all(r.ok for r in results) else 1)


# Later stages bring their own command modules (search, reindex, clusters).
register_search(app)


@app.command()
def version() -> None:
    """Print the version."""
    out.print(__version__)


# A full disk, an I/O error, a read-only or forbidden file: the machine's state, not a bug.
_DISK_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.EROFS, errno.EACCES, errno.EPERM})


def main() -> None:
    procs.stop_on_signals()
    try:
        app()
    except NewsdeskError as e:
        err.print(f"[red]error:[/] {escape(str(e))}", highlight=False)
        from .pipeline import EXIT_FATAL

        sys.exit(getattr(e, "exit_code", EXIT_FATAL))
    except procs.Stopped as e:
        # What was done: the command's own lines (a publisher's progress) as notes, then one line.
        for note in getattr(e, "__notes__", ()):
            err.print(note, markup=False, highlight=False)
        err.print(
            f"stopped by {e.signame}: what was committed stays, the rest was rolled back", highlight=False
        )
        sys.exit(e.exit_code)
    except OSError as e:
        # A stage should have named what it was doing; still one line, never a traceback.
        if e.errno not in _DISK_ERRNOS:
            raise
        where = f"{e.filename}: " if e.filename else ""
        err.print(f"[red]error:[/] {escape(where + (e.strerror or str(e)))}", highlight=False)
        from .pipeline import EXIT_FATAL

        sys.exit(EXIT_FATAL)
