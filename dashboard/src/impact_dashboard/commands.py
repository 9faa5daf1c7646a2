"""What ``impact ui`` and ``impact report RUN_ID --html/--csv/--xlsx FILE`` do, for the
CLI to call."""

from __future__ import annotations

import asyncio
from pathlib import Path

import uvicorn
from impact_cli.bus import Bus

from impact_dashboard import export, pages
from impact_dashboard.app import create_app
from impact_dashboard.model import RunView
from impact_dashboard.source import RunSource


def serve(bus: Bus, host: str = "127.0.0.1", port: int = 8050) -> None:
    """Serve the dashboard until interrupted (Ctrl-C or SIGTERM)."""
    uvicorn.run(create_app(RunSource(bus)), host=host, port=port, log_level="warning")


def write_report(
    bus: Bus,
    run_id: str,
    path: Path | None = None,
    *,
    csv: Path | None = None,
    xlsx: Path | None = None,
) -> RunView:
    """Read RUN_ID to its current end and write the self-contained HTML report to
    ``path``, the portfolio as CSV to ``csv`` and as an Excel workbook to ``xlsx`` (each
    when given; nothing for a run with no events)."""

    async def read() -> RunView:
        try:
            return await RunSource(bus).run(run_id)
        finally:
            await bus.close()

    view = asyncio.run(read())
    if view.status != "waiting":
        write_files(view, path, csv=csv, xlsx=xlsx)
    return view


def write_files(
    view: RunView, html: Path | None = None, *, csv: Path | None = None, xlsx: Path | None = None
) -> None:
    """Write the report files asked for (pure but for the writes)."""
    if html is not None:
        html.write_text(pages.report_page(view), encoding="utf-8")
    if csv is not None:
        csv.write_text(export.portfolio_csv(view), encoding="utf-8")
    if xlsx is not None:
        xlsx.write_bytes(export.portfolio_xlsx(view))
