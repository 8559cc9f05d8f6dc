"""Shared by the damaged-disk and damaged-archive tests: small archives made by the real CLI
over the real feed server, damage done to them, and a small disk (tmpfs) to fill."""

from __future__ import annotations

import contextlib
import errno
import os
import random
import sqlite3
import subprocess
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from cli_helpers import run_cli, write_desk_config
from server import FeedServer

PARAGRAPH = "中国人民银行决定下调金融机构存款准备金率0.5个百分点，释放长期资金约1.2万亿元。"


def feed_xml(prefix: str, n: int, *, paragraphs: int = 12) -> str:
    """A feed of `n` items, each a few KB of Chinese text (several SQLite pages per entry)."""
    items = []
    for i in range(n):
        body = "".join(f"<p>{prefix}{i}段{k}：{PARAGRAPH * 3}</p>" for k in range(paragraphs))
        items.append(
            f"<item><title>{prefix}标题{i} 存款准备金率</title><link>https://news.example.cn/{prefix}/{i}.html</link>"
            f"<guid>{prefix}-{i}</guid><pubDate>Mon, 20 Dec 2021 {i % 24:02d}:00:52 GMT</pubDate>"
            f"<description><![CDATA[{body}]]></description></item>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>测试源</title>'
        + "".join(items)
        + "</channel></rss>"
    )


def serve_feeds(server: FeedServer, names: Sequence[str], items: int) -> list[tuple[str, str, str, str]]:
    """One feed per name on `server`; the config's (group, site, name, url) rows."""
    feeds = []
    for name in names:
        path = f"/{name}.xml"
        server.route(path, feed_xml(name, items))
        feeds.append(("金融", "测试站", name, server.url(path)))
    return feeds


def write_config(
    tmp: Path,
    feeds: Sequence[tuple[str, str, str, str]],
    *,
    database: str = "archive.db",
    site_dir: str = "site",
    publishers: Sequence[str] = ("hexo",),
) -> Path:
    return write_desk_config(tmp, feeds, database=database, site_dir=site_dir, publishers=publishers)


def newsdesk(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_cli(config, *args, check=False, timeout=120)


def error_lines(proc: subprocess.CompletedProcess[str]) -> list[str]:
    """The `error:` lines of a command that failed cleanly: non-zero exit, no traceback."""
    assert proc.returncode != 0, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    found = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert found, proc.stderr
    return found


def entry_count(db: Path) -> int:
    with contextlib.closing(sqlite3.connect(db)) as con:
        return int(con.execute("SELECT COUNT(*) FROM entries").fetchone()[0])


def corrupt_middle(db: Path, seed: int) -> tuple[int, int]:
    """Overwrite the middle third of the database file's pages with random bytes from `seed`
    (the file's header, the schema's pages and the first pages stay intact); returns (first
    page, pages)."""
    page = 4096
    pages = db.stat().st_size // page
    first, count = pages // 3, max(1, pages // 3)
    # The schema's pages are spread through the file as migrations add tables: damage there
    # stops the file opening at all, which is another test's case (a file that is not a database).
    with contextlib.closing(sqlite3.connect(db)) as con:
        schema = {n - 1 for (n,) in con.execute("SELECT pageno FROM dbstat WHERE name='sqlite_schema'")}
    noise = random.Random(seed).randbytes(count * page)
    with open(db, "r+b") as f:
        for i in range(count):
            if first + i not in schema:
                f.seek((first + i) * page)
                f.write(noise[i * page : (i + 1) * page])
    return first, count


@contextlib.contextmanager
def small_disk(folder: Path, size: str) -> Iterator[Path]:
    """A tmpfs of `size` mounted at `folder` (root only), unmounted afterwards."""
    if os.geteuid() != 0:
        pytest.skip("a small disk (tmpfs) can only be mounted by root")
    folder.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield folder
    finally:
        if subprocess.run(["umount", str(folder)], check=False).returncode != 0:
            subprocess.run(["umount", "-l", str(folder)], check=False)


def fill(folder: Path) -> list[Path]:
    """Fill the disk under `folder` to the last byte: files of 64 KB, then of 4 KB, then 1 byte."""
    files: list[Path] = []
    for size in (65536, 4096, 1):
        while True:
            path = folder / f"filler-{len(files)}"
            fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o644)
            files.append(path)
            try:
                if os.write(fd, b"\0" * size) < size:
                    break
            except OSError as e:
                if e.errno != errno.ENOSPC:
                    raise
                break
            finally:
                os.close(fd)
    return files
