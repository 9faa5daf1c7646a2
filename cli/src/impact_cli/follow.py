"""Following a run: impact tail, and the progress bars that impact demo shows too."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.console import Console

from impact_cli import history, render
from impact_cli.common import console, dump, errors
from impact_cli.options import Bootstrap, Prefix, Registry
from impact_cli.options import bus as _bus

ReportAsJson = Annotated[bool, typer.Option("--json", help="Print the final report as JSON.")]
Timeout = Annotated[float, typer.Option(help="Give up after this many seconds.")]


def tail(
    run_id: str,
    bootstrap: Bootstrap = None,
    registry: Registry = None,
    prefix: Prefix = "impact.",
    as_json: ReportAsJson = False,
    timeout: Timeout = 600.0,
) -> None:
    """Follow RUN_ID: progress bars per stage, then the outcome report. An embedded run
    (impact run) is read from the local run history."""
    import asyncio

    manifest: dict[str, Any] = {}
    completed = history.recorded_report(run_id, manifest)
    if completed is None:
        bus = _bus(bootstrap, registry, prefix)
        follow = follow_run(bus, run_id, timeout, show=not as_json, manifest=manifest)
        completed = asyncio.run(follow)
    if completed is None:
        errors.print(f"[red]timed out[/] after {timeout:.0f} s waiting for run {run_id}")
        raise typer.Exit(3)
    if as_json:
        print(dump(completed))
    else:
        console.print(render.report_tables(completed, manifest or None))
    if completed["status"] != "completed":
        raise typer.Exit(1)


async def follow_run(
    bus: Any, run_id: str, timeout: float, show: bool, manifest: dict[str, Any] | None = None
) -> dict[str, Any] | None:
    """Progress bars until the run completes; None on timeout. ``manifest`` (when given)
    is filled with the run's manifest payload, for the report's why-not reasons.

    ``run_completed`` and ``run_status`` are separate topics, so the report may arrive
    before the last progress events. The orchestrator's final status (stage ``report``,
    state completed/failed) comes after every other status of the run on the same
    partition, so the bars are final once it has been seen too.
    """
    bars = render.progress_bars(console if show else Console(quiet=True))
    tasks: dict[str, Any] = {}
    completed: dict[str, Any] | None = None
    final_status_seen = False
    try:
        with bars:
            async for name, value in bus.follow(
                run_id, ["manifest_submitted", "run_status", "run_completed"], timeout_s=timeout
            ):
                if name == "manifest_submitted":
                    if manifest is not None:
                        manifest.update(value)
                    continue
                if name == "run_completed":
                    completed = dict(value)
                else:
                    stage_name = value["stage"]
                    if stage_name not in tasks:
                        tasks[stage_name] = bars.add_task(stage_name, total=max(value["total"], 1))
                    bars.update(
                        tasks[stage_name], completed=value["completed"], total=value["total"]
                    )
                    final_status_seen |= stage_name == "report" and value["state"] != "running"
                if completed is not None and final_status_seen:
                    return completed
        return completed
    finally:
        await bus.close()
