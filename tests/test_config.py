"""Config loading: typed models, errors naming file, key path and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from newsdesk.config import find_config_path, load_config, parse_config
from newsdesk.errors import ConfigError

GOOD = """\
database: data/newsdesk.db
hexo_dir: hexo/source/_posts
rsshub: [https://rsshub.example.org/, http://127.0.0.1:1200]
groups:
  金融:
    新浪财经:
      - name: 新浪财经－国內
        route: /sina/finance/china
        clean: false
      - name: 本地
        url: feeds/local.xml
  政策:
    中国政府网:
      - name: 最新政策
        url: https://www.gov.cn/rss.xml
        enabled: false
"""


def test_good_config_resolves_paths_and_tree(tmp_path: Path) -> None:
    path = tmp_path / "newsdesk.yaml"
    path.write_text(GOOD, encoding="utf-8")
    cfg = load_config(path, env={})
    assert cfg.database_url == str(tmp_path / "data" / "newsdesk.db")
    assert cfg.rsshub == ["https://rsshub.example.org", "http://127.0.0.1:1200"]
    feeds = cfg.feeds()
    assert [f.key for f in feeds] == [
        "金融/新浪财经/新浪财经－国內",
        "金融/新浪财经/本地",
        "政策/中国政府网/最新政策",
    ]
    assert feeds[0].route == "/sina/finance/china" and feeds[0].clean is False
    assert feeds[1].url == str(tmp_path / "feeds" / "local.xml")
    assert feeds[2].enabled is False and feeds[2].url == "https://www.gov.cn/rss.xml"


def test_environment_overrides_file(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(GOOD, encoding="utf-8")
    cfg = load_config(
        path, env={"NEWSDESK_DATABASE": "/tmp/other.db", "NEWSDESK_RSSHUB": "http://a, http://b"}
    )
    assert cfg.database_url == "/tmp/other.db"
    assert cfg.rsshub == ["http://a", "http://b"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "groups:\n  金融:\n    新浪:\n      - name: x\n",
            "c.yaml:4: groups.金融.新浪.0: give exactly one of 'url' or 'route'",
        ),
        (
            "groups:\n  金融:\n    新浪:\n      - name: x\n        route: sina/finance\n",
            "c.yaml:5: groups.金融.新浪.0.route: RSSHub route must start with '/'",
        ),
        ("databse: x.db\n", "c.yaml:1: databse: unknown key"),
        ("fetch:\n  timeout: soon\n", "c.yaml:2: fetch.timeout: Input should be a valid number"),
        ("rsshub: [ftp://x]\n", "rsshub: RSSHub instance must be an http(s) URL"),
        ("groups: [\n", "not valid YAML"),
        ("- a\n- b\n", "the top level must be a mapping"),
        (
            "groups:\n  g:\n    s:\n      - {name: a, url: http://x}\n      - {name: a, url: http://y}\n",
            "feed name repeated: a",
        ),
    ],
)
def test_invalid_config_names_file_key_and_problem(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "c.yaml"
    with pytest.raises(ConfigError) as info:
        parse_config(text, path, env={})
    assert expected in str(info.value)
    assert str(tmp_path) in str(info.value)


def test_missing_config_file_says_how_to_create_one(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"not found.*newsdesk init"):
        load_config(tmp_path / "nope.yaml")


def test_config_path_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSDESK_CONFIG", str(tmp_path / "env.yaml"))
    assert find_config_path(tmp_path / "flag.yaml") == tmp_path / "flag.yaml"
    assert find_config_path(None) == tmp_path / "env.yaml"
    monkeypatch.delenv("NEWSDESK_CONFIG")
    monkeypatch.chdir(tmp_path)
    assert find_config_path(None) == tmp_path / "newsdesk.yaml"


def test_starter_config_is_valid(tmp_path: Path) -> None:
    from importlib import resources

    text = (resources.files("newsdesk") / "data" / "starter.yaml").read_text(encoding="utf-8")
    cfg = parse_config(text, tmp_path / "newsdesk.yaml", env={})
    keys = [f.key for f in cfg.feeds()]
    assert "金融/新浪财经/新浪财经－国內" in keys
    assert all(f.route and f.route.startswith("/") for f in cfg.feeds())


def test_recursive_alias_is_a_config_error_not_a_recursion(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    with pytest.raises(ConfigError) as info:
        parse_config("groups: {}\nloop: &a [1, *a]\n", path, env={})
    assert f"{path}:2: loop.1: a YAML alias refers to a node that contains it" in str(info.value)


def test_aliases_of_aliases_are_read_once(tmp_path: Path) -> None:
    # 10 levels of ten aliases each: walked node by node this would be 10^10 visits.
    levels = ["l0: &l0 [x]"] + [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 10)}]" for i in range(1, 10)]
    with pytest.raises(ConfigError, match=r"c\.yaml:1: l0: unknown key"):
        parse_config("\n".join(levels) + "\n", tmp_path / "c.yaml", env={})


def test_repeated_feed_name_points_at_the_repeat(tmp_path: Path) -> None:
    text = (
        "database: x.db\ngroups:\n  g:\n    s:\n"
        "      - name: a\n        url: http://x/\n"
        "      - name: b\n        url: http://y/\n"
        "      - name: a\n        url: http://z/\n"
    )
    with pytest.raises(ConfigError) as info:
        parse_config(text, tmp_path / "c.yaml", env={})
    assert "c.yaml:9: groups.g.s.2.name: feed name repeated: a (first on line 5)" in str(info.value)


@pytest.mark.parametrize(
    ("text", "where"),
    [
        (
            'groups:\n  g:\n    s:\n      - name: "a\\0b"\n        url: http://x/\n',
            "c.yaml:4: groups.g.s.0.name",
        ),
        (
            'groups:\n  g:\n    s:\n      - name: "a\\eb"\n        url: http://x/\n',
            "c.yaml:4: groups.g.s.0.name",
        ),
        ('groups:\n  "g\\0":\n    s:\n      - name: a\n        url: http://x/\n', "group name 'g\\x00'"),
        ('groups:\n  g:\n    "s\\x9b":\n      - name: a\n        url: http://x/\n', "site name 's\\x9b'"),
    ],
)
def test_control_characters_in_names_are_refused(tmp_path: Path, text: str, where: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(text, tmp_path / "c.yaml", env={})
    assert where in str(info.value)
    assert "control character" in str(info.value)


def test_no_installed_publisher_says_to_reinstall(tmp_path: Path) -> None:
    with pytest.raises(
        ConfigError, match=r"c\.yaml:1: publishers: unknown publisher 'hexo': no publisher is installed"
    ):
        parse_config("publishers: [hexo]\n", tmp_path / "c.yaml", env={}, publishers=[])
