"""What ``impact ui`` and ``impact report RUN_ID --html FILE`` do, for the CLI to call."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import uvicorn
from impact_cli.bus import Bus
from impact_orchestrator.history import RunHistory

from impact_dashboard import pages
from impact_dashboard.app import create_app
from impact_dashboard.model import RunView, run_view
from impact_dashboard.source import RunSource


def serve(bus: Bus, host: str = "127.0.0.1", port: int = 8050) -> None:
    """Serve the dashboard until interrupted (Ctrl-C or SIGTERM)."""
    source = RunSource(bus, history=RunHistory())
    uvicorn.run(create_app(source), host=host, port=port, log_level="warning")


def write_report(
    bus: Callable[[], Bus], run_id: str, path: Path, history: RunHistory | None = None
) -> RunView:
    """Read RUN_ID to its current end and write the self-contained HTML report to ``path``:
    an embedded run from the run history (no broker needed), else a Kafka run through the
    bus that ``bus()`` makes."""
    history = history if history is not None else RunHistory()
    if recorded := history.read(run_id):
        view = run_view(run_id, recorded)
    else:
        view = asyncio.run(_read(bus(), run_id))
    if view.status != "waiting":
        path.write_text(pages.report_page(view), encoding="utf-8")
    return view


async def _read(bus: Bus, run_id: str) -> RunView:
    try:
        return await RunSource(bus).run(run_id)
    finally:
        await bus.close()
