"""``sample_size`` = unit-level observations behind the estimate, for every model."""

from __future__ import annotations

from typing import Any

import pytest
from impact_contracts import ConfigError
from impact_measure.models.synthetic_control import SyntheticControl, SyntheticControlParams
from impact_measure.sources import LoadRequest
from impact_measure.sources.simulator import SimulatorSource


def test_its_on_a_panel_equals_its_on_the_counted_daily_series(run, build):
    series_config = build("interrupted_time_series", seed=4)
    panel_config = build("interrupted_time_series", seed=4)
    panel_config["DATA"]["SOURCE"]["CONFIG"]["design"] = "panel"
    del panel_config["MEASUREMENT"]["PARAMS"]["count_column"]
    from_series, from_panel = run(series_config, seed=1), run(panel_config, seed=1)
    assert from_series["sample_size"] == from_panel["sample_size"] == 100 * 91
    assert from_panel["effect_estimate"] == pytest.approx(from_series["effect_estimate"], abs=1e-6)
    assert from_panel["ci_lower"] == pytest.approx(from_series["ci_lower"], abs=1e-6)


def test_synthetic_control_weights_pre_aggregated_rows_by_their_count():
    panel = SimulatorSource().load(
        {"seed": 2, "n_products": 120, "n_categories": 6, "treated_categories": [1],
         "design": "panel"},
        LoadRequest(),
    )  # fmt: skip
    params: dict[str, Any] = {
        "outcome_column": "revenue",
        "unit_column": "category",
        "time_column": "date",
        "treated_unit": 1,
        "treatment_time": "2024-03-01",
    }
    aggregated = (
        panel.groupby(["category", "date"])["revenue"].agg(["mean", "size"]).reset_index()
    ).rename(columns={"mean": "revenue", "size": "n_rows"})
    model = SyntheticControl()
    direct = model.estimate(panel, SyntheticControlParams(**params), seed=0)
    counted = model.estimate(
        aggregated, SyntheticControlParams(**params, count_column="n_rows"), seed=0
    )
    assert direct.sample_size == counted.sample_size == 120 * 91
    assert counted.effect == pytest.approx(direct.effect, abs=1e-9)
    uncounted = model.estimate(aggregated, SyntheticControlParams(**params), seed=0)
    assert uncounted.sample_size == 6 * 91


def test_count_column_must_be_positive(run, build):
    config = build("interrupted_time_series", seed=1)
    config["MEASUREMENT"]["PARAMS"]["count_column"] = "post"  # 0 before the treatment
    with pytest.raises(ConfigError, match=r"MEASUREMENT\.PARAMS\.count_column: .* must be > 0"):
        run(config)


def test_mean_statistic_gives_a_narrower_conformal_interval_than_mean_abs(run, build):
    config = build("synthetic_control", seed=21)
    by_mean = run(config, seed=1)
    config["MEASUREMENT"]["PARAMS"]["conformal_statistic"] = "mean_abs"
    by_mean_abs = run(config, seed=1)
    assert by_mean["effect_estimate"] == by_mean_abs["effect_estimate"]
    width = by_mean["ci_upper"] - by_mean["ci_lower"]
    assert width < 0.6 * (by_mean_abs["ci_upper"] - by_mean_abs["ci_lower"])
    assert by_mean["ci_lower"] < 5.0 < by_mean["ci_upper"]
    assert by_mean["diagnostics"]["conformal"]["statistic"] == "mean"
    assert by_mean["diagnostics"]["warnings"][0].startswith("the placebo test cannot reject")
