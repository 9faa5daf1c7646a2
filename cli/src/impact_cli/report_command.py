"""``impact report RUN_ID --html/--csv/--xlsx FILE``: the committee report of a run."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from impact_cli.common import console, errors, fail
from impact_cli.options import Bootstrap, Prefix, Registry, bus


def report(
    run_id: str,
    html: Annotated[
        Path | None, typer.Option("--html", help="Write the report to this HTML file.")
    ] = None,
    csv: Annotated[
        Path | None, typer.Option("--csv", help="Write the portfolio to this CSV file.")
    ] = None,
    xlsx: Annotated[
        Path | None, typer.Option("--xlsx", help="Write the portfolio to this Excel file.")
    ] = None,
    bootstrap: Bootstrap = None,
    registry: Registry = None,
    prefix: Prefix = "impact.",
) -> None:
    """Write RUN_ID's report as one self-contained HTML file (opens with no network),
    and/or its portfolio as CSV or Excel: one row per initiative, with why it was or was
    not selected. An embedded run (impact run) is read from the local run history."""
    from impact_dashboard.commands import write_report

    if html is None and csv is None and xlsx is None:
        fail("impact report: give at least one of --html, --csv, --xlsx")
    try:
        view = write_report(
            lambda: bus(bootstrap, registry, prefix), run_id, html, csv=csv, xlsx=xlsx
        )
    except TimeoutError as exc:
        errors.print(f"[red]timed out[/] reading run {run_id}: {exc}", highlight=False)
        raise typer.Exit(3) from None
    if view.status == "waiting":
        errors.print(f"[red]unknown run[/] {run_id}: no events found")
        raise typer.Exit(1)
    written = ", ".join(str(p) for p in (html, csv, xlsx) if p is not None)
    console.print(f"wrote {written} (run {run_id}: {view.status})", highlight=False)
