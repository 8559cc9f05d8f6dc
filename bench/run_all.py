"""`make bench`: every benchmark, one after another; results go to docs/benchmarks.md by hand."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCHES = [
    ["bench_parse.py"],
    ["bench_run.py", "--feeds", "1000", "--items", "50"],
    ["bench_search.py", "--articles", "100000"],
    ["bench_search.py", "--ingest"],
    ["bench_site.py", "--sizes", "1000,10000", "--repeat", "5", "--hexo-baseline"],
]


def main() -> int:
    status = 0
    for args in BENCHES:
        print(f"== {' '.join(args)}", flush=True)
        status |= subprocess.run([sys.executable, str(HERE / args[0]), *args[1:]], check=False).returncode
    return status


if __name__ == "__main__":
    sys.exit(main())
