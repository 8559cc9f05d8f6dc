"""Shared by the `newsdesk serve` tests: the real server process on a free loopback port, users
with tokens in its archive, feeds on the local feed server, and polling with a deadline."""

from __future__ import annotations

import contextlib
import os
import queue
import random
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import IO, TypeVar

import httpx

from cli_helpers import feeds_yaml
from newsdesk import accounts
from newsdesk.store import open_store

T = TypeVar("T")

DEADLINE = 60.0  # seconds a poll waits before the test fails
BASE_TIME = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)


def _text(feed: int, number: int) -> str:
    """Text of its own for each item (no two alike, so none are taken for copies of one story)."""
    rng = random.Random(feed * 100_003 + number)
    return "".join(chr(rng.randrange(0x4E00, 0x9FA5)) for _ in range(160))


def rss(feed: int, count: int, *, start: int = 0) -> str:
    """Feed `feed`'s items `start` … `start + count - 1`, newest first; each has its own guid,
    time and text (央行 in every title, 第{feed}源 per feed, for search)."""
    items = []
    for number in reversed(range(start, start + count)):
        published = BASE_TIME + timedelta(minutes=number * 3 + feed)
        items.append(
            f"<item><title>第{feed}源第{number}条：央行开展公开市场操作</title>"
            f"<link>https://news.example.cn/{feed}/{number}.html</link>"
            f'<guid isPermaLink="false">f{feed}-n{number}</guid>'
            f"<pubDate>{format_datetime(published)}</pubDate>"
            f"<description><![CDATA[<p>第{feed}源第{number}条正文：{_text(feed, number)}。</p>]]>"
            "</description></item>"
        )
    head = f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>源{feed}</title>'
    return head + "".join(items) + "</channel></rss>"


def desk_config(
    tmp: Path,
    feeds: Sequence[tuple[str, str, str, str]],
    *,
    publishers: Sequence[str] = (),
    base_path: str = "",
    debounce: float = 0.0,
    extra: Sequence[str] = (),
) -> Path:
    """tmp/newsdesk.yaml: archive, posts and site folders, `serve:` on any free loopback port,
    quick fetches without retries, and the feeds (group, site, name, url)."""
    lines = [
        "database: archive.db",
        "hexo_dir: posts",
        "site_dir: site",
        f"publishers: [{', '.join(publishers)}]",
        "fetch:",
        "  timeout: 10",
        "  retries: 0",
        "serve:",
        "  host: 127.0.0.1",
        "  port: 0",
        f"  base_path: '{base_path}'",
        f"  publish_debounce: {debounce}",
        *extra,
    ]
    text = feeds_yaml(feeds, clean=True, head=lines) if feeds else "\n".join([*lines, "groups: {}"]) + "\n"
    path = tmp / "newsdesk.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def add_user(database: Path, name: str, *, admin: bool) -> tuple[str, str]:
    """A user in the archive (made if missing): (password, a new API token)."""
    password = f"pw-{name}-secret"
    now = datetime.now(UTC)
    store = open_store(str(database))
    try:
        user = store.add_user(name, accounts.hash_password(password), admin=admin, now=now)
        token = accounts.new_token()
        store.add_token(user.id, accounts.secret_hash(token), label="test", now=now)
    finally:
        store.close()
    return password, token


def stored(database: Path) -> int:
    """Entries in the archive at `database` now."""
    store = open_store(str(database))
    try:
        return store.count_entries()
    finally:
        store.close()


def poll(check: Callable[[], T | None], what: str, deadline: float = DEADLINE) -> T:
    """`check()` until it returns something other than None or False; fails after `deadline`."""
    end = time.monotonic() + deadline
    while True:
        value = check()
        if value is not None and value is not False:
            return value
        if time.monotonic() > end:
            raise AssertionError(f"timed out after {deadline:.0f} s waiting for {what}")
        time.sleep(0.05)


class ServeProcess:
    """`newsdesk --config CONFIG serve` as a child process; `url` is where it listens (read
    from the line it prints). Its standard error goes to `log` (read it with `log_text`)."""

    def __init__(self, config: Path, *args: str) -> None:
        self.config = config
        self.log = config.parent / f"serve-{time.monotonic_ns()}.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSDESK_")}
        self._err = self.log.open("w", encoding="utf-8")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "newsdesk", "--config", str(config), "serve", *args],
            stdout=subprocess.PIPE,
            stderr=self._err,
            text=True,
            env=env,
        )
        self._lines: queue.Queue[str | None] = queue.Queue()
        assert self.proc.stdout is not None
        threading.Thread(target=_pump, args=(self.proc.stdout, self._lines), daemon=True).start()
        self.url = self._announced()

    def _announced(self) -> str:
        end = time.monotonic() + DEADLINE
        while time.monotonic() < end:
            try:
                line = self._lines.get(timeout=0.5)
            except queue.Empty:
                continue
            if line is None:
                break
            found = re.search(r"serving on (http://\S+?)/? ", line + " ")
            if found:
                return found.group(1).rstrip("/")
        self.kill()
        raise AssertionError(f"serve did not announce its URL; exit {self.proc.poll()}:\n{self.log_text()}")

    def log_text(self) -> str:
        if not self._err.closed:
            self._err.flush()
        return self.log.read_text(encoding="utf-8", errors="replace")

    def wait_healthy(self) -> None:
        def healthy() -> bool:
            try:
                return httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        poll(healthy, "/healthz")

    def stop(self, sig: int = signal.SIGTERM, within: float = 10.0) -> tuple[int, float]:
        """Send `sig`; (exit status, seconds it took to exit). Fails when it took over `within`."""
        started = time.monotonic()
        self.proc.send_signal(sig)
        try:
            code = self.proc.wait(timeout=within)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(
                f"serve did not stop within {within} s after {sig}:\n{self.log_text()}"
            ) from None
        self._close()
        return code, time.monotonic() - started

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._close()

    def _close(self) -> None:
        self._err.close()
        if self.proc.stdout is not None:
            self.proc.stdout.close()


def _pump(stream: IO[str], lines: queue.Queue[str | None]) -> None:
    for line in stream:
        lines.put(line.rstrip("\n"))
    lines.put(None)


def client(url: str, token: str | None = None, **kwargs: object) -> httpx.Client:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.Client(base_url=url, headers=headers, timeout=30, **kwargs)  # type: ignore[arg-type]


def sockets_by_pid(port: int, state: str) -> dict[int, int]:
    """Sockets on local `port` in TCP `state` ("0A" listening, "01" established) by the pid of
    each process holding them, and how many (from /proc)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(FileNotFoundError), open(table, encoding="ascii") as f:
            for line in list(f)[1:]:
                fields = line.split()
                if fields[3] == state and int(fields[1].rsplit(":", 1)[1], 16) == port:
                    inodes.add(f"socket:[{fields[9]}]")
    held: dict[int, int] = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            with contextlib.suppress(OSError):
                for fd in os.listdir(f"/proc/{name}/fd"):
                    with contextlib.suppress(OSError):
                        if os.readlink(f"/proc/{name}/fd/{fd}") in inodes:
                            held[int(name)] = held.get(int(name), 0) + 1
    return held


def listeners(port: int) -> set[int]:
    """Pids of the processes holding a socket that listens on `port`."""
    return set(sockets_by_pid(port, "0A"))
