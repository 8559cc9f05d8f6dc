"""Processes beside and below newsdesk: locks between runs and builds, worker processes that die
with their parent, clean stops on SIGINT/SIGTERM, and no temporary files left behind.

Through the real CLI (`python -m newsdesk`) in real processes, signalled and killed for real.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from cli_helpers import run_cli, write_desk_config
from newsdesk import atomic, locks
from newsdesk.models import FeedSpec, FetchResult, ParsedEntry
from newsdesk.store import SQLiteStore
from server import FeedServer

DEADLINE = 60.0  # seconds any poll below waits before the test fails


def _rss(prefix: str, n: int, day: int = 20) -> str:
    items = "".join(
        f"<item><title>{prefix}第{i}条：央行开展公开市场操作</title><link>https://news.example.cn/{prefix}{i}.html</link>"
        f"<guid>{prefix}{i}</guid><pubDate>Mon, {day} Dec 2021 10:{i % 60:02d}:00 GMT</pubDate>"
        f"<description><![CDATA[<p>{prefix}第{i}条正文：稳妥推进千兆光网建设。</p>]]></description></item>"
        for i in range(n)
    )
    return f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>t</title>{items}</channel></rss>'


def _config(tmp: Path, feeds: list[tuple[str, str, str, str]], *, publishers: str = "[hexo]") -> Path:
    names = [p.strip() for p in publishers.strip("[]").split(",")]
    return write_desk_config(tmp, feeds, clean=False, publishers=names, timeout=60)


def _seed(tmp: Path, n: int) -> None:
    """An archive of `n` entries, stored directly (fast): enough for a build with a worker."""
    store = SQLiteStore(tmp / "archive.db")
    spec = FeedSpec("金融", "种子站", "种子", url="http://seed.invalid/")
    t0 = datetime(2024, 3, 1, tzinfo=UTC)
    entries = [
        ParsedEntry(
            id=f"s{i}",
            title=f"第{i}篇：千兆光网建设稳步推进",
            link=f"https://news.example.cn/s{i}.html",
            published=t0 + timedelta(minutes=i),
            content="".join(
                f"<p>第{i}篇第{k}段：工信部部署重点任务，推进千兆光网建设。</p>" for k in range(3)
            ),
        )
        for i in range(n)
    ]
    store.save_fetch(spec, FetchResult(spec.source, 200), entries, datetime.now(UTC))
    store.close()


def _popen(config: Path, *args: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSDESK_")}
    env["COLUMNS"] = "250"
    return subprocess.Popen(
        [sys.executable, "-m", "newsdesk", "--config", str(config), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        start_new_session=True,  # its own process group: a signal to the group reaches its workers
    )


def _poll(what: str, check: Callable[[], object]) -> object:
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def _children(pid: int) -> list[int]:
    """Processes whose parent is `pid` (from /proc)."""
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry.name))
    return found


def _descendants(pid: int) -> list[int]:
    found = []
    for child in _children(pid):
        found += [child, *_descendants(child)]
    return found


def _workers(pid: int) -> list[int]:
    """Worker processes of `pid`: the children of its fork server (procs), not a helper
    program such as the build's archive check."""
    found = []
    for child in _children(pid):
        try:
            if b"multiprocessing.forkserver" in Path(f"/proc/{child}/cmdline").read_bytes():
                found += _children(child)
        except OSError:
            continue
    return found


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"  # a zombie has exited


def _held_by(lock: Path, pid: int) -> bool:
    info = locks.holder(lock)
    return info is not None and info.get("pid") == pid


def _temp_files(*folders: Path) -> list[str]:
    return [
        str(Path(d, f))
        for folder in folders
        for d, _, files in os.walk(folder)
        for f in files
        if atomic.is_temp(f)
    ]


def _finish(proc: subprocess.Popen[str]) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=DEADLINE)
    return proc.returncode, out, err


@pytest.fixture
def procs_cleanup() -> Iterator[list[subprocess.Popen[str]]]:
    """Processes a test started: killed with their process groups (any worker they left, should
    a test fail) at the end."""
    started: list[subprocess.Popen[str]] = []
    yield started
    for p in started:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(p.pid, signal.SIGKILL)
        p.wait()


def test_a_second_run_waits_then_names_the_holder_and_exits_5(
    tmp_path: Path, feed_server: FeedServer, procs_cleanup: list[subprocess.Popen[str]]
) -> None:
    feed_server.route("/fast.xml", _rss("f", 3))
    feed_server.route("/slow.xml", _rss("w", 2), delay=120)  # holds the first run in its fetch
    config = _config(
        tmp_path,
        [
            ("金融", "站", "快", feed_server.url("/fast.xml")),
            ("金融", "站", "慢", feed_server.url("/slow.xml")),
        ],
    )
    first = _popen(config, "run")
    procs_cleanup.append(first)
    lock = tmp_path / "archive.db-fetch.lock"
    _poll("the first run's fetch lock", lambda: _held_by(lock, first.pid))
    _poll("the fast feed's entries", lambda: feed_server.hits("/slow.xml") and feed_server.hits("/fast.xml"))

    second = run_cli(config, "run", "--wait", "0.5", check=False)
    assert second.returncode == 5, second.stderr
    assert "Traceback" not in second.stderr
    [line] = [ln for ln in second.stderr.splitlines() if ln.strip()]
    assert f"pid {first.pid}" in line and "newsdesk" in line and " run" in line and "since" in line
    assert "fetching" in line and str(lock) in line
    assert feed_server.hits("/fast.xml") == 1  # the second run fetched nothing

    # SIGTERM stops the first run cleanly: what it stored stays, a summary, 143, no traceback.
    _poll("the fast feed stored", lambda: _entries(tmp_path) == 3)
    first.send_signal(signal.SIGTERM)
    code, out, err = _finish(first)
    assert code == 143, err
    assert "Traceback" not in err and "EOFError" not in err and "leaked" not in err, err
    assert "1 feeds before the stop" in out and "stopped by SIGTERM" in err
    assert _entries(tmp_path) == 3
    assert not locks.holder(lock)  # let go (and emptied)
    # The lock is free now: a run goes through (the slow feed answers at once this time).
    feed_server.route("/slow.xml", _rss("w", 2))
    assert run_cli(config, "run", "--wait", "0").returncode == 0
    assert _entries(tmp_path) == 5


def _entries(tmp: Path) -> int:
    store = SQLiteStore(tmp / "archive.db")
    try:
        return len(store.list_entries(limit=None))
    finally:
        store.close()


def test_sigint_to_the_group_stops_a_run_with_130_and_no_traceback(
    tmp_path: Path, feed_server: FeedServer, procs_cleanup: list[subprocess.Popen[str]]
) -> None:
    feed_server.route("/slow.xml", _rss("w", 2), delay=120)
    config = _config(tmp_path, [("金融", "站", "慢", feed_server.url("/slow.xml"))])
    run = _popen(config, "run", "--json")
    procs_cleanup.append(run)
    _poll("the run's request", lambda: feed_server.hits("/slow.xml"))
    os.killpg(run.pid, signal.SIGINT)  # as Ctrl-C on a terminal: the whole process group
    code, out, err = _finish(run)
    assert code == 130, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
    report = json.loads(out)
    assert report["stopped"] == "SIGINT" and report["exit_code"] == 130 and report["feeds"] == []
    assert "stopped by SIGINT" in err


def test_a_locked_output_folder_waits_then_exits_5_and_a_dead_holder_frees_it(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    feed_server.route("/a.xml", _rss("a", 3))
    config = _config(tmp_path, [("金融", "站", "甲", feed_server.url("/a.xml"))], publishers="[hexo, site]")
    site_lock = tmp_path / "site" / ".newsdesk" / "publish.lock"
    site_lock.parent.mkdir(parents=True)
    with locks.hold(site_lock, "a test"):
        build = run_cli(config, "build", "--wait", "0.3", check=False)
        assert build.returncode == 5 and "Traceback" not in build.stderr
        assert f"pid {os.getpid()}" in build.stderr and "publishing to" in build.stderr
        # A run stores and writes its Hexo posts, then reports the site it could not publish.
        run = run_cli(config, "run", "--wait", "0.3", check=False)
        assert run.returncode == 5, run.stderr
        assert "publish site:" in run.stderr and f"pid {os.getpid()}" in run.stderr
        assert len(list((tmp_path / "posts").glob("*.md"))) == 3
    # A holder killed with SIGKILL leaves the lock free (the kernel drops it).
    with subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path; from newsdesk import locks\n"
            "with locks.hold(Path(sys.argv[1]), 'x'):\n    print('held', flush=True); time.sleep(600)",
            str(site_lock),
        ],
        stdout=subprocess.PIPE,
        text=True,
    ) as holder:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        holder.kill()
    assert locks.holder(site_lock) is not None  # its note is still there, the lock is not
    assert run_cli(config, "build", "--wait", "0").returncode == 0


def test_run_during_build_waits_for_the_site_and_leaves_it_complete(
    tmp_path: Path, feed_server: FeedServer, procs_cleanup: list[subprocess.Popen[str]]
) -> None:
    _seed(tmp_path, 600)
    feed_server.route("/a.xml", _rss("a", 5))
    config = _config(tmp_path, [("金融", "站", "甲", feed_server.url("/a.xml"))], publishers="[hexo, site]")
    build = _popen(config, "build", "--json")
    procs_cleanup.append(build)
    lock = tmp_path / "site" / ".newsdesk" / "publish.lock"
    _poll("the build's lock", lambda: _held_by(lock, build.pid))
    run = run_cli(config, "run", "--json")
    code, _, err = _finish(build)
    assert code == 0, err
    report = json.loads(run.stdout)
    assert report["exit_code"] == 0 and report["publish_errors"] == []
    assert "cannot write" not in run.stderr
    # The site is whole: every entry has its page, the search index its every shard, and a
    # build afterwards has nothing to do.
    pages = list((tmp_path / "site" / "a").glob("*/*.html"))
    assert len(pages) == 605
    again = json.loads(run_cli(config, "build", "--json").stdout)
    assert again["written"] == 0 and again["removed"] == 0
    assert _temp_files(tmp_path / "site", tmp_path / "posts") == []


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM, signal.SIGINT])
def test_a_killed_build_leaves_no_worker_and_no_temp_file(
    tmp_path: Path, procs_cleanup: list[subprocess.Popen[str]], sig: signal.Signals
) -> None:
    _seed(tmp_path, 600)
    config = _config(tmp_path, [("金融", "种子站", "种子", "http://seed.invalid/")])
    build = _popen(config, "build")
    procs_cleanup.append(build)
    # 600 changed entries: the build starts a worker for its article pages (publish/site/pool.py).
    workers = _poll("the build's worker process", lambda: _workers(build.pid))
    assert isinstance(workers, list)
    if sig == signal.SIGINT:
        os.killpg(build.pid, sig)  # Ctrl-C: the whole group, workers included
    else:
        build.send_signal(sig)
    code, _, err = _finish(build)
    _poll("the workers to end", lambda: not any(_alive(w) for w in workers))
    if sig == signal.SIGKILL:
        assert code == -signal.SIGKILL
    else:
        assert code == 128 + sig, err
        assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
        assert f"stopped by {sig.name}" in err and "files written" in err
        assert _temp_files(tmp_path / "site") == []  # a clean stop removes its own
    again = json.loads(run_cli(config, "build", "--json").stdout)
    assert again["written"] > 600
    assert _temp_files(tmp_path / "site") == []
    assert len(list((tmp_path / "site" / "a").glob("*/*.html"))) == 600


def test_stale_temp_files_are_removed_by_the_next_run(tmp_path: Path, feed_server: FeedServer) -> None:
    feed_server.route("/a.xml", _rss("a", 3))
    config = _config(tmp_path, [("金融", "站", "甲", feed_server.url("/a.xml"))], publishers="[hexo, site]")
    run_cli(config, "run")
    site, posts = tmp_path / "site", tmp_path / "posts"
    index = tmp_path / "archive.db.search"
    planted = [
        posts / ".0123456789abcdef.md.4242.tmp",  # 0 bytes, as a killed run leaves them
        posts / ".0123456789abcdef.md.a1b2c3d4.tmp",  # the older naming of Hexo posts
        site / ".rss.xml.4242.tmp",
        site / ".newsdesk" / ".manifest.json.4242.tmp",
        site / "search" / ".index.js.4242.tmp",
        site / "a" / "zz" / ".0123456789abcdef.html.4242.tmp",
        index / ".newsdesk-index.json.4242.tmp",
    ]
    kept = [posts / "notes.tmp", posts / ".draft.tmp", site / "robots.txt"]  # not of our naming
    for p in planted + kept:
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(b"" if "4242" in p.name else b"x")
    feed_server.route("/a.xml", _rss("a", 4))  # one new entry: the index is written too
    run_cli(config, "run")
    assert [p for p in planted if p.exists()] == []
    assert all(p.exists() for p in kept)
    assert _temp_files(site, posts, index) == []


def _script(tmp: Path, body: str) -> subprocess.Popen[str]:
    script = tmp / "parent.py"
    script.write_text(textwrap.dedent(body), encoding="utf-8")
    return subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)


@pytest.mark.parametrize("how", ["pool", "pool-from-a-thread", "process"])
def test_every_started_process_dies_with_its_parent(tmp_path: Path, how: str) -> None:
    """The one helper that starts processes (procs), its one start method: workers run
    (also when the thread that started them has ended, as in a threaded server), and killed
    with SIGKILL, the parent leaves no process behind (the fork server and its workers)."""
    parent = _script(
        tmp_path,
        f"""
        import os, threading, time
        from newsdesk import procs

        if __name__ == "__main__":
            if {how!r} == "process":
                child = procs.process(time.sleep, (600,), name="sleeper")
                print(child.pid, flush=True)
            else:
                pools = []
                if {how!r} == "pool":
                    pools.append(procs.pool(2))
                else:
                    starter = threading.Thread(target=lambda: pools.append(procs.pool(2)))
                    starter.start()
                    starter.join()
                pids = {{pools[0].submit(os.getpid).result() for _ in range(50)}}
                print(" ".join(map(str, sorted(pids))), flush=True)
            time.sleep(600)
        """,
    )
    with parent:
        assert parent.stdout is not None
        answered = [int(pid) for pid in parent.stdout.readline().split()]
        assert answered and parent.pid not in answered  # the work ran in other processes
        workers = _workers(parent.pid)
        assert set(answered) <= set(workers)
        assert len(workers) == (1 if how == "process" else 2)
        started = _descendants(parent.pid)
        parent.kill()
    _poll("the processes to end", lambda: not any(_alive(c) for c in started))


def test_sigterm_stops_a_run_and_its_index_process(
    tmp_path: Path, feed_server: FeedServer, procs_cleanup: list[subprocess.Popen[str]]
) -> None:
    """1,200 changes behind the search index: the run starts its index process at once. SIGTERM to the run alone stops both: no orphan, no leaked semaphore, no EOFError."""
    _seed(tmp_path, 1200)
    feed_server.route("/slow.xml", _rss("w", 2), delay=120)
    config = _config(
        tmp_path, [("金融", "站", "慢", feed_server.url("/slow.xml"))], publishers="[hexo, site]"
    )
    run = _popen(config, "run")
    procs_cleanup.append(run)
    _poll("the run's request", lambda: feed_server.hits("/slow.xml"))
    children = _poll("the index process", lambda: _workers(run.pid))
    assert isinstance(children, list)
    children += _descendants(run.pid)
    run.send_signal(signal.SIGTERM)
    code, out, err = _finish(run)
    assert code == 143, err
    assert "Traceback" not in err and "EOFError" not in err and "leaked" not in err, err
    assert "0 feeds before the stop" in out and "stopped by SIGTERM" in err
    _poll("the index process to end", lambda: not any(_alive(c) for c in children))


def test_the_atomic_writer_leaves_the_old_file_or_the_new_one_and_no_temp_file(tmp_path: Path) -> None:
    target = tmp_path / "page.html"
    target.write_bytes(b"old")
    atomic.write_bytes(target, b"new", sync=True)
    assert target.read_bytes() == b"new"

    class Boom(BaseException):  # as a signal's exception would, in the middle of a write
        pass

    with pytest.raises(Boom), atomic.replacing(target) as f:
        f.write(b"half")
        raise Boom
    assert target.read_bytes() == b"new" and sorted(p.name for p in tmp_path.iterdir()) == ["page.html"]
    with pytest.raises(IsADirectoryError):
        atomic.write_bytes(tmp_path, b"x")  # the rename fails: its temporary file goes too
    assert sorted(p.name for p in tmp_path.iterdir()) == ["page.html"]
    # What the sweep takes: this naming (and the older Hexo one) only, at any depth asked.
    names = [".a.md.123.tmp", ".a.md.0a1b2c3d.tmp", "a.md.123.tmp", ".a.tmp", ".a.md.xyz.tmp", "b.html"]
    for name in names:
        (tmp_path / "sub").mkdir(exist_ok=True)
        (tmp_path / "sub" / name).write_bytes(b"")
    assert atomic.sweep_temp(tmp_path) == 0
    assert atomic.sweep_temp(tmp_path, recursive=True) == 2
    assert sorted(p.name for p in (tmp_path / "sub").iterdir()) == sorted(names[2:])


def test_a_lock_waits_until_its_deadline_then_names_its_holder(tmp_path: Path) -> None:
    lock = tmp_path / "x.lock"
    with locks.hold(lock, "first"):
        info = locks.holder(lock)
        assert info is not None and info["pid"] == os.getpid() and "since" in info
        with pytest.raises(locks.LockBusy) as busy, locks.waiting(0.3), locks.hold(lock, "publishing to x"):
            pass
        message = str(busy.value)
        assert message.startswith("publishing to x: pid") and f"pid {os.getpid()}" in message
        assert "\n" not in message and busy.value.exit_code == 5
    assert locks.holder(lock) is None  # emptied when let go
    with locks.waiting(0), locks.hold(lock, "again"):
        pass


def test_a_signal_inside_an_asyncio_callback_still_stops_the_process() -> None:
    """asyncio logs and drops any BaseException raised in a callback or a socket write except
    SystemExit and KeyboardInterrupt: a SIGTERM landing there must still stop the run."""
    code = textwrap.dedent(
        """
        import asyncio, os, signal
        from newsdesk import procs
        procs.stop_on_signals()

        async def main():
            # The signal arrives while a callback runs (its handler raises there).
            asyncio.get_running_loop().call_soon(lambda: os.kill(os.getpid(), signal.SIGTERM))
            await asyncio.sleep(30)
            print("not stopped")

        try:
            asyncio.run(main())
        except procs.Stopped as e:
            print("stopped", e.exit_code)
        """
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.split() == ["stopped", "143"], (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr and "Exception in callback" not in done.stderr, done.stderr


_ARENAS = """
import ctypes, sys, tempfile, threading
from newsdesk import procs
limited = procs.limit_malloc_arenas(2) if sys.argv[1] == "limit" else True
libc = ctypes.CDLL(None)
libc.malloc.restype = ctypes.c_void_p
libc.free.argtypes = [ctypes.c_void_p]
libc.fopen.restype = ctypes.c_void_p
start = threading.Barrier(8)

def churn():
    start.wait()
    for _ in range(2000):
        blocks = [libc.malloc(200_000) for _ in range(4)]
        for b in blocks:
            libc.free(b)

threads = [threading.Thread(target=churn) for _ in range(8)]
for t in threads:
    t.start()
for t in threads:
    t.join()
with tempfile.NamedTemporaryFile(suffix=".xml") as out:
    fp = libc.fopen(out.name.encode(), b"w")
    libc.malloc_info(0, ctypes.c_void_p(fp))
    libc.fclose(ctypes.c_void_p(fp))
    print(limited, open(out.name).read().count("<heap nr="))
"""


def test_malloc_arenas_are_limited_for_threaded_processes() -> None:
    """serve's processes keep at most two glibc arenas however many threads allocate at once
    (each arena keeps what its threads freed: the high-water mark of each)."""
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "-c", _ARENAS, "limit"], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    limited, heaps = proc.stdout.split()
    assert limited == "True" and 1 <= int(heaps) <= 2, proc.stdout


def test_a_stop_replaced_by_a_clean_ups_error_is_still_known() -> None:
    """A SIGTERM raised inside a library's clean-up can come out as that library's error (psycopg
    leaving a busy pipeline), which a worker's loop handles as an ordinary failure: the loop then
    asks `stop_requested` (seen as a `newsdesk worker` that never stopped on SIGTERM)."""
    code = textwrap.dedent(
        """
        import os, signal
        from newsdesk import procs
        procs.stop_on_signals()
        print("before", procs.stop_requested())
        try:
            try:
                os.kill(os.getpid(), signal.SIGTERM)  # its handler raises Stopped right here
                print("not stopped")
            finally:
                raise RuntimeError("cannot exit pipeline mode while busy")
        except RuntimeError:
            pass
        stopped = procs.stop_requested()
        print("after", type(stopped).__name__, stopped.exit_code)
        """
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.split() == ["before", "None", "after", "Stopped", "143"], (done.stdout, done.stderr)
