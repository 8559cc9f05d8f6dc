"""`newsdesk stats`: what the archive holds, and what it and its outputs take on disk."""

from __future__ import annotations

import json
import os
import sqlite3
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from cli_helpers import run_cli, write_desk_config
from newsdesk.config import load_config
from newsdesk.models import Cleaned, FetchResult, ParsedEntry
from newsdesk.search import update_index
from newsdesk.store import open_store
from test_store import ARTICLE

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
FEEDS = [
    ("金融", "新浪财经", "新浪财经－国內", "http://127.0.0.1:9/a.xml"),
    ("政策", "中国政府网", "最新政策", "http://127.0.0.1:9/b.xml"),
]


def folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink())


def test_stats_counts_records_and_measures_the_folders(tmp_path: Path) -> None:
    config_path = write_desk_config(tmp_path, FEEDS)
    config = load_config(config_path)
    store = open_store(config.database_url)
    try:
        specs = config.feeds()
        store.sync_feeds(specs)
        ok = FetchResult(url="http://127.0.0.1:9/a.xml", status=200, text="")
        items = [ParsedEntry(id=f"e{n}", title=f"标题{n}", link=None, published=NOW) for n in range(3)]
        store.save_fetch(
            specs[0],
            ok,
            items,
            NOW,
            articles={"e0": ARTICLE, "e1": Cleaned(replace(ARTICLE, profile="fallback"), "broken")},
        )
        update_index(config, store)
    finally:
        store.close()
    posts, site = tmp_path / "posts", tmp_path / "site"
    (posts / "sub").mkdir(parents=True)
    (posts / "a.md").write_bytes(b"x" * 100)
    (posts / "sub" / "b.md").write_bytes(b"y" * 50)
    site.mkdir()
    (site / "index.html").write_bytes(b"z" * 1000)
    os.symlink(posts / "a.md", site / "link.md")  # a link counts as itself, not its target
    kept = tmp_path / "archive.db-images" / "ab" / ("ab" + "0" * 62)  # `images: cache`'s folder
    kept.parent.mkdir(parents=True)
    kept.write_bytes(b"\x89PNG" + b"0" * 96)
    db = tmp_path / "archive.db"
    con = sqlite3.connect(db)
    has_users = con.execute("SELECT COUNT(*) FROM sqlite_master WHERE name='users'").fetchone()[0]
    con.close()

    data = json.loads(run_cli(config_path, "stats", "--json").stdout)
    counts = data["counts"]
    assert (counts["feeds"], counts["entries"], counts["articles"], counts["clean_errors"]) == (2, 3, 2, 1)
    assert counts["clusters"] == 0 and counts["rev"] == 3
    assert ("users" in counts) == bool(has_users)  # users arrive with their migration, not before
    assert data["newest_entry"] == NOW.isoformat()
    disk = {k: v["bytes"] for k, v in data["disk"].items()}
    archive = sum(os.path.getsize(p) for p in tmp_path.glob("archive.db*") if p.is_file())
    assert disk["archive"] == archive > 0
    assert disk["index"] == folder_bytes(tmp_path / "archive.db.search") > 0
    assert disk["hexo"] == 150
    assert disk["site"] == 1000 + os.lstat(site / "link.md").st_size
    assert data["disk"]["site"]["path"] == str(site)
    assert disk["images"] == 100 and data["disk"]["images"]["path"] == str(kept.parent.parent)

    text = run_cli(config_path, "stats").stdout
    assert "entries 3" in text and "clean errors 1" in text and str(posts) in text


def test_stats_without_an_archive_is_one_line(tmp_path: Path) -> None:
    config_path = write_desk_config(tmp_path, FEEDS)
    proc = run_cli(config_path, "stats", check=False)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 1 and len(lines) == 1 and "no archive yet" in lines[0]
    assert not (tmp_path / "archive.db").exists()  # asking made none
