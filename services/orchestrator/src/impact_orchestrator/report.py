"""The ``run_completed`` payload: predicted (pilot) vs actual (scale) per initiative."""

from __future__ import annotations

import math
from typing import Any

from impact_contracts import InitiativeFailure, OutcomeReport, PilotEstimate, RunSummary


def outcome_report(
    initiative_id: str,
    *,
    pilot: dict[str, Any],
    evaluation: dict[str, Any],
    scale: dict[str, Any],
    budget_allocated: float,
) -> OutcomeReport:
    """Compare the pilot's predicted return with the effect measured at scale."""
    predicted = float(evaluation["return_median"])
    actual = float(scale["effect_estimate"])
    return OutcomeReport(
        initiative_id=initiative_id,
        predicted_return=predicted,
        actual_return=actual,
        prediction_error=actual - predicted,
        sample_size_pilot=pilot["sample_size"],
        sample_size_scale=scale["sample_size"],
        budget_allocated=budget_allocated,
        confidence_score=evaluation["confidence"],
        model_type=pilot["model_type"],
    )


def pilot_estimate(
    pilot: dict[str, Any], evaluation: dict[str, Any] | None, selected: bool
) -> PilotEstimate:
    """What the report shows of one pilot measurement, selected or not."""
    return PilotEstimate(
        initiative_id=pilot["initiative_id"],
        model_type=pilot["model_type"],
        effect_estimate=pilot["effect_estimate"],
        ci_lower=pilot["ci_lower"],
        ci_upper=pilot["ci_upper"],
        p_value=pilot.get("p_value"),
        sample_size=pilot["sample_size"],
        confidence_score=None if evaluation is None else evaluation["confidence"],
        selected=selected,
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
    pilots: dict[str, dict[str, Any]],
    evaluations: dict[str, dict[str, Any]],
    allocation: dict[str, Any] | None,
    scales: dict[str, dict[str, Any]],
    failures: list[dict[str, Any]],
    missing: list[str],
    reason: str | None,
    cached: list[str] | None = None,
) -> dict[str, Any]:
    """Assemble the payload; reports, pilots and failures sorted by ``initiative_id``.

    ``pilots`` shows every pilot estimate, also of initiatives that were not selected or
    failed at scale; ``cached`` which measurements the measure cache answered."""
    allocated: dict[str, float] = (allocation or {}).get("budget_allocated", {})
    reports = [
        outcome_report(
            initiative_id,
            pilot=pilots[initiative_id],
            evaluation=evaluations[initiative_id],
            scale=scales[initiative_id],
            budget_allocated=allocated[initiative_id],
        )
        for initiative_id in sorted(scales)
    ]
    failure_models = sorted(
        (InitiativeFailure.model_validate(f) for f in failures),
        key=lambda f: (f.initiative_id, f.stage),
    )
    summary = RunSummary(
        budget=budget,
        n_initiatives=n_initiatives,
        n_evaluated=len(evaluations),
        n_selected=len((allocation or {}).get("selected_initiatives", [])),
        n_failed=len({f.initiative_id for f in failure_models}),
        total_budget_allocated=math.fsum(allocated[k] for k in sorted(allocated)),
        total_predicted_return=math.fsum(r.predicted_return for r in reports),
        total_actual_return=math.fsum(r.actual_return for r in reports),
        total_prediction_error=math.fsum(r.prediction_error for r in reports),
        solver_status=(allocation or {}).get("solver_status"),
        missing=sorted(missing),
        reason=reason,
    )
    selected = set((allocation or {}).get("selected_initiatives", []))
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
