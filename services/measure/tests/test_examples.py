"""Every example config runs as a pilot and gives a valid result; scale is a bigger sample."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import yaml
from impact_contracts import MeasureResult
from impact_measure import MEASURE_COMPONENTS, Measure

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
CONFIGS = EXAMPLES / "configs"
SIMULATED = sorted(p.name for p in CONFIGS.glob("*.yaml") if p.name != "file_experiment.yaml")
MANIFEST = yaml.safe_load((EXAMPLES / "manifest.yaml").read_text())


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


@pytest.mark.parametrize("name", SIMULATED)
def test_scale_is_a_larger_different_sample_with_a_narrower_ci(name):
    """As in ``impact run examples/manifest.yaml``: same config, scale_sample_size, seed."""
    config = yaml.safe_load((CONFIGS / name).read_text())
    if name == "metrics_approximation.yaml":
        # Its CI has a floor, the assumed coefficient's own uncertainty (coefficient_se * |Δ|),
        # that no amount of data removes; compare the part that data can shrink.
        config["MEASUREMENT"]["PARAMS"]["coefficient_se"] = 0.0
    event = {"initiative_id": name, "measure_config": config, "seed": MANIFEST["seed"]}
    component = Measure()
    pilot = component.execute({**event, "phase": "pilot"})
    scale = component.execute(
        {**event, "phase": "scale", "sample_size": MANIFEST["scale_sample_size"]}
    )
    assert scale["sample_size"] > pilot["sample_size"]
    assert scale["effect_estimate"] != pilot["effect_estimate"]
    assert scale["ci_upper"] - scale["ci_lower"] < pilot["ci_upper"] - pilot["ci_lower"]
