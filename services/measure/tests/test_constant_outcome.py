"""A constant outcome column carries no information: every model that reads an outcome
rejects it naming the column, instead of returning a CI of ±1e-11."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from impact_contracts import ComponentError
from impact_measure import Measure
from impact_measure.sources.simulator import SimulatorConfig, simulate

from services.measure.tests.conftest import config_for

OUTCOME_MODELS = [
    "experiment",
    "interrupted_time_series",
    "synthetic_control",
    "nearest_neighbour_matching",
    "subclassification",
]


def constant_outcome_config(model: str, directory: Path) -> dict[str, Any]:
    """``config_for(model)`` on a CSV of the same simulated data with revenue == 7.5."""
    config = config_for(model, seed=3)
    simulated = SimulatorConfig.model_validate(config["DATA"]["SOURCE"]["CONFIG"])
    path = directory / f"{model}.csv"
    simulate(simulated, 3).assign(revenue=7.5).to_csv(path, index=False)
    config["DATA"]["SOURCE"] = {"type": "file", "CONFIG": {"path": str(path)}}
    return config


@pytest.mark.parametrize("model", OUTCOME_MODELS)
def test_a_constant_outcome_is_rejected_naming_the_column(model: str, tmp_path: Path) -> None:
    config = constant_outcome_config(model, tmp_path)
    with pytest.raises(ComponentError) as caught:
        Measure().execute({"initiative_id": "i-1", "measure_config": config})
    assert str(caught.value) == (
        f"{tmp_path / model}.csv: MEASUREMENT.PARAMS.outcome_column: column 'revenue' is "
        "constant (every row is 7.5): nothing to estimate an effect from"
    )


def test_an_outcome_with_variation_is_measured(tmp_path: Path) -> None:
    config = constant_outcome_config("experiment", tmp_path)
    config["MEASUREMENT"]["PARAMS"]["outcome_column"] = "units"
    result = Measure().execute({"initiative_id": "i-1", "measure_config": config})
    assert result["ci_upper"] - result["ci_lower"] > 1e-6
