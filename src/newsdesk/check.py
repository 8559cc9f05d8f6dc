"""`newsdesk check`: does the archive hold together, and do the index and outputs agree with it?

Each check gives one `CheckResult` (ok, or what is wrong and what to do about it):

* database: SQLite's full `integrity_check` (every page, every index against its table);
* foreign keys: rows referring to rows that do not exist;
* search index: it opens (tantivy checks every segment file's footer), its sidecar is not ahead
  of the archive, and once caught up it holds one document per entry;
* publish marks: no mark of an entry the archive no longer holds; for Hexo, a post file in the
  marked folder for every mark;
* site: the static site's manifest (when one exists) reads, is not ahead of the archive, and
  every page it lists is on disk.

Reading only: nothing here changes the archive, the index or the outputs.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .config import Config
from .errors import NewsdeskError, StoreCorruptError
from .store import Store, open_store
from .store.common import is_postgres_url
from .store.sqlite.guard import recover_hint


@dataclass(frozen=True)
class CheckResult:
    check: str
    ok: bool
    detail: str


def run_checks(config: Config) -> list[CheckResult]:
    """Every check of `config`'s archive and outputs, in order."""
    db_path = Path(config.database_url.removeprefix("sqlite:///"))
    if "://" not in config.database_url and not db_path.exists():  # not made here: checking changes nothing
        return [CheckResult("database", False, f"{db_path}: no archive yet (`newsdesk run` makes one)")]
    try:
        store = open_store(config.database_url)
    except NewsdeskError as e:
        return [CheckResult("database", False, str(e))]
    postgres = is_postgres_url(config.database_url)
    try:
        results = [
            _guarded("database", lambda: _database(store, db_path, postgres=postgres)),
            _guarded("foreign keys", lambda: _foreign_keys(store)),
        ]
        if config.search_index:
            results.append(_guarded("search index", lambda: _search_index(config, store)))
        results += _marks(config, store)
        for name in ("manifest.json", "feeds-manifest.json"):
            manifest = config.path(config.site_dir) / ".newsdesk" / name
            if manifest.exists():
                results.append(_guarded(f"site {manifest}", functools.partial(_manifest, store, manifest)))
        return results
    finally:
        store.close()


@contextlib.contextmanager
def verifying(store: Store) -> Iterator[None]:
    """Run the archive's quick structural check beside the block (in another process), and fail
    (StoreCorruptError) when it finds damage, even if the block read nothing damaged: an
    incremental build reads only what changed, and would otherwise report success over a
    damaged archive."""
    probe = store.start_quick_check()
    try:
        yield
    except BaseException:
        probe.cancel()
        raise
    damage = probe.damage()
    if damage is not None:
        raise damage


def _guarded(name: str, check: Callable[[], tuple[bool, str]]) -> CheckResult:
    try:
        ok, detail = check()
    except StoreCorruptError:  # what to do is said once, by the database check
        return CheckResult(name, False, "cannot be checked: the archive is damaged (see database)")
    except NewsdeskError as e:  # the archive or the index could not even be read
        return CheckResult(name, False, str(e))
    return CheckResult(name, ok, detail)


def _database(store: Store, path: Path, *, postgres: bool = False) -> tuple[bool, str]:
    problems = store.integrity_problems()
    if not problems:
        return True, "integrity_check found nothing wrong"
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    if postgres:
        return False, (
            f"inconsistent: {problems[0]}{more}; the archive was changed outside newsdesk: restore a"
            " backup (pg_dump, or `newsdesk migrate --to postgresql://…` from a backup file)"
        )
    return False, (
        f"damaged: {problems[0]}{more}; recover what it holds with `{recover_hint(path)}`"
        " and set `database:` to fixed.db, or restore a backup"
    )


def _foreign_keys(store: Store) -> tuple[bool, str]:
    problems = store.foreign_key_problems()
    if not problems:
        return True, "every reference holds"
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    return False, f"{problems[0]}{more}: the archive was changed outside newsdesk; restore a backup"


def _search_index(config: Config, store: Store) -> tuple[bool, str]:
    from .search import SIDECAR, index_path
    from .search.index import inspect_index

    path = index_path(config)
    head = store.max_rev()
    entries = store.count_entries()
    if not path.exists():
        if entries == 0:
            return True, "no index yet (the archive is empty)"
        return False, f"{path} is missing: `newsdesk reindex` builds it (the next `run` does too)"
    try:
        rev = json.loads((path / SIDECAR).read_text(encoding="utf-8"))["rev"]
        if not isinstance(rev, int):
            raise TypeError(rev)
    except (OSError, ValueError, KeyError, TypeError):
        return False, f"{path / SIDECAR} is missing or unreadable: `newsdesk reindex` rebuilds the index"
    if rev > head:
        return False, (
            f"ahead of the archive (rev {rev} > {head}): it belongs to another or a restored archive;"
            " `newsdesk reindex` rebuilds it (the next `run` does too)"
        )
    docs = inspect_index(path)
    if rev < head:
        return True, f"{docs} documents; {head - rev} changes not indexed yet (the next `run` or `search`)"
    if docs != entries:
        return False, f"{docs} documents for {entries} entries: `newsdesk reindex` rebuilds it"
    return True, f"{docs} documents, one per entry, up to date"


def _marks(config: Config, store: Store) -> list[CheckResult]:
    try:
        summary = store.mark_summary()
    except NewsdeskError as e:
        return [CheckResult("publish marks", False, str(e))]
    hexo_dir = config.path(config.hexo_dir).resolve()
    results = []
    for publisher, (marks, gone) in summary.items():
        name = f"marks {publisher}"
        problems = []
        if gone:
            problems.append(
                f"{gone} of {marks} marks are of entries no longer in the archive (a restored or"
                " replaced archive?)"
            )
        if publisher.startswith("hexo:"):
            folder = Path(publisher.removeprefix("hexo:"))
            missing = _missing_posts(store, publisher, folder)
            if missing is None and folder != hexo_dir:
                results.append(CheckResult(name, not problems, "; ".join(problems) or "folder gone (unused)"))
                continue
            if missing is None:
                problems.append(f"{folder} is missing: `newsdesk publish hexo` writes every post again")
            elif missing:
                problems.append(
                    f"{missing} of {marks} posts are missing from {folder}: `newsdesk publish hexo"
                    f" --out {folder}` writes them again"
                )
        results.append(CheckResult(name, not problems, "; ".join(problems) or f"{marks} marks hold"))
    return results


def _missing_posts(store: Store, publisher: str, folder: Path) -> int | None:
    """Marked entries without their post in `folder`; None when the folder is gone."""
    try:
        present = set(os.listdir(folder))
    except OSError:
        return None
    return sum(1 for uid in store.publish_marks(publisher) if f"{uid}.md" not in present)


def _manifest(store: Store, path: Path) -> tuple[bool, str]:
    rebuild = "the next `newsdesk build` rebuilds the site in full"
    try:
        data: Any = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return False, f"unreadable: {rebuild}"
    if not isinstance(data, dict) or not isinstance(data.get("pages"), dict):
        return False, f"not a manifest newsdesk wrote: {rebuild}"
    head = store.max_rev()
    rev = data.get("rev")
    if isinstance(rev, int) and rev > head:
        return False, f"built from another or a restored archive (rev {rev} > {head}): {rebuild}"
    root = path.parent.parent
    pages: dict[str, Any] = data["pages"]
    missing = sum(1 for p in pages if not (root / p).is_file())
    if missing:
        return False, (
            f"{missing} of {len(pages)} pages it lists are missing from {root}: the next"
            " `newsdesk build` writes them again"
        )
    return True, f"{len(pages)} pages present"
