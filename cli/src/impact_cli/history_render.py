"""Rich rendering of ``impact compare`` and ``impact sweep`` (tables and a text chart)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Group
from rich.table import Table
from rich.text import Text

from impact_cli.compare import Comparison, Estimate

if TYPE_CHECKING:
    from impact_orchestrator.sweep import Sweep

#: Width of the longest bar of the sweep's text chart, in characters.
BAR_WIDTH = 40


def _num(value: float | None) -> str:
    return "—" if value is None else f"{value:,.2f}"


def _signed(value: float | None, digits: int = 2) -> str:
    return "—" if value is None else f"{value:+,.{digits}f}"


def _interval(lower: float | None, upper: float | None) -> str:
    return "—" if lower is None or upper is None else f"[{lower:,.2f}, {upper:,.2f}]"


def comparison_tables(c: Comparison) -> Group:
    """The run-level changes, the selections, and a row per initiative."""
    unit = f" ({c.b.unit})" if c.b.unit else ""
    runs = Table(title=f"Compare A {c.a.label} → B {c.b.label}")
    for column in ("", "A", "B", "change"):
        runs.add_column(column, justify="left" if not column else "right")
    runs.add_row("status", c.a.status, c.b.status, "")
    runs.add_row("budget", f"{c.a.budget:,.0f}", f"{c.b.budget:,.0f}", _signed(c.budget_change, 0))
    runs.add_row(
        "allocated",
        f"{c.a.allocated:,.0f}",
        f"{c.b.allocated:,.0f}",
        _signed(c.allocated_change, 0),
    )
    runs.add_row(
        f"predicted{unit}", _num(c.a.predicted), _num(c.b.predicted), _signed(c.predicted_change)
    )
    runs.add_row(
        "95% interval",
        _interval(c.a.predicted_lower, c.a.predicted_upper),
        _interval(c.b.predicted_lower, c.b.predicted_upper),
        "",
    )
    runs.add_row("selected", str(len(c.a.selected)), str(len(c.b.selected)), "")
    lines = Text()
    for label, ids, style in (
        ("added", c.ids("added"), "green"),
        ("removed", c.ids("removed"), "red"),
    ):
        lines.append(f"{label}: ", style=f"bold {style}")
        lines.append(", ".join(ids) or "none")
        lines.append("\n")
    table = Table(title="Per initiative (A → B)")
    columns = ("initiative", "selection", "allocated A", "allocated B", "Δ allocated",
               "predicted A", "predicted B", "Δ predicted", "95% PI A", "95% PI B")  # fmt: skip
    for column in columns:
        left = column in ("initiative", "selection")
        table.add_column(column, justify="left" if left else "right", overflow="fold")
    for change in c.changes:
        a, b = change.before, change.after
        table.add_row(
            change.initiative_id,
            change.selection,
            _allocated(a),
            _allocated(b),
            _signed(change.allocated_change, 0),
            _num(a.predicted if a else None),
            _num(b.predicted if b else None),
            _signed(change.predicted_change),
            _interval(a.lower, a.upper) if a else "—",
            _interval(b.lower, b.upper) if b else "—",
        )
    return Group(runs, lines, table)


def _allocated(estimate: Estimate | None) -> str:
    return "—" if estimate is None else f"{estimate.allocated:,.0f}"


def sweep_tables(sweep: Sweep, manifest: str) -> Group:
    """One row per budget (with what it adds or drops against the budget before), then a
    bar per budget of the predicted value."""
    unit = f" ({sweep.unit})" if sweep.unit else ""
    title = f"Sweep of {sweep.name or manifest}: {sweep.n_evaluated} initiatives evaluated once"
    table = Table(title=title, caption="allocated at each budget from the same measurements")
    columns = ("budget", "selected", "allocated", f"predicted{unit}", "95% interval", "changes")
    for column in columns:
        table.add_column(
            column, justify="left" if column == "changes" else "right", overflow="fold"
        )
    before: set[str] = set()
    for point in sweep.points:
        now = set(point.selected)
        changes = [f"+{i}" for i in sorted(now - before)] + [f"-{i}" for i in sorted(before - now)]
        table.add_row(
            f"{point.budget:,.0f}",
            str(len(point.selected)),
            f"{point.allocated:,.0f}",
            _num(point.predicted) if point.failure is None else "failed",
            _interval(point.predicted_lower, point.predicted_upper),
            point.failure or " ".join(changes) or "same",
        )
        before = now
    parts: list[Table | Text] = [table, text_chart(sweep)]
    if sweep.failures:
        failed = ", ".join(sorted({str(f.get("initiative_id")) for f in sweep.failures}))
        parts.append(Text(f"not evaluated (failed): {failed}", style="yellow"))
    return Group(*parts)


def text_chart(sweep: Sweep) -> Text:
    """Predicted value against budget as horizontal bars (negative values get none)."""
    top = max((p.predicted for p in sweep.points), default=0.0)
    label_width = max((len(f"{p.budget:,.0f}") for p in sweep.points), default=1)
    chart = Text("predicted value by budget\n", style="bold")
    for point in sweep.points:
        length = round(BAR_WIDTH * point.predicted / top) if top > 0 and point.predicted > 0 else 0
        chart.append(f"{point.budget:>{label_width},.0f} ")
        chart.append("█" * length, style="cyan")
        chart.append(f" {point.predicted:,.2f}\n")
    return chart
