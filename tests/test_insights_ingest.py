"""The insights stage at ingest, reclean and `reinsight`, end to end through the real stage:
the reference article's six tasks, its target, body, meeting and official, as
`entries show --json` and `targets` print them; a failure of the stage is a note on the
entry, never a failed feed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from newsdesk import insights_pending, pipeline
from newsdesk.config import load_config
from newsdesk.models import Article, Insights
from newsdesk.store import open_store
from server import FeedServer
from test_pipeline import SEED, needs_shared, newsdesk, rss, write_config

LEADS = [
    "着力提振工业经济，为稳定经济大盘提供有力支撑",
    "加快推进基础和关键领域创新突破，进一步增强产业链供应链韧性",
]


@needs_shared
def test_reference_article_insights_at_ingest_and_reinsight(tmp_path: Path, feed_server: FeedServer) -> None:
    feed_server.route("/sina/finance/china", SEED.read_bytes())
    config = write_config(
        tmp_path, [("金融", "新浪财经", "国内", feed_server.url("/sina/finance/china"))], clean=True
    )
    newsdesk(config, "run", check=True)
    [listed] = json.loads(newsdesk(config, "entries", "list", "--json", check=True).stdout)
    ins = json.loads(newsdesk(config, "entries", "show", listed["id"], "--json", check=True).stdout)[
        "insights"
    ]
    tasks = [t for t in ins["tasks"] if t["kind"] == "tasks"]
    assert [t["ordinal"] for t in tasks] == [1, 2, 3, 4, 5, 6]
    assert [t["lead"] for t in tasks[:2]] == LEADS
    assert tasks[-1]["lead"] == "实施工业领域碳达峰行动，稳步推进产业绿色低碳转型"
    [target] = ins["targets"]
    assert {k: target[k] for k in ("metric", "comparator", "value", "unit", "deadline")} == {
        "metric": "千兆光网覆盖家庭",
        "comparator": "超过",
        "value": 400000000,
        "unit": "户",
        "deadline": "2022-12-31",
    }
    assert "工业和信息化部" in ins["bodies"] and "全国工业和信息化工作会议" in ins["meetings"]
    assert {"name": "肖亚庆", "title": "部长"} in ins["officials"]
    assert ins["keywords"] and ins["version"] >= 1
    # The tracker finds it by any alias of the body.
    [tracked] = json.loads(newsdesk(config, "targets", "--body", "工信部", "--json", check=True).stdout)
    assert tracked["id"] == listed["id"] and tracked["metric"] == "千兆光网覆盖家庭"
    # Up to date: nothing to do; --all does every article again, the same result.
    assert json.loads(newsdesk(config, "reinsight", "--json", check=True).stdout) == {
        "done": 0,
        "noted": 0,
        "pruned": 0,
    }
    again = json.loads(newsdesk(config, "reinsight", "--all", "--json", check=True).stdout)
    assert again["done"] == 1
    shown = json.loads(newsdesk(config, "entries", "show", listed["id"], "--json", check=True).stdout)
    assert shown["insights"] == ins
    # Reclean runs the stage on the new article too (the same text: the same insights).
    assert json.loads(newsdesk(config, "reclean", "--json", check=True).stdout)["cleaned"] == 1
    shown = json.loads(newsdesk(config, "entries", "show", listed["id"], "--json", check=True).stdout)
    assert shown["insights"] == ins


def test_a_failure_of_the_stage_is_a_note_and_reinsight_retries_it(
    tmp_path: Path, feed_server: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = "<p>会议要求，一是稳增长；二是保就业。到2025年，全省数字经济核心产业增加值占比达到10%。</p>"
    url = feed_server.route("/f.xml", rss([("a", "省政府部署工作", body)]))
    config = load_config(write_config(tmp_path, [("g", "s", "f", url)], clean=True))
    store = open_store(config.database_url)
    try:

        def broken(article: Article, title: str, published: object) -> Insights:
            raise ValueError("a bug in the stage")

        monkeypatch.setattr(insights_pending, "extract_insights", broken)
        report = pipeline.run(config, store, publishers=())
        assert [f.outcome for f in report.feeds] == ["ok"] and report.feeds[0].new == 1
        [uid] = list(store.iter_uids())
        [noted] = store.get_insights([uid]).values()
        assert noted.notes == ("insights failed: ValueError: a bug in the stage",) and noted.version == 0
        assert store.stale_insights(pipeline.insights_version()) == [uid]
        monkeypatch.undo()
        counts = pipeline.reinsight(config, store)
        assert (counts.done, counts.pruned) == (1, 0)
        [fixed] = store.get_insights([uid]).values()
        assert fixed.version == pipeline.insights_version() and fixed.targets
        assert store.stale_insights(pipeline.insights_version()) == []
        # Off in the config: nothing is extracted at ingest.
        config = config.model_copy(update={"insights": False})
        feed_server.route("/f.xml", rss([("b", "另一篇", body)]))
        pipeline.run(config, store, publishers=())
        assert len(store.get_insights(store.iter_uids())) == 1
    finally:
        store.close()


def test_insights_are_caught_up_off_the_ingest_path(
    tmp_path: Path, feed_server: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = "<p>会议要求，一是稳增长；二是保就业。到2025年，全省数字经济核心产业增加值占比达到10%。</p>"
    items = [(f"i{n}", f"省政府部署工作{n}", body) for n in range(4)]
    url = feed_server.route("/f.xml", rss(items[:2]))
    config = load_config(write_config(tmp_path, [("g", "s", "f", url)], clean=True))
    store = open_store(config.database_url)

    def done() -> int:
        return sum(1 for i in store.get_insights(store.iter_uids()).values() if i.targets)

    try:
        # Stored with the stage off: pending, as a process stopped before its catch-up leaves them.
        pipeline.run(config.model_copy(update={"insights": False}), store, publishers=())
        assert len(store.pending_insights()) == 2 and done() == 0
        # The next run finds them at its start and catches up in a second process.
        monkeypatch.setattr(pipeline, "FOLLOW_FROM", 2)
        report = pipeline.run(config, store, publishers=())
        assert (report.insights, store.pending_insights(), done()) == (2, [], 2)
        # Fetching enough starts that process while feeds are stored.
        feed_server.route("/f.xml", rss(items[:4]))
        report = pipeline.run(config, store, publishers=())
        assert (report.feeds[0].new, report.insights, done()) == (2, 2, 4)
        # A small run catches up in its own process, after fetching and before publishing.
        feed_server.route("/f.xml", rss([*items[:4], ("i4", "省政府部署工作4", body)]))
        monkeypatch.setattr(pipeline, "FOLLOW_FROM", 1000)
        report = pipeline.run(config, store, publishers=())
        assert (report.insights, store.pending_insights(), done()) == (1, [], 5)
    finally:
        store.close()


def test_a_run_and_its_insights_process_share_what_is_pending_each_entry_once(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    body = "<p>会议要求，一是稳增长；二是保就业。到2025年，全省数字经济核心产业增加值占比达到10%。</p>"
    n = 300
    items = [(f"i{k}", f"省政府部署工作{k}", body) for k in range(n)]
    url = feed_server.route("/f.xml", rss(items))
    config = load_config(write_config(tmp_path, [("g", "s", "f", url)], clean=True))
    store = open_store(config.database_url)
    try:
        pipeline.run(config.model_copy(update={"insights": False}), store, publishers=())
        pending = store.pending_insights()
        assert len(pending) == n
        # The bounds alone: the newest side takes the two newest revs, the oldest side then stops
        # below them, and the newest side takes nothing the oldest side has passed.
        shares = insights_pending.Shares()
        entries = sorted(store.get_entries(pending[:5]), key=lambda e: e.rev)
        assert [shares.from_newest(e) for e in entries[:2:-1]] == [True, True]
        assert [shares.from_oldest(e) for e in entries] == [True, True, True, False, False]
        assert not shares.from_newest(entries[2]) and shares.floor() == entries[2].rev

        # A process works up from the oldest while this one works down from the newest: however
        # the two interleave, each entry is computed exactly once.
        follower = insights_pending.insights_process(config)
        here = follower.share(store)
        there = follower.finish()
        assert isinstance(there, int) and here + there == n
        assert store.pending_insights() == []
        got = store.get_insights(pending)
        assert len(got) == n and all(len(i.targets) == 1 for i in got.values())
    finally:
        store.close()
