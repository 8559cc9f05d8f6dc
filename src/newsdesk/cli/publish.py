"""`newsdesk publish NAME` for any registered publisher, and `newsdesk build` (the site)."""

from __future__ import annotations

import contextlib
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer

from .. import locks
from ..publish.base import get_publisher, run_publisher
from .common import JsonOpt, WaitOpt, current_config, open_archive, print_json, print_publish

OutOpt = Annotated[Path | None, typer.Option("--out", help="Output folder (default: the config's).")]


def register(app: typer.Typer) -> None:
    app.command("publish", no_args_is_help=True)(publish)


def register_build(app: typer.Typer) -> None:
    app.command()(build)


def publish(
    name: Annotated[str, typer.Argument(metavar="NAME", help="hexo, site, feeds or an installed publisher.")],
    out_dir: OutOpt = None,
    as_json: JsonOpt = False,
    wait: WaitOpt = locks.DEFAULT_WAIT,
) -> None:
    """Write the archive out with a publisher (only new or changed files are rewritten)."""
    _publish(name, out_dir, as_json, wait, verify=False)


def build(
    out_dir: Annotated[Path | None, typer.Option("--out", help="Site folder (default: site_dir).")] = None,
    as_json: JsonOpt = False,
    wait: WaitOpt = locks.DEFAULT_WAIT,
) -> None:
    """Build the static news site (incremental: only pages whose inputs changed are written).

    The archive is checked for damage meanwhile (a quick check in a second process): a damaged
    archive fails the build (exit 1) even when the pages it changed could be read."""
    _publish("site", out_dir, as_json, wait, verify=True)


# Publishers that build the site (its pages, its feeds).
SITE_BUILDS = frozenset({"site", "feeds"})


def publisher_settings(name: str) -> contextlib.AbstractContextManager[object]:
    """The process-wide settings this process (the CLI's: it owns them) holds while publisher
    `name` runs: a site build's collector and switch interval (`build_process_settings`) for
    the site and its feeds; none for the others, which then need not import the site's pool."""
    if name not in SITE_BUILDS:
        return contextlib.nullcontext()
    from ..publish.site.pool import build_process_settings

    return build_process_settings()


def _publish(name: str, out_dir: Path | None, as_json: bool, wait: float, *, verify: bool) -> None:
    config = current_config()
    publisher = get_publisher(name)
    with contextlib.ExitStack() as stack:
        stack.enter_context(locks.waiting(wait))
        store = stack.enter_context(open_archive(config))
        if verify:
            from ..check import verifying

            stack.enter_context(verifying(store))
        stack.enter_context(publisher_settings(name))
        report = run_publisher(publisher, store, config, out_dir)
    if as_json:
        print_json(asdict(report))
    else:
        print_publish(report)
