"""Fixtures for the measure tests: config builders for each model on the simulator."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from impact_measure import Measure

Config = dict[str, Any]

CROSS_SECTION: dict[str, Any] = {"outcome_column": "revenue", "treatment_column": "treated"}
#: What the simulator's confounded assignment depends on (log1p(baseline revenue), price) and
#: what the outcome is linear in (baseline revenue).
CONFOUNDERS = ["baseline_revenue", "log_baseline_revenue", "price"]


#: the models that measure simulated data (metrics_approximation reads metric deltas)
SIMULATED = [
    "experiment",
    "interrupted_time_series",
    "synthetic_control",
    "nearest_neighbour_matching",
    "subclassification",
]


def simulator(**config: Any) -> Config:
    return {"type": "simulator", "CONFIG": config}


def config_for(model: str, effect: float = 5.0, **sim: Any) -> Config:
    """A simulator-backed measure config for ``model`` with true effect ``effect``."""
    params: dict[str, Any]
    if model == "experiment":
        data = simulator(n_products=200, true_effect=effect, **sim)
        params = {**CROSS_SECTION, "covariate_columns": ["baseline_revenue", "price"]}
    elif model == "interrupted_time_series":
        data = simulator(
            n_products=100, true_effect=effect, design="series", treatment_fraction=1.0, **sim
        )
        params = {
            "outcome_column": "revenue",
            "time_column": "date",
            "treatment_time": "2024-03-01",
            "seasonal_period": 7,
            "count_column": "n_products",
        }
    elif model == "synthetic_control":
        data = simulator(
            n_products=300,
            n_categories=15,
            treated_categories=[3],
            design="panel",
            true_effect=effect,
            **sim,
        )
        params = {
            "outcome_column": "revenue",
            "unit_column": "category",
            "time_column": "date",
            "treated_unit": 3,
            "treatment_time": "2024-03-01",
        }
    elif model == "nearest_neighbour_matching":
        data = simulator(
            n_products=400,
            true_effect=effect,
            treatment_fraction=0.3,
            assignment="confounded",
            **sim,
        )
        params = {
            **CROSS_SECTION,
            "covariate_columns": ["baseline_revenue", "price"],
            "n_neighbors": 4,
        }
    elif model == "subclassification":
        data = simulator(
            n_products=400,
            true_effect=effect,
            treatment_fraction=0.3,
            assignment="confounded",
            **sim,
        )
        params = {**CROSS_SECTION, "covariate_columns": CONFOUNDERS}
    else:
        raise ValueError(model)
    return {"DATA": {"SOURCE": data}, "MEASUREMENT": {"MODEL": model, "PARAMS": params}}


@pytest.fixture
def measure() -> Measure:
    return Measure()


@pytest.fixture
def run(measure: Measure) -> Callable[..., dict[str, Any]]:
    """``run(config, phase=..., seed=..., sample_size=...)`` → MeasureResult dict."""

    def execute(config: Config, **event: Any) -> dict[str, Any]:
        return measure.execute({"initiative_id": "i-1", "measure_config": config, **event})

    return execute


@pytest.fixture
def build() -> Callable[..., Config]:
    return config_for
