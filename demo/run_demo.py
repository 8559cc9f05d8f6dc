"""`make demo`: run the whole pipeline on the bundled sample feeds, on embedded SQLite.

Writes demo/out/newsdesk.yaml (pointing at demo/feeds/), then runs `newsdesk run` twice:
the first run cleans, stores and publishes everything (Hexo posts and the static site), the
second finds nothing new and writes nothing.

The articles' images are ours (demo/images/, drawn by demo/make_images.py). The feeds name
them at `DEMO_URL` + `demo-images/…`: the site's own address (`base_url`; `newsdesk serve`
serves the site folder at /site/ on its default address), where the demo puts them, inside
the site folder. The site links
images at its own address relatively, so they show when the site is opened from disk as well
as when it is served.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"
IMAGES = HERE / "images"
# The demo site's address: where `newsdesk serve` (default host and port) serves the site folder.
DEMO_URL = "http://127.0.0.1:8080/site/"
IMAGE_FOLDER = "demo-images"  # in the site folder: DEMO_URL + "demo-images/NAME.png"

# Which bundled feed sits where in group → site → feed.
FEEDS = [
    ("金融", "新浪财经", "新浪财经－国內", "sina_finance_china.xml"),
    ("金融", "新浪财经", "新浪财经－证券", "sina_finance_stock.xml"),
    ("金融", "第一财经", "第一财经－新闻", "yicai_news.xml"),
    ("金融", "财新网", "财新网－经济", "caixin_economy.xml"),
    ("政策", "中国政府网", "中国政府网－最新政策", "gov_policy.xml"),
    ("政策", "中国人民银行", "中国人民银行－新闻发布", "pbc_news.xml"),
]


def groups_yaml(feeds_dir: Path) -> list[str]:
    """The config's `groups:` entries (the lines under it) for the bundled feeds in `feeds_dir`."""
    groups: dict[str, dict[str, list[tuple[str, str]]]] = {}
    for group, site, name, file in FEEDS:
        groups.setdefault(group, {}).setdefault(site, []).append((name, file))
    lines = []
    for group, sites in groups.items():
        lines.append(f"  {group}:")
        for site, feeds in sites.items():
            lines.append(f"    {site}:")
            for name, file in feeds:
                lines += [f"      - name: {name}", f"        url: {feeds_dir / file}"]
    return lines


def write_config(out: Path = OUT) -> Path:
    """The demo's config in `out` (its archive, posts and site go there too), images installed."""
    out.mkdir(parents=True, exist_ok=True)
    lines = [
        "# Written by demo/run_demo.py: the bundled sample feeds, read from disk.",
        "database: newsdesk.db",
        "hexo_dir: hexo/source/_posts",
        "site_dir: site",
        f"base_url: {DEMO_URL}",
        "publishers: [hexo, site]",
        "groups:",
    ]
    lines += groups_yaml(HERE / "feeds")
    path = out / "newsdesk.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    install_images(out / "site")
    return path


def install_images(site: Path) -> None:
    """Put the demo's images where the feeds say they are: `demo-images/` in the site."""
    target = site / IMAGE_FOLDER
    target.mkdir(parents=True, exist_ok=True)
    for image in sorted(IMAGES.glob("*.png")):
        dest = target / image.name
        if not dest.exists() or dest.read_bytes() != image.read_bytes():
            shutil.copyfile(image, dest)


def main() -> int:
    config = write_config()
    exe = Path(sys.executable).with_name("newsdesk")
    print(f"== newsdesk demo: config {config}", flush=True)
    first = subprocess.run([str(exe), "--config", str(config), "run"], check=False)
    print("\n== second run (nothing new: files unchanged, posts untouched)", flush=True)
    second = subprocess.run([str(exe), "--config", str(config), "run"], check=False)
    posts = OUT / "hexo" / "source" / "_posts"
    count = len(list(posts.glob("*.md"))) if posts.exists() else 0
    print(f"\n== {count} Hexo posts in {posts}")
    print(f"== static site: {OUT / 'site' / 'index.html'}  (open it in a browser; search works offline)")
    print(f"== archive: {OUT / 'newsdesk.db'}  (try: .venv/bin/newsdesk --config {config} entries list)")
    return first.returncode or second.returncode


if __name__ == "__main__":
    sys.exit(main())
