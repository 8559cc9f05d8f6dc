"""`make serve`: `newsdesk serve` on the bundled demo feeds, with a demo user.

Writes demo/out/newsdesk.yaml (as `make demo` does), makes the admin user `demo` with a fresh
random password (a new one each time: the old is replaced), prints the name, the password and
a new API token, then runs `newsdesk serve` until Ctrl-C. Try:

    curl -H "Authorization: Bearer TOKEN" http://127.0.0.1:8080/api/v1/entries?limit=3
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

from run_demo import write_config

NAME = "demo"


def newsdesk(config: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).with_name("newsdesk")
    return subprocess.run(
        [str(exe), "--config", str(config), *args], input=stdin, capture_output=True, text=True, check=False
    )


def main() -> int:
    config = write_config()
    password = secrets.token_urlsafe(12)
    added = newsdesk(config, "users", "add", NAME, "--admin", stdin=password + "\n")
    if added.returncode != 0:  # there already: a new password
        changed = newsdesk(config, "users", "passwd", NAME, stdin=password + "\n")
        if changed.returncode != 0:
            sys.stderr.write(added.stderr + changed.stderr)
            return 1
    token = newsdesk(config, "users", "token", NAME, "--label", "make serve")
    if token.returncode != 0:
        sys.stderr.write(token.stderr)
        return 1
    print(f"== demo user: {NAME}  password: {password}  (admin)")
    print(f"== API token: {token.stdout.strip()}")
    print(f"== config: {config}; Ctrl-C stops the desk", flush=True)
    exe = Path(sys.executable).with_name("newsdesk")
    os.execv(str(exe), [str(exe), "--config", str(config), "serve", *sys.argv[1:]])


if __name__ == "__main__":
    sys.exit(main())
