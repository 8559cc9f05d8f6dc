"""Publishers as plugins: a third-party publisher, installed as a package that declares a
`newsdesk.publishers` entry point, is found, checked in the config and run by the real CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from newsdesk.config import parse_config
from newsdesk.errors import ConfigError, PublishError
from newsdesk.publish.base import get_publisher, publisher_names
from server import FeedServer

RSS = (
    "<rss version='2.0'><channel><title>源</title>"
    "<item><title>央行降准</title><link>https://news.example.cn/a.html</link><guid>a</guid>"
    "<pubDate>Mon, 20 Dec 2021 15:00:52 GMT</pubDate><description>正文甲</description></item>"
    "<item><title>财政部发债</title><link>https://news.example.cn/b.html</link><guid>b</guid>"
    "<pubDate>Mon, 20 Dec 2021 16:00:52 GMT</pubDate><description>正文乙</description></item>"
    "</channel></rss>"
)

# The plugin: one file listing every stored entry's title, newest first.
PLUGIN = """
from pathlib import Path

from newsdesk.publish.base import PublishReport


class TitlesPublisher:
    name = "titles"
    needs = frozenset()

    def publish(self, store, config, out_dir=None, progress=None):
        out = Path(out_dir) if out_dir else config.path("titles")
        out.mkdir(parents=True, exist_ok=True)
        titles = [e.title for e in store.list_entries(limit=100, offset=0)]
        (out / "titles.txt").write_text("\\n".join(titles) + "\\n", encoding="utf-8")
        return PublishReport(self.name, out, written=1)
"""


def _install_plugin(root: Path) -> Path:
    """A package as pip would leave it in site-packages: the module and its dist-info."""
    site = root / "plugins"
    (site / "newsdesk_titles-0.1.dist-info").mkdir(parents=True)
    (site / "newsdesk_titles.py").write_text(textwrap.dedent(PLUGIN), encoding="utf-8")
    info = site / "newsdesk_titles-0.1.dist-info"
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: newsdesk-titles\nVersion: 0.1\n", encoding="utf-8"
    )
    (info / "entry_points.txt").write_text(
        "[newsdesk.publishers]\ntitles = newsdesk_titles:TitlesPublisher\n", encoding="utf-8"
    )
    return site


def _newsdesk(config: Path, *args: str, plugins: Path | None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSDESK_") and k != "PYTHONPATH"}
    env["COLUMNS"] = "250"
    if plugins is not None:
        env["PYTHONPATH"] = str(plugins)
    return subprocess.run(
        [sys.executable, "-m", "newsdesk", "--config", str(config), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def _config(tmp: Path, url: str) -> Path:
    path = tmp / "newsdesk.yaml"
    path.write_text(
        "database: archive.db\nhexo_dir: posts\npublishers: [hexo, titles]\n"
        f"groups:\n  金融:\n    站:\n      - name: 甲\n        url: {url}\n        clean: false\n",
        encoding="utf-8",
    )
    return path


def test_a_third_party_publisher_runs_in_newsdesk_run(tmp_path: Path, feed_server: FeedServer) -> None:
    feed_server.route("/a.xml", RSS)
    config = _config(tmp_path, feed_server.url("/a.xml"))
    plugins = _install_plugin(tmp_path)

    proc = _newsdesk(config, "run", "--json", plugins=plugins)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert [p["publisher"] for p in report["published"]] == ["hexo", "titles"]
    assert (tmp_path / "titles" / "titles.txt").read_text(encoding="utf-8") == "财政部发债\n央行降准\n"
    assert len(list((tmp_path / "posts").glob("*.md"))) == 2

    # The generic publish path takes it too, with its own folder.
    proc = _newsdesk(config, "publish", "titles", "--out", str(tmp_path / "elsewhere"), plugins=plugins)
    assert proc.returncode == 0, proc.stderr
    assert "titles: 1 written" in proc.stdout
    assert (tmp_path / "elsewhere" / "titles.txt").read_text(encoding="utf-8") == "财政部发债\n央行降准\n"


def test_a_publisher_not_installed_is_a_config_error(tmp_path: Path, feed_server: FeedServer) -> None:
    config = _config(tmp_path, feed_server.url("/a.xml"))
    proc = _newsdesk(config, "run", plugins=None)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert f"{config}:3: publishers: unknown publisher 'titles' (known: feeds, hexo, site)" in proc.stderr
    assert not (tmp_path / "archive.db").exists()  # nothing ran


def test_publish_with_an_unknown_name_is_one_line(tmp_path: Path) -> None:
    config = tmp_path / "newsdesk.yaml"
    config.write_text("database: archive.db\n", encoding="utf-8")
    proc = _newsdesk(config, "publish", "nope", plugins=None)
    assert proc.returncode == 1
    assert proc.stderr.strip() == "error: unknown publisher 'nope' (known: feeds, hexo, site)"


def test_the_built_ins_are_registered_as_entry_points() -> None:
    assert publisher_names() == ["feeds", "hexo", "site"]
    assert get_publisher("hexo").needs == frozenset()
    assert get_publisher("site").needs == {"clusters", "insights"}
    assert get_publisher("feeds").needs == {"clusters"}
    with pytest.raises(PublishError, match=r"^unknown publisher 'x' \(known: feeds, hexo, site\)$"):
        get_publisher("x")


def test_config_publishers_are_checked_against_the_names_given(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    text = "database: a.db\npublishers:\n  - hexo\n  - titels\n"
    with pytest.raises(ConfigError) as info:
        parse_config(text, path, env={}, publishers=["hexo", "site", "titles"])
    assert str(info.value) == (
        f"invalid configuration:\n  {path}:4: publishers: unknown publisher 'titels' (known: hexo, site, titles)"
    )
    # Without the registry's names the config layer takes any name (it sits below publish/).
    assert parse_config(text, path, env={}).publishers == ["hexo", "titels"]


def test_help_imports_no_fetching_search_or_site_code() -> None:
    code = textwrap.dedent(
        """
        import sys
        from newsdesk.cli import app
        try:
            app(["--help"])
        except SystemExit:
            pass
        heavy = ("aiohttp", "tantivy", "rjieba", "jieba", "numpy", "lxml", "jinja2",
                 "newsdesk.pipeline", "newsdesk.publish.site", "newsdesk.publish.hexo")
        print(",".join(m for m in heavy if m in sys.modules))
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert "newsdesk: Chinese finance" in proc.stdout
    assert proc.stdout.splitlines()[-1] == ""


def test_an_installed_plugin_is_found_and_a_broken_one_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plugins = _install_plugin(tmp_path)
    broken = tmp_path / "broken"
    (broken / "newsdesk_broken-0.1.dist-info").mkdir(parents=True)
    (broken / "newsdesk_broken-0.1.dist-info" / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: newsdesk-broken\nVersion: 0.1\n", encoding="utf-8"
    )
    (broken / "newsdesk_broken-0.1.dist-info" / "entry_points.txt").write_text(
        "[newsdesk.publishers]\nbroken = newsdesk_not_there:Publisher\n", encoding="utf-8"
    )
    monkeypatch.syspath_prepend(str(plugins))
    monkeypatch.syspath_prepend(str(broken))
    assert publisher_names() == ["broken", "feeds", "hexo", "site", "titles"]
    assert get_publisher("titles").name == "titles"
    with pytest.raises(PublishError) as info:
        get_publisher("broken")
    assert str(info.value) == (
        "publisher 'broken' (newsdesk_not_there:Publisher) cannot be loaded: No module named 'newsdesk_not_there'"
    )
