"""``MEASUREMENT.PARAMS.missing: error | drop_rows | drop_units`` on data with gaps."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from impact_contracts import ConfigError
from impact_measure import Measure
from impact_measure.config import validate_section
from impact_measure.models.experiment import Experiment, ExperimentParams
from impact_measure.models.its import InterruptedTimeSeries, ITSParams
from impact_measure.models.synthetic_control import SyntheticControl

from services.measure.tests.datasets import (
    factor_panel,
    factor_panel_params,
    retail,
)


def with_gaps():
    frame = retail(seed=5, confounded=False, n=200)
    frame.loc[[3, 17], "y"] = np.nan
    frame.loc[17, "x"] = np.inf
    frame.loc[40, "category"] = None
    return frame


def experiment_params(**extra):
    columns = {
        "outcome_column": "y",
        "treatment_column": "t",
        "covariate_columns": ["x", "category"],
    }
    return validate_section(ExperimentParams, {**columns, **extra}, "MEASUREMENT.PARAMS")


def test_default_is_error_with_row_counts_per_column():
    with pytest.raises(ConfigError) as info:
        Experiment().estimate(with_gaps(), experiment_params(), seed=0)
    assert str(info.value) == (
        "MEASUREMENT.PARAMS.missing: 3 of 200 rows have missing or infinite values "
        "(y: 2, x: 1, category: 1); fix the data or set MEASUREMENT.PARAMS.missing: drop_rows"
    )


def test_drop_rows_estimates_on_the_complete_rows_and_says_so():
    result = Experiment().estimate(with_gaps(), experiment_params(missing="drop_rows"), seed=0)
    assert result.sample_size == 197
    assert result.diagnostics["missing"] == {
        "policy": "drop_rows",
        "missing_by_column": {"y": 2, "x": 1, "category": 1},
        "rows_dropped": 3,
    }
    clean = Experiment().estimate(with_gaps().dropna(), experiment_params(), seed=0)
    assert result.effect == clean.effect


def test_drop_units_is_only_for_panels():
    with pytest.raises(ConfigError) as info:
        experiment_params(missing="drop_units")
    assert str(info.value) == "MEASUREMENT.PARAMS.missing: Input should be 'error' or 'drop_rows'"


def test_its_drop_rows():
    dates = pd.date_range("2024-01-01", periods=60, freq="D")
    series = pd.DataFrame({"date": np.repeat(dates, 2), "y": np.arange(120.0) % 7})
    series.loc[5, "y"] = np.nan
    params = {"outcome_column": "y", "time_column": "date", "treatment_time": "2024-02-15"}
    with pytest.raises(
        ConfigError, match=r"^MEASUREMENT\.PARAMS\.missing: 1 of 120 rows .*\(y: 1\)"
    ):
        InterruptedTimeSeries().estimate(series, ITSParams(**params), seed=0)
    result = InterruptedTimeSeries().estimate(
        series, ITSParams(**params, missing="drop_rows"), seed=0
    )
    assert result.sample_size == 119
    assert result.diagnostics["missing"]["rows_dropped"] == 1


def test_one_nan_in_one_donor_drops_that_donor_by_default():
    frame = factor_panel(seed=3, effect=5.0)
    frame.loc[frame.index[frame["unit"] == "u07"][10], "y"] = np.nan
    result = SyntheticControl().estimate(frame, factor_panel_params(), seed=0)
    assert result.n_control == 28
    assert result.sample_size == 29 * 120
    assert result.diagnostics["missing"] == {
        "policy": "drop_units",
        "missing_by_column": {"y": 1},
        "rows_dropped": 120,
        "units_dropped": ["u07"],
    }


def test_sc_error_policy_and_a_missing_treated_value():
    frame = factor_panel(seed=3)
    frame.loc[frame.index[frame["unit"] == "u07"][10], "y"] = np.nan
    with pytest.raises(ConfigError) as info:
        SyntheticControl().estimate(frame, factor_panel_params(missing="error"), seed=0)
    assert str(info.value) == (
        "MEASUREMENT.PARAMS.missing: 1 of 3600 rows have missing or infinite values (y: 1); "
        "fix the data or set MEASUREMENT.PARAMS.missing: drop_rows or drop_units"
    )
    frame.loc[frame.index[frame["unit"] == "u00"][:2], "y"] = np.nan
    with pytest.raises(ConfigError) as info:
        SyntheticControl().estimate(frame, factor_panel_params(), seed=0)
    assert str(info.value) == (
        "MEASUREMENT.PARAMS.missing: treated unit 'u00' has missing values in 2 rows; "
        "drop_units drops donor units only: fix the data or set missing: drop_rows"
    )


def test_a_csv_with_gaps_through_the_component(tmp_path):
    with_gaps().to_csv(tmp_path / "shop.csv", index=False)
    config: dict[str, Any] = {
        "DATA": {"SOURCE": {"type": "file", "CONFIG": {"path": "shop.csv"}}},
        "MEASUREMENT": {
            "MODEL": "experiment",
            "PARAMS": {"outcome_column": "y", "treatment_column": "t", "covariate_columns": ["x"]},
        },
    }
    component = Measure(data_root=str(tmp_path))
    with pytest.raises(
        ConfigError, match=r"^shop\.csv: MEASUREMENT\.PARAMS\.missing: 2 of 200 rows .*\(y: 2"
    ):
        component.execute({"initiative_id": "i", "measure_config": config})
    config["MEASUREMENT"]["PARAMS"]["missing"] = "drop_rows"
    result = component.execute({"initiative_id": "i", "measure_config": config})
    assert result["sample_size"] == 198
    assert result["diagnostics"]["missing"]["rows_dropped"] == 2
