"""The local stack's commands: up, down, demo (up, publish, follow, down) and ui."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from impact_cli import render, stack
from impact_cli.common import console, errors
from impact_cli.decision import manifest_brief
from impact_cli.follow import follow_run
from impact_cli.manifest_commands import load
from impact_cli.options import Bootstrap, Prefix, Registry
from impact_cli.options import bus as _bus


def ui(
    bootstrap: Bootstrap = None,
    registry: Registry = None,
    prefix: Prefix = "impact.",
    host: Annotated[
        str, typer.Option(envvar="IMPACT_DASHBOARD_HOST", help="Address to listen on.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(envvar="IMPACT_DASHBOARD_PORT", help="Port.")] = 8050,
) -> None:
    """The run dashboard in the browser: runs list, live run pages, reports."""
    from impact_dashboard.commands import serve

    console.print(f"dashboard on http://{host}:{port}/ (Ctrl-C stops it)", highlight=False)
    serve(_bus(bootstrap, registry, prefix), host, port)


def up(
    measure: Annotated[int, typer.Option(min=1, help="Measure replicas.")] = 1,
    evaluate: Annotated[int, typer.Option(min=1, help="Evaluate replicas.")] = 1,
    allocate: Annotated[int, typer.Option(min=1, help="Allocate replicas.")] = 1,
    orchestrator: Annotated[int, typer.Option(min=1, help="Orchestrator replicas.")] = 1,
    data_root: Annotated[
        Path | None,
        typer.Option(
            "--data-root",
            help="The services read files only under this folder (default: IMPACT_DATA_ROOT, "
            "else the checkout).",
        ),
    ] = None,
) -> None:
    """Start the local broker, schema registry and services (as processes)."""
    replicas = {
        "measure": measure,
        "evaluate": evaluate,
        "allocate": allocate,
        "orchestrator": orchestrator,
    }
    stack.up(stack.project_root(), replicas, say=console.print, data_root=data_root)


def down(
    purge: Annotated[
        bool, typer.Option("--purge", help="Also delete the broker's data (every run).")
    ] = False,
) -> None:
    """Stop everything impact up started; the broker's data is kept for the next up."""
    stack.down(stack.project_root(), say=console.print, purge=purge)


def demo(
    manifest: Annotated[Path, typer.Argument(help="The manifest to run.")] = Path(
        "examples/manifest.yaml"
    ),
    measure: Annotated[int, typer.Option(min=1, help="Measure replicas.")] = 2,
    keep: Annotated[bool, typer.Option(help="Leave the stack running afterwards.")] = False,
    timeout: float = 600.0,
) -> None:
    """The main job: start the stack, publish MANIFEST, follow it, print the report."""
    import asyncio

    root = stack.project_root()
    loaded = load(manifest, None)
    stack.up(root, {"measure": measure}, say=console.print)
    try:
        bus = _bus(None, None, "impact.")

        async def go() -> dict[str, Any] | None:
            run_id = await bus.publish_manifest(loaded.to_event_payload())
            console.print(f"published run [bold]{run_id}[/]")
            return await follow_run(bus, run_id, timeout, show=True)

        completed = asyncio.run(go())
        if completed is None:
            errors.print(f"[red]timed out[/] after {timeout:.0f} s")
            raise typer.Exit(3)
        console.print(render.report_tables(completed, manifest_brief(loaded)))
    finally:
        if not keep:
            stack.down(root, say=console.print)
