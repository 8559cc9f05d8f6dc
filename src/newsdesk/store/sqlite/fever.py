"""The Fever API's integer ids (items numbered in arrival order by a trigger, feeds and
groups numbered when first listed), its keys (HMACs of api_keys, beside their app
passwords), and the nonces of private view feeds' tokens."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Literal

from ...models import User
from ..common import format_time
from .base import SQLiteBase, utc

# SQLite's default limit of host parameters a statement may hold is far above this.
_CHUNK = 500


class FeverMixin(SQLiteBase):
    def add_fever_key(self, password_hash: str, key_hash: str) -> None:
        with self._tx():
            self._db.execute(
                "INSERT OR REPLACE INTO fever_keys (key_hash, password_hash) VALUES (?,?)",
                (key_hash, password_hash),
            )

    def user_for_fever_key(self, key_hash: str) -> User | None:
        row = self._db.execute(
            "SELECT u.id, u.name, u.admin, u.created FROM fever_keys k"
            " JOIN app_passwords p ON p.password_hash=k.password_hash"
            " JOIN users u ON u.id=p.user_id WHERE k.key_hash=?",
            (key_hash,),
        ).fetchone()
        return None if row is None else User(id=row[0], name=row[1], admin=bool(row[2]), created=utc(row[3]))

    def fever_feed_ids(self, keys: Sequence[str]) -> dict[str, int]:
        return self._numbered("fever_feeds", "feed_key", keys)

    def fever_group_ids(self, names: Sequence[str]) -> dict[str, int]:
        return self._numbered("fever_groups", "name", names)

    def _numbered(self, table: str, column: str, names: Sequence[str]) -> dict[str, int]:
        # `table` and `column` are this module's constants, never input.
        found = dict(self._db.execute(f"SELECT {column}, id FROM {table}").fetchall())
        missing = [n for n in dict.fromkeys(names) if n not in found]
        if missing:
            with self._tx():
                self._db.executemany(
                    f"INSERT OR IGNORE INTO {table} ({column}) VALUES (?)", [(n,) for n in missing]
                )
            found = dict(self._db.execute(f"SELECT {column}, id FROM {table}").fetchall())
        return {n: found[n] for n in names}

    def fever_item_page(
        self,
        *,
        since_id: int | None = None,
        max_id: int | None = None,
        ids: Sequence[int] | None = None,
        limit: int = 50,
    ) -> list[tuple[int, str]]:
        if ids is not None:
            rows: list[tuple[int, str]] = []
            for start in range(0, len(ids), _CHUNK):
                chunk = list(ids[start : start + _CHUNK])
                marks = ",".join("?" * len(chunk))
                rows += self._db.execute(
                    f"SELECT id, uid FROM fever_items WHERE id IN ({marks}) ORDER BY id", chunk
                ).fetchall()
            return sorted(rows)[:limit]
        if since_id is not None:
            return self._db.execute(
                "SELECT id, uid FROM fever_items WHERE id>? ORDER BY id LIMIT ?", (since_id, limit)
            ).fetchall()
        if max_id is not None:
            return self._db.execute(
                "SELECT id, uid FROM fever_items WHERE id<? ORDER BY id DESC LIMIT ?", (max_id, limit)
            ).fetchall()
        return self._db.execute("SELECT id, uid FROM fever_items ORDER BY id LIMIT ?", (limit,)).fetchall()

    def fever_item_count(self) -> int:
        # The per-feed counts the triggers keep: a COUNT of the items would read 100,000 rows.
        return int(self._db.execute("SELECT COALESCE(SUM(entries), 0) FROM feed_counts").fetchone()[0])

    def fever_last_arrival(self) -> datetime | None:
        # The highest number is the newest arrival: one index step, not a scan of the entries.
        row = self._db.execute(
            "SELECT e.first_seen FROM fever_items f JOIN entries e ON e.uid=f.uid ORDER BY f.id DESC LIMIT 1"
        ).fetchone()
        return utc(row[0]) if row else None

    def fever_uids(self, ids: Sequence[int]) -> dict[int, str]:
        return dict(self.fever_item_page(ids=ids, limit=len(ids)))

    def fever_ids_of(self, uids: Sequence[str]) -> dict[str, int]:
        out: dict[str, int] = {}
        for start in range(0, len(uids), _CHUNK):
            chunk = list(uids[start : start + _CHUNK])
            marks = ",".join("?" * len(chunk))
            out.update(
                self._db.execute(f"SELECT uid, id FROM fever_items WHERE uid IN ({marks})", chunk).fetchall()
            )
        return out

    def fever_state_ids(self, user_id: int, which: Literal["unread", "saved"]) -> list[int]:
        if which == "saved":
            rows = self._db.execute(
                "SELECT f.id FROM entry_state s JOIN fever_items f ON f.uid=s.uid"
                " WHERE s.user_id=? AND s.starred=1 ORDER BY f.id",
                (user_id,),
            ).fetchall()
        else:
            rows = self._db.execute(
                "SELECT f.id FROM fever_items f WHERE f.uid NOT IN"
                " (SELECT uid FROM entry_state WHERE user_id=? AND read=1) ORDER BY f.id",
                (user_id,),
            ).fetchall()
        return [r[0] for r in rows]

    def feed_token_nonce(self, user_id: int) -> str | None:
        row = self._db.execute("SELECT nonce FROM feed_tokens WHERE user_id=?", (user_id,)).fetchone()
        return None if row is None else str(row[0])

    def set_feed_token_nonce(self, user_id: int, nonce: str | None, now: datetime) -> None:
        with self._tx():
            if nonce is None:
                self._db.execute("DELETE FROM feed_tokens WHERE user_id=?", (user_id,))
            else:
                self._db.execute(
                    "INSERT OR REPLACE INTO feed_tokens (user_id, nonce, created) VALUES (?,?,?)",
                    (user_id, nonce, format_time(now)),
                )
