"""The fault campaign: a desk over a real local feed server, processes killed at random moments,
and the invariants that must hold once a rerun has finished.

Used by tests/test_faults.py (a short campaign and the single faults) and bench/fault_campaign.py
(as many trials as asked). A desk is a folder with its config, the archive under `db/`, the Hexo
posts under `posts/` and the static site under `site/` (three folders, so each can be put on its
own small file system), fed by a `FeedServer` serving `FEEDS` feeds whose items are a pure
function of (feed, number): `Desk.grow(n)` adds n items to every feed, so each trial has new work.

    desk = Desk(tmp_path, server)
    desk.grow(30)
    desk.cli("run")
    desk.grow(30)
    # SIGKILL once 50 of the 240 new posts are written, then a full rerun and every invariant.
    trial = kill_trial(desk, "run", KillPoint("hexo", 50, 0.0), number=1)
    assert trial.ok(), trial.describe()

Random choices come from `campaign_seed()`: $NEWSDESK_FAULT_SEED when set, else a fresh seed,
printed in every failure message so a failing campaign can be replayed.

A process belongs to a trial when its command line names the trial's config or its environment
carries the trial's marker (`MARKER_ENV`): forked workers keep the command line, spawned ones
(`multiprocessing` spawn, its resource tracker) keep only the environment.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

from server import FeedServer, Reply, Request

SEED_ENV = "NEWSDESK_FAULT_SEED"
MARKER_ENV = "FAULT_CAMPAIGN_TRIAL"  # not NEWSDESK_*: the CLI helpers strip those
EXIT_LOCKED = 5  # another process holds the fetch or publish lock (issue 12)

# group, site, feed name, clean, what its items carry
FEEDS: list[tuple[str, str, str, bool, str]] = [
    ("金融", "新浪财经", "新浪财经－国內", True, "text"),
    ("金融", "新浪财经", "新浪财经－证券", True, "images"),
    ("金融", "东方财富", "东方财富－要闻", False, "links"),
    ("金融", "第一财经", "第一财经－宏观", True, "links"),
    ("政策", "中国政府网", "最新政策", True, "text"),
    ("政策", "中国政府网", "政策解读", False, "images"),
    ("政策", "人民网", "人民网－财经", True, "images"),
    ("政策", "人民网", "人民网－观点", False, "text"),
]

# Sentences written for this campaign (no real article text), combined per item.
_SUBJECTS = [
    "国家统计局",
    "中国人民银行",
    "财政部",
    "国家发展改革委",
    "证监会",
    "工业和信息化部",
    "商务部",
    "国务院常务会议",
    "上海证券交易所",
    "多家商业银行",
    "地方政府",
    "外汇管理局",
]
_ACTIONS = [
    "发布了前三季度主要经济数据，制造业投资保持较快增长",
    "宣布下调金融机构存款准备金率零点五个百分点",
    "部署推进新型基础设施建设，加快千兆光网覆盖",
    "召开专题会议，研究稳就业和保市场主体的措施",
    "表示将继续实施稳健的货币政策，保持流动性合理充裕",
    "公布新一批专项债券额度，重点支持民生领域项目",
    "出台支持中小微企业发展的十条举措，减轻融资成本",
    "就资本市场改革答记者问，强调提高上市公司质量",
    "发布通知，要求进一步做好跨境贸易结算便利化工作",
    "介绍一季度外贸进出口情况，出口同比增长明显",
]
_DETAILS = [
    "业内人士认为，这一举措有利于稳定市场预期。",
    "分析人士指出，后续政策仍有进一步发力的空间。",
    "数据显示，消费市场持续回暖，服务业增速加快。",
    "有关负责人表示，将加强统筹协调，确保各项措施落地见效。",
    "市场普遍预计，下一阶段利率水平将保持基本稳定。",
    "多位经济学家认为，全年经济增长目标有望顺利实现。",
    "记者从相关部门了解到，配套细则正在抓紧制定之中。",
    "专家建议，应当进一步扩大有效投资，促进产业升级。",
]
BASE_TIME = datetime(2026, 1, 5, 1, 0, tzinfo=UTC)


def item_guid(feed: int, number: int) -> str:
    return f"fault-{feed}-{number}"


def item(feed: int, number: int) -> tuple[str, str, str, datetime]:
    """Item `number` of feed `feed`: guid, title, HTML body, publication time. Later numbers are newer."""
    rng = random.Random(f"fault-item:{feed}:{number}")
    subject = rng.choice(_SUBJECTS)
    title = f"{subject}{rng.choice(_ACTIONS)[:14]}（第{number + 1}期·{feed + 1}）"
    kind = FEEDS[feed][4]
    paragraphs = []
    for p in range(rng.randint(3, 6)):
        sentences = f"{rng.choice(_SUBJECTS)}{rng.choice(_ACTIONS)}。" + "".join(
            rng.sample(_DETAILS, rng.randint(1, 3))
        )
        if kind == "links" and p == 1:
            sentences += f'详见<a href="https://news.example.cn/{feed}/{number}/more.html">相关报道</a>。'
        paragraphs.append(f"<p>{sentences}</p>")
        if kind == "images" and p == 0:
            paragraphs.append(
                f'<p><img src="https://img.example.cn/{feed}/{number}.jpg" alt="{subject}"></p>'
            )
    published = BASE_TIME + timedelta(minutes=7 * number + feed)
    return item_guid(feed, number), title, "".join(paragraphs), published


def rss(feed: int, count: int) -> str:
    """The feed with its first `count` items, newest first."""
    name = FEEDS[feed][2]
    items = []
    for number in reversed(range(count)):
        guid, title, body, published = item(feed, number)
        items.append(
            f"<item><title><![CDATA[{title}]]></title>"
            f"<link>https://news.example.cn/{feed}/{number}.html</link>"
            f'<guid isPermaLink="false">{guid}</guid><pubDate>{format_datetime(published)}</pubDate>'
            f"<description><![CDATA[{body}]]></description></item>"
        )
    head = f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>{name}</title>'
    return head + "".join(items) + "</channel></rss>"


def feed_key(feed: int) -> str:
    group, site, name, _, _ = FEEDS[feed]
    return f"{group}/{site}/{name}"


def campaign_seed() -> int:
    """$NEWSDESK_FAULT_SEED, else a fresh seed (print it with any failure)."""
    value = os.environ.get(SEED_ENV)
    return int(value) if value else random.SystemRandom().randrange(1 << 32)


# -- the desk ----------------------------------------------------------------------------------


@dataclass
class Run:
    """A finished (or killed) CLI process."""

    args: list[str]
    returncode: int
    stdout: str
    stderr: str
    seconds: float

    def describe(self) -> str:
        def tail(text: str) -> str:
            return "\n".join(text.strip().splitlines()[-12:])

        return (
            f"`{' '.join(self.args)}` exited {self.returncode}\n"
            f"--- stdout (end)\n{tail(self.stdout)}\n--- stderr (end)\n{tail(self.stderr)}"
        )


class Desk:
    """A config, its archive, posts and site folders, and the feeds it reads from `server`."""

    def __init__(
        self,
        root: Path,
        server: FeedServer,
        *,
        feeds: int = len(FEEDS),
        publishers: Sequence[str] = ("hexo", "site"),
    ) -> None:
        self.root = root
        self.server = server
        self.feeds = feeds
        self.served = [0] * feeds  # items each feed lists now
        self.db_dir, self.posts, self.site, self.logs = (root / n for n in ("db", "posts", "site", "logs"))
        for d in (self.db_dir, self.posts, self.site, self.logs):
            d.mkdir(parents=True, exist_ok=True)
        self.database = self.db_dir / "newsdesk.db"
        self.config = root / "newsdesk.yaml"
        self.marker = f"fault-{uuid.uuid4().hex}"
        self.in_flight: dict[str, int] = {}  # per feed path: requests being answered now
        self.max_in_flight: dict[str, int] = {}  # ... and the most at once
        self.extra: Callable[[], set[tuple[str, str]]] | None = None  # entries stored besides the feeds
        self.hold = False  # while True, feed requests wait (a fetch that is sure to be under way)
        self._runs = 0
        self._started: list[Process] = []
        for f in range(feeds):
            server.route(self.path(f), self._handler(f))
        self.config.write_text(self._yaml(publishers), encoding="utf-8")

    def path(self, feed: int) -> str:
        return f"/{self.marker}/feed{feed}.xml"

    def _handler(self, feed: int) -> Callable[[Request], Any]:
        path = self.path(feed)

        async def handle(_req: Request) -> Reply:
            body = rss(feed, self.served[feed])  # the items as they were when the request came
            self.in_flight[path] = self.in_flight.get(path, 0) + 1
            self.max_in_flight[path] = max(self.max_in_flight.get(path, 0), self.in_flight[path])
            try:
                while self.hold:
                    await asyncio.sleep(0.01)
            finally:
                self.in_flight[path] -= 1
            return Reply(body)

        return handle

    def _yaml(self, publishers: Sequence[str]) -> str:
        lines = [
            "database: db/newsdesk.db",
            "hexo_dir: posts",
            "site_dir: site",
            "site_workers_from: 20",  # the trials' 160 new entries are built with the site's worker
            f"publishers: [{', '.join(publishers)}]",
            "fetch:",
            "  timeout: 60",
            "  retries: 0",
            "groups:",
        ]
        tree: dict[str, dict[str, list[int]]] = {}
        for f in range(self.feeds):
            group, site, _, _, _ = FEEDS[f]
            tree.setdefault(group, {}).setdefault(site, []).append(f)
        for group, sites in tree.items():
            lines.append(f"  {json.dumps(group, ensure_ascii=False)}:")
            for site, numbers in sites.items():
                lines.append(f"    {json.dumps(site, ensure_ascii=False)}:")
                for f in numbers:
                    lines += [
                        f"      - name: {json.dumps(FEEDS[f][2], ensure_ascii=False)}",
                        f"        url: {self.server.url(self.path(f))}",
                        f"        clean: {str(FEEDS[f][3]).lower()}",
                    ]
        return "\n".join(lines) + "\n"

    # -- feeds ------------------------------------------------------------------------------

    def grow(self, n: int) -> None:
        """Every feed lists `n` more items (the newest)."""
        self.served = [c + n for c in self.served]

    def expected(self) -> set[tuple[str, str]]:
        """(feed key, entry id) of every item the feeds have listed: feeds only grow."""
        items = {(feed_key(f), item_guid(f, i)) for f in range(self.feeds) for i in range(self.served[f])}
        return items | (self.extra() if self.extra else set())

    def feed_hits(self) -> dict[str, int]:
        return {self.path(f): self.server.hits(self.path(f)) for f in range(self.feeds)}

    # -- processes ----------------------------------------------------------------------------

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSDESK_")}
        env["COLUMNS"] = "250"
        env[MARKER_ENV] = self.marker
        return env

    def start(self, *args: str) -> Process:
        """`python -m newsdesk --config CONFIG ARGS…` in the background; its output goes to logs/."""
        self._runs += 1
        argv = [sys.executable, "-m", "newsdesk", "--config", str(self.config), *args]
        name = f"{self._runs:03d}-{args[0] if args else 'cli'}"
        proc = Process(argv, self.logs / name, self.env())
        self._started.append(proc)
        return proc

    def cli(self, *args: str, timeout: float = 300) -> Run:
        return self.start(*args).wait(timeout)

    def processes(self) -> list[tuple[int, str]]:
        """Live processes of this desk (pid, command line): command line naming the config, or
        the desk's marker in their environment. Zombies (dead, not yet reaped) are not counted."""
        found = []
        config = str(self.config).encode()
        marker = f"{MARKER_ENV}={self.marker}".encode()
        for name in os.listdir("/proc"):
            if not name.isdigit() or int(name) == os.getpid():
                continue
            try:
                with open(f"/proc/{name}/stat", "rb") as f:
                    state = f.read().rpartition(b")")[2].split()[0]
                if state in (b"Z", b"X"):
                    continue
                with open(f"/proc/{name}/cmdline", "rb") as f:
                    cmdline = f.read()
                mine = config in cmdline
                if not mine:
                    with contextlib.suppress(PermissionError), open(f"/proc/{name}/environ", "rb") as f:
                        mine = marker in f.read().split(b"\0")
            except (FileNotFoundError, ProcessLookupError, IndexError):
                continue
            if mine:
                found.append((int(name), cmdline.replace(b"\0", b" ").decode(errors="replace").strip()))
        return found

    def orphans(self, deadline: float = 10.0) -> list[tuple[int, str]]:
        """Processes of this desk still alive after `deadline` seconds of polling (none expected:
        the death of a parent reaches its workers asynchronously, so they get a moment)."""
        end = time.monotonic() + deadline
        while True:
            alive = self.processes()
            if not alive or time.monotonic() > end:
                return alive
            time.sleep(0.05)

    def kill_all(self) -> None:
        """SIGKILL whatever of this desk is still alive (after a test reported it), and reap the
        processes this desk started."""
        for proc in self._started:
            if proc.alive():
                proc.popen.kill()
            proc.popen.wait()
        for pid, _ in self.processes():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)

    # -- what is on disk ------------------------------------------------------------------------

    def expected_uids(self) -> set[str]:
        from newsdesk.models import entry_uid

        return {entry_uid(k, e) for k, e in self.expected()}

    def article_page(self, uid: str) -> Path:
        return self.site / "a" / uid[:2] / f"{uid}.html"

    def stored_uids(self) -> list[str]:
        """Uids in the archive (none before the first run), read-only."""
        if not self.database.exists():
            return []
        with contextlib.closing(sqlite3.connect(f"file:{self.database}?mode=ro", uri=True)) as db:
            return [r[0] for r in db.execute("SELECT uid FROM entries")]

    def stored_count(self) -> int:
        if not self.database.exists():
            return 0
        with contextlib.closing(sqlite3.connect(f"file:{self.database}?mode=ro", uri=True)) as db:
            return int(db.execute("SELECT count(*) FROM entries").fetchone()[0])

    def stored(self) -> list[tuple[str, str, str]]:
        """(uid, feed key, entry id) of every stored entry, read-only, straight from the file."""
        with contextlib.closing(sqlite3.connect(f"file:{self.database}?mode=ro", uri=True)) as db:
            return [(r[0], r[1], r[2]) for r in db.execute("SELECT uid, feed_key, entry_id FROM entries")]

    def integrity(self) -> str:
        with contextlib.closing(sqlite3.connect(f"file:{self.database}?mode=ro", uri=True)) as db:
            rows = db.execute("PRAGMA integrity_check").fetchall()
        return "; ".join(str(r[0]) for r in rows)

    def temp_files(self) -> list[str]:
        """Files left by an interrupted atomic write anywhere under the desk: today's
        `.name.….tmp` naming, or any hidden file naming itself a temporary one."""
        found = []
        for folder, _, files in os.walk(self.root):
            if Path(folder) == self.logs:
                continue
            for name in files:
                lower = name.lower()
                if ".tmp" in lower or (lower.startswith(".") and "tmp" in lower):
                    found.append(os.path.relpath(os.path.join(folder, name), self.root))
        return sorted(found)

    def post_names(self) -> set[str]:
        return {p.name for p in self.posts.iterdir() if p.suffix == ".md"} if self.posts.exists() else set()

    def index_count(self) -> int:
        from newsdesk.config import load_config
        from newsdesk.search import index_path
        from newsdesk.search.index import TantivyIndex

        config = load_config(self.config)
        index = TantivyIndex(index_path(config), database_url=config.database_url)
        try:
            return index.doc_count()
        finally:
            index.close()

    def manifest(self) -> dict[str, Any] | None:
        try:
            data = json.loads((self.site / ".newsdesk" / "manifest.json").read_bytes())
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def check_command(self) -> tuple[str, list[dict[str, Any]] | None]:
        """`newsdesk check --json`: ("absent", None) while the command does not exist, else
        ("ok" | "failed", its checks)."""
        run = self.cli("check", "--json")
        if run.returncode == 2 and "No such command" in run.stderr:
            return "absent", None
        try:
            checks = json.loads(run.stdout)
        except ValueError:
            return f"unreadable: {run.describe()}", None
        return ("ok" if run.returncode == 0 else f"failed (exit {run.returncode})"), checks

    def problems(self, *, check_command: bool = True) -> list[str]:
        """Every invariant that does not hold now (an empty list when the desk is sound)."""
        out: list[str] = []
        integrity = self.integrity()
        if integrity != "ok":
            return [f"PRAGMA integrity_check: {integrity[:300]}"]
        rows = self.stored()
        pairs = [(k, e) for _, k, e in rows]
        expected = self.expected()
        if len(set(pairs)) != len(pairs):
            out.append(f"duplicate (feed, entry id): {len(pairs) - len(set(pairs))}")
        if set(pairs) != expected:
            missing, extra = expected - set(pairs), set(pairs) - expected
            out.append(
                f"entries {len(set(pairs))} != items served {len(expected)}"
                f" (missing {sorted(missing)[:3]}…{len(missing)}, unexpected {sorted(extra)[:3]}…{len(extra)})"
            )
        uids = {u for u, _, _ in rows}
        posts = self.post_names()
        want_posts = {f"{u}.md" for u in uids}
        if posts != want_posts:
            out.append(
                f"posts {len(posts)} != entries {len(uids)}"
                f" (missing {len(want_posts - posts)}, stray {sorted(posts - want_posts)[:3]})"
            )
        empty = [n for n in posts if (self.posts / n).stat().st_size == 0]
        if empty:
            out.append(f"empty posts: {len(empty)}: {empty[:3]}")
        temps = self.temp_files()
        if temps:
            out.append(f"temp files left: {len(temps)}: {temps[:5]}")
        count = self.index_count()
        if count != len(uids):
            out.append(f"search index holds {count} documents, archive {len(uids)} entries")
        out += self.site_problems(uids)
        if check_command:
            status, checks = self.check_command()
            if status not in ("ok", "absent"):
                bad = [c for c in checks or [] if not c.get("ok")]
                out.append(f"newsdesk check {status}: {bad or checks}")
        return out

    def site_problems(self, uids: set[str]) -> list[str]:
        manifest = self.manifest()
        if manifest is None:
            return ["site: no readable manifest"]
        out = []
        recorded = {row[0] for row in manifest.get("metas", []) if isinstance(row, list) and row}
        if recorded != uids:
            out.append(f"site manifest records {len(recorded)} entries, archive {len(uids)}")
        missing_articles = [
            u for u in uids if not self.article_page(u).is_file() or self.article_page(u).stat().st_size == 0
        ]
        if missing_articles:
            out.append(
                f"site: {len(missing_articles)} article pages missing or empty, e.g. {missing_articles[:2]}"
            )
        pages = manifest.get("pages", {})
        missing_pages = [p for p in pages if not (self.site / p).is_file()]
        if missing_pages:
            out.append(f"site: {len(missing_pages)} pages of the manifest missing, e.g. {missing_pages[:3]}")
        if not (self.site / "index.html").is_file():
            out.append("site: no index.html")
        return out


class Process:
    """A CLI process started by `Desk.start`, its output in files (never a full pipe)."""

    def __init__(self, argv: list[str], log: Path, env: dict[str, str]) -> None:
        self.argv = argv
        self.out_path, self.err_path = log.with_suffix(".out"), log.with_suffix(".err")
        self.started = time.monotonic()
        with open(self.out_path, "wb") as out, open(self.err_path, "wb") as err:
            # Its own session: a signal for its whole group (Ctrl-C) reaches it and its workers only.
            self.popen = subprocess.Popen(
                argv, stdout=out, stderr=err, stdin=subprocess.DEVNULL, env=env, start_new_session=True
            )
        self.pid = self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def signal(self, sig: int, *, group: bool = False) -> None:
        """Send `sig` to the process, or with `group` to its process group as a terminal's
        Ctrl-C does (the process and the workers it forked)."""
        if self.alive():
            if group:
                os.killpg(self.pid, sig)
            else:
                self.popen.send_signal(sig)

    def wait(self, timeout: float | None = None) -> Run:
        try:
            code = self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait()
            raise
        return Run(
            self.argv[3:],
            code,
            self.out_path.read_text("utf-8", errors="replace"),
            self.err_path.read_text("utf-8", errors="replace"),
            time.monotonic() - self.started,
        )

    def stderr_now(self) -> str:
        return self.err_path.read_text("utf-8", errors="replace")

    def children(self, pid: int | None = None) -> list[int]:
        """Pids of the live children of this process (or of `pid`)."""
        parent = self.pid if pid is None else pid
        found = []
        for name in os.listdir("/proc"):
            if not name.isdigit():
                continue
            try:
                with open(f"/proc/{name}/stat", "rb") as f:
                    fields = f.read().rpartition(b")")[2].split()
            except (FileNotFoundError, ProcessLookupError):
                continue
            if len(fields) > 1 and fields[0] not in (b"Z", b"X") and int(fields[1]) == parent:
                found.append(int(name))
        return found

    def workers(self) -> list[int]:
        """Pids of its worker processes: the children of its fork server (`procs`), not those
        it started with a command of their own (the build's archive check)."""
        found = []
        for pid in self.children():
            with contextlib.suppress(OSError):
                if b"multiprocessing.forkserver" in Path(f"/proc/{pid}/cmdline").read_bytes():
                    found += self.children(pid)
        return found

    def open_files(self) -> list[str]:
        """What the process has open (targets of /proc/PID/fd)."""
        found = []
        with contextlib.suppress(FileNotFoundError, ProcessLookupError):
            for fd in os.listdir(f"/proc/{self.pid}/fd"):
                with contextlib.suppress(OSError):
                    found.append(os.readlink(f"/proc/{self.pid}/fd/{fd}"))
        return found


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll `condition` until it holds; AssertionError naming `what` after `timeout` seconds."""
    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.02)


def has_traceback(text: str) -> bool:
    return "Traceback (most recent call last)" in text


# -- trials -------------------------------------------------------------------------------------

# Where a kill can be aimed, per command. The moments are observed from outside (requests the
# server saw, entries committed, posts and article pages on disk), not timed: on a loaded
# machine a calibrated delay lands anywhere, a threshold lands where it is aimed.
PHASES: dict[str, tuple[str, ...]] = {
    # fetch: some feeds requested; store: some entries committed; index: every entry committed
    # (the search index and clusters catch up, then Hexo starts); hexo: some posts written;
    # site: some article pages written (the worker renders); late: every article page written
    # (list pages, search shards, feeds, manifest).
    "run": ("fetch", "store", "index", "hexo", "site", "late"),
    # start: the worker forked; pages: some article pages written; late: all of them written.
    "build": ("start", "pages", "late"),
}


@dataclass(frozen=True)
class KillPoint:
    phase: str
    threshold: int  # how many of the phase's units (feeds, entries, posts, pages) must be done
    extra: float  # seconds to wait after that, before the signal

    def describe(self) -> str:
        return f"{self.phase}≥{self.threshold}+{self.extra:.2f}s"


def draw_kill_point(rng: random.Random, phase: str, feeds: int, new: int) -> KillPoint:
    """A random point inside `phase` of a process that has `new` entries to store and publish."""
    if phase == "fetch":
        return KillPoint(phase, rng.randint(1, feeds), rng.uniform(0, 0.05))
    if phase in ("store", "hexo", "site", "pages"):
        return KillPoint(phase, rng.randint(1, max(1, new - 1)), 0.0)
    if phase == "start":
        return KillPoint(phase, 1, rng.uniform(0, 0.1))
    if phase == "index":  # every entry committed: the index catches up, then Hexo starts
        return KillPoint(phase, new, rng.uniform(0, 0.4))
    return KillPoint(phase, new, rng.uniform(0, 0.25))  # late: every page written, then the rest


class Watch:
    """What a trial's process has done so far, seen from outside."""

    def __init__(self, desk: Desk, proc: Process | None = None) -> None:
        self.desk = desk
        self.proc = proc
        self.requests_before = len(desk.server.requests)
        stored = set(desk.stored_uids())
        self.stored_before = len(stored)
        self.new = sorted(desk.expected_uids() - stored)  # entries this trial's process adds
        self.unposted = [u for u in desk.expected_uids() if not (desk.posts / f"{u}.md").exists()]
        self.unpaged = [u for u in desk.expected_uids() if not desk.article_page(u).exists()]

    def requested(self) -> int:
        paths = {self.desk.path(f) for f in range(self.desk.feeds)}
        seen = {r.path.split("?", 1)[0] for r in self.desk.server.requests[self.requests_before :]}
        return len(paths & seen)

    def stored(self) -> int:
        return self.desk.stored_count() - self.stored_before

    def posted(self) -> int:
        return sum(1 for u in self.unposted if (self.desk.posts / f"{u}.md").exists())

    def paged(self) -> int:
        return sum(1 for u in self.unpaged if self.desk.article_page(u).exists())

    def progress(self, phase: str) -> int:
        if phase == "fetch":
            return self.requested()
        if phase in ("store", "index"):
            return self.stored()
        if phase == "hexo":
            return self.posted()
        if phase == "start":
            return len(self.proc.workers()) if self.proc else 0
        return self.paged()  # site, pages, late

    def state(self, command: str) -> str:
        if command == "build":
            return f"{self.paged()}/{len(self.unpaged)} pages"
        try:
            stored = f"{self.stored()}/{len(self.new)} stored"
        except sqlite3.Error as e:
            stored = f"archive unreadable ({e})"
        return (
            f"{stored}, {self.posted()}/{len(self.unposted)} posts, {self.paged()}/{len(self.unpaged)} pages"
        )


@dataclass
class Trial:
    number: int
    command: str  # what was signalled: run or build
    point: KillPoint
    killed: bool = False  # False: the process had finished before the point was reached
    state: str = ""  # what the process had done when it was killed
    seconds: float = 0.0  # from its start to the signal (or its end)
    orphans: list[tuple[int, str]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def ok(self) -> bool:
        return not self.problems

    def describe(self) -> str:
        how = f"killed at {self.seconds:.2f} s" if self.killed else f"ended at {self.seconds:.2f} s, before"
        return f"trial {self.number}: {self.command} {how} {self.point.describe()} ({self.state}): " + (
            "ok" if self.ok() else "; ".join(self.problems)
        )


def kill_trial(
    desk: Desk,
    command: str,
    point: KillPoint,
    number: int,
    *,
    sig: int = signal.SIGKILL,
    rerun: Sequence[str] = ("run",),
    check_command: bool = False,
) -> Trial:
    """Start `command` (run, build), send `sig` once it reaches `point`, check that no process
    of it survives, rerun to completion (`rerun`), then check every invariant."""
    trial = Trial(number, command, point)
    watch = Watch(desk)
    proc = desk.start(command)
    watch.proc = proc
    while proc.alive() and watch.progress(point.phase) < point.threshold:
        time.sleep(0.02)
    if point.extra and proc.alive():
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.popen.wait(point.extra)
    if proc.alive():
        trial.seconds = time.monotonic() - proc.started
        proc.popen.send_signal(sig)
    done = proc.wait(60)
    trial.killed = done.returncode == -sig
    if not trial.killed:
        trial.seconds = done.seconds
        if done.returncode != 0 or has_traceback(done.stderr):
            trial.problems.append(f"unkilled {command} failed: {done.describe()}")
    trial.state = watch.state(command)
    trial.orphans = desk.orphans()
    if trial.orphans:
        trial.problems.append(f"{len(trial.orphans)} processes outlived the kill: {trial.orphans[:3]}")
        desk.kill_all()  # so the rerun and the next trials are not disturbed by them
    again = desk.cli(*rerun)
    if again.returncode != 0 or has_traceback(again.stderr):
        trial.problems.append(f"rerun failed: {again.describe()}")
    left = desk.orphans(deadline=5)
    if left:
        trial.problems.append(f"the rerun left processes behind: {left[:3]}")
        desk.kill_all()
    trial.problems += desk.problems(check_command=check_command)
    for name in desk.temp_files():  # reported above: the next trial must show only its own
        (desk.root / name).unlink()
    return trial


def expect_ok(run: Run) -> None:
    if run.returncode != 0 or has_traceback(run.stderr):
        raise AssertionError(run.describe())


def campaign(
    desk: Desk,
    rng: random.Random,
    *,
    trials: int,
    step: int,
    commands: Sequence[str] = ("run", "build"),
    report: Callable[[Trial], None] | None = None,
    check_command: bool = False,
) -> list[Trial]:
    """`trials` kill trials, alternating over `commands`; each adds `step` items per feed first.

    A `build` trial stores the new items with `fetch` (unkilled) first, so the killed build has
    them to write; a `cold-build` trial also removes the site, so the build renders every entry
    (with 5,000 or more, in all its worker processes). Each command goes through its phases
    (`PHASES`) in a shuffled order, once each before any repeats, at a random point inside."""
    orders: dict[str, list[str]] = {c: [] for c in commands}
    results = []
    for n in range(1, trials + 1):
        command = commands[(n - 1) % len(commands)]
        killed = "build" if command == "cold-build" else command
        if not orders[command]:
            orders[command] = rng.sample(PHASES[killed], len(PHASES[killed]))
        phase = orders[command].pop()
        desk.grow(step)
        if killed == "build":
            expect_ok(desk.cli("fetch"))
        if command == "cold-build":
            shutil.rmtree(desk.site)
            desk.site.mkdir()
        new = len(desk.expected()) if command == "cold-build" else step * desk.feeds
        point = draw_kill_point(rng, phase, desk.feeds, new)
        trial = kill_trial(desk, killed, point, n, check_command=check_command)
        trial.command = command
        results.append(trial)
        if report:
            report(trial)
    return results


@contextlib.contextmanager
def tmpfs(path: Path, size: str) -> Iterator[Path]:
    """A tmpfs of `size` (e.g. "4m") mounted on `path` (root only); unmounted on exit."""
    path.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], check=True)
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def remount(path: Path, size: str) -> None:
    """Make the tmpfs on `path` larger, its files kept."""
    subprocess.run(["mount", "-o", f"remount,size={size}", str(path)], check=True)


def can_mount() -> str | None:
    """None when tmpfs can be mounted here, else why not (the reason a test is skipped)."""
    if os.geteuid() != 0:
        return "full-disk trials mount a small tmpfs, which needs root"
    if sys.platform != "linux":
        return "full-disk trials need Linux tmpfs"
    return None


def corrupt_middle(path: Path, rng: random.Random, *, fraction: float = 0.3) -> list[int]:
    """Overwrite the middle `fraction` of the file's pages (4 KiB) with random bytes; the pages."""
    size = path.stat().st_size
    pages = size // 4096
    count = max(1, int(pages * fraction))
    first = max(1, (pages - count) // 2)  # page 0 (the header) stays: the file still opens
    chosen = list(range(first, min(first + count, pages)))
    with open(path, "r+b") as f:
        for p in chosen:
            f.seek(p * 4096)
            f.write(rng.randbytes(4096))
    return chosen
