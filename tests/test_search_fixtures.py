"""Shared by the search and cluster tests (no tests here): a real archive with realistic Chinese articles."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from newsdesk.models import Article, FeedSpec, FetchResult, ParsedEntry, entry_uid
from newsdesk.store import Store

CLUSTER_SET = Path(__file__).resolve().parent / "data" / "clusters" / "articles.jsonl"
T0 = datetime(2021, 12, 20, 7, 0, tzinfo=UTC)


def labelled_set() -> list[dict[str, object]]:
    return [json.loads(line) for line in CLUSTER_SET.read_text(encoding="utf-8").splitlines()]


def story_text(story: str) -> str:
    """The original text of a story of the labelled set (s000 is the reference article)."""
    row = next(r for r in labelled_set() if r["id"] == f"{story}-0")
    return str(row["text"])


@dataclass(frozen=True)
class Doc:
    feed: FeedSpec
    id: str
    title: str
    text: str
    hours: int = 0  # published T0 + hours
    source: str | None = None  # when set, stored with a cleaned Article carrying this 来源
    link: str | None = None

    @property
    def uid(self) -> str:
        return entry_uid(self.feed.key, self.id)


def feed(group: str, site: str, name: str) -> FeedSpec:
    return FeedSpec(group=group, site=site, name=name, url=f"http://127.0.0.1:9/{name}.xml")


def _html(text: str) -> str:
    return "".join(f'<p cms-style="font-L">\u3000\u3000{p}</p>\n' for p in text.split("\n"))


def _article(doc: Doc) -> Article:
    return Article(
        html=_html(doc.text),
        text=doc.text,
        summary=doc.text[:120],
        char_count=len(doc.text),
        images=(),
        header_image=None,
        source=doc.source,
        editor=None,
        reporters=(),
        dateline=None,
        keywords=(),
        profile="generic",
    )


def save(store: Store, docs: list[Doc], *, now: datetime = T0) -> None:
    """Store docs feed by feed, as `newsdesk run` would."""
    by_feed: dict[str, list[Doc]] = {}
    for d in docs:
        by_feed.setdefault(d.feed.key, []).append(d)
    for group in by_feed.values():
        spec = group[0].feed
        entries = [
            ParsedEntry(
                id=d.id,
                title=d.title,
                link=d.link or f"https://news.example.cn/{spec.name}/{d.id}.html",
                published=T0 + timedelta(hours=d.hours),
                content=_html(d.text),
            )
            for d in group
        ]
        articles: dict[str, Article] = {d.id: _article(d) for d in group if d.source}
        store.save_fetch(spec, FetchResult(url=spec.url or "", status=200), entries, now, articles=articles)
