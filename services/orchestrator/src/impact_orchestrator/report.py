"""The ``run_completed`` payload: predicted (pilot) vs actual (scale) per initiative.

Predictions, intervals and actuals are in the manifest's unit (the scale measurement is
converted by the initiative's value factor); ``pilots`` show each pilot in its own outcome
unit, beside its prediction in the manifest unit."""

from __future__ import annotations

import math
from typing import Any

from impact_contracts import InitiativeFailure, OutcomeReport, PilotEstimate, RunSummary
from impact_contracts.models import AllocateResult, MeasureResult
from impact_evaluate.cohort import portfolio_interval


def outcome_report(
    initiative_id: str,
    *,
    pilot: MeasureResult,
    evaluation: dict[str, Any],
    scale: MeasureResult,
    budget_allocated: float,
    value_factor: float = 1.0,
) -> OutcomeReport:
    """Compare the pilot's predicted return with the effect measured at scale (both in the
    manifest unit), and say whether the actual fell inside the 95 % prediction interval."""
    predicted = float(evaluation["return_median"])
    actual = scale.effect_estimate * value_factor
    lower, upper = evaluation.get("prediction_lower"), evaluation.get("prediction_upper")
    inside = None if lower is None or upper is None else bool(lower <= actual <= upper)
    return OutcomeReport(
        initiative_id=initiative_id,
        predicted_return=predicted,
        actual_return=actual,
        prediction_error=actual - predicted,
        sample_size_pilot=pilot.sample_size,
        sample_size_scale=scale.sample_size,
        budget_allocated=budget_allocated,
        confidence_score=evaluation["confidence"],
        model_type=pilot.model_type,
        prediction_lower=lower,
        prediction_upper=upper,
        inside_interval=inside,
        probability_positive=evaluation.get("probability_positive"),
        actual_ci_lower=scale.ci_lower * value_factor,
        actual_ci_upper=scale.ci_upper * value_factor,
        value_per_cost=predicted / budget_allocated if budget_allocated > 0 else None,
    )


def pilot_estimate(
    pilot: MeasureResult, evaluation: dict[str, Any] | None, selected: bool
) -> PilotEstimate:
    """What the report shows of one pilot measurement, selected or not."""
    return PilotEstimate(
        initiative_id=pilot.initiative_id,
        model_type=pilot.model_type,
        effect_estimate=pilot.effect_estimate,
        ci_lower=pilot.ci_lower,
        ci_upper=pilot.ci_upper,
        p_value=pilot.p_value,
        sample_size=pilot.sample_size,
        confidence_score=None if evaluation is None else evaluation["confidence"],
        selected=selected,
        predicted_return=None if evaluation is None else evaluation["return_median"],
        probability_positive=None if evaluation is None else evaluation.get("probability_positive"),
    )


def cached_phases(cached: list[str]) -> dict[str, list[str]]:
    """``["a:pilot", "a:scale"]`` → ``{"a": ["pilot", "scale"]}`` (sorted)."""
    phases: dict[str, list[str]] = {}
    for entry in sorted(cached):
        initiative_id, _, phase = entry.rpartition(":")
        phases.setdefault(initiative_id, []).append(phase)
    return phases


def build_run_completed(
    *,
    status: str,
    budget: float,
    n_initiatives: int,
    pilots: dict[str, MeasureResult],
    evaluations: dict[str, dict[str, Any]],
    allocation: AllocateResult | None,
    scales: dict[str, MeasureResult],
    failures: list[InitiativeFailure],
    missing: list[str],
    reason: str | None,
    cached: list[str] | None = None,
    value_factors: dict[str, float] | None = None,
    unit: str | None = None,
) -> dict[str, Any]:
    """Assemble the payload; reports, pilots and failures sorted by ``initiative_id``.

    ``evaluations`` are the cohort step's (in the manifest unit); ``pilots`` shows every
    pilot estimate, also of initiatives that were not selected or failed at scale;
    ``cached`` which measurements the measure cache answered."""
    factors = value_factors or {}
    allocated = allocation.budget_allocated if allocation else {}
    selected = set(allocation.selected_initiatives) if allocation else set()
    reports = [
        outcome_report(
            initiative_id,
            pilot=pilots[initiative_id],
            evaluation=evaluations[initiative_id],
            scale=scales[initiative_id],
            budget_allocated=allocated[initiative_id],
            value_factor=factors.get(initiative_id, 1.0),
        )
        for initiative_id in sorted(scales)
    ]
    chosen = [evaluations[i] for i in sorted(selected) if i in evaluations]
    with_interval = [r for r in reports if r.inside_interval is not None]
    posterior = any(e.get("estimates") == "posterior" for e in evaluations.values())
    _, total_lower, total_upper = portfolio_interval(chosen)
    failure_models = sorted(
        failures,
        key=lambda f: (f.initiative_id, f.stage),
    )
    summary = RunSummary(
        budget=budget,
        n_initiatives=n_initiatives,
        n_evaluated=len(evaluations),
        n_selected=len(selected),
        n_failed=len({f.initiative_id for f in failure_models}),
        total_budget_allocated=math.fsum(allocated[k] for k in sorted(allocated)),
        total_predicted_return=math.fsum(r.predicted_return for r in reports),
        total_actual_return=math.fsum(r.actual_return for r in reports),
        total_prediction_error=math.fsum(r.prediction_error for r in reports),
        solver_status=allocation.solver_status if allocation else None,
        missing=sorted(missing),
        reason=reason,
        predicted_total_lower=total_lower if posterior and chosen else None,
        predicted_total_upper=total_upper if posterior and chosen else None,
        n_inside_interval=sum(1 for r in with_interval if r.inside_interval),
        n_with_interval=len(with_interval),
        unit=unit,
        estimates="posterior" if posterior else "raw",
    )
    estimates = [
        pilot_estimate(pilots[i], evaluations.get(i), i in selected) for i in sorted(pilots)
    ]
    return {
        "status": status,
        "reports": [r.model_dump() for r in reports],
        "pilots": [p.model_dump() for p in estimates],
        "cached": cached_phases(cached or []),
        "failures": [f.model_dump() for f in failure_models],
        "summary": summary.model_dump(),
    }
