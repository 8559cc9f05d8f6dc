"""Build the labelled clustering set: `articles.jsonl`, one article a line, `story` is the label.

    .venv/bin/python tests/data/clusters/make_set.py

Stories are real-style Chinese finance/policy articles: the paragraphs of bench/articles.py
(invented text in the style of Chinese wire copy, never two stories sharing a paragraph),
the reference article's text, and hand-written ones below, including the hard negatives:
two reports on 千兆光网 from different days, and daily template reports (公开市场操作, 收盘)
that share most of their wording but are different stories.

Each story's first article is the original; copies get the edits outlets really make when
they republish: a source suffix on the title, other boilerplate (来源/责任编辑/APP promos), an
editor's note, a dropped dateline, a few sentences rewritten or numbers rounded, the text
in Traditional characters (Hong Kong and Taiwan outlets), paragraphs merged or trailing
paragraphs cut. Deterministic: the same script always writes the same file.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import re
import sys
from pathlib import Path

import opencc

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[2] / "bench"))

from articles import PARAGRAPHS  # noqa: E402

REFERENCE = """中新社北京12月20日电 （记者 刘育英）全国工业和信息化工作会议20日在北京以视频形式召开。中国工业和信息化部部长肖亚庆作工作报告。
会议总结2021年工作，分析当前形势，部署2022年重点任务。一是着力提振工业经济，为稳定经济大盘提供有力支撑。落实关于振作工业经济运行、推动工业高质量发展的实施方案，全力以赴实现一季度平稳接续。打通重点产品供给堵点卡点，有效畅通工业经济循环。做好重大外资项目服务保障。
二是加快推进基础和关键领域创新突破，进一步增强产业链供应链韧性。实施产业基础再造工程，组织实施一批重点项目。推进制造业强链补链，创建一批国家制造业创新中心和国家地方共建中心，培育一批国家级先进制造业集群。
三是加大对中小企业的纾困帮扶，促进企业专精特新发展。统筹落实系列惠企政策，着力解决中小企业困难问题。加大对恶意拖欠账款问题的治理。健全优质中小企业评价体系。
四是强化应用导向，提升信息通信服务供给能力。稳妥有序开展5G和千兆光网建设，到2022年底千兆光网具备覆盖超过4亿户家庭的能力。加大IPv6应用创新和推广，加快5G在垂直行业的融合应用。纵深推进APP专项整治，健全车联网和智能网联汽车等安全保障体系，提高无线电频谱资源利用水平。
五是推动制造业数字化转型向纵深拓展，增强产业发展新优势新动能。实施制造业数字化转型行动计划，完善多层次工业互联网平台体系，突破一批智能部件和装备，拓展工业大数据应用场景。
六是实施工业领域碳达峰行动，稳步推进产业绿色低碳转型。大力发展绿色制造，开展绿色低碳技术和产品示范应用。实施工业能效、水效提升计划。坚决遏制“两高”项目盲目发展。（完）"""

# Hand-written stories (invented, in the style of wire copy). Each is (title, text).
HAND: list[tuple[str, str]] = [
    (
        "千兆光网覆盖家庭超3亿户 双千兆网络建设提速",
        "记者从工业和信息化部获悉，截至今年9月末，我国千兆光网已具备覆盖超过3亿户家庭的能力，"
        "千兆宽带用户数突破7000万户。各地加快推进城市千兆城市建设，已有110个城市达到千兆城市建设标准。\n"
        "工业和信息化部信息通信发展司有关负责人表示，下一步将持续推进“双千兆”网络协同发展，"
        "加快10G-PON设备规模部署，推动千兆光网向乡镇和有条件的行政村延伸。同时，加快千兆网络在工业、"
        "医疗、教育等行业的融合应用，培育一批千兆行业虚拟专网标杆项目。\n"
        "业内专家认为，千兆光网和5G共同构成新型信息基础设施的“双千兆”底座，对于带动数字经济发展、"
        "扩大信息消费具有重要意义。预计到明年底，千兆光网覆盖能力将进一步提升。",
    ),
    (
        "三部门联合推进千兆光网进园区 支持中小企业数字化转型",
        "工业和信息化部、国务院国资委等三部门近日联合印发通知，组织开展千兆光网进工业园区专项行动，"
        "计划用两年时间，推动全国5000个以上工业园区实现千兆光网覆盖。\n"
        "通知提出，基础电信企业要针对园区企业需求，提供高带宽、低时延的专线和组网服务，降低中小企业"
        "用网成本。鼓励园区管理机构与电信企业合作建设园区数据中心和边缘计算节点，支撑工业互联网平台在园区"
        "落地应用。\n"
        "通知还要求，各地通信管理局要将园区千兆光网建设纳入地方新型基础设施建设规划，在管道、杆路、"
        "机房等资源共享方面给予支持，并定期通报工作进展。",
    ),
    (
        "央行开展2500亿元逆回购操作 实现净投放1800亿元",
        "中国人民银行11月21日发布公告称，为维护银行体系流动性合理充裕，当日以固定利率、数量招标方式"
        "开展了2500亿元7天期逆回购操作，操作利率1.40%，投标量2500亿元，中标量2500亿元。"
        "Wind数据显示，当日有700亿元逆回购到期，因此单日实现净投放1800亿元。\n"
        "市场人士表示，临近月末，叠加政府债券缴款，资金需求有所增加，央行加大公开市场投放力度，"
        "有助于熨平流动性波动，预计月末资金面将保持平稳。",
    ),
    (
        "央行开展4100亿元逆回购操作 实现净投放3900亿元",
        "中国人民银行11月24日发布公告称，为维护银行体系流动性合理充裕，当日以固定利率、数量招标方式"
        "开展了4100亿元7天期逆回购操作，操作利率1.40%，投标量4100亿元，中标量4100亿元。"
        "Wind数据显示，当日有200亿元逆回购到期，因此单日实现净投放3900亿元。\n"
        "市场人士表示，本周政府债券发行规模较大，税期走款也对流动性形成扰动，央行连续多日净投放，"
        "释放呵护跨月资金面的信号，短端利率有望回落。",
    ),
    (
        "A股三大指数集体收涨 两市成交额1.52万亿元",
        "A股三大指数11月25日集体收涨。截至收盘，上证指数报3402.81点，涨0.72%；深证成指报10876.43点，"
        "涨1.05%；创业板指报2246.17点，涨1.38%。沪深两市成交额合计1.52万亿元，较上一交易日放量约1200亿元。\n"
        "盘面上，半导体、消费电子、证券板块涨幅居前，煤炭、银行板块小幅调整。全市场超过3800只个股上涨。"
        "分析人士认为，市场情绪有所修复，短期有望延续震荡上行格局。",
    ),
    (
        "A股三大指数集体回调 两市成交额1.31万亿元",
        "A股三大指数11月26日集体回调。截至收盘，上证指数报3381.09点，跌0.64%；深证成指报10742.55点，"
        "跌1.23%；创业板指报2207.84点，跌1.71%。沪深两市成交额合计1.31万亿元，较上一交易日缩量约2100亿元。\n"
        "盘面上，银行、电力板块逆势走强，半导体、军工板块调整。全市场超过3500只个股下跌。"
        "分析人士认为，市场量能不足，短期或以震荡整固为主。",
    ),
]

DATELINES = ["新华社北京", "中新社北京", "新华社上海", "中新社深圳"]
REPORTERS = ["王晓舟", "李若澜", "张知秋", "陈书衡", "刘嘉禾"]
TITLE_SUFFIXES = ["_新浪财经_新浪网", "｜每日经济新闻", " - 东方财富网", "—中国新闻网", "（附全文）"]
BOILERPLATE = [
    "来源：中国新闻网\n责任编辑：刘万里 SF014",
    "（本文来自澎湃新闻，更多原创资讯请下载“澎湃新闻”APP）",
    "海量资讯、精准解读，尽在新浪财经APP\n责任编辑：张倩 SF065",
    "编辑：王晓 审核：李明 监制：赵刚",
    "声明：本文仅供参考，不构成投资建议。据此操作，风险自担。",
]
EDITOR_NOTES = [
    "【编者按】岁末年初，各部门密集部署来年重点工作。本报梳理相关政策要点，以飨读者。",
    "编者按：本文经授权转载，有删节，标题为编者所加，内容不代表本平台观点。",
    "【导读】政策信号持续释放，市场关注后续落地节奏。以下为全文。",
]


def _sentences(paragraph: str) -> list[str]:
    return [s for s in re.split(r"(?<=[。；！？])", paragraph) if s]


def _rewrite(text: str, rng: random.Random, n: int) -> str:
    """Rewrite `n` sentences the way an editor does: reword the ends, round numbers."""
    paras = text.split("\n")
    for _ in range(n):
        i = rng.randrange(len(paras))
        sents = _sentences(paras[i])
        if not sents:
            continue
        j = rng.randrange(len(sents))
        s = sents[j]
        s = re.sub(r"(\d+)\.(\d)\d*", r"\1.\2", s)  # round numbers
        s = (
            s.replace("表示", "指出")
            .replace("认为", "分析称")
            .replace("持续", "不断")
            .replace("进一步", "继续")
        )
        s = s.rstrip("。") + "，相关工作正有序推进。"
        sents[j] = s
        paras[i] = "".join(sents)
    return "\n".join(paras)


def _copy(title: str, text: str, rng: random.Random, t2t: opencc.OpenCC) -> tuple[str, str, list[str]]:
    edits: list[str] = []
    if rng.random() < 0.7:
        title += rng.choice(TITLE_SUFFIXES)
        edits.append("title suffix")
    m = re.match(r"^[^（(]{0,12}\d+月\d+日电\s*[（(][^）)]*[）)]", text)
    if m and rng.random() < 0.7:
        text = text[m.end() :]
        edits.append("dateline dropped")
    if rng.random() < 0.6:
        text = _rewrite(text, rng, rng.randint(1, 3))
        edits.append("sentences rewritten")
    if rng.random() < 0.35:
        text = rng.choice(EDITOR_NOTES) + "\n" + text
        edits.append("editor's note")
    paras = text.split("\n")
    if len(paras) > 4 and rng.random() < 0.3:
        text = "\n".join(paras[:-1])
        edits.append("last paragraph cut")
    elif len(paras) > 2 and rng.random() < 0.3:
        text = "".join(paras[:2]) + "\n" + "\n".join(paras[2:])
        edits.append("paragraphs merged")
    text += "\n" + rng.choice(BOILERPLATE)
    edits.append("other boilerplate")
    if rng.random() < 0.2:
        title, text = t2t.convert(title), t2t.convert(text)
        edits.append("traditional")
    return title, text, edits


def build() -> list[dict[str, object]]:
    rng = random.Random(20261128)
    s2t = opencc.OpenCC("s2t")
    stories: list[tuple[str, str]] = [("工信部部署2022年六方面重点任务", REFERENCE), *HAND]
    # Consecutive bench paragraphs are on one topic: stories of 2-3 of them are different
    # articles on the same topic (the neighbours are hard negatives for each other).
    i, k = 0, 0
    while i + 2 <= len(PARAGRAPHS):
        size = 3 if k % 3 else 2
        paras = PARAGRAPHS[i : i + size]
        first = _sentences(paras[0])[0].rstrip("。，")
        text = "\n".join(paras)
        if k % 3 == 1:  # wire copy opens with a dateline, which republishers often drop
            text = (
                f"{DATELINES[k % len(DATELINES)]}11月{20 + k % 8}日电（记者 {REPORTERS[k % len(REPORTERS)]}）"
                + text
            )
        stories.append((first[:24], text))
        i += size
        k += 1
    outlets = [
        "新浪财经",
        "澎湃新闻",
        "东方财富",
        "每日经济新闻",
        "中国新闻网",
        "凤凰财经",
        "网易财经",
        "香港经济日报",
    ]
    base = dt.datetime(2026, 11, 20, 8, 0, tzinfo=dt.UTC)
    rows: list[dict[str, object]] = []
    for n, (title, text) in enumerate(stories):
        story = f"s{n:03d}"
        when = base + dt.timedelta(hours=7 * n)
        copies = rng.choice([0, 1, 1, 2, 2, 3, 4])
        chosen = rng.sample(outlets, copies + 1)
        link = f"https://finance.example.cn/{story}.html"
        rows.append(_row(story, 0, chosen[0], when, title, text, link, ["original"]))
        for c in range(1, copies + 1):
            t2, x2, edits = _copy(title, text, rng, s2t)
            # A copy mostly has its own link; some syndications keep the original's.
            same_link = rng.random() < 0.15
            l2 = link + "?from=" + chosen[c] if same_link else f"https://news.example{c}.cn/{story}-{c}.html"
            if same_link:
                edits.append("same link")
            rows.append(
                _row(
                    story, c, chosen[c], when + dt.timedelta(minutes=rng.randint(5, 2000)), t2, x2, l2, edits
                )
            )
    rng.shuffle(rows)
    return rows


def _row(
    story: str, copy: int, outlet: str, when: dt.datetime, title: str, text: str, link: str, edits: list[str]
) -> dict[str, object]:
    return {
        "id": f"{story}-{copy}",
        "story": story,
        "outlet": outlet,
        "published": when.isoformat(),
        "title": title,
        "link": link,
        "text": text,
        "edits": edits,
    }


if __name__ == "__main__":
    out = HERE / "articles.jsonl"
    rows = build()
    out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    stories = {r["story"] for r in rows}
    print(f"{out}: {len(rows)} articles, {len(stories)} stories")
