"""The `newsdesk` app: global options, the commands of each module, and `main` (one-line
errors, exit codes, signals). Each command module imports its heavy parts inside its
commands, so `newsdesk --help` loads no fetching, search or site code."""

from __future__ import annotations

import errno
import logging
import sys
from dataclasses import asdict
from importlib import resources
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from .. import __version__, procs
from ..config import find_config_path
from ..errors import NewsdeskError
from . import entries, feeds, ops, publish, reclean, run, search, users
from . import insights as insights_cli
from . import migrate as migrate_cli
from . import serve as serve_cli
from . import worker as worker_cli
from .common import JsonOpt, current_config, err, out, print_json, state

app = typer.Typer(
    help="newsdesk: Chinese finance and policy news, fetched, archived and published.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _global_options(
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


run.register(app)
reclean.register(app)
insights_cli.register(app)
publish.register_build(app)


@app.command()
def check(as_json: JsonOpt = False) -> None:
    """Check the archive (SQLite integrity_check), the search index, publish marks and the site.

    One line per check; exit 0 when every check holds, 1 when any does not. Reads only."""
    from ..check import run_checks

    results = run_checks(current_config())
    if as_json:
        print_json([asdict(r) for r in results])
    else:
        for r in results:
            status = "[green]ok[/]     " if r.ok else "[red]problem[/]"
            out.print(f"{status} {escape(r.check)}: {escape(r.detail)}", highlight=False)
    raise typer.Exit(0 if all(r.ok for r in results) else 1)


search.register(app)
publish.register(app)
feeds.register(app)
entries.register(app)
ops.register(app)
migrate_cli.register(app)
users.register(app)
serve_cli.register(app)
worker_cli.register(app)


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
        from ..pipeline import EXIT_FATAL

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
        from ..pipeline import EXIT_FATAL

        sys.exit(EXIT_FATAL)
