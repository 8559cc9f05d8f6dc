"""Story clusters: the labelled set (tests/data/clusters, built by make_set.py from realistic
article text with the edits outlets make when they republish), and clusters kept in the
archive through new entries, updates and later runs."""

from __future__ import annotations

import itertools
from datetime import datetime
from pathlib import Path

import pytest

from newsdesk.search.cluster import Item, cluster_items, link_key, similarity, text_key, update_clusters
from newsdesk.store import SQLiteStore
from test_search_fixtures import Doc, feed, labelled_set, save, story_text

SINA = feed("金融", "新浪财经", "国内")
PAPER = feed("金融", "澎湃新闻", "财经")
HK = feed("金融", "香港经济日报", "内地")


def pair_scores(truth: dict[str, str], got: dict[str, str]) -> tuple[float, float, float]:
    tp = fp = fn = 0
    for a, b in itertools.combinations(sorted(truth), 2):
        same, joined = truth[a] == truth[b], got[a] == got[b]
        tp += same and joined
        fp += joined and not same
        fn += same and not joined
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    return precision, recall, 2 * precision * recall / (precision + recall)


def test_labelled_set_f1() -> None:
    rows = labelled_set()
    assert len(rows) >= 100 and len({r["story"] for r in rows}) >= 30
    items = [
        Item(
            str(r["id"]),
            str(r["text"]),
            str(r["outlet"]),
            datetime.fromisoformat(str(r["published"])),
            str(r["link"]),
        )
        for r in rows
    ]
    got = cluster_items(items)
    precision, recall, f1 = pair_scores({str(r["id"]): str(r["story"]) for r in rows}, got)
    assert f1 >= 0.95, (precision, recall)
    # Every kind of edit is in the set and was clustered with its original.
    edits = {e for r in rows for e in r["edits"]}  # type: ignore[attr-defined]
    assert edits >= {
        "title suffix", "other boilerplate", "editor's note", "sentences rewritten", "traditional",
        "dateline dropped", "last paragraph cut", "paragraphs merged", "same link",
    }  # fmt: skip


def test_same_topic_different_stories_stay_apart() -> None:
    rows = {str(r["id"]): str(r["text"]) for r in labelled_set()}
    # s001 and s002 are two reports on 千兆光网 from different days, s000 mentions it too;
    # s003/s004 are two days' template reports on open-market operations.
    got = cluster_items([Item(k, rows[f"{k}-0"]) for k in ("s000", "s001", "s002", "s003", "s004")])
    assert len(set(got.values())) == 5


def test_exact_keys() -> None:
    assert link_key("https://www.Example.cn/a/1.html?utm_source=x&id=3#top") == "example.cn/a/1.html?id=3"
    assert link_key("http://example.cn/a/1.html/") == link_key("https://www.example.cn/a/1.html")
    assert link_key("https://example.cn/") is None  # a front page identifies no story
    assert text_key("千兆光網，建設！") is None  # too short
    long = story_text("s001")
    assert text_key(long) == text_key(" ".join(long) + "。")  # spaces and punctuation ignored
    assert text_key(long.replace("千兆光网", "千兆光網")) == text_key(long)


def test_similarity_of_edits() -> None:
    from newsdesk.search.cluster import features

    base = story_text("s000")
    edited = (
        "【编者按】岁末年初，各部门密集部署来年重点工作。\n"
        + base.replace("肖亚庆作工作报告", "肖亚庆出席并讲话")
        + "\n责任编辑：张倩"
    )
    other = story_text("s001")
    f = features([Item("a", base), Item("b", edited), Item("c", other)])
    assert f[0].signature and f[1].signature and f[2].signature
    assert similarity(f[0].signature, f[1].signature) > 0.7
    assert similarity(f[0].signature, f[2].signature) < 0.2


@pytest.fixture
def store(tmp_path: Path) -> SQLiteStore:
    return SQLiteStore(tmp_path / "archive.db")


def test_clusters_persist_across_runs_and_follow_updates(store: SQLiteStore) -> None:
    text = story_text("s005")
    save(store, [Doc(SINA, "a", "央行开展逆回购", text, hours=5)])
    assert update_clusters(store) == 1
    assert store.list_clusters() == []  # one entry is no cluster
    # A later run brings copies: one republished later, one (from HK, Traditional) earlier.
    import opencc

    trad = opencc.OpenCC("s2t").convert(text)
    save(store, [Doc(PAPER, "b", "央行开展逆回购_澎湃新闻", text + "\n（本文来自澎湃新闻）", hours=9)])
    save(store, [Doc(HK, "c", "人行逆回購", trad, hours=1)])
    assert update_clusters(store) == 2
    assert update_clusters(store) == 0  # caught up
    [summary] = store.list_clusters()
    assert (summary.size, summary.sources) == (3, 3)
    found = store.get_cluster(summary.id)
    assert found is not None
    info, members = found
    assert info.canonical == Doc(HK, "c", "", "").uid  # the earliest, though it came last
    assert [m.feed_key for m in members] == [HK.key, SINA.key, PAPER.key]
    assert {m.reason for m in members} == {"first", "text", "near"}
    assert store.get_cluster(members[1].uid) == found  # any member's id finds the cluster
    refs = store.cluster_refs([m.uid for m in members])
    assert {r.id for r in refs.values()} == {summary.id}
    # The copy is rewritten into a different story: it leaves the cluster.
    save(store, [Doc(PAPER, "b", "另一篇报道", story_text("s020"), hours=9)])
    assert update_clusters(store) == 1
    [summary] = store.list_clusters()
    assert summary.size == 2
    # reset + update (what `newsdesk reindex` does) gives the same clusters.
    store.reset_clusters()
    assert update_clusters(store) == 3
    assert [(c.size, c.canonical) for c in store.list_clusters()] == [(2, info.canonical)]


def test_same_link_clusters_even_when_text_changed(store: SQLiteStore) -> None:
    link = "https://finance.sina.com.cn/china/2021-12-20/doc-ikyamrmz0000.shtml"
    save(
        store,
        [
            Doc(SINA, "a", "工信部部署重点任务", story_text("s000"), link=link),
            Doc(PAPER, "b", "工信部：六方面重点任务", story_text("s010"), link=link + "?from=wap"),
        ],
    )
    update_clusters(store)
    [c] = store.list_clusters()
    assert c.size == 2
