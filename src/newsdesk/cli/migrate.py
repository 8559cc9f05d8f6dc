"""`newsdesk migrate --to URL`: the archive copied to another backend (`archive_copy`)."""

from __future__ import annotations

import logging
from typing import Annotated, Any

import typer

from ..errors import StoreError
from .common import JsonOpt, current_config, err, out, print_json, progress_bar

log = logging.getLogger("newsdesk.migrate")


def register(app: typer.Typer) -> None:
    app.command()(migrate)


def migrate(
    to: Annotated[
        str,
        typer.Option(
            "--to",
            help="Where to copy the archive: postgresql://user@host/db, or a SQLite file (a new one, or one"
            " an interrupted copy left).",
        ),
    ],
    batch: Annotated[int, typer.Option(help="Rows per transaction.")] = 2000,
    as_json: JsonOpt = False,
) -> None:
    """Copy the configured archive, every table, to another database (SQLite to PostgreSQL, or
    back), then compare each table's rows on both sides (count and content hash).

    Run it again after an interruption: it goes on where it stopped. The configured archive is
    only read; point `database:` at the copy afterwards."""
    from ..archive_copy import migrate_archive

    config = current_config()
    with progress_bar("copying") as bar:
        state: dict[str, Any] = {"table": "", "logged": 0}

        def on_batch(table: str, done: int, total: int) -> None:
            if err.is_terminal:
                bar(done, total)
                return
            # Plain lines off a terminal: each table's start and end, and every 10 %.
            step = max(1, total // 10)
            if table != state["table"] or done >= total or done - state["logged"] >= step:
                log.info("%s: %d of %d rows", table, done, total)
                state["table"], state["logged"] = table, done

        summary = migrate_archive(config.database_url, to, batch=batch, on_batch=on_batch)
    if as_json:
        print_json(summary.as_dict())
    if summary.mismatched:
        names = ", ".join(
            f"{t.name} ({t.source_rows} rows, copy {t.target_rows})" for t in summary.mismatched
        )
        raise StoreError(
            f"{summary.target}: the copy differs from {summary.source} in {names}: the archive changed"
            " while it was copied (stop `serve` and `run` first); copy into a new, empty database"
        )
    if not as_json:
        again = " (resumed)" if summary.resumed else ""
        out.print(
            f"copied {len(summary.tables)} tables, {summary.rows} rows from {summary.source} to"
            f" {summary.target} in {summary.seconds:.1f} s{again}: counts and hashes match",
            highlight=False,
        )
