"""OPML import/export and editing the config's feed list."""

from __future__ import annotations

from pathlib import Path

import pytest

from newsdesk.config import load_config
from newsdesk.errors import SourceError
from newsdesk.models import FeedSpec
from newsdesk.sources import ImportedFeed, add_feeds, read_opml, remove_feed, write_opml

OPML = """<?xml version="1.0" encoding="UTF-8"?>
<opml version="2.0"><head><title>subs</title></head><body>
  <outline text="金融">
    <outline text="新浪财经">
      <outline type="rss" text="新浪财经－国內" xmlUrl="https://rsshub.example.org/sina/finance/china"/>
      <outline type="rss" text="宏观" title="新浪财经－宏观经济" xmlUrl="https://feeds.example.com/macro.xml"/>
    </outline>
  </outline>
  <outline text="政策">
    <outline type="rss" text="政府网" xmlUrl="https://www.gov.cn/rss.xml"/>
  </outline>
  <outline type="rss" text="散装" xmlUrl="https://loose.example.com/feed"/>
</body></opml>
"""


def test_read_opml_maps_nesting_to_group_site_feed() -> None:
    feeds = read_opml(OPML.encode(), source="subs.opml", rsshub=["https://rsshub.example.org"])
    assert feeds == [
        ImportedFeed("金融", "新浪财经", "新浪财经－国內", None, "/sina/finance/china"),
        ImportedFeed("金融", "新浪财经", "新浪财经－宏观经济", "https://feeds.example.com/macro.xml", None),
        ImportedFeed("政策", "政策", "政府网", "https://www.gov.cn/rss.xml", None),
        ImportedFeed("未分组", "散装", "散装", "https://loose.example.com/feed", None),
    ]


@pytest.mark.parametrize("data", [b"<opml><body>", b"<html><body></body></html>", b"\x00\x01"])
def test_bad_opml_is_a_clear_error(data: bytes) -> None:
    with pytest.raises(SourceError, match=r"subs\.opml"):
        read_opml(data, source="subs.opml", rsshub=[])


def test_export_then_import_round_trips() -> None:
    specs = [
        FeedSpec("金融", "新浪财经", "新浪财经－国內", route="/sina/finance/china"),
        FeedSpec("金融", "第一财经", "A & B <新闻>", url="https://yicai.example.com/rss?a=1&b=2"),
    ]
    text = write_opml(specs, rsshub=["http://127.0.0.1:1200"])
    back = read_opml(text.encode(), source="x", rsshub=["http://127.0.0.1:1200"])
    assert [(f.group, f.site, f.name, f.url, f.route) for f in back] == [
        ("金融", "新浪财经", "新浪财经－国內", None, "/sina/finance/china"),
        ("金融", "第一财经", "A & B <新闻>", "https://yicai.example.com/rss?a=1&b=2", None),
    ]


def test_add_and_remove_keep_comments_and_validate(tmp_path: Path) -> None:
    path = tmp_path / "newsdesk.yaml"
    path.write_text(
        "# my precious comment\ndatabase: a.db\ngroups:\n  金融:\n    新浪财经:\n"
        "      - name: 新浪财经－国內  # keep me\n        route: /sina/finance/china\n",
        encoding="utf-8",
    )
    added, skipped = add_feeds(
        path,
        [
            ImportedFeed("金融", "新浪财经", "新浪财经－国內", None, "/sina/finance/china"),
            ImportedFeed("政策", "中国政府网", "最新政策", "https://www.gov.cn/rss.xml", None),
        ],
    )
    assert (added, skipped) == (1, 1)
    text = path.read_text(encoding="utf-8")
    assert "# my precious comment" in text and "# keep me" in text
    assert [f.key for f in load_config(path, env={}).feeds()] == [
        "金融/新浪财经/新浪财经－国內",
        "政策/中国政府网/最新政策",
    ]
    assert remove_feed(path, "最新政策") == ["政策/中国政府网/最新政策"]
    assert [f.key for f in load_config(path, env={}).feeds()] == ["金融/新浪财经/新浪财经－国內"]
    assert remove_feed(path, "不存在") == []
