"""App passwords of reader apps (Google Reader API clients), kept as SHA-256 hashes of the
password and of the Auth token derived from it (`newsdesk.accounts`); and the labels a reader
puts on single items through those apps."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

from ...models import AppPassword, User
from ..common import format_time
from .base import SQLiteBase, chunks, utc

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

    def app_passwords(self, user_id: int) -> list[AppPassword]:
        rows = self._db.execute(
            "SELECT substr(password_hash, 1, 8), label, created, last_used FROM app_passwords"
            " WHERE user_id=? ORDER BY created, password_hash",
            (user_id,),
        ).fetchall()
        return [
            AppPassword(i, label, utc(made), utc(used) if used else None) for i, label, made, used in rows
        ]

    def remove_app_password(self, user_id: int, password_id: str) -> bool:
        with self._tx():
            gone = self._db.execute(
                "DELETE FROM app_passwords WHERE user_id=? AND substr(password_hash, 1, 8)=?",
                (user_id, password_id.lower()),
            ).rowcount
        return bool(gone)

    def app_password_used(
        self, now: datetime, *, password_hash: str = "", auth_hash: str = "", fever_key_hash: str = ""
    ) -> None:
        with self._tx():
            self._db.execute(
                "UPDATE app_passwords SET last_used=? WHERE password_hash=? OR auth_hash=?"
                " OR password_hash IN (SELECT password_hash FROM fever_keys WHERE key_hash=?)",
                (format_time(now), password_hash, auth_hash, fever_key_hash),
            )

    # a reader's labels on single items --------------------------------------------------------
    def label_entries(
        self, user_id: int, uids: Sequence[str], label: str, now: datetime, *, add: bool
    ) -> int:
        found = 0
        with self._tx():
            for chunk in chunks(list(dict.fromkeys(uids))):
                params = {
                    "user": user_id,
                    "label": label,
                    "uids": json.dumps(list(chunk)),
                    "now": format_time(now),
                }
                found += self._db.execute(
                    "SELECT COUNT(*) FROM entries WHERE uid IN (SELECT value FROM json_each(:uids))", params
                ).fetchone()[0]
                if add:
                    self._db.execute(
                        "INSERT INTO entry_labels (user_id, label, uid, added)"
                        " SELECT :user, :label, e.uid, :now FROM entries e"
                        " WHERE e.uid IN (SELECT value FROM json_each(:uids))"
                        " ON CONFLICT (user_id, label, uid) DO NOTHING",
                        params,
                    )
                else:
                    self._db.execute(
                        "DELETE FROM entry_labels WHERE user_id=:user AND label=:label"
                        " AND uid IN (SELECT value FROM json_each(:uids))",
                        params,
                    )
        return int(found)

    def entry_labels(self, user_id: int, uids: Sequence[str]) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for chunk in chunks(list(uids)):
            rows = self._db.execute(
                "SELECT uid, label FROM entry_labels WHERE user_id=:user"
                " AND uid IN (SELECT value FROM json_each(:uids)) ORDER BY uid, label",
                {"user": user_id, "uids": json.dumps(list(chunk))},
            )
            for uid, label in rows:
                out.setdefault(uid, []).append(label)
        return out

    def labelled_uids(self, user_id: int, label: str) -> list[str]:
        rows = self._db.execute(
            "SELECT uid FROM entry_labels WHERE user_id=? AND label=? ORDER BY uid", (user_id, label)
        )
        return [uid for (uid,) in rows]

    def item_labels(self, user_id: int) -> list[str]:
        rows = self._db.execute(
            "SELECT DISTINCT label FROM entry_labels WHERE user_id=? ORDER BY label", (user_id,)
        )
        return [label for (label,) in rows]

    def rename_item_label(self, user_id: int, old: str, new: str) -> int:
        with self._tx():
            count = self._db.execute(
                "SELECT COUNT(*) FROM entry_labels WHERE user_id=? AND label=?", (user_id, old)
            ).fetchone()[0]
            if old != new:
                self._db.execute(
                    "INSERT INTO entry_labels (user_id, label, uid, added)"
                    " SELECT user_id, ?, uid, added FROM entry_labels WHERE user_id=? AND label=?"
                    " ON CONFLICT (user_id, label, uid) DO NOTHING",
                    (new, user_id, old),
                )
                self._db.execute("DELETE FROM entry_labels WHERE user_id=? AND label=?", (user_id, old))
        return int(count)

    def remove_item_label(self, user_id: int, label: str) -> int:
        with self._tx():
            return int(
                self._db.execute(
                    "DELETE FROM entry_labels WHERE user_id=? AND label=?", (user_id, label)
                ).rowcount
            )
