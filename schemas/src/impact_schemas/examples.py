"""Realistic example values (logical form) for every event, for tests in any package.

``example(event)`` returns a fresh deep copy, so callers may mutate it.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

RUN_ID = "run-2026-11-25-a"
PRODUCED_AT = datetime(2026, 11, 25, 9, 30, 15, 123000, tzinfo=UTC)

MEASURE_CONFIG: dict[str, Any] = {
    "DATA": {
        "SOURCE": {
            "type": "simulator",
            "CONFIG": {"n_products": 400, "true_effect": 12.5, "seed": 7},
        }
    },
    "MEASUREMENT": {
        "MODEL": "experiment",
        "PARAMS": {"outcome_column": "revenue", "treatment_column": "treated"},
    },
}

MEASURE_RESULT: dict[str, Any] = {
    "initiative_id": "free-shipping",
    "model_type": "experiment",
    "effect_estimate": 12.1,
    "ci_lower": 9.4,
    "ci_upper": 14.8,
    "p_value": 0.0001,
    "sample_size": 400,
    "n_treated": 200,
    "n_control": 200,
    "n_pre": None,
    "n_post": None,
    "diagnostics": {"r_squared": 0.31, "se_type": "HC3", "covariates": ["price"]},
}

EVALUATE_RESULT: dict[str, Any] = {
    "initiative_id": "free-shipping",
    "confidence": 0.85,
    "cost": 50_000.0,
    "return_best": 14.8,
    "return_median": 12.1,
    "return_worst": 9.4,
    "model_type": "experiment",
    "sample_size": 400,
    "estimates": "posterior",
    "probability_positive": 0.999,
    "prediction_lower": 9.1,
    "prediction_upper": 14.6,
    "prediction_sd": 1.4,
}

_EVALUATE_RESULT_2: dict[str, Any] = {
    "initiative_id": "loyalty-points",
    "confidence": 0.55,
    "cost": 30_000.0,
    "return_best": 20.0,
    "return_median": 8.0,
    "return_worst": -2.0,
    "model_type": "interrupted_time_series",
    "sample_size": 104,
    "estimates": "raw",
    "probability_positive": None,
    "prediction_lower": None,
    "prediction_upper": None,
    "prediction_sd": None,
}


def _envelope(event_id: str, causation_id: str | None) -> dict[str, Any]:
    return {
        "schema_version": "1.0",
        "run_id": RUN_ID,
        "event_id": event_id,
        "causation_id": causation_id,
        "produced_at": PRODUCED_AT,
    }


EXAMPLES: dict[str, dict[str, Any]] = {
    "manifest_submitted": {
        **_envelope("7d0e7a0e-8c1f-4a52-9f39-000000000001", None),
        "budget": 100_000.0,
        "scale_sample_size": 5_000,
        "max_workers": 4,
        "seed": 42,
        "storage_url": "file:///var/impact/results",
        "deadline_s": 600.0,
        "deadline_policy": "proceed",
        "measure": {"component": "Measure", "kwargs": {}},
        "evaluate": {"component": "Evaluate", "kwargs": {}},
        "allocate": {
            "component": "MinimaxRegretAllocate",
            "kwargs": {"min_confidence_threshold": 0.3, "time_limit_s": 30},
        },
        "initiatives": [
            {
                "initiative_id": "free-shipping",
                "cost_to_scale": 50_000.0,
                "measure_config": MEASURE_CONFIG,
                "outcome_unit": "revenue per product-day",
                "value_per_unit": 1.0,
                "units_at_scale": 12_000.0,
                "horizon": 90.0,
            },
            {
                "initiative_id": "loyalty-points",
                "cost_to_scale": 30_000.0,
                "measure_config": MEASURE_CONFIG,
                "outcome_unit": None,
                "value_per_unit": None,
                "units_at_scale": None,
                "horizon": None,
            },
        ],
        "source": "manifests/q4.yaml",
        "unit": "EUR",
        "approval": "required",
        "pilot_only": False,
        "approval_days": 14.0,
        "scale_days": 60.0,
        "name": "Q4 retail portfolio",
    },
    "measure_requested": {
        **_envelope("7d0e7a0e-8c1f-4a52-9f39-000000000002", "7d0e7a0e-8c1f-4a52-9f39-000000000001"),
        "initiative_id": "free-shipping",
        "phase": "pilot",
        "component": "Measure",
        "component_kwargs": {},
        "measure_config": MEASURE_CONFIG,
        "sample_size": None,
        "seed": 42,
    },
    "measure_completed": {
        **_envelope("7d0e7a0e-8c1f-4a52-9f39-000000000003", "7d0e7a0e-8c1f-4a52-9f39-000000000002"),
        "initiative_id": "free-shipping",
        "phase": "pilot",
        "result": MEASURE_RESULT,
        "cached": False,
    },
    "evaluate_requested": {
        **_envelope("7d0e7a0e-8c1f-4a52-9f39-000000000004", "7d0e7a0e-8c1f-4a52-9f39-000000000003"),
        "initiative_id": "free-shipping",
        "cost_to_scale": 50_000.0,
        "component": "Evaluate",
        "component_kwargs": {},
        "measure": MEASURE_RESULT,
    },
    "evaluate_completed": {
        **_envelope("7d0e7a0e-8c1f-4a52-9f39-000000000005", "7d0e7a0e-8c1f-4a52-9f39-000000000004"),
        "initiative_id": "free-shipping",
        "result": EVALUATE_RESULT,
    },
    "allocate_requested": {
        **_envelope("7d0e7a0e-8c1f-4a52-9f39-000000000006", "7d0e7a0e-8c1f-4a52-9f39-000000000005"),
        "budget": 100_000.0,
        "component": "MinimaxRegretAllocate",
        "component_kwargs": {"min_confidence_threshold": 0.3},
        "initiatives": [EVALUATE_RESULT, _EVALUATE_RESULT_2],
    },
    "allocate_completed": {
        **_envelope("7d0e7a0e-8c1f-4a52-9f39-000000000007", "7d0e7a0e-8c1f-4a52-9f39-000000000006"),
        "result": {
            "selected_initiatives": ["free-shipping", "loyalty-points"],
            "budget_allocated": {"free-shipping": 50_000.0, "loyalty-points": 30_000.0},
            "predicted_returns": {"free-shipping": 12.1, "loyalty-points": 8.0},
            "budget": 100_000.0,
            "rule": "minimax_regret",
            "solver_status": "Optimal",
            "objective": 0.0,
            "mip_gap": 0.0,
            "reason": None,
        },
    },
    "run_status": {
        **_envelope("7d0e7a0e-8c1f-4a52-9f39-000000000008", "7d0e7a0e-8c1f-4a52-9f39-000000000005"),
        "stage": "evaluate",
        "completed": 1,
        "total": 2,
        "state": "running",
        "message": "[1/2] evaluated",
    },
    "run_completed": {
        **_envelope("7d0e7a0e-8c1f-4a52-9f39-000000000009", "7d0e7a0e-8c1f-4a52-9f39-000000000007"),
        "status": "completed",
        "reports": [
            {
                "initiative_id": "free-shipping",
                "predicted_return": 12.1,
                "actual_return": 11.6,
                "prediction_error": 11.6 - 12.1,
                "sample_size_pilot": 400,
                "sample_size_scale": 5_000,
                "budget_allocated": 50_000.0,
                "confidence_score": 0.85,
                "model_type": "experiment",
                "prediction_lower": 9.1,
                "prediction_upper": 14.6,
                "inside_interval": True,
                "probability_positive": 0.999,
                "actual_ci_lower": 10.9,
                "actual_ci_upper": 12.3,
                "value_per_cost": 12.1 / 50_000.0,
            }
        ],
        "pilots": [
            {
                "initiative_id": "free-shipping",
                "model_type": "experiment",
                "effect_estimate": 12.1,
                "ci_lower": 8.0,
                "ci_upper": 16.2,
                "p_value": 0.001,
                "sample_size": 400,
                "confidence_score": 0.85,
                "selected": True,
                "predicted_return": 12.1,
                "probability_positive": 0.999,
            }
        ],
        "cached": {"free-shipping": ["pilot"]},
        "failures": [
            {"initiative_id": "loyalty-points", "stage": "scale", "reason": "deadline passed"}
        ],
        "summary": {
            "budget": 100_000.0,
            "n_initiatives": 2,
            "n_evaluated": 2,
            "n_selected": 2,
            "n_failed": 1,
            "total_budget_allocated": 80_000.0,
            "total_predicted_return": 12.1,
            "total_actual_return": 11.6,
            "total_prediction_error": 11.6 - 12.1,
            "solver_status": "Optimal",
            "missing": ["loyalty-points"],
            "reason": "proceeded after deadline",
            "predicted_total_lower": 9.1,
            "predicted_total_upper": 14.6,
            "n_inside_interval": 1,
            "n_with_interval": 1,
            "unit": "EUR",
            "estimates": "posterior",
        },
    },
    "stage_failed": {
        **_envelope("7d0e7a0e-8c1f-4a52-9f39-000000000010", "7d0e7a0e-8c1f-4a52-9f39-000000000002"),
        "stage": "measure",
        "initiative_id": "loyalty-points",
        "phase": "pilot",
        "reason": "data file not found: /data/loyalty.parquet",
        "error_type": "ConfigError",
    },
    "run_command": {
        **_envelope("7d0e7a0e-8c1f-4a52-9f39-000000000011", None),
        "action": "scale",
        "actor": "alice",
        "note": "scale data of the first 8 weeks",
        "drop": [],
        "initiative_id": "free-shipping",
        "measure_config": MEASURE_CONFIG,
    },
}


#: events at a later minor of their v1 schema (the example carries every 1.x field)
#: (1.1 of evaluate_completed and allocate_requested, 1.2 of run_completed and manifest_submitted:
#: the posterior, prediction intervals and value model of decision 0080; the run name of 0085)
MINOR_VERSIONS = {
    "measure_completed": "1.1",
    "run_completed": "1.2",
    "evaluate_completed": "1.1",
    "allocate_requested": "1.1",
    "manifest_submitted": "1.2",
}
for _name, _version in MINOR_VERSIONS.items():
    EXAMPLES[_name]["schema_version"] = _version


def example(event: str) -> dict[str, Any]:
    """A fresh, valid example value of ``event`` (logical form)."""
    return copy.deepcopy(EXAMPLES[event])
