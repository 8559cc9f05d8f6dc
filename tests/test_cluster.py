"""Story clusters: the labelled set (tests/data/clusters, built by make_set.py from realistic
article text with the edits outlets make when they republish), and clusters kept in the
archive through new entries, updates and later runs."""

from __future__ import annotations

import itertools
from datetime import datetime

from newsdesk.search.cluster import Item, cluster_items, link_key, similarity, text_key
from test_search_fixtures import feed, labelled_set, story_text

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
