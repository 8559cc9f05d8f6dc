"""Shared by the end-to-end tests: run the real `newsdesk` CLI and write feed configs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

Feed = tuple[str, str, str, str]  # group, site, feed name, url


def run_cli(
    config: Path, *args: str, check: bool = True, timeout: float = 240
) -> subprocess.CompletedProcess[str]:
    """`python -m newsdesk --config CONFIG ARGS…`, with no NEWSDESK_* variables leaking in."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSDESK_")}
    env["COLUMNS"] = "250"  # tables are not wrapped at 80 columns, so titles stay whole
    proc = subprocess.run(
        [sys.executable, "-m", "newsdesk", "--config", str(config), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        check=False,
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}")
    if check:
        assert "Traceback" not in proc.stderr, proc.stderr
    return proc


def feeds_yaml(feeds: Sequence[Feed], *, clean: bool, head: Sequence[str] = ()) -> str:
    """A config: `head` lines, then `groups:` with every feed (names JSON-quoted, so any name is safe)."""
    lines = [*head, "groups:"]
    tree: dict[str, dict[str, list[tuple[str, str]]]] = {}
    for group, site, name, url in feeds:
        tree.setdefault(group, {}).setdefault(site, []).append((name, url))
    for group, sites in tree.items():
        lines.append(f"  {json.dumps(group, ensure_ascii=False)}:")
        for site, items in sites.items():
            lines.append(f"    {json.dumps(site, ensure_ascii=False)}:")
            for name, url in items:
                lines += [
                    f"      - name: {json.dumps(name, ensure_ascii=False)}",
                    f"        url: {url}",
                    f"        clean: {str(clean).lower()}",
                ]
    return "\n".join(lines) + "\n"


def write_desk_config(
    tmp: Path,
    feeds: Sequence[Feed],
    *,
    clean: bool = True,
    database: str = "archive.db",
    site_dir: str = "site",
    publishers: Sequence[str] = ("hexo",),
    timeout: float = 5,
) -> Path:
    """`tmp/newsdesk.yaml`: the archive, posts (`posts`) and site folders, publishers, no
    retries, and `feeds`."""
    head = [
        f"database: {database}",
        "hexo_dir: posts",
        f"site_dir: {site_dir}",
        f"publishers: [{', '.join(publishers)}]",
        "fetch:",
        f"  timeout: {timeout:g}",
        "  retries: 0",
    ]
    path = tmp / "newsdesk.yaml"
    path.write_text(feeds_yaml(feeds, clean=clean, head=head), encoding="utf-8")
    return path
