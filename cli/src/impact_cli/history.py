"""Run history and comparison: ``impact runs``, ``impact compare``, ``impact sweep``.

Embedded runs (``impact run``) are recorded in the local run history
(``impact_orchestrator.history``: ``runs/`` in the ``--home`` folder, default
``var/stack/runs``); Kafka runs are read from the broker. Both are read by run id.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from impact_cli.common import DataRoot, NoCache, console, dump, errors, fail
from impact_cli.compare import RunNotComparable, as_dict, compare_runs, digest
from impact_cli.options import Bootstrap, Prefix, Registry

AsJson = Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")]
#: The most budgets one sweep allocates at.
MAX_BUDGETS = 200


def register(app: typer.Typer) -> None:
    """Add this module's commands to the ``impact`` app."""
    app.command("runs")(runs)
    app.command("compare")(compare)
    app.command("sweep")(sweep)


def run_recorded(loaded: Any, **options: Any) -> dict[str, Any]:
    """``impact run``: run embedded and record the run in the history; the report with the
    run's id and name (for the title and ``--json``)."""
    import uuid

    from impact_orchestrator.embedded import run_embedded
    from impact_orchestrator.history import RunHistory

    run_id = str(uuid.uuid4())
    completed = run_embedded(loaded, run_id=run_id, history=RunHistory(), **options)
    return {"run_id": run_id, "name": loaded.name, **completed}


def identity(run_id: str, events: list[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
    """The run id and the manifest's name (None without one), as ``impact status`` shows."""
    name = next((v.get("name") for n, v in events if n == "manifest_submitted"), None)
    return {"run_id": run_id, "name": name}


def label(run: dict[str, Any]) -> str:
    """``<run id> (<name>)``, or the run id of a run without a name."""
    return f"{run['run_id']} ({run['name']})" if run.get("name") else str(run["run_id"])


def read_events(
    run_id: str, bootstrap: str | None, registry: str | None, prefix: str
) -> list[tuple[str, dict[str, Any]]]:
    """RUN_ID's events: an embedded run's from the history, else a Kafka run's."""
    import asyncio

    from impact_orchestrator.history import RunHistory

    if recorded := RunHistory().read(run_id):
        return recorded
    from impact_cli.options import bus as _bus  # the connection rules of every Kafka command

    bus = _bus(bootstrap, registry, prefix)

    async def go() -> list[tuple[str, dict[str, Any]]]:
        try:
            return list(await bus.read_run(run_id))
        finally:
            await bus.close()

    try:
        return asyncio.run(go())
    except TimeoutError as exc:
        errors.print(f"[red]timed out[/] reading run {run_id}: {exc}", highlight=False)
        raise typer.Exit(3) from None


def recorded_report(run_id: str, manifest: dict[str, Any]) -> dict[str, Any] | None:
    """The ``run_completed`` of an embedded run of the history (``manifest`` is filled
    with its manifest payload); ``None`` when the history has no such finished run."""
    from impact_orchestrator.history import RunHistory

    events = RunHistory().read(run_id)
    manifest.update(next((v for n, v in events if n == "manifest_submitted"), {}))
    return next((dict(v) for n, v in events if n == "run_completed"), None)


def runs(as_json: AsJson = False) -> None:
    """The embedded runs in the local run history, newest first (Kafka runs: impact ui)."""
    from impact_orchestrator.history import RunHistory

    history = RunHistory()
    rows: list[dict[str, Any]] = []
    for run_id in reversed(history.run_ids()):
        events = history.read(run_id)
        manifest = next((v for n, v in events if n == "manifest_submitted"), {})
        completed = next((v for n, v in events if n == "run_completed"), None)
        summary = (completed or {}).get("summary") or {}
        rows.append(
            {
                "run_id": run_id,
                "name": manifest.get("name"),
                "started_at": manifest.get("produced_at"),
                "status": completed["status"] if completed else "incomplete",
                "budget": manifest.get("budget"),
                "n_selected": summary.get("n_selected"),
                "predicted": summary.get("total_predicted_return"),
            }
        )
    if as_json:
        print(dump(rows))
        return
    from rich.table import Table

    table = Table(title=f"Embedded runs ({history.folder})")
    for column in ("run", "name", "started", "status", "budget", "selected", "predicted"):
        table.add_column(column, justify="right" if column in ("budget", "predicted") else "left")
    for row in rows:
        started = row["started_at"]
        table.add_row(
            row["run_id"],
            row["name"] or "—",
            started.strftime("%Y-%m-%d %H:%M:%S") if started else "—",
            row["status"],
            _money(row["budget"]),
            "—" if row["n_selected"] is None else str(row["n_selected"]),
            _num(row["predicted"]),
        )
    console.print(table)


def compare(
    run_a: str,
    run_b: str,
    bootstrap: Bootstrap = None,
    registry: Registry = None,
    prefix: Prefix = "impact.",
    as_json: AsJson = False,
) -> None:
    """What changed from RUN_A to RUN_B: budget, selections (added/removed) and, per
    initiative, predicted return, its interval and the budget allocated. Each run is an
    embedded run of the history or a Kafka run."""
    try:
        a = digest(run_a, read_events(run_a, bootstrap, registry, prefix))
        b = digest(run_b, read_events(run_b, bootstrap, registry, prefix))
    except RunNotComparable as exc:
        errors.print(f"[red]error[/] {exc}", highlight=False)
        raise typer.Exit(1) from None
    comparison = compare_runs(a, b)
    if as_json:
        print(dump(as_dict(comparison)))
        return
    from impact_cli.history_render import comparison_tables

    console.print(comparison_tables(comparison))


def parse_budgets(text: str) -> list[float]:
    """``50000,75000,100000`` and/or ``START:STOP:STEP`` ranges (STOP included when the
    steps reach it); sorted, without repeats.

    Raises:
        ValueError: a part that is not a positive number or a valid range.
    """
    budgets: set[float] = set()
    for part in (p.strip() for p in text.split(",")):
        pieces = part.split(":")
        try:
            numbers = [float(p) for p in pieces]
        except ValueError:
            raise ValueError(f"{part!r} is not a number or START:STOP:STEP") from None
        if len(numbers) == 1:
            budgets.add(numbers[0])
        elif len(numbers) == 3 and numbers[2] > 0 and numbers[0] <= numbers[1]:
            start, stop, step = numbers
            count = int((stop - start) / step + 1e-9) + 1
            if count > MAX_BUDGETS:
                raise ValueError(f"{part!r} gives {count} budgets, more than {MAX_BUDGETS}")
            budgets.update(start + i * step for i in range(count))
        else:
            raise ValueError(f"{part!r}: a range is START:STOP:STEP with START <= STOP, STEP > 0")
    if not budgets or min(budgets) <= 0:
        raise ValueError("every budget must be above 0")
    if len(budgets) > MAX_BUDGETS:
        raise ValueError(f"{len(budgets)} budgets, more than {MAX_BUDGETS}")
    return sorted(budgets)


def sweep(
    manifest: Path,
    budgets: Annotated[
        str,
        typer.Option(
            "--budgets",
            help="Budgets to allocate at: 50000,75000,100000 or START:STOP:STEP "
            "(50000:100000:25000), or both, comma-separated.",
        ),
    ],
    chart: Annotated[
        Path | None,
        typer.Option(
            "--chart", help="Also write the chart as a self-contained SVG (.svg) or HTML file."
        ),
    ] = None,
    data_root: DataRoot = None,
    max_workers: Annotated[
        int | None, typer.Option(help="Threads or worker processes (default: manifest).")
    ] = None,
    as_json: AsJson = False,
    no_cache: NoCache = False,
) -> None:
    """Value against budget: measure and evaluate MANIFEST once (the measure result cache
    answers what an earlier run measured), allocate at each budget, and print a table and a
    chart of the predicted value with its 95 % interval. No scale phase runs."""
    from impact_orchestrator.sweep import sweep_budgets

    from impact_cli.manifest_commands import load as _load

    try:
        amounts = parse_budgets(budgets)
    except ValueError as exc:
        fail(f"--budgets: {exc}")
    loaded = _load(manifest, data_root, no_cache)
    try:
        result = sweep_budgets(loaded, amounts, max_workers=max_workers, progress=not as_json)
    except RuntimeError as exc:
        errors.print(f"[red]error[/] {manifest}: {exc}", highlight=False)
        raise typer.Exit(1) from None
    if chart is not None:
        from impact_dashboard.sweep_chart import write_chart

        write_chart(result, chart, title=result.name or manifest.name)
    if as_json:
        from dataclasses import asdict

        print(dump(asdict(result)))
        return
    from impact_cli.history_render import sweep_tables

    console.print(sweep_tables(result, str(manifest)))
    if chart is not None:
        console.print(f"wrote {chart}", highlight=False)


def _money(value: float | None) -> str:
    return "—" if value is None else f"{value:,.0f}"


def _num(value: float | None) -> str:
    return "—" if value is None else f"{value:,.2f}"
