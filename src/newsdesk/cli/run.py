"""`newsdesk run` and `newsdesk fetch`."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from .. import locks, procs
from ..config import Config
from ..errors import NewsdeskError
from ..models import FeedReport
from ..store import Store
from .common import (
    FeedOpt,
    JsonOpt,
    WaitOpt,
    current_config,
    err,
    log,
    open_archive,
    out,
    print_json,
    print_publish,
    progress_bar,
)

if TYPE_CHECKING:
    from .. import pipeline


def register(app: typer.Typer) -> None:
    app.command()(run)
    app.command()(fetch)


def _fetch_with_progress(
    config: Config,
    store: Store,
    names: list[str],
    *,
    publish: bool,
    report: pipeline.RunReport,
    due: bool = False,
) -> pipeline.RunReport:
    # Imported here: fetching pulls in aiohttp and the cleaning stage, which `build`,
    # `search` and friends do not need (half a second of every incremental build).
    from .. import pipeline
    from .publish import publisher_settings

    # The config is applied to the archive's catalogue first; `--due`: only feeds whose next check has come.
    specs = pipeline.select_feeds(config, names, store=store, due=datetime.now(UTC) if due else None)
    if not specs and due:
        return report  # nothing due: nothing to do, and nothing wrong
    if not specs:
        raise NewsdeskError("no enabled feeds match" + (f": {', '.join(names)}" if names else ""))
    publishers = tuple(config.publishers) if publish else ()
    if err.is_terminal:
        with progress_bar("抓取 fetching", len(specs)) as show:
            done = 0

            def tick(_: FeedReport) -> None:
                nonlocal done
                done += 1
                show(done, None)

            return pipeline.run(
                config,
                store,
                feeds=specs,
                publishers=publishers,
                progress=tick,
                report=report,
                settings=publisher_settings,
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
            skipped = f", {r.skipped} skipped by rule" if r.skipped else ""
            log.info("%s: %s new, %s updated, %s unchanged%s", r.key, r.new, r.updated, r.unchanged, skipped)

    return pipeline.run(
        config,
        store,
        feeds=specs,
        publishers=publishers,
        progress=line,
        report=report,
        settings=publisher_settings,
    )


def _run_command(names: list[str], as_json: bool, *, publish: bool, wait: float, due: bool = False) -> None:
    from .. import pipeline

    config = current_config()
    with locks.waiting(wait), open_archive(config) as store:
        report = pipeline.RunReport()
        try:
            report = _fetch_with_progress(config, store, names, publish=publish, report=report, due=due)
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
                "insights": report.insights,
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
        if f.skipped:
            status += f" ({f.skipped} skipped by rule)"
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
        + (f", {t['skipped']} skipped by rule" if t["skipped"] else "")
    )
    for p in report.published:
        print_publish(p)
    for e in report.publish_errors:
        err.print(f"[red]error:[/] {escape(e)}")


def run(
    feed: FeedOpt = None,
    as_json: JsonOpt = False,
    wait: WaitOpt = locks.DEFAULT_WAIT,
    due: Annotated[
        bool, typer.Option("--due", help="Only the feeds whose next scheduled check has come.")
    ] = False,
) -> None:
    """Fetch every enabled feed, store new and changed entries, then publish Hexo posts.

    Exit status: 0 all feeds fine; 3 some feeds failed (the others were still stored and
    published); 4 a publisher failed; 5 another process held the archive's fetch lock or an
    output folder past --wait; 1 nothing could run (config or database error); 130/143
    stopped by SIGINT/SIGTERM.

    Every run records each feed's next check (`newsdesk feeds list` shows it); with --due only
    the feeds whose check has come are fetched, as `newsdesk serve` would.
    """
    _run_command(feed or [], as_json, publish=True, wait=wait, due=due)


def fetch(
    feed: FeedOpt = None,
    as_json: JsonOpt = False,
    wait: WaitOpt = locks.DEFAULT_WAIT,
) -> None:
    """Fetch and store without publishing."""
    _run_command(feed or [], as_json, publish=False, wait=wait)
