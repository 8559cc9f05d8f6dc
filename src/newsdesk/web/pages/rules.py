"""Keyword rules: each reader's words or regular expressions over an entry's title and text,
marking what matches (or what does not) read or starred for that reader.

Rules judge each entry once, as it arrives: a reader's rules are applied to the archive's
changes since their mark (the store's rev) whenever they open a list, before it is read, so a
list never shows what a rule had to hide. A regular expression runs with the `regex` module's
timeout: a pattern that backtracks without end gives up on that entry (no match, logged) instead
of hanging the desk, and after three such entries sits out the rest of the run. Words match
Traditional and Simplified alike (the search's normalisation).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

import regex
from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from ...errors import NewsdeskError
from ...models import EntryText, KeywordRule, User
from ...search.normalise import normalise
from ...store import Store
from ..auth import desk_of
from .guard import base_of, page_user, to_login
from .render import page, posted

log = logging.getLogger(__name__)

MAX_PATTERN = 500
REGEX_SECONDS = 0.05  # per rule and entry (the module checks it every so often: a little more)
MAX_TIMEOUTS = 3  # a rule that ran out of time this often in one run is skipped for the rest of it
TEXT_CHARS = 20_000  # of an entry's text a rule reads
BATCH = 500
BUDGET = 4  # batches a page's request may apply before showing the list (the rest: next time)


class RuleError(NewsdeskError):
    """A rule that cannot be kept: an empty or overlong pattern, a regular expression that
    does not compile."""


@dataclass
class Compiled:
    rule: KeywordRule
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
                log.warning("event=rule rule=%d user=%d outcome=timeout", self.rule.id, self.rule.user_id)
                return False
        haystack = normalise(f"{title}\n{text}")
        return all(w in haystack for w in self.words)


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


def compile_rule(rule: KeywordRule) -> Compiled:
    if rule.is_regex:
        return Compiled(rule, pattern=regex.compile(rule.pattern, regex.IGNORECASE | regex.V1))
    return Compiled(rule, words=tuple(normalise(w) for w in rule.pattern.split()))


def judge(rules: list[Compiled], entry: EntryText) -> tuple[bool, bool]:
    """(mark read, star) for one entry under the reader's rules."""
    read = star = False
    text = (entry.cleaned or entry.html)[:TEXT_CHARS]
    for c in rules:
        if c.rule.feed_key is not None and c.rule.feed_key != entry.feed_key:
            continue
        if c.matches(entry.title, text) == c.rule.matching:
            if c.rule.action == "read":
                read = True
            else:
                star = True
    return read, star


def apply_rules(store: Store, user_id: int, now: datetime) -> int:
    """Apply the reader's rules to what changed since their mark (at most BUDGET batches);
    how many entries they marked."""
    mark = store.rules_mark(user_id)
    if mark is None:  # no rule was ever made
        return 0
    rules = [compile_rule(r) for r in store.rules_of(user_id)]
    marked = 0
    for _ in range(BUDGET):
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


def router() -> APIRouter:
    pages = APIRouter(include_in_schema=False)

    async def rules_page(request: Request, user: User, status: int = 200, error: str = "") -> Response:
        desk = desk_of(request)

        def work() -> tuple[list[KeywordRule], list[str]]:
            store = desk.store()
            return store.rules_of(user.id), [p.key for p in store.feed_places(user.id)]

        rules, feeds = await desk.run(work)
        return page(request, "rules.html", user, status=status, rules=rules, feeds=feeds, error=error)

    @pages.get("/rules")
    async def rules(request: Request) -> Response:
        user = await page_user(request)
        if user is None:
            return to_login(request)
        return await rules_page(request, user)

    @pages.post("/rules/add")
    async def add(request: Request) -> Response:
        sent = await posted(request)
        if isinstance(sent, Response):
            return sent
        user, form = sent
        is_regex = form.get("kind") == "regex"
        action = form.get("action")
        if action not in ("read", "star"):
            return await rules_page(request, user, 422, "没有这个操作")
        try:
            pattern = check_pattern(form.get("pattern", ""), is_regex)
        except RuleError as e:
            return await rules_page(request, user, 422, str(e))
        desk = desk_of(request)
        feed = form.get("feed") or None

        def work() -> None:
            desk.store().add_rule(
                user.id,
                pattern,
                is_regex=is_regex,
                matching=form.get("when") != "not_matching",
                action="read" if action == "read" else "star",
                feed_key=feed,
                now=desk.clock(),
            )

        await desk.run(work)
        return RedirectResponse(f"{base_of(request)}/rules", status_code=303)

    @pages.post("/rules/remove")
    async def remove(request: Request) -> Response:
        sent = await posted(request)
        if isinstance(sent, Response):
            return sent
        user, form = sent
        desk = desk_of(request)
        try:
            rule_id = int(form.get("id", ""))
        except ValueError:
            return await rules_page(request, user, 422, "没有这条规则")
        if not await desk.run(lambda: desk.store().remove_rule(user.id, rule_id)):
            return await rules_page(request, user, 404, "没有这条规则")
        return RedirectResponse(f"{base_of(request)}/rules", status_code=303)

    return pages
