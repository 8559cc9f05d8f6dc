"""What admins change about users beyond users.py: their role."""

from __future__ import annotations

from .base import SQLiteBase


class RolesMixin(SQLiteBase):
    def set_admin(self, name: str, admin: bool) -> bool:
        with self._tx():
            cur = self._db.execute("UPDATE users SET admin=? WHERE name=?", (int(admin), name))
        return cur.rowcount > 0
