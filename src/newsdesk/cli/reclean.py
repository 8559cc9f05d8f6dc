"""`newsdesk reclean`: clean stored entries again (the work is `pipeline.reclean`)."""

from __future__ import annotations

import typer

from .. import locks
from .common import FeedOpt, JsonOpt, WaitOpt, current_config, open_archive, out, print_json, progress_bar


def register(app: typer.Typer) -> None:
    app.command()(reclean)


def reclean(
    feed: FeedOpt = None,
    as_json: JsonOpt = False,
    wait: WaitOpt = locks.DEFAULT_WAIT,
) -> None:
    """Clean stored entries again from their raw HTML (after a cleaner upgrade or a config change).

    Publishers pick the new articles up on their next run (`newsdesk publish hexo`, `newsdesk run`).
    """
    config = current_config()
    from .. import pipeline

    specs = pipeline.select_feeds(config, feed or [])
    with locks.waiting(wait), open_archive(config) as store, progress_bar("清洗 recleaning") as show:
        counts = pipeline.reclean(config, store, specs, progress=show)
    if as_json:
        print_json({"cleaned": counts.cleaned, "failed": counts.failed, "skipped": counts.skipped})
    else:
        out.print(
            f"{counts.cleaned} cleaned, {counts.failed} failed, {counts.skipped} not cleaned (clean: false)"
        )
