"""Keyword rules: words or regular expressions over an entry's title and text.

Two kinds, one engine:

* a reader's rules mark what matches (or what does not) read or starred for that reader. Each
  entry is judged once, as it arrives: `apply_all_rules` runs every reader's rules over the
  archive's changes since their mark (the store's rev) after each ingest batch (the scheduler,
  `newsdesk run`), and `apply_rules` catches one reader up when they open a list, in case a
  batch's run was cut short;
* an admin's skip rules, for everyone: an entry they match (or, `matching` False, one they do
  not) is not stored at all (`skip_entries`, called by the pipeline before the store write and
  counted in the run report as skipped by rule).

A regular expression runs with the `regex` module's timeout: a pattern that backtracks without
end gives up on that entry (no match, logged) instead of hanging the desk, and after
`MAX_TIMEOUTS` such entries sits out the rest of the run. Words match Traditional and
Simplified alike (the search's normalisation); all of a rule's words must appear.
"""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import regex

from .errors import NewsdeskError
from .models import EntryText, KeywordRule, ParsedEntry, SkipRule
from .search.normalise import normalise
from .store import Store

__all__ = [
    "MAX_TIMEOUTS",
    "REGEX_SECONDS",
    "RuleError",
    "apply_all_rules",
    "apply_rules",
    "check_pattern",
    "compile_rule",
    "judge",
    "skip_entries",
]

log = logging.getLogger(__name__)

MAX_PATTERN = 500
REGEX_SECONDS = 0.05  # per rule and entry (the module checks it every so often: a little more)
MAX_TIMEOUTS = 3  # a rule that ran out of time this often in one run is skipped for the rest of it
TEXT_CHARS = 20_000  # of an entry's text a rule reads
BATCH = 500
BUDGET = 4  # batches a page's request may apply before showing the list (the rest: next time)
_TAG = re.compile(r"<[^>]*>")


class RuleError(NewsdeskError):
    """A rule that cannot be kept: an empty or overlong pattern, a regular expression that
    does not compile."""


@dataclass
class Compiled:
    rule: KeywordRule | SkipRule
    words: tuple[str, ...] = ()
    pattern: regex.Pattern[str] | None = None
    timeouts: int = 0  # in this run: after MAX_TIMEOUTS the rule sits the run out

    def matches(self, title: str, text: str) -> bool:
        if self.pattern is not None:
            if self.timeouts >= MAX_TIMEOUTS:
                return False
            try:
                return self.pattern.search(f"{title}\n{text}", timeout=REGEX_SECONDS) is not None
            except TimeoutError:
                self.timeouts += 1
                who = f"user={self.rule.user_id}" if isinstance(self.rule, KeywordRule) else "skip=1"
                log.warning("event=rule rule=%d %s outcome=timeout", self.rule.id, who)
                return False
        haystack = normalise(f"{title}\n{text}")
        return all(w in haystack for w in self.words)

    def applies(self, feed_key: str, title: str, text: str) -> bool:
        """Whether the rule acts on this entry: its feed, and matching as the rule wants."""
        if self.rule.feed_key is not None and self.rule.feed_key != feed_key:
            return False
        return self.matches(title, text) == self.rule.matching


def check_pattern(pattern: str, is_regex: bool) -> str:
    """The pattern to keep, or `RuleError` saying what is wrong with it."""
    pattern = pattern.strip()
    if not pattern:
        raise RuleError("the pattern is empty")
    if len(pattern) > MAX_PATTERN:
        raise RuleError(f"the pattern is longer than {MAX_PATTERN} characters")
    if is_regex:
        try:
            regex.compile(pattern, regex.IGNORECASE | regex.V1)
        except regex.error as e:
            raise RuleError(f"regular expression {pattern!r}: {e}") from e
    return pattern


def compile_rule(rule: KeywordRule | SkipRule) -> Compiled:
    if rule.is_regex:
        return Compiled(rule, pattern=regex.compile(rule.pattern, regex.IGNORECASE | regex.V1))
    return Compiled(rule, words=tuple(normalise(w) for w in rule.pattern.split()))


def judge(rules: list[Compiled], entry: EntryText) -> tuple[bool, bool]:
    """(mark read, star) for one entry under the reader's rules."""
    read = star = False
    text = (entry.cleaned or entry.html)[:TEXT_CHARS]
    for c in rules:
        if c.applies(entry.feed_key, entry.title, text):
            if isinstance(c.rule, KeywordRule) and c.rule.action == "star":
                star = True
            else:
                read = True
    return read, star


def apply_rules(store: Store, user_id: int, now: datetime, budget: int | None = BUDGET) -> int:
    """Apply the reader's rules to what changed since their mark (at most `budget` batches of
    `BATCH` changes; None: until caught up); how many entries they marked."""
    mark = store.rules_mark(user_id)
    if mark is None:  # no rule was ever made
        return 0
    rules = [compile_rule(r) for r in store.rules_of(user_id)]
    marked = 0
    done = 0
    while budget is None or done < budget:
        done += 1
        changes = store.changes_since(mark, limit=BATCH)
        if not changes:
            break
        if rules:
            uids = [uid for _, uid, removed in changes if not removed]
            to_read, to_star = [], []
            for entry in store.entry_texts(uids):
                read, star = judge(rules, entry)
                if read:
                    to_read.append(entry.uid)
                if star:
                    to_star.append(entry.uid)
            if to_read:
                marked += store.set_entry_state(user_id, to_read, read=True, now=now)
            if to_star:
                marked += store.set_entry_state(user_id, to_star, starred=True, now=now)
        mark = changes[-1][0]
        store.set_rules_mark(user_id, mark)
    return marked


def apply_all_rules(store: Store, now: datetime) -> int:
    """Every reader's rules over what arrived since their mark (after an ingest batch), so
    readers of the API and reader apps see them applied too; how many entries they marked.
    A reader whose rules fail (the archive said no) is logged and left for the next batch."""
    marked = 0
    for user_id in store.rule_readers():
        try:
            marked += apply_rules(store, user_id, now, budget=None)
        except NewsdeskError as e:
            log.warning("event=rule user=%d outcome=failed error=%s", user_id, e)
    return marked


def _text_of(entry: ParsedEntry) -> str:
    # The feed's HTML as text: tags out, entities read (cleaning has not run yet).
    return html.unescape(_TAG.sub(" ", entry.content or entry.summary))[:TEXT_CHARS]


def skip_entries(
    store: Store, feed_key: str, entries: Sequence[ParsedEntry]
) -> tuple[list[ParsedEntry], int]:
    """The entries the admins' skip rules let through, and how many they skipped."""
    rules = [compile_rule(r) for r in store.skip_rules() if r.feed_key in (None, feed_key)]
    if not rules:
        return list(entries), 0
    kept = [e for e in entries if not any(c.applies(feed_key, e.title, _text_of(e)) for c in rules)]
    return kept, len(entries) - len(kept)
