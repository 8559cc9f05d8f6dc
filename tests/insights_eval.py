"""The insights stage's labelled corpus and its scoring (tests/test_insights_eval.py and
bench/bench_insights.py share it).

Our own articles: tests/data/insights/own/NAME.txt (first line the title, second the publication
date as ISO 8601, then the text, one paragraph per line) beside NAME.expect.json. Real posts:
tests/data/insights/real/NAME.expect.json holds the labels and `doc`, the post's path under
../shared/ (read from there, never copied here), cleaned by the real cleaning stage. The split
of the real posts into a tuned part and an untouched part is tests/data/insights/SPLIT.json.

Matching rules (docs/insights.md): an extracted item matches at most one expected item.
- tasks (kind "tasks" only): same ordinal and the same lead, or one lead starting with the other
  (at least 6 characters in common), whitespace ignored;
- targets: same value (relative 1e-6) and unit and deadline;
- figures: same value and unit (both may be empty: a change alone), the same change value and unit
  when the expected figure has a change, and the metric: every character of the expected metric's
  first 4 in the extracted scope and metric (the expected metric "" accepts any);
- bodies: the same canonical name.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

from newsdesk.clean import clean_article
from newsdesk.models import Article, Figure, Insights, Target, TaskItem

ROOT = Path(__file__).resolve().parent
DATA = ROOT / "data" / "insights"
SHARED = ROOT.parent.parent / "shared"
HAVE_SHARED = (SHARED / "policy" / "MANIFEST.md").is_file() and (
    SHARED / "realdata" / "MANIFEST.md"
).is_file()
KINDS = ("tasks", "targets", "figures", "bodies")


@dataclass(frozen=True)
class Case:
    name: str
    part: str  # "own", "tuned" or "untouched"
    title: str
    published: datetime | None
    article: Article
    expect: dict[str, Any]


def _article_from_text(text: str) -> Article:
    # Our own articles are plain paragraphs; wrapping them as <p> runs them through the real
    # cleaning stage, as at ingest.
    html = "".join(f"<p>{p}</p>" for p in text.split("\n") if p.strip())
    return clean_article(html, url=None)


def own_cases() -> list[Case]:
    out = []
    for path in sorted((DATA / "own").glob("*.expect.json")):
        name = path.name.removesuffix(".expect.json")
        title, published, text = (DATA / "own" / f"{name}.txt").read_text(encoding="utf-8").split("\n", 2)
        out.append(
            Case(
                name,
                "own",
                title,
                datetime.fromisoformat(published),
                _article_from_text(text),
                json.loads(path.read_text(encoding="utf-8")),
            )
        )
    return out


def split() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((DATA / "SPLIT.json").read_text(encoding="utf-8"))
    return data


_FRONT = re.compile(r"^\s*---\n(?P<fm>.*?)\n---\n", re.S)


def load_doc(doc: str, url: str | None = None) -> tuple[str, datetime | None, Article]:
    """(title, published, cleaned article) of a real post under ../shared/."""
    path = SHARED / doc
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("gb18030")
    title, published = "", None
    fm = _FRONT.match(text)
    if fm:
        text = text[fm.end() :]
        for line in fm.group("fm").splitlines():
            if line.startswith("title:"):
                title = line.split(":", 1)[1].strip().strip("'\"")
            elif line.startswith("date:"):
                published = parsedate_to_datetime(line.split(":", 1)[1].strip()).astimezone(UTC)
        url = url or "https://finance.sina.com.cn/china/2021-01-01/doc-example.shtml"
    else:
        m = re.search(r"<title>(.*?)</title>", text, re.S)
        title = m.group(1).split("|")[0].split("_")[0].strip() if m else ""
        d = re.search(r"/(20\d\d-\d\d-\d\d)/", url or "")
        published = datetime.fromisoformat(d.group(1)).replace(hour=4, tzinfo=UTC) if d else None
    return title, published, clean_article(text, url=url, title=title or None)


def real_cases() -> list[Case]:
    untouched = set(split()["untouched"])
    out = []
    for path in sorted((DATA / "real").glob("*.expect.json")):
        expect = json.loads(path.read_text(encoding="utf-8"))
        title, published, article = load_doc(expect["doc"], expect.get("url"))
        part = "untouched" if expect["doc"] in untouched else "tuned"
        out.append(Case(path.name.removesuffix(".expect.json"), part, title, published, article, expect))
    return out


# ---- matching ----------------------------------------------------------------------------------

_WS = re.compile(r"\s+")


def _same_lead(a: str, b: str) -> bool:
    a, b = _WS.sub("", a), _WS.sub("", b)
    if a == b:
        return True
    short, long = sorted((a, b), key=len)
    return len(short) >= 6 and long.startswith(short)


def _same_value(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return abs(a - b) <= 1e-6 * max(abs(a), abs(b), 1e-9)


def task_matches(got: TaskItem, want: dict[str, Any]) -> bool:
    return got.ordinal == want["ordinal"] and _same_lead(got.lead, want["lead"])


def target_matches(got: Target, want: dict[str, Any]) -> bool:
    return (
        _same_value(got.value, want["value"])
        and got.unit == want["unit"]
        and got.deadline == want.get("deadline")
    )


def figure_matches(got: Figure, want: dict[str, Any]) -> bool:
    if not (_same_value(got.value, want.get("value")) and got.unit == want.get("unit", "")):
        return False
    change = want.get("change")
    if change is not None:
        if got.change is None or not _same_value(got.change.value, change["value"]):
            return False
        if got.change.unit != change["unit"]:
            return False
    metric = want.get("metric", "")
    written = (got.scope or "") + got.metric
    return all(ch in written for ch in metric[:4])


def _count(got: list[Any], want: list[Any], same: Any) -> tuple[int, int, int]:
    """(matched, extracted, expected): each extracted item matches at most one expected item."""
    free = list(want)
    hit = 0
    for g in got:
        for i, w in enumerate(free):
            if same(g, w):
                hit += 1
                del free[i]
                break
    return hit, len(got), len(want)


def score(found: Insights, expect: dict[str, Any]) -> dict[str, tuple[int, int, int]]:
    """Per kind: (matched, extracted, expected)."""
    tasks = [t for t in found.tasks if t.kind == "tasks"]
    return {
        "tasks": _count(tasks, expect.get("tasks", []), task_matches),
        "targets": _count(list(found.targets), expect.get("targets", []), target_matches),
        "figures": _count(list(found.figures), expect.get("figures", []), figure_matches),
        "bodies": _count(list(found.bodies), expect.get("bodies", []), lambda g, w: g == w),
    }


def precision_recall(totals: dict[str, list[int]]) -> dict[str, tuple[float, float]]:
    """Per kind: (precision, recall); 1.0 where nothing was extracted or expected."""
    out = {}
    for kind, (hit, got, want) in totals.items():
        out[kind] = (hit / got if got else 1.0, hit / want if want else 1.0)
    return out


def evaluate(cases: list[Case], extract: Any) -> dict[str, dict[str, tuple[float, float]]]:
    """Per part ("own", "tuned", "untouched"): per kind (precision, recall)."""
    sums: dict[str, dict[str, list[int]]] = {}
    for case in cases:
        found = extract(case.article, case.title, case.published)
        part = sums.setdefault(case.part, {k: [0, 0, 0] for k in KINDS})
        for kind, counts in score(found, case.expect).items():
            for i in range(3):
                part[kind][i] += counts[i]
    return {part: precision_recall(totals) for part, totals in sums.items()}
