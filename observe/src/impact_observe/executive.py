"""The executive summary at the top of a report (pure, no Kafka): budget, allocated, how
many were selected, the expected value with its 95 % interval, and the main reasons, each
a sentence generated from the data."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from impact_observe.reasons import Candidate, Reason, ReasonKind

#: Ids named per sentence, at most.
NAMED = 6
#: The not-selected causes in the order the summary gives them, with their sentence head.
CAUSES: tuple[tuple[ReasonKind, str], ...] = (
    ("dropped", "Dropped at approval"),
    ("displaced", "Displaced by initiatives with a better value per cost"),
    ("no_budget_left", "Not enough budget left"),
    ("over_budget", "Costs more than the whole budget"),
    ("negative", "Negative predicted effect"),
    ("uncertain", "Uncertain effect (its 95 % interval includes 0)"),
    ("below_threshold", "Design strength below the minimum"),
    ("not_chosen", "Not in the optimal portfolio"),
    ("failed", "Failed before evaluation"),
    ("pending", "Still pending"),
)


@dataclass(frozen=True)
class ExecutiveSummary:
    status: str
    budget: float | None
    allocated: float
    n_selected: int
    n_initiatives: int
    expected: float | None
    expected_lower: float | None
    expected_upper: float | None
    unit: str | None
    points: list[str] = field(default_factory=list)

    @property
    def allocated_percent(self) -> float | None:
        return 100.0 * self.allocated / self.budget if self.budget else None

    def headline(self) -> str:
        """One line: selected k of N, allocated of budget, expected value [interval]."""
        parts = [f"{self.n_selected} of {self.n_initiatives} initiatives selected"]
        if self.budget is not None:
            pct = self.allocated_percent
            share = "" if pct is None else f" ({pct:.0f} %)"
            parts.append(f"{self.allocated:,.0f} of {self.budget:,.0f} allocated{share}")
        if self.expected is not None:
            value = f"expected value {_num(self.expected)}"
            if self.expected_lower is not None and self.expected_upper is not None:
                value += (
                    f" (95 % interval {_num(self.expected_lower)} to {_num(self.expected_upper)})"
                )
            if self.unit:
                value += f" {self.unit}"
            parts.append(value)
        return "; ".join(parts)


def _num(value: float) -> str:
    return f"{value:,.2f}"


def _names(ids: Sequence[str]) -> str:
    shown = ", ".join(ids[:NAMED])
    return shown + (f" and {len(ids) - NAMED} more" if len(ids) > NAMED else "")


def executive_summary(
    candidates: Sequence[Candidate],
    why: Mapping[str, Reason],
    *,
    budget: float | None,
    status: str,
    summary: Mapping[str, Any] | None = None,
    threshold: float = 0.0,
    n_initiatives: int | None = None,
) -> ExecutiveSummary:
    """The summary of a run from its candidates, their reasons and (once the run is
    complete) the ``run_completed`` summary (the portfolio's interval, the actuals)."""
    summary = summary or {}
    chosen = sorted(
        (c for c in candidates if c.selected),
        key=lambda c: (-(c.value_per_cost or -math.inf), c.initiative_id),
    )
    predicted = [c.predicted for c in chosen]
    expected = math.fsum(p for p in predicted if p is not None) if chosen else None
    points: list[str] = []
    if chosen:
        best = [
            f"{c.initiative_id} ({c.value_per_cost:,.3g})"
            if c.value_per_cost is not None
            else c.initiative_id
            for c in chosen
        ]
        points.append(f"Selected, by value per cost: {_names(best)}.")
    elif why:
        reason = summary.get("reason")
        points.append("Nothing was selected" + (f": {reason}." if reason else "."))
    for kind, head in CAUSES:
        ids = sorted(i for i, r in why.items() if r.kind == kind)
        if not ids:
            continue
        if kind == "below_threshold":
            head += f" {threshold:g}"
        if kind == "displaced":
            by = sorted({b for i in ids for b in why[i].by})
            points.append(f"{head} ({_names(by)}): {_names(ids)}.")
        else:
            points.append(f"{head}: {_names(ids)}.")
    if summary.get("n_selected") and "total_actual_return" in summary and status != "running":
        error = summary.get("total_prediction_error", 0.0)
        line = (
            f"Actual {_num(summary['total_actual_return'])} against predicted "
            f"{_num(summary['total_predicted_return'])} ({error:+,.2f})"
        )
        if summary.get("n_with_interval"):
            line += (
                f"; {summary['n_inside_interval']} of {summary['n_with_interval']} actuals "
                "inside their 95 % prediction interval"
            )
        points.append(line + ".")
    if status == "failed":
        points.append(f"The run failed: {summary.get('reason') or 'see the failures'}.")
    return ExecutiveSummary(
        status=status,
        budget=budget,
        allocated=summary.get("total_budget_allocated", math.fsum(c.cost or 0.0 for c in chosen)),
        n_selected=len(chosen),
        n_initiatives=n_initiatives if n_initiatives is not None else len(candidates),
        expected=expected,
        expected_lower=summary.get("predicted_total_lower"),
        expected_upper=summary.get("predicted_total_upper"),
        unit=summary.get("unit"),
        points=points,
    )
