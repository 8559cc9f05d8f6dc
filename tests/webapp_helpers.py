"""Shared by the reader web app's tests: the real `serve` process over the reference post's
seed feed (twice, under two outlets, so it is one story carried by two) and a feed of ordinary
items, a reader in its archive, and logging in through the login form."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from serve_helpers import ServeProcess, add_user, desk_config, poll, rss
from server import FeedServer
from test_site import REF_TITLE, SEED

__all__ = ["REF_TITLE", "SEED", "Desk", "csrf_of", "log_in", "running_desk"]

ITEMS = 12  # ordinary items of the second feed
REF_FEED = "金融/新浪财经/国内"


@dataclass
class Desk:
    url: str
    token: str  # the reader's API token, to check state behind the pages' back
    password: str
    serve: ServeProcess
    database: Path
    base: str  # the base path, "" or e.g. /news
    feeds: FeedServer
    admin_password: str  # of the admin `chief`

    def api(self) -> httpx.Client:
        return httpx.Client(
            base_url=f"{self.url}/api/v1", headers={"Authorization": f"Bearer {self.token}"}, timeout=30
        )


@contextmanager
def running_desk(tmp: Path, *, base_path: str = "") -> Iterator[Desk]:
    with FeedServer() as feeds:
        seed = SEED.read_bytes()
        feeds.route("/sina", seed)
        feeds.route("/chinanews", seed)  # the same story from a second outlet
        feeds.route("/pboc", rss(1, ITEMS))
        config = desk_config(
            tmp,
            [
                ("金融", "新浪财经", "国内", feeds.url("/sina")),
                ("金融", "中新网", "财经", feeds.url("/chinanews")),
                ("政策", "人民银行", "公开市场", feeds.url("/pboc")),
            ],
            base_path=base_path,
        )
        database = tmp / "archive.db"
        password, token = add_user(database, "reader", admin=False)
        admin_password, _ = add_user(database, "chief", admin=True)
        serve = ServeProcess(config)
        try:
            serve.wait_healthy()
            desk = Desk(
                serve.url, token, password, serve, database, base_path, feeds, admin_password
            )  # the URL has the base path
            with desk.api() as api:

                def ready() -> bool:
                    entries = api.get("/entries", params={"limit": 50}).json()["entries"]
                    clustered = any(e["cluster"] for e in entries)
                    found = api.get("/search", params={"q": "千兆光网"})
                    return (
                        len(entries) == ITEMS + 2
                        and clustered
                        and found.status_code == 200
                        and bool(found.json()["hits"])
                    )

                poll(ready, "the three feeds ingested, clustered and indexed")
            yield desk
        finally:
            serve.stop()


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, html[:500]
    return found.group(1)


def log_in(
    client: httpx.Client, desk: Desk, name: str = "reader", password: str | None = None
) -> httpx.Response:
    """The login form, as a browser fills it in: GET for its token and cookie, then POST."""
    form = client.get(f"{desk.url}/login")
    return client.post(
        f"{desk.url}/login",
        data={
            "csrf": csrf_of(form.text),
            "name": name,
            "password": password or desk.password,
            "next": f"{desk.base}/",
        },
    )
