"""The corpus of the site benchmark: the same N articles as a newsdesk archive, Hexo posts and Hugo pages.

* archive: N synthetic articles of realistic Chinese finance text (`articles.make_article`: 3-8
  paragraphs, Sina markup, a third with the portal boilerplate tail) spread over 24 feeds in
  2 groups and 8 sites, stored with the store API exactly as `newsdesk run` stores them, cleaned by
  `newsdesk.clean.clean_article` when that is importable (``clean=False`` stores raw HTML only);
* Hexo: the posts `newsdesk publish hexo --out <site>/source/_posts` writes, in a site made from the
  pinned skeleton `tests/hexo/` (Hexo from npm with the default generators and the landscape theme);
* Hugo: one page per article with the same title, date, 3 categories and body (Markdown with raw
  HTML, as Hexo gets it), JSON front matter, and a small theme written here: home (full posts,
  10 a page, like landscape), post pages, paginated category pages, the category list, and a
  sidebar (categories with counts, monthly archive, recent posts) cached once, as landscape does.

Article ``i`` is a pure function of ``(i, seed)``, so ``add`` after ``build`` gives the newest
articles of a corpus of the larger size. Used by `bench/bench_site.py`; runs alone too:

    .venv/bin/python bench/site_corpus.py --size 1000 --out /tmp/corpus
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import fcntl
import hashlib
import json
import os
import random
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from articles import make_article

from newsdesk.models import Article, Cleaned, FeedSpec, FetchResult, ParsedEntry, entry_uid
from newsdesk.store import open_store

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
HEXO_SKELETON = REPO / "tests" / "hexo"
# Hexo 7.3.0, which the Hexo figures were measured with (bench_site.py --hexo-baseline).
HEXO_BASELINE = REPO / "bench" / "hexo-7.3"

# group → site → feeds, shaped like a real desk (the third category level is the feed): 24 feeds.
TREE: dict[str, dict[str, list[str]]] = {
    "金融": {
        "新浪财经": ["新浪财经－国內", "新浪财经－国际", "新浪财经－证券", "新浪财经－银行"],
        "东方财富": ["东方财富－要闻", "东方财富－股市", "东方财富－基金"],
        "证券时报": ["证券时报－快讯", "证券时报－公司"],
        "第一财经": ["第一财经－宏观", "第一财经－金融", "第一财经－产经"],
        "财新": ["财新－经济", "财新－金融"],
        "中国证券网": ["上证快讯", "上证要闻"],
    },
    "政策": {
        "中国政府网": ["最新政策", "政策解读", "国务院常务会议", "部门政策"],
        "人民网": ["人民网－财经", "人民网－时政", "人民网－地方", "人民网－观点"],
    },
}
FEEDS: list[tuple[str, str, str]] = [
    (g, s, f) for g, sites in TREE.items() for s, fs in sites.items() for f in fs
]

BASE_TIME = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
# Mean spacing of articles: 10,000 articles span about 2.3 months, 100,000 about 2 years.
STEP = dt.timedelta(minutes=10)


def feed_spec(group: str, site: str, name: str) -> FeedSpec:
    # A placeholder source: the archive is filled directly, nothing is ever fetched.
    return FeedSpec(group=group, site=site, name=name, url=f"https://bench.invalid/{group}/{site}/{name}.xml")


def article(i: int, seed: int = 0) -> tuple[FeedSpec, ParsedEntry]:
    """Article number ``i`` (0-based): its feed and entry. Later numbers are newer."""
    rng = random.Random(f"site-corpus:{seed}:{i}")
    group, site, name = FEEDS[rng.randrange(len(FEEDS))]
    title, body = make_article(rng, paragraphs=rng.randint(3, 8), with_boilerplate=rng.random() < 0.3)
    published = BASE_TIME + STEP * i + dt.timedelta(seconds=rng.randint(0, 590))
    link = f"https://finance.sina.com.cn/bench/{published:%Y-%m-%d}/doc-site{i:07d}.shtml"
    entry = ParsedEntry(id=link, title=title, link=link, published=published, author=site, content=body)
    return feed_spec(group, site, name), entry


def _cleaner() -> Callable[[ParsedEntry], Article | Cleaned] | None:
    """`newsdesk.clean.clean_article` adapted to what the store takes, or None when not importable."""
    try:
        from newsdesk.clean import clean_article
    except ImportError:
        return None
    names = [f.name for f in dataclasses.fields(Article)]

    def clean(e: ParsedEntry) -> Article | Cleaned:
        try:
            a: Any = clean_article(e.content, url=e.link, title=e.title)
        except Exception as err:  # recorded like the pipeline does, never fatal
            empty = Article("", "", "", 0, (), None, None, None, (), None, (), "fallback")
            return Cleaned(empty, f"clean: {err}")
        # The cleaning stage may return its own Article type; the store wants newsdesk.models.Article.
        return a if isinstance(a, Article) else Article(**{n: getattr(a, n) for n in names})

    return clean


def fill_archive(database: Path, start: int, count: int, *, clean: bool = True, seed: int = 0) -> list[str]:
    """Store articles ``start`` .. ``start+count-1``; their uids. Cleans them when ``clean`` and possible."""
    cleaner = _cleaner() if clean else None
    store = open_store(str(database))
    uids: list[str] = []
    try:
        store.sync_feeds([feed_spec(*f) for f in FEEDS])
        chunk = 5000
        for lo in range(start, start + count, chunk):
            by_feed: dict[FeedSpec, list[ParsedEntry]] = {}
            for i in range(lo, min(lo + chunk, start + count)):
                spec, entry = article(i, seed)
                by_feed.setdefault(spec, []).append(entry)
                uids.append(entry_uid(spec.key, entry.id))
            now = dt.datetime.now(dt.UTC)
            for spec, entries in by_feed.items():
                articles = {e.id: cleaner(e) for e in entries} if cleaner else None
                store.save_fetch(
                    spec, FetchResult(url=spec.url or "", status=200), entries, now, articles=articles
                )
    finally:
        store.close()
    return uids


def write_config(work: Path) -> Path:
    """``newsdesk.yaml`` in ``work``: archive ``newsdesk.db``, site ``site/``, Hexo posts in ``hexo/``."""
    lines = ["database: newsdesk.db", "site_dir: site", "hexo_dir: hexo/source/_posts", "groups:"]
    for group, sites in TREE.items():
        lines.append(f"  {json.dumps(group, ensure_ascii=False)}:")
        for site, feeds in sites.items():
            lines.append(f"    {json.dumps(site, ensure_ascii=False)}:")
            for name in feeds:
                spec = feed_spec(group, site, name)
                lines += [f"      - name: {json.dumps(name, ensure_ascii=False)}", f"        url: {spec.url}"]
    path = work / "newsdesk.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def newsdesk_cli(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSDESK_")}
    return subprocess.run(
        [sys.executable, "-m", "newsdesk", "--config", str(config), *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )


# -- Hexo ------------------------------------------------------------------------------------


def hexo_cache_root() -> Path:
    """Shared with tests/test_hexo_real.py: the same lockfile gives the same install."""
    explicit = os.environ.get("NEWSDESK_TEST_HEXO_CACHE")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "newsdesk-test-hexo"


def install_hexo(skeleton: Path = HEXO_SKELETON) -> Path:
    """``node_modules`` of the Hexo pinned in ``skeleton`` (``npm ci`` into the cache on first use)."""
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError("npm is not installed")
    lock = (skeleton / "package-lock.json").read_bytes()
    digest = hashlib.sha256((skeleton / "package.json").read_bytes() + b"\0" + lock).hexdigest()[:16]
    root = hexo_cache_root()
    target = root / digest
    if (target / ".complete").exists():
        return target / "node_modules"
    root.mkdir(parents=True, exist_ok=True)
    with open(root / ".lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        if not (target / ".complete").exists():
            shutil.rmtree(target, ignore_errors=True)
            work = root / f".{digest}.{os.getpid()}.tmp"
            shutil.rmtree(work, ignore_errors=True)
            work.mkdir()
            for name in ("package.json", "package-lock.json"):
                shutil.copy(skeleton / name, work / name)
            env = dict(os.environ, npm_config_update_notifier="false", NO_COLOR="1")
            subprocess.run(
                [npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"],
                cwd=work,
                env=env,
                check=True,
            )
            (work / ".complete").write_text("ok\n")
            work.rename(target)
    return target / "node_modules"


def make_hexo_site(root: Path, modules: Path, skeleton: Path = HEXO_SKELETON) -> Path:
    """A fresh Hexo site at ``root`` from the pinned skeleton, ``node_modules`` linked to the cache
    (every Hexo gets the site configuration of tests/hexo)."""
    (root / "source" / "_posts").mkdir(parents=True, exist_ok=True)
    shutil.copy(skeleton / "package.json", root / "package.json")
    shutil.copy(HEXO_SKELETON / "_config.yml", root / "_config.yml")
    link = root / "node_modules"
    if not link.exists():
        link.symlink_to(modules, target_is_directory=True)
    return root


def hexo_version(modules: Path) -> str:
    return str(json.loads((modules / "hexo" / "package.json").read_text(encoding="utf-8"))["version"])


# -- Hugo ------------------------------------------------------------------------------------

HUGO_CONFIG = """\
baseURL = "http://example.com/"
languageCode = "zh-cn"
title = "newsdesk"
hasCJKLanguage = true
paginate = 10
disableKinds = ["RSS", "sitemap", "robotsTXT"]

[taxonomies]
  category = "categories"

[permalinks]
  posts = "/:year/:month/:day/:filename/"

[markup.goldmark.renderer]
  unsafe = true
"""

HUGO_LAYOUTS: dict[str, str] = {
    "_default/baseof.html": """\
<!DOCTYPE html>
<html lang="zh-CN">
<head><meta charset="utf-8"><title>{{ block "title" . }}{{ .Title }} | {{ .Site.Title }}{{ end }}</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body>
<header><a href="{{ "/" | relURL }}">{{ .Site.Title }}</a>
<a href="{{ "/categories/" | relURL }}">分类</a></header>
<main>{{ block "main" . }}{{ end }}</main>
<aside>{{ partialCached "sidebar.html" . }}</aside>
</body>
</html>
""",
    "partials/sidebar.html": """\
<h3>分类</h3>
<ul>{{ range .Site.Taxonomies.categories.ByCount }}
<li><a href="{{ .Page.RelPermalink }}">{{ .Page.Title }}</a> {{ .Count }}</li>{{ end }}</ul>
<h3>归档</h3>
<ul>{{ range .Site.RegularPages.GroupByDate "2006-01" }}<li>{{ .Key }} ({{ len .Pages }})</li>{{ end }}</ul>
<h3>最新文章</h3>
<ul>{{ range first 5 .Site.RegularPages.ByDate.Reverse }}
<li><a href="{{ .RelPermalink }}">{{ .Title }}</a></li>{{ end }}</ul>
""",
    "partials/meta.html": """\
<time datetime="{{ .Date.Format "2006-01-02T15:04:05Z07:00" }}">{{ .Date.Format "2006-01-02" }}</time>
{{ range .GetTerms "categories" }}
<a class="category" href="{{ .RelPermalink }}">{{ .LinkTitle }}</a> {{ end }}
""",
    "_default/single.html": """\
{{ define "main" }}<article>
<h1>{{ .Title }}</h1>
{{ partial "meta.html" . }}
<div class="article-entry">{{ .Content }}</div>
<nav>{{ with .NextInSection }}<a href="{{ .RelPermalink }}">{{ .Title }}</a>{{ end }}
{{ with .PrevInSection }}<a href="{{ .RelPermalink }}">{{ .Title }}</a>{{ end }}</nav>
</article>{{ end }}
""",
    "index.html": """\
{{ define "main" }}{{ range (.Paginate .Site.RegularPages).Pages }}
<article><h2><a href="{{ .RelPermalink }}">{{ .Title }}</a></h2>{{ partial "meta.html" . }}
<div class="article-entry">{{ .Content }}</div></article>
{{ end }}{{ template "_internal/pagination.html" . }}{{ end }}
""",
    "_default/list.html": """\
{{ define "main" }}<h1>{{ .Title }}</h1>
{{ range (.Paginate .Pages).Pages }}<article><a href="{{ .RelPermalink }}">{{ .Title }}</a>
<time>{{ .Date.Format "2006-01-02" }}</time></article>{{ end }}
{{ template "_internal/pagination.html" . }}{{ end }}
""",
    "_default/terms.html": """\
{{ define "main" }}<h1>{{ .Title }}</h1>
<ul>{{ range .Data.Terms.Alphabetical }}
<li><a href="{{ .Page.RelPermalink }}">{{ .Page.Title }}</a> {{ .Count }}</li>{{ end }}</ul>
{{ end }}
""",
}


def make_hugo_site(root: Path) -> Path:
    (root / "content" / "posts").mkdir(parents=True, exist_ok=True)
    (root / "config.toml").write_text(HUGO_CONFIG, encoding="utf-8")
    for name, text in HUGO_LAYOUTS.items():
        path = root / "layouts" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def _batches(items: list[str], size: int = 1000) -> Iterator[list[str]]:
    for lo in range(0, len(items), size):
        yield items[lo : lo + size]


def write_hugo_content(database: Path, site: Path, uids: Iterable[str] | None = None) -> int:
    """One ``content/posts/<uid>.md`` per entry (all, or ``uids``); how many were written.

    The body is what the Hexo post carries: the cleaned article's HTML, else the raw item HTML.
    """
    store = open_store(str(database))
    out = site / "content" / "posts"
    written = 0
    try:
        todo = list(uids) if uids is not None else list(store.iter_uids())
        for batch in _batches(todo):
            for e in store.get_entries(batch):
                published = e.published or e.first_seen
                front = {
                    "title": e.title,
                    "date": published.astimezone(dt.UTC).isoformat().replace("+00:00", "Z"),
                    "categories": [e.group, e.site, e.feed],
                    "author": e.site,
                }
                body = e.article.html if e.article is not None else e.content
                text = json.dumps(front, ensure_ascii=False, indent=1) + "\n\n" + body + "\n"
                (out / f"{e.uid}.md").write_text(text, encoding="utf-8")
                written += 1
    finally:
        store.close()
    return written


def hugo_version() -> str:
    hugo = shutil.which("hugo")
    if hugo is None:
        return "n/a"
    out = subprocess.run([hugo, "version"], capture_output=True, text=True, check=False).stdout
    return out.split()[1] if len(out.split()) > 1 else out.strip()


# -- the whole corpus --------------------------------------------------------------------------


@dataclasses.dataclass
class Corpus:
    work: Path
    config: Path
    database: Path
    size: int
    seed: int = 0
    clean: bool = True

    @property
    def hexo_site(self) -> Path:
        return self.work / "hexo"

    @property
    def hexo_baseline_site(self) -> Path:
        return self.work / "hexo-7.3"

    def copy_posts_to_baseline(self, modules: Path) -> None:
        """The Hexo 7.3 site: its own folder, the same posts as the current Hexo's."""
        site = make_hexo_site(self.hexo_baseline_site, modules, HEXO_BASELINE)
        posts = site / "source" / "_posts"
        shutil.rmtree(posts)
        shutil.copytree(self.hexo_site / "source" / "_posts", posts)

    @property
    def hugo_site(self) -> Path:
        return self.work / "hugo"

    @property
    def site_dir(self) -> Path:
        return self.work / "site"

    def publish_hexo(self) -> None:
        proc = newsdesk_cli(
            self.config, "publish", "hexo", "--out", str(self.hexo_site / "source" / "_posts")
        )
        if proc.returncode != 0:
            raise RuntimeError(f"newsdesk publish hexo failed:\n{proc.stdout}\n{proc.stderr}")

    def add(self, count: int) -> list[str]:
        """Add the next ``count`` articles (newer than all) to the archive and the Hugo content."""
        uids = fill_archive(self.database, self.size, count, clean=self.clean, seed=self.seed)
        self.size += count
        write_hugo_content(self.database, self.hugo_site, uids)
        return uids


def build(
    work: Path, size: int, *, clean: bool = True, seed: int = 0, hexo_modules: Path | None = None
) -> Corpus:
    """Archive, Hexo site (posts published, when ``hexo_modules``) and Hugo site for ``size`` articles."""
    work.mkdir(parents=True, exist_ok=True)
    config = write_config(work)
    corpus = Corpus(work, config, work / "newsdesk.db", size, seed, clean)
    fill_archive(corpus.database, 0, size, clean=clean, seed=seed)
    if hexo_modules is not None:
        make_hexo_site(corpus.hexo_site, hexo_modules)
        corpus.publish_hexo()
    make_hugo_site(corpus.hugo_site)
    write_hugo_content(corpus.database, corpus.hugo_site)
    return corpus


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size", type=int, default=1000)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--no-clean", action="store_true", help="store raw HTML only")
    parser.add_argument("--no-hexo", action="store_true", help="skip the Hexo site (no npm needed)")
    args = parser.parse_args()
    started = time.perf_counter()
    modules = None if args.no_hexo else install_hexo()
    corpus = build(args.out, args.size, clean=not args.no_clean, hexo_modules=modules)
    print(f"{corpus.size} articles in {corpus.work} ({time.perf_counter() - started:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
