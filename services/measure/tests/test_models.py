"""Each model recovers a known simulated effect; scale narrows the CI; results are valid."""

from __future__ import annotations

import json
from typing import Any

import pytest
from impact_contracts import MeasureResult

from services.measure.tests.conftest import SIMULATED

# Tolerance: an absolute bound per model (about 3 sampling SDs at these sizes, measured).
TOLERANCE = {
    "experiment": 3.0,
    "interrupted_time_series": 6.0,
    "synthetic_control": 8.0,
    "nearest_neighbour_matching": 5.0,
    "subclassification": 15.0,
}


@pytest.mark.parametrize("model", SIMULATED)
def test_recovers_known_effect(model, run, build):
    result = run(build(model, effect=10.0, seed=7), seed=1)
    MeasureResult.model_validate(result)
    assert result["model_type"] == model
    assert abs(result["effect_estimate"] - 10.0) < TOLERANCE[model]
    assert result["ci_lower"] <= result["effect_estimate"] <= result["ci_upper"]
    assert result["sample_size"] >= 30
    json.dumps(result["diagnostics"])  # plain JSON types only


@pytest.mark.parametrize("model", SIMULATED)
def test_same_inputs_give_identical_results(model, run, build):
    config = build(model, seed=5)
    assert run(config, seed=2) == run(config, seed=2)


def test_counts_have_their_documented_meaning(run, build):
    experiment = run(build("experiment", seed=3))
    assert experiment["n_treated"] == 100 and experiment["n_control"] == 100
    assert experiment["sample_size"] == 200
    its = run(build("interrupted_time_series", seed=3))
    # 2024-01-01..2024-02-29 = 60 pre days, March = 31 post days; 100 products per day.
    assert (its["n_pre"], its["n_post"], its["sample_size"]) == (60, 31, 100 * 91)
    assert its["diagnostics"]["n_periods"] == 91
    sc = run(build("synthetic_control", seed=3))
    assert (sc["n_treated"], sc["n_control"], sc["n_pre"], sc["n_post"]) == (1, 14, 60, 31)
    assert sc["sample_size"] == 300 * 91  # product-days of the 15 category series
    weights = sc["diagnostics"]["weights"]
    assert all(w >= 0 for w in weights.values())
    assert sc["diagnostics"]["pre_rmspe"] > 0
    assert 0 < sc["p_value"] <= 1


@pytest.mark.parametrize(
    ("model", "pilot_n", "scale_n"),
    [
        ("experiment", 200, 1800),
        ("nearest_neighbour_matching", 400, 3600),
        ("subclassification", 400, 3600),
    ],
)
def test_scale_draws_a_different_larger_sample_with_narrower_ci(
    model, pilot_n, scale_n, run, build
):
    pilot_widths, scale_widths = [], []
    for seed in range(1, 5):
        config = build(model, seed=seed)
        pilot = run(config, phase="pilot")
        scale = run(config, phase="scale", sample_size=scale_n)
        assert analysed(pilot) == pilot_n and analysed(scale) == scale_n
        assert scale["effect_estimate"] != pilot["effect_estimate"]
        pilot_widths.append(pilot["ci_upper"] - pilot["ci_lower"])
        scale_widths.append(scale["ci_upper"] - scale["ci_lower"])
    # 9x the units: width ratio ~ 1/3 (heavy-tailed revenue makes single widths noisy).
    assert 0.2 < sum(scale_widths) / sum(pilot_widths) < 0.5


def analysed(result: dict[str, Any]) -> int:
    """Rows behind an estimate, plus those trimmed for lack of overlap (subclassification)."""
    trimming = result["diagnostics"].get("trimming", {})
    return (
        result["sample_size"]
        + trimming.get("treated_trimmed", 0)
        + trimming.get("controls_trimmed", 0)
    )


def test_metrics_approximation_matches_formula_and_has_no_p_value(run):
    config: dict[str, Any] = {
        "DATA": {"SOURCE": {"type": "simulator", "CONFIG": {"seed": 4, "n_products": 100}}},
        "MEASUREMENT": {
            "MODEL": "metrics_approximation",
            "PARAMS": {
                "metric_column": "visits",
                "baseline_column": "baseline_visits",
                "response_coefficient": 2.0,
                "coefficient_se": 0.0,
            },
        },
    }
    from impact_measure.sources.simulator import SimulatorConfig, simulate

    frame = simulate(SimulatorConfig(seed=4, n_products=100), 4)
    expected = 2.0 * float((frame["visits"] - frame["baseline_visits"]).mean())
    result = run(config, seed=4)
    assert result["effect_estimate"] == pytest.approx(expected, rel=1e-12)
    assert result["p_value"] is None
    assert result["ci_lower"] < expected < result["ci_upper"]
    config["MEASUREMENT"]["PARAMS"]["coefficient_se"] = 1.0
    with_se = run(config, seed=4)
    assert with_se["ci_upper"] - with_se["ci_lower"] > result["ci_upper"] - result["ci_lower"]
