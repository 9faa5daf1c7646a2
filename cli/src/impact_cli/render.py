"""Rich rendering of progress, the outcome report and lineage."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from impact_observe.lineage import Hop
from impact_observe.reasons import Reason
from rich.console import Console, Group, OverflowMethod
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from impact_cli.decision import executive_panel, explain


def progress_bars(console: Console) -> Progress:
    """One bar per stage, filled from ``run_status`` events."""
    return Progress(
        TextColumn("[bold]{task.description:<9}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )


def report_tables(run: dict[str, Any], manifest: Mapping[str, Any] | None = None) -> Group:
    """The ``run_completed`` payload: the executive summary, a per-initiative table, the
    pilots with why each was (not) selected, and the run summary. ``manifest`` (its
    payload, or :func:`impact_cli.decision.manifest_brief`) gives the costs and the
    allocation settings the why-not reasons need."""
    why, executive = explain(run, manifest)
    run_label = f" — run {run['run_id']}" if run.get("run_id") else ""
    if run.get("name"):
        run_label = f" — {run['name']} (run {run.get('run_id') or '?'})"
    s = run["summary"]
    unit = f" ({s['unit']})" if s.get("unit") else ""
    table = Table(
        title=f"Outcome report{run_label} ({run['status']})",
        caption="design = design-strength score, not a probability; P(>0) = posterior "
        "probability of a positive effect; 95% PI = prediction interval of the scale result",
    )
    columns = ("initiative", "model", "design", "P(>0)", "budget", f"predicted{unit}",
               "95% PI", "actual", "inside", "error", "value/cost")  # fmt: skip
    for column in columns:
        left = column in ("initiative", "model")
        # ids fold, never truncate, in narrow terminals
        overflow: OverflowMethod = "fold" if column == "initiative" else "ellipsis"
        table.add_column(column, justify="left" if left else "right", overflow=overflow)
    table.add_column("n pilot → scale", justify="right")
    for r in run["reports"]:
        lower, upper = r.get("prediction_lower"), r.get("prediction_upper")
        inside = r.get("inside_interval")
        table.add_row(
            r["initiative_id"],
            r["model_type"],
            f"{r['confidence_score']:.3f}",
            _optional(r.get("probability_positive"), "{:.2f}"),
            f"{r['budget_allocated']:,.0f}",
            f"{r['predicted_return']:,.2f}",
            "—" if lower is None or upper is None else f"[{lower:,.2f}, {upper:,.2f}]",
            f"{r['actual_return']:,.2f}",
            "—" if inside is None else ("yes" if inside else "no"),
            f"{r['prediction_error']:+,.2f}",
            _optional(r.get("value_per_cost"), "{:,.3g}"),
            f"{r['sample_size_pilot']} → {r['sample_size_scale']}",
        )
    summary = Table.grid(padding=(0, 2))
    summary.add_row(
        "budget", f"{s['budget']:,.0f}", "allocated", f"{s['total_budget_allocated']:,.0f}"
    )
    summary.add_row(
        "initiatives",
        str(s["n_initiatives"]),
        "evaluated / selected / failed",
        f"{s['n_evaluated']} / {s['n_selected']} / {s['n_failed']}",
    )
    predicted = f"{s['total_predicted_return']:,.2f}"
    if s.get("predicted_total_lower") is not None:
        predicted += f" [{s['predicted_total_lower']:,.2f}, {s['predicted_total_upper']:,.2f}]"
    summary.add_row(
        f"predicted{unit}",
        predicted,
        "actual (error)",
        f"{s['total_actual_return']:,.2f} ({s['total_prediction_error']:+,.2f})",
    )
    if s.get("n_with_interval"):
        summary.add_row(
            "calibration",
            f"{s['n_inside_interval']} of {s['n_with_interval']} actuals inside their 95% "
            "prediction interval",
            "estimates",
            s.get("estimates", "raw"),
        )
    if s.get("solver_status"):
        summary.add_row("solver", s["solver_status"], "", "")
    if s.get("reason"):
        summary.add_row("reason", s["reason"], "", "")
    if s.get("missing"):
        summary.add_row("missing", ", ".join(s["missing"]), "", "")
    cached: dict[str, list[str]] = run.get("cached") or {}
    if cached:
        n_cached = sum(len(phases) for phases in cached.values())
        summary.add_row("cached", f"{n_cached} measurement(s) reused from the result cache", "", "")
    parts: list[Any] = [executive_panel(executive), table, summary]
    if run.get("pilots"):
        parts.insert(2, pilot_table(run["pilots"], cached, why))
    if run["failures"]:
        failures = Table(title="Failed initiatives")
        for column in ("initiative", "stage", "reason"):
            failures.add_column(column, overflow="fold")
        for f in run["failures"]:
            failures.add_row(f["initiative_id"], f["stage"], f["reason"])
        parts.append(failures)
    return Group(*parts)


def _verdict(pilot: Mapping[str, Any], reason: Reason | None) -> Text:
    if pilot.get("selected"):
        return Text("yes")
    return Text("no" if reason is None else f"no — {reason.text}")


def _optional(value: float | None, spec: str) -> str:
    return "—" if value is None else spec.format(value)


def cached_measurements(events: list[tuple[str, dict[str, Any]]]) -> dict[str, list[str]]:
    """Per initiative, the phases whose ``measure_completed`` came from the result cache
    (first answer per initiative and phase; a redelivered duplicate counts once)."""
    phases: dict[str, set[str]] = {}
    for name, value in events:
        if name == "measure_completed" and value.get("cached"):
            phases.setdefault(value["initiative_id"], set()).add(value["phase"])
    order = {"pilot": 0, "scale": 1}
    return {i: sorted(p, key=order.__getitem__) for i, p in sorted(phases.items())}


def pilot_table(
    pilots: list[dict[str, Any]],
    cached: dict[str, list[str]],
    why: Mapping[str, Reason] | None = None,
) -> Table:
    """Every pilot estimate, selected or not (and why not), with the phases the cache
    answered."""
    table = Table(title="Pilot estimates")
    columns = ("initiative", "model", "effect", "95% CI", "p", "n", "design", "predicted",
               "P(>0)", "selected")  # fmt: skip
    for column in (*columns, "cached"):
        left = column in ("initiative", "model", "cached", "selected")
        overflow: OverflowMethod = "fold" if column in ("initiative", "selected") else "ellipsis"
        table.add_column(column, justify="left" if left else "right", overflow=overflow)
    for p in pilots:
        confidence = p.get("confidence_score")
        table.add_row(
            p["initiative_id"],
            p["model_type"],
            f"{p['effect_estimate']:,.2f}",
            f"[{p['ci_lower']:,.2f}, {p['ci_upper']:,.2f}]",
            "—" if p.get("p_value") is None else f"{p['p_value']:.3g}",
            str(p["sample_size"]),
            "—" if confidence is None else f"{confidence:.3f}",
            _optional(p.get("predicted_return"), "{:,.2f}"),
            _optional(p.get("probability_positive"), "{:.2f}"),
            _verdict(p, (why or {}).get(p["initiative_id"])),
            ", ".join(cached.get(p["initiative_id"], [])),
        )
    return table


def lineage_table(chains: dict[str, list[Hop]]) -> Table:
    """Per initiative: each hop, when it happened and the time since its cause."""
    table = Table(title="Lineage (manifest → measure → evaluate → allocate → scale → report)")
    for column in ("initiative", "hop", "produced at", "since cause"):
        table.add_column(column, justify="right" if column == "since cause" else "left")
    for initiative, hops in chains.items():
        for index, hop in enumerate(hops):
            name = hop.event + (f" ({hop.phase})" if hop.phase else "")
            since = "" if hop.since_cause_ms is None else f"{hop.since_cause_ms:,.1f} ms"
            table.add_row(
                initiative if index == 0 else "", name, hop.produced_at.isoformat(), since
            )
        table.add_section()
    return table
