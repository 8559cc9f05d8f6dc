"""People, tokens and sessions: SQLite's module, but for what the drivers say differently."""

from __future__ import annotations

from datetime import datetime

from psycopg import errors as pgerrors

from ...errors import StoreLockedError, UserExistsError
from ...models import User
from ..common import format_time
from ..sqlite.base import utc
from ..sqlite.users import UsersMixin, _stamp


class PgUsersMixin(UsersMixin):
    def add_user(self, name: str, password_hash: str, *, admin: bool, now: datetime) -> User:
        stamp = _stamp(now)
        with self._tx():
            try:
                row = self._db.execute(
                    "INSERT INTO users (name, password_hash, admin, created) VALUES (?,?,?,?) RETURNING id",
                    (name, password_hash, int(admin), stamp),
                ).fetchone()
            except pgerrors.UniqueViolation as e:  # the one constraint a valid insert can break
                raise UserExistsError(f"a user named {name!r} already exists") from e
        assert row is not None
        return User(id=int(row[0]), name=name, admin=admin, created=utc(stamp))

    def _note_token_use(self, token_hash: str, now: datetime) -> None:
        """Note the token's use unless another connection is writing that token's row right now:
        a reader is never kept waiting for this (a later request notes it)."""
        try:
            with self._tx():
                self._db.execute("SET LOCAL lock_timeout = 1")
                self._db.execute(
                    "UPDATE api_tokens SET last_used=? WHERE token_hash=?", (format_time(now), token_hash)
                )
        except StoreLockedError:
            pass
