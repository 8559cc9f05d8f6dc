"""Keyword rules' pages: each reader's own rules (mark read or star), and the admins' skip
rules for everyone (entries not stored). The engine is `newsdesk.rules`; the scheduler and
`newsdesk run` apply every reader's rules after each ingest batch, and a reader's list catches
their rules up first (`apply_rules`) should a batch have left some behind."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from ...models import KeywordRule, RuleAction, SkipRule, User
from ...rules import RuleError, apply_rules, check_pattern
from ..auth import desk_of
from .guard import base_of, page_user, to_login
from .render import page, posted

__all__ = ["apply_rules", "router"]


def router() -> APIRouter:
    pages = APIRouter(include_in_schema=False)

    async def rules_page(request: Request, user: User, status: int = 200, error: str = "") -> Response:
        desk = desk_of(request)

        def work() -> tuple[list[KeywordRule], list[str], list[SkipRule]]:
            store = desk.store()
            skips = store.skip_rules() if user.admin else []
            return store.rules_of(user.id), [p.key for p in store.feed_places(user.id)], skips

        rules, feeds, skips = await desk.run(work)
        return page(
            request, "rules.html", user, status=status, rules=rules, feeds=feeds, skips=skips, error=error
        )

    @pages.get("/rules")
    async def rules(request: Request) -> Response:
        user = await page_user(request)
        if user is None:
            return to_login(request)
        return await rules_page(request, user)

    async def adding(request: Request, skip: bool) -> Response:
        """A new rule from the form: the reader's own, or (`skip`, admins only) a skip rule."""
        sent = await posted(request)
        if isinstance(sent, Response):
            return sent
        user, form = sent
        if skip and not user.admin:
            return page(request, "message.html", user, status=403, message_key="只有管理员可以这样做")
        is_regex = form.get("kind") == "regex"
        action = form.get("action")
        if not skip and action not in ("read", "star"):
            return await rules_page(request, user, 422, "没有这个操作")
        try:
            pattern = check_pattern(form.get("pattern", ""), is_regex)
        except RuleError as e:
            return await rules_page(request, user, 422, str(e))
        desk = desk_of(request)
        feed = form.get("feed") or None
        matching = form.get("when") != "not_matching"

        def work() -> None:
            store, now = desk.store(), desk.clock()
            if skip:
                store.add_skip_rule(
                    pattern, is_regex=is_regex, matching=matching, feed_key=feed, by=user.name, now=now
                )
                return
            kind: RuleAction = "read" if action == "read" else "star"
            store.add_rule(
                user.id, pattern, is_regex=is_regex, matching=matching, action=kind, feed_key=feed, now=now
            )

        await desk.run(work)
        return RedirectResponse(f"{base_of(request)}/rules", status_code=303)

    async def removing(request: Request, skip: bool) -> Response:
        sent = await posted(request)
        if isinstance(sent, Response):
            return sent
        user, form = sent
        if skip and not user.admin:
            return page(request, "message.html", user, status=403, message_key="只有管理员可以这样做")
        desk = desk_of(request)
        try:
            rule_id = int(form.get("id", ""))
        except ValueError:
            return await rules_page(request, user, 422, "没有这条规则")

        def work() -> bool:
            store = desk.store()
            return store.remove_skip_rule(rule_id) if skip else store.remove_rule(user.id, rule_id)

        if not await desk.run(work):
            return await rules_page(request, user, 404, "没有这条规则")
        return RedirectResponse(f"{base_of(request)}/rules", status_code=303)

    @pages.post("/rules/add")
    async def add(request: Request) -> Response:
        return await adding(request, skip=False)

    @pages.post("/rules/remove")
    async def remove(request: Request) -> Response:
        return await removing(request, skip=False)

    @pages.post("/rules/skip/add")
    async def add_skip(request: Request) -> Response:
        return await adding(request, skip=True)

    @pages.post("/rules/skip/remove")
    async def remove_skip(request: Request) -> Response:
        return await removing(request, skip=True)

    return pages
