"""The portfolio as CSV and Excel (pure: a ``RunView`` in, bytes out).

One row per initiative of the manifest, sorted by id: the verdict and its cause, what
allocate decided on (posterior mean, its 95 % interval, P(effect > 0), design strength,
cost, value per cost), the budget, and for scaled initiatives the 95 % prediction
interval of the scale result, the actual, its CI, whether it fell inside and the error.
Numbers stay numbers (an empty cell where there is none). The workbook adds a
``Summary`` sheet with the executive summary.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from impact_dashboard.model import OutcomeRow, RunView
from impact_dashboard.portfolio import PortfolioRow

#: (column, what it holds), in order.
COLUMNS: tuple[tuple[str, str], ...] = (
    ("initiative_id", "initiative"),
    ("model_type", "measure model"),
    ("selected", "selected by the allocation"),
    ("reason_kind", "cause of the verdict"),
    ("reason", "why (not) selected"),
    ("predicted", "posterior mean of the value (raw estimate with estimates: raw)"),
    ("interval_lower", "95 % interval of the value, lower"),
    ("interval_upper", "95 % interval of the value, upper"),
    ("probability_positive", "probability of a positive effect"),
    ("design_strength", "design strength (not a probability)"),
    ("cost", "cost to scale"),
    ("value_per_cost", "predicted / cost"),
    ("budget_allocated", "budget allocated"),
    ("prediction_lower", "95 % prediction interval of the scale result, lower"),
    ("prediction_upper", "95 % prediction interval of the scale result, upper"),
    ("actual", "value measured at scale"),
    ("actual_ci_lower", "scale measurement 95 % CI, lower"),
    ("actual_ci_upper", "scale measurement 95 % CI, upper"),
    ("inside_interval", "actual inside the prediction interval"),
    ("prediction_error", "actual - predicted"),
    ("pilot_effect", "pilot estimate, in its own unit"),
    ("pilot_ci_lower", "pilot 95 % CI, lower"),
    ("pilot_ci_upper", "pilot 95 % CI, upper"),
)


def portfolio_records(view: RunView) -> list[dict[str, Any]]:
    """One dict per initiative with the keys of :data:`COLUMNS`."""
    outcomes = {o.initiative_id: o for o in view.outcomes}
    return [_record(r, outcomes.get(r.initiative_id)) for r in view.portfolio]


def _record(r: PortfolioRow, o: OutcomeRow | None) -> dict[str, Any]:
    return {
        "initiative_id": r.initiative_id,
        "model_type": r.model_type,
        "selected": r.selected,
        "reason_kind": r.reason.kind,
        "reason": r.reason.text,
        "predicted": r.predicted,
        "interval_lower": r.lower,
        "interval_upper": r.upper,
        "probability_positive": r.probability_positive,
        "design_strength": r.confidence,
        "cost": r.cost,
        "value_per_cost": r.value_per_cost,
        "budget_allocated": r.budget_allocated,
        "prediction_lower": o.predicted_lower if o else None,
        "prediction_upper": o.predicted_upper if o else None,
        "actual": o.actual if o else None,
        "actual_ci_lower": o.actual_lower if o else None,
        "actual_ci_upper": o.actual_upper if o else None,
        "inside_interval": o.inside if o else None,
        "prediction_error": o.error if o else None,
        "pilot_effect": r.effect,
        "pilot_ci_lower": r.ci_lower,
        "pilot_ci_upper": r.ci_upper,
    }


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return value


def portfolio_csv(view: RunView) -> str:
    """The portfolio as CSV text (a header row of :data:`COLUMNS` names; floats in full
    precision, ``yes``/``no`` for flags, empty for none)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([name for name, _ in COLUMNS])
    for record in portfolio_records(view):
        writer.writerow([_cell(record[name]) for name, _ in COLUMNS])
    return out.getvalue()


def summary_rows(view: RunView) -> list[tuple[str, Any]]:
    """The ``Summary`` sheet: run, status, the executive summary's numbers and points."""
    e = view.executive
    rows: list[tuple[str, Any]] = [("run", view.run_id), ("status", view.status)]
    if e is None:
        return [*rows, ("budget", view.budget), ("summary", "no allocation yet")]
    rows += [
        ("budget", e.budget),
        ("allocated", e.allocated),
        ("selected", e.n_selected),
        ("initiatives", e.n_initiatives),
        ("expected value", e.expected),
        ("expected value, 95 % interval lower", e.expected_lower),
        ("expected value, 95 % interval upper", e.expected_upper),
        ("unit", e.unit),
        ("summary", e.headline()),
    ]
    return rows + [("reason", point) for point in e.points]


def portfolio_xlsx(view: RunView) -> bytes:
    """The workbook: ``Portfolio`` (header, then one row per initiative, numbers as
    numbers, the header frozen) and ``Summary``; a third sheet ``Columns`` says what each
    column holds."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Portfolio"
    sheet.append([name for name, _ in COLUMNS])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for record in portfolio_records(view):
        sheet.append([record[name] for name, _ in COLUMNS])
    sheet.freeze_panes = "B2"
    for column, (name, _) in zip(sheet.columns, COLUMNS, strict=True):
        letter = column[0].column_letter
        sheet.column_dimensions[letter].width = 60 if name == "reason" else max(12, len(name) + 2)
    summary = book.create_sheet("Summary")
    for key, value in summary_rows(view):
        summary.append([key, value])
    summary.column_dimensions["A"].width = 36
    summary.column_dimensions["B"].width = 100
    columns = book.create_sheet("Columns")
    for row in COLUMNS:
        columns.append(list(row))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
