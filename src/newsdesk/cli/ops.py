"""`newsdesk backup`, `restore` and `stats` (the work is in `newsdesk.backup`), and `newsdesk
images prune` (`newsdesk.media`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from .common import JsonOpt, WaitOpt, current_config, open_archive, out, print_json

FolderArg = Annotated[Path, typer.Argument(help="The backup folder.")]
images_app = typer.Typer(help="Article images kept with `images: cache`.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.command()(backup)
    app.command()(restore)
    app.command()(stats)
    app.add_typer(images_app, name="images")


def backup(folder: FolderArg, as_json: JsonOpt = False) -> None:
    """Back the archive and its search index up into a new FOLDER, while `serve` or `run` go on.

    The folder gets archive.db (SQLite's online backup), search/ (the index), images/ (with
    `images: cache`: the kept images its entries refer to) and manifest.json (versions, revs,
    counts, SHA-256 of every file). `newsdesk restore FOLDER` puts it back."""
    from .. import backup as ops

    manifest = ops.backup(current_config(), folder)
    if as_json:
        print_json(manifest)
        return
    archive = manifest["archive"]
    index = manifest["index"]
    size = sum(f["bytes"] for f in manifest["files"].values())
    indexed = (
        f"index at rev {index['rev']} ({index['documents']} documents)"
        if index
        else f"no search index ({manifest['index_note']})"
    )
    images = manifest["images"]
    kept = f", {images['files']} images" if images else ""
    out.print(
        f"backed up {archive.get('entries', 0)} entries (rev {archive['rev']}, schema {archive['schema']}),"
        f" {indexed}{kept}: {_mb(size)} in {folder}",
        highlight=False,
    )


def restore(
    folder: FolderArg,
    as_json: JsonOpt = False,
    wait: Annotated[
        float,
        typer.Option(
            "--wait",
            min=0,
            metavar="SECONDS",
            help="How long to wait for a running fetch (then exit 5).",
        ),
    ] = 0.0,
) -> None:
    """Replace the archive and its search index with the backup in FOLDER.

    Checks every file against the backup's manifest first; refuses while another process fetches
    into the archive or has it open. The replaced archive is kept beside it
    (<database>.before-restore-<time>). Then run `newsdesk check`."""
    from .. import backup as ops
    from .. import locks

    with locks.waiting(wait):
        done = ops.restore(current_config(), folder)
    if as_json:
        print_json(
            {
                "database": done.database,
                "kept": done.kept,
                "kept_index": done.kept_index,
                "kept_images": done.kept_images,
                "counts": done.counts,
                "from": str(folder),
                "created": done.manifest.get("created"),
            }
        )
        return
    kept = f"; the replaced archive is kept as {done.kept}" if done.kept else ""
    out.print(
        f"restored {done.counts.get('entries', 0)} entries (rev {done.counts.get('rev')}) from {folder}"
        f" (taken {done.manifest.get('created')}) into {done.database}{kept}",
        highlight=False,
    )


def stats(as_json: JsonOpt = False) -> None:
    """Counts of what the archive holds, and disk use of the archive, index, Hexo posts and site."""
    from .. import backup as ops

    data: dict[str, Any] = ops.stats(current_config())
    if as_json:
        print_json(data)
        return
    counts = ", ".join(
        f"{k.replace('_', ' ')} {v}" for k, v in data["counts"].items() if k not in ("rev", "schema")
    )
    out.print(f"archive {data['database']}: {counts}", highlight=False)
    out.print(
        f"rev {data['counts']['rev']}, schema {data['counts']['schema']},"
        f" newest entry {data['newest_entry'] or '—'}",
        highlight=False,
    )
    for name, d in data["disk"].items():
        out.print(f"{name:8} {_mb(d['bytes']):>10}  {d['path']}", highlight=False)


@images_app.command("prune")
def images_prune(as_json: JsonOpt = False, wait: WaitOpt = 0.0) -> None:
    """Delete kept images that no stored article refers to any more.

    Also the files of the images folder that no record names. `serve` and `run` prune by
    themselves after entries are removed. Holds the archive's fetch lock meanwhile."""
    from .. import locks
    from ..media import prune_images

    config = current_config()
    with (
        locks.waiting(wait),
        locks.hold(locks.fetch_lock_path(config.database_url), "pruning images"),
        open_archive(config) as store,
    ):
        pruned = prune_images(config, store)
    if as_json:
        print_json({"records": pruned.records, "files": pruned.files, "bytes": pruned.bytes})
        return
    out.print(
        f"forgot {pruned.records} images, deleted {pruned.files} files ({_mb(pruned.bytes)})"
        f" in {config.images_dir}",
        highlight=False,
    )


def _mb(n: int) -> str:
    return f"{n / 1_000_000:.1f} MB" if n >= 100_000 else f"{n / 1000:.1f} kB"
