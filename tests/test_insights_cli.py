"""The insights on the command line: `entries show --json`, `targets`, `figures`, `trends`,
`reinsight` over an archive whose insights were stored by hand (the stage's own tests are in
test_insights*.py; its run at ingest in test_insights_ingest.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cli_helpers import run_cli
from insights_helpers import make_archive


@pytest.fixture
def desk(tmp_path: Path) -> tuple[Path, list[str]]:
    uids = make_archive(tmp_path / "archive.db")
    config = tmp_path / "newsdesk.yaml"
    config.write_text("database: archive.db\nsite_dir: site\n", encoding="utf-8")
    return config, uids


def test_entries_show_carries_insights_shaped_as_the_issue_says(desk: tuple[Path, list[str]]) -> None:
    config, uids = desk
    shown = json.loads(run_cli(config, "entries", "show", uids[0], "--json").stdout)
    assert shown["keywords"] == ["门户标签"]  # the portal's own tags stay apart
    ins = shown["insights"]
    assert [t["ordinal"] for t in ins["tasks"]] == [1, 2, 3]
    assert ins["tasks"][0]["lead"] == "着力提振工业经济，为稳定经济大盘提供有力支撑"
    assert ins["targets"] == [
        {
            "metric": "千兆光网覆盖家庭",
            "comparator": "超过",
            "value": 400000000,
            "unit": "户",
            "deadline": "2022-12-31",
            "body": "工业和信息化部",
            "sentence": "到2022年底千兆光网具备覆盖超过4亿户家庭的能力。",
        }
    ]
    [figure] = ins["figures"]
    assert (figure["value"], figure["unit"]) == (481000000000, "元")
    assert figure["change"] == {"kind": "同比", "value": 35.4, "unit": "%", "direction": "up"}
    assert ins["bodies"] == ["工业和信息化部"] and ins["meetings"] == ["全国工业和信息化工作会议"]
    assert ins["officials"] == [{"name": "肖亚庆", "title": "部长"}]
    # Ranked against the archive: 工作 is in every article, 碳达峰 in few, so it ranks higher.
    kw = ins["keywords"]
    assert kw[0] == "工业" and "碳达峰" in kw
    assert "工作" not in kw or kw.index("碳达峰") < kw.index("工作")
    text = run_cli(config, "entries", "show", uids[0]).stdout
    assert "要点" in text and "1. 着力提振工业经济" in text


def test_targets_figures_and_trends(desk: tuple[Path, list[str]]) -> None:
    config, uids = desk
    [target] = json.loads(run_cli(config, "targets", "--json").stdout)
    assert target["id"] == uids[0] and target["ordinal"] == 1 and target["status"] == "overdue"
    assert target["value"] == 400000000 and target["deadline"] == "2022-12-31"
    assert json.loads(run_cli(config, "targets", "--body", "中国人民银行", "--json").stdout) == []
    assert json.loads(run_cli(config, "targets", "--due-before", "2022-12-31", "--json").stdout) == []
    assert len(json.loads(run_cli(config, "targets", "--due-before", "2023-01-01", "--json").stdout)) == 1
    bad = run_cli(config, "targets", "--due-before", "2022-02-30", check=False)
    assert (
        bad.returncode == 1
        and bad.stderr.strip() == "error: --due-before: '2022-02-30' is not a date (use YYYY-MM-DD)"
    )

    figures = json.loads(run_cli(config, "figures", "--metric", "房地产开发投资", "--json").stdout)
    rows = figures["figures"]
    assert [f["period"] for f in rows] == [f"2026-01..2026-{n:02d}" for n in range(3, 9)]
    assert rows[-1]["change"] == {"kind": "同比", "value": 8.8, "unit": "%", "direction": "down"}
    listed = json.loads(run_cli(config, "figures", "--json").stdout)
    assert listed["metrics"] == [{"metric": "房地产开发投资", "entries": 6}]

    trends = json.loads(run_cli(config, "trends", "碳达峰", "--weeks", "4", "--json").stdout)
    # Four weeks ending with the newest (the reference article's), each named by its Monday.
    assert trends["weeks"] == ["2026-09-28", "2026-10-05", "2026-10-12", "2026-10-19"]
    assert trends["terms"] == {"碳达峰": [0, 0, 1, 1]}
    top = json.loads(run_cli(config, "trends", "--json").stdout)
    assert "工作" in top["terms"] and len(top["weeks"]) == 12
    assert [r["term"] for r in top["rising"]] == ["工业", "光网", "碳达峰", "工作"][
        : len(top["rising"])
    ] or top["rising"] == []
    bad = run_cli(config, "trends", "--weeks", "0", check=False)
    assert bad.returncode == 1 and bad.stderr.strip() == "error: --weeks: 0 is out of range (from 1 to 520)"


def test_every_insights_command_has_help() -> None:
    from typer.testing import CliRunner

    from newsdesk.cli.app import app

    runner = CliRunner()
    for command in ("targets", "figures", "trends", "reinsight"):
        shown = runner.invoke(app, [command, "--help"])
        assert shown.exit_code == 0 and "Usage" in shown.output and len(shown.output) > 200, shown.output
