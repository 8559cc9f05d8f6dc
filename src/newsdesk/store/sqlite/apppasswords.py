"""App passwords of reader apps (Google Reader API clients), kept as SHA-256 hashes of the
password and of the Auth token derived from it (`newsdesk.accounts`)."""

from __future__ import annotations

from datetime import datetime

from ...models import User
from ..common import format_time
from .base import SQLiteBase, utc

_USER = "SELECT u.id, u.name, u.admin, u.created FROM app_passwords p JOIN users u ON u.id=p.user_id"


class AppPasswordsMixin(SQLiteBase):
    def add_app_password(
        self, user_id: int, password_hash: str, auth_hash: str, *, label: str, now: datetime
    ) -> None:
        with self._tx():
            self._db.execute(
                "INSERT INTO app_passwords (password_hash, auth_hash, user_id, label, created)"
                " VALUES (?,?,?,?,?)",
                (password_hash, auth_hash, user_id, label, format_time(now)),
            )

    def user_for_app_password(self, name: str, password_hash: str) -> User | None:
        row = self._db.execute(
            f"{_USER} WHERE p.password_hash=? AND u.name=?", (password_hash, name)
        ).fetchone()
        return None if row is None else User(id=row[0], name=row[1], admin=bool(row[2]), created=utc(row[3]))

    def user_for_app_auth(self, auth_hash: str) -> User | None:
        row = self._db.execute(f"{_USER} WHERE p.auth_hash=?", (auth_hash,)).fetchone()
        return None if row is None else User(id=row[0], name=row[1], admin=bool(row[2]), created=utc(row[3]))

    def remove_app_passwords(self, user_id: int) -> int:
        with self._tx():
            return self._db.execute("DELETE FROM app_passwords WHERE user_id=?", (user_id,)).rowcount
