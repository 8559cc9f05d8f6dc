"""Faults: `run` and `build` killed at random moments over the real feed server, two runs at once,
a run during a build, a full disk under each folder, a corrupt archive. After each, the desk
must hold exactly what was served, once, with every post, page and search document, no temp
file and no process left behind (tests/faults.py has the campaign and the invariants).

More trials: `.venv/bin/python bench/fault_campaign.py --trials 60`. Replay a failure with the
seed it prints: `NEWSDESK_FAULT_SEED=<seed> .venv/bin/pytest tests/test_faults.py`.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from faults import (
    EXIT_LOCKED,
    SEED_ENV,
    Desk,
    Run,
    campaign,
    campaign_seed,
    can_mount,
    corrupt_middle,
    has_traceback,
    remount,
    tmpfs,
    wait_until,
)
from server import FeedServer

STEP = 20  # new items per feed before each trial: 160 entries, enough for the site's worker
SUMMARY = re.compile(r"^\d+ feeds\b.*\b\d+ failed; \d+ new", re.MULTILINE)


@pytest.fixture
def seed() -> int:
    return campaign_seed()


@pytest.fixture
def desk(tmp_path: Path, feed_server: FeedServer) -> Iterator[Desk]:
    d = Desk(tmp_path / "desk", feed_server)
    try:
        yield d
    finally:
        d.hold = False
        d.kill_all()  # a failed test must not leave its processes to the next


def replay(seed: int) -> str:
    return f"seed {seed} (replay: {SEED_ENV}={seed} pytest tests/test_faults.py)"


def lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


def ok(run: Run) -> None:
    assert run.returncode == 0 and not has_traceback(run.stderr), run.describe()


def test_runs_and_builds_killed_at_random_moments_leave_a_sound_desk(desk: Desk, seed: int) -> None:
    """SIGKILL `run` and `build` at moments spread over a trial's duration (fetch, store,
    indexing, Hexo, site with its worker), rerun, and check every invariant each time."""
    rng = random.Random(seed)
    desk.grow(STEP)
    ok(desk.cli("run"))
    # Four trials: two runs and two builds, each at a phase drawn without repeats (a fresh seed
    # each time, so successive test runs reach every phase); bench/fault_campaign.py runs more.
    trials = campaign(desk, rng, trials=4, step=STEP)
    report = "\n".join(t.describe() for t in trials)
    assert all(t.ok() for t in trials), f"{replay(seed)}\n{report}"
    assert sum(t.killed for t in trials) >= 2, f"too few kills landed: {replay(seed)}\n{report}"
    # `newsdesk check` agrees (once it exists: before, the invariants above stand alone).
    assert desk.problems(check_command=True) == [], replay(seed)


@pytest.mark.parametrize(
    ("command", "sig", "group", "code"),
    [("run", signal.SIGTERM, False, 143), ("build", signal.SIGINT, True, 130)],
    ids=["run-sigterm", "build-ctrl-c"],
)
def test_sigterm_and_sigint_stop_cleanly(desk: Desk, command: str, sig: int, group: bool, code: int) -> None:
    """Signalled while its site worker renders (SIGTERM to the process as `kill` sends it, SIGINT
    to its process group as Ctrl-C does), a run or build stops its workers, leaves no temp file,
    exits 128 + the signal with no traceback, and a rerun completes the desk."""
    desk.grow(10)
    ok(desk.cli("run"))
    desk.grow(STEP)
    if command == "build":
        ok(desk.cli("fetch"))
    proc = desk.start(command)
    wait_until(lambda: bool(proc.workers()) or not proc.alive(), 120, f"{command}'s worker")
    assert proc.alive(), f"{command} ended before its worker was seen: {proc.wait().describe()}"
    proc.signal(sig, group=group)
    stopped = proc.wait(60)
    orphans = desk.orphans(deadline=10)
    stderr = proc.stderr_now()  # again: a resource tracker may write once its parent is gone
    assert stopped.returncode == code, stopped.describe()
    assert not has_traceback(stderr) and "EOFError" not in stderr and "KeyboardInterrupt" not in stderr, (
        stderr
    )
    assert "leaked semaphore" not in stderr, stderr
    assert orphans == []
    assert desk.temp_files() == []
    # What was done is printed: the run's summary, how many pages the build wrote.
    if command == "run":
        assert SUMMARY.search(stopped.stdout), f"no summary:\n{stopped.describe()}"
    else:
        assert re.search(r"\d+ (files |pages )?written", stopped.stdout + stderr), stopped.describe()
    ok(desk.cli("run"))
    assert desk.problems() == []


def test_the_next_run_and_build_remove_stale_temp_files(desk: Desk) -> None:
    """Temp files of a killed process (the atomic writers' naming: hidden, a pid or random part,
    `.tmp`), some empty, an hour old, are removed by the next run (posts) and build (site)."""
    desk.grow(10)
    ok(desk.cli("run"))
    uid = sorted(p.stem for p in desk.posts.glob("*.md"))[0]
    gone = subprocess.Popen(["true"])  # a pid that is surely not a live writer's
    gone.wait()
    stale_posts = [
        desk.posts / f".{uid}.md.1a2b3c4d.tmp",
        desk.posts / ".0123456789abcdef.md.deadbeef.tmp",
    ]
    stale_site = [
        desk.site / ".newsdesk" / f".manifest.json.{gone.pid}.tmp",
        desk.site / f".rss.xml.{gone.pid}.tmp",
        desk.site / "a" / uid[:2] / f".{uid}.html.{gone.pid}.tmp",
    ]
    an_hour_ago = time.time() - 3600
    for i, path in enumerate(stale_posts + stale_site):
        path.write_bytes(b"" if i % 2 else "半截的内容".encode())
        os.utime(path, (an_hour_ago, an_hour_ago))
    desk.grow(5)
    ok(desk.cli("run"))
    assert [p for p in stale_posts if p.exists()] == []
    ok(desk.cli("build"))
    assert desk.temp_files() == []
    assert desk.problems() == []


def test_two_runs_at_once_never_fetch_the_same_feeds_together(desk: Desk) -> None:
    """The fetch lock: a second run waits at most --wait seconds, then names the holder and exits
    5 without fetching; given time enough, it runs after the first. Never both fetch at once."""
    desk.grow(STEP)
    desk.hold = True  # the first run's requests wait: its fetch is under way until released
    first = desk.start("run")
    wait_until(lambda: all(desk.feed_hits().values()) or not first.alive(), 120, "the first run's requests")
    second = desk.cli("run", "--wait", "0", timeout=120)
    assert second.returncode == EXIT_LOCKED, second.describe()
    assert not has_traceback(second.stderr)
    assert len(lines(second.stderr)) == 1 and str(first.pid) in second.stderr, second.describe()
    assert set(desk.feed_hits().values()) == {1}, "the second run fetched"
    desk.hold = False
    ok(first.wait(120))

    desk.grow(5)
    before = desk.feed_hits()
    desk.hold = True
    first = desk.start("run")
    wait_until(
        lambda: desk.feed_hits() != before and all(h > before[p] for p, h in desk.feed_hits().items()),
        120,
        "the first run's requests",
    )
    second = desk.start("run", "--wait", "120")
    # Released once the second has reached the archive (or ended), so it tries the lock while held.
    wait_until(
        lambda: not second.alive() or any(str(desk.db_dir) in f for f in second.open_files()),
        120,
        "the second run to open the archive",
    )
    desk.hold = False
    ok(first.wait(120))
    ok(second.wait(120))
    assert {p: h - before[p] for p, h in desk.feed_hits().items()} == {p: 2 for p in before}
    assert set(desk.max_in_flight.values()) == {1}, f"one feed fetched twice at once: {desk.max_in_flight}"
    assert desk.problems() == []


def test_a_run_during_a_build_waits_for_it(desk: Desk) -> None:
    """The publish lock: a run that reaches the site while a build writes it waits for the build
    (--wait), no 'No such file or directory', and the site is complete after both."""
    desk.grow(10)
    ok(desk.cli("run"))
    desk.grow(STEP)  # 160 pages: the build renders them in its worker, stopped there below
    ok(desk.cli("fetch"))
    build = desk.start("build")
    wait_until(lambda: bool(build.workers()) or not build.alive(), 120, "the build's worker")
    assert build.alive(), f"the build ended before its worker was seen: {build.wait().describe()}"
    build.signal(signal.SIGSTOP)  # the build holds the site while the run comes
    try:
        desk.grow(5)
        run = desk.start("run", "--wait", "120")
        wanted = len(desk.expected())
        wait_until(lambda: not run.alive() or len(desk.post_names()) >= wanted, 120, "the run's posts")
    finally:
        build.signal(signal.SIGCONT)
    built, ran = build.wait(180), run.wait(180)
    for done in (built, ran):
        ok(done)
        assert "No such file or directory" not in done.stderr + done.stdout, done.describe()
    assert desk.orphans(deadline=10) == []
    assert desk.problems() == []
    ok(desk.cli("build"))
    assert desk.problems() == []


@pytest.mark.parametrize(("folder", "size"), [("db_dir", "1m"), ("posts", "600k"), ("site", "2m")])
def test_a_full_disk_is_reported_and_a_rerun_recovers(desk: Desk, folder: str, size: str) -> None:
    """The database, posts or site folder on a small tmpfs that fills up during a run: one clear
    line naming the place, no traceback, the run's summary; after more space, a rerun completes."""
    reason = can_mount()
    if reason:
        pytest.skip(reason)
    with tmpfs(getattr(desk, folder), size) as mount:
        desk.grow(40)
        full = desk.cli("run")
        assert full.returncode != 0, f"the disk did not fill: {full.describe()}"
        assert not has_traceback(full.stderr), full.describe()
        assert SUMMARY.search(full.stdout), f"no summary:\n{full.describe()}"
        said = [line for line in lines(full.stderr) if re.search(r"No space left|disk is full|full", line)]
        assert said, full.describe()
        assert all(str(desk.root) in line for line in said), said
        assert desk.temp_files() == []
        remount(mount, "64m")
        ok(desk.cli("run"))
        assert desk.orphans(deadline=10) == []
        assert desk.problems() == []


def test_a_corrupt_archive_gives_one_line_per_command(desk: Desk, seed: int) -> None:
    """Random bytes over the middle of the database file: run, build (a full one), entries
    list, search and check each say so in one line and exit non-zero, never a traceback."""
    desk.grow(2 * STEP)
    ok(desk.cli("run"))
    pages = corrupt_middle(desk.database, random.Random(seed))
    assert desk.integrity() != "ok", f"{len(pages)} pages overwritten, still sound: {replay(seed)}"
    shutil.rmtree(desk.site)  # the build reads every entry
    desk.grow(5)
    damaged = re.compile(r"corrupt|malformed|damaged", re.IGNORECASE)

    run = desk.cli("run")
    assert run.returncode != 0 and not has_traceback(run.stderr), f"{replay(seed)}\n{run.describe()}"
    problems = [line for line in lines(run.stderr) if " INFO " not in line]
    assert problems and all(damaged.search(line) for line in problems), run.describe()

    for args in (["build"], ["entries", "list", "--limit", "100000"], ["search", "经济", "--limit", "1000"]):
        done = desk.cli(*args)
        assert done.returncode != 0 and not has_traceback(done.stderr), f"{replay(seed)}\n{done.describe()}"
        said = lines(done.stderr)
        assert len(said) == 1 and damaged.search(said[0]), done.describe()

    check = desk.cli("check", "--json")
    assert check.returncode == 1 and not has_traceback(check.stderr), check.describe()
    results = json.loads(check.stdout)
    failed = [c for c in results if not c["ok"]]
    assert any(re.search(r"database|integrity", c["check"], re.IGNORECASE) for c in failed), results
    plain = desk.cli("check")
    assert plain.returncode == 1 and not has_traceback(plain.stderr), plain.describe()
    said = lines(plain.stdout + plain.stderr)
    assert any("database" in line and damaged.search(line) for line in said), plain.describe()
