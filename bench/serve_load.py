"""Processes and measurements for bench_serve.py: child processes, wrk runs, /proc sampling.

wrk (Debian's) is the load: a separate process on loopback, one thread, N connections, each
connection a client that sends its next request when the last one is answered. A Lua script
adds the Authorization header, cycles through the given paths and prints wrk's own summary
(latency percentiles, requests, errors) as one JSON line.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

CLK_TCK = os.sysconf("SC_CLK_TCK")

_LUA = r"""
local paths = {%(paths)s}
local n = #paths
local i = 0
%(auth)s
request = function()
  i = i + 1
  return wrk.format("GET", paths[(i - 1) %% n + 1])
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('WRKJSON {"requests": %%d, "duration_us": %%d, "bytes": %%d, "non2xx": %%d, ' ..
    '"socket_errors": %%d, "p50_us": %%d, "p95_us": %%d, "p99_us": %%d, "max_us": %%d, "mean_us": %%.1f}\n',
    summary.requests, summary.duration, summary.bytes, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max, latency.mean))
end
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# The fixed loop the benchmark notes have timed since the first sessions (`python3 -c`: at the
# top level, where each addition looks its names up in the module's globals).
_SPEED_LOOP = "s = 0\nfor i in range(20_000_000):\n    s += i\n"


def machine_speed() -> float:
    """Seconds a fresh Python takes for 2·10⁷ additions at the top level: the machine's speed at
    the moment (it moved by a third within minutes on the 2-core VM, docs/benchmarks.md), so
    runs taken at different times can be compared. 1.2–1.3 s when the machine is quick."""
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", _SPEED_LOOP], check=True)
    return round(time.perf_counter() - started, 2)


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()


def http_get(url: str, token: str | None = None, timeout: float = 30.0) -> tuple[int, bytes]:
    req = urllib.request.Request(url)
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
    except (OSError, urllib.error.URLError):
        return 0, b""


def wait_for(
    what: str,
    check: Callable[[], bool],
    deadline: float,
    proc: subprocess.Popen[bytes] | None = None,
    log: Path | None = None,
) -> None:
    """Poll `check` until it holds; fail with the child's log when it died or the deadline passed."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if check():
            return
        if proc is not None and proc.poll() is not None:
            tail = log.read_text("utf-8", "replace")[-3000:] if log else ""
            raise SystemExit(f"{what}: the process exited with {proc.returncode}\n{tail}")
        time.sleep(0.2)
    tail = log.read_text("utf-8", "replace")[-3000:] if log else ""
    raise SystemExit(f"{what}: not ready after {deadline:.0f} s\n{tail}")


@dataclass
class Child:
    """A child process in its own process group, its output in a log file."""

    name: str
    argv: Sequence[str]
    log: Path
    env: dict[str, str] | None = None
    cwd: Path | None = None
    proc: subprocess.Popen[bytes] | None = field(default=None, init=False)

    def start(self) -> Child:
        out = self.log.open("ab")
        self.proc = subprocess.Popen(
            list(self.argv),
            stdout=out,
            stderr=subprocess.STDOUT,
            env=self.env,
            cwd=self.cwd,
            start_new_session=True,
        )
        out.close()
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def wait_http(self, url: str, deadline: float = 120.0, ok: Sequence[int] = (200,)) -> None:
        assert self.proc is not None
        wait_for(
            f"{self.name} at {url}", lambda: http_get(url, timeout=5)[0] in ok, deadline, self.proc, self.log
        )

    def stop(self, timeout: float = 20.0) -> int | None:
        """SIGTERM, then SIGKILL to the group after `timeout`; the exit status."""
        if self.proc is None or self.proc.poll() is not None:
            return None if self.proc is None else self.proc.returncode
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            return self.proc.wait(10)


def proc_cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime (this process, not children)


def proc_mem_kb(pid: int) -> dict[str, int]:
    out: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = int(value.split()[0])
    return out


class Sampler(threading.Thread):
    """Samples a process's CPU seconds and RSS every `every` seconds: (monotonic, wall, cpu, rss_kb).
    `also`: more processes whose CPU seconds are added (e.g. serve's ingest process); RSS is
    the first one's."""

    def __init__(self, pid: int, every: float = 0.5, *, also: Sequence[int] = ()) -> None:
        super().__init__(daemon=True)
        self.pid, self.every, self.also = pid, every, tuple(also)
        self.samples: list[tuple[float, float, float, int]] = []
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.is_set():
            try:
                cpu = sum(proc_cpu_seconds(p) for p in (self.pid, *self.also))
                rss = proc_mem_kb(self.pid).get("VmRSS", 0)
            except (OSError, IndexError, ValueError):
                return
            self.samples.append((time.monotonic(), time.time(), cpu, rss))
            self._halt.wait(self.every)

    def finish(self) -> None:
        self._halt.set()
        self.join(5)

    def cpu_percent(self, t0: float, t1: float) -> float | None:
        """The process's CPU use between two wall-clock times, % of one core."""
        inside = [s for s in self.samples if t0 <= s[1] <= t1]
        if len(inside) < 2:
            return None
        a, b = inside[0], inside[-1]
        return 100.0 * (b[2] - a[2]) / (b[1] - a[1])


def wrk_run(
    url_base: str,
    paths: Sequence[str],
    *,
    connections: int,
    seconds: float,
    token: str | None = None,
    cookie: str | None = None,
    authorization: str | None = None,
) -> dict[str, object]:
    """One wrk run (1 thread, `connections` clients); wrk's summary plus requests/s and the load.
    `token` goes as a Bearer token, `cookie` (name=value) as a Cookie header, `authorization`
    as the Authorization header as it is (e.g. `GoogleLogin auth=…`)."""
    wrk = shutil.which("wrk")
    if wrk is None:
        raise SystemExit("wrk is missing: apt-get update && apt-get install -y wrk")
    lua = _LUA % {
        "paths": ", ".join(json.dumps(p) for p in paths),
        "auth": "\n".join(
            ([f'wrk.headers["Authorization"] = "Bearer {token}"'] if token else [])
            + ([f'wrk.headers["Cookie"] = "{cookie}"'] if cookie else [])
            + ([f'wrk.headers["Authorization"] = "{authorization}"'] if authorization else [])
        ),
    }
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(lua)
        script = f.name
    try:
        load = Path("/proc/loadavg").read_text().split()[0]
        t0 = time.time()
        proc = subprocess.run(
            [wrk, "-t1", f"-c{connections}", f"-d{seconds:g}s", "--timeout", "10s", "-s", script, url_base],
            capture_output=True,
            text=True,
            check=False,
        )
        t1 = time.time()
    finally:
        os.unlink(script)
    line = next((x for x in proc.stdout.splitlines() if x.startswith("WRKJSON ")), None)
    if proc.returncode != 0 or line is None:
        raise SystemExit(f"wrk failed ({proc.returncode}): {proc.stdout[-2000:]}{proc.stderr[-2000:]}")
    out: dict[str, object] = json.loads(line[len("WRKJSON ") :])
    requests = int(out["requests"])  # type: ignore[call-overload]
    duration = int(out["duration_us"]) / 1e6  # type: ignore[call-overload]
    out.update(
        connections=connections,
        requests_per_second=round(requests / duration, 1),
        p50_ms=round(int(out["p50_us"]) / 1000, 2),  # type: ignore[call-overload]
        p95_ms=round(int(out["p95_us"]) / 1000, 2),  # type: ignore[call-overload]
        p99_ms=round(int(out["p99_us"]) / 1000, 2),  # type: ignore[call-overload]
        load1_before=float(load),
        wall=[round(t0, 1), round(t1, 1)],
    )
    return out
