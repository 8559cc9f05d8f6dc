"""The `newsdesk` command: a package of thin typer commands over the library, one module per
area (feeds, entries, run, publish, reclean, search), sharing `common`; `app` puts them together.

`main` is the console entry (`newsdesk = "newsdesk.cli:main"`) and `python -m newsdesk`."""

from .app import app, main

__all__ = ["app", "main"]
