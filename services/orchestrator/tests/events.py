"""Builders for the incoming result payloads the state machine consumes."""

from __future__ import annotations

from typing import Any

RUN_ID = "r1"


def manifest_payload(
    costs: dict[str, float],
    *,
    budget: float = 35.0,
    deadline_s: float | None = None,
    deadline_policy: str = "proceed",
) -> dict[str, Any]:
    return {
        "budget": budget,
        "scale_sample_size": 500,
        "max_workers": 2,
        "seed": 7,
        "storage_url": None,
        "deadline_s": deadline_s,
        "deadline_policy": deadline_policy,
        "measure": {"component": "Measure", "kwargs": {}},
        "evaluate": {"component": "Evaluate", "kwargs": {}},
        "allocate": {"component": "MinimaxRegretAllocate", "kwargs": {"time_limit_s": 5}},
        "initiatives": [
            {"initiative_id": i, "cost_to_scale": c, "measure_config": {"cfg": i}}
            for i, c in costs.items()
        ],
        "source": None,
    }


def measure_result(initiative_id: str, effect: float, sample_size: int = 100) -> dict[str, Any]:
    return {
        "initiative_id": initiative_id,
        "model_type": "experiment",
        "effect_estimate": effect,
        "ci_lower": effect - 1.0,
        "ci_upper": effect + 1.0,
        "p_value": None,
        "sample_size": sample_size,
        "diagnostics": {},
    }


def measured(initiative_id: str, effect: float, phase: str = "pilot") -> dict[str, Any]:
    size = 100 if phase == "pilot" else 500
    return {
        "initiative_id": initiative_id,
        "phase": phase,
        "result": measure_result(initiative_id, effect, size),
    }


def evaluation(initiative_id: str, median: float, cost: float) -> dict[str, Any]:
    return {
        "initiative_id": initiative_id,
        "confidence": 0.5,
        "cost": cost,
        "return_best": median + 1.0,
        "return_median": median,
        "return_worst": median - 1.0,
        "model_type": "experiment",
        "sample_size": 100,
    }


def evaluated(initiative_id: str, median: float, cost: float) -> dict[str, Any]:
    return {"initiative_id": initiative_id, "result": evaluation(initiative_id, median, cost)}


def allocated(
    budget: float, allocations: dict[str, float], medians: dict[str, float]
) -> dict[str, Any]:
    return {
        "result": {
            "selected_initiatives": list(allocations),
            "budget_allocated": allocations,
            "predicted_returns": {i: medians[i] for i in allocations},
            "budget": budget,
            "rule": "minimax_regret",
            "solver_status": "Optimal",
            "objective": 1.0,
            "mip_gap": 0.0,
            "reason": None if allocations else "no initiative fits the budget",
        }
    }


def failed(stage: str, initiative_id: str | None, phase: str | None = None) -> dict[str, Any]:
    return {
        "stage": stage,
        "initiative_id": initiative_id,
        "phase": phase,
        "reason": "boom",
        "error_type": "ComponentError",
    }
