"""Benchmark of the clean stage against trafilatura, readability-lxml and GNE.

Every extractor gets the same quality corpus as ``tests/test_clean.py`` (the synthetic
``tests/data/articles/*.html`` and the real pages of ``../shared/realdata`` with the facts in
``tests/data/articles/realdata/*.expect.json``; the corpus is loaded by the test module itself,
so the two cannot drift apart). Each extractor's plain-text output is scored the same way:

* boilerplate removed (%): share of the ``must_not_contain`` strings absent from the text,
* paragraphs kept (%): share of the ``must_contain`` snippets present in the text,

both after whitespace normalisation: every whitespace character (U+3000 and NBSP included)
is dropped from the text and from the string looked for, since Chinese prose has no word
spaces and the extractors differ in how they join inline tags (GNE starts a new line at each
link or bold run inside a sentence); the figures with whitespace collapsed to one space
instead are printed too where they differ. A table row in the expectations (cells joined by
tabs) counts as kept when its cells appear in order, whatever separates them.

Also printed, for the whole corpus: boilerplate removed counting only the strings a reader
sees on the input (a plain-text output drops markup, scripts and comments whatever it does);
boilerplate removed leaving out the credit lines (责任编辑/来源/记者 lines, editor codes and
names), which a generic extractor keeps as article text by design; and newsdesk's figures
with the test suite's own measure (plain substring tests, boilerplate absent from
``Article.html`` too).

Inputs: newsdesk gets what it gets in production (a feed item's HTML or a whole page, the
item's URL and title). The baselines want pages, so a feed-item fragment is wrapped in a
minimal ``<html><body>…</body></html>`` page for them; a whole page is passed as it is.

* newsdesk: ``clean_article(html, url=..., title=...).text``
* trafilatura: ``trafilatura.extract(html, url=..., include_comments=False)``
* readability-lxml: ``Document(html).summary()`` → text via lxml (a newline after each block)
* GNE: ``GeneralNewsExtractor().extract(html)["content"]``

Speed is CPU time (``time.process_time``) of the extractor calls alone, one process, one
core: batches of passes over the item set until ``--seconds`` of CPU time, best of
``--repeat`` batches, after one warm-up pass. Measured on the whole corpus and on the feed
items (RSSHub-style bodies without page chrome: the synthetic fragments, and separately
those plus the real Sina feed bodies of the Hexo posts, the set ``test_cleaning_speed`` uses).

Run with the bench venv that has the baselines (they are not newsdesk dependencies):

    python3 -m venv .venv-bench
    .venv-bench/bin/pip install -e . trafilatura readability-lxml gne lxml_html_clean \
        pytest hypothesis
    .venv-bench/bin/python bench/bench_clean.py [--seconds 0.5] [--repeat 5] [--details]

A baseline that cannot be imported is shown as n/a. Takes about a minute.
"""

from __future__ import annotations

import argparse
import logging
import platform
import re
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
try:
    from newsdesk.clean import clean_article
    from newsdesk.clean.extract import is_page
except ImportError:  # not installed: run from a checkout
    sys.path.insert(0, str(ROOT / "src"))
    from newsdesk.clean import clean_article
    from newsdesk.clean.extract import is_page

sys.path.insert(0, str(ROOT / "tests"))
import test_clean as corpus  # noqa: E402  (the tests' corpus loader: needs pytest + hypothesis)
import test_clean_portals as portals  # noqa: E402  (the portal pages, their split and the scorer)
from test_clean import Case  # noqa: E402

# --- extractors ---------------------------------------------------------------------------


@dataclass
class Extractor:
    name: str
    run: Callable[[str, Case], str] | None  # (prepared input, case) -> text; None: not importable
    whole_page: bool = True  # wrap fragments in a page before calling
    error: str = ""
    failures: dict[str, str] = field(default_factory=dict)  # case name -> exception, per run


def _newsdesk(html: str, case: Case) -> str:
    return clean_article(html, url=case.expect["url"], title=case.expect.get("title")).text


def _load_trafilatura() -> Callable[[str, Case], str]:
    import trafilatura

    logging.getLogger("trafilatura").setLevel(logging.CRITICAL)

    def run(html: str, case: Case) -> str:
        return trafilatura.extract(html, url=case.expect["url"], include_comments=False) or ""

    return run


_BLOCKS = (
    "p", "div", "br", "li", "tr", "td", "th", "table", "h1", "h2", "h3", "h4", "h5", "h6",
    "blockquote", "pre", "section", "article", "figure", "figcaption", "ul", "ol", "dd", "dt",
)  # fmt: skip


def _load_readability() -> Callable[[str, Case], str]:
    import lxml.html
    from readability import Document

    logging.getLogger("readability").setLevel(logging.CRITICAL)

    def run(html: str, case: Case) -> str:
        summary = Document(html).summary()
        root = lxml.html.fromstring(summary)
        for el in root.iter(*_BLOCKS):  # keep paragraphs apart, as a reader sees them
            el.tail = "\n" + el.tail if el.tail else "\n"
        return str(root.text_content())

    return run


def _load_gne() -> Callable[[str, Case], str]:
    from gne import GeneralNewsExtractor

    extractor = GeneralNewsExtractor()

    def run(html: str, case: Case) -> str:
        return str(extractor.extract(html).get("content") or "")

    return run


def extractors() -> list[Extractor]:
    out = [Extractor("newsdesk", _newsdesk, whole_page=False)]
    for name, loader in (
        ("trafilatura", _load_trafilatura),
        ("readability-lxml", _load_readability),
        ("GNE", _load_gne),
    ):
        try:
            out.append(Extractor(name, loader()))
        except Exception as exc:  # ImportError and whatever a broken install raises
            out.append(Extractor(name, None, error=f"{type(exc).__name__}: {exc}"))
    return out


def prepare(ex: Extractor, case: Case) -> str:
    if ex.whole_page and not is_page(case.html):
        return f"<html><body>{case.html}</body></html>"
    return case.html


def extract(ex: Extractor, html: str, case: Case) -> str:
    assert ex.run is not None
    try:
        return ex.run(html, case)
    except Exception as exc:  # a baseline that raises on an item simply scores nothing there
        ex.failures[case.name] = f"{type(exc).__name__}: {exc}"[:120]
        return ""


# --- scoring ------------------------------------------------------------------------------


def norm(text: str, *, squeeze: bool = True) -> str:
    """Whitespace normalisation: drop every whitespace character (``squeeze``, the default:
    Chinese prose has no word spaces, and extractors differ in how they join inline tags, GNE
    breaking lines at each link or bold run), or collapse each run of it to one space."""
    return "".join(text.split()) if squeeze else " ".join(text.split())  # U+3000 and NBSP too


def found(needle: str, text: str, *, squeeze: bool = True) -> bool:
    """Whether ``needle`` is in ``text`` (already normalised); a table row (cells joined by tabs
    in the expectations) matches its cells in order, whatever separates them: a tab (newsdesk),
    a newline (readability) or `` | `` (trafilatura's tables)."""
    if "\t" not in needle.strip():
        return norm(needle, squeeze=squeeze) in text
    cells = [re.escape(norm(c, squeeze=squeeze)) for c in needle.split("\t")]
    return re.search(r"[\s|]*".join(cells), text) is not None


_CREDIT = re.compile(r"责任编辑|编辑|责编|来源|记者|^(?:SF|HN)\d+$")


def is_credit(case: Case, needle: str) -> bool:
    """A credit-line string (责任编辑/编辑/来源/记者 lines, editor codes, the editor's, source's and
    reporters' names): boilerplate to newsdesk, which moves it into metadata, but printed text to
    a generic extractor. Used for a second, credit-free boilerplate figure."""
    exp = case.expect
    return (
        bool(_CREDIT.search(needle))
        or needle in {exp.get("editor"), exp.get("source")}
        or (needle in (exp.get("reporters") or []))
    )


def visible_text(case: Case) -> str:
    """What a reader of the input sees (no scripts, styles, comments or markup), normalised:
    boilerplate strings not in it are removed by any extractor that outputs plain text."""
    import lxml.html
    from lxml import etree

    html = case.html if is_page(case.html) else f"<html><body>{case.html}</body></html>"
    root = lxml.html.fromstring(html)
    etree.strip_elements(root, "script", "style", "noscript", etree.Comment, with_tail=False)
    return norm(root.text_content())


@dataclass
class Score:
    removed: int = 0
    boiler: int = 0
    kept: int = 0
    paras: int = 0
    articles: int = 0

    def add(self, other: Score) -> None:
        self.removed += other.removed
        self.boiler += other.boiler
        self.kept += other.kept
        self.paras += other.paras
        self.articles += other.articles

    @property
    def removed_pct(self) -> float:
        return 100.0 * self.removed / max(self.boiler, 1)

    @property
    def kept_pct(self) -> float:
        return 100.0 * self.kept / max(self.paras, 1)


def score(case: Case, text: str, *, html: str = "", squeeze: bool = True) -> tuple[Score, list[str]]:
    """Score one output; also the strings it got wrong (for --details)."""
    t, h = norm(text, squeeze=squeeze), norm(html, squeeze=squeeze)
    lost = [s for s in case.expect["must_contain"] if not found(s, t, squeeze=squeeze)]
    kept_boiler = [
        s
        for s in case.expect["must_not_contain"]
        if found(s, t, squeeze=squeeze) or (h and found(s, h, squeeze=squeeze))
    ]
    sc = Score(
        removed=len(case.expect["must_not_contain"]) - len(kept_boiler),
        boiler=len(case.expect["must_not_contain"]),
        kept=len(case.expect["must_contain"]) - len(lost),
        paras=len(case.expect["must_contain"]),
        articles=1,
    )
    return sc, [f"lost: {s}" for s in lost] + [f"kept boilerplate: {s}" for s in kept_boiler]


# --- speed --------------------------------------------------------------------------------


def best_rate(call: Callable[[], int], seconds: float, repeat: int) -> float:
    """Items per CPU second of ``call`` (one pass over a set, returning its size): best of
    ``repeat`` batches of whole passes lasting at least ``seconds``, after one warm-up pass."""
    call()  # warm-up: imports, caches, compiled patterns
    best = 0.0
    for _ in range(repeat):
        start = time.process_time()
        count = 0
        while True:
            count += call()
            spent = time.process_time() - start
            if spent >= seconds:
                break
        best = max(best, count / spent)
    return best


def speed(ex: Extractor, items: list[tuple[str, Case]], seconds: float, repeat: int) -> float:
    """Articles per CPU second over ``items``."""

    def one_pass() -> int:
        for html, case in items:
            extract(ex, html, case)
        return len(items)

    return best_rate(one_pass, seconds, repeat)


# --- report -------------------------------------------------------------------------------


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def versions() -> str:
    from lxml import etree

    libxml2 = ".".join(map(str, etree.LIBXML_VERSION))
    parts = [f"python {platform.python_version()}"]
    parts += [f"{d} {_version(d)}" for d in ("newsdesk", "trafilatura", "readability-lxml", "gne")]
    parts += [f"lxml {_version('lxml')} (libxml2 {libxml2})"]
    parts += [f"{d} {_version(d)}" for d in ("lxml_html_clean",)]
    parts += [f"{d} {_version(d)}" for d in ("justext", "htmldate", "courlan", "nh3")]
    return ", ".join(parts)


def avg_kb(cases: list[Case]) -> float:
    return sum(len(c.html.encode()) for c in cases) / max(len(cases), 1) / 1024


def _fmt_rate(rate: float | None) -> str:
    if rate is None:
        return "n/a"
    return f"{rate:,.0f}" if rate >= 100 else f"{rate:,.1f}"


# --- portal pages (issue 17): per half, bodies / paragraphs / furniture / metadata / speed -----

_NAMES = re.compile(r"[;；,，、/|｜\s]+")


@dataclass
class PortalResult:
    text: str
    meta: dict[str, object]  # only the fields this extractor reports at all


def _portal_runner(name: str) -> Callable[[portals.Page], PortalResult] | None:
    """Each extractor on a whole portal page: its text, and the metadata it offers (trafilatura:
    author and site name; GNE: author; readability: none)."""
    try:
        if name == "newsdesk":

            def run_nd(page: portals.Page) -> PortalResult:
                art = portals.newsdesk(page)
                meta = {k: getattr(art, k) for k in portals.META_FIELDS}
                return PortalResult(art.text, meta)

            return run_nd
        if name == "trafilatura":
            import trafilatura

            logging.getLogger("trafilatura").setLevel(logging.CRITICAL)

            def run_tr(page: portals.Page) -> PortalResult:
                doc = trafilatura.bare_extraction(page.html, url=page.url, with_metadata=True)
                if doc is None:
                    return PortalResult("", {"reporters": (), "source": None})
                author = [a for a in _NAMES.split(getattr(doc, "author", None) or "") if a]
                return PortalResult(
                    getattr(doc, "text", None) or "",
                    {"reporters": tuple(author), "source": getattr(doc, "sitename", None)},
                )

            return run_tr
        if name == "readability-lxml":
            read = _load_readability()
            return lambda page: PortalResult(read(page.html, None), {})  # type: ignore[arg-type]
        if name == "GNE":
            from gne import GeneralNewsExtractor

            gne = GeneralNewsExtractor()

            def run_gne(page: portals.Page) -> PortalResult:
                out = gne.extract(page.html)
                author = [a for a in _NAMES.split(str(out.get("author") or "")) if a]
                return PortalResult(str(out.get("content") or ""), {"reporters": tuple(author)})

            return run_gne
    except Exception:  # not importable in this venv
        return None
    return None


def _portal_meta(page: portals.Page, meta: dict[str, object]) -> list[tuple[str, bool, object]]:
    out = []
    for key, ok, got in portals.meta_checks(page, _MetaView(meta)):  # type: ignore[arg-type]
        if key in meta:
            out.append((key, ok, got))
    return out


class _MetaView:
    """An Article stand-in for ``meta_checks``: fields an extractor lacks read as None/()."""

    def __init__(self, meta: dict[str, object]) -> None:
        self.meta = meta

    def __getattr__(self, key: str) -> object:
        return self.meta.get(key, () if key == "reporters" else None)


def portal_report(names: list[str], seconds: float, repeat: int, details: str) -> None:
    if not portals.HAVE_PORTALS:
        print(f"note: {portals.NO_PORTALS}; no portal report\n")
        return
    halves = {h: portals.half(h) for h in ("tuning", "untouched")}
    print("## Portal pages (../shared/portals, split by portal; tuned on the tuning half only)\n")
    print(
        "| half | extractor | bodies found | paragraphs kept | pages with furniture left "
        "| furniture strings left | credit lines left | metadata fields right | articles/s |"
    )
    print("| --- |" + " --- |" * 8)
    rates: dict[tuple[str, str], float] = {}
    scores: dict[tuple[str, str], portals.Score] = {}
    for half_name, pages in halves.items():
        for name in names:
            run = _portal_runner(name)
            if run is None:
                print(f"| {half_name} | {name} |" + " n/a |" * 7)
                continue
            sc = portals.Score()
            for page in pages:
                try:
                    res = run(page)
                except Exception:  # a baseline raising on a page scores nothing there
                    res = PortalResult("", {})
                meta = _portal_meta(page, res.meta) if name != "newsdesk" else None
                if name == "newsdesk":
                    meta = portals.meta_checks(page, portals.newsdesk(page))
                portals.score_text(page, res.text, sc, meta=meta)
            scores[(half_name, name)] = sc
            rate = _portal_speed(run, pages, seconds, repeat) if seconds > 0 else 0.0
            rates[(half_name, name)] = rate
            meta_cell = (
                f"{sc.meta_right}/{sc.meta} ({sc.pct(sc.meta_right, sc.meta):.0f}%)" if sc.meta else "—"
            )
            print(
                f"| {half_name} ({sc.pages}) | {name} | {sc.bodies}/{sc.pages} | {sc.kept}/{sc.paragraphs} "
                f"({sc.pct(sc.kept, sc.paragraphs):.1f}%) | {sc.furniture_pages}/{sc.pages} | "
                f"{sc.furniture_left}/{sc.furniture} | {sc.credit_left}/{sc.credit} | {meta_cell} | "
                f"{_fmt_rate(rate) if seconds > 0 else 'n/a'} |"
            )
    print("\nTargets on the untouched half (newsdesk):")
    nd = scores.get(("untouched", "newsdesk"))
    if nd is not None:
        traf = rates.get(("untouched", "trafilatura"), 0.0)
        mine = rates.get(("untouched", "newsdesk"), 0.0)
        checks = [
            (f"bodies found 100% ({nd.bodies}/{nd.pages})", nd.bodies == nd.pages),
            (
                f"paragraphs kept ≥ 99% ({nd.pct(nd.kept, nd.paragraphs):.1f}%)",
                nd.pct(nd.kept, nd.paragraphs) >= 99,
            ),
            (
                f"furniture on at most 1 page in 10 ({nd.furniture_pages}/{nd.pages})",
                nd.furniture_pages * 10 <= nd.pages,
            ),
            (
                f"metadata fields right ≥ 90% ({nd.pct(nd.meta_right, nd.meta):.1f}%)",
                nd.pct(nd.meta_right, nd.meta) >= 90,
            ),
        ]
        if traf and mine:
            checks.append((f"speed ≥ 3× trafilatura ({mine / traf:.1f}×)", mine >= 3 * traf))
        for text, ok in checks:
            print(f"- {text}: {'met' if ok else 'NOT met'}")
    if details:
        print(f"\n### Details, {details} half\n")
        for name in names:
            sc = scores.get((details, name))
            if sc is None:
                continue
            print(f"#### {name}")
            for page_name, problems in sc.misses.items():
                print(f"- {page_name}: " + "; ".join(p[:90] for p in problems))
    print()


def _portal_speed(
    run: Callable[[portals.Page], PortalResult], pages: list[portals.Page], seconds: float, repeat: int
) -> float:
    """Pages per CPU second over ``pages``."""

    def one_pass() -> int:
        for page in pages:
            try:
                run(page)
            except Exception:  # a baseline raising on a page: the time spent still counts
                continue
        return len(pages)

    return best_rate(one_pass, seconds, repeat)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=0.5, help="CPU seconds per timed batch")
    ap.add_argument("--repeat", type=int, default=5, help="timed batches (best is reported)")
    ap.add_argument("--details", action="store_true", help="list every lost/kept string per extractor")
    ap.add_argument("--no-speed", action="store_true", help="quality only")
    ap.add_argument("--portals-only", action="store_true", help="only the portal-page report (issue 17)")
    ap.add_argument(
        "--portal-details",
        choices=["", "tuning", "untouched"],
        default="",
        help="list each portal page's misses for one half (tuning: to tune; untouched: to report)",
    )
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    print(f"Versions: {versions()}\n")
    portal_report(
        ["newsdesk", "trafilatura", "readability-lxml", "GNE"],
        0.0 if args.no_speed else args.seconds,
        args.repeat,
        args.portal_details,
    )
    if args.portals_only:
        return 0

    cases: list[Case] = list(corpus.SYNTHETIC)
    if corpus.HAVE_REALDATA:
        cases += corpus.REAL
    else:
        print(f"note: {corpus.NO_REALDATA}; scoring the synthetic items only\n")
    groups: dict[str, list[Case]] = {
        "Sina pages": [c for c in cases if c.real and c.sina],
        "other real pages": [c for c in cases if c.real and not c.sina],
        "synthetic items": [c for c in cases if not c.real],
        "whole corpus": cases,
        "all Sina (tests' group)": [c for c in cases if c.sina],
    }
    synthetic_feed = [c for c in corpus.SYNTHETIC if not is_page(c.html)]
    test_feed = synthetic_feed + [c for c in cases if c.real and c.name.startswith("hexo_")]
    exs = extractors()

    # Quality: one extraction per extractor and item, scored both ways.
    scores: dict[str, dict[str, Score]] = {}
    collapsed: dict[str, Score] = {}  # whole corpus, whitespace collapsed instead of dropped
    no_credit: dict[str, Score] = {}  # whole corpus, credit-line strings not counted
    seen: dict[str, Score] = {}  # whole corpus, only boilerplate a reader sees on the input
    shown = {c.name: visible_text(c) for c in cases}
    misses: dict[str, dict[str, list[str]]] = {}
    for ex in exs:
        if ex.run is None:
            continue
        per_case: dict[str, Score] = {}
        misses[ex.name] = {}
        collapsed[ex.name] = Score()
        no_credit[ex.name] = Score()
        seen[ex.name] = Score()
        for case in cases:
            text = extract(ex, prepare(ex, case), case)
            t = norm(text)
            chrome = [s for s in case.expect["must_not_contain"] if not is_credit(case, s)]
            no_credit[ex.name].add(
                Score(removed=sum(not found(s, t) for s in chrome), boiler=len(chrome), articles=1)
            )
            on_show = [s for s in case.expect["must_not_contain"] if found(s, shown[case.name])]
            seen[ex.name].add(
                Score(removed=sum(not found(s, t) for s in on_show), boiler=len(on_show), articles=1)
            )
            sc, wrong = score(case, text)
            per_case[case.name] = sc
            collapsed[ex.name].add(score(case, text, squeeze=False)[0])
            if wrong:
                misses[ex.name][case.name] = wrong
        scores[ex.name] = {}
        for group, members in groups.items():
            total = Score()
            for case in members:
                total.add(per_case[case.name])
            scores[ex.name][group] = total
    # The test suite's own measure for newsdesk: plain substring tests, no normalisation, and
    # boilerplate must be absent from the html too.
    tests_measure = Score()
    for case in cases:
        art = clean_article(case.html, url=case.expect["url"], title=case.expect.get("title"))
        must, must_not = case.expect["must_contain"], case.expect["must_not_contain"]
        tests_measure.add(
            Score(
                removed=sum(s not in art.text and s not in art.html for s in must_not),
                boiler=len(must_not),
                kept=sum(s in art.text for s in must),
                paras=len(must),
                articles=1,
            )
        )

    # Speed (only extractors that could be imported get a row of numbers).
    speed_sets = {"corpus": cases, "feed": synthetic_feed, "feed+hexo": test_feed}
    rates: dict[str, dict[str, float]] = {}
    if not args.no_speed:
        for ex in exs:
            if ex.run is not None:
                rates[ex.name] = {
                    key: speed(ex, [(prepare(ex, c), c) for c in items], args.seconds, args.repeat)
                    for key, items in speed_sets.items()
                }

    # Output.
    print("## Quality: boilerplate removed % / paragraphs kept %\n")
    head = " | ".join(f"{g} ({len(m)})" for g, m in groups.items())
    print(f"| extractor | {head} |")
    print("| --- |" + " --- |" * len(groups))
    for ex in exs:
        if ex.run is None:
            print(f"| {ex.name} |" + " n/a |" * len(groups))
            continue
        cells = []
        for group in groups:
            sc = scores[ex.name][group]
            cells.append(f"{sc.removed_pct:.1f} / {sc.kept_pct:.1f}" if sc.articles else "—")
        print(f"| {ex.name} | " + " | ".join(cells) + " |")
    all_sc = scores["newsdesk"]["whole corpus"]
    print(
        f"\nWhole corpus: {all_sc.boiler} boilerplate strings, {all_sc.paras} paragraph snippets. "
        "Whitespace dropped before matching."
    )
    for name, sc in collapsed.items():
        whole = scores[name]["whole corpus"]
        if (sc.removed, sc.kept) != (whole.removed, whole.kept):
            print(
                f"- {name}, whitespace collapsed to one space instead: "
                f"{sc.removed_pct:.1f} / {sc.kept_pct:.1f} on the whole corpus"
            )
    print(
        "- boilerplate removed, only strings a reader sees on the input (not markup, scripts or "
        + f"comments; {seen['newsdesk'].boiler} strings): "
        + ", ".join(f"{name} {sc.removed_pct:.1f}" for name, sc in seen.items())
    )
    print(
        "- boilerplate removed with credit lines not counted ("
        + f"{no_credit['newsdesk'].boiler} strings): "
        + ", ".join(f"{name} {sc.removed_pct:.1f}" for name, sc in no_credit.items())
    )
    print(
        f"- newsdesk with the test suite's measure (no normalisation; boilerplate absent from text "
        f"and html): {tests_measure.removed_pct:.1f} / {tests_measure.kept_pct:.1f}"
    )

    nd = rates.get("newsdesk", {})
    traf = rates.get("trafilatura", {})
    if rates:
        print(
            f"\n## Speed: articles per CPU second (one core, best of {args.repeat} batches "
            f"of ≥ {args.seconds:g} s)\n"
        )
        cols = {
            "corpus": "whole corpus",
            "feed": "synthetic feed items",
            "feed+hexo": "feed items + Hexo Sina bodies",
        }
        head = " | ".join(
            f"{title} ({len(speed_sets[key])}, {avg_kb(speed_sets[key]):.1f} KB avg)"
            for key, title in cols.items()
        )
        print(f"| extractor | {head} |")
        print("| --- |" + " --- |" * len(cols))
        for ex in exs:
            row = rates.get(ex.name)
            cells = [_fmt_rate(row[key]) if row else "n/a" for key in cols]
            print(f"| {ex.name} | " + " | ".join(cells) + " |")
        if traf:
            print(
                "\nnewsdesk / trafilatura: "
                + ", ".join(f"{nd[key] / traf[key]:.1f}× on {title}" for key, title in cols.items())
            )

    # Verdict on the targets.
    print("\n## Targets\n")
    sina = scores["newsdesk"]["Sina pages"]
    checks: list[tuple[str, bool | None]] = [
        ("Sina pages: 100% boilerplate removed", sina.removed_pct == 100.0 if sina.articles else None),
        ("Sina pages: ≥ 99% paragraphs kept", sina.kept_pct >= 99.0 if sina.articles else None),
    ]
    for ex in exs:
        if ex.name == "newsdesk":
            continue
        if ex.run is None:
            checks.append((f"whole corpus: better than {ex.name} on both", None))
            continue
        other = scores[ex.name]["whole corpus"]
        checks.append(
            (
                f"whole corpus: better than {ex.name} on both "
                f"({all_sc.removed_pct:.1f} vs {other.removed_pct:.1f}, "
                f"{all_sc.kept_pct:.1f} vs {other.kept_pct:.1f})",
                all_sc.removed_pct > other.removed_pct and all_sc.kept_pct > other.kept_pct,
            )
        )
    if nd:
        checks.append(
            (
                f"≥ 1,000 feed items/s per core ({_fmt_rate(nd['feed'])} synthetic, "
                f"{_fmt_rate(nd['feed+hexo'])} with the Hexo Sina bodies)",
                min(nd["feed"], nd["feed+hexo"]) >= 1000,
            )
        )
        checks.append(
            (
                "≥ 3× trafilatura's speed, on feed items and on the whole corpus",
                all(nd[key] >= 3 * traf[key] for key in ("feed", "corpus")) if traf else None,
            )
        )
    for text, ok in checks:
        mark = "n/a" if ok is None else ("met" if ok else "NOT met")
        print(f"- {text}: {mark}")

    print(f"\nVersions: {versions()}")
    for ex in exs:
        if ex.run is None:
            print(f"{ex.name}: not importable ({ex.error})")
        elif ex.failures:
            print(
                f"{ex.name}: raised on {len(ex.failures)} item(s): "
                + "; ".join(f"{k} ({v})" for k, v in sorted(ex.failures.items()))
            )

    if args.details:
        print("\n## Details\n")
        for name, per in misses.items():
            print(f"### {name}")
            for case_name, wrong in per.items():
                print(f"- {case_name}:")
                for w in wrong:
                    print(f"    - {w[:100]}")
            print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
