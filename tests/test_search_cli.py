"""End to end: feeds served over real HTTP, `newsdesk run`, then `newsdesk search`, `clusters`
and `reindex` as a reader runs them (subprocesses, a real archive and index on disk)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cli_helpers import run_cli
from server import FeedServer
from test_search_fixtures import story_text

SEED = Path(__file__).resolve().parents[2] / "shared" / "reference" / "seed-feed.xml"
needs_shared = pytest.mark.skipif(not SEED.exists(), reason="../shared/reference is not beside the clone")


def newsdesk(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_cli(config, *args, timeout=120)


def search(config: Path, *args: str) -> list[dict[str, object]]:
    result: list[dict[str, object]] = json.loads(newsdesk(config, "search", *args, "--json").stdout)
    return result


def rss(items: list[tuple[str, str, str, str]]) -> str:
    body = "".join(
        f"<item><title><![CDATA[{title}]]></title><link>https://news.example.cn/{guid}.html</link>"
        f"<guid>{guid}</guid><pubDate>{date}</pubDate>"
        f"<description><![CDATA[{html}]]></description></item>"
        for guid, title, html, date in items
    )
    head = '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>转载</title>'
    return f"{head}{body}</channel></rss>"


def paragraphs(text: str) -> str:
    return "".join(f"<p>\u3000\u3000{p}</p>" for p in text.split("\n"))


@needs_shared
def test_run_then_search_cluster_and_reindex(tmp_path: Path, feed_server: FeedServer) -> None:
    reference = story_text("s000")
    copy = "【编者按】岁末年初，各部门密集部署来年重点工作。\n" + reference + "\n（本文来自澎湃新闻）"
    others = [
        (
            "copy",
            "工信部部署2022年六方面重点任务_澎湃新闻",
            paragraphs(copy),
            "Tue, 21 Dec 2021 02:00:00 GMT",
        ),
        ("gig", "千兆光网覆盖家庭超3亿户", paragraphs(story_text("s001")), "Sat, 25 Dec 2021 02:00:00 GMT"),
        (
            "omo",
            "央行开展2500亿元逆回购操作",
            paragraphs(story_text("s003")),
            "Mon, 20 Dec 2021 01:00:00 GMT",
        ),
    ]
    feed_server.route("/sina/finance/china", SEED.read_bytes())
    feed_server.route("/paper.xml", rss(others))
    config = tmp_path / "newsdesk.yaml"
    config.write_text(
        "database: archive.db\nhexo_dir: posts\ngroups:\n"
        "  金融:\n    新浪财经:\n      - name: 新浪财经－国內\n"
        f"        url: {feed_server.url('/sina/finance/china')}\n"
        "    澎湃新闻:\n      - name: 财经\n"
        f"        url: {feed_server.url('/paper.xml')}\n        clean: false\n",
        encoding="utf-8",
    )
    newsdesk(config, "run")

    simplified = search(config, "千兆光网")
    traditional = search(config, "千兆光網")
    assert simplified == traditional
    # The reference and its republished copy are one hit; the other 千兆光网 story is another.
    assert [h["title"] for h in simplified] == ["千兆光网覆盖家庭超3亿户", "工信部部署2022年六方面重点任务"]
    ref = simplified[1]
    assert set(ref) == {
        "id",
        "title",
        "link",
        "group",
        "site",
        "feed",
        "published",
        "snippet",
        "score",
        "cluster",
    }
    assert ref["feed"] == "新浪财经－国內" and ref["published"] == "2021-12-20T15:00:52+00:00"
    assert isinstance(ref["cluster"], dict) and ref["cluster"]["also_in"] == 1 and ref["cluster"]["size"] == 2
    assert "<mark>千兆光网</mark>" in str(ref["snippet"])

    assert [h["id"] for h in search(config, "4亿户", "IPv6")] == [ref["id"]]
    assert (
        search(config, "千兆光网", "-IPv6")[0]["title"] == "千兆光网覆盖家庭超3亿户"
    )  # -word as its own argument
    assert len(search(config, "千兆光网 -IPv6")) == 1
    assert {h["title"] for h in search(config, "逆回购 OR 存款准备金率")} == {"央行开展2500亿元逆回购操作"}
    assert [h["title"] for h in search(config, '"千兆光网建设"')] == ["工信部部署2022年六方面重点任务"]
    # Within a filter, a cluster is represented by its member that passes the filter.
    assert {h["title"] for h in search(config, "千兆光网", "--site", "澎湃新闻")} == {
        "千兆光网覆盖家庭超3亿户",
        "工信部部署2022年六方面重点任务_澎湃新闻",
    }
    assert len(search(config, "千兆光网", "--feed", "金融/新浪财经/新浪财经－国內")) == 1
    assert len(search(config, "千兆光网", "--group", "宏观")) == 0
    assert [h["title"] for h in search(config, "千兆光网", "--since", "2021-12-22")] == [
        "千兆光网覆盖家庭超3亿户"
    ]
    # Published 15:00 UTC, which is 23:00 on the 20th in Beijing: a bare --until date is that whole day.
    assert len(search(config, "千兆光网", "--until", "2021-12-19")) == 0
    assert len(search(config, "千兆光网", "--until", "2021-12-20")) == 1
    assert len(search(config, "千兆光网", "--until", "2021-12-20T22:00")) == 0
    dated = search(config, "千兆光网 OR 逆回购", "--sort", "date")
    assert dated[0]["title"] == "千兆光网覆盖家庭超3亿户"
    assert dated[0]["score"] is None

    table = newsdesk(config, "search", "千兆光网").stdout
    assert "工信部部署2022年六方面重点任务" in table and "also in 1 sources" in table

    clusters = json.loads(newsdesk(config, "clusters", "list", "--json").stdout)
    assert len(clusters) == 1 and clusters[0]["size"] == 2 and clusters[0]["canonical"] == ref["id"]
    shown = json.loads(newsdesk(config, "clusters", "show", str(ref["id"]), "--json").stdout)
    assert [m["feed"] for m in shown["members"]] == ["金融/新浪财经/新浪财经－国內", "金融/澎湃新闻/财经"]
    assert shown["members"][0]["canonical"] and shown["members"][1]["reason"] == "near"
    assert "canonical" in newsdesk(config, "clusters", "show", str(ref["id"])).stdout

    rebuilt = json.loads(newsdesk(config, "reindex", "--json").stdout)
    assert rebuilt == {"indexed": 4, "clustered": 4}
    assert search(config, "千兆光网") == simplified


def test_search_errors_are_one_line(tmp_path: Path) -> None:
    config = tmp_path / "newsdesk.yaml"
    config.write_text("database: archive.db\ngroups: {}\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSDESK_")}
    for args in (["search", "-- -央行"], ["search", "央行", "--since", "昨天"], ["clusters", "show", "nope"]):
        proc = subprocess.run(
            [sys.executable, "-m", "newsdesk", "--config", str(config), *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
            check=False,
        )
        assert proc.returncode == 1, (args, proc.stdout, proc.stderr)
        assert "Traceback" not in proc.stderr and proc.stderr.startswith("error:")
    empty = newsdesk(config, "search", "央行")
    assert "no results" in empty.stderr
