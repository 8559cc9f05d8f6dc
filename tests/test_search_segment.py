"""Segmentation and the query language, on real rjieba cuts and real OpenCC (nothing mocked)."""

from __future__ import annotations

import pytest

from newsdesk.search.query import AnyOf, Match, QuerySyntaxError, parse_query
from newsdesk.search.segment import normalise, subwords, tokenize
from newsdesk.search.snippet import make_snippet, patterns
from newsdesk.search.text import strip_html

REFERENCE_SENTENCE = (
    "稳妥有序开展5G和千兆光网建设，到2022年底千兆光网具备覆盖超过4亿户家庭的能力。加大IPv6应用创新和推广。"
)


def test_reference_sentence_cuts() -> None:
    assert tokenize(REFERENCE_SENTENCE) == [
        "稳妥", "有序", "开展", "5g", "和", "千兆", "光网", "建设", "到", "2022", "年底",
        "千兆", "光网", "具备", "覆盖", "超过", "4", "亿户", "家庭", "的", "能力",
        "加大", "ipv6", "应用", "创新", "和", "推广",
    ]  # fmt: skip


def test_same_cuts_as_jieba() -> None:
    """rjieba is jieba-rs: the same dictionary and the same cuts as jieba (HMM on)."""
    jieba = pytest.importorskip("jieba")  # a dev dependency, only for this comparison
    text = (
        "中新社北京12月20日电（记者 刘育英）全国工业和信息化工作会议20日在北京以视频形式召开。"
        + REFERENCE_SENTENCE
    )
    jieba.setLogLevel(60)
    expected = [t for t in jieba.lcut(text.lower()) if any(c.isalnum() for c in t)]
    assert tokenize(text) == expected


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("央行", ["央行"]),
        ("存款准备金率", ["存款", "准备金率"]),
        ("千兆光网", ["千兆", "光网"]),
        ("千兆光網", ["千兆", "光网"]),  # Traditional → Simplified before cutting
        ("臺灣經濟發展", tokenize("台湾经济发展")),
        ("ＩＰｖ６ ３．５％", ["ipv6", "3.5%"]),  # full-width → ASCII
        ("IPv6", ["ipv6"]),
        ("4亿户", ["4", "亿户"]),
        ("，。！？、“”（）   \n", []),
        ("", []),
    ],
)
def test_tokenize(text: str, tokens: list[str]) -> None:
    assert tokenize(text) == tokens


def test_normalise_keeps_length_for_offsets() -> None:
    text = "千兆光網建設，ＩＰｖ６應用"
    assert normalise(text) == "千兆光网建设，ipv6应用"
    assert len(normalise(text)) == len(text)


def test_subwords_for_indexes_without_character_fallback() -> None:
    assert subwords(["准备金率"]) == ["准备", "准备金"]
    assert set(subwords(["中华人民共和国"])) >= {"中华", "人民", "共和国"}
    assert subwords(["央行", "ipv6", "5g"]) == []


def test_parse_query_ast() -> None:
    q = parse_query('央行 "千兆光网 建设" -房地产 -"专项债" 降准 OR 降息 “数字经济”')
    assert q.required == (
        Match("央行", ("央行",)),
        Match("千兆光网 建设", ("千兆", "光网", "建设"), quoted=True),
        AnyOf((Match("降准", ("降准",)), Match("降息", ("降息",)))),
        Match("数字经济", ("数字", "经济"), quoted=True),
    )
    assert q.excluded == (Match("房地产", ("房地产",)), Match("专项债", ("专项", "债"), quoted=True))
    assert parse_query("a OR b | c").required == (
        AnyOf((Match("a", ("a",)), Match("b", ("b",)), Match("c", ("c",)))),
    )
    assert parse_query("OR 央行 OR").required == (Match("央行", ("央行",)),)  # stray ORs ignored
    assert parse_query('"未闭合的引号').required == (
        Match("未闭合的引号", tuple(tokenize("未闭合的引号")), quoted=True),
    )
    for bad in ("", "-央行", "，。", '""'):
        with pytest.raises(QuerySyntaxError):
            parse_query(bad)


def test_snippet_window_and_marks() -> None:
    text = "开头。" * 60 + "稳妥有序开展5G和千兆光網建设。" + "结尾。" * 60
    s = make_snippet(text, patterns(parse_query("千兆光网 5G").positive_matches()))
    assert s.truncated_start and s.truncated_end
    assert [s.text[a:b] for a, b in s.spans] == ["5G", "千兆光網"]
    assert "<mark>千兆光網</mark>" in s.to_html()
    assert make_snippet("<b>&</b>", []).to_html() == "&lt;b&gt;&amp;&lt;/b&gt;"


def test_strip_html_drops_comments_styles_and_tags() -> None:
    html = (
        '<div><p cms-style="font-L">\u3000\u3000正文&amp;第一段</p>'
        "<!--article_adlist[<p>来源：中国新闻网</p>]-->"
        "<style>.a&#123;color:red&#125;</style><script>var x=1</script><p>第二段<br>续</p></div>"
    )
    assert strip_html(html) == "正文&第一段\n第二段\n续"
