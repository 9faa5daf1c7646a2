"""A small run's decoded events, built by hand so every expected number is known.

Budget 100, min confidence 0.5, minimax regret. a and b are selected and scaled; c is
below the threshold; d costs more than the budget; e is affordable but not in the
portfolio; f failed at measure.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from impact_contracts import AllocateResult, MeasureResult

RUN = "run-1"
T0 = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
PILOTS = {  # effect, ci_lower, ci_upper, model
    "a": (5.0, 3.0, 7.0, "experiment"),
    "b": (4.0, 1.0, 6.0, "subclassification"),
    "c": (2.0, -1.0, 5.0, "experiment"),
    "d": (9.0, 8.0, 10.0, "interrupted_time_series"),
    "e": (1.0, 0.5, 1.5, "experiment"),
}
EVALUATIONS = {
    "a": (0.9, 30.0),
    "b": (0.8, 50.0),
    "c": (0.3, 10.0),
    "d": (0.95, 200.0),
    "e": (0.7, 40.0),
}
SCALES = {"a": (6.0, 5.0, 7.0), "b": (3.5, 3.0, 4.0)}


class Clock:
    def __init__(self) -> None:
        self.n = 0

    def envelope(self, causation: dict[str, Any] | None = None) -> dict[str, Any]:
        self.n += 1
        return {
            "run_id": RUN,
            "event_id": f"e{self.n}",
            "causation_id": causation["event_id"] if causation else None,
            "produced_at": T0 + timedelta(milliseconds=10 * self.n),
            "schema_version": "1.0",
        }

    def status(
        self,
        cause: dict[str, Any],
        stage: str,
        completed: int,
        total: int,
        state: str = "running",
        message: str | None = None,
    ) -> tuple[str, dict[str, Any]]:
        """A ``run_status`` event caused by ``cause``."""
        progress = {"stage": stage, "completed": completed, "total": total}
        return "run_status", {
            **self.envelope(cause),
            **progress,
            "state": state,
            "message": message,
        }

    def measured(
        self, request: dict[str, Any], effect: float, low: float, high: float, model: str, n: int
    ) -> dict[str, Any]:
        """The ``measure_completed`` answering ``request`` (not from the cache)."""
        initiative = request["initiative_id"]
        result = measure_result(initiative, effect, low, high, model, n)
        return {
            **self.envelope(request),
            "initiative_id": initiative,
            "phase": request["phase"],
            "result": result,
            "cached": False,
        }


def measure_result(
    initiative: str, effect: float, low: float, high: float, model: str, n: int
) -> dict[str, Any]:
    """A measure result (p 0.01), checked by its contract."""
    result = {
        "initiative_id": initiative,
        "model_type": model,
        "effect_estimate": effect,
        "ci_lower": low,
        "ci_upper": high,
        "p_value": 0.01,
        "sample_size": n,
    }
    MeasureResult.model_validate(result)
    return result


def events(finished: bool = True) -> list[tuple[str, dict[str, Any]]]:
    clock = Clock()
    out: list[tuple[str, dict[str, Any]]] = []
    manifest = {
        **clock.envelope(),
        "budget": 100.0,
        "scale_sample_size": 1000,
        "allocate": {
            "component": "MinimaxRegretAllocate",
            "kwargs": {"min_confidence_threshold": 0.5},
        },
        "initiatives": [{"initiative_id": i, "cost_to_scale": 1.0} for i in "abcdef"],
    }
    out.append(("manifest_submitted", manifest))
    out.append(clock.status(manifest, "measure", 0, 6))
    evaluations = []
    for initiative in "abcdef":
        request = {**clock.envelope(manifest), "initiative_id": initiative, "phase": "pilot"}
        out.append(("measure_requested", request))
        if initiative == "f":
            failed = {
                **clock.envelope(request),
                "stage": "measure",
                "initiative_id": "f",
                "phase": "pilot",
                "reason": "ConfigError: column 'x' missing",
                "error_type": "ConfigError",
            }
            out.append(("stage_failed", failed))
            continue
        effect, low, high, model = PILOTS[initiative]
        done = clock.measured(request, effect, low, high, model, 300)
        out.append(("measure_completed", done))
        ask = {**clock.envelope(done), "initiative_id": initiative}
        out.append(("evaluate_requested", ask))
        confidence, cost = EVALUATIONS[initiative]
        result = {
            "initiative_id": initiative,
            "confidence": confidence,
            "cost": cost,
            "return_best": high,
            "return_median": effect,
            "return_worst": low,
            "model_type": model,
            "sample_size": 300,
        }
        evaluations.append(result)
        out.append(
            (
                "evaluate_completed",
                {**clock.envelope(ask), "initiative_id": initiative, "result": result},
            )
        )
    out.append(clock.status(manifest, "measure", 6, 6))
    allocate_ask = {**clock.envelope(manifest), "budget": 100.0, "initiatives": evaluations}
    out.append(("allocate_requested", allocate_ask))
    allocation = {
        **clock.envelope(allocate_ask),
        "result": AllocateResult(
            selected_initiatives=["a", "b"],
            budget_allocated={"a": 30.0, "b": 50.0},
            predicted_returns={"a": 5.0, "b": 4.0},
            budget=100.0,
            rule="minimax_regret",
            solver_status="Optimal",
            objective=0.5,
            mip_gap=0.0,
        ).model_dump(),
    }
    out.append(("allocate_completed", allocation))
    out.append(clock.status(allocation, "scale", 0, 2))
    if not finished:
        return out
    reports = []
    for initiative, (effect, low, high) in SCALES.items():
        request = {**clock.envelope(allocation), "initiative_id": initiative, "phase": "scale"}
        out.append(("measure_requested", request))
        model = PILOTS[initiative][3]
        done = clock.measured(request, effect, low, high, model, 1000)
        out.append(("measure_completed", done))
        predicted = PILOTS[initiative][0]
        reports.append(
            {
                "initiative_id": initiative,
                "predicted_return": predicted,
                "actual_return": effect,
                "prediction_error": effect - predicted,
                "sample_size_pilot": 300,
                "sample_size_scale": 1000,
                "budget_allocated": EVALUATIONS[initiative][1],
                "confidence_score": EVALUATIONS[initiative][0],
                "model_type": model,
            }
        )
    pilots = [
        {
            **measure_result(i, e, lo, hi, m, 300),
            "confidence_score": EVALUATIONS[i][0],
            "selected": i in SCALES,
        }
        for i, (e, lo, hi, m) in PILOTS.items()
    ]
    completed = {
        **clock.envelope(allocation),
        "status": "completed",
        "reports": reports,
        "pilots": pilots,
        "failures": [
            {"initiative_id": "f", "stage": "measure", "reason": "ConfigError: column 'x' missing"}
        ],
        "summary": {
            "budget": 100.0,
            "n_initiatives": 6,
            "n_evaluated": 5,
            "n_selected": 2,
            "n_failed": 1,
            "total_budget_allocated": 80.0,
            "total_predicted_return": 9.0,
            "total_actual_return": 9.5,
            "total_prediction_error": 0.5,
            "solver_status": "Optimal",
            "missing": [],
            "reason": None,
        },
        "cached": {},
    }
    out.append(("run_completed", completed))
    out.append(clock.status(completed, "report", 2, 2, "completed", "completed"))
    return out
