"""Site benchmark: `newsdesk build` against `hexo generate` and Hugo on the same articles.

For each size (articles of realistic Chinese text, see `bench/site_corpus.py`) one run measures,
on the same disk and the same content:

* `newsdesk build`: cold (empty site folder), again with nothing changed, and after 100 new articles;
* `hexo generate` (Hexo from npm pinned by `tests/hexo/`, its default generators, landscape theme):
  cold (no db.json, no public/), again with nothing changed, and after the 100 new posts;
* with `--hexo-baseline`, `hexo generate` of Hexo 7.3.0 (`bench/hexo-7.3/`, the release the
  issue's Hexo figures were measured with; same plugins, theme, config and posts): cold only;
* `hugo` (the Debian package; a minimal theme with home, posts, paginated category pages and a
  cached sidebar, output written to disk): cold, again (Hugo rebuilds everything), and after the
  100 new pages.

Each command runs as its own process: wall time, pages (``.html`` files in the output) per second,
and peak RSS (the larger of the process tree's RSS sampled every 20 ms and the biggest process's
``ru_maxrss``). `newsdesk build` not existing yet, or failing, is reported as "n/a" with the reason.

    .venv/bin/python bench/bench_site.py --sizes 1000,10000 [--100k] [--hexo-max 10000]

Prints a Markdown table and JSON (versions included); the JSON also goes to bench/out/.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import json
import os
import platform
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import site_corpus

HERE = Path(__file__).resolve().parent
ADDED = 100
SAMPLE_EVERY = 0.02  # seconds between RSS samples of the process tree
FULL_BUILDS = ("cold", "again (full rebuild)")
BASELINE_TOOL = "hexo 7.3 generate"
HEXO_HEAP_MB = 12288  # node's --max-old-space-size for Hexo (its default heap is too small at 10k+)


@dataclass
class Row:
    size: int
    tool: str
    phase: str
    seconds: float | None = None
    pages: int | None = None
    peak_mb: float | None = None
    cpu_s: float | None = None  # user + system CPU time of the process tree
    load: float | None = None  # 1-minute load average when the run started (others' work shows here)
    note: str = ""
    pss_mb: float | None = None  # peak PSS of the process tree (shared pages counted once)

    @property
    def pages_per_s(self) -> float | None:
        """Pages of the whole site per second, for runs that build the whole site only."""
        if self.phase not in FULL_BUILDS or self.seconds is None or not self.pages or self.seconds <= 0:
            return None
        return self.pages / self.seconds


@dataclass
class Measured:
    seconds: float
    peak_mb: float
    cpu_s: float
    load: float
    returncode: int
    output: str
    pss_mb: float = 0.0


# -- measuring -----------------------------------------------------------------------------------


def _children() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        # The command name is in parentheses and may hold spaces: split after the last ")".
        ppid = int(stat[stat.rindex(b")") + 2 :].split()[1])
        kids.setdefault(ppid, []).append(int(name))
    return kids


def _rss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status", "rb") as f:
            for line in f:
                if line.startswith(b"VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _pss_kb(pid: int) -> int:
    """Proportional set size: pages shared with other processes (a forked worker and its
    parent) counted once across them, not once per process as RSS does."""
    try:
        with open(f"/proc/{pid}/smaps_rollup", "rb") as f:
            for line in f:
                if line.startswith(b"Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _tree_kb(root: int) -> tuple[int, int]:
    """RSS and PSS summed over the process tree of `root`."""
    kids = _children()
    rss = pss = 0
    todo = [root]
    while todo:
        pid = todo.pop()
        rss += _rss_kb(pid)
        pss += _pss_kb(pid)
        todo.extend(kids.get(pid, ()))
    return rss, pss


# When this script last deleted a large folder (a previous run's work folder).
_deleted_at: float | None = None
# ext4 does not reuse an inode within 60 s of its deletion (300 s while its inode table block
# is dirty): until then every file created in that block group scans past the deleted ones
# (`recently_deleted` in the kernel). Measured here, a cold build right after deleting a site
# of 16,000 files spent a quarter of its time in that scan.
RECENTLY_DELETED_S = 65


def remove_tree(folder: Path) -> None:
    global _deleted_at
    if folder.exists():
        shutil.rmtree(folder, ignore_errors=True)
        _deleted_at = time.monotonic()


def settle() -> None:
    """Before each measured run: no write-back of earlier files pending (sync), and no run
    within a minute of this script deleting a large folder (see RECENTLY_DELETED_S)."""
    os.sync()
    if _deleted_at is not None:
        wait = RECENTLY_DELETED_S - (time.monotonic() - _deleted_at)
        if wait > 0:
            say(f"waiting {wait:.0f} s for files deleted before this run to age (ext4)")
            time.sleep(wait)


PR_SET_CHILD_SUBREAPER = 36  # <linux/prctl.h>


def adopt_orphans() -> None:
    """Descendants of the commands run here that outlive their parent (newsdesk's fork server
    ends a moment after the build, and its workers are its children, not the build's) become
    this process's children, so `wait_tree` reaps them and counts their CPU (Linux)."""
    ctypes.CDLL(None).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


def wait_tree(pid: int) -> tuple[int, float, float, int]:
    """Wait for `pid`, then for every process this one adopted meanwhile: (wait status,
    CPU seconds (user + system) of the whole tree, its system seconds, peak RSS in kB of its
    biggest process)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    _, status, _ = os.wait4(pid, 0)
    with contextlib.suppress(ChildProcessError):
        while True:
            os.waitpid(-1, 0)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    system = after.ru_stime - before.ru_stime
    return status, after.ru_utime - before.ru_utime + system, system, after.ru_maxrss


def measure(cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> Measured:
    """Run ``cmd``; its wall time, peak RSS of its process tree, exit code and output."""
    settle()
    load = os.getloadavg()[0]
    with tempfile.TemporaryFile() as out:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT)
        peak_kb = peak_pss_kb = 0
        done = threading.Event()

        def sample() -> None:
            nonlocal peak_kb, peak_pss_kb
            while not done.is_set():
                rss, pss = _tree_kb(proc.pid)
                peak_kb, peak_pss_kb = max(peak_kb, rss), max(peak_pss_kb, pss)
                done.wait(SAMPLE_EVERY)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        status, cpu, _, maxrss_kb = wait_tree(proc.pid)
        seconds = time.perf_counter() - started
        done.set()
        sampler.join()
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        output = out.read().decode("utf-8", "replace")
    peak_kb = max(peak_kb, maxrss_kb)  # Linux: kilobytes
    return Measured(seconds, peak_kb / 1024, cpu, load, proc.returncode, output, peak_pss_kb / 1024)


def count_pages(folder: Path) -> int:
    n = 0
    for _, _, files in os.walk(folder):
        n += sum(1 for f in files if f.endswith(".html"))
    return n


def _reason(output: str) -> str:
    """The line that explains a failure: the exception or error line, else the last line."""
    lines = [ln.strip() for ln in output.strip().splitlines() if ln.strip()]
    for ln in reversed(lines):
        if ln.startswith(("error:", "Error", "FATAL")) or "Error:" in ln or "unknown publisher" in ln:
            return ln[:200]
    return lines[-1][:200] if lines else "no output"


# -- the three tools -----------------------------------------------------------------------------


def _row(size: int, tool: str, phase: str, m: Measured, output: Path, failed: str = "failed") -> Row:
    """A measured run as a row: its numbers and the pages in `output`, or why it failed."""
    if m.returncode != 0:
        return Row(size, tool, phase, note=f"{failed}: {_reason(m.output)}")
    pages = count_pages(output)
    return Row(size, tool, phase, m.seconds, pages, m.peak_mb, m.cpu_s, m.load, pss_mb=m.pss_mb)


def newsdesk_build(corpus: site_corpus.Corpus, size: int, phase: str) -> Row:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSDESK_")}
    cmd = [sys.executable, "-m", "newsdesk", "--config", str(corpus.config), "build", "--json"]
    return _row(size, "newsdesk build", phase, measure(cmd, corpus.work, env), corpus.site_dir, "n/a")


def hexo_generate(corpus: site_corpus.Corpus, size: int, phase: str, *, baseline: bool = False) -> Row:
    site = corpus.hexo_baseline_site if baseline else corpus.hexo_site
    node = shutil.which("node") or "node"
    cmd = [node, f"--max-old-space-size={HEXO_HEAP_MB}", str(site / "node_modules/hexo/bin/hexo"), "generate"]
    env = dict(os.environ, NO_COLOR="1")
    tool = BASELINE_TOOL if baseline else "hexo generate"
    return _row(size, tool, phase, measure(cmd, site, env), site / "public")


def hugo(corpus: site_corpus.Corpus, size: int, phase: str) -> Row:
    site = corpus.hugo_site
    exe = shutil.which("hugo")
    if exe is None:
        return Row(size, "hugo", phase, note="n/a: hugo is not installed (apt-get install hugo)")
    return _row(size, "hugo", phase, measure([exe, "--source", str(site)], site), site / "public")


# -- one size ------------------------------------------------------------------------------------


@dataclass
class Options:
    hexo: bool
    hexo_max: int
    hugo: bool
    clean: bool
    work: Path
    repeat: int = 1
    baseline_modules: Path | None = None  # Hexo 7.3's node_modules (--hexo-baseline)
    log: list[str] = field(default_factory=list)


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def run_size(size: int, opts: Options, hexo_modules: Path | None) -> list[Row]:
    work = opts.work / str(size)
    remove_tree(work)
    use_hexo = hexo_modules is not None and size <= opts.hexo_max
    say(f"[{size}] corpus: archive, Hexo posts, Hugo content ...")
    t0 = time.perf_counter()
    corpus = site_corpus.build(work, size, clean=opts.clean, hexo_modules=hexo_modules if use_hexo else None)
    use_baseline = use_hexo and opts.baseline_modules is not None
    if use_baseline:
        assert opts.baseline_modules is not None
        corpus.copy_posts_to_baseline(opts.baseline_modules)
    say(f"[{size}] corpus ready in {time.perf_counter() - t0:.1f} s")
    rows: list[Row] = []

    def record(row: Row) -> None:
        rows.append(row)
        shown = (
            f"{row.seconds:.2f} s (CPU {_fmt(row.cpu_s, '.2f')} s), {row.pages} pages,"
            f" {_fmt(row.peak_mb, '.0f')} MB, load {_fmt(row.load, '.1f')}"
            if row.seconds
            else row.note
        )
        say(f"[{size}] {row.tool} ({row.phase}): {shown}")

    record(newsdesk_build(corpus, size, "cold"))
    record(newsdesk_build(corpus, size, "nothing changed"))
    if use_hexo:
        record(hexo_generate(corpus, size, "cold"))
        record(hexo_generate(corpus, size, "nothing changed"))
    if use_baseline:
        record(hexo_generate(corpus, size, "cold", baseline=True))
    elif opts.hexo:
        rows.append(Row(size, "hexo generate", "cold", note=f"skipped (above --hexo-max {opts.hexo_max})"))
    if opts.hugo:
        record(hugo(corpus, size, "cold"))
        record(hugo(corpus, size, "again (full rebuild)"))

    # More cold builds of newsdesk and Hugo, alternating, on a machine whose speed drifts: the
    # outputs moved aside (not deleted, see RECENTLY_DELETED_S) and removed at the very end.
    for i in range(2, opts.repeat + 1):
        _aside(corpus.site_dir, opts.work)
        record(newsdesk_build(corpus, size, f"cold #{i}"))
        if opts.hugo:
            _aside(corpus.hugo_site / "public", opts.work)
            record(hugo(corpus, size, f"cold #{i}"))

    say(f"[{size}] adding {ADDED} articles ...")
    corpus.add(ADDED)
    record(newsdesk_build(corpus, size, f"+{ADDED} articles"))
    if use_hexo:
        corpus.publish_hexo()
        record(hexo_generate(corpus, size, f"+{ADDED} posts"))
    if opts.hugo:
        record(hugo(corpus, size, f"+{ADDED} pages"))
    return rows


# -- report --------------------------------------------------------------------------------------


def _run(cmd: list[str]) -> str:
    try:
        return subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=60).stdout.strip()
    except OSError:
        return "n/a"


def versions(hexo_modules: Path | None, baseline_modules: Path | None = None) -> dict[str, str]:
    import newsdesk

    cpu = "?"
    with open("/proc/cpuinfo", encoding="utf-8") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    repo = str(HERE.parent)
    commit = _run(["git", "-C", repo, "rev-parse", "--short", "HEAD"]) or "?"
    if _run(["git", "-C", repo, "status", "--porcelain", "--", "src"]):
        commit += " + uncommitted changes in src/"
    return {
        "newsdesk": f"{newsdesk.__version__} (git {commit})",
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "node": _run(["node", "--version"]) if shutil.which("node") else "n/a",
        "hexo": site_corpus.hexo_version(hexo_modules) if hexo_modules else "n/a",
        "hexo_baseline": site_corpus.hexo_version(baseline_modules) if baseline_modules else "n/a",
        "hexo_heap_mb": str(HEXO_HEAP_MB),
        "hugo": site_corpus.hugo_version(),
        "machine": f"{os.cpu_count()} cores ({cpu}), {mem_gib:.0f} GiB, {platform.platform()}",
    }


def _fmt(v: float | None, spec: str) -> str:
    return "n/a" if v is None else format(v, spec)


def markdown(rows: list[Row]) -> str:
    out = [
        "| articles | tool | run | time (s) | CPU (s) | pages | pages/s | peak RSS (MB) | peak PSS (MB)"
        " | load | note |",
        "| ---: | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for r in rows:
        out.append(
            f"| {r.size:,} | {r.tool} | {r.phase} | {_fmt(r.seconds, '.2f')} | {_fmt(r.cpu_s, '.2f')} | "
            f"{'n/a' if r.pages is None else format(r.pages, ',')} | {_fmt(r.pages_per_s, ',.0f')} | "
            f"{_fmt(r.peak_mb, ',.0f')} | {_fmt(r.pss_mb, ',.0f')} | {_fmt(r.load, '.1f')} | {r.note} |"
        )
    return "\n".join(out)


def _aside(folder: Path, work: Path) -> None:
    if folder.exists():
        trash = work / ".aside"
        trash.mkdir(exist_ok=True)
        folder.rename(trash / f"{folder.name}-{time.monotonic_ns()}")


def _colds(rows: list[Row], size: int, tool: str) -> list[float]:
    return [
        r.seconds
        for r in rows
        if r.size == size and r.tool == tool and r.phase.startswith("cold") and r.seconds is not None
    ]


def _find(rows: list[Row], size: int, tool: str, phase: str) -> Row | None:
    for r in rows:
        if r.size == size and r.tool == tool and r.phase == phase and r.seconds is not None:
            return r
    return None


def targets(rows: list[Row]) -> list[str]:
    """The issue's targets, checked where both sides were measured."""
    lines = []
    nd = _find(rows, 10_000, "newsdesk build", "cold")
    hexo = _find(rows, 10_000, "hexo generate", "cold")
    hugo_cold = _find(rows, 10_000, "hugo", "cold")
    inc = _find(rows, 10_000, "newsdesk build", f"+{ADDED} articles")
    big = [r for r in rows if r.size == 100_000 and r.tool == "newsdesk build" and r.peak_mb is not None]

    def verdict(ok: bool) -> str:
        return "met" if ok else "NOT met"

    old_hexo = _find(rows, 10_000, BASELINE_TOOL, "cold")
    if nd and hexo and nd.seconds and hexo.seconds:
        ratio = hexo.seconds / nd.seconds
        line = (
            f"cold build at 10,000 ≥ 20× faster than Hexo: {ratio:.1f}× against Hexo (current)"
            f" → {verdict(ratio >= 20)}"
        )
        if old_hexo and old_hexo.seconds:
            old = old_hexo.seconds / nd.seconds
            line += f"; {old:.1f}× against Hexo 7.3 (the issue's baseline) → {verdict(old >= 20)}"
        lines.append(line)
    else:
        lines.append("cold build at 10,000 ≥ 20× faster than Hexo: n/a (not measured)")
    if nd and hugo_cold and nd.seconds and hugo_cold.seconds:
        mine, theirs = _colds(rows, 10_000, "newsdesk build"), _colds(rows, 10_000, "hugo")
        if len(mine) > 1 and len(theirs) > 1:
            a, b = statistics.median(mine), statistics.median(theirs)
            wins = sum(x <= y for x, y in zip(mine, theirs, strict=False))
            lines.append(
                f"cold build at 10,000 no slower than Hugo: median of {len(mine)} {a:.2f} s vs"
                f" {b:.2f} s (faster in {wins} of {min(len(mine), len(theirs))} pairs) → {verdict(a <= b)}"
            )
        else:
            ok = nd.seconds <= hugo_cold.seconds
            lines.append(
                f"cold build at 10,000 no slower than Hugo: {nd.seconds:.2f} s vs {hugo_cold.seconds:.2f} s"
                f" → {verdict(ok)}"
            )
    else:
        lines.append("cold build at 10,000 no slower than Hugo: n/a (not measured)")
    if inc and inc.seconds is not None:
        lines.append(
            f"+{ADDED} articles at 10,000 under 1 s: {inc.seconds:.2f} s → {verdict(inc.seconds < 1)}"
        )
    else:
        lines.append(f"+{ADDED} articles at 10,000 under 1 s: n/a (not measured)")
    if big:
        peak = max(r.peak_mb or 0 for r in big)
        pss = max(r.pss_mb or 0 for r in big)
        lines.append(
            f"peak memory at 100,000 under 300 MB: RSS {peak:.0f} MB, PSS {pss:.0f} MB"
            f" → {verdict(peak < 300)} (RSS), {verdict(pss < 300)} (PSS)"
        )
    else:
        lines.append("peak memory at 100,000 under 300 MB: n/a (not measured; run with --100k)")
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="1000,10000", help="comma-separated article counts")
    parser.add_argument("--100k", dest="with_100k", action="store_true", help="add 100,000 articles")
    parser.add_argument(
        "--hexo-max", type=int, default=10_000, help="largest size Hexo runs at (10,000 takes minutes)"
    )
    parser.add_argument("--no-hexo", action="store_true", help="leave Hexo out (no npm needed)")
    parser.add_argument("--no-hugo", action="store_true", help="leave Hugo out")
    parser.add_argument(
        "--hexo-baseline",
        action="store_true",
        help="also run Hexo 7.3.0 (bench/hexo-7.3; the issue's figures are for it), cold, where Hexo runs",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="cold builds of newsdesk and Hugo per size, alternating (medians in the targets)",
    )
    parser.add_argument("--no-clean", action="store_true", help="archive raw HTML only (no cleaned articles)")
    parser.add_argument("--work", type=Path, help="work folder (default: a temporary one, removed after)")
    parser.add_argument(
        "--json-out", type=Path, help="JSON results file (default: bench/out/site-<time>.json)"
    )
    args = parser.parse_args()
    adopt_orphans()

    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    if args.with_100k and 100_000 not in sizes:
        sizes.append(100_000)
    temp = None
    if args.work is None:
        temp = tempfile.mkdtemp(prefix="newsdesk-bench-site-")
        work = Path(temp)
    else:
        work = args.work.resolve()
        work.mkdir(parents=True, exist_ok=True)
    opts = Options(
        hexo=not args.no_hexo,
        hexo_max=args.hexo_max,
        hugo=not args.no_hugo,
        clean=not args.no_clean,
        work=work,
        repeat=max(1, args.repeat),
    )
    hexo_modules = None
    if opts.hexo:
        try:
            hexo_modules = site_corpus.install_hexo()
        except (RuntimeError, subprocess.CalledProcessError) as e:
            say(f"Hexo left out: {e}")
        if hexo_modules is not None and args.hexo_baseline:
            try:
                opts.baseline_modules = site_corpus.install_hexo(site_corpus.HEXO_BASELINE)
            except (RuntimeError, subprocess.CalledProcessError) as e:
                say(f"Hexo 7.3 left out: {e}")
    rows: list[Row] = []
    try:
        for size in sizes:
            rows += run_size(size, opts, hexo_modules)
    finally:
        shutil.rmtree(work / ".aside", ignore_errors=True)  # after every measurement
        if temp is not None:
            shutil.rmtree(temp, ignore_errors=True)

    info = versions(hexo_modules, opts.baseline_modules)
    command = " ".join([".venv/bin/python", "bench/bench_site.py", *sys.argv[1:]])
    print(markdown(rows))
    print()
    for line in targets(rows):
        print(f"- {line}")
    print()
    result: dict[str, Any] = {
        "command": command,
        "versions": info,
        "clean": opts.clean,
        "results": [dict(asdict(r), pages_per_s=r.pages_per_s) for r in rows],
        "targets": targets(rows),
    }
    text = json.dumps(result, ensure_ascii=False, indent=2)
    print(text)
    out = args.json_out or HERE / "out" / f"site-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text + "\n", encoding="utf-8")
    say(f"JSON written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
