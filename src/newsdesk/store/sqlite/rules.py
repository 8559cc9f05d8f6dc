"""Each reader's keyword rules and the rev up to which they were applied."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ...models import KeywordRule, RuleAction, SkipRule
from ..common import format_time
from .base import SQLiteBase, utc

_RULE = "SELECT id, user_id, pattern, is_regex, matching, action, feed_key, created FROM keyword_rules"


class RulesMixin(SQLiteBase):
    def add_rule(
        self,
        user_id: int,
        pattern: str,
        *,
        is_regex: bool,
        matching: bool,
        action: RuleAction,
        feed_key: str | None,
        now: datetime,
    ) -> KeywordRule:
        stamp = format_time(now)
        with self._tx():
            cur = self._db.execute(
                "INSERT INTO keyword_rules (user_id, pattern, is_regex, matching, action, feed_key, created)"
                " VALUES (?,?,?,?,?,?,?)",
                (user_id, pattern, int(is_regex), int(matching), action, feed_key, stamp),
            )
            self._db.execute(
                "INSERT INTO keyword_rule_marks (user_id, rev) VALUES (?,?) ON CONFLICT (user_id) DO NOTHING",
                (user_id, self._max_rev()),
            )
        row = self._db.execute(f"{_RULE} WHERE id=?", (cur.lastrowid,)).fetchone()
        return _rule(row)

    def rules_of(self, user_id: int) -> list[KeywordRule]:
        return [_rule(r) for r in self._db.execute(f"{_RULE} WHERE user_id=? ORDER BY id", (user_id,))]

    def remove_rule(self, user_id: int, rule_id: int) -> bool:
        with self._tx():
            cur = self._db.execute("DELETE FROM keyword_rules WHERE id=? AND user_id=?", (rule_id, user_id))
        return cur.rowcount > 0

    def rules_mark(self, user_id: int) -> int | None:
        row = self._db.execute("SELECT rev FROM keyword_rule_marks WHERE user_id=?", (user_id,)).fetchone()
        return None if row is None else int(row[0])

    def set_rules_mark(self, user_id: int, rev: int) -> None:
        with self._tx():
            self._db.execute(
                "INSERT INTO keyword_rule_marks (user_id, rev) VALUES (?,?)"
                " ON CONFLICT (user_id) DO UPDATE SET rev=excluded.rev",
                (user_id, rev),
            )


def _rule(row: Any) -> KeywordRule:
    return KeywordRule(
        id=row[0],
        user_id=row[1],
        pattern=row[2],
        is_regex=bool(row[3]),
        matching=bool(row[4]),
        action=row[5],
        feed_key=row[6],
        created=utc(row[7]),
    )


_SKIP = "SELECT id, pattern, is_regex, matching, feed_key, created, created_by FROM skip_rules"


class SkipRulesMixin(SQLiteBase):
    """Admins' skip rules, and which readers have rules to apply."""

    def rule_readers(self) -> list[int]:
        return [
            int(u) for (u,) in self._db.execute("SELECT user_id FROM keyword_rule_marks ORDER BY user_id")
        ]

    def add_skip_rule(
        self, pattern: str, *, is_regex: bool, matching: bool, feed_key: str | None, by: str, now: datetime
    ) -> SkipRule:
        with self._tx():
            cur = self._db.execute(
                "INSERT INTO skip_rules (pattern, is_regex, matching, feed_key, created, created_by)"
                " VALUES (?,?,?,?,?,?)",
                (pattern, int(is_regex), int(matching), feed_key, format_time(now), by),
            )
        row = self._db.execute(f"{_SKIP} WHERE id=?", (cur.lastrowid,)).fetchone()
        return _skip(row)

    def skip_rules(self) -> list[SkipRule]:
        return [_skip(r) for r in self._db.execute(f"{_SKIP} ORDER BY id")]

    def remove_skip_rule(self, rule_id: int) -> bool:
        with self._tx():
            cur = self._db.execute("DELETE FROM skip_rules WHERE id=?", (rule_id,))
        return cur.rowcount > 0


def _skip(row: Any) -> SkipRule:
    return SkipRule(
        id=row[0],
        pattern=row[1],
        is_regex=bool(row[2]),
        matching=bool(row[3]),
        feed_key=row[4],
        created=utc(row[5]),
        created_by=row[6],
    )
