"""The archive in one SQLite file: one mixin per domain over one shared connection."""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

from .apppasswords import AppPasswordsMixin
from .archive import ArchiveMixin
from .backup import BackupMixin
from .base import BUSY_TIMEOUT, migrations
from .catalogue import CatalogueMixin
from .changes import ChangesMixin
from .clusters import ClustersMixin
from .fever import FeverMixin
from .guard import guard_driver_errors
from .health import HealthMixin
from .holds import HoldsMixin
from .insights import InsightsMixin
from .marks import MarksMixin
from .media import MediaMixin
from .oldest import OldestFirstMixin
from .pages import PagesMixin
from .reading import ReadingMixin
from .roles import RolesMixin
from .rules import RulesMixin, SkipRulesMixin
from .schedule import ScheduleMixin
from .users import UsersMixin

__all__ = ["BUSY_TIMEOUT", "SQLiteStore", "migrations"]


@guard_driver_errors  # every public method, inherited ones too: driver errors become StoreErrors
class SQLiteStore(
    ArchiveMixin,
    ChangesMixin,
    MarksMixin,
    ClustersMixin,
    HoldsMixin,
    HealthMixin,
    CatalogueMixin,
    ScheduleMixin,
    BackupMixin,
    UsersMixin,
    ReadingMixin,
    AppPasswordsMixin,
    OldestFirstMixin,
    PagesMixin,
    RulesMixin,
    RolesMixin,
    FeverMixin,
    InsightsMixin,
    SkipRulesMixin,
    MediaMixin,
):
    """The archive in one SQLite file. One instance per process; not shared across threads."""

    def close(self) -> None:
        self._db.close()

    def reopen(self) -> SQLiteStore:
        return SQLiteStore(self.path, busy_timeout=self.busy_timeout)

    def __reduce__(self) -> tuple[Any, tuple[Path]]:
        # Pickled (to a worker process, procs.pool's initargs): arrives as `reopen` would make
        # it, a connection of the receiving process's own; a connection is never shared.
        return (partial(SQLiteStore, busy_timeout=self.busy_timeout), (self.path,))
