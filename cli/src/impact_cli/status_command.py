"""``impact status RUN_ID``: where a run stands, from its events on the broker or, for an
embedded run, in the local run history; with ``--lineage``, every hop per initiative."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from impact_observe.lineage import lineage
from impact_observe.stages import stage_text

from impact_cli import history, render
from impact_cli.common import console, dump, errors
from impact_cli.options import Bootstrap, Prefix, Registry

Events = list[tuple[str, dict[str, Any]]]
#: ``run_status`` messages of stage ``approval`` after which the run has been decided
DECIDED = ("approved ", "amended ", "rejected ")
AWAITING_SCALE = "awaiting scale data for: "


def lifecycle_state(events: Events) -> str:
    """The run's lifecycle (docs/orchestrator.md, "Run lifecycle") as one line:
    ``awaiting approval (scale data needed for: c)``, ``awaiting scale data: c, d``,
    ``rejected``, or the run's status (``running``, ``completed``, ``failed``)."""
    statuses = [v for n, v in events if n == "run_status"]
    completed = next((v for n, v in events if n == "run_completed"), None)
    if completed is not None:
        reason = str((completed.get("summary") or {}).get("reason") or "")
        return "rejected" if "rejected by " in reason else str(completed["status"])
    approval = [s for s in statuses if s["stage"] == "approval"]
    messages = [str(s.get("message") or "") for s in approval]
    decided = any(m.startswith(DECIDED) for m in messages)
    if approval and not decided:
        request = next((m for m in reversed(messages) if m.startswith("awaiting approval")), "")
        needs = request.partition("; scale data needed for: ")[2].partition(";")[0]
        return "awaiting approval" + (f" (scale data needed for: {needs})" if needs else "")
    asked = [
        str(s.get("message")) for s in statuses if str(s.get("message")).startswith(AWAITING_SCALE)
    ]
    if not asked:
        return "running"
    waiting = [i.strip() for i in asked[-1].removeprefix(AWAITING_SCALE).split(",")]
    given = {
        v.get("initiative_id")
        for n, v in events
        if (n == "run_command" and v.get("action") == "scale")
        or (n in ("measure_completed", "stage_failed") and v.get("phase") == "scale")
    }
    left = [i for i in waiting if i not in given]
    return f"awaiting scale data: {', '.join(left)}" if left else "running"


def status(
    run_id: str,
    bootstrap: Bootstrap = None,
    registry: Registry = None,
    prefix: Prefix = "impact.",
    show_lineage: Annotated[
        bool, typer.Option("--lineage", help="Per initiative, every hop and its latency.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Where RUN_ID stands now (its lifecycle, latest progress per stage, or its final
    status). An embedded run (impact run) is read from the local run history."""
    events = history.read_events(run_id, bootstrap, registry, prefix)
    if not events:
        errors.print(f"[red]unknown run[/] {run_id}: no events found")
        raise typer.Exit(1)
    latest: dict[str, dict[str, Any]] = {}
    final = None
    for name, value in events:
        if name == "run_status":
            latest[value["stage"]] = value
        elif name == "run_completed":
            final = value
    stages = {
        k: stage_text(v["completed"], v["total"], v["state"], final is not None)
        for k, v in latest.items()
    }
    cached = render.cached_measurements(events)
    summary: dict[str, Any] = {
        **history.identity(run_id, events),
        "status": final["status"] if final else "running",
        "lifecycle": lifecycle_state(events),
        "stages": stages,
        "cached": cached,
        "n_cached": sum(len(phases) for phases in cached.values()),
    }
    if as_json:
        chains = lineage(events) if show_lineage else {}
        summary["lineage"] = {
            k: [{"event": h.event, "phase": h.phase, "since_cause_ms": h.since_cause_ms} for h in v]
            for k, v in chains.items()
        }
        print(dump(summary))
        return
    console.print(f"run [bold]{history.label(summary)}[/]: {summary['status']}")
    if summary["lifecycle"] != summary["status"]:
        console.print(f"  lifecycle {summary['lifecycle']}", highlight=False)
    for stage_name, text in stages.items():
        console.print(f"  {stage_name:<9} [{text}]")
    if cached:
        console.print(f"  cached    {summary['n_cached']} measurement(s) from the result cache:")
        for initiative, phases in cached.items():
            console.print(f"    {initiative}: {', '.join(phases)}", highlight=False)
    if show_lineage:
        console.print(render.lineage_table(lineage(events)))
