"""What ``impact ui`` and ``impact report RUN_ID --html FILE`` do, for the CLI to call."""

from __future__ import annotations

import asyncio
from pathlib import Path

import uvicorn
from impact_cli.bus import Bus

from impact_dashboard import pages
from impact_dashboard.app import create_app
from impact_dashboard.model import RunView
from impact_dashboard.source import RunSource


def serve(bus: Bus, host: str = "127.0.0.1", port: int = 8050) -> None:
    """Serve the dashboard until interrupted (Ctrl-C or SIGTERM)."""
    uvicorn.run(create_app(RunSource(bus)), host=host, port=port, log_level="warning")


def write_report(bus: Bus, run_id: str, path: Path) -> RunView:
    """Read RUN_ID to its current end and write the self-contained HTML report to ``path``."""

    async def read() -> RunView:
        try:
            return await RunSource(bus).run(run_id)
        finally:
            await bus.close()

    view = asyncio.run(read())
    if view.status != "waiting":
        path.write_text(pages.report_page(view), encoding="utf-8")
    return view
