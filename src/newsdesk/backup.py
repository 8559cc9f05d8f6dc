"""`newsdesk backup`, `restore` and `stats`: the archive and its search index copied out while
other processes write to them, put back, and measured.

A backup is a folder: `archive.db` (SQLite's online backup, the archive as of one commit),
`search/` (the tantivy index as of one of its commits), `images/` (with `images: cache`: the
kept article images that archive's articles refer to, as in the images folder) and
`manifest.json` (versions, revs, counts, and the size and SHA-256 of every file). It is
written under a temporary name beside the target and renamed into place once complete.

Images: which to take is read from the copied archive, so the backup holds the images of the
entries it holds and no others (an image the desk pruned meanwhile is counted `missing`). A
restore puts the folder in place of the images folder (the replaced one kept beside it) and
forgets the images the restored archive records but the folder lacks, starting the desk's
image pass over: `serve` or `run` fetch them again. A backup without images (of a desk
without `images: cache`, or of an older version) leaves the images folder as it is.

Consistency between the two: the index is copied first, then the archive. The index only ever
records a rev the archive had committed, so the copied index is at or behind the copied
archive; after a restore it catches up from its own mark (`search.update.catch_up`), as after
any run that stopped between storing and indexing. The index is copied without stopping its
writer: segment files never change once written, and `meta.json` (which segments make the
index) is replaced atomically on commit. The copy takes `meta.json` first, then the files; a
merge that removed a segment meanwhile makes the copy fail to open, and it is taken again. An
index that cannot be copied in a few attempts is left out (the manifest says why): it is
derived from the archive, and the restore builds it again.

A restore checks every file against the manifest, refuses while another process holds the
archive's fetch lock or has the archive open, keeps the replaced archive and index beside it
(`<db>.before-restore-<time>`, `<db>.search.before-restore-<time>`), replaces the archive in
one rename, so the archive's path always holds a whole archive, and brings the index and
story clusters up to date with it, so `newsdesk check` passes at once.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from . import __version__, atomic, locks
from .config import Config
from .errors import NewsdeskError, SearchError
from .store import open_store
from .store.common import is_postgres_url, mask_url
from .store.sqlite import migrations
from .store.sqlite.snapshot import kept_images

log = logging.getLogger("newsdesk.backup")

__all__ = [
    "ARCHIVE",
    "FORMAT",
    "INDEX",
    "MANIFEST",
    "BackupError",
    "Restored",
    "backup",
    "database_path",
    "read_manifest",
    "restore",
    "stats",
]

FORMAT = "newsdesk-backup 1"
MANIFEST = "manifest.json"
ARCHIVE = "archive.db"
INDEX = "search"
IMAGES = "images"
ATTEMPTS = 5  # copies of the index tried while its writer keeps merging under us


class BackupError(NewsdeskError):
    """A backup that could not be written, or one that cannot be restored."""


def database_path(config: Config) -> Path:
    url = config.database_url
    if is_postgres_url(url):
        raise BackupError(f"{mask_url(url)}: backup of a PostgreSQL archive is not available in this version")
    return Path(url.removeprefix("sqlite:///"))


def _index_path(config: Config) -> Path:
    from .search import index_path

    return index_path(config)


# --- backup --------------------------------------------------------------------------------------
def backup(config: Config, dest: Path, *, now: datetime | None = None) -> dict[str, Any]:
    """Back the archive of `config` and its search index up into the new folder `dest`; the
    manifest written there."""
    db = database_path(config)
    if not db.is_file():
        raise BackupError(f"{db}: no archive to back up (`newsdesk run` makes one)")
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise BackupError(f"{dest}: already exists and is not an empty folder: name a new one")
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        tmp.mkdir(parents=True)
        index, note = _copy_index(_index_path(config), tmp / INDEX)  # first: at or behind the archive
        store = open_store(config.database_url)
        try:
            counts = store.backup_to(tmp / ARCHIVE)
        finally:
            store.close()
        images = _copy_images(config.images_dir, tmp / ARCHIVE, tmp / IMAGES)
        manifest: dict[str, Any] = {
            "format": FORMAT,
            "created": (now or datetime.now(UTC)).isoformat(timespec="seconds"),
            "newsdesk": __version__,
            "sqlite": sqlite3.sqlite_version,
            "archive": {"file": ARCHIVE, "from": str(db.absolute()), **counts},
            "index": index,
            "index_note": note,
            "images": images,
            "files": {rel: _describe(tmp / rel) for rel in _files(tmp)},
        }
        atomic.write_bytes(tmp / MANIFEST, _json(manifest), sync=True)
        atomic.sync_folder(tmp)
        os.replace(tmp, dest)  # onto nothing, or onto an empty folder
        atomic.sync_folder(dest.parent)
    except OSError as e:
        raise BackupError(f"{e.filename or dest}: cannot write the backup: {e.strerror or e}") from e
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return manifest


def _copy_index(src: Path, dest: Path) -> tuple[dict[str, Any] | None, str | None]:
    """Copy the search index at `src` as of one of its commits: what it holds, or None and why
    not. The index is derived from the archive: a backup without it is whole, and after a
    restore the next run or search builds it again."""
    from .search.index import inspect_index
    from .search.sidecar import SIDECAR

    failure = ""
    for _ in range(ATTEMPTS):
        try:
            # The sidecar first: the rev it names is committed in every meta.json read after it.
            sidecar = (src / SIDECAR).read_bytes()
            state = json.loads(sidecar)
            meta = (src / "meta.json").read_bytes()
        except FileNotFoundError:
            return None, f"{src}: no search index yet"
        except (OSError, ValueError) as e:
            failure = str(e)
            continue
        if not isinstance(state, dict) or not isinstance(state.get("rev"), int):
            return None, f"{src / SIDECAR}: unreadable, so the index's rev is unknown"
        shutil.rmtree(dest, ignore_errors=True)
        dest.mkdir()
        for entry in os.scandir(src):
            name = entry.name
            if name in (SIDECAR, "meta.json") or _skipped(name) or not entry.is_file(follow_symlinks=False):
                continue
            with contextlib.suppress(FileNotFoundError):  # merged away: not in our meta.json
                _copy_file(Path(entry.path), dest / name)
        _write_file(dest / "meta.json", meta)
        _write_file(dest / SIDECAR, sidecar)
        try:
            documents = inspect_index(dest)
        except SearchError as e:  # a segment of our meta.json was merged away meanwhile
            failure = str(e)
            continue
        info = {"folder": INDEX, "rev": state["rev"], "documents": documents, "engine": state.get("engine")}
        return info, None
    shutil.rmtree(dest, ignore_errors=True)
    note = f"{src}: not copied, it kept changing or cannot be read ({failure})"
    log.warning("backup: %s; a restore builds the index again", note)
    return None, note


def _copy_images(folder: Path, archive: Path, dest: Path) -> dict[str, Any] | None:
    """Copy the images the archive copy at `archive` keeps and refers to from the images
    `folder` into `dest` (same layout): what was copied, or None when it keeps none."""
    names = kept_images(archive)
    if not names:
        return None
    copied = missing = size = 0
    for name in names:
        target = dest / name[:2] / name
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            shutil.copyfile(folder / name[:2] / name, target)
        except FileNotFoundError:  # pruned since the copy: the restore fetches it again
            missing += 1
            continue
        copied += 1
        size += target.stat().st_size
    _sync_all()
    return {"folder": IMAGES, "files": copied, "bytes": size, "missing": missing}


def _sync_all() -> None:
    # Thousands of small files: one sync of everything rather than an fsync each (the
    # manifest, written after, is synced on its own; a file a crash damaged fails its check).
    os.sync()


def _skipped(name: str) -> bool:
    # tantivy's lock files belong to the live index; temporary files are half-written.
    return (name.startswith(".tantivy-") and name.endswith(".lock")) or atomic.is_temp(name)


def _copy_file(src: Path, dest: Path) -> None:
    with open(src, "rb") as fin, open(dest, "wb") as fout:
        shutil.copyfileobj(fin, fout, 1 << 20)
        fout.flush()
        os.fsync(fout.fileno())


def _write_file(path: Path, data: bytes) -> None:
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def _files(folder: Path) -> list[str]:
    """Every file under `folder`, as sorted POSIX paths relative to it."""
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def _describe(path: Path) -> dict[str, Any]:
    with open(path, "rb") as f:
        digest = hashlib.file_digest(f, "sha256").hexdigest()
    return {"bytes": path.stat().st_size, "sha256": digest}


def _json(data: Any) -> bytes:
    return (json.dumps(data, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


# --- restore -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Restored:
    database: Path
    kept: Path | None  # where the replaced archive was kept (None: there was none)
    kept_index: Path | None
    counts: dict[str, int]  # what the restored archive holds
    manifest: dict[str, Any]
    kept_images: Path | None = None  # where the replaced images folder was kept


def read_manifest(folder: Path) -> dict[str, Any]:
    """The manifest of the backup in `folder`, every file it lists checked against it."""
    if not folder.is_dir():
        raise BackupError(f"{folder}: no such backup folder")
    path = folder / MANIFEST
    try:
        manifest = json.loads(path.read_bytes())
    except FileNotFoundError:
        raise BackupError(f"{path}: missing: {folder} is not a newsdesk backup") from None
    except (OSError, ValueError) as e:
        raise BackupError(f"{path}: unreadable ({e}): the backup is damaged") from e
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError(f"{path}: not a manifest of this version's backups (format {FORMAT!r})")
    files = manifest.get("files")
    archive = manifest.get("archive")
    if not isinstance(files, dict) or not isinstance(archive, dict) or ARCHIVE not in files:
        raise BackupError(f"{path}: the manifest lists no archive: the backup is damaged")
    for rel, want in sorted(files.items()):
        file = folder / rel
        if not isinstance(want, dict) or ".." in Path(rel).parts or Path(rel).is_absolute():
            raise BackupError(f"{path}: bad entry for {rel!r}: the backup is damaged")
        try:
            got = _describe(file)
        except FileNotFoundError:
            raise BackupError(f"{file}: missing from the backup (listed in its manifest)") from None
        except OSError as e:
            raise BackupError(f"{file}: cannot read: {e.strerror or e}") from e
        if got != {"bytes": want.get("bytes"), "sha256": want.get("sha256")}:
            raise BackupError(f"{file}: checksum mismatch: the backup is damaged; use another one")
    return manifest


def restore(config: Config, source: Path, *, now: datetime | None = None) -> Restored:
    """Put the backup in `source` in place of `config`'s archive and search index."""
    manifest = read_manifest(source)
    schema, known = manifest["archive"].get("schema"), migrations()[-1][0]
    if not isinstance(schema, int) or schema > known:
        raise BackupError(
            f"{source}: the backup's archive is at schema {schema}, newer than this newsdesk's"
            f" ({known}): restore it with the version that made it ({manifest.get('newsdesk')})"
        )
    db = database_path(config)
    index = _index_path(config)
    images = config.images_dir
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    db.parent.mkdir(parents=True, exist_ok=True)
    with locks.hold(locks.fetch_lock_path(str(db)), f"restoring {db}"):
        _refuse_if_open(db)
        new_db = db.with_name(f".{db.name}.{os.getpid()}.tmp")
        new_index = index.with_name(f".{index.name}.{os.getpid()}.tmp")
        new_images = images.with_name(f".{images.name}.{os.getpid()}.tmp")
        try:
            _copy_file(source / ARCHIVE, new_db)
            if manifest.get("index"):
                shutil.rmtree(new_index, ignore_errors=True)
                shutil.copytree(source / INDEX, new_index, copy_function=_copy_plain)
            if manifest.get("images"):
                shutil.rmtree(new_images, ignore_errors=True)
                shutil.copytree(source / IMAGES, new_images, copy_function=shutil.copyfile)
                _sync_all()
            kept = _keep_aside(db, stamp)
            kept_index = _move_aside(index, stamp)
            kept_images = _move_aside(images, stamp) if manifest.get("images") else None
            os.replace(new_db, db)  # the one step: the old archive or the restored one, whole
            if manifest.get("index"):
                os.replace(new_index, index)
            if manifest.get("images"):
                os.replace(new_images, images)
                atomic.sync_folder(images.parent)
            atomic.sync_folder(db.parent)
        except OSError as e:
            raise BackupError(f"{e.filename or db}: cannot restore: {e.strerror or e}") from e
        finally:
            with contextlib.suppress(FileNotFoundError):
                new_db.unlink()
            shutil.rmtree(new_index, ignore_errors=True)
            shutil.rmtree(new_images, ignore_errors=True)
        counts = _settle(config, db)
    return Restored(db, kept, kept_index, counts, manifest, kept_images)


def _move_aside(folder: Path, stamp: str) -> Path | None:
    """The folder renamed to `<name>.before-restore-<time>` (None: there was none)."""
    if not folder.exists():
        return None
    aside = _unused(folder.with_name(f"{folder.name}.before-restore-{stamp}"))
    os.replace(folder, aside)
    return aside


def _copy_plain(src: str, dest: str) -> None:
    _copy_file(Path(src), Path(dest))


def _refuse_if_open(db: Path) -> None:
    """Fold the archive's write-ahead log into it, and refuse when another process still has it
    open (a `serve`, a `search`): SQLite removes the log when its last connection closes."""
    from .store.sqlite.snapshot import open_elsewhere

    # A damaged archive (None), the reason to restore, is kept aside whole, log and all.
    if db.exists() and open_elsewhere(db):
        raise BackupError(
            f"{db}: another process has the archive open (its write-ahead log stays): stop"
            " `newsdesk serve` and other newsdesk processes, then restore"
        )


def _unused(path: Path) -> Path:
    n = 1
    candidate = path
    while candidate.exists() or candidate.with_name(candidate.name + "-wal").exists():
        n += 1
        candidate = path.with_name(f"{path.name}-{n}")
    return candidate


def _keep_aside(db: Path, stamp: str) -> Path | None:
    """A second name for the archive about to be replaced (its -wal and -shm moved with it, so
    SQLite still finds them), the archive itself staying at `db` until it is replaced."""
    if not db.exists():
        return None
    kept = _unused(db.with_name(f"{db.name}.before-restore-{stamp}"))
    try:
        os.link(db, kept)
    except OSError:  # a file system without hard links: a copy
        _copy_file(db, kept)
    for suffix in ("-wal", "-shm"):
        side = db.with_name(db.name + suffix)
        if side.exists():
            os.replace(side, kept.with_name(kept.name + suffix))
    return kept


def _settle(config: Config, db: Path) -> dict[str, int]:
    """Open the restored archive (migrating it when the backup is of an older version), run
    SQLite's integrity check on it, bring the search index and story clusters up to date
    with it (from the index's own mark; the whole archive when the backup held no index), and
    its kept images with the images folder (`media.settle_images`)."""
    from .media import settle_images
    from .search import update_index

    store = open_store(str(db))
    try:
        problems = store.integrity_problems()
        if problems:
            raise BackupError(f"{db}: the restored archive fails its integrity check: {problems[0]}")
        if config.search_index:
            update_index(config, store)
        settle_images(config, store)
        return store.archive_counts()
    finally:
        store.close()


# --- stats ---------------------------------------------------------------------------------------
def stats(config: Config) -> dict[str, Any]:
    """What the archive holds and what it, its index and the published folders take on disk."""
    postgres = is_postgres_url(config.database_url)  # no file of ours: the server's disk
    db = Path(mask_url(config.database_url)) if postgres else database_path(config)
    if not postgres and not db.is_file():
        raise BackupError(f"{db}: no archive yet (`newsdesk run` makes one)")
    store = open_store(config.database_url)
    try:
        counts = store.archive_counts()
        newest = store.newest_entry_time()
    finally:
        store.close()
    folders = {
        "hexo": config.path(config.hexo_dir),
        "site": config.path(config.site_dir),
        "images": config.images_dir,  # `images: cache`'s (absent otherwise: 0 bytes)
    }
    disk: dict[str, dict[str, Any]] = {}
    if not postgres:
        archive = sum(_size(db.with_name(db.name + s)) for s in ("", "-wal", "-shm"))
        disk["archive"] = {"path": str(db), "bytes": archive}
        folders = {"index": _index_path(config), **folders}
    for name, folder in folders.items():
        disk[name] = {"path": str(folder), "bytes": sum(_size(p) for p in _walk(folder))}
    return {
        "database": mask_url(config.database_url) if postgres else str(db),
        "counts": counts,
        "newest_entry": newest.isoformat() if newest else None,
        "disk": disk,
    }


def _size(path: Path | str) -> int:
    try:
        return os.lstat(path).st_size
    except OSError:
        return 0


def _walk(folder: Path) -> Iterator[str]:
    """Every file below `folder` (links counted as themselves); nothing when it does not exist."""
    for root, dirs, files in os.walk(folder):
        for name in files + [d for d in dirs if os.path.islink(os.path.join(root, d))]:
            yield os.path.join(root, name)
