"""The XSS corpus (tests/data/xss/vectors.json) through everything a reader sees.

Each vector goes into a feed item's title and body (between two ordinary Chinese paragraphs);
the items are served by the real test server, fetched by `newsdesk run` with `clean: true` into
Hexo posts, rendered by real Hexo (landscape theme), built into the static site by
`newsdesk build`, and every page is opened in Debian's Chromium: each article page of both
outputs, and every list page (Hexo with `per_page: 0`, so its index holds every post).

A vector's payload calls ``__xss(N)`` (N: its number), defined by an init script in every frame
together with hooks on ``alert``/``confirm``/``prompt``/``print``/``window.open``; dialogs,
popups, navigations and requests are watched too. On every page: nothing ran, nothing navigated
or opened, no request left 127.0.0.1 (beyond what the theme itself asks for on a page without
any vector), no ``on*`` attribute, ``srcdoc``, ``<base>``, ``<meta http-equiv>``, CSS
``expression``/``javascript:`` or ``javascript:``/``vbscript:``/``data:text/html`` URL in the live
DOM of any frame, and both ordinary paragraphs are shown as paragraphs. `test_the_watch_sees_raw_vectors`
shows that the same watch catches each kind of vector on a page that does no cleaning.

Screenshots of one article page of each output go to ``test-output/xss/`` (gitignored).
Run alone: ``.venv/bin/pytest tests/test_xss.py`` (about a minute warm).
"""

from __future__ import annotations

import base64
import functools
import http.server
import json
import re
import shutil
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit
from xml.sax.saxutils import escape

import pytest

from cli_helpers import feeds_yaml, run_cli
from newsdesk.models import entry_uid
from newsdesk.publish.site.model import article_path
from server import FeedServer
from test_browser import ARGS as BROWSER_ARGS
from test_hexo_real import NODE, NPM, hexo_generate, install_hexo, make_site

sync_api = pytest.importorskip("playwright.sync_api")
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(NODE is None or NPM is None, reason="Node.js and npm are needed to run Hexo"),
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed"),
]

HERE = Path(__file__).resolve().parent
CORPUS = HERE / "data" / "xss" / "vectors.json"
SHOTS = HERE.parent / "test-output" / "xss"

# The browser tests' flags (no sandbox as root, no calls home), and
# no host name resolves, so nothing but 127.0.0.1 is reachable (requests are still seen).
ARGS = ["--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1", *BROWSER_ARGS]

GROUP, SITE = "安全", "过滤测试"
# Vectors spread over a few feeds (so list pages of several feeds are checked); vectors with
# characters XML 1.0 cannot carry at all get a feed of their own, so a feed the parser gives up
# on loses only them.
FEEDS = ["脚本与事件", "链接与样式", "变异与标记"]
BAD_XML_FEED = "控制字符"
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")
CONTROL_ID = "v000"  # an ordinary item: what the theme itself requests is measured on its page

# The categories of OWASP's XSS filter-evasion cheat sheet, the HTML5 mutation vectors, and
# what Hexo adds (Markdown, Nunjucks); the corpus must cover each.
CATEGORIES = {
    "script-tag",
    "event-handler",
    "url-scheme",
    "frame",
    "form",
    "base-meta",
    "css",
    "link-object-embed",
    "svg",
    "math",
    "mutation",
    "template",
    "markdown",
    "page",
}


@dataclass(frozen=True)
class Vector:
    id: str
    category: str
    html: str
    note: str = ""
    # "around": paragraph, vector, paragraph. "flash": the vector first, then two short
    # paragraphs (a news flash), too little prose for cleaning to find an article body.
    layout: str = "around"

    @property
    def num(self) -> int:
        return int(self.id[1:])

    @property
    def first(self) -> str:
        if self.layout == "flash":
            return f"快讯{self.num}：降准。"
        return f"第{self.num}号样本开头：人民银行今日开展公开市场操作，市场流动性保持合理充裕。"

    @property
    def last(self) -> str:
        if self.layout == "flash":
            return f"完{self.num}。"
        return f"第{self.num}号样本结尾：分析人士认为，下一阶段稳健的货币政策将更加灵活适度。"

    @property
    def body(self) -> str:
        if self.layout == "flash":
            return f"{self.html}\n<p>{self.first}</p>\n<p>{self.last}</p>"
        return f"<p>{self.first}</p>\n{self.html}\n<p>{self.last}</p>"


def load_corpus() -> list[Vector]:
    return [Vector(**v) for v in json.loads(CORPUS.read_text(encoding="utf-8"))]


VECTORS = load_corpus()
CONTROL = Vector(CONTROL_ID, "control", "<p>没有任何脚本的普通段落。</p>")


def test_corpus_covers_the_cheat_sheet() -> None:
    ids = [v.id for v in VECTORS]
    assert len(VECTORS) >= 100
    assert len(set(ids)) == len(ids) and ids == [f"v{i:03d}" for i in range(1, len(ids) + 1)]
    assert {v.category for v in VECTORS} == CATEGORIES
    # Every vector does something observable with its own number: calls __xss(N) (possibly
    # encoded or built) or reaches for http://xss.invalid/N.
    for v in VECTORS:
        decoded = [base64.b64decode(b).decode() for b in re.findall(r"(?i)base64,([\w+/=]+)", v.html)]
        assert re.search(rf"[(/]{v.num}\b", " ".join([v.html, *decoded])), v


# -- the feeds ------------------------------------------------------------------------------


def feed_of(v: Vector) -> str:
    if _XML_ILLEGAL.search(v.html):
        return BAD_XML_FEED
    return FEEDS[(v.num - 1) % len(FEEDS)]


def rss(vectors: list[Vector], base: str) -> str:
    # Titles: what the item's title must show is the vector itself as text, so it is sent
    # entity-encoded (newsdesk strips tags from titles and then decodes entities) and then
    # XML-escaped. Bodies: XML-escaped, not CDATA, since some vectors hold "]]>".
    items = "".join(
        f"<item><title>{escape(escape(v.html))}</title><link>{base}/a/{v.id}.html</link>"
        f"<guid>{v.id}</guid><pubDate>Mon, 20 Dec 2021 {v.num % 24:02d}:{v.num % 60:02d}:00 GMT</pubDate>"
        f"<description>{escape(v.body)}</description></item>"
        for v in vectors
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>xss</title>'
        f"<link>{base}/</link>{items}</channel></rss>"
    )


# -- serving the outputs ------------------------------------------------------------------------


class _Quiet(http.server.SimpleHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: a page's scripts and styles on one connection

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _Server(http.server.ThreadingHTTPServer):
    # The browser keeps its connections open: closing must not wait for their threads.
    daemon_threads = True
    block_on_close = False


class Static:
    """A folder served over HTTP on 127.0.0.1 (Hexo's pages link from the root, so not file://)."""

    def __init__(self, folder: Path) -> None:
        handler = functools.partial(_Quiet, directory=str(folder))
        self.httpd = _Server(("127.0.0.1", 0), handler)
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> Static:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(10)


# -- the watch -----------------------------------------------------------------------------------

# In every frame before any of its scripts: the payload's target and the usual sinks.
HOOKS = """
(() => {
  const report = (kind, value) => { try { window.__xssReport(kind + ":" + String(value)); } catch (e) {} };
  window.__xss = (n) => report("xss", n);
  for (const name of ["alert", "confirm", "prompt", "print"]) {
    window[name] = (v) => { report(name, v); return null; };
  }
  window.open = (u) => { report("open", u); return null; };
})();
"""

# What must not be in the live DOM of any frame (shadow roots included).
WALK = r"""
() => {
  const bad = [];
  const norm = (s) => s.replace(/[\u0000-\u0020\u007f]+/g, "").toLowerCase();
  const risky = /^(javascript:|vbscript:|livescript:|data:text\/html|data:image\/svg|data:application)/;
  const visit = (root) => {
    for (const el of root.querySelectorAll("*")) {
      const tag = el.localName;
      for (const a of el.attributes) {
        const name = a.name.toLowerCase(), value = norm(a.value);
        if (name.startsWith("on")) bad.push(`${tag}[${name}]`);
        else if (name === "srcdoc") bad.push(`${tag}[srcdoc]`);
        else if (risky.test(value)) bad.push(`${tag}[${name}=${value.slice(0, 40)}]`);
        else if (name === "style" && /expression\(|javascript:|behavior:|-moz-binding/.test(value))
          bad.push(`${tag}[style=${value.slice(0, 40)}]`);
      }
      if (tag === "base") bad.push("base");
      if (tag === "meta" && el.hasAttribute("http-equiv")) bad.push(`meta[http-equiv=${el.getAttribute("http-equiv")}]`);
      if ((tag === "script" || tag === "style") && /__xss|xss\.invalid|javascript:|expression\(/.test(el.textContent))
        bad.push(`${tag}:${norm(el.textContent).slice(0, 40)}`);
      if (["iframe", "frame", "object", "embed", "applet"].includes(tag)) bad.push(tag);
      if (el.shadowRoot) visit(el.shadowRoot);
    }
  };
  visit(document);
  return bad;
}
"""

# All checks of a page in one round trip, after "load" and once timers of 0, autofocus and
# late error handlers had their turn (a 0-second meta refresh that fires later interrupts the
# visit's move to about:blank, which charges it to the visit): the live DOM's dangerous
# markup, which expected paragraphs no <p> of the body (outside code blocks) shows, and
# the headline as shown.
CHECK = (
    """
async ([selector, wanted, title]) => {
  // Frames are not drawn in a page that lost the focus (to a popup): the timer ends the wait then.
  await new Promise((done) => {
    requestAnimationFrame(() => requestAnimationFrame(() => setTimeout(done, 0)));
    setTimeout(done, 300);
  });
  const dom = ("""
    + WALK
    + """)();
  const body = selector && document.querySelector(selector);
  const shown = body ? [...body.querySelectorAll("p")]
    .filter((p) => !p.closest("pre, code"))
    .map((p) => p.textContent.replace(/\\s+/g, " ")) : [];
  // Shown as a paragraph, not as literal markup around it (what <xmp>/<plaintext> do).
  const missing = wanted.filter((w) => !shown.some((t) => t.includes(w) && !/[<>]/.test(t)));
  const head = title && document.querySelector(title);
  return {dom, missing, title: head ? head.innerText.replace(/\\s+/g, " ").trim() : null};
}
"""
)


@dataclass
class Seen:
    """What one page did in the browser."""

    label: str
    ran: list[str] = field(default_factory=list)  # __xss ids and hooked sinks that were called
    dialogs: list[str] = field(default_factory=list)
    navigations: list[str] = field(default_factory=list)
    popups: list[str] = field(default_factory=list)
    foreign: list[str] = field(default_factory=list)  # requests for hosts other than 127.0.0.1
    dom: list[str] = field(default_factory=list)  # dangerous markup in the live DOM
    missing: list[str] = field(default_factory=list)  # ordinary paragraphs not shown
    title: str | None = None  # the headline as shown (article pages)

    def executed(self) -> list[str]:
        return self.ran + [f"dialog:{d}" for d in self.dialogs] + [f"popup:{p}" for p in self.popups]


def _is_local(url: str) -> bool:
    if url.startswith(("data:", "about:", "blob:")):
        return True  # no network; a data: document is caught by the DOM walk and the hooks
    return urlsplit(url).hostname == "127.0.0.1"


class Watch:
    """One browser page visiting URLs in turn; events are charged to the visit they happen in.

    Each visit ends on about:blank, which unloads the page with whatever it had scheduled (a
    meta refresh, a timer): a navigation it starts before that is charged to it."""

    def __init__(self, context: Any) -> None:
        self.current = Seen("(none)")
        context.expose_binding("__xssReport", lambda _source, value: self.current.ran.append(str(value)))
        context.add_init_script(HOOKS)
        self.context = context
        self.page: Any = None
        self._fresh_page()
        self.expected: str | None = None  # the visit's own URL until it is committed

    def _fresh_page(self) -> None:
        if self.page is not None:
            self.page.close()
        self.page = page = self.context.new_page()
        page.set_default_timeout(15_000)
        page.on("dialog", self._dialog)
        page.on("popup", lambda p: self.current.popups.append(p.url))
        page.on("request", self._request)
        page.on("framenavigated", self._navigated)

    def _request(self, request: Any) -> None:
        if not _is_local(request.url):
            self.current.foreign.append(request.url)

    def _dialog(self, dialog: Any) -> None:
        self.current.dialogs.append(f"{dialog.type}:{dialog.message}")
        dialog.dismiss()

    def _navigated(self, frame: Any) -> None:
        if frame != self.page.main_frame:
            return
        if frame.url == self.expected:
            self.expected = None  # the visit itself
        else:
            self.current.navigations.append(frame.url)  # anything after it, the same URL too

    def visit(
        self, label: str, url: str, *, body: str | None = None, wanted: Sequence[str] = (), title: str = ""
    ) -> Seen:
        seen = self.current = Seen(label)
        # As the browser reports it: percent-encoded.
        url = self.expected = quote(url, safe=":/?=&%#")
        page = self.page
        try:
            page.goto(url, wait_until="load")
            found = page.evaluate(CHECK, [body, list(wanted), title])
            if not seen.navigations:
                seen.dom, seen.missing, seen.title = found["dom"], found["missing"], found["title"]
                for frame in page.frames[1:]:
                    seen.dom += frame.evaluate(f"({WALK})()")
        except sync_api.Error as e:  # a navigation away interrupts the load or the checks
            seen.navigations.append(f"interrupted: {str(e).splitlines()[0]}")
        self.expected = "about:blank"
        try:
            page.goto("about:blank")
        except sync_api.Error as e:
            seen.navigations.append(f"interrupted: {str(e).splitlines()[0]}")
        self.expected = None
        if seen.navigations:
            self._fresh_page()  # whatever is still on its way cannot reach the next visit
        return seen

    def show(self, url: str) -> None:
        """Load ``url`` and leave it shown (for a screenshot)."""
        self.current = Seen("(shown)")
        self.page.goto(quote(url, safe=":/?=&%#"), wait_until="load")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def watch(browser: Any) -> Iterator[Watch]:
    context = browser.new_context(viewport={"width": 1000, "height": 900})
    try:
        yield Watch(context)
    finally:
        context.close()


# -- the watch works ------------------------------------------------------------------------------

RAW = {
    "script": "<script>__xss(1)</script>",
    "onerror": "<img src=nothing.png onerror=__xss(2)>",
    "autofocus": "<input autofocus onfocus=__xss(3)>",
    "srcdoc": '<iframe srcdoc="&lt;script&gt;__xss(4)&lt;/script&gt;"></iframe>',
    "alert": "<script>alert(5)</script>",
    "href": '<a href="jav&#x09;ascript:__xss(6)">x</a>',
    "style": "<link rel=stylesheet href=http://xss.invalid/7.css>",
}


def test_the_watch_sees_raw_vectors(tmp_path: Path, watch: Watch) -> None:
    """The same checks on pages that do no cleaning: each kind of vector is seen."""
    for name, vector in RAW.items():
        (tmp_path / f"{name}.html").write_text(f"<!doctype html><p>x</p>{vector}", encoding="utf-8")
    (tmp_path / "refresh.html").write_text(
        '<!doctype html><meta http-equiv="refresh" content="0; URL=http://xss.invalid/8">', encoding="utf-8"
    )
    with Static(tmp_path) as static:
        seen = {name: watch.visit(name, f"{static.base}{name}.html") for name in [*RAW, "refresh"]}
    assert seen["script"].ran == ["xss:1"]
    assert seen["onerror"].ran == ["xss:2"]
    assert seen["autofocus"].ran == ["xss:3"]
    assert seen["srcdoc"].ran == ["xss:4"] and "iframe[srcdoc]" in seen["srcdoc"].dom
    assert seen["alert"].ran == ["alert:5"]
    assert seen["href"].ran == [] and seen["href"].dom == ["a[href=javascript:__xss(6)]"]
    assert seen["style"].foreign == ["http://xss.invalid/7.css"]
    assert seen["refresh"].navigations and seen["refresh"].foreign == ["http://xss.invalid/8"]


# -- the corpus, published --------------------------------------------------------------------------


@dataclass
class Published:
    vectors: dict[str, Vector]  # by entry uid
    hexo_posts: dict[str, str]  # uid → the post page's path under public/
    hexo_lists: list[str]  # every other page Hexo made
    site_lists: list[str]  # every site page that is not an article page
    hexo: Path
    site: Path
    report: dict[str, Any]


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> Published:
    root = tmp_path_factory.mktemp("xss")
    hexo = make_site(root / "hexo", install_hexo())
    config_yml = hexo / "_config.yml"
    # One page per list: the index then holds every post, so one visit checks them all.
    config_yml.write_text(config_yml.read_text(encoding="utf-8") + "per_page: 0\n", encoding="utf-8")
    everything = [CONTROL, *VECTORS]
    by_feed: dict[str, list[Vector]] = {}
    for v in everything:
        by_feed.setdefault(feed_of(v) if v is not CONTROL else FEEDS[0], []).append(v)
    with FeedServer() as server:
        feeds = [
            (GROUP, SITE, name, server.route(f"/feed{i}.xml", rss(vs, server.url("").rstrip("/"))))
            for i, (name, vs) in enumerate(by_feed.items())
        ]
        head = ["database: archive.db", "hexo_dir: source/_posts", "site_dir: site", "fetch:", "  retries: 0"]
        config = hexo / "newsdesk.yaml"
        config.write_text(feeds_yaml(feeds, clean=True, head=head), encoding="utf-8")
        proc = run_cli(config, "run", "--json", check=False, timeout=180)
    assert "Traceback" not in proc.stderr, proc.stderr
    report = json.loads(proc.stdout)
    vectors = {entry_uid(f"{GROUP}/{SITE}/{name}", v.id): v for name, vs in by_feed.items() for v in vs}
    hexo_generate(hexo)
    public = hexo / "public"
    posts = {p.parent.name: p.relative_to(public).as_posix() for p in public.glob("*/*/*/*/index.html")}
    # With per_page 0 these two hold every post (in full) and every title; the category and
    # date pages repeat the same partials.
    lists = ["index.html", "archives/index.html"]
    build = run_cli(config, "build", "--json", timeout=180)
    assert json.loads(build.stdout)
    site = hexo / "site"
    # A list item is rendered once per build and reused on every list page that shows it: the
    # pages of the feeds' folders show each item once; the top pages show the rest of the chrome.
    site_lists = sorted(
        [p.relative_to(site).as_posix() for p in site.glob("c/*/*/*/*.html")]
        + [p.name for p in site.glob("*.html")]
        + ["archive/index.html"]
    )
    return Published(
        vectors,
        posts,
        lists,
        site_lists,
        hexo,
        site,
        report,
    )


def test_every_vector_is_published(published: Published) -> None:
    assert published.report["totals"]["failed"] == 0, published.report
    unpublished = sorted(v.id for uid, v in published.vectors.items() if uid not in published.hexo_posts)
    assert unpublished == [], published.report
    site_missing = sorted(
        v.id for uid, v in published.vectors.items() if not (published.site / article_path(uid)).exists()
    )
    assert site_missing == []


@dataclass
class Visits:
    articles: dict[str, Seen]  # vector id → its article page
    lists: dict[str, Seen]  # page path → what it did
    baseline: set[str]  # foreign requests of the control article (the theme's own)


def _visit_all(
    watch: Watch,
    base: str,
    posts: dict[str, str],
    lists: list[str],
    body: str,
    vectors: dict[str, Vector],
    title_selector: str,
) -> Visits:
    articles: dict[str, Seen] = {}
    for uid, path in posts.items():
        v = vectors.get(uid)
        if v is None:
            continue
        articles[v.id] = watch.visit(
            v.id, base + path, body=body, wanted=[v.first, v.last], title=title_selector
        )
    control = articles.pop(CONTROL_ID)
    assert control.executed() == [] and control.dom == [] and control.missing == [], control
    listed = {path: watch.visit(path, base + path) for path in lists}
    return Visits(articles, listed, set(control.foreign))


@pytest.fixture(scope="module")
def browsed(published: Published, browser: Any) -> dict[str, Visits]:
    context = browser.new_context(viewport={"width": 1000, "height": 900})
    watch = Watch(context)
    out: dict[str, Visits] = {}
    try:
        with Static(published.hexo / "public") as hexo, Static(published.site) as site:
            out["hexo"] = _visit_all(
                watch,
                hexo.base,
                published.hexo_posts,
                published.hexo_lists,
                ".article-entry",
                published.vectors,
                "header .article-title",
            )
            site_posts = {uid: article_path(uid) for uid in published.vectors}
            out["site"] = _visit_all(
                watch, site.base, site_posts, published.site_lists, ".body", published.vectors, "h1"
            )
            out["site"].lists["search.html?q=样本"] = watch.visit("search", site.base + "search.html?q=样本")
            _screenshots(
                watch,
                hexo.base + published.hexo_posts[_uid_of(published, "v001")],
                site.base + article_path(_uid_of(published, "v001")),
            )
    finally:
        context.close()
    return out


def _uid_of(published: Published, vid: str) -> str:
    return next(uid for uid, v in published.vectors.items() if v.id == vid)


def _screenshots(watch: Watch, hexo_url: str, site_url: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    for name, url in (("hexo-post", hexo_url), ("site-article", site_url)):
        watch.show(url)
        watch.page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def _grouped(failures: dict[str, list[str]], vectors: list[Vector]) -> str:
    """Failures as lines 'vNNN [category] vector → what happened', for the report."""
    by_id = {v.id: v for v in vectors}
    lines = []
    for vid, what in sorted(failures.items()):
        v = by_id.get(vid)
        head = f"{vid} [{v.category}] {v.html[:70]!r}" if v else vid
        lines.append(f"{head} → {what}")
    return "\n".join(lines)


SURFACES = ["hexo", "site"]


@pytest.mark.parametrize("surface", SURFACES)
def test_nothing_runs_navigates_or_calls_out(browsed: dict[str, Visits], surface: str) -> None:
    visits = browsed[surface]
    failures: dict[str, list[str]] = {}
    for label, seen in [*visits.articles.items(), *visits.lists.items()]:
        foreign = [u for u in seen.foreign if u not in visits.baseline]
        what = (
            seen.executed() + [f"navigated:{n}" for n in seen.navigations] + [f"request:{u}" for u in foreign]
        )
        if what:
            failures[label] = what
    assert not failures, "\n" + _grouped(failures, VECTORS)


@pytest.mark.parametrize("surface", SURFACES)
def test_no_dangerous_markup_in_the_live_dom(browsed: dict[str, Visits], surface: str) -> None:
    visits = browsed[surface]
    failures = {
        label: seen.dom for label, seen in [*visits.articles.items(), *visits.lists.items()] if seen.dom
    }
    assert not failures, "\n" + _grouped(failures, VECTORS)


@pytest.mark.parametrize("surface", SURFACES)
def test_ordinary_paragraphs_are_kept(browsed: dict[str, Visits], surface: str) -> None:
    by_id = {v.id: v for v in VECTORS}
    failures = {
        vid: ["first paragraph" if m == by_id[vid].first else "last paragraph" for m in seen.missing]
        for vid, seen in browsed[surface].articles.items()
        if seen.missing
    }
    assert not failures, "\n" + _grouped(failures, VECTORS)


@pytest.mark.parametrize("surface", SURFACES)
def test_titles_show_the_vector_as_text(browsed: dict[str, Visits], surface: str) -> None:
    by_id = {v.id: v for v in VECTORS}
    failures = {
        vid: [f"shown {seen.title!r}"]
        for vid, seen in browsed[surface].articles.items()
        # A character XML cannot hold is dropped by the feed's parser (as a browser drops a NUL).
        if seen.title is not None and seen.title != " ".join(_XML_ILLEGAL.sub("", by_id[vid].html).split())
    }
    assert not failures, "\n" + _grouped(failures, VECTORS)


# -- what people see ----------------------------------------------------------------------------------

# Two different Chinese characters drawn with the page's font: the same pixels mean both are the
# missing-glyph box (no CJK font), and screenshots show boxes instead of Chinese.
GLYPHS = """
() => {
  const draw = (ch) => {
    const c = document.createElement("canvas");
    c.width = c.height = 40;
    const g = c.getContext("2d");
    g.font = "32px sans-serif";
    g.fillText(ch, 2, 34);
    return c.toDataURL();
  };
  return draw("中") !== draw("国") && draw("中") !== draw("");
}
"""


def test_the_browser_has_a_chinese_font(watch: Watch, tmp_path: Path) -> None:
    (tmp_path / "zh.html").write_text('<!doctype html><html lang="zh-CN"><p>中文</p>', encoding="utf-8")
    with Static(tmp_path) as static:
        watch.show(static.base + "zh.html")
        assert watch.page.evaluate(GLYPHS), "no CJK font: `make test-deps` installs fonts-noto-cjk"
