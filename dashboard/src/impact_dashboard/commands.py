"""What ``impact ui`` and ``impact report RUN_ID --html/--csv/--xlsx FILE`` do, for the
CLI to call."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import uvicorn
from impact_observe.bus import Bus
from impact_orchestrator.history import RunHistory

from impact_dashboard import export, pages
from impact_dashboard.app import create_app
from impact_dashboard.model import RunView, run_view
from impact_dashboard.source import RunSource


def serve(bus: Bus, host: str = "127.0.0.1", port: int = 8050) -> None:
    """Serve the dashboard until interrupted (Ctrl-C or SIGTERM)."""
    source = RunSource(bus, history=RunHistory())
    uvicorn.run(create_app(source), host=host, port=port, log_level="warning")


def write_report(
    bus: Callable[[], Bus],
    run_id: str,
    path: Path | None = None,
    *,
    csv: Path | None = None,
    xlsx: Path | None = None,
    history: RunHistory | None = None,
) -> RunView:
    """Read RUN_ID to its current end and write the self-contained HTML report to
    ``path``, the portfolio as CSV to ``csv`` and as an Excel workbook to ``xlsx`` (each
    when given; nothing for a run with no events): an embedded run from the run history
    (no broker needed), else a Kafka run through the bus that ``bus()`` makes."""
    history = history if history is not None else RunHistory()
    if recorded := history.read(run_id):
        view = run_view(run_id, recorded)
    else:
        view = asyncio.run(_read(bus(), run_id))
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


async def _read(bus: Bus, run_id: str) -> RunView:
    try:
        return await RunSource(bus).run(run_id)
    finally:
        await bus.close()
