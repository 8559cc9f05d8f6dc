"""Benchmark of the parse stage against the candidate libraries.

Builds an RSSHub-style RSS 2.0 feed of 50 items of Chinese article HTML (about 60 KB, CDATA
descriptions, the way RSSHub serves Sina Finance) and times, per feed:

* feedparser with its defaults (HTML sanitiser and relative-URI resolution on),
* feedparser with ``sanitize_html=False, resolve_relative_uris=False``,
* fastfeedparser (if installed; it is not a newsdesk dependency),
* ``newsdesk.parse.parse_feed`` on the well-formed feed (the lxml path) and on the same feed with one
  unclosed tag (the recovery path: repair, lxml recover and feedparser).

Run: ``.venv/bin/python bench/bench_parse.py [--seconds 1.5]``; takes well under a minute.
"""

from __future__ import annotations

import argparse
import io
import platform
import random
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

try:
    from newsdesk.parse import parse_feed
except ImportError:  # not installed: run from a checkout
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    from newsdesk.parse import parse_feed

ITEMS = 50

# Our own sentences in the register of Chinese finance news (not copied from any article).
_SENTENCES = [
    "国家统计局今日发布数据显示，上月规模以上工业增加值同比增长百分之四点三，增速较前月小幅回升。",
    "分行业看，装备制造业和高技术制造业保持较快增长，对整体工业增长的拉动作用进一步增强。",
    "业内人士表示，随着稳增长政策持续发力，市场预期有所改善，企业生产经营活动逐步恢复。",
    "央行公开市场操作本周净投放流动性，银行间市场资金面总体保持平稳，短端利率小幅下行。",
    "证监会有关负责人指出，将继续深化资本市场改革，完善上市公司质量评价体系，保护中小投资者合法权益。",
    "沪深两市今日早盘震荡走高，新能源汽车、半导体和光伏板块涨幅居前，成交额较昨日明显放大。",
    "分析师认为，短期内市场仍将围绕政策预期与业绩验证展开博弈，建议投资者关注估值合理的优质龙头。",
    "财政部表示，今年将进一步优化支出结构，加大对科技创新、乡村振兴和基本民生的支持力度。",
    "多家银行近期下调存款利率，幅度在十至二十个基点之间，以缓解净息差收窄带来的经营压力。",
    "房地产市场方面，重点城市新房成交面积环比增加，但同比仍处于较低水平，市场信心有待修复。",
    "商务部数据显示，前十一个月全国实际使用外资金额保持增长，高技术产业引资占比持续提升。",
    "海关总署公布，以人民币计价，外贸进出口总值同比增长，其中对东盟进出口增长较快。",
    "有关部门将加大对中小微企业的纾困帮扶力度，落实好减税降费政策，稳定市场主体预期。",
    "人民币对美元汇率中间价今日上调，离岸人民币盘中一度升破关键整数关口。",
    "国际油价连续第三个交易日下跌，市场担忧全球需求放缓，同时主要产油国库存有所回升。",
    "新能源汽车产销继续保持高速增长，动力电池装车量同比大幅提升，产业链景气度较高。",
    "监管部门提示，投资者应理性看待短期波动，警惕非法证券活动，不轻信所谓内幕消息。",
    "该公司公告称，拟以自有资金回购部分股份，用于员工持股计划或股权激励。",
    "地方政府专项债券发行提速，资金主要投向交通基础设施、市政和产业园区等领域。",
    "保险资金长期投资试点范围扩大，有助于为资本市场引入更多中长期资金。",
]


def build_feed(items: int = ITEMS, seed: int = 20211220) -> str:
    """An RSSHub-style RSS 2.0 document; deterministic for a given seed."""
    rnd = random.Random(seed)
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<rss xmlns:atom="http://www.w3.org/2005/Atom" version="2.0">\n'
        "  <channel>\n    <title><![CDATA[财经要闻－基准测试]]></title>\n"
        "    <link>https://finance.example.cn/roll/</link>\n"
        '    <atom:link href="https://rsshub.example.org/finance/roll" rel="self"'
        ' type="application/rss+xml" />\n'
        "    <description><![CDATA[财经要闻 - Made with love by RSSHub]]></description>\n"
        "    <generator>RSSHub</generator>\n    <language>zh-cn</language>\n"
        "    <lastBuildDate>Mon, 20 Dec 2021 15:05:00 GMT</lastBuildDate>\n    <ttl>5</ttl>\n"
    ]
    for i in range(items):
        paragraphs = "\n".join(
            f'<p cms-style="font-L">　　{"".join(rnd.sample(_SENTENCES, 2))}</p>'
            for _ in range(rnd.randint(2, 3))
        )
        body = (
            f"<div>   \n{paragraphs}\n"
            f'<p><img src="https://img.example.cn/finance/2021/1220/{i:04d}.jpg" alt=""></p>\n'
            "<!-- 正文下iframe -->\n"
            f'<p class="article-editor">责任编辑：测试 SF{i:03d}</p>\n  \n</div>'
        )
        minute = 59 - (i % 60)
        parts.append(
            f"    <item>\n      <title><![CDATA[{_SENTENCES[i % len(_SENTENCES)][:18]}]]></title>\n"
            f"      <description><![CDATA[{body}]]></description>\n"
            f"      <pubDate>Mon, 20 Dec 2021 14:{minute:02d}:00 GMT</pubDate>\n"
            f'      <guid isPermaLink="false">https://finance.example.cn/roll/2021-12-20/doc-{i:06d}.shtml</guid>\n'
            f"      <link>https://finance.example.cn/roll/2021-12-20/doc-{i:06d}.shtml</link>\n"
            "    </item>\n"
        )
    parts.append("  </channel>\n</rss>\n")
    return "".join(parts)


@dataclass
class Result:
    name: str
    ms_per_feed: float
    items: int

    @property
    def items_per_s(self) -> float:
        return self.items / (self.ms_per_feed / 1000) if self.ms_per_feed else 0.0


def time_it(name: str, fn: Callable[[], int], seconds: float) -> Result:
    """Median wall time of one call, over as many calls as fit in ``seconds`` (at least 5)."""
    count = fn()  # warm-up: imports, parser objects, caches
    samples: list[float] = []
    deadline = time.perf_counter() + seconds
    while len(samples) < 5 or time.perf_counter() < deadline:
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return Result(name, statistics.median(samples) * 1000, count)


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def run(seconds: float = 1.5) -> list[Result]:
    import feedparser

    text = build_feed()
    data = text.encode("utf-8")
    broken = text.replace("<ttl>5</ttl>", "<ttl>5", 1)  # one unclosed tag before the items

    def fp_default() -> int:
        return len(feedparser.parse(io.BytesIO(data)).entries)

    def fp_fast() -> int:
        parsed = feedparser.parse(io.BytesIO(data), sanitize_html=False, resolve_relative_uris=False)
        return len(parsed.entries)

    def newsdesk() -> int:
        return len(parse_feed(text).entries)

    def newsdesk_broken() -> int:
        return len(parse_feed(broken).entries)

    cases: list[tuple[str, Callable[[], int]]] = [
        ("feedparser (defaults)", fp_default),
        ("feedparser (sanitize/resolve off)", fp_fast),
    ]
    try:
        import fastfeedparser

        def ffp() -> int:
            parsed: Any = fastfeedparser.parse(data)
            return len(parsed.entries)

        cases.append(("fastfeedparser", ffp))
    except ImportError:
        pass
    cases += [("newsdesk.parse (lxml path)", newsdesk), ("newsdesk.parse (broken XML)", newsdesk_broken)]
    return [time_it(name, fn, seconds) for name, fn in cases]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--seconds", type=float, default=1.5, help="time budget per case (default 1.5)")
    args = ap.parse_args(argv)
    from lxml import etree

    size = len(build_feed().encode("utf-8"))
    print(f"feed: RSS 2.0, {ITEMS} items, {size / 1024:.1f} KiB UTF-8")
    print(
        f"python {platform.python_version()} | lxml {_version('lxml')} (libxml2 "
        f"{'.'.join(map(str, etree.LIBXML_VERSION))}) | feedparser {_version('feedparser')} | "
        f"fastfeedparser {_version('fastfeedparser')}"
    )
    print(f"{'parser':36} {'ms/feed':>9} {'items/s':>10} {'entries':>8}")
    for r in run(args.seconds):
        print(f"{r.name:36} {r.ms_per_feed:9.2f} {r.items_per_s:10,.0f} {r.items:8d}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
