"""What changed between two runs: budget, selections and estimates (pure, no Kafka).

A run is read from its events (a Kafka run's or an embedded run's from the history): the
manifest for the name and budget, ``run_completed`` for the decision and the estimates.
An initiative's predicted return is the report's (``pilots[].predicted_return``, the
value the allocation was made on); its 95 % prediction interval is the report's for a
scaled initiative, none otherwise; its allocation is 0 when it was not selected.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class RunNotComparable(ValueError):
    """A run with no events, or not completed yet."""


@dataclass(frozen=True)
class Estimate:
    initiative_id: str
    selected: bool
    allocated: float
    predicted: float | None
    lower: float | None = None
    upper: float | None = None


@dataclass(frozen=True)
class RunDigest:
    """One completed run as ``compare`` sees it."""

    run_id: str
    name: str | None
    status: str
    budget: float
    allocated: float
    predicted: float
    predicted_lower: float | None
    predicted_upper: float | None
    unit: str | None
    estimates: dict[str, Estimate] = field(default_factory=dict)

    @property
    def selected(self) -> list[str]:
        return sorted(i for i, e in self.estimates.items() if e.selected)

    @property
    def label(self) -> str:
        return f"{self.name} ({self.run_id})" if self.name else self.run_id


def digest(run_id: str, events: list[tuple[str, dict[str, Any]]]) -> RunDigest:
    """The run's budget, decision and estimates from its events.

    Raises:
        RunNotComparable: no event of the run, or no ``run_completed`` yet.
    """
    if not events:
        raise RunNotComparable(f"unknown run {run_id}: no events found")
    manifest = next((v for n, v in events if n == "manifest_submitted"), {})
    completed = next((v for n, v in events if n == "run_completed"), None)
    if completed is None:
        raise RunNotComparable(f"run {run_id} has not completed: nothing to compare yet")
    reports = {r["initiative_id"]: r for r in completed.get("reports", [])}
    estimates: dict[str, Estimate] = {}
    for pilot in completed.get("pilots", []):
        initiative = pilot["initiative_id"]
        report = reports.get(initiative, {})
        estimates[initiative] = Estimate(
            initiative_id=initiative,
            selected=bool(pilot.get("selected")),
            allocated=float(report.get("budget_allocated", 0.0)),
            predicted=pilot.get("predicted_return"),
            lower=report.get("prediction_lower"),
            upper=report.get("prediction_upper"),
        )
    for initiative, report in reports.items():  # a report without its pilot row (1.0)
        estimates.setdefault(
            initiative,
            Estimate(
                initiative,
                True,
                float(report["budget_allocated"]),
                report["predicted_return"],
                report.get("prediction_lower"),
                report.get("prediction_upper"),
            ),
        )
    summary = completed["summary"]
    return RunDigest(
        run_id=run_id,
        name=manifest.get("name"),
        status=completed["status"],
        budget=float(summary["budget"]),
        allocated=float(summary["total_budget_allocated"]),
        predicted=float(summary["total_predicted_return"]),
        predicted_lower=summary.get("predicted_total_lower"),
        predicted_upper=summary.get("predicted_total_upper"),
        unit=summary.get("unit"),
        estimates=estimates,
    )


@dataclass(frozen=True)
class Change:
    """One initiative in either run: its estimate before (A) and after (B)."""

    initiative_id: str
    before: Estimate | None
    after: Estimate | None

    @property
    def selection(self) -> str:
        """``added``, ``removed``, ``kept``, ``not selected``, or ``only in A``/``only in B``
        for an initiative one run did not evaluate."""
        was = self.before is not None and self.before.selected
        now = self.after is not None and self.after.selected
        if was != now:
            return "added" if now else "removed"
        if was:
            return "kept"
        if self.before is None or self.after is None:
            return "only in B" if self.before is None else "only in A"
        return "not selected"

    @property
    def allocated_change(self) -> float:
        return _allocated(self.after) - _allocated(self.before)

    @property
    def predicted_change(self) -> float | None:
        if self.before is None or self.after is None:
            return None
        if self.before.predicted is None or self.after.predicted is None:
            return None
        return self.after.predicted - self.before.predicted


@dataclass(frozen=True)
class Comparison:
    a: RunDigest
    b: RunDigest
    changes: list[Change]

    @property
    def budget_change(self) -> float:
        return self.b.budget - self.a.budget

    @property
    def allocated_change(self) -> float:
        return self.b.allocated - self.a.allocated

    @property
    def predicted_change(self) -> float:
        return self.b.predicted - self.a.predicted

    def ids(self, selection: str) -> list[str]:
        return [c.initiative_id for c in self.changes if c.selection == selection]


def compare_runs(a: RunDigest, b: RunDigest) -> Comparison:
    """Run A against run B, one change per initiative of either run (sorted by id)."""
    ids = sorted(set(a.estimates) | set(b.estimates))
    return Comparison(a, b, [Change(i, a.estimates.get(i), b.estimates.get(i)) for i in ids])


def as_dict(comparison: Comparison) -> dict[str, Any]:
    """The comparison for ``--json``."""

    def run(d: RunDigest) -> dict[str, Any]:
        return {
            "run_id": d.run_id,
            "name": d.name,
            "status": d.status,
            "budget": d.budget,
            "allocated": d.allocated,
            "predicted": d.predicted,
            "predicted_lower": d.predicted_lower,
            "predicted_upper": d.predicted_upper,
            "selected": d.selected,
        }

    def estimate(e: Estimate | None) -> dict[str, Any] | None:
        return None if e is None else {k: getattr(e, k) for k in Estimate.__dataclass_fields__}

    return {
        "a": run(comparison.a),
        "b": run(comparison.b),
        "budget_change": comparison.budget_change,
        "allocated_change": comparison.allocated_change,
        "predicted_change": comparison.predicted_change,
        "added": comparison.ids("added"),
        "removed": comparison.ids("removed"),
        "initiatives": [
            {
                "initiative_id": c.initiative_id,
                "selection": c.selection,
                "a": estimate(c.before),
                "b": estimate(c.after),
                "allocated_change": c.allocated_change,
                "predicted_change": c.predicted_change,
            }
            for c in comparison.changes
        ],
    }


def _allocated(estimate: Estimate | None) -> float:
    return 0.0 if estimate is None else estimate.allocated
