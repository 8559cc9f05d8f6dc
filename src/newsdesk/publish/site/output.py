"""The build manifest and the only code that writes into the site folder.

The manifest (`.newsdesk/manifest.json` inside the site folder) records, for every file of
the site, the key of the inputs it was rendered from and a hash of its bytes. A page whose
key is unchanged is not rendered at all; a rendered page whose bytes are unchanged is not
written; a file that the previous build made and this one did not is deleted. Kept inside
the site folder on purpose: wiping the folder also wipes the manifest, and the next build
is a full one.

Writes are atomic (temporary file + `os.replace`) so a reader or web server never sees half
a page, and not fsynced at all where the kernel tells its boot id (Linux): the manifest
records the boot it was written in, and a manifest from another boot is not trusted (the
next build is a full one), because only a crash of the machine loses written pages that were
not yet on disk; a crashed build process loses nothing the kernel accepted. Elsewhere the
publisher calls `os.sync()` once, before it saves the manifest. Either way the manifest never
vouches for a page that is not on disk. (A sync cost a third of an incremental build.)
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import os
import threading
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import orjson

from ... import atomic
from ...errors import PublishError

STATE_DIR = ".newsdesk"
T = TypeVar("T")


def digest(*parts: object) -> str:
    """A short, stable key over values that `json` can serialise."""
    raw = json.dumps(parts, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.blake2b(raw.encode("utf-8", "surrogatepass"), digest_size=12).hexdigest()


def quick_key(*parts: str | None) -> str:
    """`digest` of a few strings without a JSON encoding (a different key from `digest`'s)."""
    raw = "\x1f".join([p if p is not None else "\x00" for p in parts])
    return hashlib.blake2b(raw.encode("utf-8", "surrogatepass"), digest_size=12).hexdigest()


def write_atomic(target: str | Path, data: bytes) -> None:
    # Strings, not Paths, on this path: it runs once per page (see `atomic.write_bytes`).
    try:
        atomic.write_bytes(target, data)
    except OSError as e:
        raise PublishError(f"{target}: cannot write: {e.strerror or e}") from e


HASH_CHARS = 24


def page_hash(data: bytes) -> str:
    # SHA-256, not BLAKE2: CPUs with SHA extensions hash it twice as fast, and a cold build
    # hashes every byte of the site (160 MB at 10,000 articles).
    return hashlib.sha256(data).hexdigest()[:HASH_CHARS]


def is_unchanged(target: str | Path, old_hash: str | None, h: str, size: int) -> bool:
    """True when the file the previous build wrote has these bytes still (hash and size)."""
    if old_hash != h:
        return False
    try:
        return os.stat(target).st_size == size
    except OSError:
        return False


def make_folder(folder: str | Path) -> None:
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as e:
        raise PublishError(f"{folder}: cannot create folder: {e.strerror or e}") from e


_BOOT_ID = Path("/proc/sys/kernel/random/boot_id")


def boot_id() -> str | None:
    """This boot of the machine (Linux), or None where the kernel does not tell."""
    try:
        return _BOOT_ID.read_text().strip() or None
    except OSError:
        return None


def load_manifest(root: Path, name: str, fmt: str) -> dict[str, Any]:
    """The previous build's manifest, or an empty one (first build, other format, damaged,
    or written without a sync in an earlier boot of the machine)."""
    try:
        raw = (root / STATE_DIR / name).read_bytes()
    except OSError:
        return {}
    try:
        data = orjson.loads(raw)  # three times as fast as json: it is most of a small build
    except orjson.JSONDecodeError:
        try:
            data = json.loads(raw)  # text orjson refuses (lone surrogates) that json wrote
        except ValueError:
            return {}
    if not isinstance(data, dict) or data.get("format") != fmt:
        return {}
    unsynced = data.get("boot")
    if unsynced is not None and unsynced != boot_id():
        return {}  # the machine restarted: pages it vouches for may never have reached the disk
    return data


def save_manifest(
    root: Path,
    name: str,
    head: dict[str, Any],
    *,
    metas: Iterable[list[Any]],
    pages: dict[str, str],
) -> None:
    """Write the manifest: `head`'s keys, then the per-entry records (a list) and the pages.

    Streamed a thousand records at a time: at 100,000 entries the whole document as one
    string, or the records as one list, would be the largest thing the build holds in memory.
    """
    target = root / STATE_DIR / name
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with atomic.replacing(target) as f:
            f.write(b"{")
            for key, value in sorted(head.items()):
                f.write(_dump(key) + b":")
                f.write(_dump(value))  # not joined: the search state is 5 MB at 100,000
                f.write(b",")
            f.write(b'"metas":[')
            sep = b""
            # A thousand records per dump: one call per record was most of the time of an
            # incremental build; one call for all, most of its memory.
            for rows in _chunks(metas, 1000):
                f.write(sep + _dump(rows)[1:-1])
                sep = b","
            f.write(b'],"pages":{')
            sep = b""
            for paths in _chunks(iter(sorted(pages)), 1000):  # sorted keys: no list of pairs
                f.write(sep + _dump({p: pages[p] for p in paths})[1:-1])
                sep = b","
            f.write(b"}}")
    except OSError as e:
        raise PublishError(f"{target}: cannot write the build manifest: {e.strerror or e}") from e


def _dump(value: object) -> bytes:
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    except TypeError:  # a lone surrogate (from a name in the config): json writes it escaped
        return json.dumps(value, separators=(",", ":"), sort_keys=True).encode("ascii")


def _chunks(items: Iterable[T], size: int) -> Iterator[list[T]]:
    it = iter(items)
    while chunk := list(itertools.islice(it, size)):
        yield chunk


def _files_under(root: str) -> set[str]:
    """Paths ('/'-separated, relative to `root`) of the regular files below it. Removes the
    temporary files of interrupted writes it meets (`atomic`), and those in the state folder:
    called before the build writes anything, under the folder's lock, when all are stale."""
    found: set[str] = set()
    todo = [("", root)]
    while todo:
        rel, folder = todo.pop()
        try:
            entries = os.scandir(folder)
        except OSError:
            continue
        with entries:
            for e in entries:
                # d_type from the directory listing: no stat per file.
                if e.is_dir(follow_symlinks=False):
                    if e.name != STATE_DIR:
                        todo.append((f"{rel}{e.name}/", e.path))
                    elif not rel:
                        atomic.sweep_temp(e.path)
                elif atomic.is_temp(e.name):
                    with contextlib.suppress(OSError):
                        os.unlink(e.path)
                elif e.is_file():
                    found.add(rel + e.name)
    return found


class Output:
    """Files of one build: skips, writes and finally sweeps what is no longer produced."""

    def __init__(self, root: Path, old_pages: dict[str, str]) -> None:
        self.root = root
        self._root = str(root)
        self.old = old_pages
        # path → "key\x1fhash": one string per page, not a list of two (131,000 pages at
        # 100,000 articles: 16 MB less).
        self.pages: dict[str, str] = {}
        self.written = 0
        self.unchanged = 0
        self.removed = 0
        self._dirs: set[str] = set()
        # Files found in the folder (see `exists`): one walk, before this build writes anything,
        # which also removes what interrupted builds left (temporary files).
        self._present = _files_under(self._root)
        # Writing is mostly waiting on the kernel (open, write, rename): a few threads overlap
        # it with rendering. The semaphore bounds the bytes waiting in the queue.
        self._pool: ThreadPoolExecutor | None = None
        self._slots = threading.BoundedSemaphore(64)
        self._errors: list[PublishError] = []

    def exists(self, path: str) -> bool:
        """Whether the site folder holds file `path` (as it was when the build started, or
        written by this build). One walk of the folder answers for every page: a `stat` per
        page was a tenth of a small build."""
        return path in self._present or path in self.pages

    def fresh(self, path: str, key: str) -> bool:
        """True (and the file is kept) when `path` was built from `key` and is still there."""
        old = self.old.get(path)
        if (
            old is not None
            and len(old) == len(key) + 1 + HASH_CHARS
            and old.startswith(key)
            and self.exists(path)
        ):
            self.pages[path] = old
            self.unchanged += 1
            return True
        return False

    def old_hash(self, path: str) -> str | None:
        """The hash of the bytes the previous build wrote to `path`, if it did."""
        old = self.old.get(path)
        return old[-HASH_CHARS:] if old is not None else None

    def keep(self, path: str) -> bool:
        """Keep a file made by an earlier build without re-rendering it (False if it is gone)."""
        old = self.old.get(path)
        if old is None or not self.exists(path):
            return False
        self.pages[path] = old
        self.unchanged += 1
        return True

    def put(self, path: str, key: str, data: bytes) -> bool:
        """Record `path` as built from `key`; write it only if its bytes changed. True if written."""
        h = page_hash(data)
        self.pages[path] = f"{key}\x1f{h}"
        target = f"{self._root}/{path}"  # strings: a Path per page costs more than its write
        if is_unchanged(target, self.old_hash(path), h, len(data)):
            self.unchanged += 1
            return False
        parent = target.rpartition("/")[0]
        if parent not in self._dirs:
            make_folder(parent)
            self._dirs.add(parent)
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="site-write")
        self._slots.acquire()
        self._pool.submit(self._write, target, data)
        self.written += 1
        return True

    def record(self, path: str, key: str, h: str, *, written: bool) -> None:
        """Record a page another process rendered and wrote (or found unchanged)."""
        self.pages[path] = f"{key}\x1f{h}"
        if written:
            self.written += 1
        else:
            self.unchanged += 1

    def _write(self, target: str, data: bytes) -> None:
        try:
            write_atomic(target, data)
        except PublishError as e:
            self._errors.append(e)
        finally:
            self._slots.release()

    def close(self) -> None:
        """Wait for every pending write; raise the first that failed."""
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
        if self._errors:
            raise self._errors[0]

    def read(self, path: str) -> bytes | None:
        """A file this build may extend (search shards); None when absent or unknown."""
        if path not in self.old:
            return None
        try:
            return (self.root / path).read_bytes()
        except OSError:
            return None

    def sweep(self) -> None:
        """Delete what the previous build made and this one did not, and folders left empty."""
        self.close()
        dirs: set[Path] = set()
        for path in self.old.keys() - self.pages.keys():
            target = self.root / path
            try:
                target.unlink()
                self.removed += 1
            except FileNotFoundError:
                pass
            except OSError as e:
                raise PublishError(f"{target}: cannot remove: {e.strerror or e}") from e
            dirs.add(target.parent)
        # Deepest first, so a folder emptied by removing its last subfolder goes too.
        for d in sorted(dirs, key=lambda p: len(p.parts), reverse=True):
            while d != self.root and self.root in d.parents:
                try:
                    d.rmdir()
                except OSError:
                    break
                d = d.parent
