"""Every example config runs as a pilot and gives a valid result."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import yaml
from impact_contracts import MeasureResult
from impact_measure import MEASURE_COMPONENTS

CONFIGS = Path(__file__).resolve().parents[3] / "examples" / "configs"
SIMULATED = sorted(p.name for p in CONFIGS.glob("*.yaml") if p.name != "file_experiment.yaml")


@pytest.mark.parametrize("name", SIMULATED)
def test_example_config_runs(name):
    config = yaml.safe_load((CONFIGS / name).read_text())
    component = MEASURE_COMPONENTS.create("Measure")
    started = time.perf_counter()
    result = component.execute({"initiative_id": name, "phase": "pilot", "measure_config": config})
    assert time.perf_counter() - started < 5.0
    assert MeasureResult.model_validate(result).model_type == name.removesuffix(".yaml")


def test_mock_measure_returns_a_fixed_valid_result():
    mock = MEASURE_COMPONENTS.create("MockMeasure")
    result = mock.execute({"initiative_id": "m", "measure_config": {}, "phase": "scale"})
    assert (result["effect_estimate"], result["ci_lower"], result["ci_upper"]) == (10.0, 5.0, 15.0)
    MeasureResult.model_validate(result)
