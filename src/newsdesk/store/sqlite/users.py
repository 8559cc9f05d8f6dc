"""People, their API tokens and browser sessions (secrets arrive hashed: `newsdesk.accounts`)."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta
from typing import Any

from ...errors import StoreLockedError, UserExistsError
from ...models import User
from ..common import format_time
from .base import SQLiteBase, utc

# A token's last use is noted at most this often: every API request looks its token up, and a
# write per request would serialise readers behind the archive's one writer.
LAST_USED_PRECISION = timedelta(minutes=1)

_USER = "SELECT id, name, admin, created FROM users"


class UsersMixin(SQLiteBase):
    def add_user(self, name: str, password_hash: str, *, admin: bool, now: datetime) -> User:
        stamp = _stamp(now)
        with self._tx():
            try:
                cur = self._db.execute(
                    "INSERT INTO users (name, password_hash, admin, created) VALUES (?,?,?,?)",
                    (name, password_hash, int(admin), stamp),
                )
            except sqlite3.IntegrityError as e:  # the one constraint a valid insert can break
                raise UserExistsError(f"a user named {name!r} already exists") from e
        assert cur.lastrowid is not None
        return User(id=cur.lastrowid, name=name, admin=admin, created=utc(stamp))

    def get_user(self, name: str) -> User | None:
        return _user(self._db.execute(f"{_USER} WHERE name=?", (name,)).fetchone())

    def user_by_id(self, user_id: int) -> User | None:
        return _user(self._db.execute(f"{_USER} WHERE id=?", (user_id,)).fetchone())

    def list_users(self) -> list[User]:
        return [u for r in self._db.execute(f"{_USER} ORDER BY name") if (u := _user(r)) is not None]

    def password_hash(self, name: str) -> str | None:
        row = self._db.execute("SELECT password_hash FROM users WHERE name=?", (name,)).fetchone()
        return None if row is None else str(row[0])

    def set_password(self, name: str, password_hash: str) -> bool:
        with self._tx():
            cur = self._db.execute("UPDATE users SET password_hash=? WHERE name=?", (password_hash, name))
            if cur.rowcount == 0:
                return False
            # Whoever knew the old password may hold a session: a new password ends them all.
            self._db.execute(
                "DELETE FROM sessions WHERE user_id=(SELECT id FROM users WHERE name=?)", (name,)
            )
        return True

    def remove_user(self, name: str) -> bool:
        with self._tx():
            # Tokens, sessions and read state go with the user (ON DELETE CASCADE).
            return self._db.execute("DELETE FROM users WHERE name=?", (name,)).rowcount > 0

    def add_token(self, user_id: int, token_hash: str, *, label: str, now: datetime) -> None:
        with self._tx():
            self._db.execute(
                "INSERT INTO api_tokens (token_hash, user_id, label, created) VALUES (?,?,?,?)",
                (token_hash, user_id, label, format_time(now)),
            )

    def user_for_token(self, token_hash: str, now: datetime) -> User | None:
        row = self._db.execute(
            "SELECT u.id, u.name, u.admin, u.created, t.last_used FROM api_tokens t"
            " JOIN users u ON u.id=t.user_id WHERE t.token_hash=?",
            (token_hash,),
        ).fetchone()
        if row is None:
            return None
        if row[4] is None or utc(row[4]) <= now - LAST_USED_PRECISION:
            self._note_token_use(token_hash, now)
        return _user(row)

    def _note_token_use(self, token_hash: str, now: datetime) -> None:
        """Note the token's use unless another process is writing right now: a reader is never
        kept waiting for a fetch's transaction for this (a later request notes it)."""
        self._db.execute("PRAGMA busy_timeout=0")
        try:
            with self._tx():
                self._db.execute(
                    "UPDATE api_tokens SET last_used=? WHERE token_hash=?", (format_time(now), token_hash)
                )
        except StoreLockedError:
            pass
        finally:
            self._db.execute(f"PRAGMA busy_timeout={int(self.busy_timeout * 1000)}")

    def add_session(self, user_id: int, session_hash: str, *, expires: datetime, now: datetime) -> None:
        with self._tx():
            # Sessions that ran out are of no use to anyone: drop them as new ones come.
            self._db.execute("DELETE FROM sessions WHERE expires<=?", (format_time(now),))
            self._db.execute(
                "INSERT INTO sessions (session_hash, user_id, expires, created) VALUES (?,?,?,?)",
                (session_hash, user_id, format_time(expires), format_time(now)),
            )

    def user_for_session(self, session_hash: str, now: datetime) -> User | None:
        return _user(
            self._db.execute(
                "SELECT u.id, u.name, u.admin, u.created FROM sessions s JOIN users u ON u.id=s.user_id"
                " WHERE s.session_hash=? AND s.expires>?",
                (session_hash, format_time(now)),
            ).fetchone()
        )

    def remove_session(self, session_hash: str) -> None:
        with self._tx():
            self._db.execute("DELETE FROM sessions WHERE session_hash=?", (session_hash,))


def _stamp(now: datetime) -> str:
    stamp = format_time(now)
    assert stamp is not None
    return stamp


def _user(row: Any) -> User | None:
    if row is None:
        return None
    return User(id=row[0], name=row[1], admin=bool(row[2]), created=utc(row[3]))
