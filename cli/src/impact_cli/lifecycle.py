"""``impact approve``, ``impact reject`` and ``impact scale``: what people decide on a run
that waits for them (docs/orchestrator.md, "Run lifecycle").

Each publishes one ``run_command`` event keyed by the run id; the orchestrator records it
in the run (who, when, what changed) and reports on ``run.status`` what it did, or why it
refused (``impact status RUN_ID`` shows it). Scale data is checked as ``impact publish``
checks a pilot's: its paths resolve inside the data root and its data is read once.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated, Any

import typer
from impact_contracts import ConfigError
from impact_observe.commands import actor, publish_command

from impact_cli.common import DataRoot, console, fail
from impact_cli.options import Bootstrap, Prefix, Registry

Note = Annotated[str | None, typer.Option("--note", help="Recorded with the decision.")]
By = Annotated[
    str | None,
    typer.Option("--by", envvar="IMPACT_ACTOR", help="Who decides (default: the user name)."),
]


def _send(
    bootstrap: str | None, registry: str | None, prefix: str, run_id: str, **command: Any
) -> None:
    from impact_cli.options import bus as _bus

    bus = _bus(bootstrap, registry, prefix)

    async def go() -> str:
        try:
            return await publish_command(bus, run_id, command)
        finally:
            await bus.close()

    event_id = asyncio.run(go())
    what = command["action"] + (
        f" {command['initiative_id']}" if command.get("initiative_id") else ""
    )
    console.print(
        f"sent {what} for run {run_id} as {command['actor']} (event {event_id}); "
        f"impact status {run_id} shows what the orchestrator did",
        highlight=False,
    )


def approve(
    run_id: str,
    drop: Annotated[
        list[str] | None,
        typer.Option("--drop", help="Take this initiative out (repeat); re-allocates without it."),
    ] = None,
    note: Note = None,
    by: By = None,
    bootstrap: Bootstrap = None,
    registry: Registry = None,
    prefix: Prefix = "impact.",
) -> None:
    """Approve RUN_ID's portfolio (it must be awaiting approval); with --drop, an amendment."""
    _send(
        bootstrap,
        registry,
        prefix,
        run_id,
        action="approve",
        actor=actor(by),
        note=note,
        drop=drop or [],
    )


def reject(
    run_id: str,
    note: Note = None,
    by: By = None,
    bootstrap: Bootstrap = None,
    registry: Registry = None,
    prefix: Prefix = "impact.",
) -> None:
    """Reject RUN_ID's portfolio: the run ends, nothing is scaled."""
    _send(bootstrap, registry, prefix, run_id, action="reject", actor=actor(by), note=note)


def scale(
    run_id: str,
    initiative: Annotated[str, typer.Argument(help="The selected initiative the data is for.")],
    config: Annotated[Path, typer.Argument(help="Measure config of the scale data (YAML).")],
    note: Note = None,
    by: By = None,
    data_root: DataRoot = None,
    skip_data_check: Annotated[
        bool, typer.Option("--skip-data-check", help="Send without reading the data first.")
    ] = False,
    bootstrap: Bootstrap = None,
    registry: Registry = None,
    prefix: Prefix = "impact.",
) -> None:
    """Give INITIATIVE's scale data to RUN_ID: CONFIG is a measure config (DATA, optional
    TRANSFORM and MEASUREMENT) checked like a pilot's; the scale measurement runs with it."""
    from impact_orchestrator.data_check import data_problem

    from impact_cli.measure import load_config

    try:
        checked = load_config(config, data_root)
    except ConfigError as exc:
        fail(exc)
    if not skip_data_check:
        problem = data_problem(checked, (data_root or config.resolve().parent).resolve())
        if problem is not None:
            fail(problem, config)
    _send(
        bootstrap,
        registry,
        prefix,
        run_id,
        action="scale",
        actor=actor(by),
        note=note,
        initiative_id=initiative,
        measure_config=checked,
    )


def register(app: typer.Typer) -> None:
    """Add the lifecycle commands to the ``impact`` app."""
    for command in (approve, reject, scale):
        app.command()(command)
