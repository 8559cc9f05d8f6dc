"""`newsdesk check`: every check holds on a healthy archive; each problem is named, with what
to do, and makes the exit status 1; checking changes nothing. (A damaged archive's check is
in test_store_errors.)"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from pathlib import Path

from damage_helpers import newsdesk, serve_feeds, write_config
from server import FeedServer


def results(config: Path) -> tuple[int, dict[str, dict[str, object]]]:
    proc = newsdesk(config, "check", "--json")
    assert "Traceback" not in proc.stderr, proc.stderr
    rows = json.loads(proc.stdout)
    assert all(set(r) == {"check", "ok", "detail"} for r in rows), rows
    return proc.returncode, {str(r["check"]): r for r in rows}


def test_check_passes_then_names_each_problem(tmp_path: Path, feed_server: FeedServer) -> None:
    feeds = serve_feeds(feed_server, ["甲"], 6)
    config = write_config(tmp_path, feeds, publishers=("hexo", "site"))
    assert newsdesk(config, "run").returncode == 0
    posts, site = (tmp_path / "posts").resolve(), (tmp_path / "site").resolve()
    marks, manifest = f"marks hexo:{posts}", f"site {site / '.newsdesk' / 'manifest.json'}"

    code, found = results(config)
    assert code == 0, found
    assert set(found) == {"database", "foreign keys", "search index", marks, manifest}
    assert all(r["ok"] for r in found.values()), found
    text = newsdesk(config, "check")
    assert text.returncode == 0 and text.stdout.count("\n") == 5  # one line per check

    # Damage each thing `check` looks at, outside newsdesk.
    sorted(posts.glob("*.md"))[0].unlink()
    sorted((site / "a").glob("*/*.html"))[0].unlink()
    sidecar = tmp_path / "archive.db.search" / "newsdesk-index.json"
    state = json.loads(sidecar.read_text(encoding="utf-8"))
    sidecar.write_text(json.dumps({**state, "rev": 10**6}), encoding="utf-8")
    with contextlib.closing(sqlite3.connect(tmp_path / "archive.db")) as con, con:
        con.execute(f"INSERT INTO publish_marks (publisher, uid, mark) VALUES ('hexo:{posts}', 'gone', '1')")
        con.execute(
            "INSERT INTO entries (uid, feed_key, entry_id, title, content, summary, first_seen,"
            " last_changed, sort_time, content_hash) SELECT 'orphan', 'no/such/feed', 'x', title,"
            " content, summary, first_seen, last_changed, sort_time, content_hash FROM entries LIMIT 1"
        )

    code, found = results(config)
    assert code == 1
    assert found["database"]["ok"], found
    problems = {name: str(r["detail"]) for name, r in found.items() if not r["ok"]}
    assert set(problems) == {"foreign keys", "search index", marks, manifest}, problems
    assert "entries row" in problems["foreign keys"] and "feeds" in problems["foreign keys"]
    assert (
        "ahead of the archive" in problems["search index"] and "newsdesk reindex" in problems["search index"]
    )
    assert "1 of 7 marks are of entries no longer in the archive" in problems[marks]
    assert "posts are missing" in problems[marks] and "newsdesk publish hexo" in problems[marks]
    assert "1 of " in problems[manifest] and "newsdesk build" in problems[manifest]
    assert json.loads(sidecar.read_text(encoding="utf-8"))["rev"] == 10**6  # checking changed nothing
