"""What a newcomer sees: plain help text, finished progress bars, no library noise."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from impact_cli import follow, logs, main, render
from rich.console import Console
from typer.testing import CliRunner

COMMANDS = sorted(
    command.name or getattr(command.callback, "__name__", "")
    for command in main.app.registered_commands
)


def test_every_command_is_covered() -> None:
    assert {"measure", "publish", "run", "status", "tail"} <= set(COMMANDS)


@pytest.mark.parametrize("command", [[], *([name] for name in COMMANDS)])
def test_help_has_no_markup(command: list[str]) -> None:
    result = CliRunner().invoke(main.app, [*command, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "``" not in result.output
    assert "`" not in result.output


def status(stage: str, completed: int, total: int, state: str = "running") -> dict[str, Any]:
    return {"stage": stage, "completed": completed, "total": total, "state": state}


class ReorderedBus:
    """Yields ``run_completed`` before the last ``run_status`` events, as a consumer
    reading two topics may; the report stage's status always comes last."""

    def __init__(self, events: list[tuple[str, dict[str, Any]]]) -> None:
        self.events = events
        self.closed = False

    async def follow(
        self, run_id: str, events: list[str], timeout_s: float | None = None
    ) -> AsyncIterator[tuple[str, dict[str, Any]]]:
        for event in self.events:
            yield event
            await asyncio.sleep(0)

    async def close(self) -> None:
        self.closed = True


def test_bars_are_finished_before_the_report(monkeypatch: pytest.MonkeyPatch) -> None:
    completed = {"run_id": "r", "status": "completed"}
    bus = ReorderedBus(
        [
            ("manifest_submitted", {"budget": 10.0}),
            ("run_status", status("measure", 8, 8)),
            ("run_status", status("scale", 2, 5)),
            ("run_completed", completed),
            ("run_status", status("scale", 5, 5)),
            ("run_status", status("report", 5, 5, "completed")),
        ]
    )
    bars: list[Any] = []
    real = render.progress_bars

    def recording(console: Console) -> Any:
        bars.append(real(console))
        return bars[-1]

    monkeypatch.setattr(render, "progress_bars", recording)
    manifest: dict[str, Any] = {}
    result = asyncio.run(follow.follow_run(bus, "r", timeout=10, show=False, manifest=manifest))
    assert result == completed
    assert manifest == {"budget": 10.0}  # kept for the report's why-not reasons
    shown = {task.description: (task.completed, task.total) for task in bars[0].tasks}
    assert shown == {"measure": (8, 8), "scale": (5, 5), "report": (5, 5)}
    assert bus.closed


def test_library_warnings_go_to_the_log_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    log_file = tmp_path / "cli.log"
    monkeypatch.setenv("IMPACT_CLI_LOG", str(log_file))
    logs.quiet_libraries()
    try:
        logging.getLogger("aiokafka.cluster").warning("Topic x not found in cluster metadata")
    finally:
        for handler in logging.getLogger("aiokafka").handlers:
            handler.flush()
    captured = capsys.readouterr()
    assert "not found in cluster metadata" not in captured.err + captured.out
    assert "Topic x not found in cluster metadata" in log_file.read_text()
