"""Are the static site, its feeds and the Hexo posts byte for byte the same from two versions?

Builds, with each of two source trees (`src/` of a git worktree, for instance), from the same
archive: the static site (`newsdesk build`), the feeds alone (publisher "feeds") and the Hexo
posts (`newsdesk publish hexo`), once from the bundled demo feeds (demo/feeds/, fetched once
into one archive) and once from `bench/site_corpus.py` at `--size` articles; then compares
every file. The archive is copied for each version, so both start from the same one (Hexo's
publish marks included). A build's own state (the `.newsdesk/` folder: manifests, which name
the boot, and Jinja's bytecode cache) is not compared.

    git worktree add /tmp/before <commit>
    .venv/bin/python bench/compare_outputs.py --a /tmp/before/src --b src --size 10000

Prints, per output, the number of files and every path that differs or exists on one side
only; exits 1 when anything differs.
"""

from __future__ import annotations

import argparse
import filecmp
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "demo"))

import site_corpus
from run_demo import groups_yaml

STATE_DIR = ".newsdesk"
FEEDS_ONLY = """\
import sys
from pathlib import Path
from newsdesk.config import load_config
from newsdesk.publish.base import get_publisher, run_publisher
from newsdesk.store import open_store
config = load_config(Path(sys.argv[1]))
store = open_store(config.database_url)
try:
    run_publisher(get_publisher("feeds"), store, config, Path(sys.argv[2]))
finally:
    store.close()
"""


def newsdesk(src: Path, config: Path, *args: str) -> None:
    """`python -m newsdesk --config config args...` with `src` first on the import path."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSDESK_")}
    env["PYTHONPATH"] = str(src.resolve())
    cmd = [sys.executable, "-m", "newsdesk", "--config", str(config), *args]
    done = subprocess.run(cmd, cwd=config.parent, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{src}: {' '.join(args)} failed: {done.stderr.strip()[-600:]}")


def feeds_only(src: Path, config: Path, out: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSDESK_")}
    env["PYTHONPATH"] = str(src.resolve())
    cmd = [sys.executable, "-c", FEEDS_ONLY, str(config), str(out)]
    done = subprocess.run(cmd, cwd=config.parent, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{src}: the feeds publisher failed: {done.stderr.strip()[-600:]}")


def publish_all(src: Path, archive_dir: Path, work: Path) -> Path:
    """A copy of the archive in `work`, and every output of version `src` made from it."""
    work.mkdir(parents=True)
    for name in os.listdir(archive_dir):
        if (name.startswith("newsdesk.db") or name == "newsdesk.yaml") and (archive_dir / name).is_file():
            shutil.copy2(archive_dir / name, work / name)
    config = work / "newsdesk.yaml"
    newsdesk(src, config, "build", "--out", str(work / "out" / "site"))
    feeds_only(src, config, work / "out" / "feeds")
    newsdesk(src, config, "publish", "hexo", "--out", str(work / "out" / "hexo"))
    return work / "out"


def files(root: Path) -> set[str]:
    return {
        str(p.relative_to(root))
        for p in root.rglob("*")
        if p.is_file() and STATE_DIR not in p.relative_to(root).parts
    }


def compare(a: Path, b: Path, label: str) -> bool:
    """Print how the outputs under `a` and `b` differ; whether they are the same."""
    same = True
    for output in sorted(os.listdir(a)):
        left, right = files(a / output), files(b / output)
        differ = sorted(
            p for p in left & right if not filecmp.cmp(a / output / p, b / output / p, shallow=False)
        )
        only = sorted(left ^ right)
        verdict = "identical" if not differ and not only else "DIFFERENT"
        print(f"{label} {output}: {len(left)} files, {verdict}")
        for p in differ:
            print(f"  differs: {p}")
        for p in only:
            print(f"  only in {'A' if p in left else 'B'}: {p}")
        same = same and not differ and not only
    return same


def demo_archive(src: Path, work: Path) -> Path:
    """The demo feeds fetched once (by version `src`) into an archive in `work`."""
    work.mkdir(parents=True)
    feeds_dir = Path(__file__).resolve().parents[1] / "demo" / "feeds"
    lines = ["database: newsdesk.db", "hexo_dir: hexo", "site_dir: site", "groups:"]
    lines += groups_yaml(feeds_dir)
    config = work / "newsdesk.yaml"
    config.write_text("\n".join(lines) + "\n", encoding="utf-8")
    newsdesk(src, config, "fetch")
    return work


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--a", type=Path, required=True, help="source tree of version A (its src/)")
    parser.add_argument("--b", type=Path, required=True, help="source tree of version B (its src/)")
    parser.add_argument("--size", type=int, default=10_000, help="articles of the site corpus")
    parser.add_argument("--corpus", type=Path, help="an existing corpus (bench/site_corpus.py --out)")
    parser.add_argument("--work", type=Path, help="working folder (default: a temporary one, removed)")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="compare-outputs-"))
    try:
        demo = demo_archive(args.b, work / "demo-archive")
        same = compare(
            publish_all(args.a, demo, work / "demo-a"), publish_all(args.b, demo, work / "demo-b"), "demo"
        )
        corpus = args.corpus
        if corpus is None:
            corpus = work / "corpus"
            site_corpus.build(corpus, args.size)
        label = f"corpus({args.size})"
        a, b = publish_all(args.a, corpus, work / "corpus-a"), publish_all(args.b, corpus, work / "corpus-b")
        same = compare(a, b, label) and same
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    print("byte-identical" if same else "outputs differ")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
