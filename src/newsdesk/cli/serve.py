"""`newsdesk serve`: the scheduler, the publishers and the JSON API in one process."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .common import current_config, state


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)


def serve(
    host: Annotated[
        str | None, typer.Option(help="Address to listen on (serve.host; default 127.0.0.1).")
    ] = None,
    port: Annotated[
        int | None, typer.Option(min=0, max=65535, help="Port (serve.port; default 8080; 0: any free one).")
    ] = None,
    base_path: Annotated[
        str | None, typer.Option("--base-path", help="Path prefix behind a reverse proxy, e.g. /news.")
    ] = None,
    config: Annotated[
        Path | None, typer.Option("--config", "-c", help="Config file (as `newsdesk --config`).")
    ] = None,
    scheduler: Annotated[
        bool,
        typer.Option(
            "--scheduler/--no-scheduler",
            help="Fetch and publish here (default); --no-scheduler: only the web front, beside"
            " `newsdesk worker`s sharing a PostgreSQL archive.",
        ),
    ] = True,
) -> None:
    """Run the desk: fetch each feed when due, publish after new entries, answer the JSON API.

    Prints the URL it listens on; stops cleanly on SIGTERM or Ctrl-C. See docs/serve.md."""
    from ..serve import serve as run_desk
    from ..serve import serve_settings

    if config is not None:
        state.config_path = config
    settings = serve_settings(current_config(), host=host, port=port, base_path=base_path)
    raise typer.Exit(
        run_desk(settings, announce=lambda line: print(line, flush=True), scheduler_on=scheduler)
    )
