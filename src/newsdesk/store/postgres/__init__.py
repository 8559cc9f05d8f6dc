"""The archive in a PostgreSQL database, for desks that outgrow one SQLite file and one process.

Many processes (and threads) may open the same database at once: each `PostgresStore` holds a
pool of connections (`?pool_min=1&pool_max=8` in the URL). The domain modules are SQLite's
(`store/sqlite/`), their SQL run through `connection.translate`; the modules here hold what
PostgreSQL does differently: users (key generation, lock waits), health checks, counts and
backups. Migrations are this package's own (`migrations/`, see `base.migrate`).
"""

from __future__ import annotations

from functools import partial
from typing import Any

from ..common import mask_url
from ..sqlite.apppasswords import AppPasswordsMixin
from ..sqlite.catalogue import CatalogueMixin
from ..sqlite.changes import ChangesMixin
from ..sqlite.clusters import ClustersMixin
from ..sqlite.fever import FeverMixin
from ..sqlite.holds import HoldsMixin
from ..sqlite.marks import MarksMixin
from ..sqlite.media import MediaMixin
from ..sqlite.oldest import OldestFirstMixin
from ..sqlite.pages import PagesMixin
from ..sqlite.reading import ReadingMixin
from ..sqlite.roles import RolesMixin
from ..sqlite.rules import RulesMixin, SkipRulesMixin
from ..sqlite.schedule import ScheduleMixin
from .archive import PgArchiveMixin
from .backup import PgBackupMixin
from .base import LOCK_WAIT, PostgresBase, migrations
from .errors import guard_driver_errors
from .health import PgHealthMixin
from .insights import PgInsightsMixin
from .leases import DueMixin, LeasesMixin
from .search import PgSearchMixin
from .synthetic import SyntheticMixin
from .users import PgUsersMixin

__all__ = ["LOCK_WAIT", "PostgresStore", "mask_url", "migrations"]


@guard_driver_errors  # every public method, inherited ones too: driver errors become StoreErrors
class PostgresStore(
    PostgresBase,
    PgUsersMixin,
    PgHealthMixin,
    PgBackupMixin,
    PgSearchMixin,
    PgArchiveMixin,
    ChangesMixin,
    MarksMixin,
    ClustersMixin,
    HoldsMixin,
    CatalogueMixin,
    DueMixin,  # before ScheduleMixin: its due_feeds and next_check_time win
    ScheduleMixin,
    ReadingMixin,
    AppPasswordsMixin,
    OldestFirstMixin,
    PagesMixin,
    RulesMixin,
    RolesMixin,
    FeverMixin,
    PgInsightsMixin,
    LeasesMixin,
    SyntheticMixin,
    SkipRulesMixin,
    MediaMixin,
):
    """The archive in a PostgreSQL database. Thread-safe; one instance per process."""

    def close(self) -> None:
        self._close_leads()
        self._pg.close()

    def reopen(self) -> PostgresStore:
        return PostgresStore(self.url, lock_wait=self.busy_timeout)

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        # Pickled to a worker process: arrives with a pool of the receiving process's own.
        return (partial(PostgresStore, lock_wait=self.busy_timeout), (self.url,))
