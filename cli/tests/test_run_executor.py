"""``impact run --executor``: where embedded mode runs its components."""

from __future__ import annotations

import json
from pathlib import Path

from impact_cli import main
from typer.testing import CliRunner

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "manifest.yaml"


def test_an_unknown_executor_is_one_clear_line() -> None:
    result = CliRunner().invoke(main.app, ["run", str(EXAMPLE), "--executor", "fork"])
    assert result.exit_code == 2
    assert (
        result.output.strip()
        == "error --executor: must be one of auto, process, thread, got 'fork'"
    )


def test_thread_and_process_executors_print_the_same_report(tmp_path: Path) -> None:
    reports = []
    for executor in ("thread", "process"):
        result = CliRunner().invoke(
            main.app,
            ["run", str(EXAMPLE), "--json", "--no-cache", "--executor", executor],
            env={"IMPACT_STORAGE_ROOT": str(tmp_path / executor)},
        )
        assert result.exit_code == 0, result.output
        run = json.loads(result.output)
        reports.append({key: run[key] for key in ("status", "reports", "failures", "summary")})
    assert reports[0] == reports[1]
    assert reports[0]["status"] == "completed"
