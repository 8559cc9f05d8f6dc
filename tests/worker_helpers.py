"""Shared by the worker tests: `newsdesk worker` processes on an injected clock, feeds served by
the test server with per-feed request counts, and a private PostgreSQL the test starts itself."""

from __future__ import annotations

import collections
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import psycopg

from cli_helpers import feeds_yaml
from server import FeedServer, Reply, Request

T0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
PG_BIN = Path("/usr/lib/postgresql/15/bin")


def rss(feed: int, items: int) -> str:
    """Feed `feed` with its first `items` articles (guids stable, so a later period adds to them)."""
    parts = ['<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>']
    for j in range(items):
        when = format_datetime(T0 - timedelta(hours=items - j), usegmt=True)
        parts.append(
            f"<item><title>第{feed}号 消息{j}</title><guid>f{feed}-{j}</guid>"
            f"<link>https://news.example/{feed}/{j}.html</link><pubDate>{when}</pubDate>"
            f"<description>&lt;p&gt;央行 今日 公布 {feed} 号 第 {j} 条 消息。&lt;/p&gt;</description></item>"
        )
    parts.append("</channel></rss>")
    return "".join(parts)


class Feeds:
    """`count` feeds on `server` at /f/N.xml, each listing `items` articles (settable), or
    holding the answer back `stall` seconds while `stall` is set."""

    def __init__(self, server: FeedServer, count: int, items: int) -> None:
        self.server = server
        self.count = count
        self.items = items
        self.stall = 0.0
        self.delay = 0.0  # seconds every answer takes (so answers overlap at the server)
        self._bodies: dict[tuple[int, int], str] = {}
        for n in range(count):
            server.route(f"/f/{n}.xml", self._handler(n))

    def _handler(self, n: int) -> object:
        def handle(_req: Request) -> Reply:
            key = (n, self.items)
            if key not in self._bodies:
                self._bodies[key] = rss(n, self.items)
            return Reply(self._bodies[key], delay=self.stall or self.delay)

        return handle

    def specs(self) -> list[tuple[str, str, str, str]]:
        return [
            ("g", f"s{n // 100}", f"feed{n:05d}", self.server.url(f"/f/{n}.xml")) for n in range(self.count)
        ]

    def key(self, n: int) -> str:
        return f"g/s{n // 100}/feed{n:05d}"

    def requests(self) -> collections.Counter[int]:
        """Requests per feed number, as the server saw them."""
        out: collections.Counter[int] = collections.Counter()
        for r in list(self.server.requests):
            if r.path.startswith("/f/"):
                out[int(r.path[3:].split(".")[0])] += 1
        return out


def write_config(
    tmp: Path, database: str, feeds: Feeds, *, per_host: int, publishers: str = "", extra: Sequence[str] = ()
) -> Path:
    head = [
        f"database: {database}",
        "search_index: false",
        f"publishers: [{publishers}]",
        *extra,
        "hexo_dir: posts",
        "site_dir: site",
        "fetch:",
        "  timeout: 60",
        "  deadline: 120",
        "  retries: 0",
        f"  per_host: {per_host}",
    ]
    path = tmp / "newsdesk.yaml"
    path.write_text(feeds_yaml(feeds.specs(), clean=False, head=head), encoding="utf-8")
    return path


class Clock:
    """The time every worker reads (`newsdesk worker --clock-file`)."""

    def __init__(self, path: Path, now: datetime = T0) -> None:
        self.path = path
        self.set(now)

    def set(self, now: datetime) -> None:
        self.now = now
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(now.isoformat(), encoding="utf-8")
        tmp.replace(self.path)  # a worker never reads half a time


class WorkerProcess:
    """`newsdesk --config CONFIG worker --clock-file … --poll 0.05` as a child process."""

    def __init__(self, config: Path, clock: Clock, *args: str, slots: int | None = None) -> None:
        self.log = config.parent / f"worker-{time.monotonic_ns()}.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSDESK_")}
        if slots is not None:  # the machine's worker slots (newsdesk.worker.SLOTS_ENV)
            env["NEWSDESK_WORKER_SLOTS"] = str(slots)
        with self.log.open("w", encoding="utf-8") as err:
            self.proc = subprocess.Popen(
                [
                    *(sys.executable, "-m", "newsdesk", "--config", str(config), "worker"),
                    *("--clock-file", str(clock.path), "--poll", "0.05", *args),
                ],
                stdout=subprocess.DEVNULL,
                stderr=err,
                env=env,
            )

    def log_text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


@contextmanager
def workers(
    config: Path, clock: Clock, n: int, *args: str, slots: int | None = None
) -> Iterator[list[WorkerProcess]]:
    procs = [WorkerProcess(config, clock, *args, slots=slots) for _ in range(n)]
    try:
        yield procs
    finally:
        for p in procs:
            p.stop()


def entry_counts(url: str) -> dict[str, tuple[int, int]]:
    """feed key → (entries, distinct entry ids) in the archive at `url`."""
    with psycopg.connect(url, connect_timeout=5) as conn:
        rows = conn.execute(
            "SELECT feed_key, COUNT(*), COUNT(DISTINCT entry_id) FROM entries GROUP BY feed_key"
        ).fetchall()
    return {k: (int(n), int(d)) for k, n, d in rows}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PrivatePostgres:
    """A PostgreSQL cluster of the test's own (the installed server's initdb and pg_ctl, run as
    the postgres user), on a free port, its data under /tmp; removed by `destroy`."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="pg-workers-pg-", dir="/tmp"))
        shutil.chown(self.dir, "postgres", "postgres")
        self.data = self.dir / "data"
        self.port = free_port()
        self._as_postgres(PG_BIN / "initdb", "-D", self.data, "-A", "trust", "-U", "postgres", "--no-sync")
        self.start()

    def _as_postgres(self, *args: object) -> None:
        cmd = ["runuser", "-u", "postgres", "--", *map(str, args)]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
        if done.returncode != 0:
            raise AssertionError(f"{' '.join(cmd)}: exit {done.returncode}\n{done.stdout}\n{done.stderr}")

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}"

    def start(self) -> None:
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.dir}"
        self._as_postgres(
            PG_BIN / "pg_ctl", "-D", self.data, "-o", options, "-l", self.dir / "log", "-w", "start"
        )

    def stop(self, mode: str = "fast") -> None:
        self._as_postgres(PG_BIN / "pg_ctl", "-D", self.data, "-m", mode, "-w", "stop")

    def destroy(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self.stop("immediate")
        shutil.rmtree(self.dir, ignore_errors=True)
